// rq_spline_knots(p, layout): the knots of monotonic rational-quadratic splines (Durkan et al. 2019,
// "Neural Spline Flows"), one spline per element, from unnormalised parameters.
//
// A spline with K bins on [-B, B] is fixed by K + 1 knots (x_j, y_j) and the derivatives d_j there.
// Element i of a row reads the 3K - 1 columns [i (3K - 1), (i + 1)(3K - 1)) of p (the layout of nflows'
// reshape to (..., w, 3K - 1)):
//   [0, K)        u_w, unnormalised bin widths
//   [K, 2K)       u_h, unnormalised bin heights
//   [2K, 3K - 1)  u_d, unnormalised derivatives at the K - 1 interior knots
// and the normalisation is nflows':
//   width_k  = m_w + (1 - m_w K) softmax(u_w)_k,   x_j = -B + 2B sum_{k<j} width_k,   x_0 = -B, x_K = B
//   height_k = m_h + (1 - m_h K) softmax(u_h)_k,   y_j likewise
//   d_j      = m_d + softplus(u_d + c),  c = log(expm1(1 - m_d)),  d_0 = d_K = 1 (linear tails)
// with m_w = m_h = m_d = 1e-3. The shift c makes u_d = 0 give d = 1, so all-zero parameters give equal
// bins, y_j = x_j and unit derivatives: the identity. The derivative is computed as
// 1 + softplus(u_d + c) - softplus(c), the same number in exact arithmetic (softplus(c) = 1 - m_d),
// which is exactly 1 in floating point when u_d = 0.
//
// The output holds, per element, the 5K + 3 numbers
//   [x_0 .. x_K, y_0 .. y_K, d_0 .. d_K, softmax(u_w)_0 .. _{K-1}, softmax(u_h)_0 .. _{K-1}]:
// the knots with their constant end points (so the spline kernel reads one contiguous block per element)
// and the two softmaxes, kept because the backward pass needs them: recomputing them costs 2K more
// exponentials per element, the bulk of this kernel's time. Backward pushes the adjoints of the interior
// knots back through the cumulative sums, the softmax and the softplus, with no scratch memory.
// Both passes run a SIMD batch of elements at a time, one element per lane.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include <bijou/engine/error.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

// What fixes a family of rational-quadratic splines: the number of bins and the tail bound B. Also the
// column layout of the raw parameters and of the knots (see above).
struct RQSplineLayout {
    static constexpr const char* name = "rational_quadratic_spline";  // for error messages
    static constexpr double min_bin_width = 1e-3;
    static constexpr double min_bin_height = 1e-3;
    static constexpr double min_derivative = 1e-3;

    std::size_t bins = 8;
    double tail_bound = 3.0;

    // Raw parameter columns per element: K widths, K heights, K - 1 interior derivatives.
    std::size_t raw_columns() const { return 3 * bins - 1; }
    std::size_t raw_widths() const { return 0; }
    std::size_t raw_heights() const { return bins; }
    std::size_t raw_derivatives() const { return 2 * bins; }

    // Knot columns per element: x_0..x_K, y_0..y_K, d_0..d_K, then the width and height softmaxes.
    std::size_t knot_columns() const { return 3 * (bins + 1) + 2 * bins; }
    std::size_t knot_xs() const { return 0; }
    std::size_t knot_ys() const { return bins + 1; }
    std::size_t knot_derivatives() const { return 2 * (bins + 1); }
    std::size_t width_softmax() const { return 3 * (bins + 1); }
    std::size_t height_softmax() const { return 3 * (bins + 1) + bins; }

    // Throws usage_error naming `where` unless the layout describes a valid spline.
    void validate(std::string_view where) const
    {
        if (bins < 2) throw_usage_error(where, "needs at least 2 bins, got ", bins);
        if (!(tail_bound > 0) || !std::isfinite(tail_bound))
            throw_usage_error(where, "the tail bound must be positive and finite, got ", tail_bound);
        if (min_bin_width * double(bins) >= 1 || min_bin_height * double(bins) >= 1)
            throw_usage_error(where, bins, " bins do not fit the minimal bin size ", min_bin_width, " (at most ",
                              std::size_t(1 / min_bin_width) - 1, " bins)");
    }
};

namespace detail {

// The elements i, i + 1, ... of a row, one per SIMD lane: `at(k)` is quantity k of element i, and
// quantity k of element i + l sits `stride` values further on per lane. With V = T it is element i alone.
// (The quantities of one element are contiguous, so a batch gathers across elements; the transcendental
// functions, the bulk of the work, then run on whole batches.)
template <class T>
struct Lanes {
    T* base;
    std::size_t stride;

