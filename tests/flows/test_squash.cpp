// sigmoid_layer and logit_layer: values, the Bijection laws, gradients through both passes, extreme
// inputs and what happens outside the logit's domain.
#include <bijou/dsl/seq.hpp>
#include <bijou/flows/squash.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "support/checks.hpp"
#include "support/numerical_jacobian.hpp"

using namespace bijou;

namespace {
double sigmoid_of(double x) { return 1 / (1 + std::exp(-x)); }

template <class Block>
void check_laws(const Block& block, const Tensor<double>& data)
{
    Input<double> x(block.dim(), "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(y, x_back, log_det, log_det_inverse);
    program.bind(data.shape()[0]);
    x.set(data);
    program.forward();
    for (std::size_t r = 0; r < data.shape()[0]; ++r) {
        for (std::size_t j = 0; j < block.dim(); ++j)
            CHECK(program.template value<1>()(r, j) == Approx(data(r, j)).epsilon(1e-10).margin(1e-10));
        CHECK(program.template value<3>()(r, 0) == Approx(-program.template value<2>()(r, 0)).epsilon(1e-12));
        CHECK(program.template value<2>()(r, 0) == Approx(testing::numerical_log_det(program, x, r)).margin(1e-6));
    }
}

template <class Block>
void check_gradients_both_ways(const Block& block, const Tensor<double>& x_data, const Tensor<double>& z_data)
{
    {
        Input<double> x(block.dim(), "x", {.requires_grad = true});
        auto [z, log_det] = block.forward(x, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(z), 1) - log_det));
        program.bind(x_data.shape()[0]);
        x.set(x_data);
        CHECK_GRADIENTS(program, {testing::target(x)});
    }
    {
        Input<double> z(block.dim(), "z", {.requires_grad = true});
        auto [x, log_det] = block.inverse(z, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(x), 1) + log_det));
        program.bind(z_data.shape()[0]);
        z.set(z_data);
        CHECK_GRADIENTS(program, {testing::target(z)});
    }
}

// Forward values and per-row log-dets of a block on `data`.
template <class Block>
std::pair<Tensor<double>, Tensor<double>> run_forward(const Block& block, const Tensor<double>& data)
{
    Input<double> x(block.dim(), "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    Program program(y, log_det);
    program.bind(data.shape()[0]);
    x.set(data);
    program.forward();
    return {program.template value<0>(), program.template value<1>()};
}
}  // namespace

TEST_CASE("sigmoid_layer: values and log-det also at zero and at |x| = 1e3")
{
    dsl::BuildContext context;
    auto block = flows::sigmoid_layer().build<double>(3, context);
    CHECK(block.parameters().empty());
    const Tensor<double> data{{0.5, -2, 3}, {0, 0, 0}, {1e3, -1e3, 0}};
    auto [y, log_det] = run_forward(block, data);
    for (std::size_t r = 0; r < 3; ++r) {
        double expected = 0;
        for (std::size_t j = 0; j < 3; ++j) {
            CHECK(y(r, j) == Approx(sigmoid_of(data(r, j))));
            const double x = data(r, j);  // log s(x) + log s(-x) = -|x| - 2 log(1 + e^-|x|)
            expected += -std::abs(x) - 2 * std::log1p(std::exp(-std::abs(x)));
        }
        CHECK(std::isfinite(log_det(r, 0)));
        CHECK(log_det(r, 0) == Approx(expected).epsilon(1e-12));
    }
    CHECK(log_det(1, 0) == Approx(-6 * std::log(2.0)));
    CHECK(log_det(2, 0) == Approx(-2000 - 2 * std::log(2.0)));
}

TEST_CASE("sigmoid_layer: bijection laws and gradients through both passes")
{
    dsl::BuildContext context;
    auto block = flows::sigmoid_layer().build<double>(4, context);
    Tensor<double> data = 2.0 * testing::normal_batch(5, 4, 3);
    for (std::size_t j = 0; j < 4; ++j) data(4, j) = 0;
    check_laws(block, data);
    std::mt19937 rng(1);
    check_gradients_both_ways(block, testing::uniform(4, 4, -3, 3, rng), testing::uniform(4, 4, 0.05, 0.95, rng));
}

TEST_CASE("logit_layer: values with the alpha squeeze and finite results at 0 and 1")
{
    dsl::BuildContext context;
    const double alpha = 0.05;
    auto block = flows::logit_layer(alpha).build<double>(3, context);
    const Tensor<double> data{{0.2, 0.5, 0.9}, {0, 1, 0.5}};
    auto [y, log_det] = run_forward(block, data);
    for (std::size_t r = 0; r < 2; ++r) {
        double expected = 0;
        for (std::size_t j = 0; j < 3; ++j) {
            const double squeezed = alpha + (1 - 2 * alpha) * data(r, j);
            CHECK(y(r, j) == Approx(std::log(squeezed / (1 - squeezed))));
            expected += std::log(1 - 2 * alpha) - std::log(squeezed) - std::log(1 - squeezed);
        }
        CHECK(log_det(r, 0) == Approx(expected).epsilon(1e-12));
    }
}

