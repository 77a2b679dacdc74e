// gemm: the one matrix-product routine the engine calls, for float and double, row-major, through the
// backend chosen when Bijou was configured (-DBIJOU_GEMM=auto|bijou|openblas|eigen; engine/gemm/backends.hpp
// describes them, docs/decisions.md 22 and 33 the measurements behind `auto`, the default).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <bijou/engine/gemm/backends.hpp>

#if !defined(BIJOU_GEMM_AUTO) && !defined(BIJOU_GEMM_BIJOU) && !defined(BIJOU_GEMM_OPENBLAS) && \
    !defined(BIJOU_GEMM_EIGEN)
#define BIJOU_GEMM_AUTO 1
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

// True when OpenBLAS runs its AVX-512 kernels (picked by its CPU detection, or by OPENBLAS_CORETYPE).
// Those beat the engine's kernels on every product a training step makes (docs/decisions.md 32); its
// other kernels (Haswell and older) do not (decision 22).
inline bool openblas_runs_avx512_kernels()
{
    const char* name = openblas_get_corename();
    if (name == nullptr) return false;
    std::string core(name);
    for (char& ch : core) ch = char(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    return core == "skylakex" || core == "cooperlake" || core == "sapphirerapids";
}

// Where OpenBLAS 0.3.21 allocates in every call, measured with its AVX-512 kernels (tests/engine/
// test_gemm_dispatch.cpp): untransposed operands, in its small-matrix path (m n k <= 100^3) and, when
// m or n is 1, in its gemv path (buffers for k >= 64). Those products stay with the engine's kernels,
// so a training step allocates nothing.
inline bool openblas_would_allocate(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k)
{
    return !trans_a && !trans_b && (m == 1 || n == 1 || double(m) * double(n) * double(k) <= 1e6);
}

// Which kernels `auto` uses, decided once per process: OpenBLAS's where it runs AVX-512 kernels, the
// engine's otherwise. The environment variable BIJOU_GEMM (auto, bijou or openblas) overrides the choice
// for a run, so one binary can measure the alternatives (bench/compare_pytorch --gemm).
enum class GemmRoute { engine, openblas };

// The route a value of BIJOU_GEMM names (empty: unset); an unknown value is an error naming it.
inline GemmRoute gemm_route_from_setting(std::string_view value)
{
    if (value.empty() || value == "auto")
        return openblas_runs_avx512_kernels() ? GemmRoute::openblas : GemmRoute::engine;
    if (value == "bijou") return GemmRoute::engine;
    if (value == "openblas") return GemmRoute::openblas;
    throw std::invalid_argument("bijou: gemm: the environment variable BIJOU_GEMM is '" + std::string(value) +
                                "'; this build (BIJOU_GEMM=auto) accepts auto, bijou or openblas");
}

inline GemmRoute auto_gemm_route()
{
    static const GemmRoute route = [] {
        const char* setting = std::getenv("BIJOU_GEMM");
        return gemm_route_from_setting(setting == nullptr ? "" : setting);
    }();
    return route;
}

// The backend the products of this process go to, as reports and tests name it.
inline std::string_view gemm_backend_name()
{
#if defined(BIJOU_GEMM_OPENBLAS)
    return "openblas";
#elif defined(BIJOU_GEMM_EIGEN)
    return "eigen";
#elif defined(BIJOU_GEMM_BIJOU)
    return "bijou";
#else
    return auto_gemm_route() == GemmRoute::openblas ? "auto (openblas, bijou for its allocating products)"
                                                     : "auto (bijou)";
#endif
}

// The engine's kernels; with more than one BLAS thread, a product worth splitting goes to OpenBLAS's
// threaded driver.
template <class T>
inline void gemm_engine(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                        std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
{
    constexpr double threaded_flops = 1 << 24;
    if (2.0 * double(m) * double(n) * double(k) >= threaded_flops && blas_threads() > 1)
        gemm_openblas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gemm_bijou(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// C = alpha * op(A) * op(B) + beta * C with op(A) m x k, op(B) k x n, C m x n; beta == 0 never reads C.
template <class T>
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                 std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
{
#if defined(BIJOU_GEMM_OPENBLAS)
    gemm_openblas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#elif defined(BIJOU_GEMM_EIGEN)
    gemm_eigen(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#elif defined(BIJOU_GEMM_BIJOU)
    gemm_engine(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    if (auto_gemm_route() == GemmRoute::openblas && !openblas_would_allocate(trans_a, trans_b, m, n, k))
        gemm_openblas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gemm_engine(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

}  // namespace bijou::detail
