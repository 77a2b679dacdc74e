// conv2d_direct: the kernels of conv2d's direct path (engine/kernels/conv2d.hpp), a 3x3 convolution of
// stride 1 with one zero of padding on each side, computed from the images themselves instead of a
// patch matrix.
//
// Each channel of an H x W image is copied into a padded plane whose rows are Wp = W + 1 apart: the
// zero after each row is also the zero before the next one, and a zero row lies above and below. With
// the output at position q = r Wp + c (c = W is a spare position whose value is never used), window
// position (kh, kw) reads the plane at q + kh Wp + kw for every q alike, so a 3x3 correlation is nine
// shifted multiply-adds over one flat range:
//
//   out[o][q] = sum over i, (kh, kw) of taps[(i 9 + kh 3 + kw) ld + o] plane[i][q + kh Wp + kw]
//
// A plane holds a group of G images one below the other, one zero row between them (the one below an
// image is the one above the next), so that the flat range spans G images: a 7 x 7 image alone is only
// seven vectors of floats, too short to amortise a block's set-up and the sums of d weight.
//
// Forward is this correlation of the input's planes with the weight; d input is the same correlation
// of dY's planes with the weight flipped in (kh, kw) and transposed in (ci, co); d weight is, per weight,
// a dot product of a shifted input plane with a dY plane. The kernels keep a block of outputs for a few
// vectors of pixels in registers, so that each vector loaded serves every output of the block.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include <bijou/engine/simd.hpp>

namespace bijou::detail {

// The layout of the padded planes of groups of H x W images. A plane holds `lead` zeros (the row above
// and the column left of the first pixel), then for each image of the group H rows of W pixels and one
// zero and a zero row, then zeros to `stride`: pixel (g, r, c) is at lead + position(g, r) + c. Outputs
// are computed for positions q in [0, span(g)) of the first g images, whole vectors, and read the plane
// up to q + 2 Wp + 2 < stride.
struct PaddedPlanes {
    std::size_t height = 0, width = 0, images = 0, row = 0, lead = 0, stride = 0;
    std::size_t vector = 1;  // the SIMD width

    std::size_t offset(std::size_t kh, std::size_t kw) const { return kh * row + kw; }
    std::size_t position(std::size_t image, std::size_t r) const { return (image * (height + 1) + r) * row; }
    std::size_t span(std::size_t images_used) const
    {
        return (position(images_used - 1, height) + vector - 1) / vector * vector;
    }
    std::size_t span() const { return span(images); }
};

template <class T>
PaddedPlanes padded_planes(std::size_t height, std::size_t width, std::size_t images)
{
    PaddedPlanes p;
    p.height = height;
    p.width = width;
    p.images = images;
    p.vector = simd::width<T>;
    p.row = width + 1;
    p.lead = p.row + 1;
    p.stride = (p.span() + 2 * p.row + 2 + p.vector - 1) / p.vector * p.vector;
    return p;
}

// Copies `channels` planes of H x W pixels of `images` images (each channel-major, image n at
// first + n image_stride) into padded planes whose zeros are already in place: only the pixels are
// written, so the zeros written once stay. The pixels of the group's unused images are zeroed, so that
// the last vector of a shorter span reads zeros there.
template <class T>
void pad_planes(const PaddedPlanes& p, const T* first, std::size_t image_stride, std::size_t images,
                std::size_t channels, T* planes)
{
    const std::size_t H = p.height, W = p.width;
    for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t g = 0; g < p.images; ++g) {
            T* to = planes + c * p.stride + p.lead + p.position(g, 0);
            if (g >= images) {
                for (std::size_t r = 0; r < H; ++r) std::fill(to + r * p.row, to + r * p.row + W, T(0));
                continue;
            }
            const T* from = first + g * image_stride + c * H * W;
            for (std::size_t r = 0; r < H; ++r)
                for (std::size_t x = 0; x < W; ++x) to[r * p.row + x] = from[r * W + x];
        }
}

