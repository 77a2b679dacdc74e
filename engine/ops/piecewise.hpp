// Piecewise functions: abs and clamp. Their derivative at a kink is taken as 0 (abs at 0) or as that of
// the outside piece (clamp at its bounds), the usual subgradient convention.
#pragma once

#include <bijou/engine/error.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

namespace ops {
struct abs {
    static constexpr const char* name = "abs";
    template <class V> V value(V x) const { return xsimd::abs(x); }
    template <class V> V derivative(V x, V) const
    {
        const V zero = simd::splat<V>(0);
        return simd::select(x > zero, simd::splat<V>(1), simd::select(x < zero, simd::splat<V>(-1), zero));
    }
};
template <class T>
struct clamp {
    static constexpr const char* name = "clamp";
    T low;
    T high;
    template <class V> V value(V x) const { return xsimd::min(xsimd::max(x, V(low)), V(high)); }
    template <class V> V derivative(V x, V) const
    {
        return simd::select((x > V(low)) && (x < V(high)), simd::splat<V>(1), simd::splat<V>(0));
    }
};
}  // namespace ops

template <Expr E> constexpr auto abs(E&& e) { return make_unary(ops::abs{}, std::forward<E>(e)); }
template <Expr E>
constexpr auto clamp(E&& e, double low, double high)
{
    if (!(low < high)) throw_shape_error("clamp", "the lower bound ", low, " must be below the upper bound ", high);
    using T = detail::value_type_t<E>;
    return make_unary(ops::clamp<T>{static_cast<T>(low), static_cast<T>(high)}, std::forward<E>(e));
}

}  // namespace bijou
