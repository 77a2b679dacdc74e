// conv2d_shapes: time and GFLOP/s of conv2d's forward and backward (input and weight gradients) on the
// convolutions of the Fashion-MNIST Glow's conditioners (levels 2, hidden 64, batch 64): per level the
// first 3x3 (C/2 -> 64), the 1x1 (64 -> 64) and the last 3x3 (64 -> C) convolution.
//
//   bench_conv2d_shapes [--batch 64] [--repeats 30] [--out DIR]     prints a table; DIR/metrics.json
//   bench_conv2d_shapes --compare [--rounds 5] [--sweep]             the GEMM path against the direct one
//
// FLOPs: 2 B Co (Ho Wo) (Ci k k) for the forward product, as many for each of the two backward ones.
// Each time is the median over --repeats runs of forward + backward.
//
// --compare times each 3x3 shape with conv2d's two algorithms forced (Conv2dAlgorithm::gemm and
// ::direct), on the same data through the same Input and Params: per round, every shape runs each
// algorithm once (--repeats runs, their median), alternating which goes first, and the table shows the
// median over --rounds rounds. --sweep adds 3x3 shapes of Ci in {2, 4, 8, 16, 32, 64} to Co in {4, 8, 16,
// 32, 64} channels at 14 x 14 and 7 x 7: the measurements behind detail::conv2d_direct_pays.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <bijou/engine/engine.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/output.hpp>

using namespace bijou;

