// Activations: tanh, sigmoid, softplus, relu, leaky_relu, elu.
#pragma once

#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

namespace ops {
struct tanh {
    static constexpr const char* name = "tanh";
    template <class V> V value(V x) const { return xsimd::tanh(x); }
    template <class V> V derivative(V, V y) const { return simd::splat<V>(1) - y * y; }
};
// 1 / (1 + e^-x): exp(-x) overflows to inf for very negative x, which gives the right limit 0.
struct sigmoid {
    static constexpr const char* name = "sigmoid";
    template <class V> V value(V x) const { return simd::splat<V>(1) / (simd::splat<V>(1) + xsimd::exp(-x)); }
    template <class V> V derivative(V, V y) const { return y * (simd::splat<V>(1) - y); }
};
// log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|.
struct softplus {
    static constexpr const char* name = "softplus";
    template <class V> V value(V x) const
    {
        return xsimd::max(x, simd::splat<V>(0)) + xsimd::log1p(xsimd::exp(-xsimd::abs(x)));
    }
    template <class V> V derivative(V x, V) const { return sigmoid{}.value(x); }
};
struct relu {
    static constexpr const char* name = "relu";
    template <class V> V value(V x) const { return xsimd::max(x, simd::splat<V>(0)); }
    template <class V> V derivative(V x, V) const
    {
        return simd::select(x > simd::splat<V>(0), simd::splat<V>(1), simd::splat<V>(0));
    }
};
template <class T>
struct leaky_relu {
    static constexpr const char* name = "leaky_relu";
    T slope;
    template <class V> V value(V x) const { return simd::select(x > simd::splat<V>(0), x, V(slope) * x); }
    template <class V> V derivative(V x, V) const { return simd::select(x > simd::splat<V>(0), simd::splat<V>(1), V(slope)); }
};
template <class T>
struct elu {
    static constexpr const char* name = "elu";
    T alpha;
    template <class V> V value(V x) const { return simd::select(x > simd::splat<V>(0), x, V(alpha) * xsimd::expm1(x)); }
    template <class V> V derivative(V x, V y) const
    {
        return simd::select(x > simd::splat<V>(0), simd::splat<V>(1), y + V(alpha));
    }
};
}  // namespace ops

template <Expr E> constexpr auto tanh(E&& e) { return make_unary(ops::tanh{}, std::forward<E>(e)); }
template <Expr E> constexpr auto sigmoid(E&& e) { return make_unary(ops::sigmoid{}, std::forward<E>(e)); }
template <Expr E> constexpr auto softplus(E&& e) { return make_unary(ops::softplus{}, std::forward<E>(e)); }
template <Expr E> constexpr auto relu(E&& e) { return make_unary(ops::relu{}, std::forward<E>(e)); }
template <Expr E>
constexpr auto leaky_relu(E&& e, double slope = 0.01)
{
    using T = detail::value_type_t<E>;
    return make_unary(ops::leaky_relu<T>{static_cast<T>(slope)}, std::forward<E>(e));
}
template <Expr E>
auto elu(E&& e, double alpha = 1.0)
{
    using T = detail::value_type_t<E>;
    return make_unary(ops::elu<T>{static_cast<T>(alpha)}, std::forward<E>(e));
}

}  // namespace bijou
