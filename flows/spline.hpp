// The rational-quadratic spline coupling transform of neural spline flows (Durkan et al. 2019):
//
//   auto block = dsl::coupling(dsl::halves, dsl::conditioner(hidden(64, 64)), flows::rational_quadratic(8, 3.0));
//
// Each transformed feature x_b[:, i] goes through its own monotonic rational-quadratic spline with K bins
// on [-B, B], the identity outside (linear tails, derivative 1 at +-B). The conditioner supplies
// 3K - 1 unnormalised parameters per feature (parameter_columns(w) = (3K - 1) w), feature i reading the
// columns [i (3K - 1), (i + 1)(3K - 1)) as [K widths, K heights, K - 1 interior derivatives]; they are
// normalised as in nflows (softmax with a minimal bin size 1e-3, derivatives 1e-3 + softplus shifted so
// that 0 gives 1). All-zero parameters (a conditioner whose last layer starts at zero) give the identity.
// The knots and the spline are kernels of their own (flows/rq_spline*.hpp, through the engine's extension
// point engine/kernel.hpp), so both directions are
// differentiable w.r.t. the features and the conditioner's output.
#pragma once

#include <cstddef>

#include <bijou/dsl/bijection.hpp>
#include <bijou/flows/rq_spline.hpp>

namespace bijou::flows {

struct RationalQuadraticSpline {
    std::size_t bins = 8;
    double tail_bound = 3.0;

    // The kernels' description of this spline; throws usage_error for bins < 2 or tail_bound <= 0.
    RQSplineLayout layout() const
    {
        const RQSplineLayout l{bins, tail_bound};
        l.validate(RQSplineLayout::name);
        return l;
    }

    std::size_t parameter_columns(std::size_t w) const { return layout().raw_columns() * w; }

    // y_b = spline(x_b), log_det = sum_i log dy_bi/dx_bi (B x 1).
    template <class X, class P>
    auto forward(const X& x_b, const P& p) const
    {
        const RQSplineLayout l = layout();
        auto out = rq_spline_forward(x_b, rq_spline_knots(p, l), l);
        return dsl::Transformed{rq_spline_values(out), rq_spline_log_det(out)};
    }

    // x_b = spline^-1(y_b), log_det = -sum_i log dy_bi/dx_bi at that x_b.
    template <class Y, class P>
    auto inverse(const Y& y_b, const P& p) const
    {
        const RQSplineLayout l = layout();
        auto out = rq_spline_inverse(y_b, rq_spline_knots(p, l), l);
        return dsl::Transformed{rq_spline_values(out), rq_spline_log_det(out)};
    }
};

// A rational-quadratic spline transform with `bins` bins on [-tail_bound, tail_bound]; checked here, so
// a bad setting fails where it is written.
inline RationalQuadraticSpline rational_quadratic(std::size_t bins = 8, double tail_bound = 3.0)
{
    const RationalQuadraticSpline spline{bins, tail_bound};
    spline.layout();
    return spline;
}

}  // namespace bijou::flows
