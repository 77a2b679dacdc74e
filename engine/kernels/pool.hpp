// Resampling the images in the rows of a batch (engine/image.hpp):
//
//   avg_pool2d(x, {4, 14, 14}, 2)          mean over non-overlapping 2x2 windows -> 4 x 7 x 7
//   upsample_nearest(x, {4, 7, 7}, 2)      every pixel repeated over a 2x2 block  -> 4 x 14 x 14
//
// Pooling uses windows of f x f with stride f; rows and columns that do not fill a window are dropped
// (PyTorch's floor rule). Each is linear, so backward spreads (pooling) or sums (upsampling) the
// adjoint over the same pixels.
#pragma once

#include <algorithm>

#include <bijou/engine/error.hpp>
#include <bijou/engine/image.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

namespace detail {
// Walks the (output pixel, input pixel) pairs of an f x f block map between a coarse and a fine image
// of the same channels: visit(coarse index, fine index) for every fine pixel inside the coarse grid.
template <class Visit>
void for_each_block_pixel(ImageShape coarse, ImageShape fine, std::size_t f, Visit&& visit)
{
    for (std::size_t c = 0; c < coarse.channels; ++c)
        for (std::size_t h = 0; h < coarse.height; ++h)
            for (std::size_t i = 0; i < f; ++i)
                for (std::size_t w = 0; w < coarse.width; ++w) {
                    const std::size_t to = coarse.index(c, h, w);
                    const std::size_t from = fine.index(c, h * f + i, w * f);
                    for (std::size_t j = 0; j < f; ++j) visit(to, from + j);
                }
}
}  // namespace detail

template <SourceExpr S>
struct AvgPool2d {
    using value_type = typename S::value_type;
    using T = value_type;
    static constexpr const char* name = "avg_pool2d";

    S source;
    ImageShape in, out;
    std::size_t factor;

    Shape shape() const
    {
        const Shape s = source.shape();
        check_image_row(name, in, s.cols);
        return {s.rows, out.size()};
    }

    void forward(SourceNode<T>& node) const
    {
        const auto x = source.view();
        const T scale = T(1) / T(factor * factor);
        for (std::size_t r = 0; r < node.shape().rows; ++r) {
            const T* image = x.value + r * x.row_stride;
            T* y = node.value.data() + r * out.size();
            std::fill(y, y + out.size(), T(0));
            detail::for_each_block_pixel(out, in, factor, [&](std::size_t to, std::size_t from) { y[to] += image[from]; });
            for (std::size_t i = 0; i < out.size(); ++i) y[i] *= scale;
        }
    }

    void backward(SourceNode<T>& node) const
    {
        const auto x = source.view();
        if (x.adjoint == nullptr) return;
        const T scale = T(1) / T(factor * factor);
        for (std::size_t r = 0; r < node.shape().rows; ++r) {
            const T* dy = node.adjoint.data() + r * out.size();
            T* dx = x.adjoint + r * x.row_stride;
            detail::for_each_block_pixel(out, in, factor,
                                         [&](std::size_t to, std::size_t from) { dx[from] += scale * dy[to]; });
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        source.for_each_source(f);
    }
};

template <SourceExpr S>
struct UpsampleNearest {
    using value_type = typename S::value_type;
    using T = value_type;
    static constexpr const char* name = "upsample_nearest";

    S source;
    ImageShape in, out;
    std::size_t factor;

    Shape shape() const
    {
        const Shape s = source.shape();
        check_image_row(name, in, s.cols);
        return {s.rows, out.size()};
    }

    void forward(SourceNode<T>& node) const
    {
        const auto x = source.view();
        for (std::size_t r = 0; r < node.shape().rows; ++r) {
            const T* image = x.value + r * x.row_stride;
            T* y = node.value.data() + r * out.size();
            detail::for_each_block_pixel(in, out, factor, [&](std::size_t to, std::size_t from) { y[from] = image[to]; });
        }
    }

    void backward(SourceNode<T>& node) const
    {
        const auto x = source.view();
        if (x.adjoint == nullptr) return;
        for (std::size_t r = 0; r < node.shape().rows; ++r) {
            const T* dy = node.adjoint.data() + r * out.size();
            T* dx = x.adjoint + r * x.row_stride;
            detail::for_each_block_pixel(in, out, factor, [&](std::size_t to, std::size_t from) { dx[to] += dy[from]; });
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        source.for_each_source(f);
    }
};

// The geometry after f x f average pooling.
inline ImageShape avg_pool2d_shape(ImageShape in, std::size_t factor)
{
    check_image_shape("avg_pool2d", in);
    if (factor == 0 || in.height < factor || in.width < factor)
        throw_shape_error("avg_pool2d", "a ", factor, "x", factor, " window does not fit the image ", to_string(in));
    return {in.channels, in.height / factor, in.width / factor};
}

template <Expr E>
auto avg_pool2d(E&& x, ImageShape in, std::size_t factor)
{
    const ImageShape out = avg_pool2d_shape(in, factor);
    auto source = bind_operand(std::forward<E>(x));
    return make_var(AvgPool2d<decltype(source)>{source, in, out, factor});
}

template <Expr E>
auto upsample_nearest(E&& x, ImageShape in, std::size_t factor)
{
    check_image_shape("upsample_nearest", in);
    if (factor == 0) throw_shape_error("upsample_nearest", "the factor must be positive");
    const ImageShape out{in.channels, in.height * factor, in.width * factor};
    auto source = bind_operand(std::forward<E>(x));
    return make_var(UpsampleNearest<decltype(source)>{source, in, out, factor});
}

}  // namespace bijou