// Calls f(std::integral_constant<std::size_t, n>{}) for a run-time n in [1, Max].
template <std::size_t Max, class F>
inline void with_count(std::size_t n, F&& f)
{
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (void)((n == I + 1 ? (f(std::integral_constant<std::size_t, I + 1>{}), true) : false) || ...);
    }(std::make_index_sequence<Max>{});
}

// Outputs [o0, o0 + Outputs) at the Vectors SIMD vectors of positions from q0, in registers:
// Outputs x Vectors accumulators, each loaded input vector used Outputs times.
template <class T, std::size_t Outputs, std::size_t Vectors>
inline void correlate3x3_block(const PaddedPlanes& p, const T* in, std::size_t inputs, const T* taps, std::size_t ld,
                               std::size_t o0, std::size_t q0, T* out)
{
    using V = simd::batch<T>;
    constexpr std::size_t w = simd::width<T>;
    V acc[Outputs][Vectors];
    for (std::size_t o = 0; o < Outputs; ++o)
        for (std::size_t v = 0; v < Vectors; ++v) acc[o][v] = V(T(0));
    const std::size_t offsets[9] = {p.offset(0, 0), p.offset(0, 1), p.offset(0, 2), p.offset(1, 0), p.offset(1, 1),
                                    p.offset(1, 2), p.offset(2, 0), p.offset(2, 1), p.offset(2, 2)};
    for (std::size_t i = 0; i < inputs; ++i) {
        const T* plane = in + i * p.stride + q0;
        const T* weights = taps + i * 9 * ld + o0;
        for (std::size_t t = 0; t < 9; ++t) {
            V x[Vectors];
            for (std::size_t v = 0; v < Vectors; ++v) x[v] = V::load_unaligned(plane + offsets[t] + v * w);
            for (std::size_t o = 0; o < Outputs; ++o) {
                const V weight(weights[t * ld + o]);
                for (std::size_t v = 0; v < Vectors; ++v) acc[o][v] = xsimd::fma(weight, x[v], acc[o][v]);
            }
        }
    }
    for (std::size_t o = 0; o < Outputs; ++o)
        for (std::size_t v = 0; v < Vectors; ++v) acc[o][v].store_unaligned(out + (o0 + o) * p.span() + q0 + v * w);
}

// Blocks of at most 4 outputs by as many vectors of positions as keep the accumulators, the loaded
// inputs and one weight within the 16 vector registers of AVX2: 4 x 3, 3 x 4, 2 x 5, 1 x 7 (measured on
// the Glow's shapes: blocks of 8 outputs, which spill, ran at half the speed).
inline constexpr std::size_t correlate3x3_outputs = 4;
template <std::size_t Outputs>
inline constexpr std::size_t correlate3x3_vectors = Outputs >= 4 ? 3 : Outputs == 3 ? 4 : Outputs == 2 ? 5 : 7;

// out[o][q] = sum over i < inputs, (kh, kw) of taps[(i 9 + kh 3 + kw) ld + o] in[i][q + kh Wp + kw], for
// o < outputs and q < span: `in` holds `inputs` padded planes, `out` `outputs` planes of span()
// positions.
template <class T>
void correlate3x3(const PaddedPlanes& p, std::size_t span, const T* in, std::size_t inputs, const T* taps,
                  std::size_t ld, std::size_t outputs, T* out)
{
    constexpr std::size_t max_outputs = correlate3x3_outputs, w = simd::width<T>;
    const std::size_t vectors = span / w;
    for (std::size_t o0 = 0; o0 < outputs; o0 += max_outputs)
        with_count<max_outputs>(std::min(max_outputs, outputs - o0), [&](auto block) {
            constexpr std::size_t Outputs = decltype(block)::value, Vectors = correlate3x3_vectors<Outputs>;
            std::size_t v = 0;
            for (; v + Vectors <= vectors; v += Vectors)
                correlate3x3_block<T, Outputs, Vectors>(p, in, inputs, taps, ld, o0, v * w, out);
            if (v < vectors)
                with_count<Vectors>(vectors - v, [&](auto rest) {
                    correlate3x3_block<T, Outputs, decltype(rest)::value>(p, in, inputs, taps, ld, o0, v * w, out);
                });
        });
}

