// logsumexp: log(sum(exp(e))) over everything or along an axis, computed stably as m + log(sum(exp(e - m)))
// with m the maximum of each group. d/de = exp(e - output), the softmax of the group.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include <bijou/engine/kernels/reduce.hpp>

namespace bijou {

template <Expr E>
struct LogSumExp {
    using value_type = detail::value_type_t<E>;
    using T = value_type;
    static constexpr const char* name = "logsumexp";

    E expr;
    Reduction over = Reduction::all;

    Shape shape() const { return Reduce<E>{expr, over, false}.shape(); }

    // The output element that input element (r, c) contributes to.
    std::size_t group(std::size_t r, std::size_t c) const
    {
        return over == Reduction::all ? 0 : over == Reduction::rows ? c : r;
    }

    void forward(SourceNode<T>& out) const
    {
        const Shape in = expr.shape();
        const auto view = expr.view();
        T* y = out.value.data();
        const std::size_t groups = out.shape().size();
        std::fill(y, y + groups, -std::numeric_limits<T>::infinity());
        for (std::size_t r = 0; r < in.rows; ++r)
            for (std::size_t c = 0; c < in.cols; ++c) y[group(r, c)] = std::max(y[group(r, c)], view.template eval<T>(r, c));
        // y holds each group's maximum until its sum of exp(e - max) is known.
        sums_.assign(groups, T(0));
        for (std::size_t r = 0; r < in.rows; ++r)
            for (std::size_t c = 0; c < in.cols; ++c) {
                const std::size_t g = group(r, c);
                if (std::isfinite(y[g])) sums_[g] += std::exp(view.template eval<T>(r, c) - y[g]);
            }
        for (std::size_t g = 0; g < groups; ++g)
            if (std::isfinite(y[g])) y[g] += std::log(sums_[g]);
    }

    void backward(SourceNode<T>& out) const
    {
        const Shape in = expr.shape();
        const auto view = expr.view();
        const T* y = out.value.data();
        const T* dy = out.adjoint.data();
        for (std::size_t r = 0; r < in.rows; ++r)
            for (std::size_t c = 0; c < in.cols; ++c) {
                const std::size_t g = group(r, c);
                const auto k = view.template cache<T>(r, c);
                const T softmax = std::isfinite(y[g]) ? std::exp(k.value - y[g]) : T(0);
                view.backprop(r, c, dy[g] * softmax, k);
            }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        expr.for_each_source(f);
    }

    mutable std::vector<T> sums_;  // sized at the first forward pass, then reused
};

template <Expr E>
auto logsumexp(E&& e)
{
    return make_var(LogSumExp<std::remove_cvref_t<E>>{std::forward<E>(e), Reduction::all, {}});
}
template <Expr E>
auto logsumexp(E&& e, int axis)
{
    return make_var(LogSumExp<std::remove_cvref_t<E>>{std::forward<E>(e), detail::reduction_axis("logsumexp", axis), {}});
}

}  // namespace bijou
