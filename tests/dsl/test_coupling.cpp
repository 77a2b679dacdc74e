#include <bijou/dsl/coupling.hpp>
#include <bijou/dsl/seq.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "support/gradcheck.hpp"

using namespace bijou;

namespace {
constexpr auto affine = dsl::elementwise([](auto x, auto s, auto t) { return x * exp(2.0 * tanh(s / 2.0)) + t; });

template <class Block>
void randomise(const Block& block, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, 0.5);
    for (auto& p : block.parameters())
        for (auto& v : p.value()) v = normal(rng);
}
}  // namespace

TEST_CASE("affine coupling: round trip log-det symmetry and gradients")
{
    dsl::BuildContext context;
    auto block = dsl::seq(dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), affine),
                          dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), affine))
                     .build<double>(5, context);
    randomise(block, 3);
    Input<double> x(5, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(x_back, log_det, log_det_inverse);
    program.bind(4);
    Tensor<double> data{{1, 2, 3, 4, 5}, {-1, 0, 0.5, 2, 1}, {0, 0, 0, 0, 0}, {3, -2, 1, -1, 0.2}};
    x.set(data);
    program.forward();
    for (std::size_t i = 0; i < data.size(); ++i)
        CHECK(program.template value<0>().data()[i] == Approx(data.data()[i]).margin(1e-12));
    for (std::size_t r = 0; r < 4; ++r) {
        CHECK(program.template value<1>()(r, 0) != 0.0);
        CHECK(program.template value<1>()(r, 0) == Approx(-program.template value<2>()(r, 0)).epsilon(1e-12));
    }
    std::vector<testing::GradientTarget> targets;
    for (const auto& p : block.parameters()) targets.push_back(testing::target(p));
    const auto report = testing::check_gradients(program, targets, {.step = 1e-5});
    INFO(report.worst_where);
    CHECK(report.worst_error < 1e-6);
}
