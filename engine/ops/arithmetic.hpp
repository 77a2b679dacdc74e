// Arithmetic: +, -, *, / between expressions and scalars (with broadcasting), and negation.
#pragma once

#include <bijou/engine/binary.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

namespace ops {
struct add {
    static constexpr const char* name = "add";
    template <class V> V value(V a, V b) const { return a + b; }
    template <class V> V d_left(V, V, V) const { return simd::splat<V>(1); }
    template <class V> V d_right(V, V, V) const { return simd::splat<V>(1); }
};
struct sub {
    static constexpr const char* name = "sub";
    template <class V> V value(V a, V b) const { return a - b; }
    template <class V> V d_left(V, V, V) const { return simd::splat<V>(1); }
    template <class V> V d_right(V, V, V) const { return simd::splat<V>(-1); }
};
struct mul {
    static constexpr const char* name = "mul";
    template <class V> V value(V a, V b) const { return a * b; }
    template <class V> V d_left(V, V b, V) const { return b; }
    template <class V> V d_right(V a, V, V) const { return a; }
};
struct div {
    static constexpr const char* name = "div";
    template <class V> V value(V a, V b) const { return a / b; }
    template <class V> V d_left(V, V b, V) const { return simd::splat<V>(1) / b; }
    template <class V> V d_right(V, V b, V y) const { return -y / b; }  // d(a/b)/db = -a/b^2
};
struct neg {
    static constexpr const char* name = "neg";
    template <class V> V value(V x) const { return -x; }
    template <class V> V derivative(V, V) const { return simd::splat<V>(-1); }
};
}  // namespace ops

template <class A, class B>
    requires ExprOperands<A, B>
constexpr auto operator+(A&& a, B&& b)
{
    return make_binary(ops::add{}, std::forward<A>(a), std::forward<B>(b));
}
template <class A, class B>
    requires ExprOperands<A, B>
constexpr auto operator-(A&& a, B&& b)
{
    return make_binary(ops::sub{}, std::forward<A>(a), std::forward<B>(b));
}
template <class A, class B>
    requires ExprOperands<A, B>
constexpr auto operator*(A&& a, B&& b)
{
    return make_binary(ops::mul{}, std::forward<A>(a), std::forward<B>(b));
}
template <class A, class B>
    requires ExprOperands<A, B>
constexpr auto operator/(A&& a, B&& b)
{
    return make_binary(ops::div{}, std::forward<A>(a), std::forward<B>(b));
}
template <Expr E>
constexpr auto operator-(E&& e)
{
    return make_unary(ops::neg{}, std::forward<E>(e));
}

}  // namespace bijou
