// image(geometry, spec): declares that each row is an image C x H x W (engine/image.hpp) for the blocks
// of `spec`, which read it from the build context: squeezes, factor-outs, per-channel ActNorm, the
// invertible 1x1 convolution and convolutional conditioners.
//
//   auto glow = dsl::image({1, 28, 28}, dsl::squeeze(seq(repeat(8, step), dsl::factor_out(...))));
//
// The geometry is scoped: a combinator that changes it (squeeze: C x H x W -> 4C x H/2 x W/2; factor_out:
// the channels that continue) sets it for the blocks it wraps and restores it afterwards, so the build
// order of a seq (last to first) does not matter.
#pragma once

#include <string_view>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/mapping.hpp>
#include <bijou/engine/image.hpp>

namespace bijou::dsl {

// The image geometry of the block being built; throws usage_error naming the block outside image(...).
inline ImageShape require_image(const BuildContext& context, std::string_view block, std::size_t dim)
{
    if (!context.image)
        throw_usage_error(block, "needs to know the image geometry of its rows: build it inside "
                                 "dsl::image({C, H, W}, ...)");
    if (context.image->size() != dim)
        throw_shape_error(block, "is built for ", dim, " features, but the image geometry ", to_string(*context.image),
                          " has ", context.image->size());
    return *context.image;
}

// Sets context.image for the duration of a build and restores the previous geometry.
class ImageScope {
public:
    ImageScope(BuildContext& context, ImageShape shape) : context_(context), saved_(context.image)
    {
        context_.image = shape;
    }
    ~ImageScope() { context_.image = saved_; }
    ImageScope(const ImageScope&) = delete;
    ImageScope& operator=(const ImageScope&) = delete;

private:
    BuildContext& context_;
    std::optional<ImageShape> saved_;
};

template <class Spec>
struct ImageSpec {
    ImageShape shape;
    Spec spec;

    static constexpr const char* label = "image";
    static constexpr Mapping mapping() { return mapping_of<Spec>(); }

    template <class T, bool Conditional>
    auto build(std::size_t dim, BuildContext& context) const
    {
        check_image_shape("image", shape);
        check_image_row("image", shape, dim);
        ImageScope scope(context, shape);
        return build_block<T, Conditional>(spec, dim, context);
    }
    // Without the condition kind as an argument, the inner spec decides from context.condition_dim.
    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        check_image_shape("image", shape);
        check_image_row("image", shape, dim);
        ImageScope scope(context, shape);
        return spec.template build<T>(dim, context);
    }
};

template <class Spec>
ImageSpec<Spec> image(ImageShape shape, Spec spec)
{
    static_cast<void>(ImageSpec<Spec>::mapping());
    return {shape, std::move(spec)};
}

}  // namespace bijou::dsl
