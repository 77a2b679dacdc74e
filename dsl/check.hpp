// check_bijection: property testing of invertible blocks against the laws of dsl/bijection.hpp.
//
//   auto block = coupling(halves, conditioner(hidden(16)), flows::affine).build<double>(5, context);
//   auto report = dsl::check_bijection(block, dsl::samplers::normal());
//   REQUIRE(report.passed);                         // or: if (!report.passed) std::puts(report.summary())
//
// For every row x drawn from the sampler it checks, in this order (dsl/bijection.hpp states the laws):
//   finite outputs    y = forward(x), x2 = inverse(y) and both log-dets are finite
//   round trip        x2 == x                                   up to round_trip_tolerance, or up to
//                                                               what 16 ulps of rounding in y give
//                                                               through the inverse (counted apart)
//   log-det symmetry  log_det_inv(y) == -log_det_fwd(x)         up to symmetry_tolerance
//   log-det Jacobian  log_det_fwd(x) == log|det dy/dx|          J by central differences
// (Finite outputs is not a law of its own but the precondition of the three: a NaN satisfies none.)
// The error measures, relative with a floor of 1, are defined in dsl/check_report.hpp. The first row
// that breaks a law is shrunk (coordinates zeroed, halved, rounded to few significant digits, each
// change kept only while the same law still fails) and reported as a copy-pasteable reproducer.
//
// Two layers:
//  (a) any numeric bijection: a type with value_type, dim(), and forward(x) / inverse(y) (or
//      forward(x, c) / inverse(y, c)) taking a Tensor<T> batch and returning std::pair{value, log_det}
//      with log_det B x 1. flows::Flow is one.
//  (b) any DSL block (the Bijection concept): forward and inverse are built once as engine programs
//      on Inputs, wrapped into (a).
// Conditional blocks (built with BuildContext.condition_dim = C) take a condition sampler too:
//   check_bijection(block, samplers::normal(), conditioned_on(C, samplers::normal()), options)
//
// The Jacobian is differenced one column at a time for the whole batch at once (4 * dim forward
// passes per case: steps h and h/2), which relies on the block mapping each row independently, as
// every block does. The law allows for the finite differences' own error, estimated from rounding,
// from the gap between one-sided differences (a kink of a relu conditioner within the step) and from
// the change between steps h and h/2 (a difference that has not converged); a row that the step does
// not resolve is retried at larger and smaller steps, and counted as unjudged if none does; a row that
// fails is retried at smaller steps, which kinks within the step do not survive but a wrong log-det does.
// Tests written with it need no Catch2: the report is a plain value.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/check_report.hpp>
#include <bijou/dsl/check_sampler.hpp>
#include <bijou/dsl/zero.hpp>
#include <bijou/engine/engine.hpp>
#include <xtensor/xview.hpp>

namespace bijou::dsl {

// A condition sampler and the width of the conditions it draws.
template <class Sampler>
struct ConditionSampler {
    std::size_t dim;
    Sampler sampler;
};

template <class Sampler>
ConditionSampler<Sampler> conditioned_on(std::size_t condition_dim, Sampler sampler)
{
    if (condition_dim == 0) throw_usage_error("conditioned_on", "a condition needs at least one column");
    return {condition_dim, std::move(sampler)};
}

template <class S>
inline constexpr bool is_condition_sampler = false;
template <class S>
inline constexpr bool is_condition_sampler<ConditionSampler<S>> = true;

// A DSL block that takes a condition: forward(x, c) and inverse(y, c) accept engine Inputs.
template <class B>
concept ConditionalBijection = requires(const B& b, const Input<typename B::value_type>& x) {
    { b.dim() } -> std::convertible_to<std::size_t>;
    b.forward(x, x);
    b.inverse(x, x);
    { b.parameters() } -> std::convertible_to<std::vector<Param<typename B::value_type>>>;
};

// A numeric bijection (layer a): forward(x) and inverse(y) on Tensor batches give {value, log_det}.
template <class M>
concept NumericBijection = requires(M& m, const Tensor<typename M::value_type>& x) {
    { m.dim() } -> std::convertible_to<std::size_t>;
    { m.forward(x).first } -> std::convertible_to<Tensor<typename M::value_type>>;
    { m.inverse(x).first } -> std::convertible_to<Tensor<typename M::value_type>>;
};

// The same with a condition: forward(x, c), inverse(y, c). DSL blocks are ruled out first: their generic
// forward(x, c) would accept two Tensors and fail inside its body rather than in the concept.
template <class M>
concept ConditionalNumericBijection =
    (!ConditionalBijection<M>) && requires(M& m, const Tensor<typename M::value_type>& x) {
        { m.dim() } -> std::convertible_to<std::size_t>;
        { m.forward(x, x).first } -> std::convertible_to<Tensor<typename M::value_type>>;
        { m.inverse(x, x).first } -> std::convertible_to<Tensor<typename M::value_type>>;
    };

namespace detail {

template <class T>
constexpr const char* scalar_name()
{
    return std::is_same_v<T, float> ? "float" : std::is_same_v<T, double> ? "double" : "scalar";
}

// The options with every default filled in for the scalar type T.
struct ResolvedTolerances {
    double round_trip, symmetry, log_det, step;
};
template <class T>
ResolvedTolerances resolve(const CheckOptions& o)
{
    constexpr bool single = std::is_same_v<T, float>;
    const double round_trip = o.round_trip_tolerance.value_or(single ? 1e-4 : 1e-10);
    return {round_trip, o.symmetry_tolerance.value_or(round_trip), o.log_det_tolerance.value_or(single ? 2e-2 : 1e-6),
            o.jacobian_step.value_or(single ? 3e-3 : 1e-6)};
}

// LU decomposition with partial pivoting of a square matrix (row-major), P A = L U: log|det A| is the
// sum of log|u_ii| (-inf for a singular matrix, NaN if A holds a NaN), and inverse() gives A^-1.
struct LowerUpper {
    std::size_t n;
    std::vector<double> lu;
    std::vector<std::size_t> row;  // row k of LU is row row[k] of A
    double log_abs_det = 0;

