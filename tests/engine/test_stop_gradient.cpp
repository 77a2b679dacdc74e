// stop_gradient(e): forward is e, backward sends nothing into e. Checked against the analytic gradient
// of the loss with the stopped factor held constant, in a fused expression, through a shared Var (which
// still receives its other consumers' adjoint), and with inf arriving from above.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

TEST_CASE("stop_gradient passes the value and blocks the gradient")
{
    std::mt19937 rng(3);
    const Tensor<double> data = testing::uniform(5, 3, -1, 1, rng);
    Input<double> x(3, "x", {.requires_grad = true});
    // L = sum(x * stop(exp(x))): dL/dx = exp(x) (the stopped factor is a constant), not exp(x) (1 + x).
    Program program(sum(x * stop_gradient(exp(x))));
    program.bind(5);
    x.set(data);
    program.forward();
    CHECK(program.value()(0, 0) == Approx(xt::sum(data * xt::exp(data))()).epsilon(1e-14));
    program.backward();
    CHECK(xt::allclose(x.grad(), xt::exp(data), 1e-14, 0));
}

TEST_CASE("stop_gradient on a shared Var leaves its other consumers' gradient")
{
    std::mt19937 rng(4);
    const Tensor<double> data = testing::uniform(4, 2, -1, 1, rng);
    Input<double> x(2, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(1, 2, 0.5, 1.5, rng), "w");
    auto v = let(square(x) * w);  // read twice: once stopped, once not
    // L = sum(v) + sum(v * stop(v)): dL/dv = 1 + v, so dL/dx = (1 + v) 2 x w and dL/dw = sum_rows (1 + v) x^2.
    Program program(sum(v) + sum(v * stop_gradient(v)));
    program.bind(4);
    x.set(data);
    program.forward();
    program.backward();
    const Tensor<double> value = xt::square(data) * w.value();
    CHECK(xt::allclose(x.grad(), (1.0 + value) * 2.0 * data * w.value(), 1e-13, 0));
    CHECK(xt::allclose(w.grad(), xt::sum((1.0 + value) * xt::square(data), {0}), 1e-13, 0));
}

TEST_CASE("stop_gradient alone sends nothing back and lets no inf through")
{
    Input<double> x(2, "x", {.requires_grad = true});
    Program program(stop_gradient(exp(x)));
    program.bind(3);
    x.set(Tensor<double>{{0, 1}, {2, 3}, {-1, 0.5}});
    program.forward();
    CHECK(program.value()(1, 0) == Approx(std::exp(2.0)));
    Tensor<double> seed = xt::ones<double>({3, 2});
    seed(0, 0) = std::numeric_limits<double>::infinity();
    program.backward_from(seed);
    CHECK(xt::all(xt::equal(x.grad(), 0.0)));
}
