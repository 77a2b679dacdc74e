// The INN wrapper and its bidirectional loss (flows/inn.hpp): layouts, padding and splitting, forward
// and inverse agreeing, the five loss terms against a direct computation, their gradients (with the
// stopped parts held fixed) against finite differences, no allocation in a training step, and a short
// training run that learns a one-dimensional inverse problem.
#include <bijou/bijou.hpp>
#include <bijou/flows/inn.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "support/allocation_counter.hpp"  // for the allocation check below
#include "support/checks.hpp"

using namespace bijou;
using namespace bijou::flows;

namespace {

// Glow couplings transform both halves in every block (at width 2 a random permutation would be the
// identity half of the time, leaving one coordinate to the global affine maps alone).
auto inn_spec(std::size_t blocks, std::size_t width)
{
    return dsl::repeat(blocks, dsl::seq(glow_coupling(dsl::conditioner(hidden(width))), global_affine()));
}

// x 3, y 1, z 2 in a width of 4: one padding column on each side.
auto small_inn()
{
    auto inn = make_inn<double>({.x_dim = 3, .y_dim = 1, .z_dim = 2, .width = 4}, inn_spec(2, 6), 3);
    std::mt19937 rng(12);
    std::normal_distribution<double> normal(0, 0.3);
    for (auto& p : inn.parameters())
        for (auto& v : p.value()) v = normal(rng);
    return inn;
}

Tensor<double> columns(const Tensor<double>& t, std::size_t begin, std::size_t end)
{
    Tensor<double> out = Tensor<double>::from_shape({t.shape()[0], end - begin});
    for (std::size_t r = 0; r < t.shape()[0]; ++r)
        for (std::size_t c = begin; c < end; ++c) out(r, c - begin) = t(r, c);
    return out;
}

double mean_row_square_sum(const Tensor<double>& t)
{
    double s = 0;
    for (double v : t) s += v * v;
    return s / double(t.shape()[0]);
}

}  // namespace

TEST_CASE("INN layouts: the width defaults to the larger side and is checked")
{
    CHECK(InnLayout{.x_dim = 2, .y_dim = 8, .z_dim = 2}.resolved().width == 10);
    CHECK(InnLayout{.x_dim = 4, .y_dim = 2, .z_dim = 2}.resolved().width == 4);
    const InnLayout padded = InnLayout{.x_dim = 2, .y_dim = 8, .z_dim = 2, .width = 16}.resolved();
    CHECK(padded.x_padding() == 14);
    CHECK(padded.yz_padding() == 6);
    CHECK_THROWS_WITH((InnLayout{.x_dim = 4, .y_dim = 2, .z_dim = 3, .width = 4}.resolved()),
                      Catch::Contains("INN") && Catch::Contains("width of 4"));
    CHECK_THROWS_AS((InnLayout{.x_dim = 2, .y_dim = 1, .z_dim = 0}.resolved()), shape_error);
    CHECK_THROWS_AS((InnLayout{.x_dim = 1, .y_dim = 1, .z_dim = 0, .width = 1}.resolved()), shape_error);
}

TEST_CASE("INN: padding and joining and splitting and the inverse undoing the forward pass")
{
    auto inn = small_inn();
    std::mt19937_64 rng(1);
    const Tensor<double> x = testing::normal_batch(5, 3, 4);
    const Tensor<double> padded = inn.pad_x(x, 0.5, rng);
    REQUIRE(padded.shape()[1] == 4);
    CHECK((columns(padded, 0, 3) == x));
    CHECK(padded(0, 3) != 0);
    CHECK(inn.pad_x(x)(2, 3) == 0);

    const Tensor<double> out = inn.forward(padded);
    const auto parts = inn.split_output(out);
    CHECK((parts.y == columns(out, 0, 1)));
    CHECK((parts.z == columns(out, 1, 3)));
    CHECK((parts.pad == columns(out, 3, 4)));
    const Tensor<double> joined = xt::concatenate(xt::xtuple(parts.y, parts.z, xt::zeros<double>({5, 1})), 1);
    CHECK((inn.join_output(parts.y, parts.z) == joined));
    CHECK(xt::allclose(inn.inverse(out), padded, 1e-10, 1e-10));
    CHECK((inn.predict(x) == inn.split_output(inn.forward(inn.pad_x(x))).y));

    const Tensor<double> samples = inn.sample_posterior(Tensor<double>{{0.5}}, 9, rng);
    CHECK(samples.shape()[0] == 9);
    CHECK(samples.shape()[1] == 3);
    CHECK_THROWS_WITH(inn.sample_posterior(Tensor<double>(xt::zeros<double>({2, 1})), 9, rng),
                      Catch::Contains("INN::sample_posterior") && Catch::Contains("(2 x 1)"));
    CHECK_THROWS_AS(inn.pad_x(Tensor<double>(xt::zeros<double>({2, 4}))), shape_error);
}

