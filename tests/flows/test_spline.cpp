// The rational-quadratic spline as a coupling transform: a spline coupling starts as the identity,
// inverts its forward pass with opposite log-dets, reports the log-det of its Jacobian, and trains by
// backpropagation through both directions (NLL and an inverse-pass loss, gradients against finite
// differences in double).
#include <bijou/dsl/check.hpp>
#include <bijou/dsl/coupling.hpp>
#include <bijou/flows/flow.hpp>
#include <bijou/flows/spline.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "support/checks.hpp"

using namespace bijou;

namespace {

constexpr std::size_t dim = 5;

auto spline_flow()
{
    return make_flow<double>(
        dim, dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), flows::rational_quadratic(5, 3.0)), 3);
}

template <class Flow>
void randomise(Flow& flow, unsigned seed, double scale)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, scale);
    for (auto& p : flow.parameters())
        for (auto& v : p.value()) v = normal(rng);
}

std::vector<testing::GradientTarget> targets(const std::vector<Param<double>>& parameters)
{
    std::vector<testing::GradientTarget> all;
    for (const auto& p : parameters) all.push_back(testing::target(p));
    return all;
}

// The spline's finite differences are limited by rounding amplified where the spline is steep or flat;
// a step of 1e-5 keeps them well inside the 1e-6 tolerance (see tests/engine/test_rq_spline.cpp).
const testing::GradientOptions gradient_options{.step = 1e-5};

}  // namespace

TEST_CASE("spline coupling starts as the identity")
{
    auto flow = spline_flow();
    const Tensor<double> x = 2.0 * testing::normal_batch(8, dim, 1);  // some rows reach the tails
    const auto [y, log_det] = flow.forward(x);
    CHECK(xt::allclose(y, x, 0, 1e-14));
    CHECK(xt::amax(xt::abs(log_det))() <= 1e-14);
}

TEST_CASE("spline coupling round trip log-det symmetry and log-det of the Jacobian")
{
    auto flow = spline_flow();
    randomise(flow, 4, 0.8);
    const Tensor<double> x = 2.0 * testing::normal_batch(16, dim, 2);
    const auto [y, log_det] = flow.forward(x);
    const auto [x_back, log_det_inverse] = flow.inverse(y);
    CHECK(xt::amax(xt::abs(x_back - x))() <= 1e-10);
    CHECK(xt::amax(xt::abs(log_det_inverse + log_det))() <= 1e-10);
    CHECK(xt::amax(xt::abs(log_det))() > 0.1);  // the spline is not the identity any more

    // The coupling's Jacobian is block-triangular with a diagonal spline block: log|det| is the sum of
    // log dy_i/dx_i over the transformed features (the last dim - dim/2), each by the fourth-order
    // central difference (-y(x+2h) + 8y(x+h) - 8y(x-h) + y(x-2h)) / 12h, accurate in narrow bins too.
    const double h = 1e-4;
    for (std::size_t r = 0; r < 16; ++r) {
        const Tensor<double> row = xt::view(x, xt::range(r, r + 1), xt::all());
        double numerical = 0;
        for (std::size_t i = dim / 2; i < dim; ++i) {
            auto y_at = [&](double shift) {
                Tensor<double> moved = row;
                moved(0, i) += shift;
                return flow.forward(moved).first(0, i);
            };
            numerical += std::log((-y_at(2 * h) + 8 * y_at(h) - 8 * y_at(-h) + y_at(-2 * h)) / (12 * h));
        }
        CHECK(log_det(r, 0) == Approx(numerical).epsilon(0).margin(1e-6));  // measured <= 5e-8
    }
}

TEST_CASE("spline coupling NLL gradients match finite differences")
{
    auto flow = spline_flow();
    randomise(flow, 5, 0.5);
    Input<double> x(dim, "x", {.requires_grad = true});
    auto program = flow.loss_program(x);
    program.bind(6);
    x.set(1.5 * testing::normal_batch(6, dim, 3));
    auto all = targets(flow.parameters());
    all.push_back(testing::target(x));
    CHECK_GRADIENTS(program, all, gradient_options);
}

TEST_CASE("spline coupling inverse pass gradients match finite differences")
{
    // INN training backpropagates through f^-1: the inverse's values and log-det, w.r.t. z and the
    // conditioner's parameters.
    auto flow = spline_flow();
    randomise(flow, 6, 0.5);
    Input<double> z(dim, "z", {.requires_grad = true});
    auto [x, log_det] = flow.block().inverse(z, dsl::NoCondition{});
    Program program(x, log_det);
    program.bind(6);
    z.set(1.5 * testing::normal_batch(6, dim, 4));
    auto all = targets(flow.parameters());
    all.push_back(testing::target(z));
    CHECK_GRADIENTS(program, all, gradient_options);
}

TEST_CASE("rational_quadratic rejects bad settings and mismatched parameter widths")
{
    CHECK_THROWS_AS(flows::rational_quadratic(1), usage_error);
    CHECK_THROWS_AS(flows::rational_quadratic(8, 0.0), usage_error);
    CHECK_THROWS_WITH(flows::rational_quadratic(8, -2.0), Catch::Contains("rational_quadratic_spline"));
    CHECK_THROWS_AS((flows::RationalQuadraticSpline{.bins = 1}.parameter_columns(2)), usage_error);

    const auto spline = flows::rational_quadratic(4, 2.0);
    CHECK(spline.parameter_columns(3) == 33);
    Input<double> x(3, "x_b");
    Input<double> p(spline.parameter_columns(2), "p");  // parameters for 2 features, given 3
    auto [y, log_det] = spline.forward(x, p);
    Program program(let(y), let(log_det));
    CHECK_THROWS_AS(program.bind(4), shape_error);
    CHECK_THROWS_WITH(program.bind(4),
                      Catch::Contains("rational_quadratic_spline") && Catch::Contains("33 parameter columns"));
}

// Regression (found by check_flows --seed 4): features of 1e3 saturate the conditioner, which makes bins
// of slope ~1e-7; evaluated in float, the inverse's theta fell outside [0, 1] and its log-det was NaN.
TEST_CASE("float spline coupling stays finite when the conditioner saturates")
{
    dsl::BuildContext context;
    context.rng.seed(4);
    const auto block =
        dsl::coupling(dsl::halves, dsl::conditioner(hidden(16)), flows::rational_quadratic(6, 3.0)).build<float>(5, context);
    const Tensor<double> x{{-1.8e+03, 2e+03, 0, 0, 0}};
    dsl::CheckOptions options{.cases = 1, .batch = 1, .seed = 4};
    options.round_trip_tolerance = 1e30;  // ill-conditioned in float: only finiteness is at stake
    options.symmetry_tolerance = 1e30;
    options.check_jacobian = false;
    const auto report = dsl::check_bijection(block, dsl::samplers::fixed(x), options);
    INFO(report.summary());
    CHECK(report.non_finite == 0);
    CHECK(report.passed);
}
