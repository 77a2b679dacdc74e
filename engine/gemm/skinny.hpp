// Gemm kernels for skinny products, where packing both operands for the blocked kernel costs more than
// the arithmetic, or its 12 x 32 tiles would be mostly padding: a few rows of C, a short inner dimension,
// or a few columns (a 2-D flow's conditioner: 256 x 64 x 1 in, 256 x 2 x 64 out, 64 x 2 x 256 for the
// weight gradient). None of them packs more than the small operand.
#pragma once

#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include <bijou/engine/gemm/operand.hpp>
#include <bijou/engine/gemm/workspace.hpp>

namespace bijou::detail::gemm_kernels {

// Rows of C as combinations of rows of op(B): C(i, :) = alpha sum_k op(A)(i, k) op(B)(k, :) + beta C(i, :),
// vectorised along C's rows, R rows and V vectors of columns at a time. op(B)'s rows are `b` with stride ldb.
template <std::size_t R, std::size_t V, class T>
inline void combine_rows_tile(std::size_t depth, const Operand<T>& a, std::size_t i0, const T* b, std::size_t ldb,
                              std::size_t j0, T alpha, T beta, T* c, std::size_t ldc)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t w = B::size;
    B acc[R][V];
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t v = 0; v < V; ++v) acc[r][v] = B(T(0));
    for (std::size_t k = 0; k < depth; ++k) {
        const T* row = b + k * ldb + j0;
        B bv[V];
        for (std::size_t v = 0; v < V; ++v) bv[v] = B::load_unaligned(row + v * w);
        for (std::size_t r = 0; r < R; ++r) {
            const B av(a(i0 + r, k));
            for (std::size_t v = 0; v < V; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
        }
    }
    const B va(alpha), vb(beta);
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t v = 0; v < V; ++v) {
            T* out = c + (i0 + r) * ldc + j0 + v * w;
            const B result = beta == T(0) ? va * acc[r][v] : xsimd::fma(va, acc[r][v], vb * B::load_unaligned(out));
            result.store_unaligned(out);
        }
}

template <std::size_t R, class T>
inline void combine_rows_group(std::size_t n, std::size_t depth, const Operand<T>& a, std::size_t i0, const T* b,
                               std::size_t ldb, T alpha, T beta, T* c, std::size_t ldc)
{
    constexpr std::size_t w = xsimd::batch<T>::size;
    std::size_t j = 0;
    for (; j + 4 * w <= n; j += 4 * w) combine_rows_tile<R, 4>(depth, a, i0, b, ldb, j, alpha, beta, c, ldc);
    for (; j + w <= n; j += w) combine_rows_tile<R, 1>(depth, a, i0, b, ldb, j, alpha, beta, c, ldc);
    for (; j < n; ++j)
        for (std::size_t r = 0; r < R; ++r) {
            T sum(0);
            for (std::size_t k = 0; k < depth; ++k) sum += a(i0 + r, k) * b[k * ldb + j];
            T& out = c[(i0 + r) * ldc + j];
            out = scale_update(alpha, sum, beta, out);
        }
}

// For few rows of C (m small) or a short inner dimension (k small). op(B) must have contiguous rows, or
// be small enough to be packed so (k n <= the skinny workspace).
template <class T>
void combine_rows_gemm(std::size_t m, std::size_t n, std::size_t k, T alpha, const Operand<T>& a,
                       const Operand<T>& b, T beta, T* c, std::size_t ldc)
{
    const T* rows = b.data;
    std::size_t ldb = b.ld;
    if (b.transposed) {  // pack op(B) row-major
        T* packed = gemm_workspace<T>().skinny();
        for (std::size_t p = 0; p < k; ++p)
            for (std::size_t j = 0; j < n; ++j) packed[p * n + j] = b(p, j);
        rows = packed;
        ldb = n;
    }
    std::size_t i = 0;
    for (; i + 4 <= m; i += 4) combine_rows_group<4>(n, k, a, i, rows, ldb, alpha, beta, c, ldc);
    for (; i < m; ++i) combine_rows_group<1>(n, k, a, i, rows, ldb, alpha, beta, c, ldc);
}

