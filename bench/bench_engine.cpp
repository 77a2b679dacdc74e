// bench_engine: one training step (forward, backward, Adam) of an MLP 32 -> H -> H -> 64, the shape of
// a coupling conditioner on 64-D data, against the bare cblas_sgemm calls of the same shapes (the
// step's roofline). Single thread. Step and GEMMs are timed interleaved, repetition by repetition, so
// drift on a shared machine affects both alike; medians are reported.
//
//   bench_engine [--reps N] [--out DIR]     writes DIR/bench_engine.json
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <bijou/engine/optim/optim.hpp>

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

using namespace bijou;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

template <class F>
double time_ms(F&& f, int inner)
{
    const auto start = Clock::now();
    for (int i = 0; i < inner; ++i) f();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / inner;
}

Tensor<float> random_tensor(std::size_t rows, std::size_t cols, std::mt19937& rng)
{
    std::normal_distribution<float> normal;
    Tensor<float> t = Tensor<float>::from_shape({rows, cols});
    for (auto& v : t) v = normal(rng);
    return t;
}

// The GEMMs of one step: three forward products, and in the backward pass the weight gradient of
// every layer plus the input gradient of the two upper layers (the data needs none).
struct GemmRoofline {
    std::size_t batch, hidden;
    std::vector<float> x, h1, h2, y, w1, w2, w3, dy, dh2, dh1, dw1, dw2, dw3;

    GemmRoofline(std::size_t b, std::size_t h) : batch(b), hidden(h)
    {
        auto fill = [](std::vector<float>& v, std::size_t n) { v.assign(n, 0.01f); };
        fill(x, b * 32), fill(h1, b * h), fill(h2, b * h), fill(y, b * 64);
        fill(w1, 32 * h), fill(w2, h * h), fill(w3, h * 64);
        fill(dy, b * 64), fill(dh2, b * h), fill(dh1, b * h);
        fill(dw1, 32 * h), fill(dw2, h * h), fill(dw3, h * 64);
    }

    void run()
    {
        using detail::gemm;
        const std::size_t b = batch, h = hidden;
        gemm(false, false, b, h, 32, 1.f, x.data(), 32, w1.data(), h, 0.f, h1.data(), h);
        gemm(false, false, b, h, h, 1.f, h1.data(), h, w2.data(), h, 0.f, h2.data(), h);
        gemm(false, false, b, 64, h, 1.f, h2.data(), h, w3.data(), 64, 0.f, y.data(), 64);
        gemm(true, false, h, 64, b, 1.f, h2.data(), h, dy.data(), 64, 1.f, dw3.data(), 64);
        gemm(false, true, b, h, 64, 1.f, dy.data(), 64, w3.data(), 64, 1.f, dh2.data(), h);
        gemm(true, false, h, h, b, 1.f, h1.data(), h, dh2.data(), h, 1.f, dw2.data(), h);
        gemm(false, true, b, h, h, 1.f, dh2.data(), h, w2.data(), h, 1.f, dh1.data(), h);
        gemm(true, false, 32, h, b, 1.f, x.data(), 32, dh1.data(), h, 1.f, dw1.data(), h);
    }
};

struct Result {
    std::size_t batch, hidden;
    double step_ms, gemm_ms;
};

Result measure(std::size_t batch, std::size_t width, int reps)
{
    std::mt19937 rng(42);
    Input<float> x(32, "x");
    Input<float> target(64, "target");
    auto net = mlp<float>(32, hidden(width, width), 64, MLPOptions<>{.seed = 1});
    auto loss = mean(square(net(x) - target));
    Program program(loss);
    program.bind(batch);
    Adam<float> adam(program.parameters(), AdamOptions{.lr = 1e-3});
    const auto data = random_tensor(batch, 32, rng);
    const auto labels = random_tensor(batch, 64, rng);
    auto step = [&] {
        x.set(data);
        target.set(labels);
        program.forward();
        program.backward();
        adam.step();
    };
    GemmRoofline roofline(batch, width);

    // Enough inner iterations that one timing spans about a millisecond.
    const int inner = std::max(1, int(1.0 / std::max(1e-3, time_ms(step, 3))));
    for (int i = 0; i < 3; ++i) step(), roofline.run();
    std::vector<double> steps, gemms;
    for (int r = 0; r < reps; ++r) {
        steps.push_back(time_ms(step, inner));
        gemms.push_back(time_ms([&] { roofline.run(); }, inner));
    }
    return {batch, width, median(steps), median(gemms)};
}

}  // namespace

int main(int argc, char** argv)
{
    int reps = 31;
    std::string out;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--reps" && i + 1 < argc)
            reps = std::stoi(argv[++i]);
        else if (arg == "--out" && i + 1 < argc)
            out = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_engine [--reps N] [--out DIR]\n");
            return 2;
        }
    }
    openblas_set_num_threads(1);
    const char* coretype = std::getenv("OPENBLAS_CORETYPE");
    std::printf("MLP 32 -> H -> H -> 64 training step (forward, backward, Adam), single thread\n");
    std::printf("OpenBLAS core: %s (OPENBLAS_CORETYPE=%s), %d repetitions, medians\n\n", openblas_get_corename(),
                coretype ? coretype : "unset", reps);
    std::printf("%6s %6s %12s %12s %11s\n", "batch", "hidden", "step ms", "gemm ms", "efficiency");
    std::vector<Result> results;
    for (std::size_t h : {64, 256})
        for (std::size_t b : {64, 256, 1024}) {
            const Result r = measure(b, h, reps);
            results.push_back(r);
            std::printf("%6zu %6zu %12.4f %12.4f %11.3f\n", r.batch, r.hidden, r.step_ms, r.gemm_ms, r.gemm_ms / r.step_ms);
        }
    if (!out.empty()) {
        std::filesystem::create_directories(out);
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& r : results)
            rows.push_back({{"batch", r.batch},
                            {"hidden", r.hidden},
                            {"step_ms_median", r.step_ms},
                            {"gemm_ms_median", r.gemm_ms},
                            {"efficiency", r.gemm_ms / r.step_ms},
                            {"openblas_core", openblas_get_corename()}});
        std::ofstream(std::filesystem::path(out) / "bench_engine.json") << rows.dump(2) << "\n";
    }
}