TEST_CASE("INN loss: the five terms equal a direct computation and their gradients match finite differences")
{
    auto inn = small_inn();
    InnLossOptions options;
    options.weights = {.y = 0.3, .z = 1.7, .x = 0.9, .padding = 1.1, .reconstruction = 0.6};
    options.z_mmd = {inverse_multiquadric_kernel({0.5, 1.5}), MmdEstimator::biased};
    options.x_mmd = {generalised_multiquadric_kernel({{0.5, 0.5}, {0.3, 2}}), MmdEstimator::unbiased};
    InnLoss<double, std::remove_cvref_t<decltype(inn.block())>> loss(inn, options);
    const std::size_t batch = 6;
    loss.bind(batch);
    const Tensor<double> x_in = testing::normal_batch(batch, 4, 5), v = testing::normal_batch(batch, 4, 6),
                         noise = 0.1 * testing::normal_batch(batch, 4, 7);
    loss.set_inputs(x_in, v, noise);
    const InnLosses values = loss.forward();

    // The losses at the current parameters, with the stopped values (the y prediction in L_z, the
    // forward output fed to the reconstruction) taken from `stopped_out`.
    auto direct = [&](const Tensor<double>& stopped_out) {
        const Tensor<double> out = inn.forward(x_in), x_back = inn.inverse(v);
        InnLosses l;
        l.y = mean_row_square_sum(columns(out, 0, 1) - columns(v, 0, 1));
        Tensor<double> yz = columns(out, 0, 3);
        for (std::size_t r = 0; r < batch; ++r) yz(r, 0) = stopped_out(r, 0);
        l.z = sample_mmd(yz, columns(v, 0, 3), options.z_mmd);
        l.x = sample_mmd(columns(x_back, 0, 3), columns(x_in, 0, 3), options.x_mmd);
        l.padding = mean_row_square_sum(columns(out, 3, 4)) + mean_row_square_sum(columns(x_back, 3, 4));
        l.reconstruction = mean_row_square_sum(inn.inverse(Tensor<double>(stopped_out + noise)) - x_in);
        return l;
    };
    const Tensor<double> out0 = inn.forward(x_in);
    const InnLosses expected = direct(out0);
    CHECK(values.y == Approx(expected.y).epsilon(1e-12));
    CHECK(values.z == Approx(expected.z).epsilon(1e-12));
    CHECK(values.x == Approx(expected.x).epsilon(1e-12));
    CHECK(values.padding == Approx(expected.padding).epsilon(1e-12));
    CHECK(values.reconstruction == Approx(expected.reconstruction).epsilon(1e-12));

    // Analytic: the weighted total's gradient. Numeric: central differences of the direct total with the
    // stopped values frozen at out0 (what stop_gradient means).
    const auto params = inn.parameters();
    for (const auto& p : params) p.zero_grad();
    loss.backward(0);
    const double step = 1e-6;
    double worst = 0;
    for (const auto& p : params)
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double saved = p.value().data()[i];
            p.value().data()[i] = saved + step;
            const double up = direct(out0).total(options, 0);
            p.value().data()[i] = saved - step;
            const double down = direct(out0).total(options, 0);
            p.value().data()[i] = saved;
            const double numeric = (up - down) / (2 * step), analytic = p.grad().data()[i];
            const double error = std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1e-3});
            INFO(p.name() << "[" << i << "]: analytic " << analytic << ", numeric " << numeric);
            CHECK(error < 1e-6);
            worst = std::max(worst, error);
        }
    WARN("INN loss: worst relative gradient error " << worst);
}

TEST_CASE("INN loss: the L_x weight ramps up linearly from its start step")
{
    InnLossOptions options;
    options.weights.x = 100;
    options.x_ramp_start = 10;
    options.x_ramp_steps = 4;
    CHECK(options.x_weight(9) == 0);
    CHECK(options.x_weight(10) == Approx(25));
    CHECK(options.x_weight(12) == Approx(75));
    CHECK(options.x_weight(13) == Approx(100));
    CHECK(options.x_weight(1000) == Approx(100));
    options.x_ramp_steps = 0;
    CHECK(options.x_weight(10) == 100);
}

TEST_CASE("INN loss: a training step allocates nothing after the first")
{
    auto inn = small_inn();
    InnLoss<double, std::remove_cvref_t<decltype(inn.block())>> loss(inn, {});
    loss.bind(16);
    Adam<double> optimizer(inn.parameters());
    const Tensor<double> x = testing::normal_batch(40, 3, 8), y = testing::normal_batch(40, 1, 9);
    std::vector<std::size_t> rows(16);
    std::iota(rows.begin(), rows.end(), std::size_t{3});
    std::mt19937_64 rng(2);
    auto step = [&] {
        loss.set_batch(x, y, rows.data(), rng);
        loss.forward();
        loss.backward(0);
        optimizer.step();
    };
    step();  // binds the chain's inner programs
    const testing::AllocationScope scope;
    for (int k = 0; k < 3; ++k) step();
    CHECK(scope.new_calls() == 0);
}

