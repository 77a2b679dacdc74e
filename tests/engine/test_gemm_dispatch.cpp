// How the `auto` gemm backend routes products (engine/blas.hpp): the BIJOU_GEMM values it accepts, and
// that no product it sends to OpenBLAS makes OpenBLAS allocate, over a grid of shapes on both sides of
// OpenBLAS's small-matrix thresholds, all four transpositions, float and double. On a CPU where
// OpenBLAS runs AVX-512 kernels (its small-matrix path mallocs in every call) this is the check that
// openblas_would_allocate covers that path; elsewhere auto keeps every product on the engine's kernels.
#include <bijou/engine/blas.hpp>
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#define BIJOU_TESTING_COUNT_MALLOC  // malloc as well as operator new
#include "support/allocation_counter.hpp"

using namespace bijou;
using namespace bijou::detail;

TEST_CASE("BIJOU_GEMM values auto, bijou and openblas route as named, and anything else is an error naming it")
{
    CHECK(gemm_route_from_setting("bijou") == GemmRoute::engine);
    CHECK(gemm_route_from_setting("openblas") == GemmRoute::openblas);
    const GemmRoute by_cpu = openblas_runs_avx512_kernels() ? GemmRoute::openblas : GemmRoute::engine;
    CHECK(gemm_route_from_setting("") == by_cpu);
    CHECK(gemm_route_from_setting("auto") == by_cpu);
    try {
        (void)gemm_route_from_setting("mkl");
        FAIL("an unknown BIJOU_GEMM value was accepted");
    } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        CHECK(message.find("BIJOU_GEMM") != std::string::npos);
        CHECK(message.find("'mkl'") != std::string::npos);
    }
    INFO("OpenBLAS core: " << openblas_get_corename() << ", backend: " << gemm_backend_name());
    CHECK(!gemm_backend_name().empty());
}

// With -DBIJOU_GEMM=openblas every product goes to OpenBLAS, allocating ones included (the price of that
// backend, reported by test_allocations); every other backend must pass.
#if !defined(BIJOU_GEMM_OPENBLAS)
TEMPLATE_TEST_CASE("no product that auto sends to OpenBLAS makes it allocate", "", float, double)
{
    using T = TestType;
#if !BIJOU_COUNT_MALLOC
    WARN("malloc is not counted in this build (sanitizers or not glibc): only operator new is checked");
#endif
    const int saved_threads = blas_threads();
    set_blas_threads(1);
    const std::vector<std::size_t> sizes{1, 2, 3, 7, 16, 31, 64, 100, 128, 196, 257};
    const std::size_t largest = 257;
    std::vector<T> a(largest * largest, T(0.5)), b(largest * largest, T(0.25)), c(largest * largest);
    struct Shape {
        std::size_t m, n, k;
        bool trans_a, trans_b;
    };
    std::vector<Shape> allocating;  // reported after the scope: Catch's messages allocate
    allocating.reserve(4 * sizes.size() * sizes.size() * sizes.size());
    long products_to_openblas = 0, new_calls = 0, own_malloc_calls = 0;
#if defined(BIJOU_GEMM_AUTO)
    const bool reaches_openblas = auto_gemm_route() == GemmRoute::openblas;
#else
    const bool reaches_openblas = false;  // bijou and eigen never call OpenBLAS on one thread
#endif
    REQUIRE(testing::AllocationScope{}.blas_located);  // libopenblas is loaded: its mallocs can be told apart
    // The first pass lets the engine's kernels take their per-thread workspaces; the second is counted.
    for (int pass = 0; pass < 2; ++pass) {
        testing::AllocationScope scope;
        for (std::size_t m : sizes)
            for (std::size_t n : sizes)
                for (std::size_t k : sizes)
                    for (int t = 0; t < 4; ++t) {
                        const bool ta = t & 1, tb = t & 2;
                        const long before = scope.blas_malloc_calls();
                        gemm<T>(ta, tb, m, n, k, T(1), a.data(), ta ? m : k, b.data(), tb ? k : n, T(0), c.data(),
                                n);
                        if (pass == 0) continue;
                        if (scope.blas_malloc_calls() != before) allocating.push_back({m, n, k, ta, tb});
                        if (reaches_openblas && !openblas_would_allocate(ta, tb, m, n, k)) ++products_to_openblas;
                    }
        if (pass == 0) continue;
        new_calls = scope.new_calls();
        own_malloc_calls = scope.own_malloc_calls();
    }
    set_blas_threads(saved_threads);
    for (const Shape& s : allocating)
        FAIL_CHECK("OpenBLAS allocated in gemm m " << s.m << " n " << s.n << " k " << s.k << (s.trans_a ? " A^T" : " A")
                                                   << (s.trans_b ? " B^T" : " B"));
    CHECK(new_calls == 0);
#if BIJOU_COUNT_MALLOC
    CHECK(own_malloc_calls == 0);
#endif
    // Not vacuous where auto uses OpenBLAS: most of the grid must actually reach it.
    if (reaches_openblas) CHECK(products_to_openblas > 0);
}
#endif

TEST_CASE("openblas_would_allocate marks OpenBLAS's small-matrix products, and only untransposed ones")
{
    CHECK(openblas_would_allocate(false, false, 256, 2, 64));   // an output layer into 2 features
    CHECK(openblas_would_allocate(false, false, 64, 196, 64));  // a 1x1 convolution of one 14x14 image
    CHECK(openblas_would_allocate(false, false, 4096, 1, 4096));  // one column: OpenBLAS's gemv
    CHECK(openblas_would_allocate(false, false, 1, 64, 256));     // one row: gemv
    CHECK_FALSE(openblas_would_allocate(false, false, 256, 64, 64));  // m n k past 100^3
    CHECK_FALSE(openblas_would_allocate(true, false, 64, 2, 256));
    CHECK_FALSE(openblas_would_allocate(false, true, 256, 64, 2));
}
