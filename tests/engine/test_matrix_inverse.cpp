// matrix_inverse: values against A X = I and a closed form, gradients against finite differences, and
// the errors for singular and non-square matrices.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "support/checks.hpp"

using namespace bijou;

namespace {
// max |A X - I| for the row-major n x n matrices a and x.
template <class T>
double identity_residual(const Tensor<T>& a, const Tensor<T>& x)
{
    const std::size_t n = a.shape()[0];
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < n; ++k) s += double(a(i, k)) * double(x(k, j));
            worst = std::max(worst, std::abs(s - (i == j ? 1.0 : 0.0)));
        }
    return worst;
}
}  // namespace

TEST_CASE("matrix_inverse: a 2 x 2 matrix matches the closed form and needs the pivot swap")
{
    // [[0 2] [3 1]]: the first pivot is zero without row exchange; inverse = [[-1 2] [3 0]] / 6
    Param<double> a(Tensor<double>{{0, 2}, {3, 1}}, "a");
    Program program(matrix_inverse(a));
    program.bind(1);
    program.forward();
    const Tensor<double> expected{{-1.0 / 6, 2.0 / 6}, {3.0 / 6, 0}};
    for (std::size_t i = 0; i < 4; ++i) CHECK(program.value().data()[i] == Approx(expected.data()[i]).margin(1e-15));
}

TEMPLATE_TEST_CASE("matrix_inverse: A times its inverse is the identity for random matrices", "", float, double)
{
    for (std::size_t n : {1u, 3u, 8u, 33u}) {
        Tensor<TestType> value = xt::cast<TestType>(testing::normal_batch(n, n, unsigned(n)));
        Param<TestType> a(value, "a");
        Program program(matrix_inverse(a));
        program.bind(1);
        program.forward();
        INFO("n = " << n);
        CHECK(identity_residual(value, program.value()) < (std::is_same_v<TestType, float> ? 1e-4 : 1e-11));
    }
}

TEST_CASE("matrix_inverse: gradients through the inverse and through products with it")
{
    std::mt19937 rng(5);
    Param<double> a(testing::normal_batch(4, 4, 9) + 3.0 * xt::eye<double>(4), "a");
    Input<double> x(4, "x", {.requires_grad = true});
    auto inverse = matrix_inverse(a);
    // the inverse itself, and x A^-T as a flow's inverse pass applies it
    Program program(inverse, matmul(x, transposed(inverse)));
    program.bind(3);
    x.set(testing::uniform(3, 4, -2, 2, rng));
    CHECK_GRADIENTS(program, {testing::target(a), testing::target(x)});
}

TEST_CASE("matrix_inverse: a slice of a wider value is inverted in place")
{
    Param<double> wide(Tensor<double>{{9, 2, 0}, {9, 0, 4}}, "wide");
    Program program(matrix_inverse(wide.slice(1, 3)));  // [[2 0] [0 4]]
    program.bind(1);
    program.forward();
    CHECK(program.value()(0, 0) == Approx(0.5));
    CHECK(program.value()(1, 1) == Approx(0.25));
    CHECK(program.value()(0, 1) == 0.0);
    CHECK_GRADIENTS(program, {testing::target(wide)});
}

TEST_CASE("matrix_inverse: a singular matrix is an error naming the pivot and the shape")
{
    Param<double> a(Tensor<double>{{1, 2, 3}, {2, 4, 6}, {1, 0, 1}}, "a");
    Program program(matrix_inverse(a));
    program.bind(1);
    CHECK_THROWS_AS(program.forward(), usage_error);
    CHECK_THROWS_WITH(program.forward(), Catch::Contains("matrix_inverse") && Catch::Contains("(3 x 3)") &&
                                             Catch::Contains("singular") && Catch::Contains("pivot 2"));
    a.value() = Tensor<double>{{1, 0, 0}, {0, 1e-30, 0}, {0, 0, 1}};  // singular to working precision
    CHECK_THROWS_AS(program.forward(), usage_error);
    a.value() = Tensor<double>{{1, 0, 0}, {0, 2, 0}, {0, 0, 1}};  // and recovers once it is not
    CHECK_NOTHROW(program.forward());
    CHECK(program.value()(1, 1) == 0.5);
}

TEST_CASE("matrix_inverse: a non-square operand is a shape error at bind")
{
    Param<double> a(Shape{2, 3}, "a");
    Program program(matrix_inverse(a));
    CHECK_THROWS_AS(program.bind(1), shape_error);
    CHECK_THROWS_WITH(program.bind(1),
                      Catch::Contains("matrix_inverse") && Catch::Contains("square") && Catch::Contains("(2 x 3)"));
}
