// The table of library blocks that check_flows and the property tests (tests/flows/test_properties_*)
// run check_bijection over: one line per block, a name and a spec. Adding a block to the library means
// adding its line to one of the families below.
//
// Every block is built for 5 features (odd, so that halves are uneven), or, for an image block, inside
// dsl::image on a small geometry of its own (odd channel counts where the block allows them), with its
// spec's random initialisation, and checked with parameter noise on top (CheckOptions::parameter_noise) so that
// conditioners that start at zero are checked as the non-trivial maps they become in training.
//
// Inputs: a block on the real line is checked on normal(1) and on extreme inputs (rows mixing +-1e3,
// +-1e-3 and zeros). Extreme inputs test the arithmetic as much as the laws, so two policies apply:
//  - in float, the round trip and symmetry are held to 1e-3 instead of 1e-4 (a block that re-runs a
//    conditioner on recovered features, as glow's second half does, amplifies float rounding by ~1e3
//    in rows holding 1e3), and the Jacobian is not checked (outputs of size 1e3 leave float
//    differences of the tiny features too coarse: most rows could not be judged);
//  - an entry marked ill_conditioned_on_extremes(slack) gets round-trip and symmetry tolerances `slack`
//    times looser; in float on extreme inputs (row "extreme*") it is held to finite outputs only.
//    Marked: the rational-quadratic spline (slack 1000), whose conditioner, saturated by features of
//    1e3, makes bins where dy/dx ~ 1e-7, so that the inverse amplifies the rounding of y by 1/f'
//    (double round trip 5e-10 at x_b = 0: 1e-16 * 3 / 4e-7; log-det symmetry 1.2e-8 on a log-det of
//    -31); deep stacks (repeat(3, ...) of nine blocks, slack 100), whose amplification compounds: a
//    row of 2e3 loses 5e-9 in double, an amplification of 5e7 that float cannot afford (x = 1936 came
//    back as 4040).
// Squashing layers have their own domains (flows/squash.hpp): sigmoid saturates, and float loses its
// round trip well before (|x| = 10.6 gives 1.6e-4), so it is checked on normal(1) only; logit with the
// alpha squeeze is defined on [0, 1] and is checked on uniform values and on the ends of the interval;
// the open logit, defined on (0, 1), on uniform values and values next to the ends (1e-6 from them) in
// double, and on uniform(0.001, 0.999) in float: next to 1, float holds 1 - x to a few bits (1 - 1e-6
// is 17 ulps from 1), so the inverse's log-det, evaluated at x = sigmoid(y), is off by 3e-3 and the
// numerical Jacobian cannot be resolved.
#pragma once

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <bijou/dsl/check.hpp>
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/coupling.hpp>
#include <bijou/dsl/conv_conditioner.hpp>
#include <bijou/dsl/elementwise_layer.hpp>
#include <bijou/dsl/factor_out.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/dsl/inverse.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/dsl/split.hpp>
#include <bijou/dsl/squeeze.hpp>
#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/all_in_one.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/invertible_conv1x1.hpp>
#include <bijou/flows/lu_linear.hpp>
#include <bijou/flows/spline.hpp>
#include <bijou/flows/squash.hpp>
#include <bijou/flows/transforms.hpp>

#include "support/gradcheck.hpp"
#include "tools/table_row.hpp"

namespace bijou::testing {

enum class Domain {
    real_line,      // normal(1) and extreme inputs
    saturating,     // normal(1) only
    unit_interval,  // uniform(0, 1) and the interval's ends
    open_unit_interval,  // uniform(0, 1) and values next to the ends, which do not belong to it
};

template <class Spec>
struct BlockEntry {
    std::string name;
    Spec spec;
    Domain domain = Domain::real_line;
    std::size_t condition_dim = 0;  // > 0: a dsl::conditional block, conditions drawn from N(0, 1)
    double extreme_slack = 1;       // multiplies the round-trip and symmetry tolerances on extreme inputs
    bool extreme_in_float = true;

