// boundary_cost: what the block boundaries of a chain cost in a training step.
//
// The same flow is built twice with the same seed: as a chain (`dsl::repeat` / `dsl::seq`: one program
// per block, joined at run time, dsl/chain.hpp) and fused (`dsl::fused`: the whole flow as one static
// expression, as `seq` compiled before block boundaries existed). Both train on the same batch with
// Adam; their steps are interleaved in one process, in rounds of `--steps-per-round` steps each, in
// alternating order, so that both see the same machine load. Reported: the median step time of each and
// the median and quartiles of the per-round ratio chain / fused. The first losses of both must agree
// (same parameters, same maths), else the program fails.
//
//   bench_boundary_cost [--rounds 60] [--steps-per-round 20] [--only realnvp_2d ...] [--out DIR]
//
// Writes DIR/metrics.json (default out/boundary_cost).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <bijou/bijou.hpp>
#include <bijou/engine/blas.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/output.hpp>

using namespace bijou;

namespace {

struct Settings {
    std::size_t rounds = 60, steps_per_round = 20;
    std::vector<std::string> only;
};

struct Result {
    std::string name;
    double chain_ms = 0, fused_ms = 0, ratio_median = 0, ratio_q25 = 0, ratio_q75 = 0;
};

double quantile(std::vector<double> v, double q)
{
    std::sort(v.begin(), v.end());
    const double at = q * double(v.size() - 1);
    const auto lo = std::size_t(std::floor(at));
    const auto hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (at - double(lo)) * (v[hi] - v[lo]);
}

// A bound training step of one flow: the NLL program on a fixed batch, and Adam.
template <class Flow>
struct Trainer {
    Flow flow;
    Input<float> x;
    decltype(flow.loss_program(x)) program;
    Adam<float> adam;

    Trainer(Flow f, const Tensor<float>& batch)
        : flow(std::move(f)), x(flow.dim(), "x"), program(flow.loss_program(x)), adam(flow.parameters(), {.lr = 1e-4})
    {
        program.bind(batch.shape()[0]);
        x.set(batch);
    }
    double step()
    {
        program.forward();
        program.backward();
        adam.step();
        return double(program.value()(0, 0));
    }
    // milliseconds per step over n steps
    double time(std::size_t n)
    {
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < n; ++i) step();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
               double(n);
    }
};

template <class ChainSpec, class FusedSpec>
Result compare(const std::string& name, std::size_t dim, std::size_t batch, const ChainSpec& chain_spec,
               const FusedSpec& fused_spec, const Settings& s)
{
    std::mt19937_64 rng(7);
    std::normal_distribution<float> normal;
    Tensor<float> data = Tensor<float>::from_shape({batch, dim});
    for (auto& v : data) v = normal(rng);

    Trainer chain(make_flow<float>(dim, chain_spec, 1), data);
    Trainer fused(make_flow<float>(dim, fused_spec, 1), data);
    const double first_chain = chain.step(), first_fused = fused.step();
    if (std::abs(first_chain - first_fused) > 1e-4 * (1 + std::abs(first_fused)))
        throw_usage_error("bench_boundary_cost", name, ": the chain's first loss ", first_chain,
                          " differs from the fused flow's ", first_fused);
    for (int i = 0; i < 20; ++i) chain.step(), fused.step();  // warm-up

    std::vector<double> chain_ms, fused_ms, ratios;
    for (std::size_t r = 0; r < s.rounds; ++r) {
        double c = 0, f = 0;
        if (r % 2 == 0) {
            c = chain.time(s.steps_per_round);
            f = fused.time(s.steps_per_round);
        } else {
            f = fused.time(s.steps_per_round);
            c = chain.time(s.steps_per_round);
        }
        chain_ms.push_back(c);
        fused_ms.push_back(f);
        ratios.push_back(c / f);
    }
    Result result{name, quantile(chain_ms, 0.5), quantile(fused_ms, 0.5), quantile(ratios, 0.5),
                  quantile(ratios, 0.25), quantile(ratios, 0.75)};
    std::printf("%-14s %9.3f %9.3f %8.3f  %6.3f-%6.3f\n", name.c_str(), result.chain_ms, result.fused_ms,
                result.ratio_median, result.ratio_q25, result.ratio_q75);
    std::fflush(stdout);
    return result;
}

