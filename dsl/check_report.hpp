// CheckOptions and CheckReport: what check_bijection (dsl/check.hpp) is asked to do and what it found.
//
// Every error measure is relative with a floor of 1, so values near zero compare absolutely:
//   round trip        max_j |x2_j - x_j| / max(1, max_j |x_j|)           x2 = inverse(forward(x))
//   log-det symmetry  |log_det_fwd + log_det_inv| / max(1, |log_det_fwd|)
//   log-det Jacobian  |log_det_fwd - L| / max(1, |L|)    L = log|det J|, J by central differences
//                     (judged beyond the differences' own uncertainty U: it fails when
//                     |log_det_fwd - L| > tolerance * max(1, |L|) + U; see judge_jacobian in check.hpp)
// each taken per row (a row is one sample) and reported as the worst over all rows of all cases.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>

#include <bijou/engine/tensor.hpp>

namespace bijou::dsl {

struct CheckOptions {
    std::size_t cases = 20;  // batches drawn from the sampler
    std::size_t batch = 8;   // rows per case
    std::uint64_t seed = 0;  // drives the parameter noise (drawn first) and the sampler
    // Defaults by scalar type: double 1e-10, float 1e-4.
    std::optional<double> round_trip_tolerance{};
    // Default: the round-trip tolerance (an exact law, like the round trip).
    std::optional<double> symmetry_tolerance{};
    // Defaults: double 1e-6; float 2e-2. In float the Jacobian is differenced in float: each entry
    // carries a relative error of about eps_float / step + step^2 ~ 1e-4, and log|det J| sums D of
    // them. The law is judged beyond the estimated uncertainty of the differences in either type; the
    // float tolerance still catches a wrong sign or a missing term of 2e-2 and up.
    std::optional<double> log_det_tolerance{};
    // Central-difference step, relative: column j of row r moves by step * max(1, |x_rj|).
    // Defaults: double 1e-6, float 3e-3 (about eps^(1/3), balancing rounding against curvature).
    std::optional<double> jacobian_step{};
    // The Jacobian law costs 4 * dim extra forward passes per case (steps h and h/2).
    bool check_jacobian = true;
    // Each parameter moves by N(0, noise^2) before the check and is restored afterwards, so that blocks
    // whose conditioners start at zero (the identity) are tested as the non-trivial maps they become in
    // training. 0 checks the parameters as they are.
    double parameter_noise = 0.1;
    // Shrink the first failing row to a small reproducer.
    bool shrink = true;
};

// The laws of dsl/bijection.hpp, in the order they are judged for a row: a row that produces a
// non-finite value cannot satisfy the others, and a round trip that fails makes the log-dets moot.
enum class Law { finite_outputs, round_trip, log_det_symmetry, log_det_jacobian };

inline const char* to_string(Law law)
{
    switch (law) {
    case Law::finite_outputs: return "finite outputs";
    case Law::round_trip: return "round trip";
    case Law::log_det_symmetry: return "log-det symmetry";
    case Law::log_det_jacobian: return "log-det Jacobian";
    }
    return "?";
}

namespace detail {
// The shortest decimal text that reads back as v exactly, e.g. 0.1, 1000, -2.5e-07.
inline std::string shortest_text(double v)
{
    if (v == 0) return "0";
    if (std::isnan(v)) return "NAN";
    if (std::isinf(v)) return v > 0 ? "INFINITY" : "-INFINITY";
    char buffer[40];
    for (int digits = 1; digits <= 17; ++digits) {
        std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
        if (std::strtod(buffer, nullptr) == v) break;
    }
    return buffer;
}

// Enough digits to see where two nearby values differ.
inline std::string precise(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.9g", v);
    return buffer;
}

inline std::string short_number(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g", v);
    return buffer;
}

// {{a, b, c}} for a 1 x n row, as written in a Tensor initializer.
inline std::string row_text(const Tensor<double>& row)
{
    std::string s = "{{";
    for (std::size_t j = 0; j < row.size(); ++j) s += (j ? ", " : "") + shortest_text(row.data()[j]);
    return s + "}}";
}
}  // namespace detail

// The first row found to break a law, before and after shrinking.
struct CheckFailure {
    Law law = Law::round_trip;
    std::string description;  // the law's measure at the shrunk input
    std::size_t case_index = 0;
    std::string scalar;        // "float" or "double": the type of the reproducer's tensors
    Tensor<double> input;      // 1 x D, shrunk
    Tensor<double> condition;  // 1 x C, shrunk; empty when unconditional
    Tensor<double> original_input;
    Tensor<double> original_condition;

