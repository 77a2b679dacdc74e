// Domains and codomains (dsl/interval.hpp, dsl/domain.hpp, dsl/mapping.hpp): the interval arithmetic,
// the domain and image the analysis derives for every on-path rule, the scales it proves nonzero, the
// mappings of blocks and their compositions, the check of captured values when a rule is made, and the
// run-time check of data against a flow's support. The rejections are the compile-fail tests
// (tests/compile_fail/).
#include <numbers>
#include <string>

#include <catch2/catch.hpp>

#include <bijou/bijou.hpp>

using namespace bijou;
using dsl::Interval;

namespace {

template <class Rule>
constexpr dsl::ElementwiseAnalysis analysis_of(const Rule&)
{
    return Rule::template analysis<double>;
}

constexpr double pi_2 = std::numbers::pi / 2;

}  // namespace

TEST_CASE("intervals: inclusion, arithmetic and text")
{
    STATIC_REQUIRE(dsl::inside(dsl::unit_interval, dsl::closed_interval(0, 1)));
    STATIC_REQUIRE(!dsl::inside(dsl::closed_interval(0, 1), dsl::unit_interval));
    STATIC_REQUIRE(dsl::inside(dsl::unit_interval, dsl::real_line));
    STATIC_REQUIRE(!dsl::inside(dsl::real_line, dsl::positive));
    STATIC_REQUIRE(dsl::closed_interval(0, dsl::infinity).hi_open);  // an infinite end is open
    STATIC_REQUIRE(dsl::unit_interval + dsl::point_interval(2) == dsl::open_interval(2, 3));
    STATIC_REQUIRE(-dsl::closed_interval(1, 2) == dsl::closed_interval(-2, -1));
    STATIC_REQUIRE(dsl::scale(dsl::closed_interval(-1, 2), dsl::point_interval(-3)) == dsl::closed_interval(-6, 3));
    STATIC_REQUIRE(dsl::scale(dsl::closed_interval(0, 1), dsl::positive) == dsl::closed_interval(0, dsl::infinity));
    STATIC_REQUIRE(dsl::scale(dsl::unit_interval, dsl::positive) == dsl::positive);
    STATIC_REQUIRE(dsl::scale(dsl::real_line, dsl::unit_interval) == dsl::real_line);
    STATIC_REQUIRE(dsl::reciprocal(dsl::positive) == dsl::positive);
    STATIC_REQUIRE(dsl::reciprocal(dsl::closed_interval(2, 4)) == dsl::closed_interval(0.25, 0.5));
    STATIC_REQUIRE(dsl::reciprocal(dsl::open_interval(-dsl::infinity, -2)) == dsl::open_interval(-0.5, 0));
    STATIC_REQUIRE(dsl::positive.excludes_zero() && !dsl::closed_interval(0, 1).excludes_zero());

    dsl::Text<> text;
    text << dsl::real_line << " " << dsl::closed_interval(0, 1) << " " << dsl::open_interval(-pi_2, pi_2) << " " << 0.05
         << " " << 1.5e-7 << " " << -2.0;
    CHECK(std::string(text.text) == "(-inf, inf) [0, 1] (-pi/2, pi/2) 0.05 1.5e-7 -2");
}

