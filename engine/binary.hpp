// Binary: an elementwise function of two expressions, with broadcasting.
//
// Shapes broadcast per axis: equal, or one side 1. An Op provides `name`, `value(a, b)` and the partial
// derivatives `d_left(a, b, y)`, `d_right(a, b, y)`, each a template over V.
#pragma once

#include <type_traits>

#include <bijou/engine/constant.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/expr.hpp>

namespace bijou {

namespace detail {

template <class Op, class LeftView, class RightView>
struct BinaryView {
    Op op;
    LeftView left;
    RightView right;

    template <class V>
    struct Cache {
        V value;
        typename LeftView::template Cache<V> left;
        typename RightView::template Cache<V> right;
    };

    template <class V>
    V eval(std::size_t r, std::size_t c) const
    {
        return op.value(left.template eval<V>(r, c), right.template eval<V>(r, c));
    }
    template <class V>
    Cache<V> cache(std::size_t r, std::size_t c) const
    {
        auto a = left.template cache<V>(r, c);
        auto b = right.template cache<V>(r, c);
        return {op.value(a.value, b.value), a, b};
    }
    template <class V>
    void backprop(std::size_t r, std::size_t c, V g, const Cache<V>& k) const
    {
        left.backprop(r, c, V(g * op.d_left(k.left.value, k.right.value, k.value)), k.left);
        right.backprop(r, c, V(g * op.d_right(k.left.value, k.right.value, k.value)), k.right);
    }
    bool contiguous(std::size_t cols) const { return left.contiguous(cols) && right.contiguous(cols); }
    BinaryView flatten() const { return {op, left.flatten(), right.flatten()}; }
};

inline std::size_t broadcast_extent(std::size_t a, std::size_t b, bool& ok)
{
    if (a == b || b == 1) return a;
    if (a == 1) return b;
    ok = false;
    return a;
}

}  // namespace detail

inline Shape broadcast_shapes(const char* op, Shape a, Shape b)
{
    bool ok = true;
    const Shape out{detail::broadcast_extent(a.rows, b.rows, ok), detail::broadcast_extent(a.cols, b.cols, ok)};
    if (!ok) throw_shape_error(op, "shapes ", a, " and ", b, " do not broadcast (each axis must match or be 1)");
    return out;
}

template <class Op, Expr L, Expr R>
struct Binary {
    static_assert(std::is_same_v<detail::value_type_t<L>, detail::value_type_t<R>>,
                  "bijou: both operands of an elementwise op must have the same value type (float or double)");
    using value_type = detail::value_type_t<L>;
    Op op;
    L left;
    R right;

    Shape shape() const { return broadcast_shapes(Op::name, left.shape(), right.shape()); }
    auto view() const
    {
        return detail::BinaryView<Op, decltype(left.view()), decltype(right.view())>{op, left.view(), right.view()};
    }
    template <class F>
    void for_each_source(F&& f) const
    {
        left.for_each_source(f);
        right.for_each_source(f);
    }
};

// Operand: an expression, or an arithmetic scalar that becomes a Constant of the other side's type.
template <class A, class T>
constexpr auto as_operand(A&& a)
{
    if constexpr (std::is_arithmetic_v<std::remove_cvref_t<A>>)
        return Constant<T>{static_cast<T>(a)};
    else
        return std::remove_cvref_t<A>(std::forward<A>(a));
}

template <class A, class B>
concept ExprOperands = (Expr<A> && Expr<B>) || (Expr<A> && std::is_arithmetic_v<std::remove_cvref_t<B>>) ||
                       (std::is_arithmetic_v<std::remove_cvref_t<A>> && Expr<B>);

namespace detail {
template <class A, class B>
struct common_value {
    using type = value_type_t<std::conditional_t<Expr<A>, A, B>>;
};
}  // namespace detail

template <class Op, class A, class B>
    requires ExprOperands<A, B>
constexpr auto make_binary(Op op, A&& a, B&& b)
{
    using T = typename detail::common_value<A, B>::type;
    auto left = as_operand<A, T>(std::forward<A>(a));
    auto right = as_operand<B, T>(std::forward<B>(b));
    return Binary<Op, decltype(left), decltype(right)>{op, std::move(left), std::move(right)};
}

}  // namespace bijou
