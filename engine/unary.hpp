// Unary: an elementwise function applied to an expression.
//
// An Op provides `name`, `value(x)` and `derivative(x, y)` = dy/dx given both x and y = value(x), each a
// template over V (scalar or SIMD batch). Ops with a parameter (pow, leaky_relu, clamp) carry it as a
// data member. ops/*.hpp define the ops and the functions users call (exp(e), tanh(e), ...).
#pragma once

#include <bijou/engine/expr.hpp>

namespace bijou {

namespace detail {
template <class Op, class ChildView>
struct UnaryView {
    Op op;
    ChildView child;

    template <class V>
    struct Cache {
        V value;
        typename ChildView::template Cache<V> child;
    };

    template <class V>
    V eval(std::size_t r, std::size_t c) const
    {
        return op.value(child.template eval<V>(r, c));
    }
    template <class V>
    Cache<V> cache(std::size_t r, std::size_t c) const
    {
        auto child_cache = child.template cache<V>(r, c);
        return {op.value(child_cache.value), child_cache};
    }
    template <class V>
    void backprop(std::size_t r, std::size_t c, V g, const Cache<V>& k) const
    {
        child.backprop(r, c, V(g * op.derivative(k.child.value, k.value)), k.child);
    }
    bool contiguous(std::size_t cols) const { return child.contiguous(cols); }
    UnaryView flatten() const { return {op, child.flatten()}; }
};
}  // namespace detail

template <class Op, Expr E>
struct Unary {
    using value_type = detail::value_type_t<E>;
    Op op;
    E child;

    Shape shape() const { return child.shape(); }
    auto view() const { return detail::UnaryView<Op, decltype(child.view())>{op, child.view()}; }
    template <class F>
    void for_each_source(F&& f) const
    {
        child.for_each_source(f);
    }
};

template <class Op, Expr E>
constexpr Unary<Op, std::remove_cvref_t<E>> make_unary(Op op, E&& e)
{
    return {op, std::forward<E>(e)};
}

}  // namespace bijou
