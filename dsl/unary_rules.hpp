// Inverse rules for the unary ops that may lie on the path from x to a transform's output.
//
// unary_rule<Op> gives, for y = op(u):
//   inverse(op, y)              u as an expression of y
//   log_abs_derivative(op, u)   log|d op(u) / du| as an expression of u, in a numerically stable form
//   domain                      the interval op is a bijection of (log: (0, inf), tan: (-pi/2, pi/2))
//   image(op, I)                op(I) for I inside the domain (every rule is monotone)
// An op without a rule cannot be inverted; the DSL stops compilation with a message naming it.
#pragma once

#include <cmath>
#include <numbers>

#include <bijou/dsl/interval.hpp>
#include <bijou/dsl/log_abs.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::dsl {

namespace ops {
// log|d leaky_relu(u)/du| = 0 for u > 0, log(slope) otherwise.
template <class T>
struct leaky_relu_log_slope {
    static constexpr const char* name = "leaky_relu_log_slope";
    T log_slope;
    template <class V> V value(V u) const { return simd::select(u > simd::splat<V>(0), simd::splat<V>(0), V(log_slope)); }
    template <class V> V derivative(V, V) const { return simd::splat<V>(0); }
};
// log|d asinh(u)/du| = -0.5 log(1 + u^2), written so that it stays finite when u^2 overflows:
// for |u| > 1, -0.5 log(1 + u^2) = -log|u| - 0.5 log1p(1/u^2). Derivative -u / (1 + u^2) = -1 / (u + 1/u).
struct asinh_log_derivative {
    static constexpr const char* name = "asinh_log_derivative";
    template <class V> V value(V u) const
    {
        const V one = simd::splat<V>(1);
        const V a = xsimd::abs(u);
        const V big = -xsimd::log(a) - V(0.5) * xsimd::log1p(one / (a * a));
        const V small = V(-0.5) * xsimd::log1p(u * u);
        return simd::select(a > one, big, small);
    }
    template <class V> V derivative(V u, V) const
    {
        const V one = simd::splat<V>(1);
        const V big = -one / (u + one / u);
        const V small = -u / (one + u * u);
        return simd::select(xsimd::abs(u) > one, big, small);
    }
};
}  // namespace ops

template <class Op>
struct unary_rule {
    static constexpr bool defined = false;
};


