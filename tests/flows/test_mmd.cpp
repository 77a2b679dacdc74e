// MMD with multi-scale inverse multiquadric kernels (flows/mmd.hpp): the engine expression against the
// direct double computation for both estimators and both kernel forms, its gradients in both arguments
// against finite differences, float against double, the statistics (the unbiased estimate averages to
// 0 for equal distributions, the biased one does not), clamped distances, and the shape errors.
#include <bijou/flows/mmd.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "support/checks.hpp"

using namespace bijou;
using namespace bijou::flows;

namespace {
const MmdKernel imq = inverse_multiquadric_kernel({0.05, 0.2, 0.9});
const MmdKernel generalised = generalised_multiquadric_kernel({{0.2, 0.1}, {0.8, 0.5}, {0.2, 2}, {1.5, 1}});
}  // namespace

TEST_CASE("squared_distances against a reference and clamped at zero")
{
    std::mt19937 rng(20);
    Input<double> u(3, "u"), v(3, "v");
    Param<double> w(testing::uniform(4, 3, -2, 2, rng), "w");
    Program program(squared_distances(u, w), squared_distances(u));
    program.bind(5);
    Tensor<double> data = testing::uniform(5, 3, -2, 2, rng);
    // Two equal rows far from the origin: |u|^2 + |u|^2 - 2 u.u rounds to about +-1e-10 before the clamp.
    for (std::size_t c = 0; c < 3; ++c) data(3, c) = data(4, c) = 1e3 + 0.1 * double(c);
    u.set(data);
    program.forward();
    for (std::size_t i = 0; i < 5; ++i) {
        for (std::size_t j = 0; j < 4; ++j) {
            double d = 0;
            for (std::size_t c = 0; c < 3; ++c) d += std::pow(data(i, c) - w.value()(j, c), 2);
            CHECK(program.value<0>()(i, j) == Approx(d).epsilon(1e-10).margin(1e-6));
        }
        for (std::size_t j = 0; j < 5; ++j) CHECK(program.value<1>()(i, j) >= 0);
    }
    CHECK(program.value<1>()(3, 4) == Approx(0).margin(1e-6));
}

TEST_CASE("mmd equals the direct computation for both estimators and kernel forms")
{
    std::mt19937 rng(21);
    for (const MmdEstimator estimator : {MmdEstimator::biased, MmdEstimator::unbiased})
        for (const MmdKernel* kernel : {&imq, &generalised}) {
            const MmdOptions options{*kernel, estimator};
            INFO("estimator " << int(estimator) << ", kernel terms " << kernel->terms.size());
            Input<double> x(3, "x", {.requires_grad = true});
            Param<double> y(testing::uniform(11, 3, -1, 1.5, rng), "y");  // 11 rows against x's 7
            Program program(mmd(x, y, options));
            program.bind(7);
            const Tensor<double> data = testing::uniform(7, 3, -1, 1, rng);
            x.set(data);
            program.forward();
            CHECK(program.value()(0, 0) == Approx(sample_mmd(data, y.value(), options)).epsilon(1e-12));
            CHECK_GRADIENTS(program, {testing::target(x), testing::target(y)});
        }
}

TEST_CASE("mmd of an expression: gradients through a network into both sides")
{
    std::mt19937 rng(22);
    Input<double> x(2, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(2, 2, -1, 1, rng), "w");
    Param<double> shift(testing::uniform(1, 2, -1, 1, rng), "shift");
    // x through a layer against a shifted copy of the same batch: both sides depend on the parameters.
    Program program(mmd(tanh(matmul(x, w)), x + shift, {generalised, MmdEstimator::unbiased}));
    program.bind(9);
    x.set(testing::uniform(9, 2, -1, 1, rng));
    CHECK_GRADIENTS(program, {testing::target(x), testing::target(w), testing::target(shift)});
}

TEST_CASE("mmd in float agrees with the double computation over 300 x 300 pairs")
{
    std::mt19937_64 rng(23);
    const Tensor<double> a = testing::normal_batch(300, 4, 1), b = testing::normal_batch(300, 4, 2) + 0.3;
    Input<float> x(4, "x"), y(4, "y");
    Program program(mmd(x, y, {imq, MmdEstimator::unbiased}));
    program.bind(300);
    x.set(xt::cast<float>(a));
    y.set(xt::cast<float>(b));
    program.forward();
    const double expected = sample_mmd(a, b, {imq, MmdEstimator::unbiased});
    CHECK(double(program.value()(0, 0)) == Approx(expected).epsilon(1e-4));
}

TEST_CASE("the unbiased estimate averages to zero for equal distributions and the biased one does not")
{
    const MmdOptions biased{imq, MmdEstimator::biased}, unbiased{imq, MmdEstimator::unbiased};
    double sum_unbiased = 0, sum_squares = 0, sum_biased = 0, sum_shifted = 0;
    const int repeats = 200;
    for (int k = 0; k < repeats; ++k) {
        const Tensor<double> a = testing::normal_batch(20, 2, unsigned(100 + 2 * k));
        const Tensor<double> b = testing::normal_batch(20, 2, unsigned(101 + 2 * k));
        const double u = sample_mmd(a, b, unbiased);
        sum_unbiased += u;
        sum_squares += u * u;
        sum_biased += sample_mmd(a, b, biased);
        sum_shifted += sample_mmd(a, Tensor<double>(b + 1.0), unbiased);
    }
    const double mean = sum_unbiased / repeats;
    const double standard_error = std::sqrt((sum_squares / repeats - mean * mean) / repeats);
    CHECK(std::abs(mean) < 4 * standard_error);
    CHECK(sum_biased / repeats > 10 * standard_error);   // biased upwards by the diagonal terms
    CHECK(sum_shifted / repeats > 20 * standard_error);  // a shift by 1 per axis is plainly detected
}

TEST_CASE("mmd shape errors name the op and the shapes")
{
    Input<double> x(2, "x"), y(3, "y");
    Program program(mmd(x, y));
    CHECK_THROWS_AS(program.bind(4), shape_error);
    CHECK_THROWS_WITH(sample_mmd(Tensor<double>(xt::zeros<double>({4, 2})), Tensor<double>(xt::zeros<double>({4, 3}))),
                      Catch::Contains("sample_mmd") && Catch::Contains("(4 x 2)") && Catch::Contains("(4 x 3)"));
    CHECK_THROWS_AS(sample_mmd(Tensor<double>(xt::zeros<double>({1, 2})), Tensor<double>(xt::zeros<double>({4, 2})),
                               {imq, MmdEstimator::unbiased}),
                    shape_error);
    CHECK_THROWS_AS(inverse_multiquadric_kernel({0.1, 0.0}), usage_error);
}
