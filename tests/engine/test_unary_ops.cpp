// Every unary op: its value against the standard library (float and double), and its gradient against
// central finite differences (double). The shapes include batch 1 and widths that are not multiples of
// the SIMD width (16 floats or 8 doubles with AVX-512), so both the vector blocks and the scalar tail
// run; inputs come from each op's domain, away from its kinks. Saturating ops are also checked at
// extreme inputs, where they must stay finite.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "support/checks.hpp"

using namespace bijou;

namespace {

// Where an op's inputs are drawn from: an interval, minus a neighbourhood of each kink.
struct Domain {
    double low;
    double high;
    std::vector<double> kinks = {};
};

constexpr std::size_t batches[] = {1, 5, 20};
constexpr std::size_t widths[] = {1, 3, 7, 17, 33};

// Worst relative error of op(x) against reference(x), element by element, computed in type T.
template <class T, class Op, class Reference>
double worst_value_error(Op op, Reference reference, const Tensor<double>& data)
{
    const Tensor<T> input = xt::cast<T>(data);
    Input<T> x(input.shape()[1], "x");
    Program program(op(x));
    program.bind(input.shape()[0]);
    x.set(input);
    program.forward();
    const Tensor<T>& y = program.value();
    double worst = 0;
    for (std::size_t i = 0; i < input.size(); ++i) {
        const double expected = reference(double(input.data()[i]));
        const double error = std::abs(double(y.data()[i]) - expected) / std::max(std::abs(expected), 1e-300);
        if (!(error <= worst)) worst = error;  // also catches NaN
    }
    return worst;
}

template <class Op, class Reference>
void check_unary(Op op, Reference reference, Domain domain)
{
    std::mt19937 rng(20240611);
    for (std::size_t rows : batches)
        for (std::size_t cols : widths) {
            INFO("shape " << rows << " x " << cols);
            const Tensor<double> data = testing::uniform(rows, cols, domain.low, domain.high, rng, domain.kinks);
            CHECK(worst_value_error<float>(op, reference, data) <= 2e-6);  // about 16 ulp (pow is exp(p log x))
            CHECK(worst_value_error<double>(op, reference, data) <= 1e-14);

            Input<double> x(cols, "x", {.requires_grad = true});
            Program program(op(x));
            program.bind(rows);
            x.set(data);
            CHECK_GRADIENTS(program, {testing::target(x)});
        }
}

}  // namespace

// clang-format off
TEST_CASE("neg")        { check_unary([](auto x) { return -x; },                  [](double v) { return -v; },                   {-3, 3}); }
TEST_CASE("exp")        { check_unary([](auto x) { return exp(x); },              [](double v) { return std::exp(v); },          {-5, 5}); }
TEST_CASE("log")        { check_unary([](auto x) { return log(x); },              [](double v) { return std::log(v); },          {0.05, 5}); }
TEST_CASE("log1p")      { check_unary([](auto x) { return log1p(x); },            [](double v) { return std::log1p(v); },        {-0.9, 5}); }
TEST_CASE("expm1")      { check_unary([](auto x) { return expm1(x); },            [](double v) { return std::expm1(v); },        {-3, 3}); }
TEST_CASE("sqrt")       { check_unary([](auto x) { return sqrt(x); },             [](double v) { return std::sqrt(v); },         {0.05, 5}); }
TEST_CASE("square")     { check_unary([](auto x) { return square(x); },           [](double v) { return v * v; },                {-3, 3}); }
TEST_CASE("pow integer exponent negative base") {
                          check_unary([](auto x) { return pow(x, 3); },           [](double v) { return std::pow(v, 3.0); },     {-2, 2}); }
TEST_CASE("pow fractional exponent") {
                          check_unary([](auto x) { return pow(x, 2.5); },         [](double v) { return std::pow(v, 2.5); },     {0.1, 3}); }
TEST_CASE("pow negative exponent") {
                          check_unary([](auto x) { return pow(x, -1.5); },        [](double v) { return std::pow(v, -1.5); },    {0.2, 3}); }
