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
#include <bijou/flows/rq_spline_knots.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/simd.hpp>
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
        using std::log;  // and xsimd::log for a batch, by argument-dependent lookup
        const T inverse = T(1) / a.value;
        Dual r{log(a.value), {}};
        for (std::size_t i = 0; i < N; ++i) r.grad[i] = a.grad[i] * inverse;
        return r;
    }
};

// max and min for a scalar or a SIMD batch alike.
template <class V>
V simd_max(V a, V b)
{
    if constexpr (simd::is_batch<V>)
        return xsimd::max(a, b);
    else
        return std::max(a, b);
}
template <class V>
V simd_min(V a, V b)
{
    if constexpr (simd::is_batch<V>)
        return xsimd::min(a, b);
    else
        return std::min(a, b);
}

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
// function theorem), for T a scalar or a SIMD batch.
template <class T>
T rq_segment_inverse(T y, T x_k, T x_k1, T y_k, T y_k1, T d_k, T d_k1)
{
    using std::sqrt;
    const T width = x_k1 - x_k;
    const T height = y_k1 - y_k;
    const T slope = height / width;
    const T above = y - y_k;
    const T curvature = d_k + d_k1 - T(2) * slope;
    const T a = height * (slope - d_k) + above * curvature;
    const T b = height * d_k - above * curvature;
    const T c = -slope * above;
    const T zero(0), one(1);
    const T discriminant = simd_max(b * b - T(4) * a * c, zero);  // >= 0 in exact arithmetic
    const T root_denominator = -b - sqrt(discriminant);
    // y = y_k (c = 0) gives theta = 0; rounding may push theta just outside [0, 1], where the segment's
    // derivative formula is no longer positive.
    const T theta = simd::select(root_denominator == zero, zero,
                                 simd_min(simd_max(T(2) * c / root_denominator, zero), one));
    return x_k + theta * width;
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

    // Elements go through in groups of SIMD lanes, one element per lane (the bin search and the knot
    // reads per lane, the arithmetic on whole batches), and the row's last few one at a time.
    void forward(SourceNode<T>& out) const
    {
        const auto in = input.view();
        const auto kn = knots.view();
        const Shape s = out.shape();
        constexpr std::size_t lanes = simd::width<Wide>;
        for (std::size_t r = 0; r < s.rows; ++r) {
            T* row = out.value.data() + r * s.cols;
            const std::size_t w = s.cols - 1;
            simd::batch<Wide> sums(Wide(0));
            Wide log_det = 0;
            std::size_t i = 0;
            for (; i + lanes <= w; i += lanes) sums += forward_group<simd::batch<Wide>>(in, kn, r, i, row);
            for (; i < w; ++i) log_det += forward_group<Wide>(in, kn, r, i, row);
            row[0] = T(log_det + simd::reduce_add(sums));
        }
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = input.view();
        const auto kn = knots.view();
        if (in.adjoint == nullptr && kn.adjoint == nullptr) return;
        const Shape s = out.shape();
        constexpr std::size_t lanes = simd::width<T>;
        for (std::size_t r = 0; r < s.rows; ++r) {
            const std::size_t w = s.cols - 1;
            std::size_t i = 0;
            for (; i + lanes <= w; i += lanes) backward_group<simd::batch<T>>(in, kn, out, r, i);
            for (; i < w; ++i) backward_group<T>(in, kn, out, r, i);
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        input.for_each_source(f);
        knots.for_each_source(f);
    }

private:
    template <class V>
    static constexpr std::size_t lanes_of()
    {
        if constexpr (simd::is_batch<V>)
            return V::size;
        else
            return 1;
    }

    // The bin of each lane's element: its knot block, whether it lies on the spline (inside [-B, B])
    // rather than on a tail, and k. The knots are searched along x forward and along y inverse (both
    // span [-B, B]).
    template <class View>
    void find_bins(const View& kn, std::size_t r, std::size_t i, const T* v, std::size_t lanes, const T** blocks,
                   bool* inside, std::size_t* bin) const
    {
        const std::size_t K = layout.bins;
        for (std::size_t l = 0; l < lanes; ++l) {
            // An element's knot block is contiguous (it has at least 13 columns, so stride 1).
            blocks[l] = kn.value + kn.offset(r, (i + l) * layout.knot_columns());
            const T* z = blocks[l] + (Direction == SplineDirection::forward ? layout.knot_xs() : layout.knot_ys());
            inside[l] = v[l] >= z[0] && v[l] <= z[K];
            // k = the number of interior knots at or below v, i.e. z_k <= v < z_{k+1} (v = z_K: the last bin)
            std::size_t k = 0;
            for (std::size_t j = 1; j < K; ++j) k += std::size_t(z[j] <= v[l]);
            bin[l] = inside[l] ? k : 0;
        }
    }

    // The six knot quantities of each lane's bin, in the order x_k, x_{k+1}, y_k, y_{k+1}, d_k, d_{k+1},
    // as offsets within the element's block.
    std::array<std::size_t, 6> knot_offsets(std::size_t k) const
    {
        return {layout.knot_xs() + k,     layout.knot_xs() + k + 1,      layout.knot_ys() + k,
                layout.knot_ys() + k + 1, layout.knot_derivatives() + k, layout.knot_derivatives() + k + 1};
    }

    // Values (and the log-det's share) of the elements i .. i + lanes of row r; V = Wide or a batch of Wide.
    template <class V, class InView, class KnotView>
    V forward_group(const InView& in, const KnotView& kn, std::size_t r, std::size_t i, T* row) const
    {
        constexpr std::size_t lanes = lanes_of<V>();
        T v[lanes];
        const T* blocks[lanes];
        bool inside[lanes];
        std::size_t bin[lanes];
        for (std::size_t l = 0; l < lanes; ++l) v[l] = in.value[in.offset(r, i + l)];
        find_bins(kn, r, i, v, lanes, blocks, inside, bin);
        // The segment is evaluated in double even for float: where the conditioner saturates, a bin's
        // slope can be ~1e-7, and float rounding of theta then moves the inverse (and its log-derivative)
        // far off. A tail lane computes on the first bin with v at its middle, a finite stand-in that
        // the select below discards.
        alignas(64) Wide point_v[lanes], quantity[6][lanes], on_spline[lanes];
        for (std::size_t l = 0; l < lanes; ++l) {
            const auto at = knot_offsets(bin[l]);
            for (std::size_t q = 0; q < 6; ++q) quantity[q][l] = Wide(blocks[l][at[q]]);
            on_spline[l] = inside[l] ? Wide(1) : Wide(0);
            point_v[l] = inside[l] ? Wide(v[l]) : Wide(0.5) * (quantity[Direction == SplineDirection::forward ? 0 : 2][l] +
                                                              quantity[Direction == SplineDirection::forward ? 1 : 3][l]);
        }
        const V x = simd::load<V>(point_v), x_k = simd::load<V>(quantity[0]), x_k1 = simd::load<V>(quantity[1]),
                y_k = simd::load<V>(quantity[2]), y_k1 = simd::load<V>(quantity[3]), d_k = simd::load<V>(quantity[4]),
                d_k1 = simd::load<V>(quantity[5]);
        const auto mask = simd::load<V>(on_spline) != V(Wide(0));
        V value, log_derivative;
        if constexpr (Direction == SplineDirection::forward) {
            const auto point = detail::rq_segment<V>(x, x_k, x_k1, y_k, y_k1, d_k, d_k1);
            value = point.value;
            log_derivative = point.log_derivative;
        } else {
            value = detail::rq_segment_inverse<V>(x, x_k, x_k1, y_k, y_k1, d_k, d_k1);
            log_derivative = -detail::rq_segment<V>(value, x_k, x_k1, y_k, y_k1, d_k, d_k1).log_derivative;
        }
        alignas(64) Wide values[lanes];
        simd::store<V>(values, value);
        for (std::size_t l = 0; l < lanes; ++l) row[1 + i + l] = inside[l] ? T(values[l]) : v[l];  // tails: identity
        return simd::select(mask, log_derivative, V(Wide(0)));
    }

    // Adjoints of the elements i .. i + lanes of row r into the input's and the knots' adjoints; V = T or a
    // batch of T. The local partials of y and of log dy/dx w.r.t. x and the six knot quantities come
    // from rq_segment on dual numbers (seeds: x, x_k, x_{k+1}, y_k, y_{k+1}, d_k, d_{k+1}).
    template <class V, class InView, class KnotView>
    void backward_group(const InView& in, const KnotView& kn, SourceNode<T>& out, std::size_t r, std::size_t i) const
    {
        constexpr std::size_t lanes = lanes_of<V>();
        const std::size_t cols = out.shape().cols;
        const T* row = out.value.data() + r * cols;
        const T* adjoint = out.adjoint.data() + r * cols;
        const T d_log_det = adjoint[0];
        T v[lanes];
        const T* blocks[lanes];
        bool inside[lanes];
        std::size_t bin[lanes];
        for (std::size_t l = 0; l < lanes; ++l) v[l] = in.value[in.offset(r, i + l)];
        find_bins(kn, r, i, v, lanes, blocks, inside, bin);
        // A tail lane computes on the first bin at its middle (finite, discarded below).
        alignas(64) T point_x[lanes], quantity[6][lanes];
        for (std::size_t l = 0; l < lanes; ++l) {
            const auto at = knot_offsets(bin[l]);
            for (std::size_t q = 0; q < 6; ++q) quantity[q][l] = blocks[l][at[q]];
            const T x = Direction == SplineDirection::forward ? v[l] : row[1 + i + l];
            point_x[l] = inside[l] ? x : T(0.5) * (quantity[0][l] + quantity[1][l]);
        }
        using D = detail::Dual<V, 7>;
        std::array<D, 7> seeds;
        seeds[0] = D::variable(simd::load<V>(point_x), 0);
        for (std::size_t j = 0; j < 6; ++j) seeds[j + 1] = D::variable(simd::load<V>(quantity[j]), j + 1);
        const auto point = detail::rq_segment<V>(seeds[0], seeds[1], seeds[2], seeds[3], seeds[4], seeds[5], seeds[6]);
        const auto& f = point.value.grad;           // partials of y
        const auto& L = point.log_derivative.grad;  // partials of log dy/dx

        const V d_value = simd::load<V>(adjoint + 1 + i), d_ld(d_log_det);
        V d_input;
        std::array<V, 6> d_knot;
        if constexpr (Direction == SplineDirection::forward) {
            d_input = d_value * f[0] + d_ld * L[0];
            for (std::size_t j = 0; j < 6; ++j) d_knot[j] = d_value * f[j + 1] + d_ld * L[j + 1];
        } else {
            // Outputs x and -L(x, theta); the adjoint reaching x as an intermediate is d_value - d_log_det
            // L_x, then dx/dy = 1 / f_x and dx/dtheta = -f_theta / f_x.
            const V through_x = d_value - d_ld * L[0];
            d_input = through_x / f[0];
            for (std::size_t j = 0; j < 6; ++j) d_knot[j] = -d_ld * L[j + 1] - through_x * f[j + 1] / f[0];
        }
        alignas(64) T input_adjoint[lanes], knot_adjoint[6][lanes];
        simd::store<V>(input_adjoint, d_input);
        for (std::size_t j = 0; j < 6; ++j) simd::store<V>(knot_adjoint[j], d_knot[j]);
        for (std::size_t l = 0; l < lanes; ++l) {
            const std::size_t at = in.offset(r, i + l);
            if (!inside[l]) {  // linear tail: the identity
                if (in.adjoint != nullptr) in.adjoint[at] += adjoint[1 + i + l];
                continue;
            }
            if (in.adjoint != nullptr) in.adjoint[at] += input_adjoint[l];
            if (kn.adjoint != nullptr) {
                T* d_knots = kn.adjoint + (blocks[l] - kn.value);
                const auto offsets = knot_offsets(bin[l]);
                for (std::size_t j = 0; j < 6; ++j) d_knots[offsets[j]] += knot_adjoint[j][l];
            }
        }
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
