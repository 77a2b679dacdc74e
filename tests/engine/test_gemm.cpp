// The gemm backends and each of the engine's own kernels (engine/gemm/) against a naive product in
// double: the four transposition variants, shapes on both sides of every kernel's thresholds and of the
// blocking (odd sizes, k = 0, 1, past kc), leading dimensions wider than the operands, alpha != 1, and
// beta = 0 with C holding NaN (which must not be read), beta = 1 and a fraction.
#include <bijou/engine/blas.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace bijou;
using namespace bijou::detail;

namespace {

template <class T>
using Gemm = std::function<void(bool, bool, std::size_t, std::size_t, std::size_t, T, const T*, std::size_t,
                                const T*, std::size_t, T, T*, std::size_t)>;

template <class T>
std::vector<std::pair<std::string, Gemm<T>>> implementations()
{
    using namespace gemm_kernels;
    std::vector<std::pair<std::string, Gemm<T>>> list;
    list.emplace_back("gemm (the configured backend)", [](auto... args) { gemm(args...); });
    list.emplace_back("openblas", [](auto... args) { gemm_openblas(args...); });
#if BIJOU_HAVE_EIGEN
    list.emplace_back("eigen", [](auto... args) { gemm_eigen<T>(args...); });
#endif
    list.emplace_back("bijou", [](auto... args) { gemm_bijou<T>(args...); });
    list.emplace_back("blocked", [](bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                                    std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
        blocked_gemm<T>(m, n, k, alpha, {a, lda, ta}, {b, ldb, tb}, beta, c, ldc);
    });
    list.emplace_back("few_columns", [](bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                                        const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                                        std::size_t ldc) {
        few_columns_gemm<T>(m, n, k, alpha, {a, lda, ta}, {b, ldb, tb}, beta, c, ldc);
    });
    list.emplace_back("combine_rows", [](bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
                                         const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                                         std::size_t ldc) {
        combine_rows_gemm<T>(m, n, k, alpha, {a, lda, ta}, {b, ldb, tb}, beta, c, ldc);
    });
    return list;
}

struct Case {
    bool trans_a, trans_b;
    std::size_t m, n, k, pad_a, pad_b, pad_c;
    double alpha, beta;
};

// Runs one case through `gemm`; returns the largest error over the tolerance (<= 1 passes), columns
// of C past n included (they must be untouched).
template <class T>
double scaled_error(const Case& c, const Gemm<T>& gemm, std::mt19937& rng)
{
    std::uniform_real_distribution<double> uniform(-1, 1);
    const std::size_t a_rows = c.trans_a ? c.k : c.m, a_cols = c.trans_a ? c.m : c.k;
    const std::size_t b_rows = c.trans_b ? c.n : c.k, b_cols = c.trans_b ? c.k : c.n;
    const std::size_t lda = a_cols + c.pad_a, ldb = b_cols + c.pad_b, ldc = c.n + c.pad_c;
    std::vector<T> a(a_rows * lda + 1), b(b_rows * ldb + 1), out(c.m * ldc + 1);
    for (auto& v : a) v = T(uniform(rng));
    for (auto& v : b) v = T(uniform(rng));
    for (auto& v : out) v = c.beta == 0 ? std::numeric_limits<T>::quiet_NaN() : T(uniform(rng));
    const std::vector<T> before = out;
    gemm(c.trans_a, c.trans_b, c.m, c.n, c.k, T(c.alpha), a.data(), lda, b.data(), ldb, T(c.beta), out.data(), ldc);
    const double tolerance = 8 * std::numeric_limits<T>::epsilon() * (double(c.k) + 2);
    double worst = 0;
    for (std::size_t i = 0; i < c.m; ++i)
        for (std::size_t j = 0; j < ldc; ++j) {
            const double got = double(out[i * ldc + j]);
            if (j >= c.n) {  // outside C: untouched, bit for bit (NaN stays NaN)
                const double was = double(before[i * ldc + j]);
                if (!(got == was || (std::isnan(got) && std::isnan(was)))) return 1e30;
                continue;
            }
            double sum = 0;
            for (std::size_t p = 0; p < c.k; ++p) {
                const double x = c.trans_a ? a[p * lda + i] : a[i * lda + p];
                const double y = c.trans_b ? b[j * ldb + p] : b[p * ldb + j];
                sum += x * y;
            }
            const double expected = c.alpha * sum + (c.beta == 0 ? 0.0 : c.beta * double(before[i * ldc + j]));
            const double error = std::abs(got - expected) / tolerance;
            if (!(error <= worst)) worst = std::isnan(error) ? 1e30 : error;
        }
    return worst;
}

template <class T>
void check_all(const std::vector<Case>& cases)
{
    std::mt19937 rng(3);
    for (const auto& [name, gemm] : implementations<T>())
        for (const Case& c : cases) {
            // The kernels' own preconditions (the dispatcher never breaks them): k > 0, packed operands fit.
            const bool kernel = name == "blocked" || name == "few_columns" || name == "combine_rows";
            if (kernel && c.k == 0) continue;
            if (name == "few_columns" && !c.trans_a && !c.trans_b &&
                c.n * c.k > gemm_kernels::GemmWorkspace<T>::skinny_size)
                continue;
            if (name == "combine_rows" && c.trans_b && c.n * c.k > gemm_kernels::GemmWorkspace<T>::skinny_size)
                continue;
            INFO(name << ": " << (c.trans_a ? 'T' : 'N') << (c.trans_b ? 'T' : 'N') << " m " << c.m << " n " << c.n
                      << " k " << c.k << " pads " << c.pad_a << "," << c.pad_b << "," << c.pad_c << " alpha "
                      << c.alpha << " beta " << c.beta);
            CHECK(scaled_error<T>(c, gemm, rng) <= 1.0);
        }
}

std::vector<Case> sampled_cases(std::size_t count, unsigned seed)
{
    const std::size_t ms[] = {1, 2, 3, 11, 12, 13, 17, 64, 97, 130};
    const std::size_t ns[] = {1, 2, 3, 5, 8, 9, 16, 17, 31, 33, 64, 70};
    const std::size_t ks[] = {0, 1, 2, 7, 8, 9, 31, 64, 255, 257, 300};
    const double alphas[] = {1, -0.5}, betas[] = {0, 1, 0.25};
    std::mt19937 rng(seed);
    auto pick = [&](const auto& list) { return list[rng() % std::size(list)]; };
    std::vector<Case> cases;
    for (std::size_t i = 0; i < count; ++i)
        cases.push_back({bool(rng() & 1), bool(rng() & 1), pick(ms), pick(ns), pick(ks), rng() % 2 * 3,
                         rng() % 2 * 5, rng() % 2 * 2, pick(alphas), pick(betas)});
    // Every variant at the flows' shapes (batch 256; a 2-D flow's conditioner; a 64-D one's).
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (auto [m, n, k] : {std::array<std::size_t, 3>{256, 64, 1}, {256, 2, 64}, {64, 2, 256}, {1, 64, 256},
                                   {256, 256, 32}, {32, 256, 256}, {256, 736, 128}})
                cases.push_back({ta, tb, m, n, k, 1, 0, 1, 1, 0});
    return cases;
}

}  // namespace

