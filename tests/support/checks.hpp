// Shared helpers for the engine tests: seeded random data and the gradient-check assertion.
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"

namespace bijou::testing {

// The tolerance every finite-difference check in the engine tests is held to.
inline constexpr double gradient_tolerance = 1e-6;

// rows x cols values drawn uniformly from [low, high], each at least `margin` away from every kink
// (a point where the function under test is not differentiable).
inline Tensor<double> uniform(std::size_t rows, std::size_t cols, double low, double high, std::mt19937& rng,
                              const std::vector<double>& kinks = {}, double margin = 1e-2)
{
    std::uniform_real_distribution<double> draw(low, high);
    auto near_kink = [&](double v) {
        for (double k : kinks)
            if (std::abs(v - k) < margin) return true;
        return false;
    };
    Tensor<double> t = Tensor<double>::from_shape({rows, cols});
    for (auto& v : t) {
        do v = draw(rng);
        while (near_kink(v));
    }
    return t;
}

// A naive reference product, for checking the BLAS path.
// A batch of standard normal values, reproducible from its seed.
inline Tensor<double> normal_batch(std::size_t rows, std::size_t cols, unsigned seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    auto t = Tensor<double>::from_shape({rows, cols});
    for (auto& v : t) v = normal(rng);
    return t;
}

inline Tensor<double> reference_matmul(const Tensor<double>& a, const Tensor<double>& b)
{
    Tensor<double> c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
    for (std::size_t i = 0; i < a.shape()[0]; ++i)
        for (std::size_t j = 0; j < b.shape()[1]; ++j)
            for (std::size_t k = 0; k < a.shape()[1]; ++k) c(i, j) += a(i, k) * b(k, j);
    return c;
}

}  // namespace bijou::testing

// Checks every gradient of `program` (a double program) against central finite differences:
//   CHECK_GRADIENTS(program, {testing::target(w), testing::target(x)});
#define CHECK_GRADIENTS(program, ...)                                                                          \
    do {                                                                                                       \
        const auto gradient_report_ = ::bijou::testing::check_gradients(program, __VA_ARGS__);                 \
        INFO("worst gradient " << gradient_report_.worst_where << ": analytic " << gradient_report_.analytic \
                               << ", numeric " << gradient_report_.numeric << ", relative error "          \
                               << gradient_report_.worst_error);                                            \
        CHECK(gradient_report_.worst_error <= ::bijou::testing::gradient_tolerance);                           \
    } while (false)
