// permute_columns(e, order): out[:, j] = e[:, order[j]], a gather of columns. Backward scatters the
// adjoint back: d e[:, order[j]] += d out[:, j]. Used for fixed permutations and interleaved splits.
#pragma once

#include <memory>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

template <SourceExpr S>
struct PermuteColumns {
    using value_type = typename S::value_type;
    using T = value_type;
    static constexpr const char* name = "permute_columns";

    S source;
    std::shared_ptr<const std::vector<std::size_t>> order;

    Shape shape() const
    {
        const Shape in = source.shape();
        if (order->size() != in.cols)
            throw_shape_error("permute_columns", "an order of ", order->size(), " columns for an operand of shape ", in);
        return in;
    }

    void forward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        const Shape s = out.shape();
        T* y = out.value.data();
        for (std::size_t r = 0; r < s.rows; ++r)
            for (std::size_t j = 0; j < s.cols; ++j) y[r * s.cols + j] = in.value[in.offset(r, (*order)[j])];
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        if (in.adjoint == nullptr) return;
        const Shape s = out.shape();
        const T* dy = out.adjoint.data();
        for (std::size_t r = 0; r < s.rows; ++r)
            for (std::size_t j = 0; j < s.cols; ++j) in.adjoint[in.offset(r, (*order)[j])] += dy[r * s.cols + j];
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        source.for_each_source(f);
    }
};

// Throws shape_error unless order is a permutation of 0 .. n-1.
inline void check_permutation(const std::vector<std::size_t>& order)
{
    std::vector<bool> seen(order.size(), false);
    for (std::size_t i : order) {
        if (i >= order.size() || seen[i])
            throw_shape_error("permute_columns", "the order is not a permutation of 0..", order.size() - 1,
                              " (index ", i, ")");
        seen[i] = true;
    }
}

template <Expr E>
auto permute_columns(E&& e, std::shared_ptr<const std::vector<std::size_t>> order)
{
    check_permutation(*order);
    auto source = bind_operand(std::forward<E>(e));
    return make_var(PermuteColumns<decltype(source)>{source, std::move(order)});
}

}  // namespace bijou
