// The gemm backends the engine can be built with (docs/decisions.md 22 records the measurements that
// chose the default). Each computes C = alpha op(A) op(B) + beta C, row-major, op = identity or transpose;
// beta == 0 never reads C.
//
//   openblas   cblas_?gemm: OpenBLAS with the kernels its CPU detection (or OPENBLAS_CORETYPE) picks
//   eigen      Eigen 3.4's general matrix product, compiled for this CPU (header-only)
//   bijou      the engine's own xsimd kernels: skinny.hpp for products with few rows or columns of C or
//              a short inner dimension, blocked.hpp for the rest; with set_blas_threads(n > 1), products
//              large enough to split go to OpenBLAS's threaded driver instead
#pragma once

#include <cblas.h>

#include <cstddef>

#include <bijou/engine/gemm/blocked.hpp>
#include <bijou/engine/gemm/operand.hpp>
#include <bijou/engine/gemm/skinny.hpp>

#if BIJOU_HAVE_EIGEN
#ifndef EIGEN_STACK_ALLOCATION_LIMIT
// Eigen's product takes its packing buffers from the stack up to this size and from the heap beyond;
// 1 MiB covers every block of its blocking for our shapes, so a training step stays allocation-free.
#define EIGEN_STACK_ALLOCATION_LIMIT (1 << 20)
#endif
#include <Eigen/Core>
#endif

namespace bijou::detail {

inline void gemm_openblas(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                          std::size_t ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(m),
                int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

inline void gemm_openblas(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
                          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                          std::size_t ldc)
{
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(m),
                int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

#if BIJOU_HAVE_EIGEN
template <class T>
void gemm_eigen(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
{
    using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Stride = Eigen::OuterStride<>;
    using ConstMap = Eigen::Map<const Matrix, Eigen::Unaligned, Stride>;
    Eigen::Map<Matrix, Eigen::Unaligned, Stride> cm(c, Eigen::Index(m), Eigen::Index(n), Stride(Eigen::Index(ldc)));
    // The stored matrices, as they lie in memory.
    const ConstMap am(a, Eigen::Index(trans_a ? k : m), Eigen::Index(trans_a ? m : k), Stride(Eigen::Index(lda)));
    const ConstMap bm(b, Eigen::Index(trans_b ? n : k), Eigen::Index(trans_b ? k : n), Stride(Eigen::Index(ldb)));
    auto product_into = [&](const auto& x, const auto& y) {
        if (beta == T(0))
            cm.noalias() = alpha * (x * y);
        else {
            if (beta != T(1)) cm *= beta;
            cm.noalias() += alpha * (x * y);
        }
    };
    if (trans_a && trans_b)
        product_into(am.transpose(), bm.transpose());
    else if (trans_a)
        product_into(am.transpose(), bm);
    else if (trans_b)
        product_into(am, bm.transpose());
    else
        product_into(am, bm);
}
#endif

// Which of the engine's own kernels computes a product of this shape.
enum class GemmKernel { few_columns, combine_rows, blocked };

template <class T>
GemmKernel choose_gemm_kernel(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k)
{
    using namespace gemm_kernels;
    constexpr std::size_t skinny = GemmWorkspace<T>::skinny_size;
    // A packed operand of the skinny kernels must fit their workspace.
    if (n <= 8 && (trans_a || trans_b || n * k <= skinny)) return GemmKernel::few_columns;
    if ((m < BlockedShape<T>::mr || k <= 8) && (!trans_b || n * k <= skinny)) return GemmKernel::combine_rows;
    return GemmKernel::blocked;
}

template <class T>
void gemm_bijou(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
{
    using namespace gemm_kernels;
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: C = beta C
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
        return;
    }
    const Operand<T> x{a, lda, trans_a}, y{b, ldb, trans_b};
    switch (choose_gemm_kernel<T>(trans_a, trans_b, m, n, k)) {
    case GemmKernel::few_columns: few_columns_gemm(m, n, k, alpha, x, y, beta, c, ldc); return;
    case GemmKernel::combine_rows: combine_rows_gemm(m, n, k, alpha, x, y, beta, c, ldc); return;
    case GemmKernel::blocked: blocked_gemm(m, n, k, alpha, x, y, beta, c, ldc); return;
    }
}

}  // namespace bijou::detail