    LowerUpper(std::vector<double> a, std::size_t size) : n(size), lu(std::move(a)), row(size)
    {
        for (std::size_t k = 0; k < n; ++k) row[k] = k;
        for (std::size_t k = 0; k < n; ++k) {
            std::size_t pivot = k;
            for (std::size_t i = k + 1; i < n; ++i)
                if (std::abs(lu[i * n + k]) > std::abs(lu[pivot * n + k])) pivot = i;
            const double p = lu[pivot * n + k];
            if (std::isnan(p)) {
                log_abs_det = std::numeric_limits<double>::quiet_NaN();
                return;
            }
            if (p == 0) {
                log_abs_det = -std::numeric_limits<double>::infinity();
                return;
            }
            if (pivot != k) {
                for (std::size_t j = 0; j < n; ++j) std::swap(lu[k * n + j], lu[pivot * n + j]);
                std::swap(row[k], row[pivot]);
            }
            log_abs_det += std::log(std::abs(p));
            for (std::size_t i = k + 1; i < n; ++i) {
                lu[i * n + k] /= p;
                for (std::size_t j = k + 1; j < n; ++j) lu[i * n + j] -= lu[i * n + k] * lu[k * n + j];
            }
        }
    }

    bool invertible() const { return std::isfinite(log_abs_det); }

    // A^-1 as a row-major matrix (call only when invertible()).
    std::vector<double> inverse() const
    {
        std::vector<double> result(n * n), column(n);
        for (std::size_t e = 0; e < n; ++e) {
            // Column e of A^-1 solves L U w = P e: forward substitution, then back substitution.
            for (std::size_t k = 0; k < n; ++k) column[k] = row[k] == e ? 1.0 : 0.0;
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t k = 0; k < i; ++k) column[i] -= lu[i * n + k] * column[k];
            for (std::size_t i = n; i-- > 0;) {
                for (std::size_t k = i + 1; k < n; ++k) column[i] -= lu[i * n + k] * column[k];
                column[i] /= lu[i * n + i];
            }
            for (std::size_t i = 0; i < n; ++i) result[i * n + e] = column[i];
        }
        return result;
    }
};

// Significant decimal digits needed to write v exactly (0 for zero): the shrinker's measure of how
// simple a number is.
inline int significant_digits(double v)
{
    if (v == 0 || !std::isfinite(v)) return 0;
    char buffer[40];
    for (int digits = 1; digits < 17; ++digits) {
        std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
        if (std::strtod(buffer, nullptr) == v) return digits;
    }
    return 17;
}

inline double round_to_digits(double v, int digits)
{
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
    return std::strtod(buffer, nullptr);
}

// a is simpler than b: zero first, then fewer significant digits, then smaller magnitude.
inline bool simpler(double a, double b)
{
    if ((a == 0) != (b == 0)) return a == 0;
    const int da = significant_digits(a), db = significant_digits(b);
    if (da != db) return da < db;
    return std::abs(a) < std::abs(b);
}

// What one row did under the laws.
struct RowVerdict {
    bool finite = true;
    double round_trip = 0;
    double symmetry = 0;
    double log_det = 0;  // vs the Jacobian; 0 when not checked
    bool jacobian_unjudged = false;
    bool round_trip_conditioned = false;  // beyond the tolerance, within the inverse's conditioning
    bool symmetry_conditioned = false;
    std::optional<Law> failed;
    std::string description;
};

template <class E>
Tensor<double> to_double(const E& e)
{
    return xt::cast<double>(e);
}

// Judges rows of a numeric bijection (layer a) against the laws.
template <class Map, bool Conditional>
class LawJudge {
public:
    using T = typename Map::value_type;

    LawJudge(Map& map, ResolvedTolerances tolerances, bool check_jacobian)
        : map_(map), tolerances_(tolerances), check_jacobian_(check_jacobian)
    {
    }