    using Scalar = std::remove_const_t<T>;
    static constexpr std::size_t width = simd::width<Scalar>;

    template <class V>
    V load(std::size_t k) const
    {
        if constexpr (simd::is_batch<V>) {
            alignas(64) Scalar lanes[width];
            for (std::size_t l = 0; l < width; ++l) lanes[l] = base[k + l * stride];
            return V::load_aligned(lanes);
        } else {
            return base[k];
        }
    }
    template <class V>
    void store(std::size_t k, V v) const
    {
        if constexpr (simd::is_batch<V>) {
            alignas(64) Scalar lanes[width];
            v.store_aligned(lanes);
            for (std::size_t l = 0; l < width; ++l) base[k + l * stride] = lanes[l];
        } else {
            base[k] = v;
        }
    }
    template <class V>
    void add(std::size_t k, V v) const
    {
        if constexpr (simd::is_batch<V>) {
            alignas(64) Scalar lanes[width];
            v.store_aligned(lanes);
            for (std::size_t l = 0; l < width; ++l) base[k + l * stride] += lanes[l];
        } else {
            base[k] += v;
        }
    }
};

// The same interface over a group of elements transposed into structure-of-arrays form: quantity k
// of all lanes is `lanes` contiguous values at data + k * lanes, loaded and stored as one aligned batch.
// The kernels below transpose a group in once and out once, rather than gathering each quantity
// lane by lane (and reading back through memory what they just scattered).
template <class T>
struct SoaLanes {
    T* data;

    using Scalar = std::remove_const_t<T>;
    static constexpr std::size_t width = simd::width<Scalar>;

    template <class V>
    V load(std::size_t k) const
    {
        return V::load_aligned(data + k * width);
    }
    template <class V>
    void store(std::size_t k, V v) const
    {
        v.store_aligned(data + k * width);
    }
    template <class V>
    void add(std::size_t k, V v) const
    {
        (V::load_aligned(data + k * width) + v).store_aligned(data + k * width);
    }
};

// Copies `lanes` elements of `quantities` contiguous values each (element l at from + l * quantities)
// into structure-of-arrays form, and back.
template <class T>
void to_soa(const T* from, std::size_t quantities, T* soa)
{
    constexpr std::size_t lanes = simd::width<T>;
    for (std::size_t l = 0; l < lanes; ++l)
        for (std::size_t q = 0; q < quantities; ++q) soa[q * lanes + l] = from[l * quantities + q];
}
template <class T>
void from_soa(const T* soa, std::size_t quantities, T* to)
{
    constexpr std::size_t lanes = simd::width<T>;
    for (std::size_t l = 0; l < lanes; ++l)
        for (std::size_t q = 0; q < quantities; ++q) to[l * quantities + q] = soa[q * lanes + l];
}

template <class V>
V softplus_stable(V z)
{
    return xsimd::max(z, simd::splat<V>(0)) + xsimd::log1p(xsimd::exp(-xsimd::abs(z)));
}

// The derivative shift c = log(expm1(1 - m_d)), and softplus(c) = 1 - m_d computed by the same code
// path (batch or scalar) as the derivatives, so that u_d = 0 gives exactly 1 in every lane.
template <class V>
struct DerivativeShift {
    V shift = simd::splat<V>(std::log(std::expm1(1.0 - RQSplineLayout::min_derivative)));
    V at_zero = softplus_stable(shift);
};

// Knots z_0 .. z_K on [-B, B] from K unnormalised bin sizes u[first .. first + K), and their softmax s:
// z_j = -B + 2B sum_{k<j} (m + (1 - m K) s_k), with the end points set exactly.
template <class V, class In, class Out>
void knots_from_sizes(In u, std::size_t first, Out out, std::size_t knots, std::size_t softmax, std::size_t bins,
                      double minimum, double bound)
{
    V largest = u.template load<V>(first);
    for (std::size_t k = 1; k < bins; ++k) largest = xsimd::max(largest, u.template load<V>(first + k));
    V total = simd::splat<V>(0);
    for (std::size_t k = 0; k < bins; ++k) {
        const V e = xsimd::exp(u.template load<V>(first + k) - largest);
        out.store(softmax + k, e);
        total += e;
    }
    const V spread = simd::splat<V>(1 - minimum * double(bins));
    V cumulative = simd::splat<V>(0);
    out.store(knots, simd::splat<V>(-bound));
    for (std::size_t k = 0; k < bins; ++k) {
        const V s = out.template load<V>(softmax + k) / total;
        out.store(softmax + k, s);
        if (k + 1 < bins) {
            cumulative += simd::splat<V>(minimum) + spread * s;
            out.store(knots + k + 1, simd::splat<V>(-bound) + simd::splat<V>(2 * bound) * cumulative);
        }
    }
    out.store(knots + bins, simd::splat<V>(bound));
}

// The adjoint of knots_from_sizes: du_k += s_k (b_k - sum_i s_i b_i), the softmax's backward, where
// b_k = 2B (1 - m K) sum_{j=k+1}^{K-1} dz_j is the adjoint of size k (z_j depends on sizes k < j; the
// end points are constants). Two passes from the last bin down rebuild the suffix sums.
template <class V, class Values, class Adjoint>
void knots_from_sizes_backward(Values out, Values d_out, std::size_t knots, std::size_t softmax, Adjoint du,
                               std::size_t first, std::size_t bins, double minimum, double bound)
{
    const V scale = simd::splat<V>(2 * bound * (1 - minimum * double(bins)));
    V suffix = simd::splat<V>(0), weighted = simd::splat<V>(0);  // weighted = sum_k s_k b_k
    for (std::size_t k = bins; k-- > 0;) {
        weighted += out.template load<V>(softmax + k) * scale * suffix;
        if (k > 0) suffix += d_out.template load<V>(knots + k);
    }
    suffix = simd::splat<V>(0);
    for (std::size_t k = bins; k-- > 0;) {
        du.add(first + k, out.template load<V>(softmax + k) * (scale * suffix - weighted));
        if (k > 0) suffix += d_out.template load<V>(knots + k);
    }
}

}  // namespace detail

