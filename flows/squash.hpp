// Squashing layers between the real line and the unit interval, parameterless elementwise layers
// (dsl/elementwise_layer.hpp) whose inverse and log-det the DSL derives.
//
// sigmoid_layer():      R -> (0, 1),  y = sigmoid(x),
//                       log|dy/dx| = log sigmoid(x) + log sigmoid(-x) = -(softplus(-x) + softplus(x))
//   Finite for every x (|x| = 1e3 gives -1e3). Its inverse, logit, needs y in (0, 1): y = 0 or 1 gives
//   -inf / +inf, y outside [0, 1] gives NaN. So once sigmoid saturates in floating point (|x| > ~17 in
//   float, ~37 in double, where y rounds to 0 or 1), the round trip is lost even though the forward
//   value and log-det are right.
//
// logit_layer(alpha):   (0, 1) -> R,  x' = alpha + (1 - 2 alpha) x,  y = logit(x') = log(x' / (1 - x')),
//                       log|dy/dx| = log(1 - 2 alpha) - log x' - log(1 - x')
//   The alpha-squeeze of RealNVP (Dinh et al. 2017) maps [0, 1] into [alpha, 1 - alpha], so pixel
//   values of exactly 0 or 1 stay finite. Domain: x in [0, 1] (alpha > 0).
//   Outside it the kernels cannot throw; the results are NaN (x' < 0 or x' > 1) or infinite (x' = 0
//   or 1), never silently finite. Its inverse, x = (sigmoid(y) - alpha) / (1 - 2 alpha), is defined
//   for every y (y outside [logit(alpha), logit(1 - alpha)] lands outside [0, 1]). The inverse's
//   log-det is the DSL's, -log|dy/dx| evaluated at x, which loses relative precision as sigmoid(y)
//   nears 0 or 1 (about 1e-16 e^|y|: 1e-12 at |y| = 10, 1e-3 at |y| = 30) and is non-finite (-inf or
//   NaN) once sigmoid(y) rounds to 0 or 1 (|y| > ~37 in double, ~17 in float), although the exact
//   value, log sigmoid'(y) - log(1 - 2 alpha), is finite.
#pragma once

#include <bijou/dsl/elementwise_layer.hpp>

namespace bijou::flows {

inline auto sigmoid_layer()
{
    return dsl::elementwise_layer(dsl::elementwise([](auto x) { return sigmoid(x); })).named("sigmoid");
}

// alpha in (0, 0.5): the share of the unit interval's ends left out. Declared [0, 1] -> R; the DSL checks
// the declaration on the captured alpha when the layer is made ([0, 1] -> [alpha, 1 - alpha], inside
// logit's domain). Its image is [logit(alpha), logit(1 - alpha)], inside the real line but not all of it:
// the base's mass outside that box is lost, so a flow that starts with it has a sub-normalised density on
// [0, 1]^D (the RealNVP convention; the NLL is an upper bound). open_logit_layer() is the exact bijection.
inline auto logit_layer(double alpha = 0.05)
{
    if (!(alpha > 0 && alpha < 0.5))
        throw_usage_error("logit_layer", "alpha must lie in (0, 0.5), got ", alpha,
                          "; for data inside the open interval (0, 1), open_logit_layer() is the logit without a "
                          "squeeze");
    return dsl::elementwise_layer(dsl::elementwise<dsl::closed_interval(0, 1), dsl::real_line>(
                                      [alpha](auto x) { return logit((1.0 - 2.0 * alpha) * x + alpha); }))
        .named("logit");
}

// open_logit_layer(): (0, 1) -> R, y = logit(x), an exact bijection onto the real line; 0 and 1 are outside
// its domain (make_flow<T, dsl::unit_interval> refuses data holding them).
inline auto open_logit_layer()
{
    return dsl::elementwise_layer(dsl::elementwise([](auto x) { return logit(x); })).named("logit");
}

}  // namespace bijou::flows
