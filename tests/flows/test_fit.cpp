// fit: a RealNVP flow trained on a correlated Gaussian reaches its entropy; early stopping restores the
// best parameters; the callback and log_every shape the run; a step allocates nothing; the conditional
// overload trains a conditional model; bad data and options are refused; resuming repeats the loss curve;
// transform_batch edits minibatches, allocation-free, and resumes exactly when seeded by the step.
//
// This executable counts every operator new (replaced by tests/support/allocation_counter.hpp).
#include <bijou/dsl/dsl.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/schedule.hpp>
#include <bijou/flows/fit.hpp>
#include <bijou/flows/flow.hpp>
#include <bijou/flows/transforms.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <random>
#include <limits>
#include <sstream>

#include "support/allocation_counter.hpp"

using namespace bijou;
using Catch::Contains;

namespace {

// x = L z, z ~ N(0, I): a Gaussian with covariance L L^T = [[2.25, 1.35], [1.35, 1.06]] (correlation 0.87).
constexpr double l11 = 1.5, l21 = 0.9, l22 = 0.5;

Tensor<double> correlated_gaussian(std::size_t n, unsigned seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const double z1 = normal(rng), z2 = normal(rng);
        x(i, 0) = l11 * z1;
        x(i, 1) = l21 * z1 + l22 * z2;
    }
    return x;
}

// Its differential entropy, the expected NLL: H = log(2 pi e) + log|det L| (d = 2).
double gaussian_entropy() { return std::log(2 * std::numbers::pi * std::numbers::e) + std::log(l11 * l22); }

// The true density's mean NLL on a sample: -log N(x; 0, L L^T) = |L^-1 x|^2 / 2 + log(2 pi) + log|det L|.
double true_nll(const Tensor<double>& x)
{
    double total = 0;
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        const double z1 = x(i, 0) / l11, z2 = (x(i, 1) - l21 * z1) / l22;
        total += 0.5 * (z1 * z1 + z2 * z2) + std::log(2 * std::numbers::pi) + std::log(l11 * l22);
    }
    return total / double(x.shape()[0]);
}

auto realnvp_2d(std::uint64_t seed = 0)
{
    using namespace dsl;
    return make_flow<double>(
        2, repeat<4>(seq(coupling(halves, conditioner(hidden(32)), flows::affine), reverse())), seed);
}
using Flow2d = decltype(realnvp_2d());

double mean_nll(Flow2d& flow, const Tensor<double>& x)
{
    const Tensor<double> log_p = flow.log_prob(x);
    double total = 0;
    for (double v : log_p) total -= v;
    return total / double(x.shape()[0]);
}

// p(x | c) = N(x; w c + b, exp(s)^2): a one-dimensional conditional density model with a closed-form
// optimum, standing in for a conditional flow to exercise fit's conditional overload.
struct LinearGaussian {
    using value_type = double;
    Param<double> w{Shape{1, 1}, "w"}, b{Shape{1, 1}, "b"}, log_scale{Shape{1, 1}, "log_scale"};

    std::size_t dim() const { return 1; }
    std::vector<Param<double>> parameters() const { return {w, b, log_scale}; }
    // -mean log p = mean((x - w c - b)^2 exp(-2 s) / 2) + s + log(2 pi) / 2
    auto loss_program(const Input<double>& x, const Input<double>& c) const
    {
        const auto z = (x - (c * w + b)) * exp(-log_scale);
        return Program(mean(0.5 * square(z)) + log_scale + 0.5 * std::log(2 * std::numbers::pi));
    }
};

}  // namespace

static_assert(TrainableFlow<Flow2d> && !ConditionalTrainableFlow<Flow2d>);
static_assert(ConditionalTrainableFlow<LinearGaussian> && !TrainableFlow<LinearGaussian>);

