// The coupling transforms of the classic coupling layers. The elementwise ones are written once, as
// their forward rule (dsl::elementwise derives inverse and log-det); GIN's needs a mean over features,
// which is not elementwise, so it models dsl::CouplingTransform directly.
#pragma once

#include <bijou/dsl/coupling_transform.hpp>
#include <bijou/dsl/elementwise.hpp>
#include <bijou/engine/ops/soft_clamp.hpp>

namespace bijou::flows {

// NICE: y = x + t (volume preserving).
inline constexpr auto additive = dsl::elementwise([](auto x, auto t) { return x + t; });

// RealNVP: y = x * exp(soft_clamp(s)) + t, log|dy/dx| = soft_clamp(s). The clamp keeps the scale in
// [e^-bound, e^bound] (default bound 2, tanh form; SoftClamp{.kind = ClampKind::atan} for the atan form).
inline constexpr auto affine_transform(SoftClamp clamp = {})
{
    return dsl::elementwise([clamp](auto x, auto s, auto t) { return x * exp(soft_clamp(s, clamp)) + t; });
}
inline constexpr auto affine = affine_transform();

// GIN (Sorrenson et al. 2020): the affine transform with the log-scales centred over the features,
//   s' = soft_clamp(s) - mean_j soft_clamp(s)_j,   y = x * exp(s') + t,
// so sum_j s'_j = 0 and the map is volume preserving: log|det J| = 0 exactly (reported as Zero).
struct GinTransform {
    SoftClamp clamp;
    std::size_t width = 0;

    GinTransform with_width(std::size_t w) const { return {clamp, w}; }
    std::size_t parameter_columns(std::size_t w) const { return 2 * w; }

    template <class X, class P>
    auto forward(const X& x_b, const P& p) const
    {
        auto [s, t] = parameters(p);
        return dsl::Transformed{x_b * exp(s) + t, dsl::Zero{}};
    }
    template <class Y, class P>
    auto inverse(const Y& y_b, const P& p) const
    {
        auto [s, t] = parameters(p);
        return dsl::Transformed{(y_b - t) * exp(-s), dsl::Zero{}};
    }

private:
    template <class P>
    auto parameters(const P& p) const
    {
        auto clamped = let(soft_clamp(p.slice(0, width), clamp));
        auto centred = let(clamped - mean(clamped, 1));
        return std::pair{centred, p.slice(width, 2 * width)};
    }
};
inline GinTransform gin_transform(SoftClamp clamp = {}) { return {clamp}; }

}  // namespace bijou::flows