// Each rule reads as its maths: y = f(u), u = f^-1(y), log|f'(u)|.
template <>
struct unary_rule<bijou::ops::neg> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::neg&, const Interval& u) { return decreasing_image(u, [](double v) { return -v; }); }
    template <class Y> static auto inverse(const bijou::ops::neg&, Y y) { return -y; }
    template <class U> static auto log_abs_derivative(const bijou::ops::neg&, U) { return Zero{}; }
};
template <>
struct unary_rule<bijou::ops::exp> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::exp&, const Interval& u) { return increasing_image(u, [](double v) { return v < -800 ? 0.0 : v > 709 ? infinity : std::exp(v); }); }
    template <class Y> static auto inverse(const bijou::ops::exp&, Y y) { return log(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::exp&, U u) { return u; }  // log e^u
};
template <>
struct unary_rule<bijou::ops::log> {
    static constexpr bool defined = true;
    static constexpr Interval domain = positive;
    static constexpr Interval image(const bijou::ops::log&, const Interval& u) { return increasing_image(u, [](double v) { return v <= 0 ? -infinity : v == infinity ? infinity : std::log(v); }); }
    template <class Y> static auto inverse(const bijou::ops::log&, Y y) { return exp(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::log&, U u) { return -log(u); }  // 1/u
};
template <>
struct unary_rule<bijou::ops::sqrt> {
    static constexpr bool defined = true;
    static constexpr Interval domain = positive;  // (0, inf): log|d sqrt(u)/du| is infinite at 0
    static constexpr Interval image(const bijou::ops::sqrt&, const Interval& u)
    {
        return increasing_image(u, [](double v) { return v <= 0 ? 0.0 : v == infinity ? infinity : std::sqrt(v); });
    }
    template <class Y> static auto inverse(const bijou::ops::sqrt&, Y y) { return square(y); }
    // log(1 / (2 sqrt(u)))
    template <class U> static auto log_abs_derivative(const bijou::ops::sqrt&, U u)
    {
        return -(std::numbers::ln2 + 0.5 * log(u));
    }
};
template <>
struct unary_rule<bijou::ops::expm1> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::expm1&, const Interval& u) { return increasing_image(u, [](double v) { return v < -800 ? -1.0 : v > 709 ? infinity : std::expm1(v); }); }
    template <class Y> static auto inverse(const bijou::ops::expm1&, Y y) { return log1p(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::expm1&, U u) { return u; }
};
template <>
struct unary_rule<bijou::ops::log1p> {
    static constexpr bool defined = true;
    static constexpr Interval domain = open_interval(-1, infinity);
    static constexpr Interval image(const bijou::ops::log1p&, const Interval& u) { return increasing_image(u, [](double v) { return v <= -1 ? -infinity : v == infinity ? infinity : std::log1p(v); }); }
    template <class Y> static auto inverse(const bijou::ops::log1p&, Y y) { return expm1(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::log1p&, U u) { return -log1p(u); }
};
template <>
struct unary_rule<bijou::ops::tanh> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::tanh&, const Interval& u) { return increasing_image(u, [](double v) { return v == -infinity ? -1.0 : v == infinity ? 1.0 : std::tanh(v); }); }
    template <class Y> static auto inverse(const bijou::ops::tanh&, Y y) { return atanh(y); }
    // log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), finite for any u
    template <class U> static auto log_abs_derivative(const bijou::ops::tanh&, U u)
    {
        return 2.0 * (std::numbers::ln2 - u - softplus(-2.0 * u));
    }
};
template <>
struct unary_rule<bijou::ops::atanh> {
    static constexpr bool defined = true;
    static constexpr Interval domain = symmetric_unit;
    static constexpr Interval image(const bijou::ops::atanh&, const Interval& u) { return increasing_image(u, [](double v) { return v <= -1 ? -infinity : v >= 1 ? infinity : std::atanh(v); }); }
    template <class Y> static auto inverse(const bijou::ops::atanh&, Y y) { return tanh(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::atanh&, U u) { return -(log1p(u) + log1p(-u)); }
};
template <>
struct unary_rule<bijou::ops::sinh> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::sinh&, const Interval& u) { return increasing_image(u, [](double v) { return v < -709 ? -infinity : v > 709 ? infinity : std::sinh(v); }); }
    template <class Y> static auto inverse(const bijou::ops::sinh&, Y y) { return asinh(y); }
    // log cosh(u) = |u| + log1p(e^(-2|u|)) - log 2
    template <class U> static auto log_abs_derivative(const bijou::ops::sinh&, U u)
    {
        return abs(u) + log1p(exp(-2.0 * abs(u))) - std::numbers::ln2;
    }
};
template <>
struct unary_rule<bijou::ops::asinh> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::asinh&, const Interval& u) { return increasing_image(u, [](double v) { return v == -infinity || v == infinity ? v : std::asinh(v); }); }
    template <class Y> static auto inverse(const bijou::ops::asinh&, Y y) { return sinh(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::asinh&, U u)
    {
        return make_unary(ops::asinh_log_derivative{}, u);
    }
};
template <>
struct unary_rule<bijou::ops::sigmoid> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::sigmoid&, const Interval& u) { return increasing_image(u, [](double v) { return v < -800 ? 0.0 : v > 800 ? 1.0 : 1 / (1 + std::exp(-v)); }); }
    template <class Y> static auto inverse(const bijou::ops::sigmoid&, Y y) { return logit(y); }
    // log(s(u) (1 - s(u))) = -softplus(-u) - softplus(u)
    template <class U> static auto log_abs_derivative(const bijou::ops::sigmoid&, U u) { return -(softplus(-u) + softplus(u)); }
};
template <>
struct unary_rule<bijou::ops::logit> {
    static constexpr bool defined = true;
    static constexpr Interval domain = unit_interval;
    static constexpr Interval image(const bijou::ops::logit&, const Interval& u) { return increasing_image(u, [](double v) { return v <= 0 ? -infinity : v >= 1 ? infinity : std::log(v / (1 - v)); }); }
    template <class Y> static auto inverse(const bijou::ops::logit&, Y y) { return sigmoid(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::logit&, U u) { return -(log(u) + log1p(-u)); }
};
template <>
struct unary_rule<bijou::ops::softplus> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::softplus&, const Interval& u) { return increasing_image(u, [](double v) { return v < -800 ? 0.0 : v > 40 ? v : std::log1p(std::exp(v)); }); }
    template <class Y> static auto inverse(const bijou::ops::softplus&, Y y) { return softplus_inverse(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::softplus&, U u) { return -softplus(-u); }  // log s(u)
};
template <>
struct unary_rule<bijou::ops::softplus_inverse> {
    static constexpr bool defined = true;
    static constexpr Interval domain = positive;
    static constexpr Interval image(const bijou::ops::softplus_inverse&, const Interval& u) { return increasing_image(u, [](double v) { return v <= 0 ? -infinity : v > 40 ? v : std::log(std::expm1(v)); }); }
    template <class Y> static auto inverse(const bijou::ops::softplus_inverse&, Y y) { return softplus(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::softplus_inverse&, U u) { return -log(-expm1(-u)); }
};
template <>
struct unary_rule<bijou::ops::atan> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::atan&, const Interval& u) { return increasing_image(u, [](double v) { return v == -infinity ? -std::numbers::pi / 2 : v == infinity ? std::numbers::pi / 2 : std::atan(v); }); }
    template <class Y> static auto inverse(const bijou::ops::atan&, Y y) { return tan(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::atan&, U u) { return -log1p(square(u)); }
};
template <>
struct unary_rule<bijou::ops::tan> {
    static constexpr bool defined = true;
    static constexpr Interval domain = open_interval(-std::numbers::pi / 2, std::numbers::pi / 2);
    static constexpr Interval image(const bijou::ops::tan&, const Interval& u) { return increasing_image(u, [](double v) { return v <= -std::numbers::pi / 2 ? -infinity : v >= std::numbers::pi / 2 ? infinity : std::tan(v); }); }
    template <class Y> static auto inverse(const bijou::ops::tan&, Y y) { return atan(y); }
    template <class U> static auto log_abs_derivative(const bijou::ops::tan&, U u) { return log1p(square(tan(u))); }
};
template <int N>
struct unary_rule<bijou::ops::integer_pow<N>> {
    static_assert(N % 2 == 1, "bijou dsl: x passes through pow<N> with an even N, which is not injective (x and -x "
                              "give the same value); use an odd power");
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::integer_pow<N>&, const Interval& u)
    {
        return increasing_image(u, [](double v) {
            double r = 1;
            for (int k = 0; k < N; ++k) r *= v;
            return r;
        });
    }
    template <class Y> static auto inverse(const bijou::ops::integer_pow<N>&, Y y) { return root<N>(y); }
    // log(N |u|^(N-1))
    template <class U> static auto log_abs_derivative(const bijou::ops::integer_pow<N>&, U u)
    {
        if constexpr (N == 1) return Zero{};
        else return std::log(double(N)) + double(N - 1) * log(abs(u));
    }
};
template <int N>
struct unary_rule<bijou::ops::odd_root<N>> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    static constexpr Interval image(const bijou::ops::odd_root<N>&, const Interval& u)
    {
        return increasing_image(u, [](double v) {
            if (v == infinity || v == -infinity || v == 0) return v;
            const double magnitude = N == 3 ? std::cbrt(v < 0 ? -v : v) : std::pow(v < 0 ? -v : v, 1.0 / N);
            return v < 0 ? -magnitude : magnitude;
        });
    }
    template <class Y> static auto inverse(const bijou::ops::odd_root<N>&, Y y) { return pow<N>(y); }
    // log((1/N) |u|^(1/N - 1))
    template <class U> static auto log_abs_derivative(const bijou::ops::odd_root<N>&, U u)
    {
        if constexpr (N == 1) return Zero{};
        else return (1.0 / N - 1.0) * log(abs(u)) - std::log(double(N));
    }
};
template <class T>
struct unary_rule<bijou::ops::leaky_relu<T>> {
    static constexpr bool defined = true;
    static constexpr Interval domain = real_line;
    // Invertible for a positive slope only; the domain analysis (dsl/domain.hpp) checks it first.
    static constexpr bool valid(const bijou::ops::leaky_relu<T>& op) { return op.slope > 0 && op.slope < infinity; }
    static constexpr Interval image(const bijou::ops::leaky_relu<T>& op, const Interval& u)
    {
        return increasing_image(u, [&](double v) { return v >= 0 ? v : double(op.slope) * v; });
    }
    static void require_positive(const bijou::ops::leaky_relu<T>& op)
    {
        if (!(op.slope > 0) || !std::isfinite(double(op.slope)))
            throw_usage_error("dsl", "x passes through leaky_relu with slope ", op.slope,
                              ", which is invertible only for a positive (finite) slope");
    }
    template <class Y> static auto inverse(const bijou::ops::leaky_relu<T>& op, Y y)
    {
        require_positive(op);
        return make_unary(bijou::ops::leaky_relu<T>{T(1) / op.slope}, y);
    }
    template <class U> static auto log_abs_derivative(const bijou::ops::leaky_relu<T>& op, U u)
    {
        require_positive(op);
        return make_unary(ops::leaky_relu_log_slope<T>{T(std::log(op.slope))}, u);
    }
};

