// Conditional blocks: z = f(x; c) is a bijection in x for every c, the condition changes the map, and
// gradients reach the couplings, the shared condition network and the condition itself.
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/flow.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

namespace {
const auto smooth = dsl::conditioner(hidden(8), MLPOptions<activation::tanh>{.zero_last = true});

template <class Flow>
void randomise(Flow& flow, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, 0.6);
    for (auto& p : flow.parameters())
        for (auto& v : p.value()) v = normal(rng);
}
}  // namespace

TEST_CASE("conditional flow: round trip for each condition and a log-density that depends on it")
{
    auto flow = make_flow<double>(
        3, dsl::conditional(dsl::seq(flows::realnvp_coupling(smooth), dsl::reverse(), flows::realnvp_coupling(smooth)), 2,
                            dsl::condition_net(hidden(6), 4)),
        7);
    STATIC_REQUIRE(decltype(flow)::conditional);
    CHECK(flow.condition_dim() == 2);
    randomise(flow, 1);
    const Tensor<double> x = testing::normal_batch(6, 3, 2);
    const Tensor<double> c = testing::normal_batch(6, 2, 3);
    auto [z, log_det] = flow.forward(x, c);
    auto [x_back, log_det_inverse] = flow.inverse(z, c);
    for (std::size_t r = 0; r < 6; ++r) {
        for (std::size_t j = 0; j < 3; ++j) CHECK(x_back(r, j) == Approx(x(r, j)).margin(1e-12));
        CHECK(log_det_inverse(r, 0) == Approx(-log_det(r, 0)).margin(1e-12));
    }
    const Tensor<double> other = testing::normal_batch(6, 2, 4);
    const Tensor<double> lp = flow.log_prob(x, c);
    const Tensor<double> lp_other = flow.log_prob(x, other);
    for (std::size_t r = 0; r < 6; ++r) CHECK(lp(r, 0) != lp_other(r, 0));

    // One condition row for a whole batch of samples.
    std::mt19937_64 rng(5);
    const Tensor<double> one = xt::view(c, xt::range(0, 1), xt::all());
    const Tensor<double> samples = flow.sample(10, one, rng);
    CHECK(samples.shape()[0] == 10);
    const Tensor<double> same = flow.log_prob(samples, one);
    for (auto v : same) CHECK(std::isfinite(v));
}

TEST_CASE("conditional flow: a condition of the wrong width names both shapes")
{
    auto flow = make_flow<double>(2, dsl::conditional(flows::nice_coupling(dsl::conditioner(hidden(4))), 3));
    const Tensor<double> x = testing::normal_batch(4, 2, 1);
    REQUIRE_THROWS_WITH(flow.log_prob(x, testing::normal_batch(4, 2, 1)),
                        Catch::Contains("Flow::log_prob") && Catch::Contains("4 x 3") && Catch::Contains("4 x 2"));
    REQUIRE_THROWS_WITH(flow.forward(x, testing::normal_batch(3, 3, 1)), Catch::Contains("got (3 x 3)"));
    dsl::BuildContext context;
    REQUIRE_THROWS_WITH(dsl::conditional(flows::nice_coupling(dsl::conditioner(hidden(4))), 0).build<double>(2, context),
                        Catch::Contains("condition_dim 0"));
}

TEST_CASE("conditional flow: NLL gradients reach couplings the condition net and the condition")
{
    dsl::BuildContext context;
    auto block = dsl::conditional(dsl::seq(flows::glow_coupling(smooth), dsl::reverse()), 2,
                                  dsl::condition_net(hidden(5), 3, MLPOptions<activation::tanh>{}))
                     .build<double>(4, context);
    std::mt19937 rng(8);
    std::normal_distribution<double> normal(0.0, 0.6);
    for (auto& p : block.parameters())
        for (auto& v : p.value()) v = normal(rng);
    Input<double> x(4, "x", {.requires_grad = true});
    Input<double> c(2, "c", {.requires_grad = true});
    Input<double> z(4, "z", {.requires_grad = true});
    auto [y, log_det] = block.forward(x, c);
    auto [x_of_z, log_det_of_z] = block.inverse(z, c);
    Program loss(0.5 * sum(square(y)) - sum(log_det) + sum(square(x_of_z)) - sum(log_det_of_z));
    loss.bind(5);
    x.set(testing::normal_batch(5, 4, 1));
    c.set(testing::normal_batch(5, 2, 2));
    z.set(testing::normal_batch(5, 4, 3));
    std::vector<testing::GradientTarget> targets{testing::target(x), testing::target(c), testing::target(z)};
    for (const auto& p : block.parameters()) targets.push_back(testing::target(p));
    const auto report = testing::check_gradients(loss, targets, {.step = 1e-5});
    INFO(report.worst_where);
    CHECK(report.worst_error < testing::gradient_tolerance);
}

