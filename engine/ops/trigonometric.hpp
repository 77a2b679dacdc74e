// Trigonometric and hyperbolic functions: atan, tan, sinh, asinh, atanh.
#pragma once

#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

namespace ops {
struct atan {
    static constexpr const char* name = "atan";
    template <class V> V value(V x) const { return xsimd::atan(x); }
    template <class V> V derivative(V x, V) const { return simd::splat<V>(1) / (simd::splat<V>(1) + x * x); }
};
struct tan {
    static constexpr const char* name = "tan";
    template <class V> V value(V x) const { return xsimd::tan(x); }
    template <class V> V derivative(V, V y) const { return simd::splat<V>(1) + y * y; }
};
struct sinh {
    static constexpr const char* name = "sinh";
    template <class V> V value(V x) const { return xsimd::sinh(x); }
    template <class V> V derivative(V x, V) const { return xsimd::cosh(x); }
};
struct asinh {
    static constexpr const char* name = "asinh";
    template <class V> V value(V x) const { return xsimd::asinh(x); }
    template <class V> V derivative(V x, V) const { return simd::splat<V>(1) / xsimd::sqrt(simd::splat<V>(1) + x * x); }
};
struct atanh {
    static constexpr const char* name = "atanh";
    template <class V> V value(V x) const { return xsimd::atanh(x); }
    template <class V> V derivative(V x, V) const { return simd::splat<V>(1) / (simd::splat<V>(1) - x * x); }
};
}  // namespace ops

template <Expr E> constexpr auto atan(E&& e) { return make_unary(ops::atan{}, std::forward<E>(e)); }
template <Expr E> constexpr auto tan(E&& e) { return make_unary(ops::tan{}, std::forward<E>(e)); }
template <Expr E> constexpr auto sinh(E&& e) { return make_unary(ops::sinh{}, std::forward<E>(e)); }
template <Expr E> constexpr auto asinh(E&& e) { return make_unary(ops::asinh{}, std::forward<E>(e)); }
template <Expr E> constexpr auto atanh(E&& e) { return make_unary(ops::atanh{}, std::forward<E>(e)); }

}  // namespace bijou