// Ops that are rejected with a specific reason when x passes through them.
template <class Op>
inline constexpr bool is_clamp = false;
template <class T>
inline constexpr bool is_clamp<bijou::ops::clamp<T>> = true;
template <class Op>
inline constexpr bool is_runtime_pow = false;
template <class T>
inline constexpr bool is_runtime_pow<bijou::ops::pow<T>> = true;

template <class Op>
constexpr void check_on_path()
{
    static_assert(!std::is_same_v<Op, bijou::ops::relu>,
                  "bijou dsl: x passes through relu, which is not injective (every x <= 0 maps to 0); use leaky_relu "
                  "with a positive slope, or apply relu to a parameter rather than to x");
    static_assert(!std::is_same_v<Op, bijou::ops::abs>,
                  "bijou dsl: x passes through abs, which is not injective (x and -x give the same value)");
    static_assert(!std::is_same_v<Op, bijou::ops::square>,
                  "bijou dsl: x passes through square, which is not injective (x and -x give the same value); use an "
                  "odd power such as pow<3>");
    static_assert(!is_clamp<Op>, "bijou dsl: x passes through clamp, which is not injective (it is constant outside its "
                                 "bounds); soft-clamp a parameter instead");
    static_assert(!is_runtime_pow<Op>, "bijou dsl: x passes through pow(x, p) with a runtime exponent, which is "
                                       "injective only for odd integers; write pow<3>(x)");
    static_assert(unary_rule<Op>::defined,
                  "bijou dsl: x passes through an op that has no inverse rule. On the path from x to the output only "
                  "+ - * / by x-free expressions, neg, exp/log, sqrt, expm1/log1p, tanh/atanh, sinh/asinh, sigmoid/logit, "
                  "softplus/softplus_inverse, atan/tan, pow<odd N>/root<odd N> and leaky_relu may appear");
}

}  // namespace bijou::dsl
