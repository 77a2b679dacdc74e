// conv2d: a 2-D convolution (cross-correlation, as in PyTorch and every deep-learning library) over
// the images in the rows of a batch: computed directly on padded planes, or lowered to GEMM a group of
// images at a time.
//
//   auto y = conv2d(x, weight, bias, {.input = {4, 14, 14}, .kernel = 3});   // "same" padding, stride 1
//
//   x       batch x (Ci * H * W), each row an image Ci x H x W (engine/image.hpp); a column slice of
//           whole channels is read in place
//   weight  (Ci * k * k) x Co: fan-in rows ordered (ci, kh, kw), as a Linear's weight is in x out, so
//           that the initialisers apply unchanged (PyTorch's Co x Ci x k x k, transposed)
//   bias    1 x Co (optional)
//   y       batch x (Co * Ho * Wo)
//
// Two paths. The direct one (conv2d_direct.hpp) serves 3x3 "same" convolutions of stride 1 into few
// output channels (detail::conv2d_direct_pays, decisions 27): each channel of a group of images is
// copied into a zero-bordered plane, the nine window positions become nine shifted multiply-adds over
// it, and d input and d weight are the same correlation with the flipped weight and dot products of
// shifted planes with dY; no patch matrix is written. Every other convolution goes through GEMM:
//
// For a group of G images, im2col writes the patches side by side as a (Ci k k) x (G Ho Wo) matrix
// `col`, and the output is weight^T col, a Co x (G Ho Wo) product, scattered back to each image's
// Co x (Ho Wo) rows. Backward, per group: dY is gathered the same way, d weight += col dY^T, d bias +=
// the row sums of dY, and d col = weight dY, which col2im adds back onto the input's pixels. Grouping
// matters because the images of a flow are small: one 14 x 14 image gives a product of 196 columns,
// too few to amortise packing the weight (the group size: conv2d_group). A 1x1 convolution of stride 1
// needs no patches: each image itself is the Ci x (H W) matrix, multiplied one image at a time.
//
// Padding "same" keeps ceil(H / stride) rows with zeros split as evenly as possible, the extra one at
// the bottom (TensorFlow's rule); "valid" keeps the (H - k) / stride + 1 windows that fit.
// The patch buffers and the direct path's planes are sized when the program is bound, so a step
// allocates nothing. Conv2dOptions::algorithm forces one path (tests and benchmarks compare them).
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include <bijou/engine/blas.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/image.hpp>
#include <bijou/engine/kernels/conv2d_direct.hpp>
#include <bijou/engine/kernels/matmul.hpp>  // detail::matrix_ref
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

enum class Padding { same, valid };

// How conv2d computes: `automatic` takes the direct path where it is faster (detail::conv2d_direct_pays),
// im2col + GEMM elsewhere; `gemm` and `direct` force one path, for tests
// and benchmarks that compare them (`direct` only where it applies: 3x3, stride 1, "same").
enum class Conv2dAlgorithm { automatic, gemm, direct };

struct Conv2dOptions {
    ImageShape input;         // the geometry of each input row
    std::size_t kernel = 3;   // k: a k x k window
    std::size_t stride = 1;
    Padding padding = Padding::same;
    Conv2dAlgorithm algorithm = Conv2dAlgorithm::automatic;
};

// The geometry of one convolution: input and output images, window, stride and the zeros before the
// first row and column (those after follow from the sizes).
struct Conv2dGeometry {
    ImageShape in, out;
    std::size_t kernel = 1, stride = 1, pad_top = 0, pad_left = 0;

    std::size_t patch_rows() const { return in.channels * kernel * kernel; }  // Ci k k
    bool is_pointwise() const { return kernel == 1 && stride == 1 && pad_top == 0 && pad_left == 0; }
    // 3x3, stride 1, one zero on each side: the geometry of conv2d's direct path (conv2d_direct.hpp)
    bool is_same3x3() const
    {
        return kernel == 3 && stride == 1 && pad_top == 1 && pad_left == 1 && out.height == in.height &&
               out.width == in.width;
    }
};

