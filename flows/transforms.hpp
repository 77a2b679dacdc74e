// The elementwise transforms of the classic coupling layers, each written once as its forward rule.
#pragma once

#include <numbers>

#include <bijou/dsl/elementwise.hpp>

namespace bijou::flows {

// Soft clamping of a log-scale to (-c, c), smooth and identity-like near 0 (Ardizzone et al.):
//   tanh form  c * tanh(s / c);   atan form  c * 2/pi * atan(s / c).
template <Expr S>
auto soft_clamp(const S& s, double c = 2.0)
{
    return c * tanh(s / c);
}
template <Expr S>
auto soft_clamp_atan(const S& s, double c = 2.0)
{
    return (c * 2.0 / std::numbers::pi) * atan(s / c);
}

// NICE: y = x + t (volume preserving).
inline constexpr auto additive = dsl::elementwise([](auto x, auto t) { return x + t; });
// RealNVP: y = x * exp(soft_clamp(s)) + t.
inline constexpr auto affine = dsl::elementwise([](auto x, auto s, auto t) { return x * exp(soft_clamp(s)) + t; });

}  // namespace bijou::flows
