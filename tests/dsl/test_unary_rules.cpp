// Every op the DSL accepts on the path of x (dsl/unary_rules.hpp), and x in each position of a binary
// op: the derived forward, inverse and log-derivative against closed forms, in double, at random points
// of the op's domain. Each rule is used as y = f(x) + t, so x = f^-1(y - t) and log|dy/dx| = log|f'(x)|.
#include <catch2/catch.hpp>

#include <bijou/dsl/elementwise.hpp>
#include <cmath>
#include <numbers>
#include <random>
#include <type_traits>

using namespace bijou;

namespace {

constexpr std::size_t rows = 5, cols = 7;

struct Domain {
    double lo, hi;  // points are drawn uniformly from (lo, hi), away from its ends
};

// Checks one rule: forward(x, t) = f(x) + t, inverse(f(x) + t, t) = x and log_abs_det(x, t) = log|f'(x)|
// at rows x cols random points of the domain, with t ~ N(0, 1).
template <class Rule, class F, class LogDerivative>
void check_rule(const char* name, const Rule& rule, F f, LogDerivative log_derivative, Domain domain, unsigned seed,
                double tolerance = 1e-12)
{
    INFO("rule " << name);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> inside(domain.lo + 0.02 * (domain.hi - domain.lo),
                                                  domain.hi - 0.02 * (domain.hi - domain.lo));
    std::normal_distribution<double> normal;
    Tensor<double> xs = Tensor<double>::from_shape({rows, cols}), ts = xs, ys = xs;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        xs.data()[i] = inside(rng);
        ts.data()[i] = normal(rng);
        ys.data()[i] = f(xs.data()[i]) + ts.data()[i];
    }
    Input<double> x(cols, "x"), t(cols, "t"), y(cols, "y");
    const auto log_det = rule.log_abs_det(x, t);
    constexpr bool volume_preserving = std::is_same_v<std::decay_t<decltype(log_det)>, dsl::Zero>;
    auto bound = [&] {
        if constexpr (volume_preserving)
            return Program(rule.forward(x, t), rule.inverse(y, t));
        else
            return Program(rule.forward(x, t), rule.inverse(y, t), log_det);
    }();
    bound.bind(rows);
    x.set(xs);
    t.set(ts);
    y.set(ys);
    bound.forward();
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) {
            INFO("x = " << xs(r, c) << ", t = " << ts(r, c));
            CHECK(bound.template value<0>()(r, c) == Approx(ys(r, c)).epsilon(tolerance).margin(tolerance));
            CHECK(bound.template value<1>()(r, c) == Approx(xs(r, c)).epsilon(1e3 * tolerance).margin(1e3 * tolerance));
            if constexpr (volume_preserving)
                CHECK(log_derivative(xs(r, c)) == 0);
            else
                CHECK(bound.template value<2>()(r, c) ==
                      Approx(log_derivative(xs(r, c))).epsilon(tolerance).margin(tolerance));
        }
}

constexpr Domain real{-3, 3};
constexpr Domain positive{0.05, 6};
constexpr double pi = std::numbers::pi;

}  // namespace

TEST_CASE("unary rules: neg, exp, log, expm1, log1p")
{
    check_rule("neg", dsl::elementwise([](auto x, auto t) { return -x + t; }), [](double x) { return -x; },
               [](double) { return 0.0; }, real, 1);
    check_rule("exp", dsl::elementwise([](auto x, auto t) { return exp(x) + t; }), [](double x) { return std::exp(x); },
               [](double x) { return x; }, real, 2);
    check_rule("log", dsl::elementwise([](auto x, auto t) { return log(x) + t; }), [](double x) { return std::log(x); },
               [](double x) { return -std::log(x); }, positive, 3);
    check_rule("sqrt", dsl::elementwise([](auto x, auto t) { return sqrt(x) + t; }), [](double x) { return std::sqrt(x); },
               [](double x) { return -std::log(2.0) - 0.5 * std::log(x); }, positive, 25);
    check_rule("expm1", dsl::elementwise([](auto x, auto t) { return expm1(x) + t; }),
               [](double x) { return std::expm1(x); }, [](double x) { return x; }, real, 4);
    check_rule("log1p", dsl::elementwise([](auto x, auto t) { return log1p(x) + t; }),
               [](double x) { return std::log1p(x); }, [](double x) { return -std::log1p(x); }, Domain{-0.95, 6}, 5);
}

