// The worked example of docs/dsl.md, section 1, compiled and checked: a sinh-arcsinh coupling written
// in one line of DSL is invertible, its derived log-det matches the Jacobian, and it trains.
#include <bijou/bijou.hpp>
#include <bijou/dsl/check.hpp>
#include <catch2/catch.hpp>
#include <cmath>

using namespace bijou;

// --- as in docs/dsl.md -------------------------------------------------------------------------------
inline constexpr auto sinh_arcsinh =
    dsl::elementwise([](auto x, auto d, auto e) { return sinh(exp(soft_clamp(d, {.bound = 0.5})) * asinh(x) + e); });

// The first draft, without the clamp: check_bijection finds inputs where it overflows.
inline constexpr auto sinh_arcsinh_unclamped =
    dsl::elementwise([](auto x, auto d, auto e) { return sinh(exp(d) * asinh(x) + e); });
// ------------------------------------------------------------------------------------------------------

TEST_CASE("docs example: the derived inverse and log-derivative of sinh-arcsinh match the closed forms")
{
    Input<double> x(1, "x"), d(1, "d"), e(1, "e");
    const auto& rule = sinh_arcsinh_unclamped;
    Program program(rule.forward(x, d, e), rule.log_abs_det(x, d, e), rule.inverse(rule.forward(x, d, e), d, e));
    program.bind(3);
    x.set(Tensor<double>{{-2.0}, {0.3}, {5.0}});
    d.set(Tensor<double>{{0.4}, {-0.7}, {0.1}});
    e.set(Tensor<double>{{-0.5}, {1.2}, {0.0}});
    program.forward();
    const double xs[] = {-2.0, 0.3, 5.0}, ds[] = {0.4, -0.7, 0.1}, es[] = {-0.5, 1.2, 0.0};
    for (std::size_t r = 0; r < 3; ++r) {
        const double u = std::exp(ds[r]) * std::asinh(xs[r]) + es[r];
        CHECK(program.template value<0>()(r, 0) == Approx(std::sinh(u)).epsilon(1e-14));
        CHECK(program.template value<1>()(r, 0) ==
              Approx(std::log(std::cosh(u)) + ds[r] - 0.5 * std::log1p(xs[r] * xs[r])).epsilon(1e-13));
        CHECK(program.template value<2>()(r, 0) == Approx(xs[r]).epsilon(1e-12));
    }
}

TEST_CASE("docs example: check_bijection catches the overflow of the unclamped draft")
{
    dsl::BuildContext context;
    auto block = dsl::coupling(dsl::halves, dsl::conditioner(hidden(16)), sinh_arcsinh_unclamped).build<double>(4, context);
    auto report = dsl::check_bijection(block, dsl::samplers::normal(2.0), {.cases = 50, .parameter_noise = 0.5});
    INFO(report.summary());
    CHECK_FALSE(report.passed);
    CHECK_THAT(report.summary(), Catch::Contains("finite outputs"));
}

TEST_CASE("docs example: check_bijection passes the sinh-arcsinh coupling")
{
    dsl::BuildContext context;
    auto block = dsl::coupling(dsl::halves, dsl::conditioner(hidden(16)), sinh_arcsinh).build<double>(4, context);
    auto report = dsl::check_bijection(block, dsl::samplers::normal(2.0), {.cases = 50, .parameter_noise = 0.5});
    INFO(report.summary());
    CHECK(report.passed);
}

TEST_CASE("docs example: a sinh-arcsinh flow learns a skewed heavy-tailed distribution")
{
    auto spec = dsl::repeat<4>(
        dsl::seq(dsl::coupling(dsl::halves, dsl::conditioner(hidden(32, 32)), sinh_arcsinh), dsl::reverse()));
    auto flow = make_flow<double>(2, spec);
    // x1 ~ N(0, 1), x2 = sinh(asinh(x1) * 1.5 + 0.5 + 0.3 n): skewed, heavy tailed, dependent on x1.
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal;
    auto draw = [&](std::size_t n) {
        Tensor<double> t = Tensor<double>::from_shape({n, 2});
        for (std::size_t i = 0; i < n; ++i) {
            t(i, 0) = normal(rng);
            t(i, 1) = std::sinh(1.5 * std::asinh(t(i, 0)) + 0.5 + 0.3 * normal(rng));
        }
        return t;
    };
    const Tensor<double> train = draw(4000), test = draw(4000);
    auto nll = [&] { return -xt::mean(flow.log_prob(test))(); };
    const double before = nll();
    const auto report = flow.fit(train, {.batch_size = 200, .steps = 600, .lr = 3e-3, .max_grad_norm = 10});
    const double after = nll();
    INFO("test NLL before " << before << " after " << after << ", stop reason " << int(report.stop_reason)
                            << " after " << report.steps_run << " steps");
    CHECK(report.stop_reason == StopReason::completed);
    CHECK(after < before - 1.0);
}
