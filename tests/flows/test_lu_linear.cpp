// lu_linear: orthogonal at initialisation, y = x W^T with W = P L (U + diag), the Bijection laws with
// random parameters, gradients through both passes (masked entries get none), float round trip.
#include <bijou/flows/lu_linear.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "support/checks.hpp"
#include "support/numerical_jacobian.hpp"

using namespace bijou;

namespace {
// ||W||_F ||W^-1||_F, a bound on the 2-norm condition number of W, which bounds the round-trip error.
double condition_number(const Tensor<double>& w)
{
    const std::size_t n = w.shape()[0];
    std::vector<double> lu(w.begin(), w.end()), inverse(n * n);
    std::vector<std::size_t> pivots(n);
    detail::lu_factor(lu.data(), n, pivots.data());
    detail::lu_inverse(lu.data(), pivots.data(), n, inverse.data());
    double norm = 0, inverse_norm = 0;
    for (std::size_t i = 0; i < n * n; ++i) {
        norm += w.data()[i] * w.data()[i];
        inverse_norm += inverse[i] * inverse[i];
    }
    return std::sqrt(norm * inverse_norm);
}

Tensor<double> batch_with_extremes(std::size_t dim)
{
    Tensor<double> data = testing::normal_batch(6, dim, 4);
    for (std::size_t j = 0; j < dim; ++j) {
        data(3, j) = 0;
        data(4, j) = j % 2 ? -1e3 : 1e3;
        data(5, j) = -1e3;
    }
    return data;
}
}  // namespace

TEST_CASE("lu_linear: starts as a random orthogonal map with triangular factors and log-det 0")
{
    dsl::BuildContext context;
    auto block = flows::lu_linear().build<double>(6, context);
    static_assert(dsl::Bijection<decltype(block)>);
    CHECK(block.lower().name() == "flow.0.lu_linear.lower");
    CHECK(block.upper().name() == "flow.0.lu_linear.upper");
    CHECK(block.log_scale().name() == "flow.0.lu_linear.log_scale");
    const Tensor<double> w = block.weight();
    double worst = 0, log_det = 0;
    for (std::size_t i = 0; i < 6; ++i) {
        log_det += block.log_scale().value()(0, i);
        CHECK(std::abs(block.sign()(0, i)) == 1.0);
        for (std::size_t j = 0; j < 6; ++j) {
            double dot = 0;
            for (std::size_t k = 0; k < 6; ++k) dot += w(i, k) * w(j, k);
            worst = std::max(worst, std::abs(dot - (i == j ? 1.0 : 0.0)));
            if (i <= j) CHECK(block.lower().value()(i, j) == 0.0);
            if (i >= j) CHECK(block.upper().value()(i, j) == 0.0);
            CHECK(std::abs(block.lower().value()(i, j)) <= 1.0);  // partial pivoting bounds L's entries
        }
    }
    CHECK(worst < 1e-13);
    CHECK(std::abs(log_det) < 1e-12);
    // W is not the identity, nor the same for another draw
    CHECK(std::abs(w(0, 0)) < 1 - 1e-6);
    auto other = flows::lu_linear().build<double>(6, context);
    CHECK(std::abs(other.weight()(0, 0) - w(0, 0)) > 1e-9);
}