    // x: B x D, c: B x C (ignored when unconditional).
    std::vector<RowVerdict> judge(const Tensor<double>& x_in, const Tensor<double>& c_in)
    {
        const Tensor<T> x = xt::cast<T>(x_in);
        const Tensor<T> c = xt::cast<T>(c_in);
        const std::size_t rows = x.shape()[0], dim = x.shape()[1];
        const auto [y, log_det] = forward(x, c);
        require_shapes("forward", y, log_det, rows, dim);
        const auto [x2, log_det_inverse] = inverse(y, c);
        require_shapes("inverse", x2, log_det_inverse, rows, dim);

        std::vector<RowVerdict> verdicts(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            auto& v = verdicts[r];
            if (auto where = first_non_finite(r, y, log_det, x2, log_det_inverse)) {
                v.finite = false;
                v.failed = Law::finite_outputs;
                v.description = *where;
                continue;
            }
            judge_round_trip(v, r, x, x2);
            judge_symmetry(v, double(log_det(r, 0)), double(log_det_inverse(r, 0)));
        }
        judge_conditioning(verdicts, x, c, y, x2, log_det, log_det_inverse);
        if (check_jacobian_) judge_jacobian(verdicts, x, c, y, log_det);
        return verdicts;
    }

private:
    std::pair<Tensor<T>, Tensor<T>> forward(const Tensor<T>& x, const Tensor<T>& c)
    {
        if constexpr (Conditional) {
            auto [y, l] = map_.forward(x, c);
            return {Tensor<T>(y), Tensor<T>(l)};
        } else {
            auto [y, l] = map_.forward(x);
            return {Tensor<T>(y), Tensor<T>(l)};
        }
    }
    std::pair<Tensor<T>, Tensor<T>> inverse(const Tensor<T>& y, const Tensor<T>& c)
    {
        if constexpr (Conditional) {
            auto [x, l] = map_.inverse(y, c);
            return {Tensor<T>(x), Tensor<T>(l)};
        } else {
            auto [x, l] = map_.inverse(y);
            return {Tensor<T>(x), Tensor<T>(l)};
        }
    }

    static void require_shapes(const char* direction, const Tensor<T>& value, const Tensor<T>& log_det,
                               std::size_t rows, std::size_t dim)
    {
        if (shape_of(value) != Shape{rows, dim} || shape_of(log_det) != Shape{rows, 1})
            throw_shape_error("check_bijection", "the block's ", direction, " gave a value of shape ", shape_of(value),
                              " and a log-det of shape ", shape_of(log_det), " for a batch of shape ", Shape{rows, dim},
                              " (expected the same shape and ", Shape{rows, 1}, ")");
    }

    static std::optional<std::string> first_non_finite(std::size_t r, const Tensor<T>& y, const Tensor<T>& log_det,
                                                       const Tensor<T>& x2, const Tensor<T>& log_det_inverse)
    {
        auto scan = [&](const Tensor<T>& t, const char* what) -> std::optional<std::string> {
            for (std::size_t j = 0; j < t.shape()[1]; ++j)
                if (!std::isfinite(double(t(r, j))))
                    return std::string(what) + "[" + std::to_string(j) + "] = " + shortest_text(double(t(r, j)));
            return std::nullopt;
        };
        if (auto w = scan(y, "forward(x).value")) return w;
        if (auto w = scan(log_det, "forward(x).log_det")) return w;
        if (auto w = scan(x2, "inverse(y).value")) return w;
        return scan(log_det_inverse, "inverse(y).log_det");
    }

    // max_j |x2_j - x_j| / max(1, max_j |x_j|): relative to the row's scale, so that a tiny
    // coordinate next to a large one is judged by the precision the large one allows.
    void judge_round_trip(RowVerdict& v, std::size_t r, const Tensor<T>& x, const Tensor<T>& x2) const
    {
        double scale = 1, worst = 0;
        std::size_t worst_at = 0;
        for (std::size_t j = 0; j < x.shape()[1]; ++j) scale = std::max(scale, std::abs(double(x(r, j))));
        for (std::size_t j = 0; j < x.shape()[1]; ++j) {
            const double e = std::abs(double(x2(r, j)) - double(x(r, j))) / scale;
            if (!(e <= worst)) worst = e, worst_at = j;
        }
        v.round_trip = worst;
        if (!(worst <= tolerances_.round_trip) && !v.failed) {
            v.failed = Law::round_trip;
            v.description = "inverse(forward(x)) differs from x by " + short_number(worst) +
                            " relative to max(1, |x|) (tolerance " + short_number(tolerances_.round_trip) +
                            "), worst at column " + std::to_string(worst_at) +
                            ": x = " + shortest_text(double(x(r, worst_at))) +
                            ", x2 = " + shortest_text(double(x2(r, worst_at)));
        }
    }