TEST_CASE("domain analysis: every on-path rule's domain and image")
{
    struct Expected {
        const char* name;
        Interval domain, image;
    };
    constexpr auto R = dsl::real_line;
    const auto check = [](const char* name, const dsl::ElementwiseAnalysis& a, Interval domain, Interval image) {
        INFO("rule " << name);
        CHECK(!a.verdict.failed);
        CHECK(a.domain == domain);
        CHECK(a.path.image == image);
        CHECK(a.path.known);
        CHECK(!a.path.varies);
    };
    check("neg", analysis_of(dsl::elementwise([](auto x) { return -x; })), R, R);
    check("exp", analysis_of(dsl::elementwise([](auto x) { return exp(x); })), R, dsl::positive);
    check("log", analysis_of(dsl::elementwise([](auto x) { return log(x); })), dsl::positive, R);
    check("sqrt", analysis_of(dsl::elementwise([](auto x) { return sqrt(x); })), dsl::positive, dsl::positive);
    check("expm1", analysis_of(dsl::elementwise([](auto x) { return expm1(x); })), R,
          dsl::open_interval(-1, dsl::infinity));
    check("log1p", analysis_of(dsl::elementwise([](auto x) { return log1p(x); })),
          dsl::open_interval(-1, dsl::infinity), R);
    check("tanh", analysis_of(dsl::elementwise([](auto x) { return tanh(x); })), R, dsl::symmetric_unit);
    check("atanh", analysis_of(dsl::elementwise([](auto x) { return atanh(x); })), dsl::symmetric_unit, R);
    check("sinh", analysis_of(dsl::elementwise([](auto x) { return sinh(x); })), R, R);
    check("asinh", analysis_of(dsl::elementwise([](auto x) { return asinh(x); })), R, R);
    check("sigmoid", analysis_of(dsl::elementwise([](auto x) { return sigmoid(x); })), R, dsl::unit_interval);
    check("logit", analysis_of(dsl::elementwise([](auto x) { return logit(x); })), dsl::unit_interval, R);
    check("softplus", analysis_of(dsl::elementwise([](auto x) { return softplus(x); })), R, dsl::positive);
    check("softplus_inverse", analysis_of(dsl::elementwise([](auto x) { return softplus_inverse(x); })), dsl::positive,
          R);
    check("atan", analysis_of(dsl::elementwise([](auto x) { return atan(x); })), R, dsl::open_interval(-pi_2, pi_2));
    check("tan", analysis_of(dsl::elementwise([](auto x) { return tan(x); })), dsl::open_interval(-pi_2, pi_2), R);
    check("pow<3>", analysis_of(dsl::elementwise([](auto x) { return pow<3>(x); })), R, R);
    check("root<3>", analysis_of(dsl::elementwise([](auto x) { return root<3>(x); })), R, R);
    check("leaky_relu", analysis_of(dsl::elementwise([](auto x) { return leaky_relu(x, 0.2); })), R, R);
    // compositions and constants
    check("tan(atan(x))", analysis_of(dsl::elementwise([](auto x) { return tan(atan(x)); })), R, R);
    check("logit(sigmoid(x))", analysis_of(dsl::elementwise([](auto x) { return logit(sigmoid(x)); })), R, R);
    check("2x + 1 on (0, 1)", analysis_of(dsl::elementwise<dsl::unit_interval>([](auto x) { return x * 2.0 + 1.0; })),
          dsl::unit_interval, dsl::open_interval(1, 3));
    check("1 - x on [0, 1]", analysis_of(dsl::elementwise<dsl::closed_interval(0, 1)>([](auto x) { return 1.0 - x; })),
          dsl::closed_interval(0, 1), dsl::closed_interval(0, 1));
    check("2 / x on (0, inf)", analysis_of(dsl::elementwise<dsl::positive>([](auto x) { return 2.0 / x; })),
          dsl::positive, dsl::positive);
    check("log(x exp(s)) on (0, inf)",
          analysis_of(dsl::elementwise<dsl::positive>([](auto x, auto s) { return log(x * exp(s)); })), dsl::positive,
          R);
    constexpr auto squeeze =
        analysis_of(dsl::elementwise<dsl::closed_interval(0, 1)>([](auto x) { return logit(0.9 * x + 0.05); }));
    CHECK(!squeeze.verdict.failed);
    CHECK(squeeze.path.image.lo == Approx(std::log(0.05 / 0.95)).epsilon(1e-14));
    CHECK(squeeze.path.image.hi == Approx(std::log(0.95 / 0.05)).epsilon(1e-14));
    CHECK((!squeeze.path.image.lo_open && !squeeze.path.image.hi_open));
}

