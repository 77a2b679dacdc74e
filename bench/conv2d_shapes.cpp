// conv2d_shapes: time and GFLOP/s of conv2d's forward and backward (input and weight gradients) on the
// convolutions of the Fashion-MNIST Glow's conditioners (levels 2, hidden 64, batch 64): per level the
// first 3x3 (C/2 -> 64), the 1x1 (64 -> 64) and the last 3x3 (64 -> C) convolution.
//
//   bench_conv2d_shapes [--batch 64] [--repeats 30] [--out DIR]     prints a table; DIR/metrics.json
//
// FLOPs: 2 B Co (Ho Wo) (Ci k k) for the forward product, as many for each of the two backward ones.
// Each time is the median over --repeats runs of forward + backward.
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

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "conv2d forward and backward on the Fashion-MNIST Glow's shapes.");
    const auto batch = cli.option<std::size_t>("batch", 64, "images per call");
    const auto repeats = cli.option<std::size_t>("repeats", 30, "timed runs per shape (the median is reported)");
    const std::string out = cli.option<std::string>("out", "", "directory for metrics.json (none: print only)");
    cli.done();

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
        metrics.add("batch", double(batch))
            .add("ms", all_ms)
            .add("gflops", all_gflops)
            .add("total_ms", total_ms)
            .add("total_gflops", total_flops / (total_ms * 1e6));
        metrics.write(std::filesystem::path(out) / "metrics.json");
    }
    return 0;
}