TEST_CASE("logit_layer: bijection laws and gradients through both passes")
{
    dsl::BuildContext context;
    auto block = flows::logit_layer(0.05).build<double>(4, context);
    std::mt19937 rng(2);
    Tensor<double> data = testing::uniform(5, 4, 0.01, 0.99, rng);
    data(4, 0) = 0;  // the ends of the interval are inside the squeezed domain
    data(4, 1) = 1;
    check_laws(block, data);
    check_gradients_both_ways(block, testing::uniform(4, 4, 0.02, 0.98, rng), testing::uniform(4, 4, -3, 3, rng));
}

TEST_CASE("logit_layer: the inverse pass at large |y|")
{
    dsl::BuildContext context;
    const double alpha = 0.05;
    auto block = flows::logit_layer(alpha).build<double>(2, context);
    Input<double> y(2, "y");
    auto [x, log_det] = block.inverse(y, dsl::NoCondition{});
    Program program(x, log_det);
    program.bind(2);
    y.set(Tensor<double>{{10, -10}, {1e3, -1e3}});
    program.forward();
    // log|det| of the inverse = sum_j log sigmoid'(y_j) - log(1 - 2 alpha), finite while sigmoid(y) < 1
    const double expected = 2 * (-10 - 2 * std::log1p(std::exp(-10.0)) - std::log(1 - 2 * alpha));
    CHECK(program.value<1>()(0, 0) == Approx(expected).epsilon(1e-9));
    // at |y| = 1e3 sigmoid saturates: x is the end of the squeezed range, the log-det is non-finite (not a
    // finite lie): -inf, or NaN when x' = alpha + (1 - 2 alpha) x rounds just above 1
    CHECK(program.value<0>()(1, 0) == Approx((1 - alpha) / (1 - 2 * alpha)));
    CHECK(program.value<0>()(1, 1) == Approx(-alpha / (1 - 2 * alpha)));
    CHECK(!std::isfinite(program.value<1>()(1, 0)));
}

TEST_CASE("logit_layer: inputs outside the domain give NaN or infinities rather than finite values")
{
    dsl::BuildContext context;
    auto squeezed = flows::logit_layer(0.05).build<double>(2, context);
    auto [y, log_det] = run_forward(squeezed, Tensor<double>{{-0.5, 1.5}});
    CHECK(std::isnan(y(0, 0)));
    CHECK(std::isnan(y(0, 1)));
    CHECK(std::isnan(log_det(0, 0)));
    // 0 and 1 are outside the open logit's domain (a Flow made for dsl::unit_interval refuses them; the
    // block itself cannot throw from its kernels): infinities, never finite values.
    auto plain = flows::open_logit_layer().build<double>(2, context);
    auto [y0, log_det0] = run_forward(plain, Tensor<double>{{0.0, 1.0}});
    CHECK(y0(0, 0) == -std::numeric_limits<double>::infinity());
    CHECK(y0(0, 1) == std::numeric_limits<double>::infinity());
    CHECK(!std::isfinite(log_det0(0, 0)));
    CHECK_THROWS_AS(flows::logit_layer(0.5), usage_error);
    CHECK_THROWS_AS(flows::logit_layer(-0.1), usage_error);
    CHECK_THROWS_AS(flows::logit_layer(0.0), usage_error);
}

TEST_CASE("squash: logit after sigmoid is the identity and float round trips")
{
    dsl::BuildContext context;
    auto block = dsl::seq(flows::sigmoid_layer(), flows::open_logit_layer()).build<float>(3, context);
    const Tensor<float> data{{0.5f, -2.f, 3.f}, {0.f, 0.f, 0.f}, {-8.f, 8.f, 1.f}};
    Input<float> x(3, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(y, log_det, x_back, log_det_inverse);
    program.bind(3);
    x.set(data);
    program.forward();
    for (std::size_t i = 0; i < data.size(); ++i) {
        CHECK(program.value<0>().data()[i] == Approx(data.data()[i]).epsilon(1e-4).margin(1e-4));
        CHECK(program.value<2>().data()[i] == Approx(data.data()[i]).epsilon(1e-4).margin(1e-4));
    }
    for (std::size_t r = 0; r < 3; ++r) {
        CHECK(program.value<1>()(r, 0) == Approx(0.0f).margin(1e-4));
        CHECK(program.value<3>()(r, 0) == Approx(0.0f).margin(1e-4));
    }
}
