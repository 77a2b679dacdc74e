// fused(b1, ..., bn): composition as ONE expression, with no block boundary. forward runs b1 then ...
// bn and adds their log-dets; the inverse runs inv(bn) ... inv(b1), so it is derived, never written.
//
// seq(...) (dsl/seq.hpp) is the composition to use: it joins blocks at boundaries, so compile time grows
// linearly with depth. fused(...) makes the whole composition one static program, with no copy between
// blocks; its type contains every block's output type, so its compile time grows faster than linearly
// with n. The library uses it for composite blocks of two or three parts (glow_coupling, all_in_one), and
// the tests use it as the reference a chain must agree with.
#pragma once

#include <tuple>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/mapping.hpp>

namespace bijou::dsl {

template <class... Blocks>
class Fused {
public:
    using value_type = typename std::tuple_element_t<0, std::tuple<Blocks...>>::value_type;

    explicit Fused(Blocks... blocks) : blocks_(std::move(blocks)...) {}

    std::size_t dim() const { return std::get<0>(blocks_).dim(); }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        return forward_from<0>(x, Zero{}, c);
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        return inverse_from<sizeof...(Blocks)>(y, Zero{}, c);
    }

    std::vector<Param<value_type>> parameters() const
    {
        std::vector<Param<value_type>> all;
        std::apply([&](const auto&... b) { (append(all, b.parameters()), ...); }, blocks_);
        return all;
    }

    const std::tuple<Blocks...>& blocks() const { return blocks_; }

private:
    static void append(std::vector<Param<value_type>>& to, const std::vector<Param<value_type>>& from)
    {
        to.insert(to.end(), from.begin(), from.end());
    }

    template <std::size_t I, class X, class L, class C>
    auto forward_from(const X& x, const L& log_det, const C& c) const
    {
        if constexpr (I == sizeof...(Blocks)) {
            return Transformed{x, log_det};
        } else {
            auto step = std::get<I>(blocks_).forward(x, c);
            return forward_from<I + 1>(step.value, bind_log_det(add_terms(log_det, step.log_det)), c);
        }
    }
    template <std::size_t I, class Y, class L, class C>
    auto inverse_from(const Y& y, const L& log_det, const C& c) const
    {
        if constexpr (I == 0) {
            return Transformed{y, log_det};
        } else {
            auto step = std::get<I - 1>(blocks_).inverse(y, c);
            return inverse_from<I - 1>(step.value, bind_log_det(add_terms(log_det, step.log_det)), c);
        }
    }

    std::tuple<Blocks...> blocks_;
};

template <class... Specs>
struct FusedSpec {
    std::tuple<Specs...> specs;

    static constexpr const char* label = "fused";
    static constexpr Mapping mapping()
    {
        constexpr Composition c = compose<Specs...>("fused");
        static_assert(detail::accept<c.failed, c.message>());
        return c.mapping;
    }

    // The blocks are built in the order a function call evaluates its arguments (with GCC, last to first):
    // the order parameter names and random permutations have had since version 0.1, which saved
    // checkpoints depend on.
    template <class T, bool Conditional>
    auto build(std::size_t dim, BuildContext& context) const
    {
        return std::apply([&](const auto&... s) { return Fused(build_block<T, Conditional>(s, dim, context)...); },
                          specs);
    }
    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        return context.condition_dim > 0 ? build<T, true>(dim, context) : build<T, false>(dim, context);
    }
};

template <class... Specs>
FusedSpec<Specs...> fused(Specs... specs)
{
    static_assert(sizeof...(Specs) >= 1, "bijou dsl: fused needs at least one block");
    static_cast<void>(FusedSpec<Specs...>::mapping());
    return {{std::move(specs)...}};
}

}  // namespace bijou::dsl
