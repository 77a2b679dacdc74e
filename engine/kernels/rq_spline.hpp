// rq_spline_forward(x, knots, layout), rq_spline_inverse(y, knots, layout): monotonic rational-quadratic
// splines (Durkan et al. 2019, "Neural Spline Flows"), one per element, with linear tails, evaluated
// from the knots of rq_spline_knots (rq_spline_knots.hpp).
//
// In bin k, with w = x_{k+1} - x_k, h = y_{k+1} - y_k, s = h / w, theta = (x - x_k) / w, t = theta (1 - theta):
//   y        = y_k + h (s theta^2 + d_k t) / (s + (d_k + d_{k+1} - 2s) t)
//   dy/dx    = s^2 (d_{k+1} theta^2 + 2 s t + d_k (1 - theta)^2) / (s + (d_k + d_{k+1} - 2s) t)^2
// Outside [x_0, x_K] = [-B, B] the spline is the identity (derivative 1, which d_0 = d_K = 1 continues).
// The inverse solves a theta^2 + b theta + c = 0 in the bin of y among the y knots, with
//   a = h (s - d_k) + (y - y_k)(d_k + d_{k+1} - 2s),  b = h d_k - (y - y_k)(d_k + d_{k+1} - 2s),
//   c = -s (y - y_k),
// through the root form theta = 2c / (-b - sqrt(b^2 - 4ac)), which does not cancel when a -> 0.
//
// Output: one Var of B x (1 + w) columns, [log_det, v_1 .. v_w]: the value v (y forward, x inverse) and
// the direction's log|det| summed over the row (forward: sum_i log dy_i/dx_i; inverse: minus that sum at
// the inverted x). One kernel gives both because they share the bin search and every intermediate.
// The log-det comes first so that the values are "column 1 to the end", a slice that can be taken
// when the graph is built, before the width w is known (it is known only at bind).
//
// Gradients: the local partials of y and of log dy/dx w.r.t. x and the six knot quantities of the bin
// (x_k, x_{k+1}, y_k, y_{k+1}, d_k, d_{k+1}) come from evaluating the formula above on forward-mode dual
// numbers, so values and derivatives come from one formula. The inverse's partials follow by the implicit
// function theorem from the forward partials at the inverted x: with f(x, theta) = y,
//   dx/dy = 1 / f_x,   dx/dtheta = -f_theta / f_x,
// and its log-det -L(x(y, theta), theta), L = log f_x, differentiates by the chain rule through x.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include <bijou/engine/error.hpp>
#include <bijou/engine/kernels/rq_spline_knots.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

namespace detail {

// A forward-mode dual number: a value and its partial derivatives w.r.t. N seeded variables.
template <class T, std::size_t N>
struct Dual {
    T value{};
    std::array<T, N> grad{};

    static Dual variable(T v, std::size_t index)
    {
        Dual d{v, {}};
        d.grad[index] = T(1);
        return d;
    }

