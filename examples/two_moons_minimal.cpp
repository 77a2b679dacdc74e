// two_moons_minimal: the smallest complete experiment, the one docs/experiments.md walks through.
// A RealNVP flow learns FFJORD's two moons by maximum likelihood.
//
//   two_moons_minimal [--blocks 4] [--steps 2000] [--seed 0] [--out out/two_moons_minimal] [--resume CKPT]
//                     [--threads 1]
//
// Writes to DIR metrics.json (test_nll_nats, step_ms_median, extent: [x_min, x_max, y_min, y_max]),
// log_density.npy (200 x 200 float32: log p(x) on a grid over the extent, row 0 the top), test.npy
// (5000 x 2 float32), log.csv and checkpoint.ckpt; scripts/figures/two_moons_minimal.py draws density.png.
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <bijou/bijou.hpp>
#include <bijou/engine/io/npy.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/extent.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/toy_data.hpp>
#include <bijou/examples/common/training_run.hpp>

using namespace bijou;

int main(int argc, char** argv)
try {
    // 1. The command line: each option() declares an option with its default and its --help line.
    examples::Cli cli(argc, argv, "A RealNVP flow on the two moons.");
    const auto blocks = cli.option<std::size_t>("blocks", 4, "coupling blocks");
    const auto steps = cli.option<std::int64_t>("steps", 2000, "training steps");
    const auto seed = cli.option<std::uint64_t>("seed", 0, "seed of the data, the parameters and the shuffles");
    const std::filesystem::path out = cli.option<std::string>("out", "out/two_moons_minimal", "output directory");
    const auto resume = cli.option<std::string>("resume", "", "checkpoint to continue from");
    const auto threads = cli.option<int>("threads", 1, "BLAS threads");
    cli.done();
    set_blas_threads(threads);  // OpenBLAS would otherwise take every core, and spin on a busy machine

    // 2. Data: independent draws for training and testing.
    std::mt19937_64 train_rng(seed), test_rng(seed + 1);
    const Tensor<float> train = xt::cast<float>(examples::toy_data::generate("moons", 20000, train_rng));
    const Tensor<float> test = xt::cast<float>(examples::toy_data::generate("moons", 5000, test_rng));

    // 3. Model: `blocks` affine couplings, the halves swapped in between, over a standard normal.
    auto flow = make_flow<float>(
        2, dsl::repeat(blocks, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(64, 64))), dsl::reverse())),
        seed);

    // 4. Training: minibatch maximum likelihood with Adam, plus a progress bar, log.csv, checkpoints
    //    and --resume. The config string guards against resuming another model's checkpoint.
    examples::TrainingRun run{.out = out, .resume = resume, .config = "two_moons_minimal " + std::to_string(blocks)};
    const FitReport report =
        run.fit(flow, train,
                FitOptions<float>{.batch_size = 256,
                                  .steps = steps,
                                  .lr = 1e-3,
                                  .schedule = CosineDecay{.base = 1e-3, .min_lr = 1e-5, .total_steps = steps},
                                  .seed = seed});

    // 5. Evaluation: the mean test NLL, and the numbers of the figure (the learned density beside a
    //    histogram of the test data), which scripts/figures/two_moons_minimal.py draws.
    const double test_nll = -xt::mean(xt::cast<double>(flow.log_prob(test)))();
    const examples::Extent extent = examples::toy_data::extent("moons");
    const Tensor<float> log_density = flow.log_prob(examples::grid_points<float>(extent, 200, 200));
    save_npy(out / "log_density.npy", xt::reshape_view(log_density, {200, 200}));  // row 0: the top
    save_npy(out / "test.npy", test);
    examples::Metrics metrics;
    metrics.add("test_nll_nats", test_nll)
        .add("step_ms_median", report.median_step_ms)
        .add("extent", std::vector<double>{extent.x_min, extent.x_max, extent.y_min, extent.y_max});
    metrics.write(out / "metrics.json");
    std::printf("two_moons_minimal: test NLL %.4f nats -> %s\n", test_nll, out.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());  // bijou's errors name the operation and what was wrong
    return 1;
}
