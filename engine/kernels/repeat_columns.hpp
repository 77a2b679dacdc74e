// repeat_columns(e, n): every column of e repeated n times in place, out[:, k n + i] = e[:, k].
// repeat_trailing_columns(e, keep, n): the first `keep` columns copied as they are, each later one
// repeated n times: out = [e[:, :keep], repeat_columns(e[:, keep:], n)].
//
// They spread one value per channel over the channel's pixels in an image row (engine/image.hpp): a
// per-channel parameter (1 x C) becomes a per-feature row (1 x C H W), and a condition vector appended
// to an image ([image, c], B x (C H W + K)) becomes K constant channels after the image's own, with one
// kernel type whether K is 0 or not. Backward sums each block of n adjoints back onto its column.
#pragma once

#include <algorithm>

#include <bijou/engine/error.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

template <SourceExpr S>
struct RepeatColumns {
    using value_type = typename S::value_type;
    using T = value_type;
    static constexpr const char* name = "repeat_columns";

    S source;
    std::size_t keep;  // leading columns copied once
    std::size_t times;

    Shape shape() const
    {
        const Shape in = source.shape();
        if (in.cols < keep)
            throw_shape_error(name, "keeps the first ", keep, " columns of an operand of shape ", in);
        return {in.rows, keep + (in.cols - keep) * times};
    }

    void forward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        const Shape s = source.shape();
        const std::size_t cols = out.shape().cols;
        for (std::size_t r = 0; r < s.rows; ++r) {
            T* y = out.value.data() + r * cols;
            for (std::size_t k = 0; k < keep; ++k) y[k] = in.value[in.offset(r, k)];
            for (std::size_t k = keep; k < s.cols; ++k) {
                T* block = y + keep + (k - keep) * times;
                std::fill(block, block + times, in.value[in.offset(r, k)]);
            }
        }
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        if (in.adjoint == nullptr) return;
        const Shape s = source.shape();
        const std::size_t cols = out.shape().cols;
        for (std::size_t r = 0; r < s.rows; ++r) {
            const T* dy = out.adjoint.data() + r * cols;
            for (std::size_t k = 0; k < keep; ++k) in.adjoint[in.offset(r, k)] += dy[k];
            for (std::size_t k = keep; k < s.cols; ++k) {
                const T* block = dy + keep + (k - keep) * times;
                T sum(0);
                for (std::size_t i = 0; i < times; ++i) sum += block[i];
                in.adjoint[in.offset(r, k)] += sum;
            }
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        source.for_each_source(f);
    }
};

template <Expr E>
auto repeat_trailing_columns(E&& e, std::size_t keep, std::size_t times)
{
    if (times == 0) throw_shape_error("repeat_columns", "the repeat count must be positive");
    auto source = bind_operand(std::forward<E>(e));
    return make_var(RepeatColumns<decltype(source)>{source, keep, times});
}

template <Expr E>
auto repeat_columns(E&& e, std::size_t times)
{
    return repeat_trailing_columns(std::forward<E>(e), 0, times);
}

}  // namespace bijou