TEST_CASE("fit: a RealNVP flow learns a correlated Gaussian to within 0.05 nats of its entropy")
{
    const auto train = correlated_gaussian(8192, 1);
    const auto valid = correlated_gaussian(2048, 2);
    const auto test = correlated_gaussian(20000, 3);
    auto flow = realnvp_2d();
    const double before = mean_nll(flow, test);

    constexpr std::int64_t steps = 2000;
    const auto report = fit(flow, train,
                            {.batch_size = 256,
                             .steps = steps,
                             .lr = 3e-3,
                             .schedule = CosineDecay{.base = 3e-3, .min_lr = 1e-4, .total_steps = steps, .warmup_steps = 50},
                             .max_grad_norm = 10,
                             .seed = 4,
                             .validation = &valid,
                             .validate_every = 100,
                             .log_every = 100});

    const double test_nll = mean_nll(flow, test), entropy = gaussian_entropy(), truth = true_nll(test);
    INFO("test NLL before " << before << ", after " << test_nll << "; entropy " << entropy << ", true density on the test set "
                            << truth << "; best validation " << report.best_validation_nll << " at step "
                            << report.best_step << "; median step " << report.median_step_ms << " ms");
    CHECK(report.stop_reason == StopReason::completed);
    CHECK(report.steps_run == steps);
    CHECK(report.losses.size() == steps / 100);
    CHECK(report.losses.back().step == steps);
    CHECK(report.validation.size() == steps / 100 + 1);  // step 0, then every 100
    CHECK(report.validation.front().step == 0);
    CHECK(report.median_step_ms > 0);
    CHECK(std::abs(test_nll - entropy) < 0.05);
    CHECK(std::abs(test_nll - truth) < 0.05);
    CHECK(report.best_validation_nll == Approx(mean_nll(flow, valid)).epsilon(1e-12));
}

TEST_CASE("fit: early stopping ends an overfitting run and restores the best parameters")
{
    const auto train = correlated_gaussian(48, 5);  // few points, a large rate: the flow overfits them
    const auto valid = correlated_gaussian(2000, 6);
    auto flow = realnvp_2d(1);
    constexpr std::int64_t every = 25, patience = 4;
    const auto report = fit(flow, train,
                            {.batch_size = 48, .steps = 5000, .lr = 1e-2, .seed = 7, .validation = &valid,
                             .validate_every = every, .patience = patience});

    INFO("best validation NLL " << report.best_validation_nll << " at step " << report.best_step << " of "
                                << report.steps_run << ", last " << report.validation.back().loss);
    REQUIRE(report.stop_reason == StopReason::early_stopping);
    CHECK(report.best_step > 0);
    CHECK(report.steps_run == report.best_step + patience * every);  // the patience-th evaluation without gain
    double lowest = report.validation.front().loss;
    for (const auto& point : report.validation) lowest = std::min(lowest, point.loss);
    CHECK(report.best_validation_nll == lowest);
    // The run ended worse than its best, yet the flow now holds the best parameters.
    CHECK(report.validation.back().loss > report.best_validation_nll);
    CHECK(mean_nll(flow, valid) == Approx(report.best_validation_nll).epsilon(1e-12));

    SECTION("restore_best = false keeps the last parameters")
    {
        auto last = realnvp_2d(1);
        const auto unrestored = fit(last, train,
                                    {.batch_size = 48, .steps = 5000, .lr = 1e-2, .seed = 7, .validation = &valid,
                                     .validate_every = every, .patience = patience, .restore_best = false});
        CHECK(unrestored.steps_run == report.steps_run);  // the same run: reproducible from its options
        CHECK(mean_nll(last, valid) == Approx(unrestored.validation.back().loss).epsilon(1e-12));
    }
}

TEST_CASE("fit: the callback sees every step and can stop the run and log_every averages the losses")
{
    const auto train = correlated_gaussian(1000, 8);
    auto flow = realnvp_2d();
    std::vector<double> seen_losses, seen_lrs;
    std::ostringstream log;
    const auto report = fit(flow, train,
                            {.batch_size = 100,
                             .steps = 500,
                             .schedule = ExponentialDecay{.base = 1e-3, .gamma = 0.99},
                             .on_step =
                                 [&](std::int64_t step, double loss, double lr) {
                                     CHECK(step == std::int64_t(seen_losses.size()) + 1);
                                     seen_losses.push_back(loss);
                                     seen_lrs.push_back(lr);
                                     return step < 25;
                                 },
                             .log_every = 10,
                             .log = &log});

    CHECK(report.stop_reason == StopReason::callback);
    CHECK(report.steps_run == 25);
    REQUIRE(seen_losses.size() == 25);
    CHECK(seen_lrs[0] == 1e-3);                             // schedule(0) is the first update's rate
    CHECK(seen_lrs[24] == Approx(1e-3 * std::pow(0.99, 24)));
    REQUIRE(report.losses.size() == 3);                     // steps 10, 20, and the partial window ending at 25
    CHECK(report.losses[2].step == 25);
    double first_window = 0;
    for (int i = 0; i < 10; ++i) first_window += seen_losses[i];
    CHECK(report.losses[0].loss == Approx(first_window / 10));
    CHECK(report.losses[2].loss == Approx((seen_losses[20] + seen_losses[21] + seen_losses[22] + seen_losses[23] +
                                           seen_losses[24]) / 5));
    CHECK_THAT(log.str(), Contains("fit: step 10/500  loss "));
    CHECK(report.validation.empty());
    CHECK(report.best_step == -1);

    SECTION("epochs count whole minibatches: 1000 rows in batches of 300 make 3 steps an epoch")
    {
        const auto by_epochs = fit(flow, train, {.batch_size = 300, .epochs = 4});
        CHECK(by_epochs.steps_run == 12);
    }
}

