// factor_out(spec): the multi-scale step of RealNVP and Glow. Of an image C x H x W, the first
// floor(C/2) channels go straight to the output (the latent: they are not transformed any further)
// and `spec` transforms the remaining channels, built with their geometry (dsl/image_scope.hpp):
//
//   y = [x_a, f(x_b)],   log|det J| = log|det f'(x_b)|,   inverse: x = [y_a, f^-1(y_b)]
//
// Channel-major rows make x_a and x_b two contiguous column ranges. The result is still one D -> D
// bijection, so a multi-scale flow is one block whose inverse the DSL derives:
//
//   auto level = [](auto... rest) { return squeeze(seq(repeat(8, step), rest...)); };
//   auto glow = image({1, 28, 28}, level(factor_out(level())));      // two levels
#pragma once

#include <utility>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/data_init.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/dsl/mapping.hpp>

namespace bijou::dsl {

template <class T, class Inner>
class FactorOut {
public:
    using value_type = T;

    FactorOut(std::size_t dim, std::size_t kept, Inner inner) : dim_(dim), kept_(kept), inner_(std::move(inner))
    {
        if (kept_ == 0 || kept_ + inner_.dim() != dim_)
            throw_shape_error("factor_out", "of ", dim_, " features, ", kept_, " factored out and ", inner_.dim(),
                              " transformed do not add up");
    }

    std::size_t dim() const { return dim_; }
    std::size_t factored_out() const { return kept_; }  // the columns [0, kept) that leave unchanged
    const Inner& inner() const { return inner_; }
    std::vector<Param<T>> parameters() const { return inner_.parameters(); }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        auto source = bind_operand(x);
        auto [y_b, log_det] = inner_.forward(source.slice(kept_, dim_), c);
        return Transformed{concat(source.slice(0, kept_), y_b), bind_log_det(log_det)};
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        auto source = bind_operand(y);
        auto [x_b, log_det] = inner_.inverse(source.slice(kept_, dim_), c);
        return Transformed{concat(source.slice(0, kept_), x_b), bind_log_det(log_det)};
    }

    // Data-dependent initialisation (dsl/data_init.hpp) reaches the blocks inside, on their columns.
    template <class Condition>
    Tensor<T> initialize_walk(const Tensor<T>& batch, const Condition& condition, bool inverted) const
    {
        const std::size_t rows = batch.shape()[0];
        Tensor<T> rest = Tensor<T>::from_shape({rows, dim_ - kept_});
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = kept_; j < dim_; ++j) rest(r, j - kept_) = batch(r, j);
        const Tensor<T> out_b = inverted ? detail::initialize_inverse_of(inner_, rest, condition)
                                         : detail::initialize_block(inner_, rest, condition);
        Tensor<T> out = batch;
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = kept_; j < dim_; ++j) out(r, j) = out_b(r, j - kept_);
        return out;
    }

private:
    std::size_t dim_, kept_;
    Inner inner_;
};

template <class Spec>
struct FactorOutSpec {
    Spec spec;

    static constexpr const char* label = "factor_out";
    static constexpr Mapping mapping()
    {
        constexpr Mapping m = mapping_of<Spec>();
        static_assert(m.preserves || m.domain == m.codomain,
                      "bijou dsl: factor_out: the blocks inside must map their domain onto the same interval, since "
                      "the factored-out channels keep theirs");
        return m;
    }

    template <class T, bool Conditional>
    auto build(std::size_t dim, BuildContext& context) const
    {
        return make<T>(dim, context, [&](std::size_t rest) { return build_block<T, Conditional>(spec, rest, context); });
    }
    // Without the condition kind as an argument, the inner spec decides from context.condition_dim.
    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        return make<T>(dim, context, [&](std::size_t rest) { return spec.template build<T>(rest, context); });
    }

private:
    template <class T, class BuildInner>
    auto make(std::size_t dim, BuildContext& context, BuildInner&& build_inner) const
    {
        const ImageShape in = require_image(context, label, dim);
        if (in.channels < 2)
            throw_shape_error("factor_out", "needs at least 2 channels to factor half of them out, got the image ",
                              to_string(in));
        const ImageShape rest{in.channels - in.channels / 2, in.height, in.width};
        ImageScope scope(context, rest);
        auto inner = build_inner(rest.size());
        return FactorOut<T, decltype(inner)>(dim, (in.channels / 2) * in.pixels(), std::move(inner));
    }
};

template <class Spec>
FactorOutSpec<Spec> factor_out(Spec spec)
{
    static_cast<void>(FactorOutSpec<Spec>::mapping());
    return {std::move(spec)};
}

}  // namespace bijou::dsl
