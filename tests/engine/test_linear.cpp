// Linear and the initialisers: y = x W + b against a hand computation and finite differences, the
// statistics of each initialiser, shared parameters, and shape errors.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/linear.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "support/checks.hpp"
#include "support/gradcheck.hpp"

using namespace bijou;

namespace {


double mean_of(const Tensor<double>& t) { return xt::mean(t)(); }
double variance_of(const Tensor<double>& t)
{
    const double m = mean_of(t);
    return xt::mean(xt::square(t - m))();
}

// The expression throws a shape_error whose message matches.
#define CHECK_SHAPE_ERROR(expr, matcher) \
    CHECK_THROWS_AS(expr, shape_error);  \
    CHECK_THROWS_WITH(expr, matcher)

bool same(const Tensor<double>& a, const Tensor<double>& b) { return a == b; }

}  // namespace

TEST_CASE("Linear computes x W + b the bias broadcast over the batch")
{
    Linear<double> layer(Tensor<double>{{1.0, 2.0}, {0.5, -1.0}, {0.0, 3.0}}, Tensor<double>{{0.1, -0.2}}, "layer");
    Input<double> x(3, "x");
    Program program(layer(x));  // a lazy output: the program binds it
    program.bind(2);
    x.set(Tensor<double>{{1, 2, 3}, {-1, 0.5, 2}});
    program.forward();

    // row 0: (1 + 1 + 0 + 0.1, 2 - 2 + 9 - 0.2); row 1: (-1 + 0.25 + 0 + 0.1, -2 - 0.5 + 6 - 0.2)
    const auto& y = program.value();
    REQUIRE(y.shape()[0] == 2);
    REQUIRE(y.shape()[1] == 2);
    CHECK(y(0, 0) == Approx(2.1).epsilon(1e-14));
    CHECK(y(0, 1) == Approx(8.8).epsilon(1e-14));
    CHECK(y(1, 0) == Approx(-0.65).epsilon(1e-14));
    CHECK(y(1, 1) == Approx(3.3).epsilon(1e-14));
    CHECK(layer.in_features() == 3);
    CHECK(layer.out_features() == 2);
    CHECK(layer.weight.name() == "layer.weight");
    CHECK(layer.bias.name() == "layer.bias");
}

TEST_CASE("Linear's gradients match finite differences")
{
    std::mt19937_64 rng(3);
    Linear<double> layer(4, 3, rng, {.name = "layer"});
    layer.bias.value() = testing::normal_batch(1, 3, 11);  // a nonzero bias, so its gradient is exercised
    Input<double> x(4, "x", {.requires_grad = true});

    SECTION("the lazy output itself")
    {
        Program program(layer(x));
        program.bind(5);
        x.set(testing::normal_batch(5, 4, 1));
        const auto report = testing::check_gradients(
            program, {testing::target(layer.weight), testing::target(layer.bias), testing::target(x)});
        INFO(report.worst_where << ": analytic " << report.analytic << ", numeric " << report.numeric);
        CHECK(report.worst_error <= 1e-6);
    }
    SECTION("an activation fused into the bias add, then a loss")
    {
        Program program(mean(square(tanh(layer(x)))), let(softplus(layer(x))));
        program.bind(5);
        x.set(testing::normal_batch(5, 4, 2));
        const auto report = testing::check_gradients(
            program, {testing::target(layer.weight), testing::target(layer.bias), testing::target(x)});
        INFO(report.worst_where << ": analytic " << report.analytic << ", numeric " << report.numeric);
        CHECK(report.worst_error <= 1e-6);
    }
}

TEST_CASE("a layer called twice shares its parameters and adds both gradient contributions")
{
    std::mt19937_64 rng(5);
    Linear<double> layer(3, 2, rng);
    Input<double> a(3, "a"), b(3, "b");
    const auto data_a = testing::normal_batch(4, 3, 1), data_b = testing::normal_batch(4, 3, 2);

    // Each call alone, in its own program, then both in one program.
    auto gradient_of = [&](auto& program) {
        program.bind(4);
        a.set(data_a);
        b.set(data_b);
        layer.weight.zero_grad();
        layer.bias.zero_grad();
        program.forward();
        program.backward();
        return std::pair<Tensor<double>, Tensor<double>>{layer.weight.grad(), layer.bias.grad()};
    };
    Program only_a(sum(square(layer(a))));
    Program only_b(sum(tanh(layer(b))));
    Program both(sum(square(layer(a))) + sum(tanh(layer(b))));
    both.bind(4);  // sizes both inputs, so either may be fed whichever program runs
    const auto [wa, ba] = gradient_of(only_a);
    const auto [wb, bb] = gradient_of(only_b);
    const auto [wab, bab] = gradient_of(both);
    CHECK(xt::allclose(wab, wa + wb, 1e-12, 1e-14));
    CHECK(xt::allclose(bab, ba + bb, 1e-12, 1e-14));
    CHECK(both.parameters().size() == 2);

    SECTION("across two programs, gradients accumulate until zeroed")
    {
        layer.weight.zero_grad();
        layer.bias.zero_grad();
        only_a.forward();
        only_a.backward();
        only_b.forward();
        only_b.backward();
        CHECK(xt::allclose(layer.weight.grad(), wa + wb, 1e-12, 1e-14));
        CHECK(xt::allclose(layer.bias.grad(), ba + bb, 1e-12, 1e-14));
    }
}

