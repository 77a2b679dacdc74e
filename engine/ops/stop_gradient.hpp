// stop_gradient(e): the value of e, through which no gradient flows back:
//   forward  stop_gradient(e) = e
//   backward d stop_gradient(e) / d e = 0
// Used where a loss must see a value without training what produced it, e.g. the INN latent loss of
// Ardizzone et al. (2019), MMD([stop_gradient(y_pred), z], [y, N(0, I)]), which shapes z without
// pulling y_pred towards the prior's samples (the supervised loss trains y_pred).
//
// It is an expression node, not an op with derivative 0: its backprop returns at once, so nothing is
// pushed into e's sources (no zeros added, no intermediate of e re-evaluated), and a NaN or inf arriving
// from above cannot leak through as 0 * inf. e's sources are still visited, so they are bound and run
// before the consumer reads them; their adjoint buffers simply receive nothing from this path.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include <bijou/engine/expr.hpp>

namespace bijou {

namespace detail {
template <class ChildView>
struct StopGradientView {
    ChildView child;

    template <class V>
    struct Cache {
        V value;
    };

    template <class V>
    V eval(std::size_t r, std::size_t c) const
    {
        return child.template eval<V>(r, c);
    }
    template <class V>
    Cache<V> cache(std::size_t r, std::size_t c) const
    {
        return {child.template eval<V>(r, c)};
    }
    template <class V>
    void backprop(std::size_t, std::size_t, V, const Cache<V>&) const
    {
    }
    bool contiguous(std::size_t cols) const { return child.contiguous(cols); }
    StopGradientView flatten() const { return {child.flatten()}; }
};
}  // namespace detail

template <Expr E>
struct StopGradient {
    using value_type = detail::value_type_t<E>;
    E child;

    Shape shape() const { return child.shape(); }
    auto view() const { return detail::StopGradientView<decltype(child.view())>{child.view()}; }
    template <class F>
    void for_each_source(F&& f) const
    {
        child.for_each_source(f);
    }
};

template <Expr E>
StopGradient<std::remove_cvref_t<E>> stop_gradient(E&& e)
{
    return {std::forward<E>(e)};
}

}  // namespace bijou