namespace detail {
// Output extent and leading zeros of one spatial axis.
struct AxisExtent {
    std::size_t out = 0, pad_before = 0;
};
inline AxisExtent conv_axis(std::string_view op, const char* axis, std::size_t in, const Conv2dOptions& o)
{
    if (o.padding == Padding::valid) {
        if (in < o.kernel)
            throw_shape_error(op, "a ", o.kernel, "x", o.kernel, " window with padding \"valid\" does not fit the ",
                              in, " ", axis, " of the input image ", to_string(o.input));
        return {(in - o.kernel) / o.stride + 1, 0};
    }
    const std::size_t out = (in + o.stride - 1) / o.stride;
    const std::size_t span = (out - 1) * o.stride + o.kernel;
    const std::size_t pad_total = span > in ? span - in : 0;
    return {out, pad_total / 2};
}
}  // namespace detail

// Checks the options and derives the output image. Throws shape_error naming `op`.
inline Conv2dGeometry conv2d_geometry(std::string_view op, const Conv2dOptions& o, std::size_t out_channels)
{
    check_image_shape(op, o.input);
    if (o.kernel == 0 || o.stride == 0)
        throw_shape_error(op, "the kernel size and the stride must be positive, got kernel ", o.kernel, ", stride ",
                          o.stride);
    if (out_channels == 0) throw_shape_error(op, "needs at least one output channel");
    const auto rows = detail::conv_axis(op, "rows", o.input.height, o);
    const auto cols = detail::conv_axis(op, "columns", o.input.width, o);
    return {o.input, {out_channels, rows.out, cols.out}, o.kernel, o.stride, rows.pad_before, cols.pad_before};
}