template <SourceExpr P>
struct RQSplineKnots {
    using value_type = typename P::value_type;
    using T = value_type;
    static constexpr const char* name = RQSplineLayout::name;

    P raw;
    RQSplineLayout layout;

    Shape shape() const
    {
        const Shape in = raw.shape();
        if (in.cols % layout.raw_columns() != 0)
            throw_shape_error(name, "the parameters have shape ", in,
                              ", whose columns are not a multiple of 3K - 1 = ", layout.raw_columns(),
                              " (K = ", layout.bins, " bins)");
        return {in.rows, in.cols / layout.raw_columns() * layout.knot_columns()};
    }

    // Elements are processed a SIMD batch at a time (one per lane, the group transposed into
    // structure-of-arrays form when its blocks fit the stack buffers), then one at a time.
    void forward(SourceNode<T>& out) const
    {
        const auto in = raw.view();
        const Shape s = out.shape();
        const std::size_t raw_cols = layout.raw_columns(), knot_cols = layout.knot_columns();
        simd::for_each_block<T>(s.rows, s.cols / knot_cols, [&]<class V>(std::size_t r, std::size_t i) {
            // Within a row an element's raw block is contiguous (at least 5 columns, so stride 1).
            const T* from = in.value + in.offset(r, i * raw_cols);
            T* to = out.value.data() + r * s.cols + i * knot_cols;
            if constexpr (simd::is_batch<V>) {
                if (layout.bins <= soa_max_bins) {
                    alignas(64) T u[soa_raw_capacity], knots[soa_knot_capacity];
                    detail::to_soa(from, raw_cols, u);
                    compute_knots<V>(detail::SoaLanes<const T>{u}, detail::SoaLanes<T>{knots});
                    detail::from_soa(knots, knot_cols, to);
                    return;
                }
            }
            compute_knots<V>(detail::Lanes<const T>{from, raw_cols}, detail::Lanes<T>{to, knot_cols});
        });
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = raw.view();
        if (in.adjoint == nullptr) return;
        const Shape s = out.shape();
        const std::size_t raw_cols = layout.raw_columns(), knot_cols = layout.knot_columns();
        simd::for_each_block<T>(s.rows, s.cols / knot_cols, [&]<class V>(std::size_t r, std::size_t i) {
            const std::size_t at = in.offset(r, i * raw_cols);
            const std::size_t block = r * s.cols + i * knot_cols;
            if constexpr (simd::is_batch<V>) {
                if (layout.bins <= soa_max_bins) {
                    alignas(64) T u[soa_raw_capacity], du[soa_raw_capacity], knots[soa_knot_capacity],
                        d_knots[soa_knot_capacity];
                    detail::to_soa(in.value + at, raw_cols, u);
                    detail::to_soa(out.value.data() + block, knot_cols, knots);
                    detail::to_soa(out.adjoint.data() + block, knot_cols, d_knots);
                    std::fill(du, du + raw_cols * V::size, T(0));
                    knots_backward<V>(detail::SoaLanes<const T>{u}, detail::SoaLanes<const T>{knots},
                                      detail::SoaLanes<const T>{d_knots}, detail::SoaLanes<T>{du});
                    T* adjoint = in.adjoint + at;
                    for (std::size_t l = 0; l < V::size; ++l)
                        for (std::size_t q = 0; q < raw_cols; ++q) adjoint[l * raw_cols + q] += du[q * V::size + l];
                    return;
                }
            }
            knots_backward<V>(detail::Lanes<const T>{in.value + at, raw_cols},
                              detail::Lanes<const T>{out.value.data() + block, knot_cols},
                              detail::Lanes<const T>{out.adjoint.data() + block, knot_cols},
                              detail::Lanes<T>{in.adjoint + at, raw_cols});
        });
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        raw.for_each_source(f);
    }

private:
    // The structure-of-arrays buffers hold a group's blocks for up to this many bins (on the stack).
    static constexpr std::size_t soa_max_bins = 32;
    static constexpr std::size_t soa_raw_capacity = (3 * soa_max_bins - 1) * simd::width<T>;
    static constexpr std::size_t soa_knot_capacity = (3 * (soa_max_bins + 1) + 2 * soa_max_bins) * simd::width<T>;