TEST_CASE("fit: a training step and a validation pass allocate nothing")
{
    const auto train = correlated_gaussian(1000, 9);
    const auto valid = correlated_gaussian(700, 10);  // chunks of 300: two through one program, 100 through the other
    auto flow = realnvp_2d();
    const testing::AllocationScope since_start;  // the counts below start here
    long news_at_start = -1, news_at_end = -1;
    constexpr std::int64_t first_counted = 5, last_counted = 105;
    const auto report = fit(flow, train,
                            {.batch_size = 64,
                             .steps = 120,
                             .schedule = CosineDecay{.base = 1e-3, .min_lr = 0, .total_steps = 120},
                             .weight_decay = 1e-4,
                             .max_grad_norm = 1,
                             .validation = &valid,
                             .validate_every = 20,
                             .validation_batch_size = 300,
                             .on_step =
                                 [&](std::int64_t step, double, double) {
                                     if (step == first_counted) news_at_start = since_start.new_calls();
                                     if (step == last_counted) news_at_end = since_start.new_calls();
                                     return true;
                                 },
                             .log_every = 7});
    REQUIRE(report.steps_run == 120);
    CHECK(news_at_start > 0);  // the counter works: binding the programs allocated
    CHECK(report.validation.size() == 7);  // steps 0, 20, ..., 120: five of them inside the counted window
    // 100 steps, with epoch reshuffles (15 steps an epoch) and five validation passes in between.
    CHECK(news_at_end - news_at_start == 0);
}

TEST_CASE("fit: the conditional overload trains on pairs of data and condition rows")
{
    // x = 1.5 c - 0.5 + 0.3 e, c ~ U(-2, 2), e ~ N(0, 1).
    auto make = [](std::size_t n, unsigned seed) {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<double> uniform(-2, 2);
        std::normal_distribution<double> normal;
        Tensor<double> x = Tensor<double>::from_shape({n, 1}), c = Tensor<double>::from_shape({n, 1});
        for (std::size_t i = 0; i < n; ++i) {
            c(i, 0) = uniform(rng);
            x(i, 0) = 1.5 * c(i, 0) - 0.5 + 0.3 * normal(rng);
        }
        return std::pair{x, c};
    };
    const auto [train_x, train_c] = make(4000, 11);
    const auto [valid_x, valid_c] = make(1000, 12);
    LinearGaussian model;
    const auto report = fit(model, train_x, train_c,
                            {.batch_size = 200, .steps = 3000, .lr = 2e-2, .validation = &valid_x,
                             .validation_condition = &valid_c, .validate_every = 100});
    CHECK(report.steps_run == 3000);
    CHECK(model.w.value()(0, 0) == Approx(1.5).margin(0.02));
    CHECK(model.b.value()(0, 0) == Approx(-0.5).margin(0.02));
    CHECK(std::exp(model.log_scale.value()(0, 0)) == Approx(0.3).margin(0.01));
    // The optimum's NLL: log(0.3) + (1 + log 2 pi) / 2.
    CHECK(report.best_validation_nll == Approx(std::log(0.3) + 0.5 * (1 + std::log(2 * std::numbers::pi))).margin(0.05));

    CHECK_THROWS_WITH(fit(model, train_x, Tensor<double>(xt::zeros<double>({10, 1}))),
                      Contains("bijou: fit: expected one training condition row per data row: (10 x 1) conditions for "
                               "(4000 x 1) data"));
    CHECK_THROWS_WITH(fit(model, train_x, train_c, {.validation = &valid_x}),
                      Contains("needs both validation and validation_condition"));
}

