// ActNorm (Kingma & Dhariwal 2018, Glow) and the global affine layer: per-feature affine maps with
// learned parameters, written as elementwise layers (dsl/elementwise_layer.hpp), so their inverse and
// log-det are derived.
//
// actnorm():        y = (x - shift) * exp(-log_scale),      log|det J| = -sum_j log_scale_j per row
//   Data-dependent initialisation (dsl::initialize, which Flow::initialize calls on a first batch):
//   shift = the batch mean and log_scale = log sqrt(sd^2 + epsilon^2) per feature, so that the block's
//   output on that batch has zero mean and unit variance per feature (to a relative epsilon^2 / 2 sd^2;
//   sd is the population standard deviation, 1/B). Before initialisation it is the identity.
//   Inside inverse(...) the block is initialised so that its inverse pass normalises instead.
// channel_actnorm(): Glow's ActNorm on image rows (dsl/image_scope.hpp): one shift and log-scale per
//   channel, shared by its H W pixels, so log|det J| = -H W sum_c log_scale_c; initialised from the
//   moments of each channel over the batch and the pixels.
//
// global_affine():  y = x * exp(soft_clamp(log_scale)) + shift,  log|det J| = sum_j soft_clamp(log_scale_j)
//   The identity at construction; the soft clamp (engine/ops/soft_clamp.hpp) bounds the scale to
//   [e^-bound, e^bound]. Used as the last stage of the all-in-one block (Ardizzone et al.'s FrEIA).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <bijou/dsl/elementwise_layer.hpp>
#include <bijou/flows/transforms.hpp>

namespace bijou::flows {

namespace detail {
inline constexpr auto actnorm_transform =
    dsl::elementwise([](auto x, auto shift, auto log_scale) { return (x - shift) * exp(-log_scale); });

// Mean and population standard deviation of each group of `pixels` consecutive columns (a feature
// when pixels = 1, an image channel otherwise) over a batch, accumulated in double.
template <class T>
void column_moments(const Tensor<T>& batch, std::vector<double>& mean, std::vector<double>& sd, std::size_t pixels = 1)
{
    const std::size_t rows = batch.shape()[0], cols = batch.shape()[1], groups = cols / pixels;
    const double count = double(rows * pixels);
    mean.assign(groups, 0.0);
    sd.assign(groups, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) mean[j / pixels] += double(batch(r, j));
    for (auto& m : mean) m /= count;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) {
            const double d = double(batch(r, j)) - mean[j / pixels];
            sd[j / pixels] += d * d;
        }
    for (auto& s : sd) s = std::sqrt(s / count);
}
}  // namespace detail

template <class T, bool PerChannel = false>
class ActNorm {
public:
    using value_type = T;
    using Layer = dsl::ElementwiseLayer<T, std::remove_cvref_t<decltype(detail::actnorm_transform)>, 2, PerChannel>;

    ActNorm(Layer layer, double epsilon) : layer_(std::move(layer)), epsilon_(epsilon) {}

    std::size_t dim() const { return layer_.dim(); }
    std::vector<Param<T>> parameters() const { return layer_.parameters(); }
    const Param<T>& shift() const { return layer_.parameter(0); }
    const Param<T>& log_scale() const { return layer_.parameter(1); }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        return layer_.forward(x, c);
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        return layer_.inverse(y, c);
    }

    // y = (x - mean) / sqrt(sd^2 + epsilon^2): zero mean and unit variance on `batch`.
    void data_init(const Tensor<T>& batch) const
    {
        std::vector<double> mean, sd;
        moments(batch, mean, sd);
        for (std::size_t j = 0; j < mean.size(); ++j) {
            shift().value()(0, j) = T(mean[j]);
            log_scale().value()(0, j) = T(log_sd(sd[j]));
        }
    }

    // The inverse pass x = y * exp(log_scale) + shift normalises `batch` (of y):
    // log_scale = -log sqrt(sd^2 + epsilon^2), shift = -mean * exp(log_scale).
    void data_init_inverse(const Tensor<T>& batch) const
    {
        std::vector<double> mean, sd;
        moments(batch, mean, sd);
        for (std::size_t j = 0; j < mean.size(); ++j) {
            const double log_scale_j = -log_sd(sd[j]);
            log_scale().value()(0, j) = T(log_scale_j);
            shift().value()(0, j) = T(-mean[j] * std::exp(log_scale_j));
        }
    }

private:
    double log_sd(double sd) const { return 0.5 * std::log(sd * sd + epsilon_ * epsilon_); }

    void moments(const Tensor<T>& batch, std::vector<double>& mean, std::vector<double>& sd) const
    {
        if (batch.shape()[1] != dim() || batch.shape()[0] * layer_.pixels() < 2)
            throw_shape_error("actnorm", "data-dependent initialisation needs a batch of at least 2 values per ",
                              PerChannel ? "channel" : "feature", " and ", dim(), " columns, got ", shape_of(batch));
        detail::column_moments(batch, mean, sd, layer_.pixels());
    }

    Layer layer_;
    double epsilon_;
};

template <bool PerChannel = false>
struct ActNormSpec {
    double epsilon = 1e-6;

    template <class T>
    ActNorm<T, PerChannel> build(std::size_t dim, dsl::BuildContext& context) const
    {
        auto spec = dsl::elementwise_layer(detail::actnorm_transform, {{"shift", 0.0}, {"log_scale", 0.0}})
                        .named(PerChannel ? "channel_actnorm" : "actnorm");
        if constexpr (PerChannel)
            return ActNorm<T, true>(spec.per_channel().template build<T>(dim, context), epsilon);
        else
            return ActNorm<T>(spec.template build<T>(dim, context), epsilon);
    }
};

// actnorm(epsilon): at initialisation a feature's standard deviation is taken as sqrt(sd^2 + epsilon^2),
// so that a constant feature gets a large but finite scale (1 / epsilon) rather than an infinite one,
// while any feature with sd >> epsilon is standardised exactly.
inline ActNormSpec<> actnorm(double epsilon = 1e-6)
{
    if (!(epsilon > 0)) throw_usage_error("actnorm", "epsilon must be positive, got ", epsilon);
    return {epsilon};
}

// channel_actnorm(epsilon): the same per image channel; build it inside dsl::image(...).
inline ActNormSpec<true> channel_actnorm(double epsilon = 1e-6)
{
    if (!(epsilon > 0)) throw_usage_error("channel_actnorm", "epsilon must be positive, got ", epsilon);
    return {epsilon};
}

// global_affine(clamp): parameters "log_scale" and "shift", both zero at construction (the identity).
inline auto global_affine(SoftClamp clamp = {})
{
    return dsl::elementwise_layer(affine_transform(clamp), {{"log_scale", 0.0}, {"shift", 0.0}}).named("global_affine");
}

}  // namespace bijou::flows