bool wanted(const Settings& s, const std::string& name)
{
    return s.only.empty() || std::find(s.only.begin(), s.only.end(), name) != s.only.end();
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "bench_boundary_cost: training-step time of chained against fused flows");
    Settings s;
    s.rounds = cli.option<std::size_t>("rounds", 60, "rounds of interleaved timing");
    s.steps_per_round = cli.option<std::size_t>("steps-per-round", 20, "training steps per flow per round");
    const std::string only = cli.option<std::string>("only", "", "comma-separated configurations (default: all)");
    const std::filesystem::path out = cli.option<std::string>("out", "out/boundary_cost", "output directory");
    cli.done();
    for (std::size_t start = 0; start < only.size();) {
        const std::size_t comma = std::min(only.find(',', start), only.size());
        s.only.push_back(only.substr(start, comma - start));
        start = comma + 1;
    }
    set_blas_threads(1);

    // Four blocks of each example's flow: density2d's RealNVP and spline flows (2-D, hidden 64), the
    // digits RealNVP (64-D, hidden 256, random permutations) and the eight_modes INN's coupling blocks
    // (Glow couplings and random permutations, 10-D, hidden 64), each trained by maximum likelihood.
    const auto realnvp_64 = flows::realnvp_coupling(dsl::conditioner(hidden(64, 64)));
    const auto spline_64 = flows::spline_coupling(dsl::conditioner(hidden(64, 64)), 8, 4.0);
    const auto realnvp_256 = flows::realnvp_coupling(dsl::conditioner(hidden(256, 256)));
    const auto glow_64 = flows::glow_coupling(dsl::conditioner(hidden(64, 64)));
    const auto rev = dsl::reverse();
    const auto perm = dsl::permute_random();

    std::printf("%-14s %9s %9s %8s  %s\n", "configuration", "chain ms", "fused ms", "ratio", "q25-q75");
    std::vector<Result> results;
    if (wanted(s, "realnvp_2d"))
        results.push_back(compare("realnvp_2d", 2, 256, dsl::repeat(4, dsl::seq(realnvp_64, rev)),
                                  dsl::fused(realnvp_64, rev, realnvp_64, rev, realnvp_64, rev, realnvp_64, rev), s));
    if (wanted(s, "spline_2d"))
        results.push_back(compare("spline_2d", 2, 256, dsl::repeat(4, dsl::seq(spline_64, rev)),
                                  dsl::fused(spline_64, rev, spline_64, rev, spline_64, rev, spline_64, rev), s));
    if (wanted(s, "realnvp_64d"))
        results.push_back(compare("realnvp_64d", 64, 256, dsl::repeat(4, dsl::seq(realnvp_256, perm)),
                                  dsl::fused(realnvp_256, perm, realnvp_256, perm, realnvp_256, perm, realnvp_256, perm),
                                  s));
    if (wanted(s, "glow_10d"))
        results.push_back(compare("glow_10d", 10, 500, dsl::repeat(4, dsl::seq(glow_64, perm)),
                                  dsl::fused(glow_64, perm, glow_64, perm, glow_64, perm, glow_64, perm), s));

    examples::Metrics metrics;
    metrics.add("rounds", s.rounds).add("steps_per_round", s.steps_per_round);
    for (const Result& r : results)
        metrics.add(r.name + ".chain_ms", r.chain_ms)
            .add(r.name + ".fused_ms", r.fused_ms)
            .add(r.name + ".ratio_median", r.ratio_median)
            .add(r.name + ".ratio_q25", r.ratio_q25)
            .add(r.name + ".ratio_q75", r.ratio_q75);
    std::filesystem::create_directories(out);
    metrics.write(out / "metrics.json");
    std::printf("metrics: %s\n", (out / "metrics.json").c_str());
}
