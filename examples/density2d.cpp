// density2d: density estimation on FFJORD's 2-D toy distributions with RealNVP, Glow or a neural spline
// flow, trained by maximum likelihood.
//
//   density2d [--data moons] [--flow realnvp|glow|spline] [--blocks 8] [--hidden 64] [--batch 256]
//             [--steps 5000] [--lr 1e-3] [--seed 0] [--threads 1] [--out DIR] [--resume CKPT]
//
// Data.        --data is one of 8gaussians, checkerboard, moons, circles, rings, pinwheel, 2spirals,
//              swissroll, drawn as FFJORD's lib/toy_data.py draws them (examples/common/toy_data.hpp
//              documents each generator). Training set: --train-size points; test set: 20000 independent
//              points from a generator seeded differently.
// Model.       --blocks steps of
//                realnvp   affine coupling (MLP 1 -> H -> H -> 2, soft-clamped log-scale), then reversal
//                glow      ActNorm (data-dependent init), learned LU-decomposed linear map, affine coupling
//                spline    rational-quadratic spline coupling (8 bins on [-4, 4], linear tails), reversal
//              built with dsl::repeat(n, ...), so the depth is a run-time choice, over a standard normal.
// Loss.        Mean negative log-likelihood of a minibatch, -log p(x) = -log N(f(x)) - log|det Df(x)|.
// Training.    Adam, learning rate cosine-decayed from --lr to --lr / 100 after a 2% warm-up, gradient norm
//              clipped at 10, checkpoints every 500 steps (examples/common/training_run.hpp).
// Evaluation.  Mean test NLL in nats per point; the density on a 200 x 200 grid; 10000 samples.
//
// Writes to DIR the numbers of the figures, which scripts/figures/density2d.py draws (density.png: the
// model's density beside a histogram of the test data; samples.png: a histogram and a scatter plot of
// samples):
//   log_density.npy  200 x 200 float32, log p(x) at the cell centres of a 200 x 200 grid over the extent,
//                    row 0 the top (y = y_max), column 0 the left (x = x_min) (examples/common/extent.hpp)
//   test.npy         20000 x 2 float32, the test set
//   samples.npy      10000 x 2 float32, samples of the flow (also as samples.csv, one "x1,x2" per line)
//   metrics.json     the settings, test_nll_nats, train_nll_nats, speeds, roundtrip_max_abs_err, and
//                    extent: [x_min, x_max, y_min, y_max] of the grid
// and log.csv, test_curve.csv (step,test_nll_nats) and checkpoint.ckpt.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <bijou/bijou.hpp>
#include <bijou/engine/blas.hpp>
#include <bijou/engine/io/npy.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/extent.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/toy_data.hpp>
#include <bijou/examples/common/training_run.hpp>

using namespace bijou;
using T = float;

namespace {

struct Settings {
    std::string data, flow;
    std::size_t blocks, hidden, batch, steps, train_size, seed, eval_every;
    double lr;
};

// The three architectures, each one block repeated --blocks times.
auto realnvp(const Settings& s)
{
    return dsl::repeat(s.blocks, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(s.hidden, s.hidden))),
                                          dsl::reverse()));
}
auto glow(const Settings& s)
{
    return dsl::repeat(s.blocks, dsl::seq(flows::actnorm(), flows::lu_linear(),
                                          flows::realnvp_coupling(dsl::conditioner(hidden(s.hidden, s.hidden)))));
}
auto spline(const Settings& s)
{
    return dsl::repeat(s.blocks, dsl::seq(flows::spline_coupling(dsl::conditioner(hidden(s.hidden, s.hidden)), 8, 4.0),
                                          dsl::reverse()));
}

Tensor<T> to_float(const Tensor<double>& x) { return xt::cast<T>(x); }

double mean_nll(const Tensor<T>& log_prob) { return -xt::mean(xt::cast<double>(log_prob))(); }

