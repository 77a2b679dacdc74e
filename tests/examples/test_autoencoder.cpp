// The digits autoencoder of examples/common/autoencoder.hpp: the gradient of its regularised training
// loss, that it learns to reconstruct held-out digits, reproducibility from its seeds, and shape errors.
#include <bijou/examples/common/autoencoder.hpp>
#include <bijou/examples/common/digits_data.hpp>

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xview.hpp>

#include "support/checks.hpp"

using namespace bijou;
using examples::Autoencoder;

namespace {

// Rows [first, first + count) of the digits, pixel values 0..16.
Tensor<double> digit_rows(const examples::Digits& digits, std::size_t first, std::size_t count)
{
    return xt::eval(xt::view(digits.images, xt::range(first, first + count), xt::all()));
}

double mean_image_mse(const Tensor<double>& train, const Tensor<double>& test)
{
    const xt::xtensor<double, 1> mean_image = xt::mean(train, {0});
    double total = 0;
    for (std::size_t i = 0; i < test.shape()[0]; ++i)
        for (std::size_t p = 0; p < test.shape()[1]; ++p) total += std::pow(test(i, p) - mean_image(p), 2);
    return total / double(test.size());
}

}  // namespace

TEST_CASE("Autoencoder training loss gradients match finite differences")
{
    // Small widths: every weight is checked. Noise and penalty non-zero, so both terms are exercised.
    Autoencoder<double> autoencoder(
        {.pixels = 6, .latent = 3, .hidden = 5, .latent_noise = 0.3, .latent_penalty = 0.5, .seed = 3});
    Input<double> x(6, "x"), noise(3, "noise");
    auto program = autoencoder.loss_program(x, noise);
    program.bind(4);
    std::mt19937 rng(11);
    x.set(testing::uniform(4, 6, 0, 16, rng));
    noise.set(testing::normal_batch(4, 3, 5));

    std::vector<testing::GradientTarget> targets;
    for (const auto& p : autoencoder.parameters()) targets.push_back(testing::target(p));
    REQUIRE(targets.size() == 12);  // 3 layers x (weight, bias) in each network
    const auto report = testing::check_gradients(program, targets, {.step = 1e-6});
    INFO("worst error " << report.worst_error << " at " << report.worst_where << ": analytic " << report.analytic
                        << ", numeric " << report.numeric);
    CHECK(report.worst_error < testing::gradient_tolerance);
}

TEST_CASE("Autoencoder reconstructs held-out digits far better than the mean image")
{
    const auto digits = examples::load_digits();
    const Tensor<double> train = digit_rows(digits, 0, 600), test = digit_rows(digits, 600, 200);
    Autoencoder<double> autoencoder({.latent = 8, .hidden = 64, .seed = 1});
    const double before = autoencoder.reconstruction_mse(test);
    const auto report = autoencoder.train(train, {.steps = 1500, .batch_size = 64, .lr = 3e-3, .seed = 2});
    REQUIRE(report.losses.size() == 1500);
    const double after = autoencoder.reconstruction_mse(test), baseline = mean_image_mse(train, test);
    INFO("test MSE before " << before << ", after " << after << ", mean-image baseline " << baseline);
    CHECK(after < 0.35 * baseline);
    CHECK(report.losses.back() < 0.5 * report.losses.front());

    // Codes live on the scale the latent penalty holds them to, and decode into (0, 16).
    const Tensor<double> codes = autoencoder.encode(test);
    REQUIRE(codes.shape()[1] == 8);
    CHECK(xt::mean(xt::square(codes))() < 10.0);
    const Tensor<double> images = autoencoder.decode(codes);
    CHECK(xt::amin(images)() > 0.0);
    CHECK(xt::amax(images)() < 16.0);
}

TEST_CASE("Autoencoder training is reproducible from its seeds")
{
    const auto digits = examples::load_digits();
    const Tensor<double> train = digit_rows(digits, 0, 100);
    Autoencoder<double> a({.latent = 4, .hidden = 16, .seed = 5}), b({.latent = 4, .hidden = 16, .seed = 5});
    const auto ra = a.train(train, {.steps = 30, .batch_size = 32, .seed = 9});
    const auto rb = b.train(train, {.steps = 30, .batch_size = 32, .seed = 9});
    CHECK(ra.losses == rb.losses);
    const bool same_codes = a.encode(train) == b.encode(train);
    CHECK(same_codes);
}

TEST_CASE("Autoencoder reports wrong shapes and options naming itself")
{
    Autoencoder<double> autoencoder({.latent = 4, .hidden = 8});
    const Tensor<double> wrong_width = xt::zeros<double>({3, 63});
    CHECK_THROWS_AS(autoencoder.encode(wrong_width), shape_error);
    CHECK_THROWS_WITH(autoencoder.encode(wrong_width),
                      Catch::Contains("Autoencoder::encode") && Catch::Contains("3 x 63"));
    CHECK_THROWS_AS(autoencoder.decode(xt::zeros<double>({2, 5})), shape_error);
    CHECK_THROWS_AS(Autoencoder<double>({.latent = 0}), shape_error);
    CHECK_THROWS_AS(autoencoder.train(xt::zeros<double>({4, 64}), {.steps = 0}), usage_error);
}
