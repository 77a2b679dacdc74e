// pairwise_mean(k, Pairs::all | Pairs::distinct): the mean over all entries of a pairwise matrix, or
// over its off-diagonal entries (a U-statistic). Values against a reference loop, gradients against
// finite differences, float against double over many pairs, and the shape checks.
#include <bijou/engine/engine.hpp>
#include <bijou/flows/pairwise_mean.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

namespace {
double reference_mean(const Tensor<double>& k, bool distinct)
{
    double total = 0, count = 0;
    for (std::size_t i = 0; i < k.shape()[0]; ++i)
        for (std::size_t j = 0; j < k.shape()[1]; ++j)
            if (!distinct || i != j) {
                total += k(i, j);
                count += 1;
            }
    return total / count;
}
}  // namespace

TEST_CASE("pairwise_mean over all pairs and over distinct pairs")
{
    std::mt19937 rng(8);
    // Widths around the SIMD width, so each row's two ranges around the diagonal have tails.
    for (std::size_t n : {2, 3, 9, 19}) {
        INFO("n = " << n);
        Input<double> u(1, "u", {.requires_grad = true});
        auto k = exp(-square(u - transpose(u)));  // n x n, symmetric, diagonal 1
        Program program(pairwise_mean(k, Pairs::all), pairwise_mean(k, Pairs::distinct));
        program.bind(n);
        const Tensor<double> data = testing::uniform(n, 1, -2, 2, rng);
        u.set(data);
        program.forward();
        Tensor<double> reference = Tensor<double>::from_shape({n, n});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) reference(i, j) = std::exp(-std::pow(data(i, 0) - data(j, 0), 2));
        CHECK(program.value<0>()(0, 0) == Approx(reference_mean(reference, false)).epsilon(1e-14));
        CHECK(program.value<1>()(0, 0) == Approx(reference_mean(reference, true)).epsilon(1e-14));
        CHECK_GRADIENTS(program, {testing::target(u)});
    }
}

TEST_CASE("pairwise_mean of a rectangular matrix over all pairs")
{
    std::mt19937 rng(9);
    Input<double> u(2, "u", {.requires_grad = true});
    Param<double> v(testing::uniform(7, 2, -1, 1, rng), "v");
    Program program(pairwise_mean(tanh(matmul(u, transposed(v)))));  // 5 x 7
    program.bind(5);
    const Tensor<double> data = testing::uniform(5, 2, -1, 1, rng);
    u.set(data);
    program.forward();
    CHECK(program.value()(0, 0) ==
          Approx(xt::mean(xt::tanh(testing::reference_matmul(data, xt::transpose(v.value()))))()).epsilon(1e-14));
    CHECK_GRADIENTS(program, {testing::target(u), testing::target(v)});
}

TEST_CASE("pairwise_mean in float keeps its precision over a million pairs")
{
    Input<float> u(1, "u");
    Program program(pairwise_mean(1.0f / (1.0f + square(u - transpose(u))), Pairs::distinct));
    const std::size_t n = 1000;
    program.bind(n);
    Tensor<float> data = Tensor<float>::from_shape({n, 1});
    for (std::size_t i = 0; i < n; ++i) data(i, 0) = float(i) * 1e-3f;
    u.set(data);
    program.forward();
    double total = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
            if (i != j) {
                const double d = double(data(i, 0)) - double(data(j, 0));
                total += 1 / (1 + d * d);
            }
    CHECK(double(program.value()(0, 0)) == Approx(total / (double(n) * double(n - 1))).epsilon(1e-6));
}

TEST_CASE("pairwise_mean over distinct pairs needs a square matrix of at least 2 x 2")
{
    Input<double> u(1, "u");
    Param<double> v(Shape{3, 1}, "v");
    Program rectangular(pairwise_mean(matmul(u, transposed(v)), Pairs::distinct));
    CHECK_THROWS_WITH(rectangular.bind(4), Catch::Contains("pairwise_mean") && Catch::Contains("(4 x 3)"));
    Program single(pairwise_mean(u - transpose(u), Pairs::distinct));
    CHECK_THROWS_AS(single.bind(1), shape_error);
}
