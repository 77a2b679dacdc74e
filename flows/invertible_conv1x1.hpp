// invertible_conv1x1(): Glow's invertible 1x1 convolution (Kingma & Dhariwal 2018) on image rows
// (dsl/image_scope.hpp): the same learned invertible C x C matrix W mixes the channels of every pixel,
// y[:, p] = W x[:, p], with W LU-parametrised as in lu_linear() (W = P L (U + diag(sign exp(log_scale))),
// flows/lu_linear.hpp), so that
//
//   log|det J| = H W sum_c log_scale_c          (the same for every row)
//
// Both directions are 1x1 convolutions (a GEMM per image, engine/kernels/conv2d.hpp); the inverse's
// weight is built from M^-1 by the engine's matrix_inverse kernel, so the inverse is differentiable in
// the parameters too. Initialised to a random rotation (log-det 0), drawn from the build context.
#pragma once

#include <string>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/flows/lu_linear.hpp>

namespace bijou::flows {

template <class T>
class InvertibleConv1x1 {
public:
    using value_type = T;

    InvertibleConv1x1(ImageShape image, LULinear<T> channels) : image_(image), channels_(std::move(channels))
    {
        if (channels_.dim() != image_.channels)
            throw_shape_error("invertible_conv1x1", "a ", channels_.dim(), "x", channels_.dim(),
                              " channel matrix for the image ", to_string(image_));
    }

    std::size_t dim() const { return image_.size(); }
    std::vector<Param<T>> parameters() const { return channels_.parameters(); }
    ImageShape image() const { return image_; }
    const LULinear<T>& channel_map() const { return channels_; }
    Tensor<T> weight() const { return channels_.weight(); }  // W, C x C

    // The convolution's weight (Ci x Co) is W^T = (P M)^T: the columns of M^T in P's output order.
    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        auto weight = permute_columns(transpose(channels_.factors()), channels_.to_output());
        auto y = conv2d(x, weight, Conv2dOptions{image_, 1});
        return dsl::Transformed{y, sum_columns_like(repeat_columns(channels_.log_scale(), image_.pixels()), x)};
    }

    // x[:, p] = W^-1 y[:, p]: the weight is W^-T = (M^-1 P^T)^T, the columns of M^-1 in P's output order,
    // transposed.
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        auto weight = transpose(permute_columns(matrix_inverse(channels_.factors()), channels_.to_output()));
        auto x = conv2d(y, weight, Conv2dOptions{image_, 1});
        return dsl::Transformed{x, sum_columns_like(-repeat_columns(channels_.log_scale(), image_.pixels()), y)};
    }

private:
    ImageShape image_;
    LULinear<T> channels_;
};

struct InvertibleConv1x1Spec {
    template <class T>
    InvertibleConv1x1<T> build(std::size_t dim, dsl::BuildContext& context) const
    {
        const ImageShape image = dsl::require_image(context, "invertible_conv1x1", dim);
        return InvertibleConv1x1<T>(image, LULinearSpec{"invertible_conv1x1"}.template build<T>(image.channels, context));
    }
};

inline InvertibleConv1x1Spec invertible_conv1x1() { return {}; }

}  // namespace bijou::flows
