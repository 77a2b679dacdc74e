// Uniform dequantisation of the 8x8 digits, and the conversions between a density on the unit cube and
// the literature's units (Theis et al. 2016, "A note on the evaluation of generative models").
//
//   std::mt19937_64 noise(seed);
//   dequantise(batch.data(), batch.size(), noise);               // in place: v -> (v + u) / 17, u ~ U[0, 1)
//   Tensor<float> test_y = dequantised<float>(test.images, 10, seed);   // 10 draws of u per image, stacked
//   double bpd = bits_per_dim(pixel_scale_nll(mean_nll_on_unit_cube));
//   Tensor<double> pixels = to_pixels(samples);                  // back to integers 0..16
//
// A pixel value v in {0, ..., 16} becomes y = (v + u) / 17, a point of its bin scaled into [0, 1). The
// density of the dequantised image in pixel units, 17 y, is p(y) / 17^64, so
//   NLL_pixels = NLL_[0,1) + 64 log 17,     bits/dim = NLL_pixels / (64 log 2),
// and by Jensen, E_u[-log p((v + u) / 17)] + 64 log 17 >= -log P(v) for the discrete model P(v) = the
// integral of the density over v's bin: both are upper bounds on the discrete NLL.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>

#include <bijou/engine/error.hpp>
#include <bijou/engine/tensor.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/random.hpp>

namespace bijou::examples {

inline constexpr double digit_levels = Digits::max_value + 1;  // 17 pixel values, 17 bins of width 1

// In place, each value v becomes (v + u) / 17 with a fresh u ~ U[0, 1). In float, (16 + u) / 17 can round
// up to 1 for u near 1; such a value is moved to the largest float below 1, so every y stays in the image
// [v / 17, (v + 1) / 17) of its bin. Allocates nothing.
template <class T>
void dequantise(T* values, std::size_t count, std::mt19937_64& rng)
{
    constexpr T below_one = 1 - std::numeric_limits<T>::epsilon() / 2;
    for (std::size_t i = 0; i < count; ++i)
        values[i] = std::min(T((double(values[i]) + random::uniform(rng)) / digit_levels), below_one);
}

// `draws` dequantised copies of `images` (0..16), stacked: rows [d n, (d + 1) n) are draw d.
template <class T>
Tensor<T> dequantised(const Tensor<double>& images, std::size_t draws, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    const std::size_t n = images.shape()[0], cols = images.shape()[1];
    Tensor<T> out = Tensor<T>::from_shape({n * draws, cols});
    for (std::size_t d = 0; d < draws; ++d)
        std::copy(images.begin(), images.end(), out.begin() + std::ptrdiff_t(d * n * cols));
    dequantise(out.data(), out.size(), rng);
    return out;
}

// Rows repeated `draws` times, stacked like dequantised(): conditions or labels to go with its output.
template <class T>
Tensor<T> stacked(const Tensor<T>& rows, std::size_t draws)
{
    const std::size_t n = rows.shape()[0], cols = rows.shape()[1];
    Tensor<T> out = Tensor<T>::from_shape({n * draws, cols});
    for (std::size_t d = 0; d < draws; ++d)
        std::copy(rows.begin(), rows.end(), out.begin() + std::ptrdiff_t(d * n * cols));
    return out;
}

// The bin centres (v + 1/2) / 17: a deterministic point of each image's cell, e.g. to encode a real image.
template <class T>
Tensor<T> bin_centres(const Tensor<double>& images)
{
    return xt::cast<T>((images + 0.5) / digit_levels);
}

// NLL in nats per image of y on [0, 1)^dim -> of the image in pixel units (0..17)^dim.
inline double pixel_scale_nll(double unit_cube_nll, std::size_t dim = Digits::pixels)
{
    return unit_cube_nll + double(dim) * std::log(digit_levels);
}
inline double bits_per_dim(double nll_nats, std::size_t dim = Digits::pixels)
{
    return nll_nats / (double(dim) * std::numbers::ln2);
}

// Points y of [0, 1) back to pixel values: v = floor(17 y), the bin y falls in (the inverse of the
// dequantisation), clamped to 0..16 since a model may place samples outside [0, 1).
template <class T>
Tensor<double> to_pixels(const Tensor<T>& y)
{
    Tensor<double> v = xt::floor(xt::cast<double>(y) * digit_levels);
    return xt::clip(v, 0.0, Digits::max_value);
}

}  // namespace bijou::examples
