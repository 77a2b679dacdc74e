// matrix_inverse(a): X = A^-1 for a square n x n operand, differentiable.
//
//   forward    P A = L U by Gaussian elimination with partial pivoting, then X = U^-1 L^-1 P
//   backward   dA += -X^T dX X^T            (from d(A X) = 0: dX = -X dA X)
//
// Why LU with partial pivoting rather than triangular inverses of a factored matrix: the kernel takes
// any square matrix (an LU-parametrised weight is one use; a learned matrix that is not factored is
// another), and partial pivoting is backward stable for the matrices met in practice. For the D x D
// weights of a flow the O(D^3) cost is small beside the O(B D^2) of applying the matrix to a batch.
//
// A matrix that is singular to working precision (a pivot |u_kk| <= n * eps * max|a_ij|, i.e. a
// condition number beyond about 1 / (n eps)) is reported with bijou::usage_error naming the pivot and
// the shape; its "inverse" would be noise. The workspace (LU factors, pivots, the backward's product)
// is sized when the program is bound, so forward and backward allocate nothing.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <bijou/engine/blas.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/kernels/matmul.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

namespace detail {

// In-place LU factorisation with partial pivoting of the row-major n x n matrix a (leading dimension n):
// afterwards P A = L U with L unit lower triangular (stored below the diagonal) and U upper triangular
// (on and above it); at step k, row k was swapped with row pivots[k] >= k.
template <class T>
void lu_factor(T* a, std::size_t n, std::size_t* pivots)
{
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t best = k;
        for (std::size_t i = k + 1; i < n; ++i)
            if (std::abs(a[i * n + k]) > std::abs(a[best * n + k])) best = i;
        pivots[k] = best;
        if (best != k) std::swap_ranges(a + k * n, a + (k + 1) * n, a + best * n);
        const T pivot = a[k * n + k];
        if (pivot == T(0)) continue;  // the caller checks the pivots; elimination below it is moot
        for (std::size_t i = k + 1; i < n; ++i) {
            const T factor = a[i * n + k] / pivot;
            a[i * n + k] = factor;
            for (std::size_t j = k + 1; j < n; ++j) a[i * n + j] -= factor * a[k * n + j];
        }
    }
}

// The row permutation of an LU factorisation as an order: row i of P A is row row_of[i] of A.
inline void lu_row_order(const std::size_t* pivots, std::size_t n, std::size_t* row_of)
{
    for (std::size_t i = 0; i < n; ++i) row_of[i] = i;
    for (std::size_t k = 0; k < n; ++k) std::swap(row_of[k], row_of[pivots[k]]);
}

// The index of the first pivot that is zero to working precision relative to `scale` (max |a_ij|), or
// n when every pivot is usable.
template <class T>
std::size_t first_singular_pivot(const T* lu, std::size_t n, T scale)
{
    const T threshold = T(n) * std::numeric_limits<T>::epsilon() * scale;
    for (std::size_t k = 0; k < n; ++k)
        if (!(std::abs(lu[k * n + k]) > threshold)) return k;  // also catches NaN
    return n;
}

// X = A^-1 from P A = L U, solving L U X = P row block by row block: each step is an axpy over a
// contiguous row, so the solve runs along memory.
template <class T>
void lu_inverse(const T* lu, const std::size_t* pivots, std::size_t n, T* x)
{
    std::fill(x, x + n * n, T(0));
    for (std::size_t i = 0; i < n; ++i) x[i * n + i] = T(1);
    for (std::size_t k = 0; k < n; ++k)
        if (pivots[k] != k) std::swap_ranges(x + k * n, x + (k + 1) * n, x + pivots[k] * n);
    for (std::size_t i = 1; i < n; ++i)  // Y = L^-1 (P I): row i -= l_ik row k
        for (std::size_t k = 0; k < i; ++k) {
            const T l = lu[i * n + k];
            if (l != T(0))
                for (std::size_t j = 0; j < n; ++j) x[i * n + j] -= l * x[k * n + j];
        }
    for (std::size_t i = n; i-- > 0;) {  // X = U^-1 Y: row i = (row i - sum_k>i u_ik row k) / u_ii
        for (std::size_t k = i + 1; k < n; ++k) {
            const T u = lu[i * n + k];
            if (u != T(0))
                for (std::size_t j = 0; j < n; ++j) x[i * n + j] -= u * x[k * n + j];
        }
        const T inverse_pivot = T(1) / lu[i * n + i];
        for (std::size_t j = 0; j < n; ++j) x[i * n + j] *= inverse_pivot;
    }
}

template <class T>
struct MatrixInverseWorkspace {
    std::vector<T> lu;                // n x n factors
    std::vector<std::size_t> pivots;  // n
    std::vector<T> product;           // n x n, X^T dX in the backward pass
};

}  // namespace detail

template <SourceExpr A>
struct MatrixInverse {
    using value_type = typename A::value_type;
    using T = value_type;
    static constexpr const char* name = "matrix_inverse";

    A a;
    std::shared_ptr<detail::MatrixInverseWorkspace<T>> workspace;

    // Runs when the program is bound, so the workspace is sized there and never in forward/backward.
    Shape shape() const
    {
        const Shape s = a.shape();
        if (s.rows != s.cols) throw_shape_error(name, "needs a square matrix, got ", s);
        if (workspace->pivots.size() != s.rows) {
            workspace->lu.assign(s.size(), T(0));
            workspace->pivots.assign(s.rows, 0);
            workspace->product.assign(s.size(), T(0));
        }
        return s;
    }

    void forward(SourceNode<T>& out) const
    {
        const auto m = detail::matrix_ref(a);
        const std::size_t n = m.shape.rows;
        T* lu = workspace->lu.data();
        T scale(0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                lu[i * n + j] = m.value[i * m.ld + j];
                scale = std::max(scale, std::abs(lu[i * n + j]));
            }
        detail::lu_factor(lu, n, workspace->pivots.data());
        const std::size_t k = detail::first_singular_pivot(lu, n, scale);
        if (k < n)
            throw_usage_error(name, "the ", m.shape, " matrix is singular to working precision (pivot ", k, " of ", n,
                              " is ", double(lu[k * n + k]), ", largest entry ", double(scale), ")");
        detail::lu_inverse(lu, workspace->pivots.data(), n, out.value.data());
    }

    void backward(SourceNode<T>& out) const
    {
        const auto m = detail::matrix_ref(a);
        if (m.adjoint == nullptr) return;
        const std::size_t n = m.shape.rows;
        const T* x = out.value.data();
        T* product = workspace->product.data();
        // product = X^T dX, then dA += -product X^T
        detail::gemm(true, false, n, n, n, T(1), x, n, out.adjoint.data(), n, T(0), product, n);
        detail::gemm(false, true, n, n, n, T(-1), product, n, x, n, T(1), m.adjoint, m.ld);
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        a.for_each_source(f);
    }
};

template <Expr E>
auto matrix_inverse(E&& e)
{
    auto source = bind_operand(std::forward<E>(e));
    using S = decltype(source);
    return make_var(
        MatrixInverse<S>{source, std::make_shared<detail::MatrixInverseWorkspace<typename S::value_type>>()});
}

}  // namespace bijou