TEST_CASE("fit: a conditional RealNVP learns a Gaussian whose mean moves with the condition")
{
    // x = (2 c, -c) + L z, c ~ U(-1, 1): given c, the same Gaussian as above, shifted.
    auto make = [](std::size_t n, unsigned seed) {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<double> uniform(-1, 1);
        Tensor<double> x = correlated_gaussian(n, seed + 100), c = Tensor<double>::from_shape({n, 1});
        for (std::size_t i = 0; i < n; ++i) {
            c(i, 0) = uniform(rng);
            x(i, 0) += 2 * c(i, 0);
            x(i, 1) -= c(i, 0);
        }
        return std::pair{x, c};
    };
    const auto [train_x, train_c] = make(8192, 21);
    const auto [valid_x, valid_c] = make(2048, 22);
    const auto [test_x, test_c] = make(20000, 23);
    using namespace dsl;
    auto cinn = make_flow<double>(
        2, conditional(repeat<4>(seq(coupling(halves, conditioner(hidden(32)), flows::affine), reverse())), 1));
    static_assert(ConditionalTrainableFlow<decltype(cinn)> && !TrainableFlow<decltype(cinn)>);

    constexpr std::int64_t steps = 2000;
    const auto report = fit(cinn, train_x, train_c,
                            {.steps = steps,
                             .lr = 3e-3,
                             .schedule = CosineDecay{.base = 3e-3, .min_lr = 1e-4, .total_steps = steps, .warmup_steps = 50},
                             .max_grad_norm = 10,
                             .validation = &valid_x,
                             .validation_condition = &valid_c});
    const Tensor<double> log_p = cinn.log_prob(test_x, test_c);
    double test_nll = 0;
    for (double v : log_p) test_nll -= v / double(test_x.shape()[0]);
    INFO("conditional test NLL " << test_nll << ", conditional entropy " << gaussian_entropy() << ", best validation "
                                 << report.best_validation_nll << " at step " << report.best_step);
    CHECK(report.steps_run == steps);
    CHECK(std::abs(test_nll - gaussian_entropy()) < 0.05);
}

TEST_CASE("fit: bad data and options are refused before anything changes")
{
    auto flow = realnvp_2d();
    const auto parameters_before = flow.parameters()[0].value();
    const Tensor<double> three_columns = xt::zeros<double>({10, 3});
    CHECK_THROWS_AS(fit(flow, three_columns), shape_error);
    CHECK_THROWS_WITH(fit(flow, three_columns),
                      Contains("bijou: fit: expected training data with 2 columns (the flow's dimension), got (10 x 3)"));
    const auto train = correlated_gaussian(100, 13);
    CHECK_THROWS_WITH(fit(flow, train, {.validation = &three_columns}), Contains("expected validation data with 2 columns"));
    CHECK_THROWS_AS(fit(flow, train, {.batch_size = 0}), usage_error);
    CHECK_THROWS_WITH(fit(flow, train, {.lr = -1}), Contains("bijou: fit: lr must be > 0"));
    CHECK_THROWS_WITH(fit(flow, train, {.validation_condition = &train}), Contains("validation_condition is for conditional flows"));
    CHECK_THROWS_WITH(fit(flow, train, {.steps = 10, .start_step = 11}),
                      Contains("bijou: fit: start_step 11 is beyond the run's last step 10"));
    const bool unchanged = flow.parameters()[0].value() == parameters_before;
    CHECK(unchanged);
    // A schedule's bad rate is caught at its step, before that update.
    const auto nan_after_three = [](std::int64_t k) { return k < 3 ? 1e-3 : std::nan(""); };
    CHECK_THROWS_WITH(fit(flow, train, {.batch_size = 50, .steps = 10, .schedule = nan_after_three}),
                      Contains("bijou: fit: the schedule gave lr nan at step 3"));
}

