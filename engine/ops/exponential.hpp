// Exponentials, logarithms and powers: exp, log, log1p, expm1, sqrt, square, pow by a constant.
#pragma once

#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

namespace ops {
struct exp {
    static constexpr const char* name = "exp";
    template <class V> V value(V x) const { return xsimd::exp(x); }
    template <class V> V derivative(V, V y) const { return y; }
};
struct log {
    static constexpr const char* name = "log";
    template <class V> V value(V x) const { return xsimd::log(x); }
    template <class V> V derivative(V x, V) const { return simd::splat<V>(1) / x; }
};
struct log1p {
    static constexpr const char* name = "log1p";
    template <class V> V value(V x) const { return xsimd::log1p(x); }
    template <class V> V derivative(V x, V) const { return simd::splat<V>(1) / (simd::splat<V>(1) + x); }
};
struct expm1 {
    static constexpr const char* name = "expm1";
    template <class V> V value(V x) const { return xsimd::expm1(x); }
    template <class V> V derivative(V, V y) const { return y + simd::splat<V>(1); }
};
struct sqrt {
    static constexpr const char* name = "sqrt";
    template <class V> V value(V x) const { return xsimd::sqrt(x); }
    template <class V> V derivative(V, V y) const { return simd::splat<V>(0.5) / y; }
};
struct square {
    static constexpr const char* name = "square";
    template <class V> V value(V x) const { return x * x; }
    template <class V> V derivative(V x, V) const { return simd::splat<V>(2) * x; }
};
// x^p for a constant p; integer p is exact for negative x, other p need x > 0.
template <class T>
struct pow {
    static constexpr const char* name = "pow";
    T exponent;
    template <class V> V value(V x) const { return xsimd::pow(x, V(exponent)); }
    template <class V> V derivative(V x, V) const { return V(exponent) * xsimd::pow(x, V(exponent - T(1))); }
};
}  // namespace ops

template <Expr E> constexpr auto exp(E&& e) { return make_unary(ops::exp{}, std::forward<E>(e)); }
template <Expr E> constexpr auto log(E&& e) { return make_unary(ops::log{}, std::forward<E>(e)); }
template <Expr E> constexpr auto log1p(E&& e) { return make_unary(ops::log1p{}, std::forward<E>(e)); }
template <Expr E> constexpr auto expm1(E&& e) { return make_unary(ops::expm1{}, std::forward<E>(e)); }
template <Expr E> constexpr auto sqrt(E&& e) { return make_unary(ops::sqrt{}, std::forward<E>(e)); }
template <Expr E> constexpr auto square(E&& e) { return make_unary(ops::square{}, std::forward<E>(e)); }
template <Expr E>
constexpr auto pow(E&& e, double exponent)
{
    using T = detail::value_type_t<E>;
    return make_unary(ops::pow<T>{static_cast<T>(exponent)}, std::forward<E>(e));
}

}  // namespace bijou