    // A round trip beyond the tolerance may be all the inverse's conditioning allows: where a map is
    // nearly flat (a spline bin at its minimal slope 1e-3), y carries the forward pass's rounding, a few
    // ulps of |y|, and the inverse multiplies it by 1 / f'. So the rows that miss the tolerance get a second
    // look: y is moved by 4 ulps per element (signs alternating) and the inverse's response measured,
    //   sensitivity = max_j |inverse(y + 4 ulp)_j - inverse(y)_j| / max(1, |x|),
    // and the round trip passes if it is within tolerance + 4 * sensitivity, i.e. within the effect of 16
    // ulps of rounding in y. The same holds for the inverse's log-det (the symmetry law), measured by how
    // far the same move of y moves it, relative to max(1, |log_det_fwd|). A wrong inverse misses by O(1)
    // whatever the conditioning; such a row is still a failure, and every row passed this way is counted
    // (round_trip_conditioned, symmetry_conditioned).
    void judge_conditioning(std::vector<RowVerdict>& verdicts, const Tensor<T>& x, const Tensor<T>& c,
                            const Tensor<T>& y, const Tensor<T>& x2, const Tensor<T>& log_det,
                            const Tensor<T>& log_det_inverse)
    {
        bool any = false;
        for (const auto& v : verdicts) any |= v.failed == Law::round_trip || v.failed == Law::log_det_symmetry;
        if (!any) return;
        Tensor<T> moved = y;
        for (std::size_t i = 0; i < moved.size(); ++i) {
            const T direction = i % 2 == 0 ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
            for (int k = 0; k < 4; ++k) moved.data()[i] = std::nextafter(moved.data()[i], direction);
        }
        const auto [x3, log_det_moved] = inverse(moved, c);
        for (std::size_t r = 0; r < verdicts.size(); ++r) {
            auto& v = verdicts[r];
            const double forward_log_det = double(log_det(r, 0)), inverse_log_det = double(log_det_inverse(r, 0));
            if (v.failed == Law::round_trip) {
                double scale = 1, sensitivity = 0;
                for (std::size_t j = 0; j < x.shape()[1]; ++j) scale = std::max(scale, std::abs(double(x(r, j))));
                for (std::size_t j = 0; j < x.shape()[1]; ++j)
                    sensitivity = std::max(sensitivity, std::abs(double(x3(r, j)) - double(x2(r, j))) / scale);
                if (!(v.round_trip <= tolerances_.round_trip + 4 * sensitivity)) {
                    v.description += " (moving y by 4 ulps moves the inverse by " + short_number(sensitivity) +
                                     ": not explained by the inverse's conditioning)";
                    continue;
                }
                v.failed.reset();
                v.description.clear();
                v.round_trip_conditioned = true;
                judge_symmetry(v, forward_log_det, inverse_log_det);
            }
            if (v.failed == Law::log_det_symmetry) {
                const double sensitivity = std::abs(double(log_det_moved(r, 0)) - inverse_log_det) /
                                           std::max(1.0, std::abs(forward_log_det));
                if (!(v.symmetry <= tolerances_.symmetry + 4 * sensitivity)) {
                    v.description += " (moving y by 4 ulps moves log_det_inv by " + short_number(sensitivity) +
                                     ": not explained by the inverse's conditioning)";
                    continue;
                }
                v.failed.reset();
                v.description.clear();
                v.symmetry_conditioned = true;
            }
        }
    }

    void judge_symmetry(RowVerdict& v, double forward_log_det, double inverse_log_det) const
    {
        const double e = std::abs(forward_log_det + inverse_log_det) / std::max(1.0, std::abs(forward_log_det));
        v.symmetry = e;
        if (!(e <= tolerances_.symmetry) && !v.failed) {
            v.failed = Law::log_det_symmetry;
            v.description = "log_det_fwd(x) = " + shortest_text(forward_log_det) +
                            " but log_det_inv(y) = " + shortest_text(inverse_log_det) + ", relative error " +
                            short_number(e) + " (tolerance " + short_number(tolerances_.symmetry) + ")";
        }
    }

    // log|det J| by central differences, and how far it can be trusted.
    struct NumericalLogDet {
        double value = 0;        // from central differences
        double uncertainty = 0;  // rounding + kinks and curvature, see below
    };

    // J[:, j] = (f(x + h e_j) - f(x - h e_j)) / 2h for every row at once, with h = step * max(1, |x_rj|);
    // the denominators are the differences of the perturbed inputs as actually represented in T.
    //
    // Uncertainty, the sum of two parts:
    //  - rounding: each output of row r carries an absolute error of about 4 eps_T max_i |y_ri| (the
    //    row's largest output sets the scale of the arithmetic that made it: a coupling adds a shift
    //    computed from its large features to its tiny ones), so J_ij is off by dJ_ij ~ 8 eps_T max|y| /
    //    2h_j and log|det J| by tr(J^-1 dJ), summed as independent errors: sqrt(sum_ij (J^-1_ji dJ_ij)^2);
    //  - kinks and curvature: |L_forward - L_backward|, the log-dets of the one-sided differences
    //    (f(x + h) - f(x)) / h and (f(x) - f(x - h)) / h. They differ by h f'' where f is smooth and by
    //    the jump in slope where a kink (a relu of a conditioner) lies within the step, where the
    //    central difference is off by up to half that jump.
    std::vector<NumericalLogDet> numerical_log_det(const Tensor<T>& x, const Tensor<T>& c, const Tensor<T>& y,
                                                   double step)
    {
        const std::size_t rows = x.shape()[0], dim = x.shape()[1];
        auto matrices = [&] { return std::vector<std::vector<double>>(rows, std::vector<double>(dim * dim)); };
        auto central = matrices(), forward_sided = matrices(), backward_sided = matrices(), errors = matrices();
        Tensor<T> up = x, down = x;
        const double eps = std::numeric_limits<T>::epsilon();
        for (std::size_t j = 0; j < dim; ++j) {
            for (std::size_t r = 0; r < rows; ++r) {
                const double h = step * std::max(1.0, std::abs(double(x(r, j))));
                up(r, j) = T(double(x(r, j)) + h);
                down(r, j) = T(double(x(r, j)) - h);
            }
            const Tensor<T> y_up = forward(up, c).first;
            const Tensor<T> y_down = forward(down, c).first;
            for (std::size_t r = 0; r < rows; ++r) {
                const double above = double(up(r, j)) - double(x(r, j)), below = double(x(r, j)) - double(down(r, j));
                double scale = 0;
                for (std::size_t i = 0; i < dim; ++i) {
                    const double u = double(y_up(r, i)), m = double(y(r, i)), d = double(y_down(r, i));
                    central[r][i * dim + j] = (u - d) / (above + below);
                    forward_sided[r][i * dim + j] = (u - m) / above;
                    backward_sided[r][i * dim + j] = (m - d) / below;
                    scale = std::max({scale, std::abs(u), std::abs(d)});
                }
                for (std::size_t i = 0; i < dim; ++i) errors[r][i * dim + j] = 8 * eps * scale / (above + below);
                up(r, j) = x(r, j);
                down(r, j) = x(r, j);
            }
        }
        std::vector<NumericalLogDet> result(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            const LowerUpper lu(std::move(central[r]), dim);
            result[r].value = lu.log_abs_det;
            if (!lu.invertible()) {
                result[r].uncertainty = std::numeric_limits<double>::infinity();
                continue;
            }
            const auto inverse = lu.inverse();
            double rounding = 0;
            for (std::size_t i = 0; i < dim; ++i)
                for (std::size_t j = 0; j < dim; ++j)
                    rounding += std::pow(inverse[j * dim + i] * errors[r][i * dim + j], 2);
            const double one_sided = LowerUpper(std::move(forward_sided[r]), dim).log_abs_det -
                                     LowerUpper(std::move(backward_sided[r]), dim).log_abs_det;
            result[r].uncertainty = std::sqrt(rounding) + std::abs(one_sided);
        }
        return result;
    }

