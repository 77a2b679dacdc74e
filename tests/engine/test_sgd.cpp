// Sgd: updates against hand arithmetic (plain, momentum, Nesterov, L2 decay), a SIMD-sized parameter
// against a scalar reference, frozen parameters, gradient zeroing and option validation.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/sgd.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace bijou;
using Catch::Matchers::Contains;

namespace {
Param<double> scalar_param(double value) { return Param<double>(Tensor<double>{{value}}, "w"); }
void set_grad(const Param<double>& p, double g) { p.grad()(0, 0) = g; }
double value(const Param<double>& p) { return p.value()(0, 0); }
}  // namespace

TEST_CASE("plain SGD steps theta <- theta - lr times g and zeroes the gradient")
{
    Param<double> w(Tensor<double>{{1.0, -2.0}}, "w");
    Sgd<double> sgd({w}, {.lr = 0.1});
    w.grad() = Tensor<double>{{0.5, 1.0}};
    sgd.step();
    CHECK(w.value()(0, 0) == Approx(1.0 - 0.1 * 0.5));   // 0.95
    CHECK(w.value()(0, 1) == Approx(-2.0 - 0.1 * 1.0));  // -2.1
    CHECK(w.grad()(0, 0) == 0.0);
    CHECK(w.grad()(0, 1) == 0.0);
    CHECK(sgd.steps() == 1);

    w.grad() = Tensor<double>{{0.5, 1.0}};
    sgd.step();
    CHECK(w.value()(0, 0) == Approx(0.95 - 0.05));  // 0.9
    CHECK(w.value()(0, 1) == Approx(-2.1 - 0.1));   // -2.2
    CHECK(sgd.steps() == 2);
}

TEST_CASE("SGD momentum keeps b <- mu times b + g and steps along b")
{
    auto w = scalar_param(1.0);
    Sgd<double> sgd({w}, {.lr = 0.1, .momentum = 0.9});
    set_grad(w, 0.5);
    sgd.step();
    // b1 = 0.5, theta1 = 1 - 0.1 * 0.5 = 0.95
    CHECK(value(w) == Approx(0.95).epsilon(1e-14));
    CHECK(w.node().moment1(0, 0) == Approx(0.5));
    set_grad(w, 0.5);
    sgd.step();
    // b2 = 0.9 * 0.5 + 0.5 = 0.95, theta2 = 0.95 - 0.1 * 0.95 = 0.855
    CHECK(value(w) == Approx(0.855).epsilon(1e-14));
    set_grad(w, -1.0);
    sgd.step();
    // b3 = 0.9 * 0.95 - 1 = -0.145, theta3 = 0.855 + 0.0145 = 0.8695
    CHECK(w.node().moment1(0, 0) == Approx(-0.145).epsilon(1e-14));
    CHECK(value(w) == Approx(0.8695).epsilon(1e-14));
}

