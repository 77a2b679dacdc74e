// conv2d: a 2-D convolution (cross-correlation, as in PyTorch and every deep-learning library) over
// the images in the rows of a batch, lowered to GEMM one image at a time.
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
// For one image, im2col writes the patches as a (Ci k k) x (Ho Wo) matrix `col`, and the output is
// weight^T col, a Co x (Ho Wo) product. Backward, per image: d weight += col dY^T, d bias += the row
// sums of dY, and d col = weight dY, which col2im adds back onto the input's pixels. A 1x1 convolution
// of stride 1 needs no patches: the image itself is the Ci x (H W) matrix.
//
// Padding "same" keeps ceil(H / stride) rows with zeros split as evenly as possible, the extra one at
// the bottom (TensorFlow's rule); "valid" keeps the (H - k) / stride + 1 windows that fit.
// The patch buffers are sized when the program is bound, so a step allocates nothing.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include <bijou/engine/blas.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/image.hpp>
#include <bijou/engine/kernels/matmul.hpp>  // detail::matrix_ref
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

enum class Padding { same, valid };

struct Conv2dOptions {
    ImageShape input;         // the geometry of each input row
    std::size_t kernel = 3;   // k: a k x k window
    std::size_t stride = 1;
    Padding padding = Padding::same;
};

// The geometry of one convolution: input and output images, window, stride and the zeros before the
// first row and column (those after follow from the sizes).
struct Conv2dGeometry {
    ImageShape in, out;
    std::size_t kernel = 1, stride = 1, pad_top = 0, pad_left = 0;

    std::size_t patch_rows() const { return in.channels * kernel * kernel; }  // Ci k k
    bool is_pointwise() const { return kernel == 1 && stride == 1 && pad_top == 0 && pad_left == 0; }
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

// col[(ci, kh, kw), (oh, ow)] = image[ci, oh s + kh - pad_top, ow s + kw - pad_left], zero outside.
template <class T>
void im2col(const Conv2dGeometry& g, const T* image, T* col)
{
    const std::size_t H = g.in.height, W = g.in.width, Ho = g.out.height, Wo = g.out.width, k = g.kernel,
                      s = g.stride;
    for (std::size_t ci = 0; ci < g.in.channels; ++ci)
        for (std::size_t kh = 0; kh < k; ++kh)
            for (std::size_t kw = 0; kw < k; ++kw) {
                T* row = col + ((ci * k + kh) * k + kw) * Ho * Wo;
                for (std::size_t oh = 0; oh < Ho; ++oh) {
                    T* out = row + oh * Wo;
                    const std::ptrdiff_t ih = std::ptrdiff_t(oh * s + kh) - std::ptrdiff_t(g.pad_top);
                    if (ih < 0 || ih >= std::ptrdiff_t(H)) {
                        std::fill(out, out + Wo, T(0));
                        continue;
                    }
                    const T* in = image + (ci * H + std::size_t(ih)) * W;
                    for (std::size_t ow = 0; ow < Wo; ++ow) {
                        const std::ptrdiff_t iw = std::ptrdiff_t(ow * s + kw) - std::ptrdiff_t(g.pad_left);
                        out[ow] = (iw < 0 || iw >= std::ptrdiff_t(W)) ? T(0) : in[iw];
                    }
                }
            }
}

// The adjoint of im2col: image[ci, ih, iw] += every col entry that read it.
template <class T>
void col2im_add(const Conv2dGeometry& g, const T* col, T* image)
{
    const std::size_t H = g.in.height, W = g.in.width, Ho = g.out.height, Wo = g.out.width, k = g.kernel,
                      s = g.stride;
    for (std::size_t ci = 0; ci < g.in.channels; ++ci)
        for (std::size_t kh = 0; kh < k; ++kh)
            for (std::size_t kw = 0; kw < k; ++kw) {
                const T* row = col + ((ci * k + kh) * k + kw) * Ho * Wo;
                for (std::size_t oh = 0; oh < Ho; ++oh) {
                    const std::ptrdiff_t ih = std::ptrdiff_t(oh * s + kh) - std::ptrdiff_t(g.pad_top);
                    if (ih < 0 || ih >= std::ptrdiff_t(H)) continue;
                    const T* from = row + oh * Wo;
                    T* in = image + (ci * H + std::size_t(ih)) * W;
                    for (std::size_t ow = 0; ow < Wo; ++ow) {
                        const std::ptrdiff_t iw = std::ptrdiff_t(ow * s + kw) - std::ptrdiff_t(g.pad_left);
                        if (iw >= 0 && iw < std::ptrdiff_t(W)) in[iw] += from[ow];
                    }
                }
            }
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
    mutable std::vector<T> col_;   // one image's patches, (Ci k k) x (Ho Wo)
    mutable std::vector<T> dcol_;  // their adjoint

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
        // Bind calls shape(): the patch buffers get their size here, once.
        if (!geometry.is_pointwise()) {
            const std::size_t size = geometry.patch_rows() * geometry.out.pixels();
            if (col_.size() != size) col_.assign(size, T(0));
            if (dcol_.size() != size) dcol_.assign(size, T(0));
        }
        return {in.rows, geometry.out.size()};
    }

