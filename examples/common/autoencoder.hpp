// Autoencoder: an MLP encoder E: [0, 16]^64 -> R^d and decoder D: R^d -> (0, 16)^64 for the 8x8 digits,
// the "data representation" of the interpretation experiments (invariances, disentangle), whose INNs
// model the latent z = E(x) and whose decoder turns INN samples back into images.
//
//   examples::Autoencoder<float> autoencoder({.latent = 12, .hidden = 128, .seed = 1});
//   auto report = autoencoder.train(train.images, {.steps = 4000, .batch_size = 128, .lr = 2e-3});
//   Tensor<float> z = autoencoder.encode(test.images);       // n x 12
//   Tensor<float> x = autoencoder.decode(z);                 // n x 64, in (0, 16)
//
// Images are on the data's own scale, pixel values 0..16 (Digits::images), as for DigitClassifier
// (digit_classifier.hpp), so a decoded image goes straight into the classifier. Inside, the networks see
// and produce u = v / 16 in [0, 1].
//
// Model.  E = 64 -> H -> H -> d and D = d -> H -> H -> 64, ELU hidden units (smooth, so that decoding a
//         latent slightly off the data's latents still gives a digit-like image), D's output squashed by a
//         sigmoid into (0, 1) and scaled by 16.
// Loss.   A regularised deterministic autoencoder (Ghosh et al. 2020, "From variational to deterministic
//         autoencoders"): with u = x / 16 and eps ~ N(0, I) drawn afresh for every minibatch,
//           L = mean_i ||D(E(x_i) + sigma eps_i) / 16 - u_i||^2 / 64  +  lambda mean_i ||E(x_i)||^2 / d.
//         The noise makes D smooth on a neighbourhood of each code, and the penalty keeps the codes on a
//         fixed scale (without it E could scale its codes up until the noise no longer mattered). Both
//         make the latent distribution one a small flow can model and whose samples D decodes sensibly.
// Training. Adam on shuffled minibatches, learning rate cosine-decayed to lr / 100. All buffers are bound
//         before the first step; a step copies its rows and noise into the bound inputs and allocates
//         nothing.
//
// encode() and decode() build a program per call (they serve evaluation, not the training loop), run
// through BoundProgram (engine/bound_program.hpp) without gradient buffers.
// encoder(x) / decoder(z) return engine expressions, for programs that chain the autoencoder with
// other models (a gradient through D, say).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <bijou/engine/bound_program.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/mlp.hpp>
#include <bijou/engine/optim/schedule.hpp>
#include <bijou/engine/optim/train.hpp>
#include <bijou/examples/common/random.hpp>

namespace bijou::examples {

struct AutoencoderOptions {
    std::size_t pixels = 64;       // input width (8 x 8 digits)
    double max_value = 16;         // pixel values lie in [0, max_value]
    std::size_t latent = 12;       // d
    std::size_t hidden = 128;      // H, both hidden layers of each network
    double latent_noise = 0.1;     // sigma
    double latent_penalty = 0.01;  // lambda
    std::uint64_t seed = 0;        // initial weights
};

struct AutoencoderTraining {
    std::int64_t steps = 4000;
    std::size_t batch_size = 128;  // capped at the number of training images
    double lr = 2e-3;
    std::uint64_t seed = 0;  // minibatch order and latent noise
};

struct AutoencoderReport {
    std::vector<double> losses;  // the minibatch loss of every step
    double median_step_ms = 0;
};

template <class T>
class Autoencoder {
public:
    using value_type = T;

    explicit Autoencoder(const AutoencoderOptions& options = {})
        : options_(checked(options)),
          rng_(options.seed),
          encoder_(options.pixels, hidden(options.hidden, options.hidden), options.latent,
                   MLPOptions<activation::elu>{.rng = &rng_, .name = "encoder"}),
          decoder_(options.latent, hidden(options.hidden, options.hidden), options.pixels,
                   MLPOptions<activation::elu>{.rng = &rng_, .name = "decoder"})
    {
    }
    // A copy would share the parameters (a Param is a handle) but train and report as if it owned them.
    Autoencoder(const Autoencoder&) = delete;
    Autoencoder& operator=(const Autoencoder&) = delete;

    const AutoencoderOptions& options() const { return options_; }
    std::size_t pixels() const { return options_.pixels; }
    std::size_t latent_dim() const { return options_.latent; }

    // E(x) and D(z) as engine expressions, on the 0..max_value scale.
    template <Expr E>
    auto encoder(const E& x) const
    {
        return encoder_(x * T(1 / options_.max_value));
    }
    template <Expr E>
    auto decoder(const E& z) const
    {
        return T(options_.max_value) * unit_decoder(z);
    }

    std::vector<Param<T>> parameters() const
    {
        auto all = encoder_.parameters();
        const auto more = decoder_.parameters();
        all.insert(all.end(), more.begin(), more.end());
        return all;
    }

    // The training loss L above over a batch x with noise eps (both inputs, batch x pixels / batch x d).
    auto loss_program(const Input<T>& x, const Input<T>& noise) const
    {
        const auto code = let(encoder(x));
        const T sigma = T(options_.latent_noise), lambda = T(options_.latent_penalty);
        const T per_pixel = T(1) / T(options_.pixels), per_latent = T(1) / T(options_.latent);
        return Program(mean(sum(square(unit_decoder(code + sigma * noise) - x * T(1 / options_.max_value)), 1)) *
                           per_pixel +
                       mean(sum(square(code), 1)) * (lambda * per_latent));
    }

