// evaluation_memory: peak memory and time of a Flow's evaluations on many rows, for the Fashion-MNIST
// Glow of issue 12 (levels 2, K 8, hidden 64): log_prob of --rows rows, then sample of as many, in one
// process. Evaluations bind their programs without adjoints and run the chain's blocks in chunks of
// dsl::detail::evaluation_chunk_rows rows (docs/decisions.md, entry 24).
//
//   bench_evaluation_memory [--rows 4096] [--out DIR]     prints one line; DIR/metrics.json
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sys/resource.h>

#include <bijou/bijou.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/flows/glow.hpp>

using namespace bijou;

namespace {
double peak_rss_mb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}
double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Peak memory of a Glow's log_prob and sample on many rows.");
    const auto rows = cli.option<std::size_t>("rows", 4096, "rows of each call");
    const std::string out = cli.option<std::string>("out", "", "directory for metrics.json (none: print only)");
    cli.done();
    try {
        auto flow = make_flow<float>(784, flows::multiscale_glow<2>({1, 28, 28}, 8, 64), 0);
        Tensor<float> x = Tensor<float>::from_shape({rows, 784});
        for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = 0.3f * std::sin(0.01f * float(i));
        const double before = peak_rss_mb();

        auto start = std::chrono::steady_clock::now();
        const Tensor<float> log_p = flow.log_prob(x);
        const double log_prob_seconds = seconds_since(start);
        const double after_log_prob = peak_rss_mb();

        std::mt19937 rng(1);
        start = std::chrono::steady_clock::now();
        const Tensor<float> samples = flow.sample(rows, rng);
        const double sample_seconds = seconds_since(start);
        const double after_sample = peak_rss_mb();

        std::printf("glow L2 K8 H64, %zu rows, chunks of %zu: log_prob %.0f rows/s, sample %.0f rows/s; peak RSS "
                    "%.0f MB before, %.0f MB after log_prob, %.0f MB after sample\n",
                    rows, dsl::detail::evaluation_chunk_rows, double(rows) / log_prob_seconds,
                    double(rows) / sample_seconds, before, after_log_prob, after_sample);
        if (!out.empty()) {
            std::filesystem::create_directories(out);
            examples::Metrics metrics;
            metrics.add("rows", rows)
                .add("chunk_rows", dsl::detail::evaluation_chunk_rows)
                .add("log_prob_rows_per_second", double(rows) / log_prob_seconds)
                .add("sample_rows_per_second", double(rows) / sample_seconds)
                .add("peak_rss_mb_before", before)
                .add("peak_rss_mb_after_log_prob", after_log_prob)
                .add("peak_rss_mb_after_sample", after_sample)
                .add("first_log_prob", log_p(0, 0))
                .add("samples_finite", std::isfinite(double(xt::sum(samples)())) ? 1.0 : 0.0);
            metrics.write(std::filesystem::path(out) / "metrics.json");
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
