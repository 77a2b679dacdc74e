// input_checks: what the finite-value checks of a flow's inputs cost (flows/input_checks.hpp).
//
// 1. log_prob on a batch with the checks on and off, interleaved in rounds (the check is one pass over
//    the batch per call): the ratio on / off.
// 2. fit's check of its training data (one pass over the whole set, once per fit call) against one
//    training step of the same flow: the worst case is a fit of a single step.
// Flows: density2d's RealNVP (2-D, 8 blocks, hidden 64), a digits-sized RealNVP (64-D, hidden 256), and
// the same after a logit layer for data in [0, 1] (the check is then against the flow's support).
//
//   bench_input_checks [--rounds 100] [--out out/input_checks]
#include <algorithm>
#include <chrono>
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

using clock_type = std::chrono::steady_clock;

double median(std::vector<double> v)
{
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    return v[v.size() / 2];
}

template <class F>
double milliseconds(F&& f, std::size_t repeats)
{
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < repeats; ++i) f();
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count() / double(repeats);
}

// Data inside the flow's support: normal on the real line, uniform on a bounded support.
Tensor<float> data_for(const dsl::Interval& support, std::size_t rows, std::size_t cols, unsigned seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> uniform(0.001f, 0.999f);
    Tensor<float> x = Tensor<float>::from_shape({rows, cols});
    for (auto& v : x) v = support.is_real_line() ? normal(rng) : float(support.lo + (support.hi - support.lo) * uniform(rng));
    return x;
}

template <class Flow>
void measure(const std::string& name, Flow flow, std::size_t dim, std::size_t train_rows, std::size_t rounds,
             examples::Metrics& metrics)
{
    const Tensor<float> batch = data_for(flow.support(), 256, dim, 1);
    const Tensor<float> train = data_for(flow.support(), train_rows, dim, 2);

    // 1. log_prob, checks on against off
    std::vector<double> ratios, on_ms;
    for (int i = 0; i < 10; ++i) flow.log_prob(batch);
    for (std::size_t r = 0; r < rounds; ++r) {
        double on = 0, off = 0;
        for (const bool checks : r % 2 == 0 ? std::vector{true, false} : std::vector{false, true}) {
            set_input_checks(checks);
            (checks ? on : off) = milliseconds([&] { flow.log_prob(batch); }, 10);
        }
        ratios.push_back(on / off);
        on_ms.push_back(on);
    }
    set_input_checks(true);

    // 2. fit's one check of the training set against a training step
    Input<float> x(dim, "x");
    auto program = flow.loss_program(x);
    program.bind(256);
    x.set(batch);
    Adam<float> adam(flow.parameters(), {.lr = 1e-5});
    std::vector<double> step_ms, scan_ms;
    for (std::size_t r = 0; r < rounds; ++r) {
        step_ms.push_back(milliseconds(
            [&] {
                program.forward();
                program.backward();
                adam.step();
            },
            5));
        scan_ms.push_back(milliseconds([&] { require_within(train, flow.support(), "fit", "", "training data"); }, 5));
    }
    const double ratio = median(ratios), step = median(step_ms), scan = median(scan_ms);
    std::printf("%-12s log_prob(256) %8.3f ms, checks on / off %6.4f;  fit's check of %zu x %zu: %7.3f ms = %6.4f "
                "of one step (%7.3f ms)\n",
                name.c_str(), median(on_ms), ratio, train_rows, dim, scan, scan / step, step);
    metrics.add(name + ".log_prob_ms", median(on_ms))
        .add(name + ".log_prob_on_over_off", ratio)
        .add(name + ".training_rows", double(train_rows))
        .add(name + ".fit_check_ms", scan)
        .add(name + ".step_ms", step)
        .add(name + ".fit_check_over_one_step", scan / step);
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "bench_input_checks: the cost of checking a flow's inputs for NaN and inf");
    const auto rounds = cli.option<std::size_t>("rounds", 100, "interleaved rounds");
    const std::filesystem::path out = cli.option<std::string>("out", "out/input_checks", "output directory");
    cli.done();
    set_blas_threads(1);

    examples::Metrics metrics;
    measure("realnvp_2d",
            make_flow<float>(2, dsl::repeat(8, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(64, 64))),
                                                        dsl::reverse())),
                             1),
            2, 100000, rounds, metrics);
    measure("realnvp_64d",
            make_flow<float>(64, dsl::repeat(8, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(256, 256))),
                                                         dsl::permute_random())),
                             1),
            64, 1437, rounds, metrics);
    measure("logit_realnvp_64d",
            make_flow<float, dsl::closed_interval(0, 1)>(
                64, dsl::seq(flows::logit_layer(0.05),
                             dsl::repeat(8, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(256, 256))),
                                                     dsl::permute_random()))),
                1),
            64, 1437, rounds, metrics);
    std::filesystem::create_directories(out);
    metrics.write(out / "metrics.json");
    std::printf("metrics: %s\n", (out / "metrics.json").c_str());
}
