// Inverses of the invertible activations, and integer powers with their roots: logit (of sigmoid),
// softplus_inverse, pow<N> and root<N>. The DSL uses them to undo elementwise transforms.
#pragma once

#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

namespace ops {
// log(y / (1 - y)), the inverse of sigmoid on (0, 1).
struct logit {
    static constexpr const char* name = "logit";
    template <class V> V value(V y) const { return xsimd::log(y) - xsimd::log1p(-y); }
    template <class V> V derivative(V y, V) const { return simd::splat<V>(1) / (y * (simd::splat<V>(1) - y)); }
};
// log(e^y - 1) = y + log(1 - e^-y), the inverse of softplus on (0, inf), without overflow for large y.
struct softplus_inverse {
    static constexpr const char* name = "softplus_inverse";
    template <class V> V value(V y) const { return y + xsimd::log(-xsimd::expm1(-y)); }
    template <class V> V derivative(V y, V) const { return simd::splat<V>(1) / (-xsimd::expm1(-y)); }
};
// x^N for a compile-time integer N >= 1, by repeated multiplication (exact for negative x).
template <int N>
struct integer_pow {
    static_assert(N >= 1, "bijou: pow<N> needs N >= 1");
    static constexpr const char* name = "pow<N>";
    template <class V> static V power(V x, int n)
    {
        V result = x;
        for (int i = 1; i < n; ++i) result = result * x;
        return result;
    }
    template <class V> V value(V x) const { return power(x, N); }
    template <class V> V derivative(V x, V) const
    {
        if constexpr (N == 1) return simd::splat<V>(1);
        else return simd::splat<V>(N) * power(x, N - 1);
    }
};
// The real N-th root for odd N: sign(y) |y|^(1/N), the inverse of pow<N>.
template <int N>
struct odd_root {
    static_assert(N >= 1 && N % 2 == 1, "bijou: root<N> is defined on all reals only for odd N");
    static constexpr const char* name = "root<N>";
    template <class V> V value(V y) const
    {
        const V magnitude = xsimd::pow(xsimd::abs(y), simd::splat<V>(1.0 / N));
        return simd::select(y < simd::splat<V>(0), -magnitude, magnitude);
    }
    // d/dy y^(1/N) = 1 / (N r^(N-1)) with r the root; N - 1 is even, so this is positive.
    template <class V> V derivative(V, V r) const
    {
        if constexpr (N == 1) return simd::splat<V>(1);
        else return simd::splat<V>(1) / (simd::splat<V>(N) * integer_pow<N - 1>::power(r, N - 1));
    }
};
}  // namespace ops

template <Expr E> constexpr auto logit(E&& e) { return make_unary(ops::logit{}, std::forward<E>(e)); }
template <Expr E> constexpr auto softplus_inverse(E&& e) { return make_unary(ops::softplus_inverse{}, std::forward<E>(e)); }
template <int N, Expr E> constexpr auto pow(E&& e) { return make_unary(ops::integer_pow<N>{}, std::forward<E>(e)); }
template <int N, Expr E> constexpr auto root(E&& e) { return make_unary(ops::odd_root<N>{}, std::forward<E>(e)); }

}  // namespace bijou