namespace detail {

// The output columns ow whose input column ow s + offset lies inside [0, W): [lo, hi).
struct ColumnRange {
    std::size_t lo = 0, hi = 0;
};
inline ColumnRange valid_columns(std::ptrdiff_t offset, std::size_t W, std::size_t Wo, std::size_t s)
{
    const auto stride = std::ptrdiff_t(s), last = std::ptrdiff_t(W) - 1 - offset;
    if (last < 0) return {0, 0};
    const std::size_t lo = offset >= 0 ? 0 : std::size_t((-offset + stride - 1) / stride);
    const std::size_t hi = std::min(Wo, std::size_t(last / stride) + 1);
    return {std::min(lo, hi), hi};
}

// The output rows oh whose input row oh s + offset lies inside [0, H): [lo, hi).
inline ColumnRange valid_rows(std::ptrdiff_t offset, std::size_t H, std::size_t Ho, std::size_t s)
{
    return valid_columns(offset, H, Ho, s);
}

// col[(ci, kh, kw), (oh, ow)] = image[ci, oh s + kh - pad_top, ow s + kw - pad_left], zero outside;
// row r of col starts at col + r * ld.
//
// At stride 1 with the output as wide as the input ("same"), a window position reads the input plane
// shifted by one constant offset, so each (ci, kh, kw) is one copy of the valid rows as a single run
// (the wrap-around at the left and right edges is then zeroed): a few long copies instead of one short
// one per output row, which is what made im2col the most expensive part of a Glow step.
template <class T>
void im2col(const Conv2dGeometry& g, const T* image, T* col, std::size_t ld)
{
    const std::size_t H = g.in.height, W = g.in.width, Ho = g.out.height, Wo = g.out.width, k = g.kernel,
                      s = g.stride;
    const bool planar = s == 1 && Wo == W;
    for (std::size_t ci = 0; ci < g.in.channels; ++ci)
        for (std::size_t kh = 0; kh < k; ++kh) {
            const std::ptrdiff_t row_offset = std::ptrdiff_t(kh) - std::ptrdiff_t(g.pad_top);
            const ColumnRange rows = valid_rows(row_offset, H, Ho, s);
            for (std::size_t kw = 0; kw < k; ++kw) {
                T* plane = col + ((ci * k + kh) * k + kw) * ld;
                const std::ptrdiff_t offset = std::ptrdiff_t(kw) - std::ptrdiff_t(g.pad_left);
                const ColumnRange cols = valid_columns(offset, W, Wo, s);
                std::fill(plane, plane + rows.lo * Wo, T(0));
                std::fill(plane + rows.hi * Wo, plane + Ho * Wo, T(0));
                const T* channel = image + ci * H * W;
                if (planar) {
                    if (rows.lo == rows.hi || cols.lo == cols.hi) {
                        std::fill(plane + rows.lo * Wo, plane + rows.hi * Wo, T(0));
                        continue;
                    }
                    // out[j] = channel[j + shift] for j from the first valid pixel to the last one
                    const std::size_t first = rows.lo * Wo + cols.lo, last = (rows.hi - 1) * Wo + cols.hi;
                    const std::ptrdiff_t shift = row_offset * std::ptrdiff_t(W) + offset;
                    std::memcpy(plane + first, channel + (std::ptrdiff_t(first) + shift), (last - first) * sizeof(T));
                    for (std::size_t oh = rows.lo; oh < rows.hi; ++oh) {  // the wrap-around columns
                        T* out = plane + oh * Wo;
                        for (std::size_t ow = 0; ow < cols.lo; ++ow) out[ow] = T(0);
                        for (std::size_t ow = cols.hi; ow < Wo; ++ow) out[ow] = T(0);
                    }
                    continue;
                }
                for (std::size_t oh = rows.lo; oh < rows.hi; ++oh) {
                    T* out = plane + oh * Wo;
                    const T* row = channel + std::size_t(std::ptrdiff_t(oh * s) + row_offset) * W;
                    for (std::size_t ow = 0; ow < cols.lo; ++ow) out[ow] = T(0);
                    for (std::size_t ow = cols.lo; ow < cols.hi; ++ow) out[ow] = row[std::ptrdiff_t(ow * s) + offset];
                    for (std::size_t ow = cols.hi; ow < Wo; ++ow) out[ow] = T(0);
                }
            }
        }
}

// The adjoint of im2col: image[ci, ih, iw] += every col entry that read it. At stride 1 with Wo == W,
// the col entries that read outside the image are zeroed first (col is scratch), so each window
// position adds back as one run, like im2col's copy.
template <class T>
void col2im_add(const Conv2dGeometry& g, T* col, std::size_t ld, T* image)
{
    const std::size_t H = g.in.height, W = g.in.width, Ho = g.out.height, Wo = g.out.width, k = g.kernel,
                      s = g.stride;
    const bool planar = s == 1 && Wo == W;
    for (std::size_t ci = 0; ci < g.in.channels; ++ci)
        for (std::size_t kh = 0; kh < k; ++kh) {
            const std::ptrdiff_t row_offset = std::ptrdiff_t(kh) - std::ptrdiff_t(g.pad_top);
            const ColumnRange rows = valid_rows(row_offset, H, Ho, s);
            for (std::size_t kw = 0; kw < k; ++kw) {
                T* plane = col + ((ci * k + kh) * k + kw) * ld;
                const std::ptrdiff_t offset = std::ptrdiff_t(kw) - std::ptrdiff_t(g.pad_left);
                const ColumnRange cols = valid_columns(offset, W, Wo, s);
                T* channel = image + ci * H * W;
                if (rows.lo == rows.hi || cols.lo == cols.hi) continue;
                if (planar) {
                    for (std::size_t oh = rows.lo; oh < rows.hi; ++oh) {
                        T* from = plane + oh * Wo;
                        for (std::size_t ow = 0; ow < cols.lo; ++ow) from[ow] = T(0);
                        for (std::size_t ow = cols.hi; ow < Wo; ++ow) from[ow] = T(0);
                    }
                    const std::size_t first = rows.lo * Wo + cols.lo, last = (rows.hi - 1) * Wo + cols.hi;
                    T* to = channel + (std::ptrdiff_t(first) + row_offset * std::ptrdiff_t(W) + offset);
                    const T* from = plane + first;
                    for (std::size_t j = 0; j < last - first; ++j) to[j] += from[j];
                    continue;
                }
                for (std::size_t oh = rows.lo; oh < rows.hi; ++oh) {
                    const T* from = plane + oh * Wo;
                    T* row = channel + std::size_t(std::ptrdiff_t(oh * s) + row_offset) * W;
                    for (std::size_t ow = cols.lo; ow < cols.hi; ++ow) row[std::ptrdiff_t(ow * s) + offset] += from[ow];
                }
            }
        }
}

// Images per GEMM: enough that a product has about this many columns (G Ho Wo), so that small images
// (7 x 7, 14 x 14) make products large enough to run near the GEMM's peak, while the patch buffer of
// a 576-row patch matrix stays a few MB.
inline constexpr std::size_t conv2d_gemm_columns = 1024;
inline std::size_t conv2d_group(std::size_t pixels) { return std::max<std::size_t>(1, conv2d_gemm_columns / pixels); }

// Images per padded plane of the direct path (conv2d_direct.hpp): enough for about this many positions
// (G (H + 1) (W + 1)), so that a 7 x 7 image's few vectors become a range long enough to amortise each
// block's set-up, while the planes of 64 channels stay within L2.
inline constexpr std::size_t conv2d_direct_positions = 512;
inline std::size_t conv2d_direct_group(const ImageShape& in)
{
    return std::max<std::size_t>(1, conv2d_direct_positions / ((in.height + 1) * (in.width + 1)));
}

// Where the direct path is faster than im2col + GEMM: 3x3 "same" at stride 1 into at most 16 output
// channels. Measured (bench_conv2d_shapes --compare --sweep, float, batch 64, Ci 2..64 x Co 4..64 at
// 14 x 14 and 7 x 7): every shape with Co <= 16 ran 1.1x to 4.4x faster direct (64 -> 4: 4.4x, 2 -> 16:
// 1.1x); at Co = 32 it varied from 0.92x to 2.3x, and with few inputs into 64 outputs (2, 4, 8, 16 -> 64)
// GEMM won (direct 0.65x to 0.96x): a GEMM with 64 rows runs near its peak, while the direct path then
// spends its time copying 64 planes of dY and of the output. So few input channels alone do not qualify.
inline constexpr std::size_t conv2d_direct_max_outputs = 16;
inline bool conv2d_direct_pays(const Conv2dGeometry& g)
{
    return g.is_same3x3() && g.out.channels <= conv2d_direct_max_outputs;
}

// No bias: an operand that reaches no source.
struct NoBias {
    template <class F>
    void for_each_source(F&&) const
    {
    }
};

}  // namespace detail