// Median wall time of `repeats` calls of f, in seconds.
template <class F>
double median_seconds(int repeats, F&& f)
{
    std::vector<double> times;
    for (int i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        f();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(times.begin(), times.begin() + repeats / 2, times.end());
    return times[std::size_t(repeats / 2)];
}

template <class Flow>
int run(Flow& flow, const Settings& s, const std::filesystem::path& out, const std::string& resume)
{
    if (world().is_root()) std::filesystem::create_directories(out);
    std::mt19937_64 data_rng(s.seed), test_rng(s.seed + 1'000'003), sample_rng(s.seed + 7);
    const Tensor<T> train = to_float(examples::toy_data::generate(s.data, s.train_size, data_rng));
    const Tensor<T> test = to_float(examples::toy_data::generate(s.data, 20000, test_rng));
    const examples::Extent extent = examples::toy_data::extent(s.data);

    // Data-dependent initialisation (ActNorm) on a batch of training data; restored values win on resume.
    flow.initialize(xt::eval(xt::view(train, xt::range(0, std::min<std::size_t>(train.shape()[0], 4096)), xt::all())));

    examples::TrainingRun training{.out = out,
                                   .resume = resume,
                                   .config = "density2d " + s.data + " " + s.flow + " blocks " +
                                             std::to_string(s.blocks) + " hidden " + std::to_string(s.hidden)};
    const auto warmup = std::int64_t(s.steps / 50);
    // How the test NLL falls with training: DIR/test_curve.csv, every --eval-every steps (by the root
    // process of a data-parallel run).
    std::optional<examples::CsvLog> curve;
    if (world().is_root())
        curve.emplace(out / "test_curve.csv", "step,test_nll_nats",
                      resume.empty() ? examples::CsvLog::Mode::truncate : examples::CsvLog::Mode::append);
    auto evaluate_test = [&](std::int64_t step, double, double) {
        if (curve && s.eval_every > 0 && step % std::int64_t(s.eval_every) == 0)
            curve->row(step, mean_nll(flow.log_prob(test)));
        return true;
    };
    const auto report = training.fit(
        flow, train,
        FitOptions<T>{.batch_size = s.batch,
                      .steps = std::int64_t(s.steps),
                      .lr = s.lr,
                      .schedule = CosineDecay{.base = s.lr, .min_lr = s.lr / 100, .total_steps = std::int64_t(s.steps),
                                              .warmup_steps = warmup},
                      .max_grad_norm = 10,
                      .seed = s.seed,
                      .on_step = evaluate_test});
    world().dismiss_all_but_root();  // a data-parallel run's root evaluates and writes alone

    // Evaluation.
    const double test_nll = mean_nll(flow.log_prob(test));
    const double train_nll = mean_nll(flow.log_prob(xt::eval(xt::view(train, xt::range(0, 20000), xt::all()))));
    Tensor<T> samples;
    const double sample_seconds = median_seconds(5, [&] { samples = flow.sample(10000, sample_rng); });
    constexpr std::size_t grid_side = 200;  // the density's grid: 200 x 200 cells over the extent
    const Tensor<T> grid = examples::grid_points<T>(extent, grid_side, grid_side);
    Tensor<T> grid_log_prob;
    const double density_seconds = median_seconds(5, [&] { grid_log_prob = flow.log_prob(grid); });
    const auto [z, log_det] = flow.forward(test);
    const Tensor<T> back = flow.inverse(z).first;
    const double roundtrip = xt::amax(xt::abs(xt::cast<double>(back) - xt::cast<double>(test)))();

    // The figures' numbers (scripts/figures/density2d.py draws them).
    save_npy(out / "log_density.npy", xt::reshape_view(grid_log_prob, {grid_side, grid_side}));
    save_npy(out / "test.npy", test);
    save_npy(out / "samples.npy", samples);
    {
        std::ofstream csv(out / "samples.csv");
        csv.precision(7);
        for (std::size_t i = 0; i < samples.shape()[0]; ++i) csv << samples(i, 0) << ',' << samples(i, 1) << '\n';
    }

    examples::Metrics metrics;
    metrics.add("data", s.data)
        .add("flow", s.flow)
        .add("blocks", s.blocks)
        .add("hidden", s.hidden)
        .add("batch", s.batch)
        .add("steps", report.steps_run)
        .add("parameters", [&] {
                 std::size_t n = 0;
                 for (const auto& p : flow.parameters()) n += p.size();
                 return n;
             }())
        .add("test_nll_nats", test_nll)
        .add("train_nll_nats", train_nll)
        .add("step_ms_median", report.median_step_ms)
        .add("processes", report.processes)  // that trained it (mpirun -np P; 1 alone)
        .add("sum_ms_median", report.median_sum_ms)  // of a step, the sum over the processes
        .add("samples_per_s", 10000 / sample_seconds)
        .add("density_eval_per_s", double(grid.shape()[0]) / density_seconds)
        .add("roundtrip_max_abs_err", roundtrip)
        .add("blas_threads", blas_threads())
        .add("extent", std::vector<double>{extent.x_min, extent.x_max, extent.y_min, extent.y_max});
    metrics.write(out / "metrics.json");
    std::printf("density2d %s %s: test NLL %.4f nats (train %.4f), step %.3f ms, %.0f samples/s, round trip %.2e -> %s\n",
                s.data.c_str(), s.flow.c_str(), test_nll, train_nll, report.median_step_ms, 10000 / sample_seconds,
                roundtrip, out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Density estimation on 2-D toy data with a normalizing flow.");
    Settings s;
    s.data = cli.option<std::string>("data", "moons", "8gaussians, checkerboard, moons, circles, rings, pinwheel, 2spirals, swissroll");
    s.flow = cli.option<std::string>("flow", "realnvp", "realnvp, glow or spline");
    s.blocks = cli.option<std::size_t>("blocks", 8, "flow steps");
    s.hidden = cli.option<std::size_t>("hidden", 64, "hidden units per conditioner layer (two layers)");
    s.batch = cli.option<std::size_t>("batch", 256, "minibatch size");
    s.steps = cli.option<std::size_t>("steps", 5000, "training steps");
    s.lr = cli.option<double>("lr", 1e-3, "peak learning rate (cosine decay to lr/100)");
    s.seed = cli.option<std::size_t>("seed", 0, "seed of the data, the initial parameters and the shuffles");
    s.train_size = cli.option<std::size_t>("train-size", 100000, "training points");
    s.eval_every = cli.option<std::size_t>("eval-every", 500, "test NLL every this many steps (test_curve.csv); 0 = off");
    const int threads = cli.option<int>("threads", 1, "BLAS threads");
    const std::string out = cli.option<std::string>("out", "out/density2d", "output directory");
    const std::string resume = cli.option<std::string>("resume", "", "checkpoint to continue from");
    cli.data_parallel();  // mpirun -np P density2d ...: the training shared by P processes
    cli.done();

    try {
        set_blas_threads(threads);
        if (s.train_size < 20000) throw_usage_error("density2d", "--train-size must be at least 20000");
        if (s.flow == "realnvp") {
            auto flow = make_flow<T>(2, realnvp(s), s.seed);
            return run(flow, s, out, resume);
        }
        if (s.flow == "glow") {
            auto flow = make_flow<T>(2, glow(s), s.seed);
            return run(flow, s, out, resume);
        }
        if (s.flow == "spline") {
            auto flow = make_flow<T>(2, spline(s), s.seed);
            return run(flow, s, out, resume);
        }
        throw_usage_error("density2d", "--flow must be realnvp, glow or spline, got '", s.flow, "'");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
