// + - * / between expressions, with broadcasting: a full matrix (B x n), a row vector (1 x n), a column
// vector (B x 1), a 1 x 1 scalar and a C++ constant, on either side. Values are checked against
// xtensor's broadcasting (float and double), gradients of both operands against finite differences.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

namespace {

constexpr auto add = [](const auto& a, const auto& b) { return a + b; };
constexpr auto subtract = [](const auto& a, const auto& b) { return a - b; };
constexpr auto multiply = [](const auto& a, const auto& b) { return a * b; };
constexpr auto divide = [](const auto& a, const auto& b) { return a / b; };

// op(a, b) for parameters a and b holding the given values, in type T.
template <class T, class Op>
Tensor<T> evaluate(Op op, const Tensor<double>& a, const Tensor<double>& b, std::size_t batch)
{
    Param<T> left(xt::cast<T>(a), "a");
    Param<T> right(xt::cast<T>(b), "b");
    Program program(op(left, right));
    program.bind(batch);
    program.forward();
    return program.value();
}

// Every pairing of a full matrix, a row, a column and a scalar, at batch 1 and at a batch of 6, with
// widths that leave a scalar tail after the SIMD blocks. Operands are drawn from [low, high].
template <class Op>
void check_broadcasting(Op op, double low, double high)
{
    std::mt19937 rng(31);
    for (std::size_t batch : {1, 6})
        for (std::size_t width : {1, 19}) {
            const Shape full{batch, width}, row{1, width}, column{batch, 1}, scalar{1, 1};
            const std::pair<Shape, Shape> pairs[] = {{full, full},   {full, row},    {row, full},
                                                     {full, column}, {column, full}, {full, scalar},
                                                     {scalar, full}, {row, column},  {column, row}};
            for (const auto& [left, right] : pairs) {
                INFO(to_string(left) << " with " << to_string(right));
                const Tensor<double> a = testing::uniform(left.rows, left.cols, low, high, rng);
                const Tensor<double> b = testing::uniform(right.rows, right.cols, low, high, rng);
                const Tensor<double> expected = op(a, b);
                CHECK(xt::allclose(evaluate<double>(op, a, b, batch), expected, 1e-15, 0));
                CHECK(xt::allclose(evaluate<float>(op, a, b, batch), expected, 1e-6, 1e-6));

                Param<double> pa(a, "a"), pb(b, "b");
                Program program(op(pa, pb));
                program.bind(batch);
                CHECK_GRADIENTS(program, {testing::target(pa), testing::target(pb)});
            }
        }
}

// An input and a C++ constant, the constant on either side.
template <class Op>
void check_constants(Op op, double low, double high)
{
    std::mt19937 rng(32);
    const Tensor<double> data = testing::uniform(5, 19, low, high, rng);
    const double constant = 1.5;
    Input<double> x(19, "x", {.requires_grad = true});
    Program program(op(x, constant), op(constant, x));
    program.bind(5);
    x.set(data);
    program.forward();
    const Tensor<double> expected_right = op(data, constant), expected_left = op(constant, data);
    CHECK(xt::allclose(program.template value<0>(), expected_right, 1e-15, 0));
    CHECK(xt::allclose(program.template value<1>(), expected_left, 1e-15, 0));
    CHECK_GRADIENTS(program, {testing::target(x)});
}

}  // namespace

TEST_CASE("add broadcasts rows columns and scalars") { check_broadcasting(add, -2, 2); }
TEST_CASE("subtract broadcasts rows columns and scalars") { check_broadcasting(subtract, -2, 2); }
TEST_CASE("multiply broadcasts rows columns and scalars") { check_broadcasting(multiply, -2, 2); }
TEST_CASE("divide broadcasts rows columns and scalars") { check_broadcasting(divide, 0.5, 2); }

TEST_CASE("add with a constant on either side") { check_constants(add, -2, 2); }
TEST_CASE("subtract with a constant on either side") { check_constants(subtract, -2, 2); }
TEST_CASE("multiply with a constant on either side") { check_constants(multiply, -2, 2); }
TEST_CASE("divide with a constant on either side") { check_constants(divide, 0.5, 2); }

TEST_CASE("a fused expression mixing every broadcast negation and unary ops")
{
    std::mt19937 rng(33);
    const std::size_t batch = 6, width = 19;
    Input<double> x(width, "x", {.requires_grad = true});
    Param<double> row(testing::uniform(1, width, -1, 1, rng), "row");
    Param<double> column(testing::uniform(batch, 1, -1, 1, rng), "column");
    Param<double> scalar(testing::uniform(1, 1, 0.5, 1, rng), "scalar");
    Program program(-(x - row) / exp(column) * scalar + 2 * tanh(row) - column / 3);
    program.bind(batch);
    const Tensor<double> data = testing::uniform(batch, width, -2, 2, rng);
    x.set(data);
    program.forward();

    const Tensor<double> expected = -(data - row.value()) / xt::exp(column.value()) * scalar.value() +
                                    2.0 * xt::tanh(row.value()) - column.value() / 3.0;
    CHECK(xt::allclose(program.value(), expected, 1e-14, 0));
    CHECK_GRADIENTS(program, {testing::target(x), testing::target(row), testing::target(column),
                              testing::target(scalar)});
}

TEST_CASE("an operand used on both sides of an op gets both contributions")
{
    std::mt19937 rng(34);
    Param<double> a(testing::uniform(4, 9, 0.5, 2, rng), "a");
    Program program(a * a + a / (a + 1));
    program.bind(4);
    CHECK_GRADIENTS(program, {testing::target(a)});
}
