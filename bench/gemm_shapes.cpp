// gemm_shapes: every gemm backend on the products a training step of each benchmark flow makes, one
// thread. For an MLP conditioner in -> H -> H -> out on a batch of B rows those are the three forward
// products (NN), the three weight gradients (TN) and the three input gradients (NT), with the
// conditioner's input a column slice of the D-wide data (leading dimension D). Backends are timed
// interleaved, repetition by repetition; medians are reported, with each backend's result checked
// against a double-precision reference first.
//
//   gemm_shapes [--reps N] [--only CONFIG] [--out DIR]      writes DIR/gemm_shapes.json
//
// This is the measurement that chose the default backend (docs/decisions.md 22).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <bijou/engine/blas.hpp>

extern "C" char* openblas_get_corename(void);

using namespace bijou;
using Clock = std::chrono::steady_clock;

namespace {

struct Product {
    std::string config, role;
    std::size_t m, n, k;
    bool trans_a, trans_b;
    std::size_t lda, ldb, ldc;
    double flops() const { return 2.0 * double(m) * double(n) * double(k); }
};

// The nine products of an MLP in -> h -> h -> out on a batch, its input a column slice of D columns.
std::vector<Product> mlp_products(const std::string& config, std::size_t batch, std::size_t d, std::size_t in,
                                  std::size_t h, std::size_t out)
{
    const std::size_t widths[4] = {in, h, h, out};
    std::vector<Product> products;
    for (std::size_t l = 0; l < 3; ++l) {
        const std::size_t i = widths[l], o = widths[l + 1], ld_in = l == 0 ? d : i;
        const std::string layer = std::to_string(l + 1);
        products.push_back({config, "fwd" + layer, batch, o, i, false, false, ld_in, o, o});           // Y = X W
        products.push_back({config, "dW" + layer, i, o, batch, true, false, ld_in, o, o});             // dW = X^T dY
        products.push_back({config, "dX" + layer, batch, i, o, false, true, o, o, ld_in});             // dX = dY W^T
    }
    return products;
}

std::vector<Product> all_products()
{
    std::vector<Product> p;
    auto add = [&](std::vector<Product> q) { p.insert(p.end(), q.begin(), q.end()); };
    add(mlp_products("moons_realnvp", 256, 2, 1, 64, 2));
    add(mlp_products("8gaussians_spline", 256, 2, 1, 64, 23));       // 8 bins, linear tails: 3 * 8 - 1
    add(mlp_products("digits_realnvp", 256, 64, 32, 256, 64));
    add(mlp_products("digits_spline", 256, 64, 32, 128, 32 * 23));
    add(mlp_products("ik_inn", 250, 4, 2, 64, 4));
    return p;
}

template <class T>
using GemmFn = std::function<void(bool, bool, std::size_t, std::size_t, std::size_t, T, const T*, std::size_t,
                                  const T*, std::size_t, T, T*, std::size_t)>;

struct Backend {
    std::string name;
    GemmFn<float> gemm;
};

std::vector<Backend> backends()
{
    std::vector<Backend> b;
    b.push_back({"openblas", [](auto... args) { detail::gemm_openblas(args...); }});
#if BIJOU_HAVE_EIGEN
    b.push_back({"eigen", [](auto... args) { detail::gemm_eigen<float>(args...); }});
#endif
    b.push_back({"bijou", [](auto... args) { detail::gemm_bijou<float>(args...); }});
    b.push_back({"bijou_blocked", [](bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                                     const float* a, std::size_t lda, const float* bb, std::size_t ldb, float beta,
                                     float* c, std::size_t ldc) {
                     using namespace detail::gemm_kernels;
                     blocked_gemm<float>(m, n, k, alpha, {a, lda, ta}, {bb, ldb, tb}, beta, c, ldc);
                 }});
    // What the engine calls: the backend this build was configured with (auto: routed per product).
    b.push_back({"configured", [](auto... args) { detail::gemm<float>(args...); }});
    return b;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Operands {
    std::vector<float> a, b, c;
    explicit Operands(const Product& p, std::mt19937& rng)
    {
        std::normal_distribution<float> normal;
        a.resize((p.trans_a ? p.k : p.m) * p.lda);
        b.resize((p.trans_b ? p.n : p.k) * p.ldb);
        c.resize(p.m * p.ldc);
        for (auto& v : a) v = normal(rng);
        for (auto& v : b) v = normal(rng);
        for (auto& v : c) v = normal(rng);
    }
};

// Largest |C - reference| over the reference's scale, for C = A B + 0.5 C.
double max_error(const Product& p, const Backend& backend, const Operands& ops)
{
    std::vector<float> c = ops.c;
    backend.gemm(p.trans_a, p.trans_b, p.m, p.n, p.k, 1.f, ops.a.data(), p.lda, ops.b.data(), p.ldb, 0.5f, c.data(),
                 p.ldc);
    double worst = 0;
    for (std::size_t i = 0; i < p.m; ++i)
        for (std::size_t j = 0; j < p.ldc; ++j) {
            double ref = double(ops.c[i * p.ldc + j]);  // columns past n stay as they are
            if (j < p.n) {
                ref *= 0.5;
                for (std::size_t q = 0; q < p.k; ++q) {
                    const double x = p.trans_a ? ops.a[q * p.lda + i] : ops.a[i * p.lda + q];
                    const double y = p.trans_b ? ops.b[j * p.ldb + q] : ops.b[q * p.ldb + j];
                    ref += x * y;
                }
            }
            worst = std::max(worst, std::abs(ref - double(c[i * p.ldc + j])) / std::sqrt(double(p.k) + 1));
        }
    return worst;
}

}  // namespace

int main(int argc, char** argv)
{
    int reps = 21;
    std::string out, only;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--reps" && i + 1 < argc)
            reps = std::atoi(argv[++i]);
        else if (arg == "--out" && i + 1 < argc)
            out = argv[++i];
        else if (arg == "--only" && i + 1 < argc)
            only = argv[++i];
        else {
            std::fprintf(stderr, "usage: gemm_shapes [--reps N] [--only CONFIG] [--out DIR]\n");
            return 2;
        }
    }
    if (reps < 1) {
        std::fprintf(stderr, "gemm_shapes: --reps must be positive\n");
        return 2;
    }
    openblas_set_num_threads(1);
    const char* coretype = std::getenv("OPENBLAS_CORETYPE");
    std::printf("single-thread SGEMM, OpenBLAS core %s (OPENBLAS_CORETYPE=%s), medians of %d repetitions, GFLOP/s\n",
                openblas_get_corename(), coretype ? coretype : "unset", reps);
    const auto list = backends();
    std::printf("%-18s %-5s %5s %5s %5s %3s", "config", "role", "m", "n", "k", "op");
    for (const auto& b : list) std::printf(" %13s", b.name.c_str());
    std::printf("\n");

