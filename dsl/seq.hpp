// seq(b1, ..., bn): composition. forward runs b1 then ... bn and adds their log-dets; the inverse
// runs inv(bn) ... inv(b1), so it is derived, never written.
#pragma once

#include <tuple>

#include <bijou/dsl/bijection.hpp>

namespace bijou::dsl {

template <class... Blocks>
class Seq {
public:
    using value_type = typename std::tuple_element_t<0, std::tuple<Blocks...>>::value_type;

    explicit Seq(Blocks... blocks) : blocks_(std::move(blocks)...) {}

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
struct SeqSpec {
    std::tuple<Specs...> specs;

    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        return std::apply([&](const auto&... s) { return Seq(s.template build<T>(dim, context)...); }, specs);
    }
};

template <class... Specs>
SeqSpec<Specs...> seq(Specs... specs)
{
    static_assert(sizeof...(Specs) >= 1, "bijou dsl: seq needs at least one block");
    return {{std::move(specs)...}};
}

// repeat<N>(spec): N blocks built from one spec, each with its own parameters.
template <std::size_t N, class Spec>
auto repeat(const Spec& spec)
{
    static_assert(N >= 1, "bijou dsl: repeat<N> needs N >= 1");
    return [&]<std::size_t... I>(std::index_sequence<I...>) { return seq((static_cast<void>(I), spec)...); }(
        std::make_index_sequence<N>{});
}

}  // namespace bijou::dsl