    // The law allows for the finite differences' own uncertainty U: the rounding and one-sided parts at
    // step h (above), plus twice the change of the estimate from step h to h/2, which is what exposes
    // a difference that has not converged (a map so curved at the row's scale that O(h^2) is not small,
    // as deep stacks are on rows of 1e3):
    //   |log_det - L_h| <= tolerance * max(1, |L_h|) + U
    // and reports |log_det - L_h| / max(1, |L_h|). An estimate can fail its row only if U is below a
    // tenth of max(1, |L_h|); one less certain than that (float outputs too coarse for the step, kinks and
    // curvature on rows of 1e3 through a deep stack) can still pass it, if U < max(1, |L_h|) and the law
    // holds within U, but its disagreement is no evidence. A row neither estimate settles (or a singular or
    // non-finite estimate) is differenced again at steps 10, 100 and 1000 times smaller
    // and 10 and 100 times larger, smaller first, and the estimate with the smallest uncertainty kept (a
    // spline whose bins are narrow at the row's scale, or a logit next to the end of its domain, needs a
    // smaller step; a tiny feature next to one of 1e3, whose outputs carry the rounding of the large one,
    // a larger one). A row no step can judge is counted in jacobian_unjudged.
    void judge_jacobian(std::vector<RowVerdict>& verdicts, const Tensor<T>& x, const Tensor<T>& c, const Tensor<T>& y,
                        const Tensor<T>& log_det)
    {
        const std::size_t rows = verdicts.size();
        std::vector<double> estimates(rows), uncertainties(rows), steps(rows, tolerances_.step);
        auto passes = [&](std::size_t r, double estimate, double uncertainty) {
            return std::abs(double(log_det(r, 0)) - estimate) <=
                   tolerances_.log_det * std::max(1.0, std::abs(estimate)) + uncertainty;
        };
        // An estimate settles its row if it is strong (U below a tenth of max(1, |L|): it may fail the row)
        // or weak (U below max(1, |L|)) and agrees with the log-det: weak evidence can pass a row, never
        // fail it.
        auto strong = [](double estimate, double uncertainty) {
            return uncertainty < 0.1 * std::max(1.0, std::abs(estimate));
        };
        auto settles = [&](std::size_t r, double estimate, double uncertainty) {
            return strong(estimate, uncertainty) ||
                   (uncertainty < std::max(1.0, std::abs(estimate)) && passes(r, estimate, uncertainty));
        };
        auto settled = [&](std::size_t r) { return settles(r, estimates[r], uncertainties[r]); };
        // replace(r, estimate, uncertainty): whether a new estimate at another step replaces row r's.
        auto difference_at = [&](double step, auto replace) {
            const auto numerical = numerical_log_det(x, c, y, step);
            const auto finer = numerical_log_det(x, c, y, step / 2);
            for (std::size_t r = 0; r < rows; ++r) {
                const double uncertainty = numerical[r].uncertainty + 2 * std::abs(numerical[r].value - finer[r].value);
                if (replace(r, numerical[r].value, uncertainty)) {
                    estimates[r] = numerical[r].value;
                    uncertainties[r] = uncertainty;
                    steps[r] = step;
                }
            }
        };
        difference_at(tolerances_.step, [](std::size_t, double, double) { return true; });
        for (const double factor : {0.1, 0.01, 10.0, 0.001, 100.0}) {
            bool any = false;
            for (std::size_t r = 0; r < rows; ++r) any |= verdicts[r].finite && !settled(r);
            if (!any) break;
            difference_at(tolerances_.step * factor, [&](std::size_t r, double estimate, double uncertainty) {
                return !settled(r) && (settles(r, estimate, uncertainty) ||
                                       !(uncertainties[r] <= uncertainty));  // also replaces a NaN
            });
        }
        // A row that fails at its step is differenced again at steps 10 and 100 times smaller: kinks of a
        // relu conditioner within the step (several, in a stack of couplings) can make both one-sided
        // differences wrong alike, so that the uncertainty misses them; they leave the interval as the
        // step shrinks. A wrong log-det fails at every step; the row keeps its first verdict unless a
        // smaller step judges it and it passes there.
        for (const double factor : {0.1, 0.01}) {
            bool any = false;
            auto failing = [&](std::size_t r) {
                return verdicts[r].finite && strong(estimates[r], uncertainties[r]) &&
                       !passes(r, estimates[r], uncertainties[r]);
            };
            for (std::size_t r = 0; r < rows; ++r) any |= failing(r);
            if (!any) break;
            difference_at(tolerances_.step * factor, [&](std::size_t r, double estimate, double uncertainty) {
                return failing(r) && strong(estimate, uncertainty) && passes(r, estimate, uncertainty);
            });
        }
        for (std::size_t r = 0; r < rows; ++r) {
            auto& v = verdicts[r];
            if (!v.finite) continue;
            const double estimate = estimates[r];
            const double uncertainty = uncertainties[r];
            const double scale = std::max(1.0, std::abs(estimate));
            if (!settled(r)) {
                v.jacobian_unjudged = true;
                continue;
            }
            const double reported = double(log_det(r, 0));
            const double difference = std::abs(reported - estimate);
            v.log_det = difference / scale;
            if (!(difference <= tolerances_.log_det * scale + uncertainty) && !v.failed) {
                v.failed = Law::log_det_jacobian;
                v.description = "log_det_fwd(x) = " + precise(reported) + " but log|det J| = " + precise(estimate) +
                                " +- " + short_number(uncertainty) + " by central differences (step " +
                                short_number(steps[r]) + "): relative error " + short_number(v.log_det) +
                                " (tolerance " + short_number(tolerances_.log_det) + " beyond that uncertainty)";
            }
        }
    }