    // The gradient row's tolerance (relative, floor 1e-3). A spline's inverse has large and jumping
    // second derivatives where bins are steep or flat, so central differences of its gradient are good
    // to ~1e-6 at best; its entries get 1e-5.
    double gradient_tolerance = 1e-6;
    std::optional<ImageShape> image = std::nullopt;  // an image block: built inside dsl::image(*image, spec)

    BlockEntry with_gradient_tolerance(double tolerance) const
    {
        auto e = *this;
        e.gradient_tolerance = tolerance;
        return e;
    }

    BlockEntry on_image(ImageShape shape) const
    {
        auto e = *this;
        e.image = shape;
        return e;
    }

    BlockEntry ill_conditioned_on_extremes(double slack, bool in_float) const
    {
        auto e = *this;
        e.extreme_slack = slack;
        e.extreme_in_float = in_float;
        return e;
    }
};

template <class Spec>
BlockEntry<Spec> entry(std::string name, Spec spec, Domain domain = Domain::real_line)
{
    return {std::move(name), std::move(spec), domain};
}

template <class Spec>
auto conditional_entry(std::string name, Spec conditional_spec, std::size_t condition_dim)
{
    return BlockEntry<Spec>{std::move(name), std::move(conditional_spec), Domain::real_line, condition_dim};
}

inline auto small_net() { return dsl::conditioner(hidden(16)); }
inline auto affine_coupling() { return dsl::coupling(dsl::halves, small_net(), flows::affine); }
inline auto additive_coupling() { return dsl::coupling(dsl::halves, small_net(), flows::additive); }
inline auto conv_affine_coupling() { return dsl::coupling(dsl::halves, dsl::conv_conditioner(6), flows::affine); }
inline auto glow_step()
{
    return dsl::seq(flows::channel_actnorm(), flows::invertible_conv1x1(), conv_affine_coupling());
}

// ---- the families -----------------------------------------------------------------------------------

inline auto coupling_blocks()
{
    using namespace dsl;
    return std::make_tuple(
        entry("coupling(halves, additive)", additive_coupling()), entry("coupling(halves, affine)", affine_coupling()),
        entry("coupling(alternating, affine)", coupling(alternating, small_net(), flows::affine)),
        entry("coupling(mask, affine)", coupling(mask({true, false, false, true, false}), small_net(), flows::affine)),
        entry("coupling(halves, rational_quadratic)", coupling(halves, small_net(), flows::rational_quadratic(6, 3.0)))
            .ill_conditioned_on_extremes(1000, false)
            .with_gradient_tolerance(1e-5),
        entry("glow_coupling", flows::glow_coupling(small_net())),
        entry("gin_coupling", flows::gin_coupling(small_net())), entry("all_in_one", flows::all_in_one(small_net())),
        entry("coupling(halves, affine, conv_conditioner) 3x3x3", conv_affine_coupling()).on_image({3, 3, 3}),
        entry("coupling(halves, rational_quadratic, conv_conditioner) 2x3x3",
              dsl::coupling(halves, dsl::conv_conditioner(4), flows::rational_quadratic(4, 3.0)))
            .on_image({2, 3, 3})
            .ill_conditioned_on_extremes(1000, false)
            .with_gradient_tolerance(1e-5));
}

// A user-style elementwise rule (sinh of a scaled x, then a shift), for elementwise_layer.
inline constexpr auto sinh_affine = dsl::elementwise([](auto x, auto s, auto t) { return sinh(x * exp(s)) + t; });

inline auto layer_blocks()
{
    using namespace dsl;
    return std::make_tuple(entry("reverse", reverse()), entry("permute_random", permute_random()),
                           entry("actnorm", flows::actnorm()), entry("global_affine", flows::global_affine()),
                           entry("lu_linear", flows::lu_linear()),
                           entry("sigmoid_layer", flows::sigmoid_layer(), Domain::saturating),
                           entry("logit_layer", flows::logit_layer(), Domain::unit_interval),
                           entry("open_logit_layer", flows::open_logit_layer(), Domain::open_unit_interval),
                           entry("elementwise_layer(sinh(x exp(s)) + t)", elementwise_layer(sinh_affine, {0.0, 0.0}),
                                 Domain::saturating),
                           entry("channel_actnorm 3x2x3", flows::channel_actnorm()).on_image({3, 2, 3}),
                           entry("invertible_conv1x1 3x2x3", flows::invertible_conv1x1()).on_image({3, 2, 3}),
                           entry("squeeze 1x4x6", squeeze(reverse())).on_image({1, 4, 6}),
                           entry("haar 1x4x6", haar(reverse())).on_image({1, 4, 6}));
}

inline auto combinator_blocks()
{
    using namespace dsl;
    return std::make_tuple(
        entry("inverse(coupling(halves, affine))", inverse(affine_coupling())),
        entry("seq(affine, permute_random, additive, reverse)",
              seq(affine_coupling(), permute_random(), additive_coupling(), reverse())),
        entry("repeat(3, seq(actnorm, affine, lu_linear))",
              repeat(3, seq(flows::actnorm(), affine_coupling(), flows::lu_linear())))
            .ill_conditioned_on_extremes(100, false),
        entry("factor_out(glow step) 3x2x2", factor_out(glow_step())).on_image({3, 2, 2}),
        entry("two-level glow 2x4x4", squeeze(seq(glow_step(), factor_out(haar(glow_step())))))
            .on_image({2, 4, 4})
            .ill_conditioned_on_extremes(100, false));
}

// Conditional blocks (cINNs): the condition, drawn from N(0, 1), reaches every conditioner.
inline auto conditional_blocks()
{
    using namespace dsl;
    return std::make_tuple(
        conditional_entry("conditional(coupling(halves, affine))", conditional(affine_coupling(), 3), 3),
        conditional_entry("conditional(glow, condition_net)",
                          conditional(flows::glow_coupling(small_net()), 3, condition_net(hidden(8), 4)), 3),
        conditional_entry("conditional(gin_coupling)", conditional(flows::gin_coupling(small_net()), 2), 2),
        conditional_entry("conditional(rational_quadratic)",
                          conditional(coupling(halves, small_net(), flows::rational_quadratic(6, 3.0)), 2), 2)
            .ill_conditioned_on_extremes(1000, false)
            .with_gradient_tolerance(1e-5),
        conditional_entry("conditional(seq(all_in_one, actnorm, all_in_one))",
                          conditional(seq(flows::all_in_one(small_net()), flows::actnorm(),
                                          flows::all_in_one(small_net())),
                                      3, condition_net(hidden(8), 4)),
                          3),
        conditional_entry("conditional(coupling(halves, affine, conv_conditioner)) 2x3x3",
                          conditional(conv_affine_coupling(), 3), 3)
            .on_image({2, 3, 3}),
        conditional_entry("conditional(conditional_affine)", conditional(flows::conditional_affine(), 3), 3),
        conditional_entry("conditional(seq(glow step, conditional_affine), condition_net) 2x3x3",
                          conditional(seq(glow_step(), flows::conditional_affine()), 3, condition_net(hidden(8), 4)), 3)
            .on_image({2, 3, 3}));
}

// ---- running an entry -----------------------------------------------------------------------------------

// The values at and next to the ends of [0, 1] (only next to them for the open interval), mixed with
// uniform ones.
struct UnitIntervalEdges {
    bool open = false;
    Tensor<double> operator()(std::mt19937_64& rng, std::size_t batch, std::size_t dim) const
    {
        constexpr double edges[] = {1e-6, 1 - 1e-6, 1e-3, 1 - 1e-3, 0.0, 1.0};
        const int ends = open ? 4 : 6;
        std::uniform_int_distribution<int> pick(0, ends + 1);
        std::uniform_real_distribution<double> uniform(1e-9, 1.0 - 1e-9);
        Tensor<double> x = Tensor<double>::from_shape({batch, dim});
        for (auto& v : x) {
            const int k = pick(rng);
            v = k < ends ? edges[k] : uniform(rng);
        }
        return x;
    }
};

template <class T, class Spec>
auto build_entry(const BlockEntry<Spec>& e, const TableOptions& table)
{
    dsl::BuildContext context;
    context.rng.seed(table.check.seed);
    if (e.image) {
        dsl::ImageScope scope(context, *e.image);
        return e.spec.template build<T>(e.image->size(), context);
    }
    return e.spec.template build<T>(table.dim, context);
}

// The features of an entry's block: the table's dimension, or its image's size.
template <class Spec>
std::size_t entry_dim(const BlockEntry<Spec>& e, const TableOptions& table)
{
    return e.image ? e.image->size() : table.dim;
}

template <class Block>
inline constexpr bool is_conditional_block = requires { Block::is_conditional; };

template <class T, class Spec, class Sampler>
TableRow check_entry_on(const BlockEntry<Spec>& e, const char* inputs, const Sampler& sampler,
                        dsl::CheckOptions options, const TableOptions& table)
{
    const auto block = build_entry<T>(e, table);
    TableRow row{.block = e.name, .type = dsl::detail::scalar_name<T>(), .inputs = inputs};
    if constexpr (is_conditional_block<decltype(block)>)
        row.report = dsl::check_bijection(block, sampler, dsl::samplers::normal(), options);
    else
        row.report = dsl::check_bijection(block, sampler, options);
    return row;
}

// The gradient row of an entry (double): parameters moved by the table's noise, inputs from the
// entry's domain, the inverse evaluated at the forward pass's outputs (inside the inverse's domain).
template <class Spec, class Sampler>
TableRow check_entry_gradients(const BlockEntry<Spec>& e, const Sampler& sampler, const TableOptions& table)
{
    const auto block = build_entry<double>(e, table);
    std::mt19937_64 rng(table.check.seed + 1);
    std::normal_distribution<double> noise(0.0, table.check.parameter_noise);
    for (const auto& p : block.parameters())
        for (auto& v : p.value()) v += noise(rng);

    const std::size_t batch = table.check.batch, dim = entry_dim(e, table);
    const std::size_t condition_dim = e.condition_dim;
    Input<double> x(dim, "x", {.requires_grad = true});
    Input<double> c(std::max<std::size_t>(condition_dim, 1), "c", {.requires_grad = true});  // read if conditional
    Input<double> z(dim, "z", {.requires_grad = true});
    auto run = [&](const auto& input, auto direction) {
        if constexpr (is_conditional_block<decltype(block)>)
            return direction(input, c);
        else
            return direction(input, dsl::NoCondition{});
    };
    auto [y, log_det] = run(x, [&](const auto& in, const auto& cond) { return block.forward(in, cond); });
    auto [x_of_z, log_det_of_z] = run(z, [&](const auto& in, const auto& cond) { return block.inverse(in, cond); });
    // NLL up to a constant: mean over rows of |y|^2 / 2 - log|det J|. A volume-preserving block's
    // log-det is dsl::Zero, not a node: the programs then leave it out.
    auto program_of = [](const auto& value, const auto& log_det_term) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(log_det_term)>, dsl::Zero>)
            return Program(value);
        else
            return Program(value, log_det_term);
    };
    auto nll = [&] {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(log_det)>, dsl::Zero>)
            return Program(mean(0.5 * sum(square(y), 1)));
        else
            return Program(mean(0.5 * sum(square(y), 1) - log_det));
    }();
    auto inverse = program_of(x_of_z, log_det_of_z);
    Program outputs(y);
    nll.bind(batch);
    inverse.bind(batch);
    outputs.bind(batch);

    x.set(sampler(rng, batch, dim));
    if (condition_dim > 0) c.set(dsl::samplers::normal()(rng, batch, condition_dim));
    outputs.forward();
    z.set(outputs.template value<0>());

    std::vector<GradientTarget> targets;
    for (const auto& p : block.parameters()) targets.push_back(target(p));
    if (condition_dim > 0) targets.push_back(target(c));
    auto nll_targets = targets;
    nll_targets.push_back(target(x));
    // A spline's derivatives jump at its knots: retried at a smaller step (GradientOptions).
    const GradientOptions steps{.step = 1e-5, .retry_step = 1e-6};
    const auto nll_report = check_gradients(nll, nll_targets, steps);
    targets.push_back(target(z));
    const auto inverse_report = check_gradients(inverse, targets, steps);

    TableRow row{.block = e.name, .type = "double", .inputs = "gradients"};
    row.is_gradient_row = true;
    row.gradients.nll_error = nll_report.worst_error;
    row.gradients.nll_where = nll_report.worst_where;
    row.gradients.inverse_error = inverse_report.worst_error;
    row.gradients.inverse_where = inverse_report.worst_where;
    row.gradients.tolerance = e.gradient_tolerance;
    return row;
}