    std::mt19937 rng(7);
    nlohmann::ordered_json products = nlohmann::ordered_json::array();
    std::vector<std::vector<double>> config_seconds(list.size());
    std::string current;
    std::vector<double> totals(list.size(), 0.0);
    double total_flops = 0;
    auto flush_config = [&] {
        if (current.empty()) return;
        std::printf("%-18s total %35s", current.c_str(), "");
        for (std::size_t b = 0; b < list.size(); ++b) std::printf(" %13.1f", total_flops / totals[b] * 1e-9);
        std::printf("\n\n");
        std::fill(totals.begin(), totals.end(), 0.0);
        total_flops = 0;
    };
    for (const Product& p : all_products()) {
        if (!only.empty() && p.config != only) continue;
        if (p.config != current) flush_config(), current = p.config;
        Operands ops(p, rng);
        for (const auto& b : list) {
            const double err = max_error(p, b, ops);
            if (!(err < 1e-4)) {
                std::fprintf(stderr, "gemm_shapes: %s is wrong on %s %s (%zu x %zu x %zu): error %g\n",
                             b.name.c_str(), p.config.c_str(), p.role.c_str(), p.m, p.n, p.k, err);
                return 1;
            }
        }
        // Inner iterations so that one timing spans about 2 ms.
        std::vector<float> c = ops.c;
        auto run = [&](const Backend& b) {
            b.gemm(p.trans_a, p.trans_b, p.m, p.n, p.k, 1.f, ops.a.data(), p.lda, ops.b.data(), p.ldb, 1.f,
                   c.data(), p.ldc);
        };
        const auto start = Clock::now();
        for (int i = 0; i < 20; ++i) run(list[0]);
        const double once = std::chrono::duration<double>(Clock::now() - start).count() / 20;
        const int inner = std::max(1, int(2e-3 / std::max(once, 1e-8)));
        std::vector<std::vector<double>> seconds(list.size());
        for (int r = 0; r < reps; ++r)
            for (std::size_t b = 0; b < list.size(); ++b) {
                std::fill(c.begin(), c.end(), 0.f);
                const auto t0 = Clock::now();
                for (int i = 0; i < inner; ++i) run(list[b]);
                seconds[b].push_back(std::chrono::duration<double>(Clock::now() - t0).count() / inner);
            }
        std::printf("%-18s %-5s %5zu %5zu %5zu %c%c ", p.config.c_str(), p.role.c_str(), p.m, p.n, p.k,
                    p.trans_a ? 'T' : 'N', p.trans_b ? 'T' : 'N');
        nlohmann::ordered_json row = {{"config", p.config}, {"role", p.role}, {"m", p.m}, {"n", p.n}, {"k", p.k},
                                      {"op", std::string(p.trans_a ? "T" : "N") + (p.trans_b ? "T" : "N")}};
        for (std::size_t b = 0; b < list.size(); ++b) {
            const double s = median(seconds[b]);
            totals[b] += s;
            std::printf(" %13.1f", p.flops() / s * 1e-9);
            row[list[b].name + "_gflops"] = p.flops() / s * 1e-9;
        }
        total_flops += p.flops();
        products.push_back(std::move(row));
        std::printf("\n");
    }
    flush_config();
    if (!out.empty()) {
        std::filesystem::create_directories(out);
        const nlohmann::ordered_json json = {{"openblas_core", openblas_get_corename()}, {"products", products}};
        std::ofstream(std::filesystem::path(out) / "gemm_shapes.json") << json.dump(2) << "\n";
    }
}