// The taps of d input: flipped[(o 9 + t) ld' + i] = weight[(i 9 + 8 - t) ld + o], a (outputs 9) x inputs
// matrix, so that d input is correlate3x3 of dY's planes with it.
template <class T>
void flip_taps(const T* weight, std::size_t ld, std::size_t inputs, std::size_t outputs, T* flipped)
{
    for (std::size_t i = 0; i < inputs; ++i)
        for (std::size_t t = 0; t < 9; ++t)
            for (std::size_t o = 0; o < outputs; ++o)
                flipped[(o * 9 + 8 - t) * inputs + i] = weight[(i * 9 + t) * ld + o];
}

// d weight, in SIMD lanes: lanes[((i 9 + t) outputs + o) w + l] += the lane-l partial sum over positions q
// of in[i][q + offset(t)] dy[o][q], q < span, for one group. `dy` holds `outputs` padded planes of dY
// (its spare positions are zero, so they add nothing). The lanes are summed once per batch (sum_lanes).
template <class T, std::size_t Outputs>
inline void weight_grad3x3_block(const PaddedPlanes& p, std::size_t span, const T* plane, const T* dy,
                                 std::size_t outputs, std::size_t o0, T* lanes)
{
    using V = simd::batch<T>;
    constexpr std::size_t w = simd::width<T>;
    for (std::size_t kh = 0; kh < 3; ++kh) {
        V acc[3][Outputs];
        for (std::size_t kw = 0; kw < 3; ++kw)
            for (std::size_t o = 0; o < Outputs; ++o) acc[kw][o] = V(T(0));
        const T* row = plane + p.offset(kh, 0);
        for (std::size_t q = 0; q < span; q += w) {
            const V x0 = V::load_unaligned(row + q), x1 = V::load_unaligned(row + q + 1),
                    x2 = V::load_unaligned(row + q + 2);
            for (std::size_t o = 0; o < Outputs; ++o) {
                const V d = V::load_unaligned(dy + (o0 + o) * p.stride + p.lead + q);
                acc[0][o] = xsimd::fma(x0, d, acc[0][o]);
                acc[1][o] = xsimd::fma(x1, d, acc[1][o]);
                acc[2][o] = xsimd::fma(x2, d, acc[2][o]);
            }
        }
        for (std::size_t kw = 0; kw < 3; ++kw)
            for (std::size_t o = 0; o < Outputs; ++o) {
                T* to = lanes + ((kh * 3 + kw) * outputs + o0 + o) * w;
                (V::load_unaligned(to) + acc[kw][o]).store_unaligned(to);
            }
    }
}

// Blocks of up to 4 outputs: 3 x 4 accumulators, three shifted inputs and one dY vector in 16 registers.
template <class T>
void weight_grad3x3(const PaddedPlanes& p, std::size_t span, const T* in, std::size_t inputs, const T* dy,
                    std::size_t outputs, T* lanes)
{
    constexpr std::size_t max_outputs = 4, w = simd::width<T>;
    for (std::size_t i = 0; i < inputs; ++i)
        for (std::size_t o0 = 0; o0 < outputs; o0 += max_outputs)
            with_count<max_outputs>(std::min(max_outputs, outputs - o0), [&](auto block) {
                weight_grad3x3_block<T, decltype(block)::value>(p, span, in + i * p.stride, dy, outputs, o0,
                                                                lanes + i * 9 * outputs * w);
            });
}

// d weight[r, o] += the sum of the lanes of row r = (i 9 + t), output o.
template <class T>
void sum_lanes(const T* lanes, std::size_t rows, std::size_t outputs, T* weight_grad, std::size_t ld)
{
    constexpr std::size_t w = simd::width<T>;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t o = 0; o < outputs; ++o)
            weight_grad[r * ld + o] += simd::reduce_add(simd::batch<T>::load_unaligned(lanes + (r * outputs + o) * w));
}

}  // namespace bijou::detail