    bool conditional() const { return condition.size() > 0; }

    // Copy-pasteable declarations of the failing row (and condition).
    std::string reproducer() const
    {
        std::string s = "Tensor<" + scalar + "> x" + detail::row_text(input) + ";";
        if (conditional()) s += "  Tensor<" + scalar + "> c" + detail::row_text(condition) + ";";
        return s;
    }
};

struct CheckReport {
    std::string scalar;  // "float" or "double"
    std::size_t dim = 0;
    std::size_t condition_dim = 0;
    std::size_t cases = 0;
    std::size_t rows = 0;
    double worst_round_trip = 0;
    double worst_symmetry = 0;
    double worst_log_det = 0;           // vs the numerical Jacobian; stays 0 when not checked
    std::size_t non_finite = 0;         // rows with a non-finite value in y, x2 or a log-det
    std::size_t jacobian_unjudged = 0;  // rows whose numerical Jacobian was too uncertain to judge
    // Rows whose round trip missed the tolerance by no more than the inverse's conditioning explains
    // (dsl/check.hpp, judge_conditioning), and the worst of them; worst_round_trip leaves them out.
    std::size_t round_trip_conditioned = 0;
    double worst_conditioned_round_trip = 0;
    std::size_t symmetry_conditioned = 0;  // the same for the log-det symmetry law
    double worst_conditioned_symmetry = 0;
    bool jacobian_checked = false;
    double round_trip_tolerance = 0;
    double symmetry_tolerance = 0;
    double log_det_tolerance = 0;
    std::uint64_t seed = 0;      // the parameter noise is drawn first from the seed, so a replay with
    double parameter_noise = 0;  // the same seed and noise checks the same parameters
    bool passed = true;
    std::optional<CheckFailure> failure;  // the first failing row, when !passed

    std::string summary() const
    {
        using detail::short_number;
        std::string s = std::string("check_bijection: ") + (passed ? "PASS" : "FAIL") + ", " + scalar + ", dim " +
                        std::to_string(dim) +
                        (condition_dim ? ", condition dim " + std::to_string(condition_dim) : std::string()) + ", " +
                        std::to_string(cases) + " cases, " + std::to_string(rows) + " rows\n";
        s += "  round trip        worst " + short_number(worst_round_trip) + " (tolerance " +
             short_number(round_trip_tolerance) + ", relative to max(1, |x|))\n";
        if (round_trip_conditioned)
            s += "  (" + std::to_string(round_trip_conditioned) + " rows beyond it, worst " +
                 short_number(worst_conditioned_round_trip) +
                 ", each within what 16 ulps of rounding in y give through the inverse)\n";
        s += "  log-det symmetry  worst " + short_number(worst_symmetry) + " (tolerance " +
             short_number(symmetry_tolerance) + ")\n";
        if (symmetry_conditioned)
            s += "  (" + std::to_string(symmetry_conditioned) + " rows beyond it, worst " +
                 short_number(worst_conditioned_symmetry) +
                 ", each within what 16 ulps of rounding in y give through the inverse's log-det)\n";
        if (jacobian_checked)
            s += "  log-det Jacobian  worst " + short_number(worst_log_det) + " (tolerance " +
                 short_number(log_det_tolerance) + ")\n";
        else
            s += "  log-det Jacobian  not checked\n";
        if (jacobian_checked && jacobian_unjudged)
            s += "  (" + std::to_string(jacobian_unjudged) +
                 " rows not judged: their numerical Jacobian was too uncertain to fail them and disagreed too much to pass them)\n";
        s += "  non-finite rows   " + std::to_string(non_finite) + "\n";
        if (failure) {
            s += "  first failure (case " + std::to_string(failure->case_index) + "): " + to_string(failure->law) +
                 ": " + failure->description + "\n";
            s += "    reproducer: " + failure->reproducer() + "\n";
            s += "    replay: check_bijection(block, samplers::fixed(x), " +
                 std::string(failure->conditional() ? "conditioned_on(c.shape()[1], samplers::fixed(c)), " : "") +
                 "{.cases = 1, .batch = 1, .seed = " + std::to_string(seed) +
                 ", .parameter_noise = " + detail::shortest_text(parameter_noise) + "})\n";
            s += "    shrunk from x" + detail::row_text(failure->original_input);
            if (failure->conditional()) s += ", c" + detail::row_text(failure->original_condition);
            s += "\n";
        }
        return s;
    }
};

}  // namespace bijou::dsl