    friend Dual operator+(const Dual& a, const Dual& b)
    {
        Dual r{a.value + b.value, {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = a.grad[i] + b.grad[i];
        return r;
    }
    friend Dual operator-(const Dual& a, const Dual& b)
    {
        Dual r{a.value - b.value, {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = a.grad[i] - b.grad[i];
        return r;
    }
    friend Dual operator*(const Dual& a, const Dual& b)
    {
        Dual r{a.value * b.value, {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = a.grad[i] * b.value + a.value * b.grad[i];
        return r;
    }
    // (a / b)' = (a' - (a / b) b') / b
    friend Dual operator/(const Dual& a, const Dual& b)
    {
        const T inverse = T(1) / b.value;
        Dual r{a.value * inverse, {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = (a.grad[i] - r.value * b.grad[i]) * inverse;
        return r;
    }
    friend Dual operator*(T k, const Dual& a)
    {
        Dual r{k * a.value, {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = k * a.grad[i];
        return r;
    }
    friend Dual operator-(T k, const Dual& a)
    {
        Dual r{k - a.value, {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = -a.grad[i];
        return r;
    }
    friend Dual log(const Dual& a)
    {
        const T inverse = T(1) / a.value;
        Dual r{std::log(a.value), {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = a.grad[i] * inverse;
        return r;
    }
};

template <class S>
struct SplinePoint {
    S value;           // y
    S log_derivative;  // log dy/dx
};

// The forward formula in one bin, for S = T or a dual number over T.
template <class T, class S>
SplinePoint<S> rq_segment(const S& x, const S& x_k, const S& x_k1, const S& y_k, const S& y_k1, const S& d_k,
                          const S& d_k1)
{
    using std::log;
    const S width = x_k1 - x_k;
    const S height = y_k1 - y_k;
    const S slope = height / width;
    const S theta = (x - x_k) / width;
    const S one_minus_theta = T(1) - theta;
    const S t = theta * one_minus_theta;
    const S denominator = slope + (d_k + d_k1 - T(2) * slope) * t;
    const S numerator = height * (slope * theta * theta + d_k * t);
    const S derivative_numerator =
        slope * slope * (d_k1 * theta * theta + T(2) * slope * t + d_k * one_minus_theta * one_minus_theta);
    return {y_k + numerator / denominator, log(derivative_numerator) - T(2) * log(denominator)};
}

// The inverse in one bin (plain values only: its derivatives come from rq_segment by the implicit
// function theorem).
template <class T>
T rq_segment_inverse(T y, T x_k, T x_k1, T y_k, T y_k1, T d_k, T d_k1)
{
    const T width = x_k1 - x_k;
    const T height = y_k1 - y_k;
    const T slope = height / width;
    const T above = y - y_k;
    const T curvature = d_k + d_k1 - 2 * slope;
    const T a = height * (slope - d_k) + above * curvature;
    const T b = height * d_k - above * curvature;
    const T c = -slope * above;
    const T discriminant = std::max(b * b - 4 * a * c, T(0));  // >= 0 in exact arithmetic
    const T root_denominator = -b - std::sqrt(discriminant);
    // y = y_k (c = 0) gives theta = 0; rounding may push theta just outside [0, 1], where the segment's
    // derivative formula is no longer positive.
    const T theta = root_denominator == 0 ? T(0) : std::clamp(2 * c / root_denominator, T(0), T(1));
    return x_k + theta * width;
}

// The bin k in [0, K) with z_k <= v < z_{k+1} (v = z_K falls in the last bin), for z_0 <= v <= z_K.
template <class T>
std::size_t rq_bin(const T* z, std::size_t bins, T v)
{
    const std::size_t above = std::size_t(std::upper_bound(z, z + bins + 1, v) - z);
    return std::min(above, bins) - 1;
}

}  // namespace detail

enum class SplineDirection { forward, inverse };

template <SplineDirection Direction, SourceExpr In, SourceExpr Knots>
struct RQSpline {
    using value_type = typename In::value_type;
    using T = value_type;
    using Wide = std::conditional_t<std::is_same_v<T, float>, double, T>;  // the segment's arithmetic
    static constexpr const char* name = RQSplineLayout::name;
    static_assert(std::is_same_v<typename Knots::value_type, T>,
                  "bijou: rational_quadratic_spline: the input and the knots must have the same value type");

    In input;
    Knots knots;
    RQSplineLayout layout;

    Shape shape() const
    {
        const Shape in = input.shape();
        const Shape kn = knots.shape();
        if (kn.cols != in.cols * layout.knot_columns())
            throw_shape_error(
                name, "an input of shape ", in, " needs the knots of ", in.cols, " splines of K = ", layout.bins,
                " bins, ", in.cols * layout.knot_columns(), " columns made from ", in.cols * layout.raw_columns(),
                " parameter columns (3K - 1 = ", layout.raw_columns(), " per feature), but got knots of shape ", kn);
        if (kn.rows != in.rows && kn.rows != 1 && in.rows != 1)
            throw_shape_error(name, "an input of shape ", in, " and knots of shape ", kn,
                              " have different numbers of rows");
        return {std::max(in.rows, kn.rows), 1 + in.cols};
    }

    void forward(SourceNode<T>& out) const
    {
        const auto in = input.view();
        const auto kn = knots.view();
        const Shape s = out.shape();
        for (std::size_t r = 0; r < s.rows; ++r) {
            T* row = out.value.data() + r * s.cols;
            Wide log_det = 0;
            for (std::size_t i = 0; i + 1 < s.cols; ++i) {
                const T v = in.value[in.offset(r, i)];
                const Bin bin = find_bin(kn, r, i, v);
                if (!bin.inside) {
                    row[1 + i] = v;  // linear tail: the identity, log-derivative 0
                    continue;
                }
                const T* xs = bin.knots + layout.knot_xs();
                const T* ys = bin.knots + layout.knot_ys();
                const T* ds = bin.knots + layout.knot_derivatives();
                const std::size_t k = bin.k;
                // The segment is evaluated in double even for float: where the conditioner saturates,
                // a bin's slope can be ~1e-7, and float rounding of theta then moves the inverse (and its
                // log-derivative) far off.
                using W = Wide;
                const W x_k = xs[k], x_k1 = xs[k + 1], y_k = ys[k], y_k1 = ys[k + 1], d_k = ds[k], d_k1 = ds[k + 1];
                if constexpr (Direction == SplineDirection::forward) {
                    const auto point = detail::rq_segment<W>(W(v), x_k, x_k1, y_k, y_k1, d_k, d_k1);
                    row[1 + i] = T(point.value);
                    log_det += point.log_derivative;
                } else {
                    const W x = detail::rq_segment_inverse<W>(W(v), x_k, x_k1, y_k, y_k1, d_k, d_k1);
                    row[1 + i] = T(x);
                    log_det -= detail::rq_segment<W>(x, x_k, x_k1, y_k, y_k1, d_k, d_k1).log_derivative;
                }
            }
            row[0] = T(log_det);
        }
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = input.view();
        const auto kn = knots.view();
        if (in.adjoint == nullptr && kn.adjoint == nullptr) return;
        const Shape s = out.shape();
        using D = detail::Dual<T, 7>;  // seeds: x, x_k, x_{k+1}, y_k, y_{k+1}, d_k, d_{k+1}
        for (std::size_t r = 0; r < s.rows; ++r) {
            const T* row = out.value.data() + r * s.cols;
            const T* adjoint = out.adjoint.data() + r * s.cols;
            const T d_log_det = adjoint[0];
            for (std::size_t i = 0; i + 1 < s.cols; ++i) {
                const std::size_t at = in.offset(r, i);
                const T v = in.value[at];
                const T d_value = adjoint[1 + i];
                const Bin bin = find_bin(kn, r, i, v);
                if (!bin.inside) {
                    if (in.adjoint != nullptr) in.adjoint[at] += d_value;
                    continue;
                }
                const std::size_t k = bin.k;
                // Offsets (within the element's knot block) of the six knot quantities, in seed order 1..6.
                const std::array<std::size_t, 6> knot_at = {
                    layout.knot_xs() + k,     layout.knot_xs() + k + 1,      layout.knot_ys() + k,
                    layout.knot_ys() + k + 1, layout.knot_derivatives() + k, layout.knot_derivatives() + k + 1};
                const T x = Direction == SplineDirection::forward ? v : row[1 + i];
                std::array<D, 7> seeds;
                seeds[0] = D::variable(x, 0);
                for (std::size_t j = 0; j < 6; ++j) seeds[j + 1] = D::variable(bin.knots[knot_at[j]], j + 1);
                const auto point =
                    detail::rq_segment<T>(seeds[0], seeds[1], seeds[2], seeds[3], seeds[4], seeds[5], seeds[6]);
                const auto& f = point.value.grad;           // partials of y
                const auto& L = point.log_derivative.grad;  // partials of log dy/dx

                // Adjoints of the input and of knot quantity j (seed j + 1).
                T d_input;
                std::array<T, 6> d_knot;
                if constexpr (Direction == SplineDirection::forward) {
                    d_input = d_value * f[0] + d_log_det * L[0];
                    for (std::size_t j = 0; j < 6; ++j) d_knot[j] = d_value * f[j + 1] + d_log_det * L[j + 1];
                } else {
                    // Outputs x and -L(x, theta); the adjoint reaching x as an intermediate is
                    // d_value - d_log_det L_x, then dx/dy = 1 / f_x and dx/dtheta = -f_theta / f_x.
                    const T through_x = d_value - d_log_det * L[0];
                    d_input = through_x / f[0];
                    for (std::size_t j = 0; j < 6; ++j) d_knot[j] = -d_log_det * L[j + 1] - through_x * f[j + 1] / f[0];
                }
                if (in.adjoint != nullptr) in.adjoint[at] += d_input;
                if (kn.adjoint != nullptr) {
                    T* d_knots = kn.adjoint + (bin.knots - kn.value);
                    for (std::size_t j = 0; j < 6; ++j) d_knots[knot_at[j]] += d_knot[j];
                }
            }
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        input.for_each_source(f);
        knots.for_each_source(f);
    }

private:
    struct Bin {
        const T* knots;  // the element's knot block
        bool inside;     // v in [-B, B]: on the spline rather than on a tail
        std::size_t k;
    };

    // The knots are searched along x forward and along y inverse (both span [-B, B]).
    template <class View>
    Bin find_bin(const View& kn, std::size_t r, std::size_t i, T v) const
    {
        // An element's knot block is contiguous (it has at least 13 columns, so stride 1).
        const T* block = kn.value + kn.offset(r, i * layout.knot_columns());
        const T* z = block + (Direction == SplineDirection::forward ? layout.knot_xs() : layout.knot_ys());
        const std::size_t K = layout.bins;
        if (!(v >= z[0] && v <= z[K])) return {block, false, 0};
        return {block, true, detail::rq_bin(z, K, v)};
    }
};

namespace detail {
template <SplineDirection Direction, class In, class Knots>
auto make_rq_spline(In&& in, Knots&& knots, RQSplineLayout layout)
{
    layout.validate(RQSplineLayout::name);
    auto input = bind_operand(std::forward<In>(in));
    auto knot_source = bind_operand(std::forward<Knots>(knots));
    return make_var(RQSpline<Direction, decltype(input), decltype(knot_source)>{input, knot_source, layout});
}
}  // namespace detail

// [log_det, y] (B x (1 + w)): y = spline(x) per element, log_det = sum_i log dy_i/dx_i, for x (B x w) and
// knots (B or 1 x (5K + 3) w) from rq_spline_knots.
template <Expr X, Expr Knots>
auto rq_spline_forward(X&& x, Knots&& knots, RQSplineLayout layout)
{
    return detail::make_rq_spline<SplineDirection::forward>(std::forward<X>(x), std::forward<Knots>(knots), layout);
}

// [log_det, x] (B x (1 + w)): x = spline^-1(y) per element, log_det = -sum_i log dy_i/dx_i at that x.
template <Expr Y, Expr Knots>
auto rq_spline_inverse(Y&& y, Knots&& knots, RQSplineLayout layout)
{
    return detail::make_rq_spline<SplineDirection::inverse>(std::forward<Y>(y), std::forward<Knots>(knots), layout);
}

// The two parts of a spline output: the values (columns 1 to the end) and the log-det (column 0).
template <class Node>
SourceRef<Node> rq_spline_values(const SourceRef<Node>& output)
{
    return SourceRef<Node>(output.node_ptr(), 1);
}
template <class Node>
SourceRef<Node> rq_spline_log_det(const SourceRef<Node>& output)
{
    return output.slice(0, 1);
}

}  // namespace bijou