TEST_CASE("every gemm implementation matches a naive product, float")
{
    check_all<float>(sampled_cases(150, 1));
}

TEST_CASE("every gemm implementation matches a naive product, double")
{
    check_all<double>(sampled_cases(150, 2));
}

TEST_CASE("a product larger than one block of the blocked kernel, in every dimension")
{
    // kc = 256, mc = 96, nc = 1024: a second block in each direction.
    check_all<float>({{false, false, 200, 1100, 600, 0, 0, 0, 1, 0}, {true, true, 100, 1030, 260, 2, 1, 3, -0.5, 1}});
}

TEST_CASE("the dispatcher sends each shape to the kernel made for it")
{
    CHECK(choose_gemm_kernel<float>(false, false, 256, 2, 64) == GemmKernel::few_columns);
    CHECK(choose_gemm_kernel<float>(true, false, 64, 2, 256) == GemmKernel::few_columns);
    CHECK(choose_gemm_kernel<float>(false, false, 256, 64, 1) == GemmKernel::combine_rows);
    CHECK(choose_gemm_kernel<float>(true, false, 1, 64, 256) == GemmKernel::combine_rows);
    CHECK(choose_gemm_kernel<float>(false, false, 256, 256, 256) == GemmKernel::blocked);
    // Too large to pack for a skinny kernel: the blocked one.
    CHECK(choose_gemm_kernel<float>(false, false, 256, 4, 100000) == GemmKernel::blocked);
}