namespace {

struct Shape2d {
    const char* where;
    ImageShape in;
    std::size_t out_channels, kernel;
};

const Shape2d shapes[] = {
    {"level 1 first", {2, 14, 14}, 64, 3}, {"level 1 middle", {64, 14, 14}, 64, 1}, {"level 1 last", {64, 14, 14}, 4, 3},
    {"level 2 first", {4, 7, 7}, 64, 3},   {"level 2 middle", {64, 7, 7}, 64, 1},   {"level 2 last", {64, 7, 7}, 8, 3},
};

// rows x cols draws of N(0, sd^2).
Tensor<float> normal(std::size_t rows, std::size_t cols, float sd, std::mt19937_64& rng)
{
    std::normal_distribution<float> draw(0, sd);
    Tensor<float> t = Tensor<float>::from_shape({rows, cols});
    for (float& v : t) v = draw(rng);
    return t;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double conv_flops(std::size_t batch, const Conv2dGeometry& g)
{
    return 3 * 2.0 * double(batch) * double(g.out.channels) * double(g.out.pixels()) * double(g.patch_rows());
}

// One convolution's program (forward, then backward of the mean of its row sums), timed.
struct Timed {
    Input<float> x;
    Param<float> w, b;
    Conv2dGeometry g;
    Tensor<float> data;

    Timed(const Shape2d& s, std::size_t batch, std::mt19937_64& rng)
        : x(s.in.size(), "x", {.requires_grad = true}),
          w(normal(s.in.channels * s.kernel * s.kernel, s.out_channels, 0.1f, rng), "w"),
          b(Tensor<float>(xt::zeros<float>({std::size_t(1), s.out_channels})), "b"),
          g(conv2d_geometry("bench", {s.in, s.kernel, 1, Padding::same}, s.out_channels))
    {
        data = normal(batch, s.in.size(), 1, rng);
    }

    // The median ms of `repeats` runs of forward + backward with the algorithm, after three warm-up runs.
    double time(const Shape2d& s, Conv2dAlgorithm algorithm, std::size_t batch, std::size_t repeats)
    {
        const Conv2dOptions options{s.in, s.kernel, 1, Padding::same, algorithm};
        Program program(mean(sum(conv2d(x, w, b, options), 1)));
        program.bind(batch);
        x.set(data);
        std::vector<double> ms;
        for (std::size_t r = 0; r < repeats + 3; ++r) {
            const auto start = std::chrono::steady_clock::now();
            program.forward();
            program.backward();
            const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            program.zero_grad();
            if (r >= 3) ms.push_back(elapsed);
        }
        return median(ms);
    }
};

int compare(std::size_t batch, std::size_t repeats, std::size_t rounds, bool sweep)
{
    std::vector<Shape2d> cases;
    std::vector<std::string> names;
    for (const Shape2d& s : shapes)
        if (s.kernel == 3) cases.push_back(s);
    if (sweep)
        for (const std::size_t size : {14, 7})
            for (const std::size_t ci : {2, 4, 8, 16, 32, 64})
                for (const std::size_t co : {4, 8, 16, 32, 64}) cases.push_back({"sweep", {ci, size, size}, co, 3});
    std::mt19937_64 rng(1);
    std::vector<Timed> timed;
    timed.reserve(cases.size());
    for (const Shape2d& s : cases) timed.emplace_back(s, batch, rng);
    std::vector<std::vector<double>> gemm(cases.size()), direct(cases.size());
    for (std::size_t round = 0; round < rounds; ++round)
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const bool gemm_first = (round + i) % 2 == 0;
            for (int k = 0; k < 2; ++k) {
                const bool run_gemm = (k == 0) == gemm_first;
                const double ms = timed[i].time(cases[i], run_gemm ? Conv2dAlgorithm::gemm : Conv2dAlgorithm::direct,
                                                batch, repeats);
                (run_gemm ? gemm : direct)[i].push_back(ms);
            }
        }
    std::printf("%-14s %-10s %4s %10s %10s %10s %10s %7s %s\n", "conv", "input", "Co", "gemm ms", "GFLOP/s", "direct ms",
                "GFLOP/s", "ratio", "automatic");
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const double flops = conv_flops(batch, timed[i].g), old_ms = median(gemm[i]), new_ms = median(direct[i]);
        std::printf("%-14s %-10s %4zu %10.3f %10.1f %10.3f %10.1f %7.2f %s\n", cases[i].where,
                    to_string(cases[i].in).c_str(), cases[i].out_channels, old_ms, flops / (old_ms * 1e6), new_ms,
                    flops / (new_ms * 1e6), old_ms / new_ms, detail::conv2d_direct_pays(timed[i].g) ? "direct" : "gemm");
    }
    std::printf("medians over %zu rounds of the median of %zu runs; ratio: gemm ms / direct ms\n", rounds, repeats);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "conv2d forward and backward on the Fashion-MNIST Glow's shapes.");
    const auto batch = cli.option<std::size_t>("batch", 64, "images per call");
    const auto repeats = cli.option<std::size_t>("repeats", 30, "timed runs per shape (the median is reported)");
    const std::string out = cli.option<std::string>("out", "", "directory for metrics.json (none: print only)");
    const bool compare_paths = cli.flag("compare", "time the GEMM path against the direct one on each 3x3 shape");
    const auto rounds = cli.option<std::size_t>("rounds", 5, "with --compare: interleaved rounds (the median is reported)");
    const bool sweep = cli.flag("sweep", "with --compare: also Ci -> Co channels, Ci from 2 to 64, Co from 4 to 64");
    cli.done();
    if (compare_paths) return compare(batch, repeats, rounds, sweep);

    std::mt19937_64 rng(1);
    examples::Metrics metrics;
    std::vector<double> all_ms, all_gflops;
    double total_ms = 0, total_flops = 0;
    std::printf("%-16s %-12s %4s %2s %10s %10s\n", "conv", "input", "Co", "k", "ms", "GFLOP/s");
    for (const Shape2d& s : shapes) {
        const Conv2dOptions options{s.in, s.kernel, 1, Padding::same};
        const Conv2dGeometry g = conv2d_geometry("bench", options, s.out_channels);
        Input<float> x(s.in.size(), "x", {.requires_grad = true});
        Param<float> w(normal(g.patch_rows(), s.out_channels, 0.1f, rng), "w");
        Param<float> b(Tensor<float>(xt::zeros<float>({std::size_t(1), s.out_channels})), "b");
        Program program(mean(sum(conv2d(x, w, b, options), 1)));
        program.bind(batch);
        x.set(normal(batch, s.in.size(), 1, rng));
        std::vector<double> ms;
        for (std::size_t r = 0; r < repeats + 3; ++r) {
            const auto start = std::chrono::steady_clock::now();
            program.forward();
            program.backward();
            const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            program.zero_grad();
            if (r >= 3) ms.push_back(elapsed);  // three warm-up runs
        }
        const double flops = 3 * 2.0 * double(batch) * double(s.out_channels) * double(g.out.pixels()) * double(g.patch_rows());
        const double t = median(ms), gflops = flops / (t * 1e6);
        total_ms += t;
        total_flops += flops;
        all_ms.push_back(t);
        all_gflops.push_back(gflops);
        std::printf("%-16s %-12s %4zu %2zu %10.3f %10.1f\n", s.where, to_string(s.in).c_str(), s.out_channels, s.kernel, t,
                    gflops);
    }
    std::printf("all six: %.2f ms per forward + backward, %.1f GFLOP/s (a step of the Glow runs each 8 times)\n", total_ms,
                total_flops / (total_ms * 1e6));
    if (!out.empty()) {
        std::filesystem::create_directories(out);
        metrics.add("batch", batch)
            .add("ms", all_ms)
            .add("gflops", all_gflops)
            .add("total_ms", total_ms)
            .add("total_gflops", total_flops / (total_ms * 1e6));
        metrics.write(std::filesystem::path(out) / "metrics.json");
    }
    return 0;
}