TEST_CASE("conditional_affine: z = x exp(soft_clamp(s(c))) + t(c) with [s, t] = c W + b, a shared row broadcasts")
{
    // Without a condition network the parameters are one Linear map of c, so the expected values are
    // computed by hand from its weight (2 x 6: s then t for the 3 features) and bias.
    auto flow = make_flow<double>(3, dsl::conditional(flows::conditional_affine(), 2), 3);
    randomise(flow, 4);
    const auto params = flow.parameters();
    REQUIRE(params.size() == 2);
    const Tensor<double>& weight = params[0].value();
    const Tensor<double>& bias = params[1].value();
    REQUIRE(weight.shape()[0] == 2);
    REQUIRE(weight.shape()[1] == 6);
    const Tensor<double> x = testing::normal_batch(5, 3, 6);
    const Tensor<double> c = testing::normal_batch(5, 2, 7);
    auto [z, log_det] = flow.forward(x, c);
    for (std::size_t r = 0; r < 5; ++r) {
        double expected_log_det = 0;
        for (std::size_t j = 0; j < 3; ++j) {
            const double s = 2.0 * std::tanh((c(r, 0) * weight(0, j) + c(r, 1) * weight(1, j) + bias(0, j)) / 2.0);
            const double t = c(r, 0) * weight(0, j + 3) + c(r, 1) * weight(1, j + 3) + bias(0, j + 3);
            CHECK(z(r, j) == Approx(x(r, j) * std::exp(s) + t).margin(1e-12));
            expected_log_det += s;
        }
        CHECK(log_det(r, 0) == Approx(expected_log_det).margin(1e-12));
    }
    auto [x_back, log_det_inverse] = flow.inverse(z, c);
    for (std::size_t r = 0; r < 5; ++r) {
        for (std::size_t j = 0; j < 3; ++j) CHECK(x_back(r, j) == Approx(x(r, j)).margin(1e-12));
        CHECK(log_det_inverse(r, 0) == Approx(-log_det(r, 0)).margin(1e-12));
    }

    // One condition row for the batch gives the same log-densities as that row repeated, one per row.
    const Tensor<double> one = xt::view(c, xt::range(1, 2), xt::all());
    Tensor<double> repeated = Tensor<double>::from_shape({5, 2});
    for (std::size_t r = 0; r < 5; ++r)
        for (std::size_t j = 0; j < 2; ++j) repeated(r, j) = one(0, j);
    const Tensor<double> lp_one = flow.log_prob(x, one), lp_repeated = flow.log_prob(x, repeated);
    REQUIRE(lp_one.shape()[0] == 5);
    for (std::size_t r = 0; r < 5; ++r) CHECK(lp_one(r, 0) == Approx(lp_repeated(r, 0)).margin(1e-12));
}

TEST_CASE("conditional_affine: starts as the identity, and outside dsl::conditional it is refused by name")
{
    auto flow = make_flow<double>(4, dsl::conditional(flows::conditional_affine(), 3), 1);
    const Tensor<double> x = testing::normal_batch(3, 4, 1);
    auto [z, log_det] = flow.forward(x, testing::normal_batch(3, 3, 2));
    for (std::size_t r = 0; r < 3; ++r) {
        for (std::size_t j = 0; j < 4; ++j) CHECK(z(r, j) == x(r, j));
        CHECK(log_det(r, 0) == 0.0);
    }
    dsl::BuildContext context;
    REQUIRE_THROWS_WITH(flows::conditional_affine().build<double>(4, context),
                        Catch::Contains("conditional_transform") && Catch::Contains("dsl::conditional"));
}
