// sum and mean, over everything or along an axis (numpy's convention, dimensions kept):
//   sum(e)       -> 1 x 1
//   sum(e, 0)    -> 1 x cols   (over the rows, i.e. the batch)
//   sum(e, 1)    -> rows x 1   (over the columns, i.e. the features)
// The operand may be any expression: it is evaluated on the fly, so sum(square(x - y)) is one pass.
// Backward broadcasts the output adjoint back over the reduced axis.
#pragma once

#include <bijou/engine/error.hpp>
#include <bijou/engine/kernels/elementwise.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

enum class Reduction { all, rows, cols };  // rows: reduce over rows (axis 0); cols: over columns (axis 1)

template <Expr E>
struct Reduce {
    using value_type = detail::value_type_t<E>;
    using T = value_type;
    static constexpr const char* name = "sum";

    E expr;
    Reduction over = Reduction::all;
    bool mean = false;

    Shape shape() const
    {
        const Shape in = expr.shape();
        switch (over) {
        case Reduction::all: return {1, 1};
        case Reduction::rows: return {1, in.cols};
        default: return {in.rows, 1};
        }
    }

    T scale(Shape in) const
    {
        if (!mean) return T(1);
        const std::size_t n = over == Reduction::all ? in.size() : over == Reduction::rows ? in.rows : in.cols;
        return T(1) / T(n);
    }

    void forward(SourceNode<T>& out) const
    {
        const Shape in = expr.shape();
        const auto view = expr.view();
        T* y = out.value.data();
        const T k = scale(in);
        if (over == Reduction::all) {
            simd::batch<T> wide(T(0));
            T narrow(0);
            detail::for_each_output_block<T>(view, in, [&]<class V>(const auto& v, std::size_t r, std::size_t c, std::size_t) {
                if constexpr (simd::is_batch<V>)
                    wide += v.template eval<V>(r, c);
                else
                    narrow += v.template eval<V>(r, c);
            });
            y[0] = (simd::reduce_add(wide) + narrow) * k;
        } else if (over == Reduction::rows) {
            std::fill(y, y + in.cols, T(0));
            simd::for_each_block<T>(in.rows, in.cols, [&]<class V>(std::size_t r, std::size_t c) {
                simd::store<V>(y + c, simd::load<V>(y + c) + view.template eval<V>(r, c));
            });
            for (std::size_t c = 0; c < in.cols; ++c) y[c] *= k;
        } else {
            constexpr std::size_t w = simd::width<T>;
            for (std::size_t r = 0; r < in.rows; ++r) {
                simd::batch<T> wide(T(0));
                T narrow(0);
                std::size_t c = 0;
                for (; c + w <= in.cols; c += w) wide += view.template eval<simd::batch<T>>(r, c);
                for (; c < in.cols; ++c) narrow += view.template eval<T>(r, c);
                y[r] = (simd::reduce_add(wide) + narrow) * k;
            }
        }
    }

    void backward(SourceNode<T>& out) const
    {
        const Shape in = expr.shape();
        const auto view = expr.view();
        const T* dy = out.adjoint.data();
        const T k = scale(in);
        if (over == Reduction::all) {
            const T g = dy[0] * k;
            detail::for_each_output_block<T>(view, in, [&]<class V>(const auto& v, std::size_t r, std::size_t c, std::size_t) {
                v.backprop(r, c, V(g), v.template cache<V>(r, c));
            });
        } else if (over == Reduction::rows) {
            simd::for_each_block<T>(in.rows, in.cols, [&]<class V>(std::size_t r, std::size_t c) {
                view.backprop(r, c, V(simd::load<V>(dy + c) * V(k)), view.template cache<V>(r, c));
            });
        } else {
            simd::for_each_block<T>(in.rows, in.cols, [&]<class V>(std::size_t r, std::size_t c) {
                view.backprop(r, c, V(dy[r] * k), view.template cache<V>(r, c));
            });
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        expr.for_each_source(f);
    }
};

namespace detail {
inline Reduction reduction_axis(const char* op, int axis)
{
    if (axis == 0) return Reduction::rows;
    if (axis == 1) return Reduction::cols;
    throw_shape_error(op, "axis must be 0 (over rows) or 1 (over columns), got ", axis);
}
}  // namespace detail

template <Expr E>
auto sum(E&& e)
{
    return make_var(Reduce<std::remove_cvref_t<E>>{std::forward<E>(e), Reduction::all, false});
}
template <Expr E>
auto sum(E&& e, int axis)
{
    return make_var(Reduce<std::remove_cvref_t<E>>{std::forward<E>(e), detail::reduction_axis("sum", axis), false});
}
template <Expr E>
auto mean(E&& e)
{
    return make_var(Reduce<std::remove_cvref_t<E>>{std::forward<E>(e), Reduction::all, true});
}
template <Expr E>
auto mean(E&& e, int axis)
{
    return make_var(Reduce<std::remove_cvref_t<E>>{std::forward<E>(e), detail::reduction_axis("mean", axis), true});
}

}  // namespace bijou
