// soft_clamp(s, {bound, kind}): squashes a log-scale smoothly into (-bound, bound), close to the identity
// near 0 (Ardizzone et al. 2019), so a coupling's scale exp(s) stays within [e^-bound, e^bound]:
//   tanh form   bound * tanh(s / bound)              derivative 1 - (y / bound)^2
//   atan form   bound * 2/pi * atan(s / bound)       derivative 1 / (1 + (s / bound)^2)
// The form is a runtime choice, so a flow can switch it from the command line without a new type.
#pragma once

#include <numbers>

#include <bijou/engine/error.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

enum class ClampKind { tanh, atan };

struct SoftClamp {
    double bound = 2.0;
    ClampKind kind = ClampKind::tanh;
};

namespace ops {
template <class T>
struct soft_clamp {
    static constexpr const char* name = "soft_clamp";
    T bound;
    ClampKind kind;

    template <class V> V value(V s) const
    {
        if (kind == ClampKind::tanh) return V(bound) * xsimd::tanh(s / V(bound));
        return V(bound * T(2) / std::numbers::pi_v<T>) * xsimd::atan(s / V(bound));
    }
    template <class V> V derivative(V s, V y) const
    {
        if (kind == ClampKind::tanh) {
            const V r = y / V(bound);
            return simd::splat<V>(1) - r * r;
        }
        const V r = s / V(bound);
        return simd::splat<V>(1) / (simd::splat<V>(1) + r * r);
    }
};
}  // namespace ops

template <Expr E>
constexpr auto soft_clamp(E&& e, SoftClamp clamp = {})
{
    using T = detail::value_type_t<E>;
    if (!(clamp.bound > 0)) throw_usage_error("soft_clamp", "the bound must be positive, got ", clamp.bound);
    return make_unary(ops::soft_clamp<T>{static_cast<T>(clamp.bound), clamp.kind}, std::forward<E>(e));
}

}  // namespace bijou