    Map& map_;
    ResolvedTolerances tolerances_;
    bool check_jacobian_;
};

// Shrinks a failing row (x, c) while `law` keeps failing: first everything to zero at once, then
// each coordinate in turn to the simplest of 0, the value rounded to 1..3 significant digits, half
// of it, a tenth of it; repeated until nothing changes.
template <class Judge>
void shrink(Judge& judge, Tensor<double>& x, Tensor<double>& c, Law law)
{
    auto still_fails = [&] {
        const auto verdict = judge.judge(x, c);
        return verdict[0].failed == law;
    };
    auto try_value = [&](double& slot, double candidate) {
        if (!std::isfinite(candidate) || !simpler(candidate, slot)) return false;
        const double saved = slot;
        slot = candidate;
        if (still_fails()) return true;
        slot = saved;
        return false;
    };
    auto simplify = [&](double& slot) {
        const double v = slot;
        if (try_value(slot, 0.0)) return true;
        for (int digits = 1; digits <= 3; ++digits)
            for (double candidate : {v, v / 2, v / 10})
                if (try_value(slot, round_to_digits(candidate, digits))) return true;
        return false;
    };
    {  // all of x to zero at once: often the whole reproducer
        const Tensor<double> saved = x;
        x.fill(0.0);
        if (!still_fails()) x = saved;
    }
    constexpr int max_passes = 64;
    for (int pass = 0; pass < max_passes; ++pass) {
        bool changed = false;
        for (auto& slot : x) changed |= simplify(slot);
        for (auto& slot : c) changed |= simplify(slot);
        if (!changed) break;
    }
}

// Moves every parameter by N(0, noise^2) and puts the values back when it goes out of scope.
template <class T>
class ParameterNoise {
public:
    ParameterNoise(std::vector<Param<T>> parameters, double noise, std::mt19937_64& rng)
        : parameters_(std::move(parameters))
    {
        if (noise == 0) return;
        std::normal_distribution<double> draw(0.0, noise);
        for (const auto& p : parameters_) {
            saved_.push_back(p.value());
            for (auto& v : p.value()) v = T(double(v) + draw(rng));
        }
    }
    ~ParameterNoise()
    {
        for (std::size_t k = 0; k < saved_.size(); ++k) parameters_[k].value() = saved_[k];
    }
    ParameterNoise(const ParameterNoise&) = delete;
    ParameterNoise& operator=(const ParameterNoise&) = delete;

private:
    std::vector<Param<T>> parameters_;
    std::vector<Tensor<T>> saved_;
};

template <class Sampler>
Tensor<double> draw(const Sampler& sampler, std::mt19937_64& rng, std::size_t batch, std::size_t dim, const char* what)
{
    Tensor<double> t = to_double(sampler(rng, batch, dim));
    if (t.shape()[0] != batch || t.shape()[1] != dim)
        throw_shape_error("check_bijection", "the ", what, " sampler returned ", shape_of(t), " for a batch of ",
                          Shape{batch, dim});
    return t;
}

// A sampler of zero-width conditions, for unconditional maps.
struct NoConditions {
    Tensor<double> operator()(std::mt19937_64&, std::size_t batch, std::size_t) const
    {
        return Tensor<double>::from_shape({batch, 0});
    }
};

template <bool Conditional, class Map, class Sampler, class ConditionSamplerT>
CheckReport run_checks(Map& map, const Sampler& sampler, std::size_t condition_dim, const ConditionSamplerT& conditions,
                       const CheckOptions& options)
{
    using T = typename Map::value_type;
    if (options.cases == 0 || options.batch == 0)
        throw_usage_error("check_bijection", "needs at least one case of at least one row, got cases = ", options.cases,
                          " and batch = ", options.batch);
    const ResolvedTolerances tolerances = resolve<T>(options);
    const std::size_t dim = map.dim();

    CheckReport report;
    report.scalar = scalar_name<T>();
    report.dim = dim;
    report.condition_dim = condition_dim;
    report.jacobian_checked = options.check_jacobian;
    report.round_trip_tolerance = tolerances.round_trip;
    report.symmetry_tolerance = tolerances.symmetry;
    report.log_det_tolerance = tolerances.log_det;
    report.seed = options.seed;
    report.parameter_noise = options.parameter_noise;

    std::mt19937_64 rng(options.seed);
    std::optional<ParameterNoise<T>> noise;
    if constexpr (requires { map.parameters(); }) noise.emplace(map.parameters(), options.parameter_noise, rng);

    LawJudge<Map, Conditional> judge(map, tolerances, options.check_jacobian);
    for (std::size_t k = 0; k < options.cases; ++k) {
        const Tensor<double> x = draw(sampler, rng, options.batch, dim, "input");
        const Tensor<double> c = draw(conditions, rng, options.batch, condition_dim, "condition");
        const auto verdicts = judge.judge(x, c);
        ++report.cases;
        for (std::size_t r = 0; r < verdicts.size(); ++r) {
            const auto& v = verdicts[r];
            ++report.rows;
            if (!v.finite) {
                ++report.non_finite;
            } else {
                if (v.round_trip_conditioned) {
                    ++report.round_trip_conditioned;
                    report.worst_conditioned_round_trip = std::max(report.worst_conditioned_round_trip, v.round_trip);
                } else if (!(v.round_trip <= report.worst_round_trip)) {
                    report.worst_round_trip = v.round_trip;
                }
                if (v.symmetry_conditioned) {
                    ++report.symmetry_conditioned;
                    report.worst_conditioned_symmetry = std::max(report.worst_conditioned_symmetry, v.symmetry);
                } else if (!(v.symmetry <= report.worst_symmetry)) {
                    report.worst_symmetry = v.symmetry;
                }
                if (!(v.log_det <= report.worst_log_det)) report.worst_log_det = v.log_det;
                if (v.jacobian_unjudged) ++report.jacobian_unjudged;
            }
            if (!v.failed || report.failure) continue;
            report.passed = false;
            CheckFailure failure;
            failure.law = *v.failed;
            failure.case_index = k;
            failure.scalar = report.scalar;
            failure.original_input = xt::view(x, xt::range(r, r + 1), xt::all());
            failure.original_condition = xt::view(c, xt::range(r, r + 1), xt::all());
            failure.input = failure.original_input;
            failure.condition = failure.original_condition;
            failure.description = v.description;
            if (options.shrink) {
                shrink(judge, failure.input, failure.condition, failure.law);
                failure.description = judge.judge(failure.input, failure.condition)[0].description;
            }
            report.failure = std::move(failure);
        }
    }
    return report;
}

// A DSL block as a numeric bijection: forward and inverse built once as programs over Inputs, bound
// to the batch size of the data they are given.
template <class Block, bool Conditional>
class BlockPrograms {
public:
    using value_type = typename Block::value_type;
    using T = value_type;
    using Condition = std::conditional_t<Conditional, Input<T>, NoCondition>;

