// concat joins expressions along the columns (a one-row operand broadcasts over the batch); slice and
// split take column ranges back out, as views. Values against xtensor, gradients against finite
// differences.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include "support/checks.hpp"

using namespace bijou;

namespace {

Tensor<double> columns(const Tensor<double>& t, std::size_t begin, std::size_t end)
{
    return xt::view(t, xt::all(), xt::range(begin, end));
}

Tensor<double> repeat_rows(const Tensor<double>& row, std::size_t rows)
{
    return xt::broadcast(row, {rows, row.shape()[1]});
}

}  // namespace

TEST_CASE("concat of expressions with a one-row operand broadcast over the batch")
{
    std::mt19937 rng(61);
    Input<double> x(3, "x", {.requires_grad = true});
    Input<double> y(17, "y", {.requires_grad = true});
    Param<double> row(testing::uniform(1, 5, -1, 1, rng), "row");
    Param<double> column(testing::uniform(1, 1, -1, 1, rng), "scalar");
    for (std::size_t batch : {1, 6}) {
        INFO("batch " << batch);
        Program program(concat(x, exp(y) * 2, row, tanh(x + column)));
        program.bind(batch);
        const Tensor<double> dx = testing::uniform(batch, 3, -1, 1, rng), dy = testing::uniform(batch, 17, -1, 1, rng);
        x.set(dx);
        y.set(dy);
        program.forward();

        const Tensor<double> expected = xt::concatenate(
            xt::xtuple(dx, 2.0 * xt::exp(dy), repeat_rows(row.value(), batch), xt::tanh(dx + column.value())), 1);
        REQUIRE(program.value().shape() == expected.shape());
        CHECK(xt::allclose(program.value(), expected, 1e-15, 0));
        CHECK_GRADIENTS(program, {testing::target(x), testing::target(y), testing::target(row),
                                  testing::target(column)});
    }
}

TEST_CASE("concat in float matches double")
{
    std::mt19937 rng(62);
    const Tensor<double> dx = testing::uniform(5, 9, -1, 1, rng), b = testing::uniform(1, 20, -1, 1, rng);
    Input<double> x(9, "x");
    Param<double> row(b, "row");
    Program program(concat(sigmoid(x), row, x));
    program.bind(5);
    x.set(dx);
    program.forward();
    Input<float> xf(9, "x");
    Param<float> rowf(xt::cast<float>(b), "row");
    Program programf(concat(sigmoid(xf), rowf, xf));
    programf.bind(5);
    xf.set(xt::cast<float>(dx));
    programf.forward();
    CHECK(xt::allclose(xt::cast<double>(programf.value()), program.value(), 1e-6, 1e-7));
}

TEST_CASE("slice takes a column range of an input of an expression and of a slice")
{
    std::mt19937 rng(63);
    Input<double> x(20, "x", {.requires_grad = true});
    Program program(slice(x, 2, 19) * 3,      // a view of an input, inside an expression
                    let(slice(tanh(x), 17, 20)),  // an expression, bound first (an output slice needs let)
                    slice(slice(x, 4, 18), 1, 12) + slice(x, 0, 11),  // a slice of a slice: columns [5, 16)
                    exp(slice(x, 7, 8)) * x);  // a one-column slice broadcasts over the columns
    program.bind(5);
    const Tensor<double> data = testing::uniform(5, 20, -1, 1, rng);
    x.set(data);
    program.forward();

    CHECK(xt::allclose(program.value<0>(), columns(data, 2, 19) * 3.0, 1e-15, 0));
    CHECK(xt::allclose(program.value<1>(), xt::tanh(columns(data, 17, 20)), 1e-15, 0));
    CHECK(xt::allclose(program.value<2>(), columns(data, 5, 16) + columns(data, 0, 11), 1e-15, 0));
    CHECK(xt::allclose(program.value<3>(), xt::exp(columns(data, 7, 8)) * data, 1e-15, 0));
    CHECK_GRADIENTS(program, {testing::target(x)});
}

TEST_CASE("split cuts consecutive pieces that concat puts back together")
{
    std::mt19937 rng(64);
    Input<double> x(21, "x", {.requires_grad = true});
    Param<double> scale(testing::uniform(1, 21, 0.5, 1.5, rng), "scale");
    auto [a, b, c] = split(x * scale, 3, 9, 9);
    Program program(concat(c, a, b),                   // the columns, rotated
                    exp(a) + 1,                        // each piece used on its own
                    b * c);
    program.bind(4);
    const Tensor<double> data = testing::uniform(4, 21, -1, 1, rng);
    x.set(data);
    program.forward();

    const Tensor<double> scaled = data * scale.value();
    const Tensor<double> pa = columns(scaled, 0, 3), pb = columns(scaled, 3, 12), pc = columns(scaled, 12, 21);
    CHECK(xt::allclose(program.value<0>(), xt::concatenate(xt::xtuple(pc, pa, pb), 1), 1e-15, 0));
    CHECK(xt::allclose(program.value<1>(), xt::exp(pa) + 1.0, 1e-15, 0));
    CHECK(xt::allclose(program.value<2>(), pb * pc, 1e-15, 0));
    CHECK_GRADIENTS(program, {testing::target(x), testing::target(scale)});
}

TEST_CASE("split of an input is a set of views of it")
{
    std::mt19937 rng(65);
    Input<double> x(10, "x", {.requires_grad = true});
    auto [left, right] = split(x, 4, 6);
    Program program(sum(square(left)) + sum(right * 2));  // 1 x 1 + 1 x 1
    program.bind(3);
    const Tensor<double> data = testing::uniform(3, 10, -1, 1, rng);
    x.set(data);
    program.forward();
    program.backward();
    CHECK(program.value()(0, 0) ==
          Approx(xt::sum(xt::square(columns(data, 0, 4)))() + 2 * xt::sum(columns(data, 4, 10))()).epsilon(1e-14));
    // d/dx: 2 x on the left piece, 2 on the right piece.
    CHECK(xt::allclose(columns(x.grad(), 0, 4), 2.0 * columns(data, 0, 4), 1e-15, 0));
    CHECK(xt::allclose(columns(x.grad(), 4, 10), xt::full_like(columns(data, 4, 10), 2.0), 1e-15, 0));
}
