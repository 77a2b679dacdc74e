// transpose(e): out(c, r) = e(r, c), a rows x cols operand becoming cols x rows. Backward adds the
// adjoint back transposed: d e(r, c) += d out(c, r).
//
// Its use here: a column of per-row values (B x 1) turned into a row (1 x B), so that it broadcasts
// against a column: the pairwise squared distances |u_i|^2 + |v_j|^2 - 2 u_i . v_j are
// sum(square(u), 1) + transpose(sum(square(v), 1)) - 2 matmul(u, transposed(v)).
// (A matmul operand needs no transpose kernel: matmul(a, transposed(b)) reads b in place.)
#pragma once

#include <type_traits>
#include <utility>

#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

template <SourceExpr S>
struct Transpose {
    using value_type = typename S::value_type;
    using T = value_type;
    static constexpr const char* name = "transpose";

    S source;

    Shape shape() const
    {
        const Shape in = source.shape();
        return {in.cols, in.rows};
    }

    void forward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        const Shape s = source.shape();
        T* y = out.value.data();
        for (std::size_t r = 0; r < s.rows; ++r)
            for (std::size_t c = 0; c < s.cols; ++c) y[c * s.rows + r] = in.value[in.offset(r, c)];
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        if (in.adjoint == nullptr) return;
        const Shape s = source.shape();
        const T* dy = out.adjoint.data();
        for (std::size_t r = 0; r < s.rows; ++r)
            for (std::size_t c = 0; c < s.cols; ++c) in.adjoint[in.offset(r, c)] += dy[c * s.rows + r];
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        source.for_each_source(f);
    }
};

template <Expr E>
auto transpose(E&& e)
{
    auto source = bind_operand(std::forward<E>(e));
    return make_var(Transpose<decltype(source)>{source});
}

}  // namespace bijou
