// The library's coupling blocks: GIN preserves volume exactly, Glow's block transforms every feature,
// and the clamp bounds the scale whichever form is chosen.
#include <bijou/flows/all_in_one.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/flow.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

namespace {
template <class Flow>
void randomise(Flow& flow, unsigned seed, double scale)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, scale);
    for (auto& p : flow.parameters())
        for (auto& v : p.value()) v = normal(rng);
}

// log|det J| of the flow's forward map at one row, from a central-difference Jacobian.
template <class Flow>
double numerical_log_det(Flow& flow, const Tensor<double>& row)
{
    const std::size_t d = row.shape()[1];
    const double h = 1e-6;
    Tensor<double> jacobian = Tensor<double>::from_shape({d, d});
    for (std::size_t j = 0; j < d; ++j) {
        Tensor<double> plus = row, minus = row;
        plus(0, j) += h;
        minus(0, j) -= h;
        const Tensor<double> up = flow.forward(plus).first;
        const Tensor<double> down = flow.forward(minus).first;
        for (std::size_t i = 0; i < d; ++i) jacobian(i, j) = (up(0, i) - down(0, i)) / (2 * h);
    }
    // log|det| by Gaussian elimination with partial pivoting.
    double log_det = 0;
    for (std::size_t k = 0; k < d; ++k) {
        std::size_t pivot = k;
        for (std::size_t i = k + 1; i < d; ++i)
            if (std::abs(jacobian(i, k)) > std::abs(jacobian(pivot, k))) pivot = i;
        for (std::size_t j = 0; j < d; ++j) std::swap(jacobian(k, j), jacobian(pivot, j));
        log_det += std::log(std::abs(jacobian(k, k)));
        for (std::size_t i = k + 1; i < d; ++i) {
            const double f = jacobian(i, k) / jacobian(k, k);
            for (std::size_t j = k; j < d; ++j) jacobian(i, j) -= f * jacobian(k, j);
        }
    }
    return log_det;
}

template <class Flow>
void check_block(Flow& flow, bool volume_preserving)
{
    const Tensor<double> x = 2.0 * testing::normal_batch(5, flow.dim(), 9);
    auto [y, log_det] = flow.forward(x);
    auto [x_back, log_det_inverse] = flow.inverse(y);
    for (std::size_t r = 0; r < 5; ++r) {
        for (std::size_t c = 0; c < flow.dim(); ++c) CHECK(x_back(r, c) == Approx(x(r, c)).margin(1e-12));
        CHECK(log_det_inverse(r, 0) == Approx(-log_det(r, 0)).margin(1e-12));
        const Tensor<double> row = xt::view(x, xt::range(r, r + 1), xt::all());
        CHECK(log_det(r, 0) == Approx(numerical_log_det(flow, row)).margin(1e-6));
        if (volume_preserving) CHECK(log_det(r, 0) == 0.0);
        else CHECK(log_det(r, 0) != 0.0);
    }
}
}  // namespace

TEST_CASE("gin coupling: volume preserving exactly and invertible")
{
    auto flow = make_flow<double>(5, flows::gin_coupling(dsl::conditioner(hidden(8))), 1);
    randomise(flow, 2, 0.8);
    check_block(flow, true);
}

TEST_CASE("glow coupling: both halves change and the log-det matches the Jacobian")
{
    auto flow = make_flow<double>(5, flows::glow_coupling(dsl::conditioner(hidden(8))), 1);
    randomise(flow, 3, 0.8);
    check_block(flow, false);
    const Tensor<double> x = testing::normal_batch(4, 5, 1);
    const Tensor<double> y = flow.forward(x).first;
    for (std::size_t r = 0; r < 4; ++r)
        for (std::size_t c = 0; c < 5; ++c) CHECK(y(r, c) != x(r, c));
}

TEST_CASE("realnvp coupling with the atan clamp on alternating features: scale bounded by the clamp")
{
    const SoftClamp clamp{.bound = 0.5, .kind = ClampKind::atan};
    auto flow = make_flow<double>(4, flows::realnvp_coupling(dsl::conditioner(hidden(8)), clamp, dsl::alternating), 1);
    randomise(flow, 4, 3.0);  // large raw scales: the clamp must hold them to |s| < 0.5 per feature
    check_block(flow, false);
    const Tensor<double> x = 5.0 * testing::normal_batch(50, 4, 5);
    const Tensor<double> log_det = flow.forward(x).second;
    for (std::size_t r = 0; r < 50; ++r) CHECK(std::abs(log_det(r, 0)) < 2 * 0.5);
}

TEST_CASE("nice coupling: volume preserving")
{
    auto flow = make_flow<double>(3, flows::nice_coupling(dsl::conditioner(hidden(8))), 1);
    randomise(flow, 5, 0.8);
    check_block(flow, true);
}

TEST_CASE("all-in-one block: invertible with the log-det of its three parts")
{
    auto flow = make_flow<double>(5, flows::all_in_one(dsl::conditioner(hidden(8))), 1);
    randomise(flow, 6, 0.7);
    check_block(flow, false);
}
