// seq(...), repeat<N>(spec) and repeat(n, spec) join blocks at block boundaries (dsl/chain.hpp). A chain
// computes exactly what the same blocks compute as one static expression (fused(...), the composition
// before block boundaries existed): same outputs, log-dets and gradients, in both directions, with and
// without a condition.
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/fused.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/lu_linear.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <xtensor/xview.hpp>

#include "support/checks.hpp"
#include "support/gradcheck.hpp"

using namespace bijou;

namespace {
// relu conditioners of one hidden layer: block types bijou::precompiled already holds, so this test
// compiles only its static references (the gradient check re-differences a step that straddles a kink).
const auto net = dsl::conditioner(hidden(6));

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

void require_equal(const Tensor<double>& a, const Tensor<double>& b, double tolerance)
{
    REQUIRE(a.shape() == b.shape());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a.data()[i] == Approx(b.data()[i]).epsilon(tolerance).margin(1e-14));
}

// Both blocks (same parameters) on the same data: values and every gradient agree.
template <class Chained, class Fused, class MakeCondition>
void require_same_as_fused(const Chained& chained, const Fused& fused, std::size_t dim, MakeCondition make_condition)
{
    const auto p_chained = chained.parameters(), p_fused = fused.parameters();
    REQUIRE(p_chained.size() == p_fused.size());
    for (std::size_t k = 0; k < p_chained.size(); ++k) {
        REQUIRE(p_chained[k].name() == p_fused[k].name());
        p_fused[k].value() = p_chained[k].value();
    }
    Input<double> x(dim, "x", {.requires_grad = true}), z(dim, "z", {.requires_grad = true});
    Input<double> x2(dim, "x2", {.requires_grad = true}), z2(dim, "z2", {.requires_grad = true});
    auto [c, c2, c_data] = make_condition();
    auto p = loss_program(chained, x, z, c);
    auto q = loss_program(fused, x2, z2, c2);
    p.bind(5);
    q.bind(5);
    const auto xs = testing::normal_batch(5, dim, 1), zs = testing::normal_batch(5, dim, 2);
    x.set(xs), x2.set(xs), z.set(zs), z2.set(zs);
    if constexpr (dsl::has_condition<decltype(c)>) c.set(c_data), c2.set(c_data);
    p.forward(), q.forward();
    require_equal(p.template value<0>(), q.template value<0>(), 1e-13);
    require_equal(p.template value<1>(), q.template value<1>(), 1e-13);
    require_equal(p.template value<2>(), q.template value<2>(), 1e-13);
    require_equal(p.template value<3>(), q.template value<3>(), 1e-13);
    require_equal(p.template value<4>(), q.template value<4>(), 1e-13);
    for (auto& prm : p_chained) prm.zero_grad();
    for (auto& prm : p_fused) prm.zero_grad();
    p.backward(), q.backward();
    for (std::size_t k = 0; k < p_chained.size(); ++k) require_equal(p_chained[k].grad(), p_fused[k].grad(), 1e-12);
    require_equal(x.grad(), x2.grad(), 1e-12);
    require_equal(z.grad(), z2.grad(), 1e-12);
    if constexpr (dsl::has_condition<decltype(c)>) require_equal(c.grad(), c2.grad(), 1e-12);

    // and the chain's gradients are right, not merely equal
    std::vector<testing::GradientTarget> targets{testing::target(x), testing::target(z)};
    if constexpr (dsl::has_condition<decltype(c)>) targets.push_back(testing::target(c));
    for (const auto& prm : p_chained) targets.push_back(testing::target(prm));
    const auto report = testing::check_gradients(p, targets, {.step = 1e-5});
    INFO(report.worst_where);
    CHECK(report.worst_error < testing::gradient_tolerance);
}

auto no_condition()
{
    return std::tuple{dsl::NoCondition{}, dsl::NoCondition{}, Tensor<double>()};
}
}  // namespace

TEST_CASE("seq of heterogeneous blocks equals fused in values and gradients")
{
    // Built last to first by both (the order of parameter names and permutations since version 0.1).
    // (The static reference is kept to three blocks: its compile time is what block boundaries remove.)
    dsl::BuildContext a, b;
    auto chained =
        dsl::seq(flows::realnvp_coupling(net), dsl::permute_random(), flows::spline_coupling(net, 4)).build<double>(4, a);
    auto fused =
        dsl::fused(flows::realnvp_coupling(net), dsl::permute_random(), flows::spline_coupling(net, 4)).build<double>(4, b);
    STATIC_REQUIRE(std::is_same_v<decltype(chained), dsl::Chain<double>>);
    CHECK(chained.size() == 3);
    randomise(chained, 4);
    require_same_as_fused(chained, fused, 4, no_condition);
}

TEST_CASE("seq: gradients through a chain of every kind of layer match finite differences")
{
    dsl::BuildContext context;
    auto block = dsl::seq(flows::actnorm(), flows::lu_linear(), flows::nice_coupling(net), dsl::reverse(),
                          flows::realnvp_coupling(net))
                     .build<double>(4, context);
    randomise(block, 8);
    Input<double> x(4, "x", {.requires_grad = true}), z(4, "z", {.requires_grad = true});
    auto p = loss_program(block, x, z, dsl::NoCondition{});
    p.bind(5);
    x.set(testing::normal_batch(5, 4, 1)), z.set(testing::normal_batch(5, 4, 2));
    p.forward();
    std::vector<testing::GradientTarget> targets{testing::target(x), testing::target(z)};
    for (const auto& prm : block.parameters()) targets.push_back(testing::target(prm));
    const auto report = testing::check_gradients(p, targets, {.step = 1e-5});
    INFO(report.worst_where);
    CHECK(report.worst_error < testing::gradient_tolerance);
}

