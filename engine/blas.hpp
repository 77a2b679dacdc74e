// gemm: the one BLAS routine the engine calls, for float and double, row-major.
#pragma once

#include <cblas.h>

#include <cstddef>

namespace bijou::detail {

// C = alpha * op(A) * op(B) + beta * C with op(A) m x k, op(B) k x n, C m x n.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(m),
                int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
                 const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                 std::size_t ldc)
{
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(m),
                int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

}  // namespace bijou::detail

// OpenBLAS's own thread count (its cblas.h declares these). One thread makes a training step allocation
// free (docs/decisions.md #7); more pay off only for large matrices.
namespace bijou {
inline void set_blas_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }
inline int blas_threads() { return openblas_get_num_threads(); }
}  // namespace bijou
