// conv_conditioner(hidden, kernel): the convolutional subnet of Glow's and FrEIA's image couplings, a
// conditioner spec usable wherever dsl::conditioner(hidden(...)) is (dsl/coupling.hpp):
//
//   conv k x k (Ca [+ K] -> hidden) - ReLU - conv 1x1 (hidden -> hidden) - ReLU - conv k x k (hidden -> P)
//
// Ca is the number of channels the coupling leaves untouched, P the number of parameter channels its
// transform needs (affine: 2 per transformed channel, laid out as the transform reads them: all log-
// scales, then all shifts, each channel-major like the image). The last layer starts at zero, so the
// coupling starts as the identity. "Same" padding and stride 1 keep the image size.
//
// Conditional flows: the condition vector (K features, or a condition network's output) is broadcast
// over the pixels as K constant channels appended to the input image, as in the cINN papers.
//
// The image geometry comes from the build context (dsl/image_scope.hpp): build the coupling inside
// dsl::image(...).
#pragma once

#include <random>
#include <string>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/engine/kernels/repeat_columns.hpp>
#include <bijou/engine/nn/conv2d.hpp>

namespace bijou::dsl {

template <class T>
class ConvConditioner {
public:
    using value_type = T;

    // in_channels image channels of h x w pixels plus condition_features broadcast as channels.
    ConvConditioner(ImageShape image, std::size_t condition_features, std::size_t hidden, std::size_t kernel,
                    std::size_t out_channels, std::mt19937_64& rng, const std::string& name)
        : image_(image), condition_features_(condition_features),
          first_({image.channels + condition_features, image.height, image.width}, hidden, kernel, rng,
                 {.name = name + ".0"}),
          middle_({hidden, image.height, image.width}, hidden, 1, rng, {.name = name + ".1"}),
          last_({hidden, image.height, image.width}, out_channels, kernel, rng,
                {.init = Init::zeros(), .name = name + ".2"})
    {
    }

    template <Expr E>
    auto operator()(const E& input) const
    {
        return last_(relu(middle_(relu(first_(with_condition_channels(input))))));
    }

    std::vector<Param<T>> parameters() const
    {
        std::vector<Param<T>> all;
        for (const auto* layer : {&first_, &middle_, &last_})
            for (const auto& p : layer->parameters()) all.push_back(p);
        return all;
    }

    ImageShape input_image() const { return image_; }
    std::size_t out_channels() const { return last_.output_shape().channels; }

private:
    // [image, c] (the coupling's conditioner input) -> [image, c broadcast over the pixels].
    template <class E>
    auto with_condition_channels(const E& input) const
    {
        return repeat_trailing_columns(input, image_.size(), image_.pixels());
    }

    ImageShape image_;
    std::size_t condition_features_;
    Conv2dLayer<T> first_, middle_, last_;
};

struct ConvConditionerSpec {
    std::size_t hidden = 64;
    std::size_t kernel = 3;
    static constexpr bool reads_image = true;  // a coupling must give it whole channels (dsl/coupling.hpp)

    // in = untouched image features + condition features, out = the transform's parameter columns.
    template <class T>
    ConvConditioner<T> build(std::size_t in, std::size_t out, BuildContext& context, const std::string& name) const
    {
        if (!context.image)
            throw_usage_error("conv_conditioner", "needs the image geometry of its coupling: build the flow inside "
                                                  "dsl::image({C, H, W}, ...)");
        const std::size_t pixels = context.image->pixels(), condition = context.condition_dim;
        if (in < condition || (in - condition) % pixels != 0 || out % pixels != 0)
            throw_shape_error("conv_conditioner", "the coupling's ", in - condition, " untouched features and ", out,
                              " parameter columns are not whole channels of the ", context.image->height, "x",
                              context.image->width, " image ", to_string(*context.image),
                              " (split images by channels: dsl::halves)");
        const ImageShape untouched{(in - condition) / pixels, context.image->height, context.image->width};
        return ConvConditioner<T>(untouched, condition, hidden, kernel, out / pixels, context.rng, name);
    }
};

inline ConvConditionerSpec conv_conditioner(std::size_t hidden = 64, std::size_t kernel = 3)
{
    if (hidden == 0) throw_usage_error("conv_conditioner", "needs at least one hidden channel");
    if (kernel % 2 == 0) throw_usage_error("conv_conditioner", "the kernel size must be odd (\"same\" padding), got ", kernel);
    return {hidden, kernel};
}

}  // namespace bijou::dsl
