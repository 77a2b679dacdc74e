// Bijection: the concept every block of a flow models, and the laws it obeys.
//
// A bijection of dimension D maps a batch x (B x D) to y (B x D), optionally given a condition c
// (B x C, the same for both directions), and reports log|det dy/dx| per row (B x 1):
//
//   auto [y, log_det]     = block.forward(x, c);    // written by the block's author
//   auto [x2, log_det_inv] = block.inverse(y, c);   // derived by the DSL's combinators
//
// Both results are engine expressions, so both directions can be trained by backpropagation.
// The laws, which check_bijection (dsl/check.hpp) tests numerically:
//   inverse(forward(x, c).value, c).value   == x                       (round trip)
//   inverse(...).log_det                    == -forward(x, c).log_det   (log-det symmetry)
//   forward(x, c).log_det                   == log|det J(x)|            (J the Jacobian of x -> y)
// A log-det that is identically zero is reported as dsl::Zero (known at compile time) and costs nothing.
//
// Blocks are built from specs: a spec (e.g. `coupling(halves, conditioner(hidden(64, 64)), affine)`)
// knows nothing of dimensions; spec.build<T>(dim, context) makes the block with its parameters. That is
// what lets repeat<8>(spec) make eight blocks with distinct parameters.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <bijou/dsl/zero.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::dsl {

// The condition of an unconditional block.
struct NoCondition {};

template <class C>
inline constexpr bool has_condition = !std::is_same_v<std::remove_cvref_t<C>, NoCondition>;

template <class Y, class L>
struct Transformed {
    Y value;
    L log_det;  // B x 1 expression, or Zero
};
template <class Y, class L>
Transformed(Y, L) -> Transformed<Y, L>;

// What a spec needs to build a block: the random source for initial parameters, the width of the
// condition (0 when unconditional), a prefix for parameter names and, inside dsl::image(...), the
// geometry of each row (dsl/image_scope.hpp), which squeezes and factor-outs change for the blocks
// they wrap.
struct BuildContext {
    std::mt19937_64 rng{0};
    std::size_t condition_dim = 0;
    std::string prefix = "flow";
    std::size_t counter = 0;
    std::optional<ImageShape> image = std::nullopt;

    std::string next_name(const std::string& kind) { return prefix + "." + std::to_string(counter++) + "." + kind; }
};

template <class B>
concept Bijection = requires(const B& b, const Input<typename B::value_type>& x) {
    typename B::value_type;
    { b.dim() } -> std::convertible_to<std::size_t>;
    b.forward(x, NoCondition{});
    b.inverse(x, NoCondition{});
    { b.parameters() } -> std::convertible_to<std::vector<Param<typename B::value_type>>>;
};

template <class S>
concept BlockSpec = requires(const S& s, BuildContext& context) { s.template build<double>(std::size_t{2}, context); };

// Builds a spec's block. Composite specs (seq, repeat, inverse, fused) also take, as a template argument,
// whether the block is built for a condition: a chain's block boundaries compile each block for the one
// kind of call it will get (with a condition Input or without), instead of for both. Other specs read
// context.condition_dim at run time.
template <class T, bool Conditional, class Spec>
auto build_block(const Spec& spec, std::size_t dim, BuildContext& context)
{
    if constexpr (requires { spec.template build<T, Conditional>(dim, context); })
        return spec.template build<T, Conditional>(dim, context);
    else
        return spec.template build<T>(dim, context);
}

// log-det bookkeeping: Zero + Zero stays Zero, anything else is bound once per block.
template <class L>
auto bind_log_det(L&& l)
{
    if constexpr (std::is_same_v<std::remove_cvref_t<L>, Zero>)
        return Zero{};
    else
        return let(std::forward<L>(l));
}

// Sum of per-element log-derivatives over the features: B x D (or Zero) -> B x 1 (or Zero).
template <class L>
auto sum_features(L&& l)
{
    if constexpr (std::is_same_v<std::remove_cvref_t<L>, Zero>)
        return Zero{};
    else
        return sum(std::forward<L>(l), 1);
}

}  // namespace bijou::dsl