    BlockPrograms(const Block& block, std::size_t condition_dim)
        : block_(&block),
          dim_(block.dim()),
          x_(dim_, "check_bijection.x"),
          y_(dim_, "check_bijection.y"),
          x_condition_(make_condition(condition_dim)),
          y_condition_(make_condition(condition_dim)),
          forward_(program_of(block.forward(x_, x_condition_))),
          inverse_(program_of(block.inverse(y_, y_condition_)))
    {
    }

    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return block_->parameters(); }

    std::pair<Tensor<T>, Tensor<T>> forward(const Tensor<T>& x) requires(!Conditional)
    {
        return run(forward_, x_, x, x_condition_, x);
    }
    std::pair<Tensor<T>, Tensor<T>> inverse(const Tensor<T>& y) requires(!Conditional)
    {
        return run(inverse_, y_, y, y_condition_, y);
    }
    std::pair<Tensor<T>, Tensor<T>> forward(const Tensor<T>& x, const Tensor<T>& c) requires Conditional
    {
        return run(forward_, x_, x, x_condition_, c);
    }
    std::pair<Tensor<T>, Tensor<T>> inverse(const Tensor<T>& y, const Tensor<T>& c) requires Conditional
    {
        return run(inverse_, y_, y, y_condition_, c);
    }

private:
    static Condition make_condition(std::size_t condition_dim)
    {
        if constexpr (Conditional)
            return Condition(condition_dim, "check_bijection.c");
        else
            return Condition{};
    }

