// Random compositions of library blocks for the property tests (test_properties_compositions_*.cpp):
// seq types drawn at compile time from a seed, run through the block table's checks (laws, and
// gradients in double).
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "laws.hpp"
#include "tools/block_table.hpp"

namespace bijou::testing {

// Every row of the table in T passes.
template <class T, class Table>
void require_laws(const Table& table, const TableOptions& options = property_options())
{
    std::size_t rows = 0;
    check_table<T>(table, options, RequireLaws{&rows});
    CHECK(rows > 0);
}

// ---- random compositions ------------------------------------------------------------------------------
//
// random_composition<Seed>() is seq(b_1, ..., b_n) with n in [3, 12] and each b_k drawn from the kinds
// below, by a splitmix64 generator evaluated at compile time: every seed is a different flow type,
// fixed at compile time and the same on every machine.

constexpr std::uint64_t splitmix64(std::uint64_t& state)
{
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

enum class Kind {
    additive_coupling,
    affine_coupling,
    alternating_affine_coupling,
    spline_coupling,
    gin_coupling,
    inverse_affine_coupling,
    reverse,
    permute_random,
    actnorm,
    global_affine,
    lu_linear,
};
inline constexpr std::size_t kind_count = 11;

inline constexpr const char* kind_names[kind_count] = {
    "additive", "affine",  "alternating affine", "spline",    "gin", "inverse(affine)", "reverse",
    "permute",  "actnorm", "global_affine",      "lu_linear",
};

template <Kind K>
auto kind_spec()
{
    using namespace dsl;
    if constexpr (K == Kind::additive_coupling)
        return additive_coupling();
    else if constexpr (K == Kind::affine_coupling)
        return affine_coupling();
    else if constexpr (K == Kind::alternating_affine_coupling)
        return coupling(alternating, small_net(), flows::affine);
    else if constexpr (K == Kind::spline_coupling)
        return coupling(halves, small_net(), flows::rational_quadratic(6, 3.0));
    else if constexpr (K == Kind::gin_coupling)
        return flows::gin_coupling(small_net());
    else if constexpr (K == Kind::inverse_affine_coupling)
        return inverse(affine_coupling());
    else if constexpr (K == Kind::reverse)
        return reverse();
    else if constexpr (K == Kind::permute_random)
        return permute_random();
    else if constexpr (K == Kind::actnorm)
        return flows::actnorm();
    else if constexpr (K == Kind::global_affine)
        return flows::global_affine();
    else
        return flows::lu_linear();
}

template <std::uint64_t Seed>
struct RandomComposition {
    static constexpr std::size_t length = [] {
        std::uint64_t state = Seed;
        return std::size_t(3 + splitmix64(state) % 10);
    }();
    static constexpr std::array<Kind, length> kinds = [] {
        std::uint64_t state = Seed;
        splitmix64(state);  // the length's draw
        std::array<Kind, length> k{};
        for (auto& kind : k) kind = Kind(splitmix64(state) % kind_count);
        return k;
    }();
    static constexpr bool has_spline = [] {
        for (auto k : kinds)
            if (k == Kind::spline_coupling) return true;
        return false;
    }();

    static auto spec()
    {
        return []<std::size_t... I>(std::index_sequence<I...>) { return dsl::seq(kind_spec<kinds[I]>()...); }(
            std::make_index_sequence<length>{});
    }

    static std::string name()
    {
        std::string s = "composition " + std::to_string(Seed) + ": seq(";
        for (std::size_t i = 0; i < length; ++i) s += (i ? ", " : "") + std::string(kind_names[std::size_t(kinds[i])]);
        return s + ")";
    }

    // Deep stacks compound the amplification of rounding on extreme inputs (block_table.hpp), by about
    // a factor 10 per three blocks; a spline adds its own (its conditioner saturates). In float, only short
    // stacks without a spline are held to the full laws on extreme inputs; the others to finite
    // outputs only (block_table.hpp).
    static BlockEntry<decltype(spec())> entry()
    {
        auto e = testing::entry(name(), spec());
        double slack = 1;
        for (std::size_t i = 3; i < length; i += 3) slack *= 10;
        if (has_spline) slack *= 100;
        return e.ill_conditioned_on_extremes(slack, !has_spline && length <= 4)
            .with_gradient_tolerance(has_spline ? 1e-5 : 1e-6);
    }
};

}  // namespace bijou::testing