TEST_CASE("INN training learns y = x1 + x2 and samples the line of its posterior")
{
    // x ~ N(0, I_2), y = x1 + x2: the posterior given y* is the line x1 + x2 = y*, along which
    // u = (x1 - x2) / sqrt(2) ~ N(0, 1).
    const std::size_t n = 2000;
    const Tensor<double> x = testing::normal_batch(n, 2, 10);
    Tensor<double> y = Tensor<double>::from_shape({n, 1});
    for (std::size_t i = 0; i < n; ++i) y(i, 0) = x(i, 0) + x(i, 1);
    auto inn = make_inn<double>({.x_dim = 2, .y_dim = 1, .z_dim = 1}, inn_spec(3, 32), 4);
    InnFitOptions<double> options{.batch_size = 200, .steps = 1000, .lr = 2e-3, .seed = 5, .log_every = 100};
    options.loss.y_noise = 0.01;
    options.loss.weights = {.y = 10, .z = 50, .x = 50, .padding = 1, .reconstruction = 1};
    options.loss.x_mmd = {inverse_multiquadric_kernel({0.2, 0.5, 1.0})};
    options.loss.z_mmd = {inverse_multiquadric_kernel({0.2, 0.5, 1.0})};
    const auto report = fit(inn, x, y, options);
    REQUIRE(report.steps_run == 1000);
    REQUIRE(report.losses.size() == 10);
    CHECK(report.losses.back().total < report.losses.front().total);

    const Tensor<double> test_x = testing::normal_batch(500, 2, 11);
    const Tensor<double> predicted = inn.predict(test_x);
    double squared_error = 0;
    for (std::size_t i = 0; i < 500; ++i) squared_error += std::pow(predicted(i, 0) - test_x(i, 0) - test_x(i, 1), 2);
    const double mse = squared_error / 500;

    std::mt19937_64 rng(6);
    const Tensor<double> samples = inn.sample_posterior(Tensor<double>{{1.0}}, 2000, rng);
    double resimulation = 0, u_sum = 0, u_squares = 0;
    for (std::size_t i = 0; i < 2000; ++i) {
        resimulation += std::abs(samples(i, 0) + samples(i, 1) - 1.0);
        const double u = (samples(i, 0) - samples(i, 1)) / std::sqrt(2.0);
        u_sum += u;
        u_squares += u * u;
    }
    const double u_mean = u_sum / 2000, u_sd = std::sqrt(u_squares / 2000 - u_mean * u_mean);
    WARN("y = x1 + x2: prediction MSE " << mse << ", resimulation error " << resimulation / 2000 << ", posterior u mean "
                                          << u_mean << " sd " << u_sd << ", median step " << report.median_step_ms << " ms");
    CHECK(mse < 0.02);
    CHECK(resimulation / 2000 < 0.1);
    CHECK(std::abs(u_mean) < 0.25);
    CHECK(u_sd > 0.7);
    CHECK(u_sd < 1.3);
}

TEST_CASE("INN loss and fit(INN): bad rows, weights and optimiser settings are refused with their values")
{
    using Catch::Contains;
    auto inn = small_inn();
    using Block = std::remove_cvref_t<decltype(inn.block())>;
    InnLoss<double, Block> loss(inn, {});
    loss.bind(4);
    const Tensor<double> x = testing::normal_batch(10, 3, 1), y = testing::normal_batch(10, 1, 2);
    std::mt19937_64 rng(1);
    const std::size_t rows[4] = {0, 9, 10, 2};
    CHECK_THROWS_WITH(loss.set_batch(x, y, rows, rng),
                      Contains("InnLoss::set_batch") && Contains("row index 10 at batch position 2") &&
                          Contains("10 rows"));

    InnLossOptions negative;
    negative.weights.z = -1;
    CHECK_THROWS_WITH((InnLoss<double, Block>(inn, negative)), Contains("weights.z = -1"));
    InnLossOptions infinite;
    infinite.weights.reconstruction = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH((InnLoss<double, Block>(inn, infinite)), Contains("weights.reconstruction = inf"));

    const auto before = inn.parameters()[0].value();
    CHECK_THROWS_WITH(fit(inn, x, y, {.lr = std::numeric_limits<double>::infinity()}),
                      Contains("fit(INN)") && Contains("lr must be > 0 and finite, got inf"));
    CHECK_THROWS_WITH(fit(inn, x, y, {.beta1 = 1.0}), Contains("betas must lie in [0, 1), got beta1 1"));
    CHECK_THROWS_WITH(fit(inn, x, y, {.beta2 = -0.5}), Contains("beta2 -0.5"));
    CHECK_THROWS_WITH(fit(inn, x, y, {.weight_decay = -1}), Contains("weight_decay must be finite and >= 0"));
    InnFitOptions<double> bad_loss;
    bad_loss.loss.weights.y = std::nan("");
    CHECK_THROWS_WITH(fit(inn, x, y, bad_loss), Contains("weights.y = nan"));
    const bool unchanged = inn.parameters()[0].value() == before;
    CHECK(unchanged);
}