    void forward(SourceNode<T>& out) const
    {
        const auto in = x.view();
        const auto w = detail::matrix_ref(weight);
        const std::size_t rows = out.shape().rows, Co = geometry.out.channels, P = geometry.out.pixels(),
                          K = geometry.patch_rows();
        for (std::size_t n = 0; n < rows; ++n) {
            const T* image = in.value + n * in.row_stride;
            T* y = out.value.data() + n * Co * P;
            T beta(0);
            if constexpr (has_bias) {
                const T* b = detail::matrix_ref(bias).value;
                for (std::size_t co = 0; co < Co; ++co) std::fill(y + co * P, y + (co + 1) * P, b[co]);
                beta = T(1);
            }
            const T* patches = image;
            if (!geometry.is_pointwise()) {
                detail::im2col(geometry, image, col_.data());
                patches = col_.data();
            }
            // y (Co x P) = weight^T (Co x K) patches (K x P)
            detail::gemm(true, false, Co, P, K, T(1), w.value, w.ld, patches, P, beta, y, P);
        }
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = x.view();
        const auto w = detail::matrix_ref(weight);
        const std::size_t rows = out.shape().rows, Co = geometry.out.channels, P = geometry.out.pixels(),
                          K = geometry.patch_rows();
        for (std::size_t n = 0; n < rows; ++n) {
            const T* dy = out.adjoint.data() + n * Co * P;
            if constexpr (has_bias) {
                T* db = detail::matrix_ref(bias).adjoint;
                if (db != nullptr)
                    for (std::size_t co = 0; co < Co; ++co) {
                        T sum(0);
                        for (std::size_t p = 0; p < P; ++p) sum += dy[co * P + p];
                        db[co] += sum;
                    }
            }
            const T* image = in.value + n * in.row_stride;
            if (w.adjoint != nullptr) {
                const T* patches = image;
                if (!geometry.is_pointwise()) {
                    detail::im2col(geometry, image, col_.data());
                    patches = col_.data();
                }
                // d weight (K x Co) += patches (K x P) dy^T (P x Co)
                detail::gemm(false, true, K, Co, P, T(1), patches, P, dy, P, T(1), w.adjoint, w.ld);
            }
            if (in.adjoint != nullptr) {
                T* dimage = in.adjoint + n * in.row_stride;
                if (geometry.is_pointwise()) {  // d image (Ci x P) += weight (K x Co) dy (Co x P)
                    detail::gemm(false, false, K, P, Co, T(1), w.value, w.ld, dy, P, T(1), dimage, P);
                } else {
                    detail::gemm(false, false, K, P, Co, T(1), w.value, w.ld, dy, P, T(0), dcol_.data(), P);
                    detail::col2im_add(geometry, dcol_.data(), dimage);
                }
            }
        }
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
    return make_var(Conv2d<decltype(source), Wt, B>{source, weight, bias, options, {}, {}, {}});
}
template <Expr E, SourceExpr Wt>
auto conv2d(E&& x, const Wt& weight, const Conv2dOptions& options)
{
    conv2d_geometry("conv2d", options, 1);
    auto source = bind_operand(std::forward<E>(x));
    return make_var(Conv2d<decltype(source), Wt, detail::NoBias>{source, weight, {}, options, {}, {}, {}});
}

}  // namespace bijou