TEST_CASE("domain analysis: the scales it proves nonzero with a known sign")
{
    const auto proved = [](const char* name, const dsl::ElementwiseAnalysis& a) {
        INFO("scale " << name);
        CHECK(!a.verdict.failed);
        CHECK(!a.verdict.deferred);
        CHECK(a.path.image == dsl::real_line);
        CHECK(!a.path.varies);  // x * e + t maps the real line onto itself for every parameter value
    };
    proved("exp(s)", analysis_of(dsl::elementwise([](auto x, auto s, auto t) { return x * exp(s) + t; })));
    proved("exp(soft_clamp(s))", analysis_of(dsl::elementwise([](auto x, auto s, auto t) {
               return x * exp(soft_clamp(s, {.bound = 2.0})) + t;
           })));
    proved("softplus(s) + 0.1", analysis_of(dsl::elementwise([](auto x, auto s, auto t) {
               return x * (softplus(s) + 0.1) + t;
           })));
    proved("sigmoid(s + 2) + 0.5 (Glow)", analysis_of(dsl::elementwise([](auto x, auto s, auto t) {
               return x * (sigmoid(s + 2.0) + 0.5) + t;
           })));
    proved("sigmoid(s)", analysis_of(dsl::elementwise([](auto x, auto s, auto t) { return x * sigmoid(s) + t; })));
    proved("-3 (a negative constant)", analysis_of(dsl::elementwise([](auto x, auto t) { return x * -3.0 + t; })));
    proved("exp(s) * sigmoid(t)", analysis_of(dsl::elementwise([](auto x, auto s, auto t, auto u) {
               return x * (exp(s) * sigmoid(t)) + u;
           })));
    proved("1 / exp(s)", analysis_of(dsl::elementwise([](auto x, auto s, auto t) { return x / exp(s) + t; })));
    proved("exp(s) / (softplus(t) + 1)", analysis_of(dsl::elementwise([](auto x, auto s, auto t, auto u) {
               return x * (exp(s) / (softplus(t) + 1.0)) + u;
           })));
    proved("exp(2 tanh(s / 2))", analysis_of(dsl::elementwise([](auto x, auto s, auto t) {
               return x * exp(2.0 * tanh(s / 2.0)) + t;
           })));
}

TEST_CASE("domain analysis: images that move with the parameters are flagged")
{
    const auto moving = analysis_of(dsl::elementwise([](auto x, auto s) { return sigmoid(x) * exp(s); }));
    CHECK(!moving.verdict.failed);
    CHECK(moving.path.varies);
    CHECK(moving.path.image == dsl::positive);  // the hull over every s
    const auto shifted = analysis_of(dsl::elementwise([](auto x, auto t) { return exp(x) + t; }));
    CHECK(shifted.path.varies);
    const auto cone = analysis_of(dsl::elementwise<dsl::positive>([](auto x, auto s) { return x * exp(s); }));
    CHECK(!cone.path.varies);  // (0, inf) times any positive scale is (0, inf)
    CHECK(cone.path.image == dsl::positive);
}

TEST_CASE("block mappings: layers, couplings, permutations and their compositions")
{
    using dsl::mapping_of;
    const auto net = dsl::conditioner(hidden(8));
    const auto check = [](const char* name, const dsl::Mapping& m, Interval domain, Interval codomain) {
        INFO("block " << name);
        CHECK(!m.preserves);
        CHECK(m.domain == domain);
        CHECK(m.codomain == codomain);
    };
    using Sigmoid = decltype(flows::sigmoid_layer());
    using Logit = decltype(flows::logit_layer());
    using OpenLogit = decltype(flows::open_logit_layer());
    using RealNVP = decltype(flows::realnvp_coupling(net));
    check("sigmoid_layer", mapping_of<Sigmoid>(), dsl::real_line, dsl::unit_interval);
    check("logit_layer(alpha)", mapping_of<Logit>(), dsl::closed_interval(0, 1), dsl::real_line);
    check("open_logit_layer", mapping_of<OpenLogit>(), dsl::unit_interval, dsl::real_line);
    check("realnvp_coupling", mapping_of<RealNVP>(), dsl::real_line, dsl::real_line);
    check("spline_coupling", mapping_of<decltype(flows::spline_coupling(net))>(), dsl::real_line, dsl::real_line);
    check("actnorm", mapping_of<decltype(flows::actnorm())>(), dsl::real_line, dsl::real_line);
    CHECK(mapping_of<decltype(dsl::reverse())>().preserves);
    check("inverse(sigmoid_layer)", mapping_of<decltype(dsl::inverse(flows::sigmoid_layer()))>(), dsl::unit_interval,
          dsl::real_line);
    check("seq(sigmoid, open logit)", mapping_of<decltype(dsl::seq(flows::sigmoid_layer(), flows::open_logit_layer()))>(),
          dsl::real_line, dsl::real_line);
    check("seq(reverse, open logit, coupling)",
          mapping_of<decltype(dsl::seq(dsl::reverse(), flows::open_logit_layer(), flows::realnvp_coupling(net)))>(),
          dsl::unit_interval, dsl::real_line);
    check("seq(logit, coupling, reverse, sigmoid)",
          mapping_of<decltype(dsl::seq(flows::logit_layer(), flows::realnvp_coupling(net), dsl::reverse(),
                                       flows::sigmoid_layer()))>(),
          dsl::closed_interval(0, 1), dsl::unit_interval);
    check("repeat(sigmoid)", mapping_of<decltype(dsl::repeat(2, flows::sigmoid_layer()))>(), dsl::real_line,
          dsl::unit_interval);
    check("conditional(seq(open logit, coupling))",
          mapping_of<decltype(dsl::conditional(dsl::seq(flows::open_logit_layer(), flows::realnvp_coupling(net)), 3))>(),
          dsl::unit_interval, dsl::real_line);
}