template <SourceExpr X, SourceExpr Wt, class B>
struct Conv2d {
    static_assert(std::is_same_v<typename X::value_type, typename Wt::value_type>,
                  "bijou: conv2d's input and weight must have the same value type");
    using value_type = typename X::value_type;
    using T = value_type;
    static constexpr const char* name = "conv2d";
    static constexpr bool has_bias = !std::is_same_v<B, detail::NoBias>;

    X x;
    Wt weight;
    B bias;
    Conv2dOptions options;
    mutable Conv2dGeometry geometry;  // derived in shape(), when the weight's shape is known
    mutable std::vector<T> col_;      // a group's patches, (Ci k k) x (G Ho Wo)
    mutable std::vector<T> dcol_;     // their adjoint
    mutable std::vector<T> grouped_;  // a group's output (forward) or its adjoint (backward), Co x (G Ho Wo)
    // The direct path (conv2d_direct.hpp): whether it is taken, its planes' layout, and per image the
    // padded planes of the input and of dY, the correlation's result, the flipped weight of d input and
    // the SIMD lanes of d weight.
    mutable bool direct_ = false;
    mutable detail::PaddedPlanes planes_;
    mutable std::vector<T> padded_, padded_dy_, result_, flipped_, lanes_;

    Shape shape() const
    {
        const Shape in = x.shape(), w = weight.shape();
        geometry = conv2d_geometry("conv2d", options, w.cols);
        check_image_row("conv2d", geometry.in, in.cols);
        if (w != Shape{geometry.patch_rows(), geometry.out.channels})
            throw_shape_error("conv2d", "the weight of a ", geometry.kernel, "x", geometry.kernel, " convolution from ",
                              geometry.in.channels, " to ", geometry.out.channels, " channels must be (Ci k k) x Co = ",
                              Shape{geometry.patch_rows(), geometry.out.channels}, ", got ", w);
        if constexpr (has_bias) {
            if (bias.shape() != Shape{1, geometry.out.channels})
                throw_shape_error("conv2d", "the bias must be 1 x Co = ", Shape{1, geometry.out.channels}, ", got ",
                                  bias.shape());
        }
        switch (options.algorithm) {
        case Conv2dAlgorithm::automatic: direct_ = detail::conv2d_direct_pays(geometry); break;
        case Conv2dAlgorithm::gemm: direct_ = false; break;
        case Conv2dAlgorithm::direct:
            if (!geometry.is_same3x3())
                throw_shape_error("conv2d", "the direct algorithm needs a 3x3 window, stride 1 and padding \"same\", got ",
                                  geometry.kernel, "x", geometry.kernel, ", stride ", geometry.stride);
            direct_ = true;
            break;
        }
        // Bind calls shape(): the buffers get their size here, once. The padded planes' zeros are written
        // here too; a step writes only their pixels.
        const auto size_to = [](std::vector<T>& buffer, std::size_t size) {
            if (buffer.size() != size) buffer.assign(size, T(0));
        };
        if (direct_) {
            const std::size_t Ci = geometry.in.channels, Co = geometry.out.channels;
            const auto planes = detail::padded_planes<T>(geometry.in.height, geometry.in.width,
                                                         std::min(in.rows, detail::conv2d_direct_group(geometry.in)));
            if (planes.images != planes_.images || planes.stride != planes_.stride) {  // new zeros for a new layout
                padded_.clear();
                padded_dy_.clear();
            }
            planes_ = planes;
            size_to(padded_, Ci * planes_.stride);
            size_to(padded_dy_, Co * planes_.stride);
            size_to(result_, std::max(Ci, Co) * planes_.span());
            size_to(flipped_, 9 * Ci * Co);
            size_to(lanes_, 9 * Ci * Co * simd::width<T>);
        } else if (!geometry.is_pointwise()) {
            const std::size_t columns = std::min(in.rows, detail::conv2d_group(geometry.out.pixels())) *
                                        geometry.out.pixels();
            size_to(col_, geometry.patch_rows() * columns);
            size_to(dcol_, geometry.patch_rows() * columns);
            size_to(grouped_, geometry.out.channels * columns);
        }
        return {in.rows, geometry.out.size()};
    }

