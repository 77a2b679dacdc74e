// transpose(e): values and gradients (against finite differences) for a matrix, a column (the norms of
// a pairwise distance) and a column slice, each inside an expression that broadcasts the result.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <xtensor/xview.hpp>

#include "support/checks.hpp"

using namespace bijou;

TEST_CASE("transpose of a matrix")
{
    std::mt19937 rng(5);
    Input<double> x(3, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(3, 4, -1, 1, rng), "w");
    Program program(transpose(x * 2.0 + 1.0), transpose(w));
    program.bind(4);
    const Tensor<double> data = testing::uniform(4, 3, -1, 1, rng);
    x.set(data);
    program.forward();
    CHECK(program.value<0>() == xt::transpose(data * 2.0 + 1.0));
    CHECK(program.value<1>() == xt::transpose(w.value()));
    CHECK_GRADIENTS(program, {testing::target(x), testing::target(w)});
}

TEST_CASE("transpose turns a column into a row that broadcasts against a column")
{
    std::mt19937 rng(6);
    Input<double> u(2, "u", {.requires_grad = true});
    auto norms = sum(square(u), 1);        // B x 1
    Program program(norms + transpose(norms));  // B x B: |u_i|^2 + |u_j|^2
    program.bind(5);
    const Tensor<double> data = testing::uniform(5, 2, -1, 1, rng);
    u.set(data);
    program.forward();
    REQUIRE(program.value().shape()[0] == 5);
    REQUIRE(program.value().shape()[1] == 5);
    for (std::size_t i = 0; i < 5; ++i)
        for (std::size_t j = 0; j < 5; ++j) {
            const double ni = data(i, 0) * data(i, 0) + data(i, 1) * data(i, 1);
            const double nj = data(j, 0) * data(j, 0) + data(j, 1) * data(j, 1);
            CHECK(program.value()(i, j) == Approx(ni + nj).epsilon(1e-14));
        }
    CHECK_GRADIENTS(program, {testing::target(u)});
}

TEST_CASE("transpose of a column slice")
{
    std::mt19937 rng(7);
    Input<double> x(4, "x", {.requires_grad = true});
    auto h = let(tanh(x));
    Program program(transpose(h.slice(1, 3)));
    program.bind(3);
    const Tensor<double> data = testing::uniform(3, 4, -1, 1, rng);
    x.set(data);
    program.forward();
    CHECK(xt::allclose(program.value(), xt::transpose(xt::view(xt::tanh(data), xt::all(), xt::range(1, 3))), 1e-15, 0));
    CHECK_GRADIENTS(program, {testing::target(x)});
}
