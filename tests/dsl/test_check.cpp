// check_bijection can fail: deliberately broken blocks are caught by the law they break, and the
// reproducer it reports is simpler than the input it started from and still fails.
#include <bijou/dsl/check.hpp>
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/coupling.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/flows/flow.hpp>
#include <bijou/flows/transforms.hpp>
#include <catch2/catch.hpp>

using namespace bijou;

namespace {

enum class Defect { none, log_det_sign, log_det_offset, forward_log_det_offset, inverse_slightly_off };

// y = x * exp(s) + t per feature, log|det J| = sum_j s_j, written by hand (not through the DSL) so that
// each direction can be broken on purpose.
template <class T, Defect D = Defect::none>
class ScaleShift {
public:
    using value_type = T;

    explicit ScaleShift(std::size_t dim)
        : dim_(dim), log_scale_(Shape{1, dim}, "scale_shift.s"), shift_(Shape{1, dim}, "scale_shift.t")
    {
        for (std::size_t j = 0; j < dim; ++j) {
            log_scale_.value()(0, j) = T(0.3) * T(j + 1) - T(0.5);
            shift_.value()(0, j) = T(1) - T(0.4) * T(j);
        }
    }

    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return {log_scale_, shift_}; }

    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        auto log_det = sum(log_scale_ + 0.0 * x, 1);
        if constexpr (D == Defect::log_det_sign)
            return dsl::Transformed{x * exp(log_scale_) + shift_, -log_det};
        else if constexpr (D == Defect::log_det_offset || D == Defect::forward_log_det_offset)
            return dsl::Transformed{x * exp(log_scale_) + shift_, log_det + 0.5};
        else
            return dsl::Transformed{x * exp(log_scale_) + shift_, log_det};
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        auto log_det = sum(log_scale_ + 0.0 * y, 1);
        if constexpr (D == Defect::log_det_sign)
            return dsl::Transformed{(y - shift_) * exp(-log_scale_), log_det};
        else if constexpr (D == Defect::log_det_offset)
            return dsl::Transformed{(y - shift_) * exp(-log_scale_), -(log_det + 0.5)};
        else if constexpr (D == Defect::inverse_slightly_off)
            return dsl::Transformed{(y - shift_) * exp(-log_scale_) * (1 + 1e-6), -log_det};
        else
            return dsl::Transformed{(y - shift_) * exp(-log_scale_), -log_det};
    }

private:
    std::size_t dim_;
    Param<T> log_scale_, shift_;
};

// y = sinh(x): a bijection of the real line, log|dy/dx| = log cosh(x); but sinh overflows for |x| > 710.
template <class T>
struct Sinh {
    using value_type = T;
    std::size_t dim_;
    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return {}; }
    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        return dsl::Transformed{sinh(x), sum(log(0.5 * (exp(x) + exp(-x))), 1)};
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        return dsl::Transformed{asinh(y), -0.5 * sum(log1p(square(y)), 1)};  // cosh(asinh y) = sqrt(1 + y^2)
    }
};

// y = x / 1000 + 1000 (offset is a defect added to the inverse): nearly flat, so that in float y keeps
// only a few of x's bits (the ulp of 1000 is 6e-5, i.e. 0.06 in x) and no inverse can round-trip to 1e-4.
template <class T>
struct Flat {
    using value_type = T;
    double offset = 0;
    std::size_t dim() const { return 3; }
    std::vector<Param<T>> parameters() const { return {}; }
    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        return dsl::Transformed{x * 1e-3 + 1000.0, sum(0.0 * x + std::log(1e-3), 1)};
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        return dsl::Transformed{(y - 1000.0) * 1e3 + offset, sum(0.0 * y - std::log(1e-3), 1)};
    }
};

std::size_t nonzeros(const Tensor<double>& row)
{
    return std::size_t(std::count_if(row.begin(), row.end(), [](double v) { return v != 0; }));
}
int digits(const Tensor<double>& row)
{
    int total = 0;
    for (double v : row) total += dsl::detail::significant_digits(v);
    return total;
}

// The failure is the expected law, its reproducer is simpler than the row it came from, and replaying
// the reproducer (one case, one row, no shrinking) fails with the same law.
template <class Block>
void require_caught(const Block& block, const dsl::CheckReport& report, dsl::Law law)
{
    INFO(report.summary());
    REQUIRE_FALSE(report.passed);
    REQUIRE(report.failure);
    const auto& failure = *report.failure;
    CHECK(failure.law == law);
    CHECK(failure.description.size() > 0);
    CHECK(nonzeros(failure.input) <= nonzeros(failure.original_input));
    CHECK(digits(failure.input) < digits(failure.original_input));
    CHECK(report.summary().find(failure.reproducer()) != std::string::npos);
    const auto replay = dsl::check_bijection(block, dsl::samplers::fixed(failure.input),
                                             {.cases = 1, .batch = 1, .parameter_noise = 0, .shrink = false});
    REQUIRE(replay.failure);
    CHECK(replay.failure->law == law);
}

