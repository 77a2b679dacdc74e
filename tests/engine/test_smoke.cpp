// End to end through the engine's core: matmul, broadcast bias, a fused elementwise chain, a
// reduction, and the reverse sweep into parameters and an input.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "support/gradcheck.hpp"

using namespace bijou;

TEST_CASE("a one-layer network's loss matches a hand computation and its gradients finite differences")
{
    Input<double> x(3, "x", {.requires_grad = true});
    Param<double> w(Tensor<double>{{1.0, 2.0}, {0.5, -1.0}, {0.0, 3.0}}, "w");
    Param<double> b(Tensor<double>{{0.1, -0.2}}, "b");
    auto loss = mean(square(tanh(matmul(x, w) + b)));
    Program program(loss);
    program.bind(4);
    Tensor<double> data{{1, 2, 3}, {0, 1, 0}, {-1, 0.5, 2}, {0.3, 0.2, 0.1}};
    x.set(data);
    program.forward();

    double expected = 0;
    for (std::size_t r = 0; r < 4; ++r)
        for (std::size_t c = 0; c < 2; ++c) {
            double h = b.value()(0, c);
            for (std::size_t k = 0; k < 3; ++k) h += data(r, k) * w.value()(k, c);
            expected += std::tanh(h) * std::tanh(h) / 8;
        }
    CHECK(program.value()(0, 0) == Approx(expected).epsilon(1e-14));

    const auto report = testing::check_gradients(program, {testing::target(w), testing::target(b), testing::target(x)});
    INFO(report.worst_where << ": analytic " << report.analytic << ", numeric " << report.numeric);
    CHECK(report.worst_error < 1e-6);
}
