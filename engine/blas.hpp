// gemm: the one matrix-product routine the engine calls, for float and double, row-major, through the
// backend chosen when Bijou was configured (-DBIJOU_GEMM=bijou|openblas|eigen; engine/gemm/backends.hpp
// describes them, docs/decisions.md 22 the measurements that made `bijou` the default).
#pragma once

#include <cstddef>

#include <bijou/engine/gemm/backends.hpp>

#if !defined(BIJOU_GEMM_BIJOU) && !defined(BIJOU_GEMM_OPENBLAS) && !defined(BIJOU_GEMM_EIGEN)
#define BIJOU_GEMM_BIJOU 1
#endif
#if defined(BIJOU_GEMM_EIGEN) && !BIJOU_HAVE_EIGEN
#error "bijou: BIJOU_GEMM_EIGEN needs Eigen (BIJOU_HAVE_EIGEN=1 and Eigen 3.4's include directory)"
#endif

// OpenBLAS's own thread count (its cblas.h declares these). One thread makes a training step allocation
// free (docs/decisions.md #7); more pay off only for large matrices.
namespace bijou {
inline void set_blas_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }
inline int blas_threads() { return openblas_get_num_threads(); }
}  // namespace bijou

namespace bijou::detail {

inline constexpr const char* gemm_backend_name =
#if defined(BIJOU_GEMM_OPENBLAS)
    "openblas";
#elif defined(BIJOU_GEMM_EIGEN)
    "eigen";
#else
    "bijou";
#endif

// C = alpha * op(A) * op(B) + beta * C with op(A) m x k, op(B) k x n, C m x n; beta == 0 never reads C.
template <class T>
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                 std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
{
#if defined(BIJOU_GEMM_OPENBLAS)
    gemm_openblas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#elif defined(BIJOU_GEMM_EIGEN)
    gemm_eigen(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    // With more than one BLAS thread, a product worth splitting goes to OpenBLAS's threaded driver.
    constexpr double threaded_flops = 1 << 24;
    if (2.0 * double(m) * double(n) * double(k) >= threaded_flops && blas_threads() > 1)
        gemm_openblas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gemm_bijou(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

}  // namespace bijou::detail
