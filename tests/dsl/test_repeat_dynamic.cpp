// repeat(n, spec), the chain with a run-time count, computes exactly what repeat<N>(spec) computes:
// same outputs, log-dets and gradients, in both directions, with and without a condition.
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/repeat_dynamic.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/flows/couplings.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

namespace {
const auto smooth = dsl::conditioner(hidden(6), MLPOptions<activation::tanh>{.zero_last = true});
const auto step = dsl::seq(flows::realnvp_coupling(smooth), dsl::permute_random());

template <class Block>
void randomise(const Block& block, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, 0.6);
    for (auto& p : block.parameters())
        for (auto& v : p.value()) v = normal(rng);
}

// loss = NLL-like terms of the forward pass at x plus terms of the inverse pass at z.
template <class Block, class C>
auto loss_program(const Block& block, const Input<double>& x, const Input<double>& z, const C& c)
{
    auto [y, log_det] = block.forward(x, c);
    auto [x_of_z, log_det_of_z] = block.inverse(z, c);
    return Program(0.5 * sum(square(y)) - sum(log_det) + sum(square(x_of_z)) - 0.5 * sum(log_det_of_z), y,
                   log_det, x_of_z, log_det_of_z);
}
}  // namespace

TEST_CASE("repeat(n spec) matches repeat<N>(spec) in values and gradients")
{
    dsl::BuildContext a, b;
    auto dynamic = dsl::repeat(3, step).build<double>(4, a);
    auto fixed = dsl::repeat<3>(step).build<double>(4, b);
    randomise(dynamic, 4);
    randomise(fixed, 4);
    Input<double> x(4, "x", {.requires_grad = true}), z(4, "z", {.requires_grad = true});
    Input<double> x2(4, "x2", {.requires_grad = true}), z2(4, "z2", {.requires_grad = true});
    auto p = loss_program(dynamic, x, z, dsl::NoCondition{});
    auto q = loss_program(fixed, x2, z2, dsl::NoCondition{});
    p.bind(5);
    q.bind(5);
    const auto xs = testing::normal_batch(5, 4, 1), zs = testing::normal_batch(5, 4, 2);
    x.set(xs), x2.set(xs), z.set(zs), z2.set(zs);
    p.forward(), q.forward();
    CHECK(p.template value<0>()(0, 0) == Approx(q.template value<0>()(0, 0)).epsilon(1e-13));
    for (std::size_t i = 0; i < 20; ++i) {
        CHECK(p.template value<1>().data()[i] == Approx(q.template value<1>().data()[i]).epsilon(1e-13));
        CHECK(p.template value<3>().data()[i] == Approx(q.template value<3>().data()[i]).epsilon(1e-13));
    }
    for (std::size_t r = 0; r < 5; ++r) {
        CHECK(p.template value<2>()(r, 0) == Approx(q.template value<2>()(r, 0)).epsilon(1e-13));
        CHECK(p.template value<4>()(r, 0) == Approx(q.template value<4>()(r, 0)).epsilon(1e-13));
    }
    for (auto& prm : dynamic.parameters()) prm.zero_grad();
    for (auto& prm : fixed.parameters()) prm.zero_grad();
    p.backward(), q.backward();
    const auto dp = dynamic.parameters(), fp = fixed.parameters();
    REQUIRE(dp.size() == fp.size());
    for (std::size_t k = 0; k < dp.size(); ++k)
        for (std::size_t i = 0; i < dp[k].size(); ++i)
            CHECK(dp[k].grad().data()[i] == Approx(fp[k].grad().data()[i]).margin(1e-12));
    for (std::size_t i = 0; i < 20; ++i) {
        CHECK(x.grad().data()[i] == Approx(x2.grad().data()[i]).margin(1e-12));
        CHECK(z.grad().data()[i] == Approx(z2.grad().data()[i]).margin(1e-12));
    }

    std::vector<testing::GradientTarget> targets{testing::target(x), testing::target(z)};
    for (const auto& prm : dp) targets.push_back(testing::target(prm));
    const auto report = testing::check_gradients(p, targets, {.step = 1e-5});
    INFO(report.worst_where);
    CHECK(report.worst_error < testing::gradient_tolerance);
}

TEST_CASE("repeat(n spec) inside conditional: gradients reach the condition and the condition net")
{
    dsl::BuildContext context;
    auto block = dsl::conditional(dsl::repeat(2, step), 3, dsl::condition_net(hidden(5), 2, MLPOptions<activation::tanh>{}))
                     .build<double>(4, context);
    randomise(block, 6);
    Input<double> x(4, "x", {.requires_grad = true}), z(4, "z", {.requires_grad = true});
    Input<double> c(3, "c", {.requires_grad = true});
    auto p = loss_program(block, x, z, c);
    p.bind(4);
    x.set(testing::normal_batch(4, 4, 1)), z.set(testing::normal_batch(4, 4, 2)), c.set(testing::normal_batch(4, 3, 3));
    p.forward();
    std::vector<testing::GradientTarget> targets{testing::target(x), testing::target(z), testing::target(c)};
    for (const auto& prm : block.parameters()) targets.push_back(testing::target(prm));
    const auto report = testing::check_gradients(p, targets, {.step = 1e-5});
    INFO(report.worst_where);
    CHECK(report.worst_error < testing::gradient_tolerance);
}

TEST_CASE("repeat(n spec): parameters get gradients when the input does not ask for one")
{
    // Regression: the chain kernel once hid its parameters from the outer graph, which then skipped the
    // backward pass whenever the data input had no gradient (as in training), so nothing learned.
    dsl::BuildContext context;
    auto block = dsl::repeat(2, step).build<double>(4, context);
    randomise(block, 5);
    Input<double> x(4, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    Program nll(0.5 * sum(square(y)) - sum(log_det));
    CHECK(nll.parameters().size() == block.parameters().size());
    nll.bind(3);
    x.set(testing::normal_batch(3, 4, 1));
    nll.forward();
    nll.backward();
    double norm = 0;
    for (const auto& p : block.parameters())
        for (auto g : p.grad()) norm += g * g;
    CHECK(norm > 0);
}

TEST_CASE("repeat(n spec): n = 0 and a missing condition are reported")
{
    dsl::BuildContext context;
    REQUIRE_THROWS_WITH(dsl::repeat(0, step).build<double>(4, context), Catch::Contains("n = 0"));
    context.condition_dim = 2;
    auto conditional_blocks = dsl::repeat(2, step).build<double>(4, context);
    Input<double> x(4);
    REQUIRE_THROWS_WITH(conditional_blocks.forward(x, dsl::NoCondition{}), Catch::Contains("called without a condition"));
}
