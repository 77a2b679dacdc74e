// Gradient clipping, applied between backward and step:
//   clip_grad_value(params, c):  g <- min(max(g, -c), c) elementwise
//   clip_grad_norm(params, c):   n = sqrt(sum over all params and elements of g^2) (one global norm);
//                                if n > c, every g <- g * c / n, so the clipped global norm is c.
//                                Returns n, the norm before clipping (worth logging).
// Only trainable parameters take part: a frozen parameter's gradient is neither counted nor changed,
// as the optimizer will not use it.
//
// Non-finite gradients: clip_grad_norm returns the non-finite norm (inf or NaN) and leaves every
// gradient unchanged, so the caller can detect the bad step (std::isfinite(norm)) and skip it or zero the
// gradients. clip_grad_value maps +-inf to +-c and leaves NaN as NaN.
//
// Both are single passes over contiguous memory (two for the norm when it clips) and allocate nothing.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/param.hpp>
#include <bijou/engine/simd.hpp>

namespace bijou {

template <class T>
void clip_grad_value(const std::vector<Param<T>>& params, double limit)
{
    if (!(limit > 0)) throw_usage_error("clip_grad_value", "limit must be > 0, got ", limit);
    const T hi = T(limit), lo = T(-limit);
    for (const auto& p : params) {
        if (!p.trainable()) continue;
        T* grad = p.grad().data();
        simd::for_each_block<T>(1, p.grad().size(), [&]<class V>(std::size_t, std::size_t i) {
            const V g = simd::load<V>(grad + i);
            // Comparisons are false for NaN, so NaN passes through unchanged.
            simd::store<V>(grad + i, simd::select(g > V(hi), V(hi), simd::select(g < V(lo), V(lo), g)));
        });
    }
}

template <class T>
double clip_grad_norm(const std::vector<Param<T>>& params, double max_norm)
{
    if (!(max_norm > 0)) throw_usage_error("clip_grad_norm", "max_norm must be > 0, got ", max_norm);
    double sum_of_squares = 0;
    for (const auto& p : params) {
        if (!p.trainable()) continue;
        const T* grad = p.grad().data();
        simd::batch<T> wide(T(0));
        T narrow(0);
        simd::for_each_block<T>(1, p.grad().size(), [&]<class V>(std::size_t, std::size_t i) {
            const V g = simd::load<V>(grad + i);
            if constexpr (simd::is_batch<V>)
                wide += g * g;
            else
                narrow += g * g;
        });
        sum_of_squares += double(simd::reduce_add(wide)) + double(narrow);
    }
    const double norm = std::sqrt(sum_of_squares);
    if (!std::isfinite(norm) || norm <= max_norm) return norm;

    const T scale = T(max_norm / norm);
    for (const auto& p : params) {
        if (!p.trainable()) continue;
        T* grad = p.grad().data();
        simd::for_each_block<T>(1, p.grad().size(), [&]<class V>(std::size_t, std::size_t i) {
            simd::store<V>(grad + i, simd::load<V>(grad + i) * V(scale));
        });
    }
    return norm;
}

}  // namespace bijou