const dsl::CheckOptions exact = {.cases = 4, .parameter_noise = 0};

}  // namespace

TEST_CASE("check_bijection passes a correct block in double and float")
{
    const auto report = dsl::check_bijection(ScaleShift<double>(4), dsl::samplers::normal(), exact);
    INFO(report.summary());
    CHECK(report.passed);
    CHECK(report.cases == 4);
    CHECK(report.rows == 32);
    CHECK(report.jacobian_checked);
    CHECK(report.worst_round_trip < 1e-14);
    CHECK(report.worst_log_det < 1e-8);
    CHECK(report.non_finite == 0);
    CHECK(report.summary().find("PASS") != std::string::npos);

    const auto extreme = dsl::check_bijection(ScaleShift<double>(4), dsl::samplers::extreme(), exact);
    INFO(extreme.summary());
    CHECK(extreme.passed);

    const auto single = dsl::check_bijection(ScaleShift<float>(4), dsl::samplers::extreme(), exact);
    INFO(single.summary());
    CHECK(single.passed);
    CHECK(single.scalar == "float");
}

TEST_CASE("a log-det with the wrong sign in both directions breaks the Jacobian law")
{
    const ScaleShift<double, Defect::log_det_sign> block(4);
    const auto report = dsl::check_bijection(block, dsl::samplers::normal(3.0), exact);
    require_caught(block, report, dsl::Law::log_det_jacobian);
    // The log-det does not depend on x, so the reproducer is the zero row.
    CHECK(nonzeros(report.failure->input) == 0);
    CHECK(report.failure->reproducer() == "Tensor<double> x{{0, 0, 0, 0}};");
    CHECK(report.worst_symmetry < 1e-14);  // symmetric, hence invisible to that law

    const ScaleShift<float, Defect::log_det_sign> single(4);
    require_caught(single, dsl::check_bijection(single, dsl::samplers::normal(), exact), dsl::Law::log_det_jacobian);
}

TEST_CASE("a log-det off by a constant breaks the Jacobian law or the symmetry law")
{
    const ScaleShift<double, Defect::log_det_offset> both(3);
    require_caught(both, dsl::check_bijection(both, dsl::samplers::normal(), exact), dsl::Law::log_det_jacobian);

    const ScaleShift<double, Defect::forward_log_det_offset> forward_only(3);
    const auto report = dsl::check_bijection(forward_only, dsl::samplers::normal(), exact);
    require_caught(forward_only, report, dsl::Law::log_det_symmetry);
    CHECK(report.worst_symmetry > 0.1);
}

TEST_CASE("an inverse that is slightly wrong breaks the round trip")
{
    const ScaleShift<double, Defect::inverse_slightly_off> block(5);
    const auto report = dsl::check_bijection(block, dsl::samplers::normal(), exact);
    require_caught(block, report, dsl::Law::round_trip);
    CHECK(report.worst_round_trip > 1e-7);
    CHECK(report.worst_round_trip < 1e-5);
    // An error relative to x needs one nonzero coordinate, and one significant digit is enough.
    CHECK(nonzeros(report.failure->input) == 1);
    CHECK(digits(report.failure->input) == 1);

    // With parameter noise (drawn first from the seed), the replay the summary prints fails again.
    const auto noisy = dsl::check_bijection(block, dsl::samplers::normal(), {.cases = 4, .seed = 3});
    REQUIRE(noisy.failure);
    CHECK(noisy.summary().find("{.cases = 1, .batch = 1, .seed = 3, .parameter_noise = 0.1}") != std::string::npos);
    const auto replay = dsl::check_bijection(block, dsl::samplers::fixed(noisy.failure->input),
                                             {.cases = 1, .batch = 1, .seed = 3, .parameter_noise = 0.1});
    REQUIRE(replay.failure);
    CHECK(replay.failure->law == dsl::Law::round_trip);

    // Without shrinking, the reported row is the original one.
    auto options = exact;
    options.shrink = false;
    const auto unshrunk = dsl::check_bijection(block, dsl::samplers::normal(), options);
    REQUIRE(unshrunk.failure);
    CHECK(xt::allclose(unshrunk.failure->input, unshrunk.failure->original_input, 0.0, 0.0));
}