    Tensor<T> encode(const Tensor<T>& images) const;
    Tensor<T> decode(const Tensor<T>& latents) const;
    // Mean squared reconstruction error per pixel, ||D(E(x)) - x||^2 / 64, on the 0..max_value scale.
    double reconstruction_mse(const Tensor<T>& images) const;
    // Trains both networks on the loss above (defined out of the class, like encode and decode, so that
    // a program linking the compiled kit, BIJOU_EXPERIMENT_KIT_COMPILED, uses the kit's copy).
    AutoencoderReport train(const Tensor<T>& images, const AutoencoderTraining& training);

private:
    // D(z) / 16: the decoder on the [0, 1] scale.
    template <Expr E>
    auto unit_decoder(const E& z) const
    {
        return sigmoid(decoder_(z));
    }

    static AutoencoderOptions checked(const AutoencoderOptions& o)
    {
        if (o.pixels == 0 || o.latent == 0 || o.hidden == 0)
            throw_shape_error("Autoencoder", "needs pixels, latent and hidden widths of at least 1, got ", o.pixels,
                              " -> ", o.hidden, " -> ", o.latent);
        if (!(o.max_value > 0)) throw_usage_error("Autoencoder", "max_value must be > 0, got ", o.max_value);
        if (!(o.latent_noise >= 0) || !(o.latent_penalty >= 0))
            throw_usage_error("Autoencoder", "latent_noise and latent_penalty must be >= 0, got ", o.latent_noise,
                              " and ", o.latent_penalty);
        return o;
    }

    static void check(const Tensor<T>& data, std::size_t cols, const char* what, const char* kind)
    {
        if (data.shape()[1] != cols || data.shape()[0] == 0)
            throw_shape_error(std::string("Autoencoder::") + what, "expected ", kind, " of shape n x ", cols,
                              " with n >= 1, got ", shape_of(data));
    }


    AutoencoderOptions options_;
    std::mt19937_64 rng_;  // draws the initial weights, in the constructor only
    MLP<T, 2, activation::elu> encoder_;
    MLP<T, 2, activation::elu> decoder_;
};

template <class T>
Tensor<T> Autoencoder<T>::encode(const Tensor<T>& images) const
{
    check(images, options_.pixels, "encode", "images");
    Input<T> x(options_.pixels, "images");
    return BoundProgram(Program(encoder(x))).run(x, images).value();
}

template <class T>
Tensor<T> Autoencoder<T>::decode(const Tensor<T>& latents) const
{
    check(latents, options_.latent, "decode", "latents");
    Input<T> z(options_.latent, "latents");
    return BoundProgram(Program(decoder(z))).run(z, latents).value();
}

template <class T>
double Autoencoder<T>::reconstruction_mse(const Tensor<T>& images) const
{
    const Tensor<T> back = decode(encode(images));
    double total = 0;
    for (std::size_t i = 0; i < back.size(); ++i) {
        const double d = double(back.data()[i]) - double(images.data()[i]);
        total += d * d;
    }
    return total / double(back.size());
}

template <class T>
AutoencoderReport Autoencoder<T>::train(const Tensor<T>& images, const AutoencoderTraining& training)
{
    check(images, options_.pixels, "train", "images");
    const std::size_t n = images.shape()[0];
    if (n == 0 || training.steps <= 0 || training.batch_size == 0 || !(training.lr > 0))
        throw_usage_error("Autoencoder::train", "needs images, steps > 0, batch_size > 0 and lr > 0; got ", n,
                          " images, ", training.steps, " steps, batch ", training.batch_size, ", lr ", training.lr);
    // A step of the one training loop (engine/optim/train.hpp): its rows of images, and fresh latent
    // noise drawn by (seed, step).
    struct Objective {
        Autoencoder& model;
        const Tensor<T>& images;
        std::uint64_t seed;
        Input<T> x, noise;
        decltype(std::declval<Autoencoder&>().loss_program(std::declval<const Input<T>&>(),
                                                           std::declval<const Input<T>&>())) program;

        void bind(std::size_t batch) { program.bind(batch); }
        void load(const std::size_t* rows, std::size_t count, std::int64_t step)
        {
            const std::size_t pixels = images.shape()[1];
            for (std::size_t r = 0; r < count; ++r)
                std::copy_n(images.data() + rows[r] * pixels, pixels, x.value().data() + r * pixels);
            std::mt19937_64 rng(bijou::detail::splitmix64(bijou::detail::splitmix64(seed) ^ std::uint64_t(step)));
            for (T& e : noise.value()) e = T(random::normal(rng));
        }
        double forward(std::int64_t)
        {
            program.forward();
            return double(program.value()(0, 0));
        }
        void backward(std::int64_t) { program.backward(); }
    };
    Input<T> x(options_.pixels, "images"), noise(options_.latent, "latent_noise");
    Objective objective{*this, images, training.seed, x, noise, loss_program(x, noise)};
    const FitReport run = bijou::train(parameters(), objective, n,
                                       FitOptions<T>{.batch_size = training.batch_size,
                                                     .steps = training.steps,
                                                     .lr = training.lr,
                                                     .schedule = CosineDecay{.base = training.lr,
                                                                             .min_lr = training.lr / 100,
                                                                             .total_steps = training.steps},
                                                     .seed = training.seed});
    AutoencoderReport report;
    report.losses.reserve(run.losses.size());
    for (const auto& point : run.losses) report.losses.push_back(point.loss);
    report.median_step_ms = run.median_step_ms;
    return report;
}

#ifdef BIJOU_EXPERIMENT_KIT_COMPILED  // compiled once, in the kit (autoencoder.cpp)
extern template class Autoencoder<float>;
#endif

}  // namespace bijou::examples