    // The knots of one group of elements from their raw parameters (either lane layout).
    template <class V, class In, class Out>
    void compute_knots(In u, Out knots) const
    {
        const std::size_t K = layout.bins;
        const double bound = layout.tail_bound;
        detail::knots_from_sizes<V>(u, layout.raw_widths(), knots, layout.knot_xs(), layout.width_softmax(), K,
                                    RQSplineLayout::min_bin_width, bound);
        detail::knots_from_sizes<V>(u, layout.raw_heights(), knots, layout.knot_ys(), layout.height_softmax(), K,
                                    RQSplineLayout::min_bin_height, bound);
        // d_j = 1 + softplus(u + c) - softplus(c), = m_d + softplus(u + c); d_0 = d_K = 1.
        const detail::DerivativeShift<V> shift;
        const std::size_t d = layout.knot_derivatives();
        knots.store(d, simd::splat<V>(1));
        knots.store(d + K, simd::splat<V>(1));
        for (std::size_t j = 1; j < K; ++j) {
            const V z = u.template load<V>(layout.raw_derivatives() + j - 1) + shift.shift;
            knots.store(d + j, simd::splat<V>(1) + (detail::softplus_stable(z) - shift.at_zero));
        }
    }

    template <class V, class Values, class Adjoint>
    void knots_backward(Values u, Values knots, Values d_knots, Adjoint du) const
    {
        const std::size_t K = layout.bins;
        const double bound = layout.tail_bound;
        detail::knots_from_sizes_backward<V>(knots, d_knots, layout.knot_xs(), layout.width_softmax(), du,
                                             layout.raw_widths(), K, RQSplineLayout::min_bin_width, bound);
        detail::knots_from_sizes_backward<V>(knots, d_knots, layout.knot_ys(), layout.height_softmax(), du,
                                             layout.raw_heights(), K, RQSplineLayout::min_bin_height, bound);
        // d softplus(u + c) / du = sigmoid(u + c) = 1 / (1 + exp(-(u + c)))
        const detail::DerivativeShift<V> shift;
        for (std::size_t j = 1; j < K; ++j) {
            const std::size_t c = layout.raw_derivatives() + j - 1;
            const V z = u.template load<V>(c) + shift.shift;
            const V sigmoid = simd::splat<V>(1) / (simd::splat<V>(1) + xsimd::exp(-z));
            du.add(c, d_knots.template load<V>(layout.knot_derivatives() + j) * sigmoid);
        }
    }
};

// The knots (B x (5K + 3) w) of w splines per row from their raw parameters p (B x (3K - 1) w).
template <Expr P>
auto rq_spline_knots(P&& p, RQSplineLayout layout)
{
    layout.validate(RQSplineLayout::name);
    auto source = bind_operand(std::forward<P>(p));
    return make_var(RQSplineKnots<decltype(source)>{source, layout});
}

}  // namespace bijou
