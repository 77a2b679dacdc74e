// sum_columns_like(e, like): the per-row sums of e's columns, with e broadcast to the shape of like.
//
//   like: B x D,  e: (B or 1) x (D or 1)
//   out(r, 0) = sum_{c < D} e(r', c'),   r' = r if e has B rows else 0,  c' = c if e has D columns else 0
//
// Why it exists: the log-det of an elementwise map is the per-row sum of log|dy/dx|. When that
// log-derivative does not depend on x (an affine layer: log|dy/dx| = s, a 1 x D parameter), a plain
// sum(e, 1) would give 1 x 1 rather than one value per row, and a constant (1 x 1) would be counted
// once instead of D times. Here a one-row e is summed once and the sum repeated over the B rows, so the
// cost is O(D + B), not O(B D); backward sums the output adjoint over the rows before pushing it into e.
// `like` is only asked for its shape: it is never evaluated and receives no gradient.
#pragma once

#include <algorithm>

#include <bijou/engine/binary.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

template <Expr E, Expr Like>
struct SumColumnsLike {
    static_assert(std::is_same_v<detail::value_type_t<E>, detail::value_type_t<Like>>,
                  "bijou: sum_columns_like: both operands must have the same value type");
    using value_type = detail::value_type_t<E>;
    using T = value_type;
    static constexpr const char* name = "sum_columns_like";

    E expr;
    Like like;

    Shape shape() const
    {
        const Shape target = like.shape(), in = expr.shape();
        if ((in.rows != 1 && in.rows != target.rows) || (in.cols != 1 && in.cols != target.cols))
            throw_shape_error(name, "an operand of shape ", in, " does not broadcast to the shape ", target);
        return {target.rows, 1};
    }

    void forward(SourceNode<T>& out) const
    {
        const Shape target = like.shape(), in = expr.shape();
        const auto view = expr.view();
        T* y = out.value.data();
        if (in.rows == 1) {
            std::fill(y, y + target.rows, row_sum(view, 0, target.cols));
        } else {
            for (std::size_t r = 0; r < target.rows; ++r) y[r] = row_sum(view, r, target.cols);
        }
    }

    void backward(SourceNode<T>& out) const
    {
        const Shape target = like.shape(), in = expr.shape();
        const auto view = expr.view();
        const T* dy = out.adjoint.data();
        if (in.rows == 1) {  // d out(r) / d e(0, c) = 1 for every r: the adjoint is the sum over rows
            T g(0);
            for (std::size_t r = 0; r < target.rows; ++r) g += dy[r];
            simd::for_each_block<T>(1, target.cols, [&]<class V>(std::size_t, std::size_t c) {
                view.backprop(0, c, V(g), view.template cache<V>(0, c));
            });
        } else {
            simd::for_each_block<T>(target.rows, target.cols, [&]<class V>(std::size_t r, std::size_t c) {
                view.backprop(r, c, V(dy[r]), view.template cache<V>(r, c));
            });
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        expr.for_each_source(f);
        like.for_each_source(f);  // so that like's sources are bound before this kernel asks for its shape
    }

private:
    template <class View>
    static T row_sum(const View& view, std::size_t r, std::size_t cols)
    {
        constexpr std::size_t w = simd::width<T>;
        simd::batch<T> wide(T(0));
        T narrow(0);
        std::size_t c = 0;
        for (; c + w <= cols; c += w) wide += view.template eval<simd::batch<T>>(r, c);
        for (; c < cols; ++c) narrow += view.template eval<T>(r, c);
        // Lanes added through memory rather than xsimd::hadd, whose AVX-512 form trips GCC 12's
        // -Wuninitialized inside its own intrinsics when inlined here.
        alignas(64) T lanes[w];
        wide.store_unaligned(lanes);
        for (std::size_t i = 0; i < w; ++i) narrow += lanes[i];
        return narrow;
    }
};

template <Expr E, Expr Like>
auto sum_columns_like(E&& e, Like&& like)
{
    return make_var(SumColumnsLike<std::remove_cvref_t<E>, std::remove_cvref_t<Like>>{std::forward<E>(e),
                                                                                      std::forward<Like>(like)});
}

}  // namespace bijou
