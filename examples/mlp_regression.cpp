// mlp_regression: fit a multilayer perceptron to a smooth 2-D function with Adam, the engine end to end.
//
//   mlp_regression [--steps N] [--batch B] [--hidden H] [--lr LR] [--seed S] [--out DIR]
//
// Writes DIR/metrics.json (initial_loss, final_loss, test_mse, steps, step_ms_median, ...) and
// DIR/log.csv (step, loss, time_s).
//
// Data.        x ~ U([-2, 2]^2), y = f(x) + eps with f(x) = sin(2 x1) cos(1.5 x2) and eps ~ N(0, 0.05^2);
//              4096 training pairs and 2048 test pairs (the test targets are noise-free, so the test MSE
//              measures the error in f itself).
// Model.       An MLP 2 -> H -> H -> 1 with tanh hidden units and Xavier-uniform weights.
// Loss.        Mean squared error over a minibatch.
// Training.    Adam, learning rate cosine-decayed from --lr to lr/100, through the library's one
//              training loop (train(), engine/optim/train.hpp): minibatches drawn without replacement from
//              a training set reshuffled each epoch.
// Evaluation.  Mean squared error on the whole training set before and after training, and on the test set.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <bijou/engine/optim/optim.hpp>

#include "common/cli.hpp"
#include "common/output.hpp"

using namespace bijou;
using Clock = std::chrono::steady_clock;

namespace {

// ---- data ----

double target_function(double x1, double x2) { return std::sin(2 * x1) * std::cos(1.5 * x2); }

struct Dataset {
    Tensor<float> x;  // n x 2
    Tensor<float> y;  // n x 1
};

Dataset make_dataset(std::size_t n, double noise, std::mt19937_64& rng)
{
    std::uniform_real_distribution<double> uniform(-2.0, 2.0);
    std::normal_distribution<double> normal(0.0, noise > 0 ? noise : 1.0);
    Dataset d{Tensor<float>::from_shape({n, 2}), Tensor<float>::from_shape({n, 1})};
    for (std::size_t i = 0; i < n; ++i) {
        const double x1 = uniform(rng), x2 = uniform(rng);
        d.x(i, 0) = float(x1);
        d.x(i, 1) = float(x2);
        d.y(i, 0) = float(target_function(x1, x2) + (noise > 0 ? normal(rng) : 0.0));
    }
    return d;
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Fit an MLP to y = sin(2 x1) cos(1.5 x2) + noise with Adam.");
    const auto steps = cli.option<std::size_t>("steps", 10000, "training steps");
    const auto batch = cli.option<std::size_t>("batch", 256, "minibatch size");
    const auto width = cli.option<std::size_t>("hidden", 64, "units in each of the two hidden layers");
    const auto lr = cli.option<double>("lr", 3e-3, "initial learning rate");
    const auto seed = cli.option<std::uint64_t>("seed", 1, "seed of the data, the weights and the batch order");
    const auto log_every = cli.option<std::size_t>("log-every", 1000, "print the loss every this many steps");
    const std::filesystem::path out = cli.option<std::string>("out", "out/mlp_regression", "output directory");
    cli.done();
    if (steps == 0 || batch == 0 || width == 0 || log_every == 0) {
        std::fprintf(stderr, "mlp_regression: --steps, --batch, --hidden and --log-every must be positive\n");
        return 2;
    }
    std::filesystem::create_directories(out);

    // ---- data ----
    constexpr double noise = 0.05;
    std::mt19937_64 rng(seed);
    const Dataset train = make_dataset(4096, noise, rng);
    const Dataset test = make_dataset(2048, 0.0, rng);

    // ---- model ----
    auto net = mlp<float>(2, hidden(width, width), 1, activation::tanh{},
                          {.init = Init::xavier_uniform(), .rng = &rng, .name = "regressor"});

    // ---- loss ----
    // One program per data size, all over the same network: a minibatch for training, and the whole
    // training and test sets for evaluation (each is bound once, so no step reallocates).
    auto mse_program = [&](std::string_view name) {
        Input<float> x(2, std::string(name) + ".x"), y(1, std::string(name) + ".y");
        return std::tuple{Program(mean(square(net(x) - y))), x, y};
    };
    auto [on_train_set, train_x, train_y] = mse_program("train");
    auto [on_test_set, test_x, test_y] = mse_program("test");
    on_train_set.bind(train.x.shape()[0]);
    on_test_set.bind(test.x.shape()[0]);
    train_x.set(train.x);
    train_y.set(train.y);
    test_x.set(test.x);
    test_y.set(test.y);
    auto evaluate = [](auto& program) {
        program.forward();
        return double(program.value()(0, 0));
    };

    // ---- training: the library's one training loop (engine/optim/train.hpp) over minibatches of (x, y) ----
    auto objective = program_objective([&](const auto& in) { return Program(mean(square(net(in[0]) - in[1]))); },
                                       train.x, train.y);
    examples::CsvLog log(out / "log.csv", "step,loss,time_s");

    const double initial_loss = evaluate(on_train_set);
    std::size_t parameter_count = 0;
    for (const auto& p : net.parameters()) parameter_count += p.size();
    std::printf("MLP 2 -> %zu -> %zu -> 1 (tanh), %zu parameters; %zu steps of %zu, Adam lr %g (cosine)\n", width,
                width, parameter_count, steps, batch, lr);
    std::printf("%8s %12s %10s\n", "step", "batch loss", "time (s)");
    std::printf("%8d %12.6f %10.3f   (training-set MSE)\n", 0, initial_loss, 0.0);

    const auto started = Clock::now();
    auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
    const FitReport report = bijou::train(
        net.parameters(), objective, train.x.shape()[0],
        FitOptions<float>{.batch_size = batch,
                          .steps = std::int64_t(steps),
                          .lr = lr,
                          .schedule = CosineDecay{.base = lr, .min_lr = lr / 100, .total_steps = std::int64_t(steps)},
                          .seed = seed,
                          .on_step = [&](std::int64_t step, double loss, double) {
                              // the minibatch loss before this step's update
                              log.row(step, loss, seconds());
                              if (std::size_t(step) % log_every == 0 || std::size_t(step) == steps)
                                  std::printf("%8lld %12.6f %10.3f\n", static_cast<long long>(step), loss, seconds());
                              return true;
                          }});
    const double elapsed = seconds();

    // ---- evaluation ----
    const double final_loss = evaluate(on_train_set);
    const double test_mse = evaluate(on_test_set);
    const double ms_median = report.median_step_ms;
    std::printf("training-set MSE %.6f -> %.6f (noise floor %.6f); test MSE against f %.6f\n", initial_loss, final_loss,
                noise * noise, test_mse);
    std::printf("median step %.3f ms (feed, forward, backward, Adam); %.2f s of training\n", ms_median, elapsed);

    examples::Metrics()
        .add("initial_loss", initial_loss)
        .add("final_loss", final_loss)
        .add("test_mse", test_mse)
        .add("noise_variance", noise * noise)
        .add("steps", steps)
        .add("batch", batch)
        .add("hidden", width)
        .add("seed", seed)
        .add("step_ms_median", ms_median)
        .add("train_seconds", elapsed)
        .write(out / "metrics.json");
    std::printf("wrote %s and %s\n", (out / "metrics.json").c_str(), (out / "log.csv").c_str());
    return 0;
}
