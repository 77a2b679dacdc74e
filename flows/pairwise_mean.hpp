// pairwise_mean(k, pairs): the mean of a matrix of pairwise values k(i, j) (an n x m expression), over
//   Pairs::all        1 / (n m)        sum_{i, j}     k(i, j)      (a V-statistic; the same as mean(k))
//   Pairs::distinct   1 / (n (n - 1))  sum_{i != j}   k(i, j)      (n = m >= 2: a U-statistic)
// Excluding the diagonal is what makes kernel two-sample statistics such as the MMD unbiased: the
// diagonal k(x_i, x_i) compares a sample with itself. Which pairs count is a run-time choice, so one
// program type serves both estimators.
//
// The operand is evaluated on the fly (no n x m buffer): each row is summed in SIMD blocks over the
// columns left and right of its diagonal, and the row sums are added in double, so a mean over millions
// of float pairs keeps its precision. Backward pushes g / count into every counted element.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include <bijou/engine/error.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

enum class Pairs { all, distinct };

template <Expr E>
struct PairwiseMean {
    using value_type = detail::value_type_t<E>;
    using T = value_type;
    static constexpr const char* name = "pairwise_mean";

    E expr;
    Pairs pairs = Pairs::all;

    Shape shape() const
    {
        const Shape in = expr.shape();
        if (pairs == Pairs::distinct && (in.rows != in.cols || in.rows < 2))
            throw_shape_error(name, "the mean over distinct pairs (i != j) needs a square matrix of at least 2 x 2, got ",
                              in);
        return {1, 1};
    }

    void forward(SourceNode<T>& out) const
    {
        const Shape in = expr.shape();
        const auto view = expr.view();
        double total = 0;
        for (std::size_t r = 0; r < in.rows; ++r) {
            if (pairs == Pairs::distinct) {
                total += row_sum(view, r, 0, r) + row_sum(view, r, r + 1, in.cols);
            } else {
                total += row_sum(view, r, 0, in.cols);
            }
        }
        out.value(0, 0) = T(total / count(in));
    }

    void backward(SourceNode<T>& out) const
    {
        const Shape in = expr.shape();
        const auto view = expr.view();
        const T g = T(double(out.adjoint(0, 0)) / count(in));
        for (std::size_t r = 0; r < in.rows; ++r) {
            if (pairs == Pairs::distinct) {
                push_row(view, r, 0, r, g);
                push_row(view, r, r + 1, in.cols, g);
            } else {
                push_row(view, r, 0, in.cols, g);
            }
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        expr.for_each_source(f);
    }

private:
    double count(Shape in) const
    {
        return pairs == Pairs::distinct ? double(in.rows) * double(in.rows - 1) : double(in.rows) * double(in.cols);
    }

    // sum_{begin <= c < end} e(r, c)
    template <class View>
    static double row_sum(const View& view, std::size_t r, std::size_t begin, std::size_t end)
    {
        constexpr std::size_t w = simd::width<T>;
        simd::batch<T> wide(T(0));
        T narrow(0);
        std::size_t c = begin;
        for (; c + w <= end; c += w) wide += view.template eval<simd::batch<T>>(r, c);
        for (; c < end; ++c) narrow += view.template eval<T>(r, c);
        // Lanes added through memory (see sum_columns_like: GCC 12 and xsimd::hadd on AVX-512).
        alignas(64) T lanes[w];
        wide.store_unaligned(lanes);
        double sum = double(narrow);
        for (std::size_t i = 0; i < w; ++i) sum += double(lanes[i]);
        return sum;
    }

    template <class View>
    static void push_row(const View& view, std::size_t r, std::size_t begin, std::size_t end, T g)
    {
        using B = simd::batch<T>;
        constexpr std::size_t w = simd::width<T>;
        std::size_t c = begin;
        for (; c + w <= end; c += w) view.backprop(r, c, B(g), view.template cache<B>(r, c));
        for (; c < end; ++c) view.backprop(r, c, g, view.template cache<T>(r, c));
    }
};

template <Expr E>
auto pairwise_mean(E&& e, Pairs pairs = Pairs::all)
{
    return make_var(PairwiseMean<std::remove_cvref_t<E>>{std::forward<E>(e), pairs});
}

}  // namespace bijou
