// Downsampling to channels, the step between the levels of a multi-scale flow. Each wraps the blocks
// that work at the new resolution, so they are built with its geometry (dsl/image_scope.hpp):
//
//   squeeze(spec)   space-to-depth by 2x2 blocks (RealNVP's squeeze; PyTorch's pixel_unshuffle order:
//                   channel 4c + 2i + j holds pixel (2h + i, 2w + j) of channel c), a permutation of the
//                   features: log-det 0, inverted by the inverse permutation
//   haar(spec)      Haar wavelet downsampling (FrEIA's HaarDownsampling): per 2x2 block of a channel the
//                   average and the horizontal, vertical and diagonal differences, scaled by 1/2 so the
//                   map is orthogonal (log-det 0) and its own inverse; channels ordered by wavelet
//                   (all averages first, then the three details), so a halves split or a factor-out
//                   keeps the coarse image
//
// C x H x W becomes 4C x H/2 x W/2, which `spec` then transforms; the whole stays one D -> D bijection
// whose output is in the squeezed layout (nothing is unsqueezed: a flow's latent is that layout).
#pragma once

#include <memory>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/chain.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/dsl/mapping.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/engine/kernels/space_to_depth.hpp>

namespace bijou::dsl {

// Space-to-depth with the channels ordered by the position within the 2x2 block first: output channel
// k C + c, k = 2 i + j, holds pixel (2h + i, 2w + j) of channel c. order[j] = the input column of output
// column j.
inline std::vector<std::size_t> wavelet_order(ImageShape in)
{
    const ImageShape out = space_to_depth_shape(in, 2);
    std::vector<std::size_t> order(in.size());
    for (std::size_t k = 0; k < 4; ++k)
        for (std::size_t c = 0; c < in.channels; ++c)
            for (std::size_t h = 0; h < out.height; ++h)
                for (std::size_t w = 0; w < out.width; ++w)
                    order[out.index(k * in.channels + c, h, w)] = in.index(c, 2 * h + k / 2, 2 * w + k % 2);
    return order;
}

// The Haar transform of every 2x2 block: an orthogonal, symmetric linear map (its own inverse).
template <class T>
class HaarDownsampling {
public:
    using value_type = T;

    explicit HaarDownsampling(ImageShape in)
        : in_(in), quarter_(in.size() / 4),
          gather_(std::make_shared<const std::vector<std::size_t>>(wavelet_order(in)))
    {
        std::vector<std::size_t> inverse(gather_->size());
        for (std::size_t j = 0; j < inverse.size(); ++j) inverse[(*gather_)[j]] = j;
        scatter_ = std::make_shared<const std::vector<std::size_t>>(std::move(inverse));
    }

    std::size_t dim() const { return in_.size(); }
    std::vector<Param<T>> parameters() const { return {}; }
    ImageShape input_shape() const { return in_; }

    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        return Transformed{mix(permute_columns(x, gather_)), Zero{}};
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        return Transformed{permute_columns(mix(y), scatter_), Zero{}};
    }

private:
    // [a, b, c, d] -> [a + b + c + d, a - b + c - d, a + b - c - d, a - b - c + d] / 2 on the four
    // quarters of the columns (the four pixels of each block).
    template <class V>
    auto mix(const V& v) const
    {
        auto source = bind_operand(v);
        const std::size_t n = quarter_;
        auto a = source.slice(0, n), b = source.slice(n, 2 * n), c = source.slice(2 * n, 3 * n),
             d = source.slice(3 * n, 4 * n);
        const T half(0.5);
        return concat((a + b + c + d) * half, (a - b + c - d) * half, (a + b - c - d) * half, (a - b - c + d) * half);
    }

    ImageShape in_;
    std::size_t quarter_;
    std::shared_ptr<const std::vector<std::size_t>> gather_, scatter_;
};

namespace detail {
enum class Downsampling { squeeze, haar };

template <Downsampling Kind, class Spec>
struct DownsamplingSpec {
    Spec spec;

    static constexpr const char* label = Kind == Downsampling::squeeze ? "squeeze" : "haar";
    static constexpr Mapping mapping() { return mapping_of<Spec>(); }

    template <class T, bool Conditional>
    Chain<T> build(std::size_t dim, BuildContext& context) const
    {
        const ImageShape in = require_image(context, label, dim);
        const ImageShape out = space_to_depth_shape(in, 2);
        std::vector<typename Chain<T>::Element> blocks;
        if constexpr (Kind == Downsampling::squeeze)
            append_to_chain<Conditional>(blocks, Permutation<T>(space_to_depth_order(in, 2)), context.condition_dim);
        else
            append_to_chain<Conditional>(blocks, HaarDownsampling<T>(in), context.condition_dim);
        ImageScope scope(context, out);
        append_to_chain<Conditional>(blocks, build_block<T, Conditional>(spec, dim, context), context.condition_dim);
        return Chain<T>(std::move(blocks), context.condition_dim);
    }
    template <class T>
    Chain<T> build(std::size_t dim, BuildContext& context) const
    {
        return context.condition_dim > 0 ? build<T, true>(dim, context) : build<T, false>(dim, context);
    }
};
}  // namespace detail

template <class Spec>
detail::DownsamplingSpec<detail::Downsampling::squeeze, Spec> squeeze(Spec spec)
{
    return {std::move(spec)};
}

template <class Spec>
detail::DownsamplingSpec<detail::Downsampling::haar, Spec> haar(Spec spec)
{
    return {std::move(spec)};
}

}  // namespace bijou::dsl