TEST_CASE("lu_linear: random parameters give y = x W^T and obey the bijection laws")
{
    dsl::BuildContext context;
    auto block = flows::lu_linear().build<double>(5, context);
    testing::randomise(block, 1, 0.4, testing::Noise::adds_to_values);
    const Tensor<double> w = block.weight();
    const Tensor<double> data = batch_with_extremes(5);
    Input<double> x(5, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(y, x_back, log_det, log_det_inverse);
    program.bind(6);
    x.set(data);
    program.forward();
    const Tensor<double> expected = testing::reference_matmul(data, xt::transpose(w));
    double sum_log_scale = 0;
    for (std::size_t j = 0; j < 5; ++j) sum_log_scale += block.log_scale().value()(0, j);
    CHECK(std::abs(sum_log_scale) > 0.1);
    for (std::size_t r = 0; r < 6; ++r) {
        for (std::size_t j = 0; j < 5; ++j) {
            CHECK(program.value<0>()(r, j) == Approx(expected(r, j)).epsilon(1e-12).margin(1e-9));
            CHECK(program.value<1>()(r, j) == Approx(data(r, j)).epsilon(1e-10).margin(1e-10));
        }
        CHECK(program.value<2>()(r, 0) == Approx(sum_log_scale).epsilon(1e-14));
        CHECK(program.value<3>()(r, 0) == Approx(-program.value<2>()(r, 0)).epsilon(1e-14));
        CHECK(program.value<2>()(r, 0) == Approx(testing::numerical_log_det(program, x, r)).margin(1e-6));
    }
}

TEST_CASE("lu_linear: gradients through the forward and the inverse pass")
{
    dsl::BuildContext context;
    auto block = flows::lu_linear().build<double>(4, context);
    testing::randomise(block, 2, 0.4, testing::Noise::adds_to_values);
    std::mt19937 rng(3);
    std::vector<testing::GradientTarget> targets;
    for (const auto& p : block.parameters()) targets.push_back(testing::target(p));
    {
        Input<double> x(4, "x", {.requires_grad = true});
        auto [z, log_det] = block.forward(x, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(z), 1) - log_det));
        program.bind(5);
        x.set(testing::uniform(5, 4, -2, 2, rng));
        auto all = targets;
        all.push_back(testing::target(x));
        CHECK_GRADIENTS(program, all);
        // entries outside the triangles are masked out: no gradient reaches them
        for (std::size_t i = 0; i < 4; ++i)
            for (std::size_t j = 0; j < 4; ++j) {
                if (i <= j) CHECK(block.lower().grad()(i, j) == 0.0);
                if (i >= j) CHECK(block.upper().grad()(i, j) == 0.0);
            }
    }
    {
        Input<double> z(4, "z", {.requires_grad = true});
        auto [x, log_det] = block.inverse(z, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(x), 1) + log_det));
        program.bind(5);
        z.set(testing::uniform(5, 4, -2, 2, rng));
        auto all = targets;
        all.push_back(testing::target(z));
        CHECK_GRADIENTS(program, all);
    }
}

TEST_CASE("lu_linear: one feature")
{
    dsl::BuildContext context;
    auto block = flows::lu_linear().build<double>(1, context);
    block.log_scale().value()(0, 0) = 0.7;
    Input<double> x(1, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(y, x_back, log_det);
    program.bind(2);
    x.set(Tensor<double>{{2}, {-1}});
    program.forward();
    CHECK(program.value<0>()(0, 0) == Approx(2 * block.sign()(0, 0) * std::exp(0.7)));
    CHECK(program.value<1>()(1, 0) == Approx(-1));
    CHECK(program.value<2>()(1, 0) == Approx(0.7));
}

TEST_CASE("lu_linear: float round trip")
{
    dsl::BuildContext context;
    auto block = flows::lu_linear().build<float>(16, context);
    testing::randomise(block, 4, 0.2, testing::Noise::adds_to_values);
    const double condition = condition_number(xt::cast<double>(block.weight()));
    const Tensor<float> data = xt::cast<float>(testing::normal_batch(32, 16, 5) * 3.0);
    Input<float> x(16, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(x_back, log_det, log_det_inverse);
    program.bind(32);
    x.set(data);
    program.forward();
    double worst = 0;
    for (std::size_t i = 0; i < data.size(); ++i)
        worst = std::max(worst, std::abs(double(program.value<0>().data()[i]) - double(data.data()[i])) /
                                    (1 + std::abs(double(data.data()[i]))));
    INFO("condition number bound " << condition << ", worst relative round-trip error " << worst);
    CHECK(condition > 10);  // a map well away from orthogonal
    CHECK(worst < 1e-4);
    for (std::size_t r = 0; r < 32; ++r) CHECK(program.value<2>()(r, 0) == Approx(-program.value<1>()(r, 0)));
}