TEST_CASE("a round trip limited by the inverse's conditioning passes and is counted, and a wrong inverse still fails")
{
    const dsl::CheckOptions options{.cases = 4, .check_jacobian = false, .parameter_noise = 0};
    const auto flat = dsl::check_bijection(Flat<float>{}, dsl::samplers::normal(), options);
    INFO(flat.summary());
    CHECK(flat.passed);
    CHECK(flat.round_trip_conditioned > 0);            // rows beyond 1e-4 ...
    CHECK(flat.worst_conditioned_round_trip > 1e-4);
    CHECK(flat.worst_conditioned_round_trip < 0.2);    // ... by what 16 ulps of y explain (about 1)
    CHECK(flat.worst_round_trip <= 1e-4);              // the plain rows' worst leaves them out
    CHECK(flat.summary().find("within what 16 ulps of rounding in y give through the inverse") != std::string::npos);

    const auto wrong = dsl::check_bijection(Flat<float>{.offset = 3}, dsl::samplers::normal(), options);
    INFO(wrong.summary());
    REQUIRE_FALSE(wrong.passed);
    CHECK(wrong.failure->law == dsl::Law::round_trip);
    CHECK(wrong.failure->description.find("not explained by the inverse's conditioning") != std::string::npos);

    // in double the same map is well resolved: no row needs the second look
    const auto exact_map = dsl::check_bijection(Flat<double>{}, dsl::samplers::normal(), options);
    CHECK(exact_map.passed);
    CHECK(exact_map.round_trip_conditioned == 0);
}

TEST_CASE("a non-finite output for large x breaks the finite-outputs law")
{
    const Sinh<double> block{4};
    const auto fine = dsl::check_bijection(block, dsl::samplers::normal(), exact);
    INFO(fine.summary());
    CHECK(fine.passed);

    const auto report = dsl::check_bijection(block, dsl::samplers::extreme(), exact);
    require_caught(block, report, dsl::Law::finite_outputs);
    CHECK(report.non_finite > 0);
    // One coordinate large enough to overflow sinh(x) (|x| > 710) or the inverse's log-det, which
    // squares y = sinh(x) (|x| > 355), written with one digit.
    CHECK(nonzeros(report.failure->input) == 1);
    CHECK(digits(report.failure->input) == 1);
    CHECK(xt::amax(xt::abs(report.failure->input))() > 355);
}

TEST_CASE("check_bijection tests a DSL coupling away from its identity start and restores the parameters")
{
    dsl::BuildContext context;
    const auto block = dsl::conditional(dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), flows::affine), 2)
                           .build<double>(5, context);
    std::vector<Tensor<double>> before;
    for (const auto& p : block.parameters()) before.push_back(p.value());

    const auto report = dsl::check_bijection(block, dsl::samplers::normal(), dsl::samplers::normal(), {.cases = 5});
    INFO(report.summary());
    CHECK(report.passed);
    CHECK(report.condition_dim == 2);
    CHECK(report.worst_log_det > 0);  // the noise made the coupling a non-trivial map...
    const auto parameters = block.parameters();
    for (std::size_t k = 0; k < parameters.size(); ++k)  // ...and was taken back
        CHECK(xt::allclose(parameters[k].value(), before[k], 0.0, 0.0));

    // The condition width can also be given explicitly (for blocks built with BuildContext.condition_dim).
    const auto conditions = dsl::conditioned_on(2, dsl::samplers::extreme());
    const auto extreme = dsl::check_bijection(block, dsl::samplers::extreme(), conditions, {.cases = 5});
    INFO(extreme.summary());
    CHECK(extreme.passed);
}

TEST_CASE("check_bijection takes a Flow through its numeric forward and inverse")
{
    auto flow = make_flow<double>(
        4, dsl::seq(dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), flows::additive), dsl::reverse()), 3);
    const auto report = dsl::check_bijection(flow, dsl::samplers::uniform(-3, 3), {.cases = 3, .parameter_noise = 0.5});
    INFO(report.summary());
    CHECK(report.passed);
    CHECK(report.worst_log_det < 1e-6);
}

TEST_CASE("check_bijection rejects an empty run and a sampler of the wrong shape")
{
    const ScaleShift<double> block(3);
    CHECK_THROWS_AS(dsl::check_bijection(block, dsl::samplers::normal(), {.cases = 0}), usage_error);
    auto wrong = [](std::mt19937_64&, std::size_t batch, std::size_t) {
        return Tensor<double>(xt::zeros<double>({batch, std::size_t{2}}));
    };
    CHECK_THROWS_AS(dsl::check_bijection(block, wrong, exact), shape_error);
}