TEST_CASE("unary rules: tanh, atanh, sinh, asinh, sigmoid, logit")
{
    check_rule("tanh", dsl::elementwise([](auto x, auto t) { return tanh(x) + t; }), [](double x) { return std::tanh(x); },
               [](double x) { return std::log(1 - std::tanh(x) * std::tanh(x)); }, Domain{-2.5, 2.5}, 6, 1e-10);
    check_rule("atanh", dsl::elementwise([](auto x, auto t) { return atanh(x) + t; }),
               [](double x) { return std::atanh(x); }, [](double x) { return -std::log(1 - x * x); }, Domain{-1, 1}, 7,
               1e-11);
    check_rule("sinh", dsl::elementwise([](auto x, auto t) { return sinh(x) + t; }), [](double x) { return std::sinh(x); },
               [](double x) { return std::log(std::cosh(x)); }, real, 8);
    check_rule("asinh", dsl::elementwise([](auto x, auto t) { return asinh(x) + t; }),
               [](double x) { return std::asinh(x); }, [](double x) { return -0.5 * std::log(1 + x * x); }, real, 9);
    const auto sigma = [](double x) { return 1 / (1 + std::exp(-x)); };
    check_rule("sigmoid", dsl::elementwise([](auto x, auto t) { return sigmoid(x) + t; }), sigma,
               [&](double x) { return std::log(sigma(x) * (1 - sigma(x))); }, real, 10, 1e-11);
    check_rule("logit", dsl::elementwise([](auto x, auto t) { return logit(x) + t; }),
               [](double x) { return std::log(x / (1 - x)); }, [](double x) { return -std::log(x * (1 - x)); },
               Domain{0, 1}, 11, 1e-11);
}

TEST_CASE("unary rules: softplus, softplus_inverse, atan, tan")
{
    check_rule("softplus", dsl::elementwise([](auto x, auto t) { return softplus(x) + t; }),
               [](double x) { return std::log1p(std::exp(x)); }, [](double x) { return -std::log1p(std::exp(-x)); },
               real, 12, 1e-11);
    check_rule("softplus_inverse", dsl::elementwise([](auto x, auto t) { return softplus_inverse(x) + t; }),
               [](double x) { return std::log(std::expm1(x)); }, [](double x) { return -std::log(-std::expm1(-x)); },
               positive, 13, 1e-11);
    check_rule("atan", dsl::elementwise([](auto x, auto t) { return atan(x) + t; }), [](double x) { return std::atan(x); },
               [](double x) { return -std::log(1 + x * x); }, real, 14);
    check_rule("tan", dsl::elementwise([](auto x, auto t) { return tan(x) + t; }), [](double x) { return std::tan(x); },
               [](double x) { return -2 * std::log(std::cos(x)); }, Domain{-pi / 2, pi / 2}, 15, 1e-10);
}

TEST_CASE("unary rules: odd powers and roots, leaky_relu")
{
    check_rule("pow<3>", dsl::elementwise([](auto x, auto t) { return pow<3>(x) + t; }),
               [](double x) { return x * x * x; }, [](double x) { return std::log(3 * x * x); }, real, 16, 1e-11);
    check_rule("pow<5>", dsl::elementwise([](auto x, auto t) { return pow<5>(x) + t; }),
               [](double x) { return std::pow(x, 5); }, [](double x) { return std::log(5 * std::pow(x, 4)); },
               Domain{-2, 2}, 17, 1e-11);
    check_rule("root<3>", dsl::elementwise([](auto x, auto t) { return root<3>(x) + t; }),
               [](double x) { return std::cbrt(x); },
               [](double x) { return -std::log(3.0) - (2.0 / 3) * std::log(std::abs(x)); }, real, 18, 1e-11);
    check_rule("leaky_relu", dsl::elementwise([](auto x, auto t) { return leaky_relu(x, 0.2) + t; }),
               [](double x) { return x > 0 ? x : 0.2 * x; }, [](double x) { return x > 0 ? 0.0 : std::log(0.2); }, real,
               19);
}

TEST_CASE("binary rules: x in each position of +, -, *, / with an x-free operand")
{
    // o - x: y = t - x; x / o and o * x: a constant nonzero factor; o / x on x > 0
    check_rule("o - x", dsl::elementwise([](auto x, auto t) { return t - x; }), [](double x) { return -x; },
               [](double) { return 0.0; }, real, 20);
    check_rule("x - o", dsl::elementwise([](auto x, auto t) { return (x - 1.5) + t; }), [](double x) { return x - 1.5; },
               [](double) { return 0.0; }, real, 21);
    check_rule("x / o", dsl::elementwise([](auto x, auto t) { return x / 2.5 + t; }), [](double x) { return x / 2.5; },
               [](double) { return -std::log(2.5); }, real, 22);
    check_rule("o * x", dsl::elementwise([](auto x, auto t) { return 0.5 * x + t; }), [](double x) { return 0.5 * x; },
               [](double) { return std::log(0.5); }, real, 23);
    check_rule("o / x", dsl::elementwise<dsl::positive>([](auto x, auto t) { return 2.0 / x + t; }), [](double x) { return 2.0 / x; },
               [](double x) { return std::log(2.0) - 2 * std::log(x); }, positive, 24);
}

TEST_CASE("unary rules: leaky_relu with a slope <= 0 on the path of x is a usage error naming the slope")
{
    // The slope is captured, so the domain analysis checks it on its value when the rule is made.
    for (const double slope : {0.0, -0.5}) {
        const auto make = [slope] { return dsl::elementwise([slope](auto x, auto t) { return leaky_relu(x, slope) + t; }); };
        CHECK_THROWS_AS(make(), usage_error);
        CHECK_THROWS_WITH(make(), Catch::Contains("leaky_relu(x) with slope " + std::string(slope == 0 ? "0" : "-0.5")) &&
                                      Catch::Contains("positive, finite slope"));
    }
}