    void forward(SourceNode<T>& out) const
    {
        const auto in = x.view();
        const auto w = detail::matrix_ref(weight);
        const std::size_t rows = out.shape().rows, Co = geometry.out.channels, P = geometry.out.pixels(),
                          K = geometry.patch_rows();
        const T* b = nullptr;
        if constexpr (has_bias) b = detail::matrix_ref(bias).value;
        if (direct_) {
            forward_direct(in, w, rows, b, out.value.data());
            return;
        }
        if (geometry.is_pointwise()) {
            for (std::size_t n = 0; n < rows; ++n) {
                T* y = out.value.data() + n * Co * P;
                if (b != nullptr)
                    for (std::size_t co = 0; co < Co; ++co) std::fill(y + co * P, y + (co + 1) * P, b[co]);
                // y (Co x P) = weight^T (Co x K) image (K x P)
                detail::gemm(true, false, Co, P, K, T(1), w.value, w.ld, in.value + n * in.row_stride, P,
                             T(b != nullptr ? 1 : 0), y, P);
            }
            return;
        }
        const std::size_t group = detail::conv2d_group(P);
        for (std::size_t first = 0; first < rows; first += group) {
            const std::size_t G = std::min(group, rows - first), ld = G * P;
            for (std::size_t g = 0; g < G; ++g)
                detail::im2col(geometry, in.value + (first + g) * in.row_stride, col_.data() + g * P, ld);
            // grouped (Co x G P) = weight^T (Co x K) col (K x G P)
            detail::gemm(true, false, Co, ld, K, T(1), w.value, w.ld, col_.data(), ld, T(0), grouped_.data(), ld);
            for (std::size_t g = 0; g < G; ++g) {
                T* y = out.value.data() + (first + g) * Co * P;
                for (std::size_t co = 0; co < Co; ++co) {
                    const T* from = grouped_.data() + co * ld + g * P;
                    const T shift = b != nullptr ? b[co] : T(0);
                    for (std::size_t p = 0; p < P; ++p) y[co * P + p] = from[p] + shift;
                }
            }
        }
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = x.view();
        const auto w = detail::matrix_ref(weight);
        const std::size_t rows = out.shape().rows, Co = geometry.out.channels, P = geometry.out.pixels(),
                          K = geometry.patch_rows();
        if constexpr (has_bias) {
            T* db = detail::matrix_ref(bias).adjoint;
            if (db != nullptr)
                for (std::size_t n = 0; n < rows; ++n) {
                    const T* dy = out.adjoint.data() + n * Co * P;
                    for (std::size_t co = 0; co < Co; ++co) {
                        T sum(0);
                        for (std::size_t p = 0; p < P; ++p) sum += dy[co * P + p];
                        db[co] += sum;
                    }
                }
        }
        if (direct_) {
            backward_direct(in, w, rows, out.adjoint.data());
            return;
        }
        if (geometry.is_pointwise()) {
            for (std::size_t n = 0; n < rows; ++n) {
                const T* dy = out.adjoint.data() + n * Co * P;
                const T* image = in.value + n * in.row_stride;
                // d weight (K x Co) += image (K x P) dy^T (P x Co)
                if (w.adjoint != nullptr) detail::gemm(false, true, K, Co, P, T(1), image, P, dy, P, T(1), w.adjoint, w.ld);
                // d image (Ci x P) += weight (K x Co) dy (Co x P)
                if (in.adjoint != nullptr)
                    detail::gemm(false, false, K, P, Co, T(1), w.value, w.ld, dy, P, T(1), in.adjoint + n * in.row_stride, P);
            }
            return;
        }
        if (w.adjoint == nullptr && in.adjoint == nullptr) return;
        const std::size_t group = detail::conv2d_group(P);
        for (std::size_t first = 0; first < rows; first += group) {
            const std::size_t G = std::min(group, rows - first), ld = G * P;
            for (std::size_t g = 0; g < G; ++g) {  // dy of the group, side by side: Co x G P
                const T* dy = out.adjoint.data() + (first + g) * Co * P;
                for (std::size_t co = 0; co < Co; ++co)
                    std::memcpy(grouped_.data() + co * ld + g * P, dy + co * P, P * sizeof(T));
            }
            if (w.adjoint != nullptr) {
                for (std::size_t g = 0; g < G; ++g)
                    detail::im2col(geometry, in.value + (first + g) * in.row_stride, col_.data() + g * P, ld);
                // d weight (K x Co) += col (K x G P) grouped^T (G P x Co)
                detail::gemm(false, true, K, Co, ld, T(1), col_.data(), ld, grouped_.data(), ld, T(1), w.adjoint, w.ld);
            }
            if (in.adjoint != nullptr) {
                // d col (K x G P) = weight (K x Co) grouped (Co x G P)
                detail::gemm(false, false, K, ld, Co, T(1), w.value, w.ld, grouped_.data(), ld, T(0), dcol_.data(), ld);
                for (std::size_t g = 0; g < G; ++g)
                    detail::col2im_add(geometry, dcol_.data() + g * P, ld, in.adjoint + (first + g) * in.row_stride);
            }
        }
    }