TEST_CASE("conditional seq equals conditional fused: gradients reach the condition and the condition net")
{
    const auto condition_net = dsl::condition_net(hidden(5), 2);
    dsl::BuildContext a, b;
    auto chained =
        dsl::conditional(dsl::seq(flows::realnvp_coupling(net), dsl::permute_random(), flows::actnorm()), 3, condition_net)
            .build<double>(4, a);
    auto fused =
        dsl::conditional(dsl::fused(flows::realnvp_coupling(net), dsl::permute_random(), flows::actnorm()), 3, condition_net)
            .build<double>(4, b);
    randomise(chained, 6);
    require_same_as_fused(chained, fused, 4, [] {
        Input<double> c(3, "c", {.requires_grad = true}), c2(3, "c2", {.requires_grad = true});
        return std::tuple{c, c2, testing::normal_batch(5, 3, 3)};
    });
}

TEST_CASE("repeat<N> and a seq of equal specs build the same chain type as repeat(n)")
{
    const auto step = dsl::seq(flows::realnvp_coupling(net), dsl::permute_random());
    dsl::BuildContext context;
    auto dynamic = dsl::repeat(3, step).build<double>(4, context);
    auto fixed = dsl::repeat<3>(step).build<double>(4, context);
    auto listed = dsl::seq(step, step, step).build<double>(4, context);
    STATIC_REQUIRE(std::is_same_v<decltype(dynamic), decltype(fixed)>);
    STATIC_REQUIRE(std::is_same_v<decltype(dynamic), decltype(listed)>);
    // Nested chains are spliced: 3 x (coupling, permutation) is one chain of 6 blocks.
    CHECK(dynamic.size() == 6);
    CHECK(fixed.size() == 6);
    CHECK(listed.size() == 6);
    // repeat(n) against the static composition of the same blocks
    dsl::BuildContext b;
    auto dynamic_b = dsl::repeat(2, dsl::fused(flows::realnvp_coupling(net), dsl::permute_random())).build<double>(4, b);
    randomise(dynamic_b, 9);
    // repeat(n) builds its blocks first to last: the static reference is built in the same order, so its
    // random permutations are the same.
    dsl::BuildContext c;
    auto first = dsl::fused(flows::realnvp_coupling(net), dsl::permute_random()).build<double>(4, c);
    auto second = dsl::fused(flows::realnvp_coupling(net), dsl::permute_random()).build<double>(4, c);
    auto reference = dsl::Fused(first, second);
    require_same_as_fused(dynamic_b, reference, 4, no_condition);
}

TEST_CASE("seq: parameter names and initial values keep the order of version 0.1 (saved checkpoints load)")
{
    // Regression guard: a seq is built last to first, as it was before block boundaries, so the block
    // named flow.0 is the last one and the random draws land where they did.
    dsl::BuildContext context;
    context.rng.seed(1);
    auto block = dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(3))), dsl::permute_random(),
                          flows::realnvp_coupling(dsl::conditioner(hidden(3))))
                     .build<double>(4, context);
    const auto p = block.parameters();
    REQUIRE(p.size() == 8);
    CHECK(p[0].name() == "flow.1.coupling.0.weight");
    CHECK(p[4].name() == "flow.0.coupling.0.weight");
    CHECK(p[0].value().data()[0] == Approx(0.241958).epsilon(1e-5));
    CHECK(p[4].value().data()[0] == Approx(-1.26829).epsilon(1e-5));
}

TEST_CASE("seq: parameters get gradients when the input does not ask for one")
{
    // Regression: the chain kernel once hid its parameters from the outer graph, which then skipped the
    // backward pass whenever the data input had no gradient (as in training), so nothing learned.
    dsl::BuildContext context;
    auto block = dsl::repeat(2, dsl::seq(flows::realnvp_coupling(net), dsl::permute_random())).build<double>(4, context);
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

TEST_CASE("seq: a chain rebound to another batch size gives the same rows")
{
    dsl::BuildContext context;
    auto block = dsl::seq(flows::realnvp_coupling(net), dsl::permute_random(), flows::actnorm()).build<double>(3, context);
    randomise(block, 2);
    Input<double> x(3, "x");
    Program program(block.forward(x, dsl::NoCondition{}).value);
    const auto data = testing::normal_batch(7, 3, 4);
    program.bind(7);
    x.set(data);
    program.forward();
    const Tensor<double> all = program.value();
    program.bind(2);
    x.set(xt::view(data, xt::range(0, 2), xt::all()));
    program.forward();
    for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t j = 0; j < 3; ++j) CHECK(program.value()(r, j) == all(r, j));
}

TEST_CASE("seq and repeat: n = 0, a missing condition and mismatched widths are reported")
{
    const auto step = dsl::seq(flows::realnvp_coupling(net), dsl::permute_random());
    dsl::BuildContext context;
    REQUIRE_THROWS_WITH(dsl::repeat(0, step).build<double>(4, context), Catch::Contains("n = 0"));
    context.condition_dim = 2;
    auto conditional_blocks = dsl::repeat(2, step).build<double>(4, context);
    Input<double> x(4);
    REQUIRE_THROWS_WITH(conditional_blocks.forward(x, dsl::NoCondition{}), Catch::Contains("called without a condition"));
    context.condition_dim = 0;
    auto chain = dsl::repeat(2, step).build<double>(4, context);
    Input<double> wrong(3);
    Program program(chain.forward(wrong, dsl::NoCondition{}).value);
    REQUIRE_THROWS_WITH(program.bind(2), Catch::Contains("seq") && Catch::Contains("4 features"));
}
