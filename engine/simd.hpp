// The vocabulary the kernels are written in: a value V is either a scalar T or an xsimd batch of T,
// so one templated expression body serves both the vectorised loop and its scalar tail.
#pragma once

#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace bijou::simd {

template <class T>
using batch = xsimd::batch<T>;

template <class T>
inline constexpr std::size_t width = batch<T>::size;

template <class V>
struct scalar_of {
    using type = V;
};
template <class T, class A>
struct scalar_of<xsimd::batch<T, A>> {
    using type = T;
};
template <class V>
using scalar_t = typename scalar_of<V>::type;

template <class V>
inline constexpr bool is_batch = !std::is_same_v<V, scalar_t<V>>;

// A constant of the value type: splat<V>(0.5) is 0.5f, 0.5 or a batch of them.
template <class V>
inline V splat(double x)
{
    return V(static_cast<scalar_t<V>>(x));
}

template <class V>
inline V load(const scalar_t<V>* p)
{
    if constexpr (is_batch<V>)
        return V::load_unaligned(p);
    else
        return *p;
}

template <class V>
inline void store(scalar_t<V>* p, V v)
{
    if constexpr (is_batch<V>)
        v.store_unaligned(p);
    else
        *p = v;
}

template <class V>
inline scalar_t<V> reduce_add(V v)
{
    if constexpr (is_batch<V>)
        return xsimd::hadd(v);
    else
        return v;
}

template <class T>
inline T select(bool condition, T if_true, T if_false)
{
    return condition ? if_true : if_false;
}
template <class T, class A>
inline xsimd::batch<T, A> select(const xsimd::batch_bool<T, A>& condition, const xsimd::batch<T, A>& if_true,
                                 const xsimd::batch<T, A>& if_false)
{
    return xsimd::select(condition, if_true, if_false);
}

// Visit a rows x cols block in SIMD-width steps along each row, then the scalar tail:
// body.template operator()<V>(row, col) is called with V = batch<T> or V = T.
template <class T, class Body>
inline void for_each_block(std::size_t rows, std::size_t cols, Body&& body)
{
    constexpr std::size_t w = width<T>;
    for (std::size_t r = 0; r < rows; ++r) {
        std::size_t c = 0;
        for (; c + w <= cols; c += w) body.template operator()<batch<T>>(r, c);
        for (; c < cols; ++c) body.template operator()<T>(r, c);
    }
}

}  // namespace bijou::simd