TEST_CASE("fit: a non-finite validation NLL is never the best, ends the run, and the best finite parameters come back")
{
    const auto train = correlated_gaussian(400, 21);
    SECTION("NaN before training: nothing runs, nothing is restored")
    {
        // (with the input checks on, fit refuses NaN data before it starts; off, the NaN reaches the NLL,
        // as a value outside a block's domain would)
        struct ChecksOff {
            ChecksOff() { set_input_checks(false); }
            ~ChecksOff() { set_input_checks(true); }
        } off;
        auto valid = correlated_gaussian(200, 22);
        valid(3, 1) = std::nan("");
        auto flow = realnvp_2d(2);
        const auto before = flow.parameters()[0].value();
        const auto report = fit(flow, train, {.batch_size = 100, .steps = 50, .validation = &valid, .validate_every = 10});
        CHECK(report.stop_reason == StopReason::non_finite_validation);
        CHECK(std::string(to_string(report.stop_reason)) == "non_finite_validation");
        CHECK(report.steps_run == 0);
        CHECK(report.best_step == -1);
        CHECK(std::isnan(report.best_validation_nll));
        const bool unchanged = flow.parameters()[0].value() == before;
        CHECK(unchanged);
    }
    SECTION("NaN in the middle: the run stops there and the last finite best comes back")
    {
        auto valid = correlated_gaussian(200, 22);
        auto flow = realnvp_2d(2);
        // the callback poisons one validation row after step 25, so the evaluation at step 30 is NaN
        const auto poison = [&valid](std::int64_t step, double, double) {
            if (step == 25) valid(0, 0) = std::numeric_limits<double>::infinity();
            return true;
        };
        const auto report = fit(flow, train, {.batch_size = 100, .steps = 100, .lr = 1e-3, .validation = &valid,
                                              .validate_every = 10, .on_step = poison});
        CHECK(report.stop_reason == StopReason::non_finite_validation);
        CHECK(report.steps_run == 30);
        REQUIRE(report.best_step >= 0);
        CHECK(report.best_step <= 20);
        CHECK(std::isfinite(report.best_validation_nll));
        valid(0, 0) = 0;  // the restored parameters give the best NLL again on the clean set
        auto clean = correlated_gaussian(200, 22);
        CHECK(mean_nll(flow, clean) == Approx(report.best_validation_nll).epsilon(1e-12));
    }
}

TEST_CASE("fit: resuming from a checkpoint at step N continues the same loss curve exactly")
{
    const auto train = correlated_gaussian(700, 9);  // 7 batches of 100: the checkpoint falls mid-epoch
    const auto schedule = ExponentialDecay{.base = 2e-3, .gamma = 0.995};
    std::vector<double> whole;
    auto straight = realnvp_2d(3);
    fit(straight, train, {.batch_size = 100, .steps = 40, .schedule = schedule, .seed = 4,
                          .on_step = [&](std::int64_t, double loss, double) { whole.push_back(loss); return true; }});

    const std::string path = "test_fit_resume.ckpt";
    auto first = realnvp_2d(3);
    std::vector<double> resumed;
    fit(first, train, {.batch_size = 100, .steps = 17, .schedule = schedule, .seed = 4,
                       .on_step = [&](std::int64_t, double loss, double) { resumed.push_back(loss); return true; }});
    save_parameters(path, first.parameters(), {.optimizer_state = true});

    auto second = realnvp_2d(99);  // different initial values: everything must come from the checkpoint
    load_parameters(path, second.parameters());
    fit(second, train, {.batch_size = 100, .steps = 40, .schedule = schedule, .seed = 4, .start_step = 17,
                        .on_step = [&](std::int64_t step, double loss, double) {
                            CHECK(step == std::int64_t(resumed.size()) + 1);
                            resumed.push_back(loss);
                            return true;
                        }});
    std::remove(path.c_str());
    REQUIRE(resumed.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
        INFO("step " << i + 1);
        CHECK(resumed[i] == whole[i]);
    }
}