TEST_CASE("Nesterov SGD steps along g + mu times b")
{
    auto w = scalar_param(1.0);
    Sgd<double> sgd({w}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    set_grad(w, 0.5);
    sgd.step();
    // b1 = 0.5, d1 = 0.5 + 0.9 * 0.5 = 0.95, theta1 = 1 - 0.095 = 0.905
    CHECK(value(w) == Approx(0.905).epsilon(1e-14));
    set_grad(w, 0.5);
    sgd.step();
    // b2 = 0.95, d2 = 0.5 + 0.9 * 0.95 = 1.355, theta2 = 0.905 - 0.1355 = 0.7695
    CHECK(value(w) == Approx(0.7695).epsilon(1e-14));
}

TEST_CASE("SGD weight decay adds wd times theta to the gradient")
{
    auto w = scalar_param(1.0);
    Sgd<double> sgd({w}, {.lr = 0.1, .weight_decay = 0.1});
    set_grad(w, 0.5);
    sgd.step();
    // g' = 0.5 + 0.1 * 1 = 0.6, theta1 = 1 - 0.06 = 0.94
    CHECK(value(w) == Approx(0.94).epsilon(1e-14));
    set_grad(w, 0.5);
    sgd.step();
    // g' = 0.5 + 0.1 * 0.94 = 0.594, theta2 = 0.94 - 0.0594 = 0.8806
    CHECK(value(w) == Approx(0.8806).epsilon(1e-14));
}

TEST_CASE("SGD with every option matches a scalar reference on a parameter wider than a SIMD batch")
{
    const std::size_t rows = 3, cols = 11;  // 33 elements: full batches and a scalar tail
    Tensor<double> init = Tensor<double>::from_shape({rows, cols});
    for (std::size_t i = 0; i < init.size(); ++i) init.data()[i] = std::sin(double(i) + 0.3);
    Param<double> w(init, "w");
    const SgdOptions options{.lr = 0.05, .momentum = 0.8, .weight_decay = 0.01, .nesterov = true};
    Sgd<double> sgd({w}, options);

    std::vector<double> theta(init.begin(), init.end()), buffer(init.size(), 0.0);
    for (int step = 0; step < 3; ++step) {
        for (std::size_t i = 0; i < init.size(); ++i) {
            const double g = std::cos(double(i) * (step + 1));
            w.grad().data()[i] = g;
            const double gd = g + options.weight_decay * theta[i];
            buffer[i] = options.momentum * buffer[i] + gd;
            theta[i] -= options.lr * (gd + options.momentum * buffer[i]);
        }
        sgd.step();
    }
    for (std::size_t i = 0; i < init.size(); ++i) {
        CHECK(w.value().data()[i] == Approx(theta[i]).epsilon(1e-13));
        CHECK(w.grad().data()[i] == 0.0);
    }
}

TEST_CASE("SGD leaves a frozen parameter's value gradient and buffer alone")
{
    auto live = scalar_param(1.0);
    auto frozen = scalar_param(2.0);
    frozen.set_trainable(false);
    Sgd<double> sgd({live, frozen}, {.lr = 0.1, .momentum = 0.5});
    set_grad(live, 1.0);
    set_grad(frozen, 1.0);
    sgd.step();
    CHECK(value(live) == Approx(0.9));
    CHECK(value(frozen) == 2.0);
    CHECK(frozen.grad()(0, 0) == 1.0);
    CHECK(frozen.node().moment1(0, 0) == 0.0);

    sgd.zero_grad();  // zero_grad clears every parameter, frozen or not
    CHECK(frozen.grad()(0, 0) == 0.0);
}

TEST_CASE("SGD learning rate can be changed between steps")
{
    auto w = scalar_param(1.0);
    Sgd<double> sgd({w}, {.lr = 0.1});
    CHECK(sgd.lr() == 0.1);
    sgd.set_lr(0.5);
    CHECK(sgd.lr() == 0.5);
    set_grad(w, 1.0);
    sgd.step();
    CHECK(value(w) == Approx(0.5));
    sgd.set_lr(0.0);  // a schedule may decay to zero
    CHECK_THROWS_WITH(sgd.set_lr(-1), Contains("Sgd") && Contains("lr") && Contains("-1"));
    CHECK(sgd.parameters().size() == 1);
    CHECK(sgd.parameters()[0] == w);
}

TEST_CASE("SGD rejects bad options with a message naming the option and its value")
{
    auto w = scalar_param(1.0);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(Sgd<double>({w}, {.lr = 0}), usage_error);
    CHECK_THROWS_WITH(Sgd<double>({w}, {.lr = -0.5}), Contains("bijou: Sgd: lr") && Contains("-0.5"));
    CHECK_THROWS_WITH(Sgd<double>({w}, {.lr = nan}), Contains("Sgd: lr"));
    CHECK_THROWS_WITH(Sgd<double>({w}, {.momentum = 1}), Contains("Sgd: momentum") && Contains("1"));
    CHECK_THROWS_WITH(Sgd<double>({w}, {.momentum = -0.1}), Contains("Sgd: momentum") && Contains("-0.1"));
    CHECK_THROWS_WITH(Sgd<double>({w}, {.weight_decay = -1}), Contains("Sgd: weight_decay") && Contains("-1"));
    CHECK_THROWS_WITH(Sgd<double>({w}, {.nesterov = true}), Contains("Sgd: nesterov"));
    CHECK_THROWS_WITH(Sgd<double>(std::vector<Param<double>>{}), Contains("Sgd: the parameter list is empty"));
    CHECK_THROWS_WITH(Sgd<double>({w, w}), Contains("'w' appears twice"));
    CHECK_THROWS_WITH(Sgd<double>({Param<double>()}), Contains("null"));
}

TEST_CASE("SGD in float updates like double")
{
    Param<float> w(Tensor<float>{{1.0f, 2.0f, 3.0f}}, "w");
    Sgd<float> sgd({w}, {.lr = 0.25, .momentum = 0.5});
    w.grad() = Tensor<float>{{1.0f, -1.0f, 2.0f}};
    sgd.step();
    CHECK(w.value()(0, 0) == Approx(0.75));
    CHECK(w.value()(0, 1) == Approx(2.25));
    CHECK(w.value()(0, 2) == Approx(2.5));
}
