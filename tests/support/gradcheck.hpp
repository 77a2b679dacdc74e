// Gradient checking against central finite differences, in double.
//
// For a program with outputs y_1..y_n and fixed random weights w_i, the scalar L = sum_i <w_i, y_i>
// is differentiated twice: analytically with backward_from(w_1, ..., w_n), and numerically with
// sum_i <w_i, y_i(theta + h) - y_i(theta - h)> / 2h for every element theta of every parameter and of every input
// that asks for a gradient. The reported error of an element is |analytic - numeric| /
// max(|analytic|, |numeric|, floor): relative, with a floor so that two values both near zero compare
// by their absolute difference.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <bijou/engine/engine.hpp>

namespace bijou::testing {

struct GradientTarget {
    std::string name;
    Tensor<double>* value;
    Tensor<double>* grad;
};

inline GradientTarget target(const Param<double>& p) { return {p.name(), &p.value(), &p.grad()}; }
inline GradientTarget target(const Input<double>& x) { return {x.name(), &x.value(), &x.grad()}; }

struct GradientReport {
    double worst_error = 0;
    std::string worst_where;
    double analytic = 0, numeric = 0;
};

struct GradientOptions {
    double step = 1e-6;
    double floor = 1e-3;
    unsigned seed = 7;
    // > 0: an element whose error exceeds retry_above is differenced again at this step and, if still
    // off, at a tenth of it, and the smallest error kept. For piecewise maps (a spline's bins): a
    // difference that straddles a knot, where the derivative jumps, is off at one step but not at a
    // smaller one; a wrong gradient is off at every step. (Two retries, because at the smaller step
    // rounding alone can cost 1e-5 on a gradient near the floor.)
    double retry_step = 0;
    double retry_above = 1e-6;
};

template <class Program>
GradientReport check_gradients(Program& program, const std::vector<GradientTarget>& targets,
                               GradientOptions options = {})
{
    std::mt19937 rng(options.seed);
    std::normal_distribution<double> normal;

    // Random output weights, one tensor per output.
    program.forward();
    constexpr std::size_t outputs = std::tuple_size_v<std::remove_cvref_t<decltype(program.outputs_tuple())>>;
    std::array<Tensor<double>, outputs> weights;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((weights[I] = Tensor<double>::from_shape(program.template value<I>().shape()),
          std::generate(weights[I].begin(), weights[I].end(), [&] { return normal(rng); })),
         ...);
    }(std::make_index_sequence<outputs>{});

    // The outputs at the current point. The numeric derivative differences the outputs element by
    // element before weighting them: differencing two sums of the whole loss instead would add the
    // rounding error of each sum (eps * |L|, divided by the step), which swamps small gradients.
    auto run = [&] {
        program.forward();
        std::array<Tensor<double>, outputs> values;
        [&]<std::size_t... I>(std::index_sequence<I...>) { ((values[I] = program.template value<I>()), ...); }(
            std::make_index_sequence<outputs>{});
        return values;
    };

    for (const auto& t : targets) t.grad->fill(0.0);
    program.forward();
    [&]<std::size_t... I>(std::index_sequence<I...>) { program.backward_from(weights[I]...); }(
        std::make_index_sequence<outputs>{});
    std::vector<Tensor<double>> analytic;
    for (const auto& t : targets) analytic.push_back(*t.grad);

    GradientReport report;
    for (std::size_t k = 0; k < targets.size(); ++k) {
        auto& value = *targets[k].value;
        for (std::size_t i = 0; i < value.size(); ++i) {
            auto numeric_at = [&](double step) {
                const double saved = value.data()[i];
                value.data()[i] = saved + step;
                const auto up = run();
                value.data()[i] = saved - step;
                const auto down = run();
                value.data()[i] = saved;
                double difference = 0;
                for (std::size_t o = 0; o < outputs; ++o) difference += xt::sum(weights[o] * (up[o] - down[o]))();
                return difference / (2 * step);
            };
            const double a = analytic[k].data()[i];
            auto error_of = [&](double numeric) {
                return std::abs(a - numeric) / std::max({std::abs(a), std::abs(numeric), options.floor});
            };
            double numeric = numeric_at(options.step);
            double error = error_of(numeric);
            for (double retry : {options.retry_step, options.retry_step / 10}) {
                if (!(retry > 0) || error <= options.retry_above) break;
                const double again = numeric_at(retry);
                if (error_of(again) < error) {
                    numeric = again;
                    error = error_of(again);
                }
            }
            if (!(error <= report.worst_error)) {  // also catches NaN
                report.worst_error = error;
                report.worst_where = targets[k].name + "[" + std::to_string(i) + "]";
                report.analytic = a;
                report.numeric = numeric;
            }
        }
    }
    program.forward();
    return report;
}

}  // namespace bijou::testing
