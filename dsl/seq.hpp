// seq(b1, ..., bn), repeat<N>(spec), repeat(n, spec): composition of blocks.
//
//   forward:  b1, then b2, ..., then bn; the log-dets add
//   inverse:  inv(bn), ..., inv(b1); derived, never written
//
// All three build a Chain (dsl/chain.hpp): the blocks are joined at block boundaries, so each block is
// compiled once per distinct type and direction, and compile time grows linearly with depth. A chain
// inside a chain is spliced (seq(seq(a, b), c) is the chain a, b, c). repeat<N>(spec) and repeat(n, spec)
// are the same chain of N blocks of one type, each with its own parameters; n may come from a command
// line. For a static composition of a few tiny blocks in one program, see fused(...) (dsl/fused.hpp).
#pragma once

#include <array>
#include <tuple>
#include <utility>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/chain.hpp>
#include <bijou/dsl/mapping.hpp>

namespace bijou::dsl {

namespace detail {
template <class T, bool Conditional>
void require_condition_kind(const BuildContext& context, const char* what)
{
    if (Conditional != (context.condition_dim > 0))
        throw_usage_error(what, Conditional ? "built for a condition, but the build context has none"
                                            : "built without a condition, but the build context has one of ",
                          context.condition_dim, " features");
}
}  // namespace detail

template <class... Specs>
struct SeqSpec {
    std::tuple<Specs...> specs;

    static constexpr const char* label = "seq";
    static constexpr Mapping mapping()
    {
        constexpr Composition c = compose<Specs...>("seq");
        static_assert(detail::accept<c.failed, c.message>());
        return c.mapping;
    }

    // The blocks are built last to first: the order in which parameter names were numbered and random
    // permutations drawn since version 0.1 (a function call's arguments, evaluated right to left by GCC),
    // which saved checkpoints depend on.
    template <class T, bool Conditional>
    Chain<T> build(std::size_t dim, BuildContext& context) const
    {
        detail::require_condition_kind<T, Conditional>(context, "seq");
        constexpr std::size_t n = sizeof...(Specs);
        std::array<std::vector<typename Chain<T>::Element>, n> parts;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((append_to_chain<Conditional>(parts[n - 1 - I],
                                           build_block<T, Conditional>(std::get<n - 1 - I>(specs), dim, context),
                                           context.condition_dim)),
             ...);
        }(std::make_index_sequence<n>{});
        std::vector<typename Chain<T>::Element> blocks;
        for (auto& part : parts) blocks.insert(blocks.end(), part.begin(), part.end());
        return Chain<T>(std::move(blocks), context.condition_dim);
    }
    template <class T>
    Chain<T> build(std::size_t dim, BuildContext& context) const
    {
        return context.condition_dim > 0 ? build<T, true>(dim, context) : build<T, false>(dim, context);
    }
};

template <class... Specs>
SeqSpec<Specs...> seq(Specs... specs)
{
    static_assert(sizeof...(Specs) >= 1, "bijou dsl: seq needs at least one block");
    static_cast<void>(SeqSpec<Specs...>::mapping());
    return {{std::move(specs)...}};
}

// repeat(n, spec): n blocks of one spec, each with its own parameters, built first to last.
template <class Spec>
struct RepeatSpec {
    std::size_t count;
    Spec spec;

    static constexpr const char* label = "repeat";
    static constexpr Mapping mapping()
    {
        constexpr Composition c = compose_repeated<Spec>();
        static_assert(detail::accept<c.failed, c.message>());
        return c.mapping;
    }

    template <class T, bool Conditional>
    Chain<T> build(std::size_t dim, BuildContext& context) const
    {
        if (count == 0) throw_usage_error("repeat", "needs at least one block, got n = 0");
        detail::require_condition_kind<T, Conditional>(context, "repeat");
        std::vector<typename Chain<T>::Element> blocks;
        blocks.reserve(count);
        for (std::size_t k = 0; k < count; ++k)
            append_to_chain<Conditional>(blocks, build_block<T, Conditional>(spec, dim, context), context.condition_dim);
        return Chain<T>(std::move(blocks), context.condition_dim);
    }
    template <class T>
    Chain<T> build(std::size_t dim, BuildContext& context) const
    {
        return context.condition_dim > 0 ? build<T, true>(dim, context) : build<T, false>(dim, context);
    }
};

template <class Spec>
RepeatSpec<Spec> repeat(std::size_t count, Spec spec)
{
    static_cast<void>(RepeatSpec<Spec>::mapping());
    return {count, std::move(spec)};
}

// repeat<N>(spec): the same as repeat(N, spec), with N fixed at compile time. (Built last to first, as
// a seq of N specs was before version 0.2, so that its checkpoints still load.)
template <std::size_t N, class Spec>
auto repeat(const Spec& spec)
{
    static_assert(N >= 1, "bijou dsl: repeat<N> needs N >= 1");
    static_cast<void>(RepeatSpec<Spec>::mapping());
    return [&]<std::size_t... I>(std::index_sequence<I...>) { return seq((static_cast<void>(I), spec)...); }(
        std::make_index_sequence<N>{});
}

}  // namespace bijou::dsl