    // y[n, co] = b[co] + the correlation of image n's padded planes with the weight, unpacked from rows
    // of Wp positions to rows of W pixels; a group of images at a time.
    template <class In, class Weight>
    void forward_direct(const In& in, const Weight& w, std::size_t rows, const T* b, T* y) const
    {
        const detail::PaddedPlanes& p = planes_;
        const std::size_t Ci = geometry.in.channels, Co = geometry.out.channels, H = p.height, W = p.width;
        for (std::size_t first = 0; first < rows; first += p.images) {
            const std::size_t G = std::min(p.images, rows - first), span = p.span(G);
            detail::pad_planes(p, in.value + first * in.row_stride, in.row_stride, G, Ci, padded_.data());
            detail::correlate3x3(p, span, padded_.data(), Ci, w.value, w.ld, Co, result_.data());
            for (std::size_t g = 0; g < G; ++g)
                for (std::size_t co = 0; co < Co; ++co) {
                    const T shift = b != nullptr ? b[co] : T(0);
                    const T* from = result_.data() + co * p.span() + p.position(g, 0);
                    T* to = y + ((first + g) * Co + co) * H * W;
                    for (std::size_t r = 0; r < H; ++r)
                        for (std::size_t c = 0; c < W; ++c) to[r * W + c] = from[r * p.row + c] + shift;
                }
        }
    }

