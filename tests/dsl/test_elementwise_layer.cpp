// elementwise_layer: a transform applied to every feature with learned per-feature parameters. The
// Bijection laws (round trip, log-det symmetry, log-det = log|det J|) and gradients through both passes.
#include <bijou/dsl/elementwise_layer.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "support/checks.hpp"
#include "support/numerical_jacobian.hpp"

using namespace bijou;

namespace {
constexpr auto affine = dsl::elementwise([](auto x, auto s, auto t) { return x * exp(s) + t; });
// log|dy/dx| = log cosh(x e^s) + s reads x, so the layer binds its input and its inverse's output.
constexpr auto sinh_affine = dsl::elementwise([](auto x, auto s, auto t) { return sinh(x * exp(s)) + t; });

// Rows of ordinary values, one of zeros and two at |x| = 1e3.
Tensor<double> test_batch(std::size_t dim)
{
    Tensor<double> data = testing::normal_batch(6, dim, 4);
    for (std::size_t j = 0; j < dim; ++j) {
        data(3, j) = 0;
        data(4, j) = 1e3;
        data(5, j) = -1e3;
    }
    return data;
}

template <class Block>
void check_laws(const Block& block, const Tensor<double>& data, std::size_t jacobian_rows)
{
    Input<double> x(block.dim(), "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(y, x_back, log_det, log_det_inverse);
    program.bind(data.shape()[0]);
    x.set(data);
    program.forward();
    REQUIRE(program.template value<2>().shape()[0] == data.shape()[0]);
    REQUIRE(program.template value<2>().shape()[1] == 1);
    for (std::size_t r = 0; r < data.shape()[0]; ++r) {
        for (std::size_t j = 0; j < block.dim(); ++j)
            CHECK(program.template value<1>()(r, j) == Approx(data(r, j)).epsilon(1e-10).margin(1e-10));
        CHECK(program.template value<3>()(r, 0) == Approx(-program.template value<2>()(r, 0)).epsilon(1e-12));
    }
    for (std::size_t r = 0; r < jacobian_rows; ++r)
        CHECK(program.template value<2>()(r, 0) == Approx(testing::numerical_log_det(program, x, r)).margin(1e-6));
}

// Gradients of an NLL-like scalar through the forward pass and through the inverse pass.
template <class Block>
void check_gradients_both_ways(const Block& block)
{
    std::mt19937 rng(8);
    std::vector<testing::GradientTarget> targets;
    for (const auto& p : block.parameters()) targets.push_back(testing::target(p));
    {
        Input<double> x(block.dim(), "x", {.requires_grad = true});
        auto [z, log_det] = block.forward(x, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(z), 1) - log_det));
        program.bind(4);
        x.set(testing::uniform(4, block.dim(), -1.5, 1.5, rng));
        auto all = targets;
        all.push_back(testing::target(x));
        CHECK_GRADIENTS(program, all);
    }
    {
        Input<double> z(block.dim(), "z", {.requires_grad = true});
        auto [x, log_det] = block.inverse(z, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(x), 1) + log_det));
        program.bind(4);
        z.set(testing::uniform(4, block.dim(), -1.5, 1.5, rng));
        auto all = targets;
        all.push_back(testing::target(z));
        CHECK_GRADIENTS(program, all);
    }
}
}  // namespace

TEST_CASE("elementwise_layer: the initial values make an affine layer the identity")
{
    dsl::BuildContext context;
    auto block = dsl::elementwise_layer(affine, {0.0, 0.0}).build<double>(3, context);
    const Tensor<double> data = test_batch(3);
    Input<double> x(3, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    Program program(y, log_det);
    program.bind(6);
    x.set(data);
    program.forward();
    CHECK((program.value<0>() == data));
    CHECK((program.value<1>() == Tensor<double>(xt::zeros<double>({6, 1}))));
    REQUIRE(block.parameters().size() == 2);
    CHECK(block.parameters()[0].name() == "flow.0.elementwise.p0");
    CHECK(block.parameters()[1].name() == "flow.0.elementwise.p1");
    CHECK(block.parameters()[0].value().shape()[0] == 1);
    CHECK(block.parameters()[0].value().shape()[1] == 3);
}

TEST_CASE("elementwise_layer: named parameters take their names and initial values")
{
    dsl::BuildContext context{.prefix = "model"};
    auto block =
        dsl::elementwise_layer(affine, {{"log_scale", 0.5}, {"shift", -1.0}}).named("scale").build<double>(2, context);
    CHECK(block.parameter(0).name() == "model.0.scale.log_scale");
    CHECK(block.parameter(1).name() == "model.0.scale.shift");
    CHECK((block.parameter(0).value() == Tensor<double>{{0.5, 0.5}}));
    CHECK((block.parameter(1).value() == Tensor<double>{{-1.0, -1.0}}));
}

TEST_CASE("elementwise_layer: affine with random parameters obeys the bijection laws")
{
    dsl::BuildContext context;
    auto block = dsl::elementwise_layer(affine, {0.0, 0.0}).build<double>(5, context);
    static_assert(dsl::Bijection<decltype(block)>);
    static_assert(!decltype(block)::log_derivative_reads_x);
    testing::randomise(block, 1);
    check_laws(block, test_batch(5), 6);
    check_gradients_both_ways(block);
}

TEST_CASE("elementwise_layer: a log-derivative that reads x obeys the bijection laws")
{
    dsl::BuildContext context;
    auto block = dsl::elementwise_layer(sinh_affine, {0.0, 0.0}).build<double>(4, context);
    static_assert(decltype(block)::log_derivative_reads_x);
    testing::randomise(block, 2);
    check_laws(block, testing::normal_batch(5, 4, 6), 5);
    check_gradients_both_ways(block);
}

TEST_CASE("elementwise_layer: a constant scale counts once per feature")
{
    dsl::BuildContext context;
    auto block = dsl::elementwise_layer(dsl::elementwise([](auto x, auto t) { return 2.0 * x + t; }), {0.5})
                     .build<double>(3, context);
    Input<double> x(3, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    Program program(log_det);
    program.bind(2);
    x.set(Tensor<double>{{1, 2, 3}, {0, 0, 0}});
    program.forward();
    CHECK(program.value()(0, 0) == Approx(3 * std::log(2.0)));
    CHECK(program.value()(1, 0) == Approx(3 * std::log(2.0)));
}

TEST_CASE("elementwise_layer: float round trip")
{
    dsl::BuildContext context;
    auto block = dsl::elementwise_layer(affine, {0.0, 0.0}).build<float>(5, context);
    testing::randomise(block, 3);
    const Tensor<float> data = xt::cast<float>(testing::normal_batch(8, 5, 9) * 3.0);
    Input<float> x(5, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(x_back, log_det, log_det_inverse);
    program.bind(8);
    x.set(data);
    program.forward();
    for (std::size_t i = 0; i < data.size(); ++i)
        CHECK(program.value<0>().data()[i] == Approx(data.data()[i]).epsilon(1e-4).margin(1e-4));
    for (std::size_t r = 0; r < 8; ++r)
        CHECK(program.value<2>()(r, 0) == Approx(-program.value<1>()(r, 0)).epsilon(1e-6));
}