TEST_CASE("captured values are checked when the rule is made")
{
    const auto squeeze = [](double scale) {
        return dsl::elementwise<dsl::closed_interval(0, 1), dsl::real_line>(
            [scale](auto x) { return logit(x * scale + 0.25); });
    };
    CHECK_NOTHROW(squeeze(0.5));  // [0, 1] -> [0.25, 0.75], inside logit's domain
    CHECK_THROWS_AS(squeeze(1.0), usage_error);
    CHECK_THROWS_WITH(squeeze(1.0), Catch::Contains("x reaches logit, whose domain is (0, 1), with values in [0.25, 1.25]"));
    CHECK_THROWS_WITH(squeeze(0.0), Catch::Contains("x is multiplied by 0, which is not provably nonzero"));
    CHECK_THROWS_WITH(flows::logit_layer(0.0), Catch::Contains("alpha must lie in (0, 0.5)") &&
                                                   Catch::Contains("open_logit_layer()"));
    // a capture off the path whose sign is proved whatever its value
    const SoftClamp clamp{.bound = 1.5};
    const auto clamped = dsl::elementwise([clamp](auto x, auto s, auto t) { return x * exp(soft_clamp(s, clamp)) + t; });
    CHECK(!decltype(clamped)::analysis<double>.verdict.deferred);
}

TEST_CASE("flows refuse data outside their support, naming the call, row, column, value and support")
{
    auto flow = make_flow<double, dsl::closed_interval(0, 1)>(
        2, dsl::seq(flows::logit_layer(0.05), flows::realnvp_coupling(dsl::conditioner(hidden(8)))));
    CHECK(flow.support() == dsl::closed_interval(0, 1));
    Tensor<double> x = Tensor<double>::from_shape({4, 2});
    x.fill(0.5);
    x(0, 0) = 0.0;  // both ends belong to a closed support
    x(1, 1) = 1.0;
    CHECK_NOTHROW(flow.log_prob(x));
    x(2, 1) = 1.25;
    CHECK_THROWS_AS(flow.log_prob(x), value_error);
    CHECK_THROWS_WITH(flow.log_prob(x), Catch::Contains("Flow::log_prob: data row 2, column 1 is 1.25, outside the "
                                                        "support [0, 1]"));
    CHECK_THROWS_WITH(flow.forward(x), Catch::Contains("Flow::forward: data row 2, column 1 is 1.25"));
    CHECK_THROWS_WITH(flow.fit(x, {.steps = 1}), Catch::Contains("fit: training data row 2, column 1 is 1.25"));
    // with a transform_batch hook the rows are raw (pixel counts a hook dequantises): finite is enough
    Tensor<double> counts = Tensor<double>::from_shape({4, 2});
    counts.fill(12.0);
    CHECK_NOTHROW(flow.fit(counts, {.batch_size = 4, .steps = 1,
                                    .transform_batch = [](Tensor<double>& batch, std::int64_t) { batch /= 17.0; }}));
    x(2, 1) = std::nan("");
    CHECK_THROWS_WITH(flow.log_prob(x), Catch::Contains("row 2, column 1 is nan, outside the support [0, 1]"));
    set_input_checks(false);
    x(2, 1) = 0.5;
    x(3, 0) = -1.0;
    CHECK_NOTHROW(flow.log_prob(x));
    set_input_checks(true);
    // latents are checked for finite values only
    Tensor<double> z = Tensor<double>::from_shape({1, 2});
    z.fill(5.0);
    CHECK_NOTHROW(flow.inverse(z));

    auto open = make_flow<double, dsl::unit_interval>(2, flows::open_logit_layer());
    Tensor<double> edge = Tensor<double>::from_shape({1, 2});
    edge.fill(0.5);
    edge(0, 1) = 0.0;
    CHECK_THROWS_WITH(open.log_prob(edge), Catch::Contains("row 0, column 1 is 0, outside the support (0, 1)"));
}