// Which entries get float gradient rows: the splines, whose float backward runs in the saturated regime
// their forward was made robust for. (Every block's float backward is the same engine code as its double
// one, which the double rows check; a float row per block would add about a minute of compile time to CI.)
template <class Spec>
inline constexpr bool float_gradients_checked = false;
template <class Split, class Net>
inline constexpr bool float_gradients_checked<dsl::CouplingSpec<Split, Net, flows::RationalQuadraticSpline>> = true;
template <class Inner, class Net>
inline constexpr bool float_gradients_checked<dsl::ConditionalSpec<Inner, Net>> = float_gradients_checked<Inner>;

// The float gradient row of an entry: the NLL's gradients w.r.t. every parameter and the input in float,
// against the same gradients in double at the same parameters and inputs. The double backward is the
// reference (its own row checks it against finite differences, which in float are too coarse to judge a
// gradient). The error of a target is normwise, max |g_float - g_double| / max(1, max |g_double|); the
// tolerance, 1e-3 on normal inputs and 1e-2 on extreme ones, is float rounding amplified by the
// block's conditioning. On extreme inputs a saturated conditioner (the spline's) runs its backward in the
// regime its forward was made robust for.
template <class Spec, class Sampler>
TableRow check_entry_float_gradients(const BlockEntry<Spec>& e, const char* inputs, const Sampler& sampler,
                                     double tolerance, const TableOptions& table)
{
    const auto reference = build_entry<double>(e, table);
    const auto block = build_entry<float>(e, table);
    std::mt19937_64 rng(table.check.seed + 2);
    std::normal_distribution<double> noise(0.0, table.check.parameter_noise);
    const auto reference_parameters = reference.parameters();
    const auto parameters = block.parameters();
    for (std::size_t k = 0; k < parameters.size(); ++k) {
        auto& value = reference_parameters[k].value();
        for (auto& v : value) v = double(float(v + noise(rng)));  // representable in float
        std::copy(value.begin(), value.end(), parameters[k].value().begin());
    }
    const std::size_t batch = table.check.batch, dim = entry_dim(e, table), condition_dim = e.condition_dim;
    const Tensor<double> x_values = sampler(rng, batch, dim);
    const Tensor<double> c_values = dsl::samplers::normal()(rng, batch, std::max<std::size_t>(condition_dim, 1));

    // The NLL's gradients (parameters, then the input) of one block in its own scalar type, as doubles.
    auto gradients_of = [&](const auto& b) {
        using T = typename std::remove_cvref_t<decltype(b)>::value_type;
        Input<T> x(dim, "x", {.requires_grad = true});
        Input<T> c(std::max<std::size_t>(condition_dim, 1), "c");
        auto [y, log_det] = [&] {
            if constexpr (is_conditional_block<std::remove_cvref_t<decltype(b)>>) return b.forward(x, c);
            else return b.forward(x, dsl::NoCondition{});
        }();
        auto nll = [&] {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(log_det)>, dsl::Zero>)
                return Program(mean(0.5 * sum(square(y), 1)));
            else
                return Program(mean(0.5 * sum(square(y), 1) - log_det));
        }();
        nll.bind(batch);
        x.set(xt::cast<T>(x_values));
        if (condition_dim > 0) c.set(xt::cast<T>(c_values));
        nll.zero_grad();
        x.grad().fill(T(0));
        nll.forward();
        nll.backward();
        std::vector<std::pair<std::string, Tensor<double>>> result;
        for (const auto& p : b.parameters()) result.emplace_back(p.name(), xt::cast<double>(p.grad()));
        result.emplace_back("x", xt::cast<double>(x.grad()));
        return result;
    };
    const auto expected = gradients_of(reference);
    const auto got = gradients_of(block);

    TableRow row{.block = e.name, .type = "float", .inputs = inputs};
    row.is_gradient_row = true;
    row.gradients.tolerance = tolerance;
    for (std::size_t k = 0; k < expected.size(); ++k) {
        const auto& g = expected[k].second;
        const double scale = std::max(1.0, double(xt::amax(xt::abs(g))()));
        for (std::size_t i = 0; i < g.size(); ++i) {
            const double error = std::abs(got[k].second.data()[i] - g.data()[i]) / scale;
            if (!(error <= row.gradients.nll_error)) {  // also catches NaN
                row.gradients.nll_error = error;
                row.gradients.nll_where = expected[k].first + "[" + std::to_string(i) + "] (float " +
                                          std::to_string(got[k].second.data()[i]) + ", double " +
                                          std::to_string(g.data()[i]) + ")";
            }
        }
    }
    row.gradients.inverse_where = "not checked in float";
    return row;
}

