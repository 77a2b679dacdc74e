// Misuse is reported with shape_error or usage_error, and a message that names the op and the shapes.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>

#include "support/checks.hpp"

using namespace bijou;
using Catch::Contains;

namespace {
Param<double> zeros(std::size_t rows, std::size_t cols, const char* name) { return Param<double>(Shape{rows, cols}, name); }
}  // namespace

TEST_CASE("matmul with different inner dimensions")
{
    Program program(matmul(zeros(3, 4, "a"), zeros(5, 2, "b")));
    CHECK_THROWS_AS(program.bind(1), shape_error);
    CHECK_THROWS_WITH(program.bind(1), Contains("bijou: matmul") && Contains("(3 x 4)") && Contains("(5 x 2)"));

    Program transposed_program(matmul(zeros(3, 4, "a"), transposed(zeros(2, 5, "b"))));
    CHECK_THROWS_WITH(transposed_program.bind(1),
                      Contains("bijou: matmul") && Contains("(3 x 4)") && Contains("(2 x 5)^T"));
}

TEST_CASE("elementwise ops on shapes that do not broadcast")
{
    Program columns(zeros(3, 4, "a") + zeros(3, 5, "b"));
    CHECK_THROWS_AS(columns.bind(3), shape_error);
    CHECK_THROWS_WITH(columns.bind(3), Contains("bijou: add") && Contains("(3 x 4)") && Contains("(3 x 5)"));

    Input<double> x(4, "x");
    Program rows(x * zeros(2, 4, "w"));  // the batch (3) against 2 rows
    CHECK_THROWS_WITH(rows.bind(3), Contains("bijou: mul") && Contains("(3 x 4)") && Contains("(2 x 4)"));

    Program nested(sum(exp(zeros(2, 3, "a")) / zeros(3, 2, "b")));  // found inside a reduction
    CHECK_THROWS_WITH(nested.bind(1), Contains("bijou: div") && Contains("(2 x 3)") && Contains("(3 x 2)"));
}

TEST_CASE("concat of operands with different numbers of rows")
{
    Program program(concat(zeros(3, 2, "a"), zeros(4, 2, "b")));
    CHECK_THROWS_AS(program.bind(1), shape_error);
    CHECK_THROWS_WITH(program.bind(1), Contains("bijou: concat") && Contains("(3 x 2)") && Contains("(4 x 2)"));
}

TEST_CASE("slices out of range")
{
    Input<double> x(5, "x");
    Program program(slice(x, 2, 9) * 2);
    CHECK_THROWS_AS(program.bind(3), shape_error);
    CHECK_THROWS_WITH(program.bind(3), Contains("bijou: slice") && Contains("[2, 9)") && Contains("'x'") &&
                                           Contains("(3 x 5)"));

    CHECK_THROWS_AS(slice(x, 3, 3), shape_error);  // empty
    CHECK_THROWS_WITH(slice(x, 3, 3), Contains("bijou: slice") && Contains("[3, 3)"));
    CHECK_THROWS_WITH(slice(slice(x, 0, 3), 1, 5), Contains("bijou: slice") && Contains("[1, 5)") && Contains("3 columns"));
}

TEST_CASE("Input::set with a wrong shape or before the program is bound")
{
    Input<double> x(4, "x");
    Program program(exp(x));
    CHECK_THROWS_AS(x.set(Tensor<double>(xt::zeros<double>({3, 4}))), shape_error);
    CHECK_THROWS_WITH(x.set(Tensor<double>(xt::zeros<double>({3, 4}))),
                      Contains("bijou: input 'x'") && Contains("bind the program"));

    program.bind(3);
    CHECK_THROWS_AS(x.set(Tensor<double>(xt::zeros<double>({3, 5}))), shape_error);
    CHECK_THROWS_WITH(x.set(Tensor<double>(xt::zeros<double>({3, 5}))),
                      Contains("bijou: input 'x'") && Contains("(3 x 4)") && Contains("(3 x 5)"));
    CHECK_THROWS_WITH(x.set(Tensor<double>(xt::zeros<double>({2, 4}))), Contains("(3 x 4)") && Contains("(2 x 4)"));
    CHECK_THROWS_WITH(x.set(xt::xtensor<double, 1>(xt::zeros<double>({12}))), Contains("(3 x 4)") && Contains("(12)"));
    CHECK_NOTHROW(x.set(Tensor<double>(xt::zeros<double>({3, 4}))));
}