    // A Zero log-det is not a program output; run() reports it as a column of zeros.
    template <class Y, class L>
    static auto program_of(Transformed<Y, L> t)
    {
        if constexpr (std::is_same_v<L, Zero>)
            return Program(std::move(t.value));
        else
            return Program(std::move(t.value), std::move(t.log_det));
    }

    template <class P>
    static std::pair<Tensor<T>, Tensor<T>> run(P& program, const Input<T>& input, const Tensor<T>& data,
                                               const Condition& condition, const Tensor<T>& condition_data)
    {
        const std::size_t rows = data.shape()[0];
        if (program.batch() != rows) program.bind(rows);
        input.set(data);
        if constexpr (Conditional) condition.set(condition_data);
        program.forward();
        constexpr std::size_t outputs = std::tuple_size_v<std::remove_cvref_t<decltype(program.outputs_tuple())>>;
        if constexpr (outputs == 1)
            return {program.template value<0>(), Tensor<T>(xt::zeros<T>({rows, std::size_t{1}}))};
        else
            return {program.template value<0>(), program.template value<1>()};
    }

    template <class B, class C>
    static auto forward_type(const B& b, const Input<T>& x, const C& c)
    {
        return program_of(b.forward(x, c));
    }
    template <class B, class C>
    static auto inverse_type(const B& b, const Input<T>& y, const C& c)
    {
        return program_of(b.inverse(y, c));
    }

    const Block* block_;
    std::size_t dim_;
    Input<T> x_, y_;
    Condition x_condition_, y_condition_;
    decltype(forward_type(std::declval<const Block&>(), std::declval<const Input<T>&>(),
                          std::declval<const Condition&>())) forward_;
    decltype(inverse_type(std::declval<const Block&>(), std::declval<const Input<T>&>(),
                          std::declval<const Condition&>())) inverse_;
};

}  // namespace detail

// A condition sampler given without its width: the map or block must know it (condition_dim()).
template <class S>
concept ImplicitConditionSampler = !std::same_as<S, CheckOptions> && !is_condition_sampler<S>;

// (a) A numeric bijection (e.g. a flows::Flow). Its parameters, if it has parameters(), get the noise.
template <class Map, class Sampler>
    requires NumericBijection<Map> CheckReport check_bijection(Map& map, const Sampler& sampler,
                                                               const CheckOptions& options = {})
    {
        return detail::run_checks<false>(map, sampler, 0, detail::NoConditions{}, options);
    }

template <class Map, class Sampler, class ConditionSamplerT>
    requires ConditionalNumericBijection<Map> CheckReport
    check_bijection(Map& map, const Sampler& sampler, const ConditionSampler<ConditionSamplerT>& conditions,
                    const CheckOptions& options = {})
    {
        return detail::run_checks<true>(map, sampler, conditions.dim, conditions.sampler, options);
    }

// (a) A conditional numeric bijection that knows its condition width (a conditional flows::Flow).
template <class Map, class Sampler, class ConditionSamplerT>
    requires ImplicitConditionSampler<ConditionSamplerT> && ConditionalNumericBijection<Map> && requires(const Map& m)
    {
        m.condition_dim();
    }
CheckReport check_bijection(Map& map, const Sampler& sampler, const ConditionSamplerT& conditions,
                            const CheckOptions& options = {})
{
    return check_bijection(map, sampler, conditioned_on(map.condition_dim(), conditions), options);
}

// (b) A DSL block, unconditional. (A block marked is_conditional, such as dsl::conditional(...), is
// not tested for the Bijection concept here: its forward(x, NoCondition) refuses by static_assert.)
template <class Block, class Sampler>
    requires(!requires { Block::is_conditional; })
&&Bijection<Block> CheckReport check_bijection(const Block& block, const Sampler& sampler,
                                               const CheckOptions& options = {})
{
    detail::BlockPrograms<Block, false> programs(block, 0);
    return detail::run_checks<false>(programs, sampler, 0, detail::NoConditions{}, options);
}

// (b) A DSL block that takes a condition of conditions.dim features (e.g. built with
// BuildContext.condition_dim set).
template <class Block, class Sampler, class ConditionSamplerT>
    requires ConditionalBijection<Block> CheckReport
    check_bijection(const Block& block, const Sampler& sampler, const ConditionSampler<ConditionSamplerT>& conditions,
                    const CheckOptions& options = {})
    {
        detail::BlockPrograms<Block, true> programs(block, conditions.dim);
        return detail::run_checks<true>(programs, sampler, conditions.dim, conditions.sampler, options);
    }

// (b) A conditional DSL block that knows its condition width (dsl::conditional(spec, condition_dim)).
template <class Block, class Sampler, class ConditionSamplerT>
    requires ImplicitConditionSampler<ConditionSamplerT> && requires
    {
        Block::is_conditional;
    } && ConditionalBijection<Block> CheckReport check_bijection(const Block& block, const Sampler& sampler,
                                                                 const ConditionSamplerT& conditions,
                                                                 const CheckOptions& options = {})
    {
        return check_bijection(block, sampler, conditioned_on(block.condition_dim(), conditions), options);
    }

}  // namespace bijou::dsl
