// matmul: C = op(A) op(B) through BLAS, with op = identity or transpose.
//
//   matmul(x, w)                  x: batch x in, w: in x out
//   matmul(transposed(a), b)      a^T b
//
// Operands are read in place, column slices included (through the leading dimension); an expression
// operand is bound with `let` first. Backward: with X = op(A), Y = op(B), dX = dC Y^T and dY = X^T dC,
// each accumulated into the operand's adjoint by one more gemm with beta = 1.
#pragma once

#include <bijou/engine/blas.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

// Marks a matmul operand to be used transposed.
template <class E>
struct Transposed {
    E expr;
};
template <Expr E>
Transposed<std::remove_cvref_t<E>> transposed(E&& e)
{
    return {std::forward<E>(e)};
}

namespace detail {
// Pointer, leading dimension and logical (untransposed) shape of a matmul operand.
template <class T>
struct MatrixRef {
    T* value;
    T* adjoint;
    std::size_t ld;
    Shape shape;
};
template <class S>
auto matrix_ref(const S& s)
{
    auto& node = s.node();
    using T = typename S::value_type;
    const std::size_t offset = s.col_begin();
    T* adjoint = node.needs_adjoint ? node.adjoint.data() + offset : nullptr;
    return MatrixRef<T>{node.value.data() + offset, adjoint, node.shape().cols, s.shape()};
}
}  // namespace detail

template <SourceExpr A, SourceExpr B>
struct Matmul {
    static_assert(std::is_same_v<typename A::value_type, typename B::value_type>,
                  "bijou: matmul operands must have the same value type");
    using value_type = typename A::value_type;
    static constexpr const char* name = "matmul";

    A a;
    B b;
    bool trans_a = false;
    bool trans_b = false;

    Shape shape() const
    {
        const Shape sa = a.shape(), sb = b.shape();
        const Shape xa = trans_a ? Shape{sa.cols, sa.rows} : sa;
        const Shape yb = trans_b ? Shape{sb.cols, sb.rows} : sb;
        if (xa.cols != yb.rows)
            throw_shape_error("matmul", "inner dimensions differ: ", sa, trans_a ? "^T" : "", " * ", sb,
                              trans_b ? "^T" : "");
        return {xa.rows, yb.cols};
    }

    void forward(SourceNode<value_type>& out) const
    {
        const auto x = detail::matrix_ref(a), y = detail::matrix_ref(b);
        const Shape c = out.shape();
        const std::size_t k = trans_a ? x.shape.rows : x.shape.cols;
        detail::gemm(trans_a, trans_b, c.rows, c.cols, k, value_type(1), x.value, x.ld, y.value, y.ld,
                     value_type(0), out.value.data(), c.cols);
    }

    void backward(SourceNode<value_type>& out) const
    {
        const auto x = detail::matrix_ref(a), y = detail::matrix_ref(b);
        const Shape c = out.shape();
        const std::size_t m = c.rows, n = c.cols, k = trans_a ? x.shape.rows : x.shape.cols;
        const value_type* dc = out.adjoint.data();
        const value_type one(1);
        if (x.adjoint != nullptr) {
            if (!trans_a)  // dA (m x k) += dC op(B)^T
                detail::gemm(false, !trans_b, m, k, n, one, dc, n, y.value, y.ld, one, x.adjoint, x.ld);
            else  // dA (k x m) += op(B) dC^T
                detail::gemm(trans_b, true, k, m, n, one, y.value, y.ld, dc, n, one, x.adjoint, x.ld);
        }
        if (y.adjoint != nullptr) {
            if (!trans_b)  // dB (k x n) += op(A)^T dC
                detail::gemm(!trans_a, false, k, n, m, one, x.value, x.ld, dc, n, one, y.adjoint, y.ld);
            else  // dB (n x k) += dC^T op(A)
                detail::gemm(true, trans_a, n, k, m, one, dc, n, x.value, x.ld, one, y.adjoint, y.ld);
        }
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        a.for_each_source(f);
        b.for_each_source(f);
    }
};

namespace detail {
template <class E>
struct operand_traits {
    static constexpr bool transposed = false;
    static const E& expr(const E& e) { return e; }
};
template <class E>
struct operand_traits<Transposed<E>> {
    static constexpr bool transposed = true;
    static const E& expr(const Transposed<E>& e) { return e.expr; }
};
}  // namespace detail

template <class L, class R>
auto matmul(const L& left, const R& right)
{
    using LT = detail::operand_traits<L>;
    using RT = detail::operand_traits<R>;
    auto a = bind_operand(LT::expr(left));
    auto b = bind_operand(RT::expr(right));
    return make_var(Matmul<decltype(a), decltype(b)>{a, b, LT::transposed, RT::transposed});
}

}  // namespace bijou