TEST_CASE("fit: transform_batch edits each minibatch in place before its step")
{
    const auto train = correlated_gaussian(500, 11);
    // The hook replaces every minibatch by `fixed`, so the loss of step k must be the mean NLL of `fixed`
    // under the parameters before update k, which the hook measures through log_prob.
    const auto fixed = correlated_gaussian(50, 12);
    auto flow = realnvp_2d(2);
    std::vector<std::int64_t> steps_seen;
    std::vector<double> expected, reported;
    const auto report = fit(flow, train,
                            {.batch_size = 50, .steps = 25, .lr = 5e-3, .seed = 3,
                             .transform_batch =
                                 [&](Tensor<double>& batch, std::int64_t step) {
                                     steps_seen.push_back(step);
                                     CHECK(batch.shape()[0] == 50);
                                     CHECK(batch.shape()[1] == 2);
                                     std::copy(fixed.begin(), fixed.end(), batch.begin());
                                     expected.push_back(mean_nll(flow, fixed));
                                 },
                             .on_step = [&](std::int64_t, double loss, double) { reported.push_back(loss); return true; }});
    REQUIRE(report.steps_run == 25);
    REQUIRE(steps_seen.size() == 25);
    for (std::size_t i = 0; i < steps_seen.size(); ++i) CHECK(steps_seen[i] == std::int64_t(i) + 1);
    REQUIRE(reported.size() == expected.size());
    for (std::size_t i = 0; i < reported.size(); ++i) {
        INFO("step " << i + 1);
        CHECK(reported[i] == Approx(expected[i]).epsilon(1e-12));
    }
    CHECK(expected.back() < expected.front());  // trained on `fixed` alone, its NLL falls

    SECTION("a hook that adds step-seeded noise keeps the step allocation-free")
    {
        auto noisy = realnvp_2d(2);
        std::mt19937_64 noise;
        long news_at_start = -1, news_at_end = -1;
        fit(noisy, train,
            {.batch_size = 50, .steps = 40, .seed = 3,
             .transform_batch =
                 [&](Tensor<double>& batch, std::int64_t step) {
                     noise.seed(std::uint64_t(step));
                     for (double& v : batch) v += 0.01 * double(noise() >> 11) * 0x1.0p-53;
                 },
             .on_step =
                 [&](std::int64_t step, double, double) {
                     if (step == 5) news_at_start = testing::operator_new_calls();
                     if (step == 35) news_at_end = testing::operator_new_calls();
                     return true;
                 }});
        CHECK(news_at_start > 0);
        CHECK(news_at_end - news_at_start == 0);
    }
}

TEST_CASE("fit: a resumed run with step-seeded noise in transform_batch repeats the loss curve exactly")
{
    const auto train = correlated_gaussian(700, 13);
    std::mt19937_64 noise;
    // Dequantisation-style noise: a function of the step alone, so the resumed run draws what the
    // uninterrupted one drew.
    const auto jitter = [&](Tensor<double>& batch, std::int64_t step) {
        noise.seed(1000 + std::uint64_t(step));
        for (double& v : batch) v += 0.1 * double(noise() >> 11) * 0x1.0p-53;
    };
    std::vector<double> whole, resumed;
    auto record = [](std::vector<double>& into) {
        return [&into](std::int64_t, double loss, double) { into.push_back(loss); return true; };
    };
    auto straight = realnvp_2d(5);
    fit(straight, train, {.batch_size = 100, .steps = 30, .seed = 6, .transform_batch = jitter, .on_step = record(whole)});

    const std::string path = "test_fit_transform_resume.ckpt";
    auto first = realnvp_2d(5);
    fit(first, train, {.batch_size = 100, .steps = 11, .seed = 6, .transform_batch = jitter, .on_step = record(resumed)});
    save_parameters(path, first.parameters(), {.optimizer_state = true});
    auto second = realnvp_2d(77);
    load_parameters(path, second.parameters());
    fit(second, train, {.batch_size = 100, .steps = 30, .seed = 6, .start_step = 11, .transform_batch = jitter,
                        .on_step = record(resumed)});
    std::remove(path.c_str());
    REQUIRE(resumed.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
        INFO("step " << i + 1);
        CHECK(resumed[i] == whole[i]);
    }
}

TEST_CASE("fit and Flow refuse NaN or inf in their data, naming the call, the row and the column")
{
    auto flow = realnvp_2d(3);
    auto data = correlated_gaussian(50, 30);
    data(17, 1) = std::nan("");
    CHECK_THROWS_AS(flow.log_prob(data), value_error);
    CHECK_THROWS_WITH(flow.log_prob(data), Contains("bijou: Flow::log_prob: data row 17, column 1 is nan"));
    CHECK_THROWS_WITH(flow.forward(data), Contains("Flow::forward: data row 17, column 1"));
    CHECK_THROWS_WITH(flow.inverse(data), Contains("Flow::inverse: latents row 17, column 1"));
    CHECK_THROWS_WITH(fit(flow, data, {.steps = 5}), Contains("bijou: fit: training data row 17, column 1 is nan"));
    const auto clean = correlated_gaussian(50, 31);
    auto valid = correlated_gaussian(20, 32);
    valid(0, 0) = -std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(fit(flow, clean, {.steps = 5, .validation = &valid}),
                      Contains("fit: validation data row 0, column 0 is -inf"));

    set_input_checks(false);
    CHECK_FALSE(input_checks());
    const Tensor<double> log_p = flow.log_prob(data);  // unchecked: the NaN row gives NaN
    CHECK(std::isnan(log_p(17, 0)));
    CHECK(std::isfinite(log_p(16, 0)));
    set_input_checks(true);
}
