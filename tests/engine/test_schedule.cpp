// Learning-rate schedules at chosen steps, their validation, and driving an optimizer.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/optim.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>

using namespace bijou;
using Catch::Matchers::Contains;

TEST_CASE("ConstantLr is constant")
{
    const ConstantLr schedule{.lr = 0.01};
    CHECK(schedule(0) == 0.01);
    CHECK(schedule(123456789) == 0.01);
}

TEST_CASE("StepDecay multiplies by factor every `every` steps")
{
    const StepDecay schedule{.base = 0.1, .factor = 0.5, .every = 10};
    CHECK(schedule(0) == Approx(0.1));
    CHECK(schedule(9) == Approx(0.1));
    CHECK(schedule(10) == Approx(0.05));
    CHECK(schedule(19) == Approx(0.05));
    CHECK(schedule(35) == Approx(0.1 * 0.5 * 0.5 * 0.5));  // floor(35 / 10) = 3
    CHECK_THROWS_WITH((StepDecay{.base = 0.1, .factor = 0.5, .every = 0}(3)),
                      Contains("bijou: StepDecay: every must be > 0, got 0"));
}

TEST_CASE("ExponentialDecay is base times gamma^step")
{
    const ExponentialDecay schedule{.base = 2.0, .gamma = 0.9};
    CHECK(schedule(0) == Approx(2.0));
    CHECK(schedule(1) == Approx(1.8));
    CHECK(schedule(3) == Approx(2.0 * 0.9 * 0.9 * 0.9));
    CHECK(schedule(100) == Approx(2.0 * std::pow(0.9, 100)));
}

TEST_CASE("CosineDecay warms up linearly then follows half a cosine down to min_lr")
{
    const CosineDecay schedule{.base = 1.0, .min_lr = 0.1, .total_steps = 14, .warmup_steps = 4};
    // warm-up: base * (step + 1) / 4
    CHECK(schedule(0) == Approx(0.25));
    CHECK(schedule(1) == Approx(0.5));
    CHECK(schedule(3) == Approx(1.0));
    // cosine over the 10 steps from 4 to 14: 0.1 + 0.9 * (1 + cos(pi * (step - 4) / 10)) / 2
    CHECK(schedule(4) == Approx(1.0));
    CHECK(schedule(9) == Approx(0.55));  // halfway: cos(pi / 2) = 0
    CHECK(schedule(6) == Approx(0.1 + 0.9 * (1 + std::cos(std::numbers::pi * 0.2)) / 2));
    CHECK(schedule(14) == Approx(0.1));
    CHECK(schedule(1000) == Approx(0.1));  // stays at min_lr after total_steps
}

TEST_CASE("CosineDecay without warm-up starts at base")
{
    const CosineDecay schedule{.base = 0.02, .min_lr = 0.0, .total_steps = 100};
    CHECK(schedule(0) == Approx(0.02));
    CHECK(schedule(50) == Approx(0.01));
    CHECK(schedule(100) == Approx(0.0).margin(1e-18));
}

TEST_CASE("schedules reject negative steps and inconsistent fields")
{
    CHECK_THROWS_WITH((ConstantLr{.lr = 1}(-1)), Contains("bijou: ConstantLr: step must be >= 0, got -1"));
    CHECK_THROWS_AS((ExponentialDecay{.base = 1, .gamma = 0.5}(-3)), usage_error);
    CHECK_THROWS_WITH((CosineDecay{.base = 1, .min_lr = 0, .total_steps = 10, .warmup_steps = 10}(0)),
                      Contains("CosineDecay: needs 0 <= warmup_steps < total_steps"));
    CHECK_THROWS_AS((CosineDecay{.base = 1, .min_lr = 0, .total_steps = 10, .warmup_steps = -1}(0)), usage_error);
}

TEST_CASE("a schedule drives an optimizer's learning rate step by step")
{
    static_assert(Optimizer<Sgd<double>> && Optimizer<Adam<float>> && Optimizer<AdamW<double>>);
    static_assert(LrSchedule<CosineDecay>);
    Param<double> w(Tensor<double>{{0.0}}, "w");
    Sgd<double> sgd({w}, {.lr = 1.0});
    const StepDecay schedule{.base = 1.0, .factor = 0.1, .every = 2};
    double expected = 0;
    for (int i = 0; i < 5; ++i) {
        sgd.set_lr(schedule(sgd.steps()));
        w.grad()(0, 0) = -1.0;
        sgd.step();
        expected += schedule(i);  // theta <- theta - lr * (-1)
    }
    // rates 1, 1, 0.1, 0.1, 0.01
    CHECK(w.value()(0, 0) == Approx(2.21));
    CHECK(w.value()(0, 0) == Approx(expected));
    CHECK(sgd.lr() == Approx(0.01));
}