    // Per group of images: dY into padded planes; d weight's lanes += its dot products with the shifted
    // input planes; d input += the correlation of dY with the flipped weight. The lanes are summed into
    // d weight once, after the last group.
    template <class In, class Weight>
    void backward_direct(const In& in, const Weight& w, std::size_t rows, const T* dy) const
    {
        const detail::PaddedPlanes& p = planes_;
        const std::size_t Ci = geometry.in.channels, Co = geometry.out.channels, H = p.height, W = p.width;
        if (w.adjoint == nullptr && in.adjoint == nullptr) return;
        if (in.adjoint != nullptr) detail::flip_taps(w.value, w.ld, Ci, Co, flipped_.data());
        if (w.adjoint != nullptr) std::fill(lanes_.begin(), lanes_.end(), T(0));
        for (std::size_t first = 0; first < rows; first += p.images) {
            const std::size_t G = std::min(p.images, rows - first), span = p.span(G);
            detail::pad_planes(p, dy + first * Co * H * W, Co * H * W, G, Co, padded_dy_.data());
            if (w.adjoint != nullptr) {
                detail::pad_planes(p, in.value + first * in.row_stride, in.row_stride, G, Ci, padded_.data());
                detail::weight_grad3x3(p, span, padded_.data(), Ci, padded_dy_.data(), Co, lanes_.data());
            }
            if (in.adjoint != nullptr) {
                detail::correlate3x3(p, span, padded_dy_.data(), Co, flipped_.data(), Ci, Ci, result_.data());
                for (std::size_t g = 0; g < G; ++g)
                    for (std::size_t ci = 0; ci < Ci; ++ci) {
                        const T* from = result_.data() + ci * p.span() + p.position(g, 0);
                        T* to = in.adjoint + (first + g) * in.row_stride + ci * H * W;
                        for (std::size_t r = 0; r < H; ++r)
                            for (std::size_t c = 0; c < W; ++c) to[r * W + c] += from[r * p.row + c];
                    }
            }
        }
        if (w.adjoint != nullptr) detail::sum_lanes(lanes_.data(), 9 * Ci, Co, w.adjoint, w.ld);
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        x.for_each_source(f);
        weight.for_each_source(f);
        bias.for_each_source(f);
    }
};

// conv2d(x, weight, bias, options) and conv2d(x, weight, options) (no bias). The output's geometry is
// conv2d_geometry("conv2d", options, Co).out.
// The options are checked here (with one output channel standing in for the weight's, which a Var
// weight knows only once bound) and again, in full, when the program is bound.
template <Expr E, SourceExpr Wt, SourceExpr B>
auto conv2d(E&& x, const Wt& weight, const B& bias, const Conv2dOptions& options)
{
    conv2d_geometry("conv2d", options, 1);
    auto source = bind_operand(std::forward<E>(x));
    return make_var(Conv2d<decltype(source), Wt, B>{source, weight, bias, options, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}});
}
template <Expr E, SourceExpr Wt>
auto conv2d(E&& x, const Wt& weight, const Conv2dOptions& options)
{
    conv2d_geometry("conv2d", options, 1);
    auto source = bind_operand(std::forward<E>(x));
    return make_var(Conv2d<decltype(source), Wt, detail::NoBias>{source, weight, {}, options, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}});
}

}  // namespace bijou
