// sum_columns_like: per-row sums of an operand broadcast to another value's shape.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>

#include "support/checks.hpp"

using namespace bijou;

TEST_CASE("sum_columns_like: a row a constant and a full operand give one sum per row")
{
    Input<double> x(3, "x");
    Param<double> s(Tensor<double>{{0.5, -1, 2}}, "s");
    auto row = sum_columns_like(exp(s), x);                      // 1 x 3 -> the same sum in every row
    auto constant = sum_columns_like(Constant<double>{2.0}, x);  // 1 x 1 -> counted once per column
    auto full = sum_columns_like(x * s, x);                      // 4 x 3 -> an ordinary row sum
    Program program(row, constant, full);
    program.bind(4);
    const auto data = testing::normal_batch(4, 3, 1);
    x.set(data);
    program.forward();
    const double expected_row = std::exp(0.5) + std::exp(-1.0) + std::exp(2.0);
    for (std::size_t r = 0; r < 4; ++r) {
        CHECK(program.value<0>()(r, 0) == Approx(expected_row));
        CHECK(program.value<1>()(r, 0) == 6.0);
        CHECK(program.value<2>()(r, 0) == Approx(0.5 * data(r, 0) - data(r, 1) + 2 * data(r, 2)));
    }
}

TEST_CASE("sum_columns_like: backward sums the adjoint over the rows")
{
    std::mt19937 rng(2);
    Input<double> x(19, "x", {.requires_grad = true});  // wider than a SIMD register, with a tail
    Param<double> s(testing::uniform(1, 19, -1, 1, rng), "s");
    Program program(sum_columns_like(tanh(s), x), sum_columns_like(x * s, x));
    program.bind(5);
    x.set(testing::uniform(5, 19, -2, 2, rng));
    CHECK_GRADIENTS(program, {testing::target(s), testing::target(x)});
}

TEST_CASE("sum_columns_like: an operand that does not broadcast is a shape error at bind")
{
    Input<double> x(3, "x");
    Param<double> s(Shape{1, 2}, "s");
    Program program(sum_columns_like(s, x));
    CHECK_THROWS_WITH(program.bind(4),
                      Catch::Contains("sum_columns_like") && Catch::Contains("(1 x 2)") && Catch::Contains("(4 x 3)"));
}