TEST_CASE("tanh")       { check_unary([](auto x) { return tanh(x); },             [](double v) { return std::tanh(v); },         {-3, 3}); }
TEST_CASE("sigmoid")    { check_unary([](auto x) { return sigmoid(x); },          [](double v) { return 1 / (1 + std::exp(-v)); }, {-6, 6}); }
TEST_CASE("softplus")   { check_unary([](auto x) { return softplus(x); },         [](double v) { return std::log1p(std::exp(v)); }, {-6, 6}); }
TEST_CASE("relu")       { check_unary([](auto x) { return relu(x); },             [](double v) { return std::max(v, 0.0); },     {-3, 3, {0}}); }
TEST_CASE("leaky_relu") { check_unary([](auto x) { return leaky_relu(x, 0.1); },  [](double v) { return v > 0 ? v : 0.1 * v; },  {-3, 3, {0}}); }
TEST_CASE("elu")        { check_unary([](auto x) { return elu(x, 0.7); },         [](double v) { return v > 0 ? v : 0.7 * std::expm1(v); }, {-3, 3, {0}}); }
TEST_CASE("abs")        { check_unary([](auto x) { return abs(x); },              [](double v) { return std::abs(v); },          {-3, 3, {0}}); }
TEST_CASE("clamp")      { check_unary([](auto x) { return clamp(x, -0.5, 0.8); }, [](double v) { return std::clamp(v, -0.5, 0.8); }, {-2, 2, {-0.5, 0.8}}); }
TEST_CASE("atan")       { check_unary([](auto x) { return atan(x); },             [](double v) { return std::atan(v); },         {-4, 4}); }
TEST_CASE("tan")        { check_unary([](auto x) { return tan(x); },              [](double v) { return std::tan(v); },          {-1.3, 1.3}); }
TEST_CASE("sinh")       { check_unary([](auto x) { return sinh(x); },             [](double v) { return std::sinh(v); },         {-3, 3}); }
TEST_CASE("asinh")      { check_unary([](auto x) { return asinh(x); },            [](double v) { return std::asinh(v); },        {-4, 4}); }
TEST_CASE("atanh")      { check_unary([](auto x) { return atanh(x); },            [](double v) { return std::atanh(v); },        {-0.9, 0.9}); }
// clang-format on

namespace {

// Extreme inputs, repeated so that each lands in a SIMD block and in the scalar tail.
template <class T>
Tensor<T> extreme_inputs()
{
    const double values[] = {-1e3, -100, -30, 30, 100, 1e3};
    Tensor<T> t = Tensor<T>::from_shape({2, 3 * std::size(values) + 1});
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = T(values[i % std::size(values)]);
    return t;
}

// op(x) and d op(x)/dx at extreme x: finite, and equal to the mathematical limits given in double.
// A saturated derivative is compared absolutely: computed from the cached output (1 - y^2, y + alpha),
// it keeps only the absolute precision of y, which is all backpropagation needs.
template <class T, class Op, class Value, class Derivative>
void check_extremes(Op op, Value value, Derivative derivative)
{
    const Tensor<T> input = extreme_inputs<T>();
    Input<T> x(input.shape()[1], "x", {.requires_grad = true});
    Program program(sum(op(x)), op(x));
    program.bind(input.shape()[0]);
    x.set(input);
    program.forward();
    program.backward();
    const Tensor<T>& y = program.template value<1>();
    for (std::size_t i = 0; i < input.size(); ++i) {
        const double v = double(input.data()[i]);
        INFO("x = " << v);
        REQUIRE(std::isfinite(y.data()[i]));
        REQUIRE(std::isfinite(x.grad().data()[i]));
        CHECK(double(y.data()[i]) == Approx(value(v)).epsilon(1e-6).margin(1e-30));
        CHECK(double(x.grad().data()[i]) == Approx(derivative(v)).epsilon(1e-6).margin(1e-12));
    }
}

template <class Op, class Value, class Derivative>
void check_extremes(Op op, Value value, Derivative derivative)
{
    SECTION("float") { check_extremes<float>(op, value, derivative); }
    SECTION("double") { check_extremes<double>(op, value, derivative); }
}

double stable_sigmoid(double v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); }

}  // namespace

TEST_CASE("sigmoid saturates to 0 and 1 with a vanishing gradient")
{
    check_extremes([](auto x) { return sigmoid(x); }, stable_sigmoid,
                   [](double v) { return stable_sigmoid(v) * stable_sigmoid(-v); });
}

TEST_CASE("softplus tends to 0 and to x its gradient to 0 and 1")
{
    check_extremes([](auto x) { return softplus(x); },
                   [](double v) { return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v))); }, stable_sigmoid);
}

TEST_CASE("tanh saturates to -1 and 1 with a vanishing gradient")
{
    check_extremes([](auto x) { return tanh(x); }, [](double v) { return std::tanh(v); },
                   [](double v) { return 1 / (std::cosh(v) * std::cosh(v)); });
}

TEST_CASE("elu tends to -alpha for very negative inputs")
{
    check_extremes([](auto x) { return elu(x, 0.7); }, [](double v) { return v > 0 ? v : 0.7 * std::expm1(v); },
                   [](double v) { return v > 0 ? 1.0 : 0.7 * std::exp(v); });
}

TEST_CASE("atan and asinh stay finite with small gradients at large |x|")
{
    SECTION("atan")
    {
        check_extremes([](auto x) { return atan(x); }, [](double v) { return std::atan(v); },
                       [](double v) { return 1 / (1 + v * v); });
    }
    SECTION("asinh")
    {
        check_extremes([](auto x) { return asinh(x); }, [](double v) { return std::asinh(v); },
                       [](double v) { return 1 / std::sqrt(1 + v * v); });
    }
}