// Few columns of C with op(A)'s rows contiguous: each C(i, j) is a dot product along k of row i of
// op(A) and column j of op(B), vectorised along k, four rows by up to four columns at a time.
template <std::size_t R, class T>
inline void dot_rows_group(std::size_t n, std::size_t depth, const Operand<T>& a, std::size_t i0, const T* columns,
                           std::size_t ld_columns, T alpha, T beta, T* c, std::size_t ldc)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t w = B::size;
    for (std::size_t j0 = 0; j0 < n; j0 += 4) {
        const std::size_t cols = std::min<std::size_t>(4, n - j0);
        B acc[R][4];
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t j = 0; j < 4; ++j) acc[r][j] = B(T(0));
        std::size_t p = 0;
        for (; p + w <= depth; p += w) {
            B bv[4];
            for (std::size_t j = 0; j < cols; ++j) bv[j] = B::load_unaligned(columns + (j0 + j) * ld_columns + p);
            for (std::size_t r = 0; r < R; ++r) {
                const B av = B::load_unaligned(a.row(i0 + r) + p);
                for (std::size_t j = 0; j < cols; ++j) acc[r][j] = xsimd::fma(av, bv[j], acc[r][j]);
            }
        }
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t j = 0; j < cols; ++j) {
                T sum = xsimd::hadd(acc[r][j]);
                for (std::size_t q = p; q < depth; ++q) sum += a.row(i0 + r)[q] * columns[(j0 + j) * ld_columns + q];
                T& out = c[(i0 + r) * ldc + j0 + j];
                out = scale_update(alpha, sum, beta, out);
            }
    }
}

// Few columns of C with op(A)'s columns contiguous (A stored transposed): C(:, j) accumulates columns of
// op(A) scaled by op(B)(k, j), vectorised along C's columns, V vectors of rows by up to 4 columns at once.
template <std::size_t V, class T>
inline void axpy_columns_block(std::size_t n, std::size_t depth, const Operand<T>& a, std::size_t i0,
                               const Operand<T>& b, T alpha, T beta, T* c, std::size_t ldc)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t w = B::size;
    for (std::size_t j0 = 0; j0 < n; j0 += 4) {
        const std::size_t cols = std::min<std::size_t>(4, n - j0);
        B acc[V][4];
        for (std::size_t v = 0; v < V; ++v)
            for (std::size_t j = 0; j < 4; ++j) acc[v][j] = B(T(0));
        for (std::size_t p = 0; p < depth; ++p) {
            const T* column = a.column(p) + i0;  // op(A)(i0.., p) = A(p, i0..)
            B av[V];
            for (std::size_t v = 0; v < V; ++v) av[v] = B::load_unaligned(column + v * w);
            for (std::size_t j = 0; j < cols; ++j) {
                const B bv(b(p, j0 + j));
                for (std::size_t v = 0; v < V; ++v) acc[v][j] = xsimd::fma(av[v], bv, acc[v][j]);
            }
        }
        alignas(64) T tile[4][V * w];
        for (std::size_t j = 0; j < cols; ++j)
            for (std::size_t v = 0; v < V; ++v) acc[v][j].store_aligned(&tile[j][v * w]);
        for (std::size_t r = 0; r < V * w; ++r)
            for (std::size_t j = 0; j < cols; ++j) {
                T& out = c[(i0 + r) * ldc + j0 + j];
                out = scale_update(alpha, tile[j][r], beta, out);
            }
    }
}

// For few columns of C (n small), any operands.
template <class T>
void few_columns_gemm(std::size_t m, std::size_t n, std::size_t k, T alpha, const Operand<T>& a,
                      const Operand<T>& b, T beta, T* c, std::size_t ldc)
{
    constexpr std::size_t w = xsimd::batch<T>::size;
    if (a.transposed) {
        std::size_t i = 0;
        for (; i + 4 * w <= m; i += 4 * w) axpy_columns_block<4>(n, k, a, i, b, alpha, beta, c, ldc);
        for (; i + w <= m; i += w) axpy_columns_block<1>(n, k, a, i, b, alpha, beta, c, ldc);
        for (; i < m; ++i)  // the last rows, without reading past op(A)'s columns
            for (std::size_t j = 0; j < n; ++j) {
                T sum(0);
                for (std::size_t p = 0; p < k; ++p) sum += a(i, p) * b(p, j);
                T& out = c[i * ldc + j];
                out = scale_update(alpha, sum, beta, out);
            }
        return;
    }
    // op(B)'s columns contiguous: B stored transposed, or packed so.
    const T* columns = b.data;
    std::size_t ld_columns = b.ld;
    if (!b.transposed) {
        T* packed = gemm_workspace<T>().skinny();
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t p = 0; p < k; ++p) packed[j * k + p] = b(p, j);
        columns = packed;
        ld_columns = k;
    }
    std::size_t i = 0;
    for (; i + 4 <= m; i += 4) dot_rows_group<4>(n, k, a, i, columns, ld_columns, alpha, beta, c, ldc);
    for (; i < m; ++i) dot_rows_group<1>(n, k, a, i, columns, ld_columns, alpha, beta, c, ldc);
}

}  // namespace bijou::detail::gemm_kernels
