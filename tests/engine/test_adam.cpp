// Adam and AdamW: updates against hand arithmetic, AdamW against Adam + L2, state kept in the parameter
// (and a resumed run matching an uninterrupted one), frozen parameters, gradient zeroing, option
// validation, no allocation in step(), and convergence on a least-squares problem built with the engine.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/optim.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>

using namespace bijou;
using Catch::Matchers::Contains;

// Counts global operator new calls while `counting` is set (xtensor here allocates through std::allocator).
// GCC 12 warns about malloc/free in replaced operators once inlined (a false positive).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
bool counting = false;
std::size_t allocations = 0;
}  // namespace
void* operator new(std::size_t n)
{
    if (counting) ++allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {
Param<double> scalar_param(double value) { return Param<double>(Tensor<double>{{value}}, "w"); }
void set_grad(const Param<double>& p, double g) { p.grad()(0, 0) = g; }
double value(const Param<double>& p) { return p.value()(0, 0); }
}  // namespace

TEST_CASE("Adam's first steps match the bias-corrected update computed by hand")
{
    auto w = scalar_param(1.0);
    Adam<double> adam({w}, {.lr = 0.1});
    set_grad(w, 0.5);
    adam.step();
    // m1 = 0.1 * 0.5 = 0.05, v1 = 0.001 * 0.25 = 0.00025
    // m_hat = 0.05 / 0.1 = 0.5, v_hat = 0.00025 / 0.001 = 0.25, theta1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8) ~ 0.9
    CHECK(w.node().moment1(0, 0) == Approx(0.05).epsilon(1e-14));
    CHECK(w.node().moment2(0, 0) == Approx(0.00025).epsilon(1e-14));
    double theta = 1 - 0.1 * 0.5 / (0.5 + 1e-8);
    CHECK(value(w) == Approx(theta).epsilon(1e-13));
    CHECK(w.grad()(0, 0) == 0.0);

    set_grad(w, -1.0);
    adam.step();
    // m2 = 0.9 * 0.05 - 0.1 = -0.055, v2 = 0.999 * 0.00025 + 0.001 * 1 = 0.00124975
    // m_hat = -0.055 / (1 - 0.81) = -0.2894737, v_hat = 0.00124975 / (1 - 0.998001) = 0.6251876
    // theta2 = theta1 - 0.1 * m_hat / (sqrt(v_hat) + 1e-8) ~ 0.9 + 0.0366098
    const double m2 = -0.055, v2 = 0.00124975;
    CHECK(w.node().moment1(0, 0) == Approx(m2).epsilon(1e-14));
    CHECK(w.node().moment2(0, 0) == Approx(v2).epsilon(1e-14));
    theta -= 0.1 * (m2 / (1 - 0.9 * 0.9)) / (std::sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
    CHECK(value(w) == Approx(theta).epsilon(1e-13));
    CHECK(value(w) == Approx(0.9366098).epsilon(1e-6));

    set_grad(w, 0.0);
    adam.step();
    // m3 = 0.9 * m2, v3 = 0.999 * v2: the step continues along the momentum with no gradient
    const double m3 = 0.9 * m2, v3 = 0.999 * v2;
    theta -= 0.1 * (m3 / (1 - 0.729)) / (std::sqrt(v3 / (1 - std::pow(0.999, 3))) + 1e-8);
    CHECK(value(w) == Approx(theta).epsilon(1e-13));
    CHECK(adam.steps() == 3);
}

TEST_CASE("Adam matches a scalar reference on a parameter wider than a SIMD batch with L2 decay")
{
    const std::size_t rows = 2, cols = 13;  // 26 elements: full batches and a scalar tail
    Tensor<double> init = Tensor<double>::from_shape({rows, cols});
    for (std::size_t i = 0; i < init.size(); ++i) init.data()[i] = std::sin(double(i) + 0.3);
    Param<double> w(init, "w");
    const AdamOptions options{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1};
    Adam<double> adam({w}, options);

    std::vector<double> theta(init.begin(), init.end()), m(init.size(), 0.0), v(init.size(), 0.0);
    for (int t = 1; t <= 3; ++t) {
        for (std::size_t i = 0; i < init.size(); ++i) {
            const double g = std::cos(double(i) * t);
            w.grad().data()[i] = g;
            const double gd = g + options.weight_decay * theta[i];
            m[i] = options.beta1 * m[i] + (1 - options.beta1) * gd;
            v[i] = options.beta2 * v[i] + (1 - options.beta2) * gd * gd;
            const double m_hat = m[i] / (1 - std::pow(options.beta1, t));
            const double v_hat = v[i] / (1 - std::pow(options.beta2, t));
            theta[i] -= options.lr * m_hat / (std::sqrt(v_hat) + options.eps);
        }
        adam.step();
    }
    for (std::size_t i = 0; i < init.size(); ++i) {
        CHECK(w.value().data()[i] == Approx(theta[i]).epsilon(1e-12));
        CHECK(w.node().moment1.data()[i] == Approx(m[i]).epsilon(1e-12));
        CHECK(w.node().moment2.data()[i] == Approx(v[i]).epsilon(1e-12));
        CHECK(w.grad().data()[i] == 0.0);
    }
}

TEST_CASE("AdamW decays theta outside the moments Adam's L2 decay goes through them")
{
    // With a zero gradient, Adam + L2 sees g' = wd * theta, normalises it and steps by about lr whatever
    // theta's scale; AdamW's moments stay zero and theta shrinks by the factor 1 - lr * wd.
    auto l2 = scalar_param(3.0);
    auto decoupled = scalar_param(3.0);
    Adam<double> adam({l2}, {.lr = 0.1, .weight_decay = 0.1});
    AdamW<double> adamw({decoupled}, {.lr = 0.1, .weight_decay = 0.1});
    adam.step();
    adamw.step();
    // Adam + L2: g' = 0.3, m_hat = 0.3, v_hat = 0.09, theta1 = 3 - 0.1 * 0.3 / (0.3 + 1e-8) ~ 2.9
    CHECK(value(l2) == Approx(3 - 0.1 * 0.3 / (0.3 + 1e-8)).epsilon(1e-13));
    // AdamW: theta1 = 3 - 0.1 * 0.1 * 3 = 2.97, and m = v = 0
    CHECK(value(decoupled) == Approx(2.97).epsilon(1e-14));
    CHECK(decoupled.node().moment1(0, 0) == 0.0);

    // With a gradient, AdamW = Adam's step on the raw gradient plus the decay of the old theta.
    set_grad(decoupled, 0.5);
    adamw.step();
    // m2 = 0.05, v2 = 0.00025, m_hat = 0.05 / 0.19, v_hat = 0.00025 / 0.001999
    const double adam_step = 0.1 * (0.05 / 0.19) / (std::sqrt(0.00025 / (1 - 0.999 * 0.999)) + 1e-8);
    CHECK(value(decoupled) == Approx(2.97 - 0.1 * 0.1 * 2.97 - adam_step).epsilon(1e-13));
}

TEST_CASE("AdamW defaults to weight decay 0.01 and is Adam with decoupled_weight_decay")
{
    auto a = scalar_param(1.0);
    auto b = scalar_param(1.0);
    AdamW<double> adamw({a});
    CHECK(adamw.options().weight_decay == 0.01);
    CHECK(adamw.options().decoupled_weight_decay);
    CHECK(adamw.lr() == 1e-3);
    Adam<double> adam({b}, {.weight_decay = 0.01, .decoupled_weight_decay = true});
    for (double g : {0.3, -0.7, 1.1}) {
        set_grad(a, g);
        set_grad(b, g);
        adamw.step();
        adam.step();
    }
    CHECK(value(a) == value(b));
    Adam<double>& as_adam = adamw;  // an AdamW is an Adam
    CHECK(as_adam.steps() == 3);
}

TEST_CASE("Adam leaves a frozen parameter's value gradient and moments alone")
{
    auto live = scalar_param(1.0);
    auto frozen = scalar_param(2.0);
    frozen.set_trainable(false);
    Adam<double> adam({live, frozen}, {.lr = 0.1});
    set_grad(live, 1.0);
    set_grad(frozen, 1.0);
    adam.step();
    CHECK(value(live) == Approx(0.9));
    CHECK(value(frozen) == 2.0);
    CHECK(frozen.grad()(0, 0) == 1.0);
    CHECK(frozen.node().moment1(0, 0) == 0.0);
    CHECK(frozen.node().moment2(0, 0) == 0.0);
}

TEST_CASE("Adam keeps moments that fit and replaces those that do not")
{
    Param<double> w(Tensor<double>{{1.0, 2.0}}, "w");
    w.node().moment1 = Tensor<double>{{0.1, 0.2}};
    w.node().moment2 = Tensor<double>{{0.3, 0.4}};
    Adam<double> adam({w});
    CHECK(w.node().moment1(0, 1) == 0.2);
    CHECK(w.node().moment2(0, 0) == 0.3);

    Param<double> u(Tensor<double>{{1.0, 2.0}}, "u");
    u.node().moment1 = Tensor<double>{{0.1}};
    Adam<double> other({u});
    CHECK(shape_of(u.node().moment1) == Shape{1, 2});
    CHECK(shape_of(u.node().moment2) == Shape{1, 2});
    CHECK(u.node().moment1(0, 0) == 0.0);
}

TEST_CASE("an Adam rebuilt over restored parameters with set_steps resumes the run exactly")
{
    auto straight = scalar_param(1.0);
    auto resumed = scalar_param(1.0);
    const double grads[] = {0.4, -0.2, 0.9, 0.1};
    Adam<double> one({straight}, {.lr = 0.05});
    for (double g : grads) {
        set_grad(straight, g);
        one.step();
    }
    {
        Adam<double> first({resumed}, {.lr = 0.05});
        for (int i = 0; i < 2; ++i) {
            set_grad(resumed, grads[i]);
            first.step();
        }
    }
    Adam<double> second({resumed}, {.lr = 0.05});  // the moments stay in the parameter
    second.set_steps(2);
    for (int i = 2; i < 4; ++i) {
        set_grad(resumed, grads[i]);
        second.step();
    }
    CHECK(value(resumed) == value(straight));
    CHECK(second.steps() == 4);
}

TEST_CASE("Adam rejects bad options with a message naming the optimizer and the value")
{
    auto w = scalar_param(1.0);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(Adam<double>({w}, {.lr = 0}), usage_error);
    CHECK_THROWS_WITH(Adam<double>({w}, {.lr = -1e-3}), Contains("bijou: Adam: lr") && Contains("-0.001"));
    CHECK_THROWS_WITH(Adam<double>({w}, {.lr = nan}), Contains("Adam: lr"));
    CHECK_THROWS_WITH(Adam<double>({w}, {.beta1 = 1}), Contains("Adam: beta1 must be in [0, 1), got 1"));
    CHECK_THROWS_WITH(Adam<double>({w}, {.beta2 = -0.5}), Contains("Adam: beta2") && Contains("-0.5"));
    CHECK_THROWS_WITH(Adam<double>({w}, {.beta2 = nan}), Contains("Adam: beta2"));
    CHECK_THROWS_WITH(Adam<double>({w}, {.eps = 0}), Contains("Adam: eps must be > 0") && Contains("got 0"));
    CHECK_THROWS_WITH(Adam<double>({w}, {.weight_decay = -0.1}), Contains("Adam: weight_decay") && Contains("-0.1"));
    CHECK_THROWS_WITH(AdamW<double>({w}, {.lr = -2}), Contains("bijou: AdamW: lr") && Contains("-2"));
    CHECK_THROWS_WITH(AdamW<double>({w}, {.weight_decay = -1}), Contains("AdamW: weight_decay"));
    CHECK_THROWS_WITH(Adam<double>(std::vector<Param<double>>{}), Contains("Adam: the parameter list is empty"));
    CHECK_THROWS_WITH(Adam<double>({w, w}), Contains("'w' appears twice"));

    Adam<double> adam({w});
    adam.set_lr(0);
    CHECK_THROWS_WITH(adam.set_lr(-1), Contains("Adam: lr must be >= 0"));
    CHECK_THROWS_AS(adam.set_steps(-1), usage_error);
}

TEST_CASE("Adam refuses to step a parameter whose value changed shape")
{
    auto w = scalar_param(1.0);
    Adam<double> adam({w});
    w.value() = Tensor<double>{{1.0, 2.0}};
    CHECK_THROWS_WITH(adam.step(), Contains("Adam: parameter 'w' is now (1 x 2)"));
}

TEST_CASE("Adam in float follows the double computation")
{
    Param<float> w(Tensor<float>{{1.0f, -1.0f}}, "w");
    Adam<float> adam({w}, {.lr = 0.1});
    w.grad() = Tensor<float>{{0.5f, 2.0f}};
    adam.step();
    CHECK(w.value()(0, 0) == Approx(0.9).epsilon(1e-6));
    CHECK(w.value()(0, 1) == Approx(-1.1).epsilon(1e-6));
}

TEST_CASE("optimizer steps and gradient clipping allocate nothing")
{
    Param<double> a(Tensor<double>::from_shape({7, 9}), "a");
    Param<double> b(Tensor<double>::from_shape({1, 5}), "b");
    a.value().fill(0.5);
    b.value().fill(-0.5);
    Param<float> f(Tensor<float>::from_shape({3, 17}), "f");
    f.value().fill(0.25f);
    std::vector<Param<double>> params{a, b};
    Adam<double> adam(params, {.weight_decay = 0.1});
    AdamW<double> adamw(params);
    Sgd<double> sgd(params, {.momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    Adam<float> adam_float({f});
    const CosineDecay schedule{.base = 1e-3, .min_lr = 1e-5, .total_steps = 100, .warmup_steps = 10};

    allocations = 0;
    counting = true;
    for (int i = 0; i < 3; ++i) {
        a.grad().fill(1.0);
        b.grad().fill(-2.0);
        f.grad().fill(3.0f);
        clip_grad_norm(params, 1.0);
        clip_grad_value(params, 0.1);
        adam.set_lr(schedule(adam.steps()));
        adam.step();
        adamw.step();
        sgd.step();
        adam_float.step();
    }
    counting = false;
    CHECK(allocations == 0);

    counting = true;  // the counter does see a tensor allocation
    Adam<double> another(params);
    counting = false;
    CHECK(allocations > 0);
}

TEST_CASE("Adam minimises a least-squares loss built with the engine")
{
    // loss = mean((x w - y)^2) with y = x w_true: the optimum is w_true, where the loss is 0.
    Input<double> x(3, "x");
    Input<double> y(1, "y");
    Param<double> w(Shape{3, 1}, "w");
    auto loss = mean(square(matmul(x, w) - y));
    Program program(loss);
    program.bind(6);
    const Tensor<double> data{{1, 2, 0.5}, {0, 1, -1}, {-1, 0.5, 2}, {0.3, 0.2, 0.1}, {2, -1, 0}, {0.5, 0.5, 0.5}};
    const double w_true[] = {1.5, -2.0, 0.75};
    Tensor<double> target = Tensor<double>::from_shape({6, 1});
    for (std::size_t r = 0; r < 6; ++r)
        target(r, 0) = data(r, 0) * w_true[0] + data(r, 1) * w_true[1] + data(r, 2) * w_true[2];
    x.set(data);
    y.set(target);

    Adam<double> adam(program.parameters(), {.lr = 0.1});
    const CosineDecay schedule{.base = 0.1, .min_lr = 1e-4, .total_steps = 2000};
    program.forward();
    const double initial = program.value()(0, 0);
    for (int i = 0; i < 2000; ++i) {
        adam.set_lr(schedule(adam.steps()));
        program.forward();
        program.backward();
        adam.step();
    }
    program.forward();
    INFO("loss " << initial << " -> " << program.value()(0, 0));
    CHECK(program.value()(0, 0) < 1e-10);
    for (std::size_t k = 0; k < 3; ++k) CHECK(w.value()(k, 0) == Approx(w_true[k]).margin(1e-5));
}