TEST_CASE("forward() and backward() before bind")
{
    Param<double> w(Shape{2, 2}, "w");
    Program program(sum(w));
    CHECK_THROWS_AS(program.forward(), usage_error);
    CHECK_THROWS_WITH(program.forward(), Contains("bijou: program") && Contains("forward()") && Contains("bind"));
    CHECK_THROWS_AS(program.backward(), usage_error);
    CHECK_THROWS_WITH(program.backward(), Contains("bijou: program") && Contains("backward()") && Contains("bind"));
    CHECK_THROWS_AS(program.bind(0), usage_error);
}

TEST_CASE("backward() on an output that is not a scalar")
{
    Input<double> x(4, "x");
    Param<double> w(Shape{1, 4}, "w");
    Program program(x * w);
    program.bind(3);
    program.forward();
    CHECK_THROWS_AS(program.backward(), usage_error);
    CHECK_THROWS_WITH(program.backward(), Contains("bijou: program") && Contains("backward()") && Contains("(3 x 4)"));

    // backward_from() checks each seed's shape instead.
    CHECK_THROWS_AS(program.backward_from(Tensor<double>(xt::ones<double>({3, 5}))), shape_error);
    CHECK_THROWS_WITH(program.backward_from(Tensor<double>(xt::ones<double>({3, 5}))),
                      Contains("bijou: program") && Contains("output 0") && Contains("(3 x 4)"));
}

TEST_CASE("clamp with a lower bound not below the upper bound")
{
    Input<double> x(4, "x");
    CHECK_THROWS_AS(clamp(x, 1.0, 1.0), shape_error);
    CHECK_THROWS_WITH(clamp(x, 2.0, -1.0), Contains("bijou: clamp") && Contains("2") && Contains("-1"));
    CHECK_NOTHROW(clamp(x, -1.0, 2.0));
}

TEST_CASE("a reduction over axis 2")
{
    Input<double> x(4, "x");
    CHECK_THROWS_AS(sum(x, 2), shape_error);
    CHECK_THROWS_WITH(sum(x, 2), Contains("bijou: sum") && Contains("axis") && Contains("2"));
    CHECK_THROWS_WITH(mean(x, 2), Contains("bijou: mean") && Contains("axis"));
    CHECK_THROWS_WITH(logsumexp(x, -1), Contains("bijou: logsumexp") && Contains("-1"));
}

TEST_CASE("a slice of a bound value as a program output")
{
    Input<double> x(4, "x");
    auto h = let(exp(x));
    CHECK_THROWS_AS(Program(slice(h, 0, 2)), usage_error);
    CHECK_THROWS_WITH(Program(slice(h, 0, 2)), Contains("bijou: program") && Contains("let"));
}

TEST_CASE("a program bound with Gradients::off evaluates, keeps no adjoints and refuses backward")
{
    Input<double> x(3, "x");
    Param<double> w(Shape{1, 3}, "w");
    w.value() = Tensor<double>{{1.0, -2.0, 0.5}};
    auto hidden = let(x * w);  // a Var: an adjoint of its own when differentiated
    Program program(sum(square(hidden)));
    program.bind(2, Gradients::off);
    x.set(Tensor<double>{{1.0, 1.0, 1.0}, {2.0, 0.0, -2.0}});
    program.forward();
    CHECK(program.value()(0, 0) == Approx(1.0 + 4.0 + 0.25 + 4.0 + 0.0 + 1.0));
    CHECK(hidden.node().adjoint.size() == 0);
    CHECK_THROWS_AS(program.backward(), usage_error);
    CHECK_THROWS_WITH(program.backward(), Contains("bijou: program") && Contains("Gradients::off") && Contains("bind(2)"));

    program.bind(2);  // rebound with gradients, it differentiates as usual
    program.forward();
    program.backward();
    CHECK(hidden.node().adjoint.size() == 6);
    // d/dw sum (x w)^2 = sum over rows of 2 x^2 w
    CHECK(w.grad()(0, 0) == Approx(2 * (1.0 + 4.0) * 1.0));
    CHECK(w.grad()(0, 2) == Approx(2 * (1.0 + 4.0) * 0.5));
}