TEST_CASE("initialisers have the documented bounds and variances")
{
    constexpr std::size_t fan_in = 400, fan_out = 500;  // 200 000 draws: the variance is known to ~0.5%
    std::mt19937_64 rng(42);

    SECTION("Kaiming uniform: U(-sqrt(6/fan_in), sqrt(6/fan_in)), variance 2/fan_in")
    {
        Linear<double> layer(fan_in, fan_out, rng, {.init = Init::kaiming_uniform()});
        const auto& w = layer.weight.value();
        const double bound = std::sqrt(6.0 / fan_in);
        CHECK(init::kaiming_bound(fan_in) == Approx(bound));
        CHECK(xt::amax(xt::abs(w))() <= bound);
        CHECK(xt::amax(xt::abs(w))() > 0.999 * bound);
        CHECK(std::abs(mean_of(w)) < 0.01 * bound);
        CHECK(variance_of(w) == Approx(2.0 / fan_in).epsilon(0.02));
        CHECK(xt::all(xt::equal(layer.bias.value(), 0.0)));
    }
    SECTION("Xavier uniform: variance 2/(fan_in + fan_out)")
    {
        Linear<double> layer(fan_in, fan_out, rng, {.init = Init::xavier_uniform()});
        const auto& w = layer.weight.value();
        CHECK(xt::amax(xt::abs(w))() <= std::sqrt(6.0 / (fan_in + fan_out)));
        CHECK(variance_of(w) == Approx(2.0 / (fan_in + fan_out)).epsilon(0.02));
    }
    SECTION("normal: N(0, sigma^2)")
    {
        Linear<double> layer(fan_in, fan_out, rng, {.init = Init::normal(0.05)});
        const auto& w = layer.weight.value();
        CHECK(std::abs(mean_of(w)) < 0.001);
        CHECK(variance_of(w) == Approx(0.05 * 0.05).epsilon(0.02));
        // about 4.55% of a normal sample lies beyond two standard deviations
        const double beyond = xt::mean(xt::cast<double>(xt::abs(w) > 0.1))();
        CHECK(beyond == Approx(0.0455).margin(0.003));
    }
    SECTION("zeros")
    {
        Linear<double> layer(fan_in, fan_out, rng, {.init = Init::zeros()});
        CHECK(xt::all(xt::equal(layer.weight.value(), 0.0)));
    }
    SECTION("float layers draw the same values, rounded")
    {
        Linear<float> single(8, 4, std::mt19937_64(9));
        Linear<double> twice(8, 4, std::mt19937_64(9));
        CHECK(xt::allclose(xt::cast<double>(single.weight.value()), twice.weight.value(), 1e-6, 1e-7));
    }
}

TEST_CASE("initialisation is deterministic in the seed and advances a shared generator")
{
    Linear<double> a(6, 5, {.seed = 1}), b(6, 5, {.seed = 1}), c(6, 5, {.seed = 2});
    CHECK(same(a.weight.value(), b.weight.value()));
    CHECK_FALSE(same(a.weight.value(), c.weight.value()));

    std::mt19937_64 rng(1);
    Linear<double> first(6, 5, rng), second(6, 5, rng);
    CHECK(same(first.weight.value(), a.weight.value()));
    CHECK_FALSE(same(second.weight.value(), first.weight.value()));

    CHECK(same(init::kaiming_uniform<double>({6, 5}, std::uint64_t(1)), a.weight.value()));
}

TEST_CASE("Linear reports bad sizes naming itself and the shapes")
{
    using Catch::Matchers::Contains;
    CHECK_SHAPE_ERROR(Linear<double>(0, 3), Contains("Linear") && Contains("0 -> 3"));
    CHECK_SHAPE_ERROR(Linear<double>(3, 0), Contains("Linear"));
    CHECK_SHAPE_ERROR(Linear<double>(Tensor<double>::from_shape({3, 2}), Tensor<double>::from_shape({1, 3})),
                      Contains("Linear") && Contains("(3 x 2)") && Contains("(1 x 3)"));

    Linear<double> layer(3, 2);
    Input<double> wide(4, "wide");
    CHECK_SHAPE_ERROR(layer(wide), Contains("Linear") && Contains("wide") && Contains("(3 x 2)"));

    // A computed operand's width is known only once the program is bound: matmul reports it then.
    Input<double> x(4, "x");
    Program program(let(layer(let(2.0 * x))));
    CHECK_SHAPE_ERROR(program.bind(5), Contains("matmul") && Contains("(5 x 4)") && Contains("(3 x 2)"));
}