// Checks one entry in T on every kind of input its domain calls for, and its gradients in double,
// passing each row to `out`.
template <class T, class Spec>
void check_entry(const BlockEntry<Spec>& e, const TableOptions& table, const RowSink& out)
{
    constexpr bool single = std::is_same_v<T, float>;
    const auto options = table.check;
    switch (e.domain) {
    case Domain::real_line: {
        out(check_entry_on<T>(e, "normal", dsl::samplers::normal(), options, table));
        auto extreme = options;
        const double exact = single ? 1e-3 : 1e-10;
        extreme.round_trip_tolerance = e.extreme_slack * exact;
        extreme.symmetry_tolerance = e.extreme_slack * exact;
        if (single) extreme.check_jacobian = false;
        if (single && !e.extreme_in_float) {
            // Ill-conditioned on extreme inputs (see above): float is held to finite outputs only.
            extreme.round_trip_tolerance = std::numeric_limits<double>::infinity();
            extreme.symmetry_tolerance = std::numeric_limits<double>::infinity();
            out(check_entry_on<T>(e, "extreme*", dsl::samplers::extreme(), extreme, table));
            break;
        }
        out(check_entry_on<T>(e, "extreme", dsl::samplers::extreme(), extreme, table));
        break;
    }
    case Domain::saturating: out(check_entry_on<T>(e, "normal", dsl::samplers::normal(), options, table)); break;
    case Domain::unit_interval:
        out(check_entry_on<T>(e, "uniform(0,1)", dsl::samplers::uniform(0.0, 1.0), options, table));
        out(check_entry_on<T>(e, "unit edges", UnitIntervalEdges{}, options, table));
        break;
    case Domain::open_unit_interval:
        if (single) {  // float cannot resolve 1 - x next to 1 (see above)
            out(check_entry_on<T>(e, "uniform(.001,.999)", dsl::samplers::uniform(1e-3, 1 - 1e-3), options, table));
            break;
        }
        out(check_entry_on<T>(e, "uniform(0,1)", dsl::samplers::uniform(1e-9, 1.0 - 1e-9), options, table));
        out(check_entry_on<T>(e, "near edges", UnitIntervalEdges{.open = true}, options, table));
        break;
    }
    if (!table.gradients) return;
    if constexpr (!single) {
        if (e.domain == Domain::unit_interval || e.domain == Domain::open_unit_interval)
            out(check_entry_gradients(e, dsl::samplers::uniform(0.05, 0.95), table));
        else
            out(check_entry_gradients(e, dsl::samplers::normal(), table));
    } else if constexpr (float_gradients_checked<Spec>) {
        out(check_entry_float_gradients(e, "gradients", dsl::samplers::normal(), 1e-3, table));
        out(check_entry_float_gradients(e, "gradients, extreme", dsl::samplers::extreme(), 1e-2, table));
    }
}

template <class T, class Table>
void check_table(const Table& entries, const TableOptions& table, const RowSink& out)
{
    std::apply([&](const auto&... e) { (check_entry<T>(e, table, out), ...); }, entries);
}

}  // namespace bijou::testing
