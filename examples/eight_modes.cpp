// eight_modes: the Gaussian-mixture toy of Ardizzone et al., "Analyzing Inverse Problems with Invertible
// Neural Networks" (ICLR 2019), solved by an INN trained with the bidirectional MMD loss and, for
// comparison, by a conditional INN (cINN) trained by maximum likelihood.
//
//   eight_modes [--labels all|some] [--steps N] [--cinn-steps N] [--batch B] [--blocks K] [--hidden H]
//               [--lr LR] [--samples S] [--seed S] [--out DIR]
//   mpirun -np P eight_modes ...   both trainings data-parallel: the same steps as one process, P processes
//
// Writes to DIR metrics.json (the metrics below per label and their means, the settings, and
// label_of_mode: the label of each of the 8 modes), log_inn.csv and log_cinn.csv (training losses), and
// the numbers of posteriors.png (x-space posteriors per label, INN and cINN, over the true conditionals),
// which scripts/figures/eight_modes.py draws; L is the number of distinct labels (8 or 4), S --samples:
//   posterior_inn.npy, posterior_cinn.npy   L x S x 2 float32, posterior samples of x for each label
//   truth.npy                               L x S x 2 float32, samples of the true p(x | label)
//   mode_centres.npy                        8 x 2 float32, the centres of the modes
//
// Data.        x in R^2 from 8 isotropic Gaussians (sigma 0.2, equal weights) centred on the octagon
//              (+-2.4142, +-1), (+-1, +-2.4142). The observation y is a one-hot label of the mode: with
//              --labels all each mode has its own label; with --labels some (the paper's "some labels
//              shared" variant, as in its code) the four upper modes share label 0, the two lower right
//              modes label 1, and the last two have labels 2 and 3, so posteriors have 4, 2, 1 and 1 modes.
//              60000 training pairs.
// INN.         x padded with 8 noise dimensions to width 10 -> [y (8), z (2)]. Blocks: Glow couplings (both
//              halves, MLP conditioners with two hidden layers) and random permutations. Trained with the
//              bidirectional loss (flows/inn.hpp) with the kernels and loss weights of the paper's 8-modes
//              notebook (FrEIA): inverse multiquadric MMDs (widths 0.2, 0.5, 0.9, 1.3), L_y 40, L_z 300,
//              L_x 400 (ramped in over the first half of training), L_rec 150, L_pad 1; noise 0.03 on y and
//              the paddings; Adam (0.9, 0.95), lr 3e-3 cosine-decayed to lr/50 over 8000 steps of 500,
//              gradient norm clipped at 10 (lr 1e-3 and 2000 steps before: the INN's MMD halved with the
//              change, the cINN's stayed or fell).
//              (The heavy-tailed kernels of the paper's other experiments, (C, a) = (0.1, 0.1), (0.8, 0.5),
//              (0.2, 2) for x, gave posteriors about ten times too narrow here, and diverged when L_x was
//              on from the first step.)
// cINN.        The same blocks over x alone (width 2), the one-hot y fed to every conditioner
//              (dsl::conditional), trained by maximum likelihood (Flow::fit) with the same batch size,
//              learning-rate schedule and number of steps.
// Evaluation.  For each label, S posterior samples of each model against S samples of the true
//              conditional p(x | label): the unbiased MMD^2 with inverse multiquadric kernels of widths 0.05,
//              0.2, 0.9, the fraction of samples whose nearest mode carries the label, the fraction that in
//              addition lie within 3 sigma of that mode's centre (98.9% for exact samples), and, as the
//              scale of sampling noise, the MMD between two independent true sample sets. For the INN also the
//              forward accuracy (argmax of the predicted y is the true label) on 10000 test points.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <bijou/bijou.hpp>
#include <bijou/engine/io/npy.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/csv_log.hpp>
#include <bijou/examples/common/inn_comparison.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/random.hpp>
#include <bijou/flows/inn.hpp>

using namespace bijou;
using Clock = std::chrono::steady_clock;

namespace {

// ---- data ----

constexpr std::size_t modes = 8, label_dim = 8;
constexpr double mode_sigma = 0.2;
constexpr std::array<std::array<double, 2>, modes> centres = {{
    {-2.4142, 1.0}, {-1.0, 2.4142}, {1.0, 2.4142}, {2.4142, 1.0},
    {2.4142, -1.0}, {1.0, -2.4142}, {-1.0, -2.4142}, {-2.4142, -1.0},
}};

struct Labelling {
    std::array<std::size_t, modes> label_of_mode;
    std::size_t labels;  // how many distinct labels are used
};
const Labelling all_labels{{0, 1, 2, 3, 4, 5, 6, 7}, 8};
const Labelling some_labels{{0, 0, 0, 0, 1, 1, 2, 3}, 4};  // shared: the four upper modes, and two lower right

struct Dataset {
    Tensor<float> x;  // n x 2
    Tensor<float> y;  // n x 8, one-hot
    std::vector<std::size_t> mode;
};

Dataset make_data(std::size_t n, const Labelling& labelling, std::mt19937_64& rng)
{
    Dataset d{Tensor<float>::from_shape({n, 2}), xt::zeros<float>({n, label_dim}), std::vector<std::size_t>(n)};
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = examples::random::index(rng, modes);
        d.mode[i] = k;
        d.x(i, 0) = float(centres[k][0] + mode_sigma * examples::random::normal(rng));
        d.x(i, 1) = float(centres[k][1] + mode_sigma * examples::random::normal(rng));
        d.y(i, labelling.label_of_mode[k]) = 1;
    }
    return d;
}

// n samples of the true p(x | label): the label's modes, equally likely.
Tensor<float> true_conditional(std::size_t label, std::size_t n, const Labelling& labelling, std::mt19937_64& rng)
{
    std::vector<std::size_t> own;
    for (std::size_t k = 0; k < modes; ++k)
        if (labelling.label_of_mode[k] == label) own.push_back(k);
    Tensor<float> x = Tensor<float>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = own[examples::random::index(rng, own.size())];
        x(i, 0) = float(centres[k][0] + mode_sigma * examples::random::normal(rng));
        x(i, 1) = float(centres[k][1] + mode_sigma * examples::random::normal(rng));
    }
    return x;
}

Tensor<float> one_hot(std::size_t label)
{
    Tensor<float> y = xt::zeros<float>({std::size_t(1), label_dim});
    y(0, label) = 1;
    return y;
}

struct Nearest {
    std::size_t mode;
    double distance;
};
Nearest nearest_mode(float x0, float x1)
{
    Nearest best{0, 1e300};
    for (std::size_t k = 0; k < modes; ++k) {
        const double d = std::hypot(x0 - centres[k][0], x1 - centres[k][1]);
        if (d < best.distance) best = {k, d};
    }
    return best;
}

// ---- model ----

auto coupling_blocks(std::size_t blocks, std::size_t hidden_width)
{
    return dsl::repeat(blocks, dsl::seq(flows::glow_coupling(dsl::conditioner(hidden(hidden_width, hidden_width))),
                                        dsl::permute_random()));
}

// ---- evaluation ----

struct LabelResult {
    double mmd = 0;
    double correct_fraction = 0;  // nearest mode carries the label
    double in_mode_fraction = 0;  // ... and the sample lies within 3 sigma of its centre
};

LabelResult evaluate_label(const Tensor<float>& samples, const Tensor<float>& truth, std::size_t label,
                           const Labelling& labelling, const flows::MmdOptions& mmd_options)
{
    LabelResult r;
    r.mmd = flows::sample_mmd(samples, truth, mmd_options);
    std::size_t correct = 0, inside = 0;
    for (std::size_t i = 0; i < samples.shape()[0]; ++i) {
        const Nearest nearest = nearest_mode(samples(i, 0), samples(i, 1));
        const bool right = labelling.label_of_mode[nearest.mode] == label;
        correct += right;
        inside += right && nearest.distance < 3 * mode_sigma;
    }
    r.correct_fraction = double(correct) / double(samples.shape()[0]);
    r.in_mode_fraction = double(inside) / double(samples.shape()[0]);
    return r;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

int main(int argc, char** argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    examples::Cli cli(argc, argv, "The 8-modes toy of Ardizzone et al. (2019): INN (MMD losses) against cINN (maximum likelihood).");
    const auto labels_option = cli.option<std::string>("labels", "all", "all: one label per mode; some: the four upper modes share a label");
    const auto steps = cli.option<std::int64_t>("steps", 8000, "INN training steps");
    const auto cinn_steps = cli.option<std::int64_t>("cinn-steps", 8000, "cINN training steps");
    const auto batch = cli.option<std::size_t>("batch", 500, "minibatch size (both models)");
    const auto blocks = cli.option<std::size_t>("blocks", 4, "coupling blocks (each a Glow coupling and a permutation)");
    const auto width = cli.option<std::size_t>("hidden", 64, "units in each of the conditioners' two hidden layers");
    const auto lr = cli.option<double>("lr", 3e-3, "initial learning rate (cosine decay to lr/50)");
    const auto samples = cli.option<std::size_t>("samples", 2000, "posterior samples per label for the metrics");
    const auto seed = cli.option<std::uint64_t>("seed", 1, "seed of the data, the weights and the training");
    const std::filesystem::path out = cli.option<std::string>("out", "out/eight_modes", "output directory");
    cli.data_parallel();  // mpirun -np P eight_modes ...: both trainings shared by P processes
    cli.done();
    if (labels_option != "all" && labels_option != "some") {
        std::fprintf(stderr, "eight_modes: --labels must be 'all' or 'some', got '%s'\n", labels_option.c_str());
        return 2;
    }
    if (steps < 1 || cinn_steps < 1 || batch < 2 || blocks == 0 || width == 0 || samples < 2) {
        std::fprintf(stderr, "eight_modes: --steps, --cinn-steps, --blocks, --hidden must be positive, --batch and --samples >= 2\n");
        return 2;
    }
    const bool root = world().is_root();  // of a data-parallel run: the process that prints and writes
    if (root) std::filesystem::create_directories(out);
    const Labelling& labelling = labels_option == "all" ? all_labels : some_labels;
    const auto program_start = Clock::now();

    // ---- data ----
    std::mt19937_64 rng(seed);
    const Dataset train = make_data(60000, labelling, rng);
    const Dataset test = make_data(10000, labelling, rng);

    // ---- INN: x (2) + 8 padding -> [y (8), z (2)] ----
    const flows::InnLayout layout{.x_dim = 2, .y_dim = label_dim, .z_dim = 2, .width = 10};
    auto inn = flows::make_inn<float>(layout, coupling_blocks(blocks, width), seed);
    auto inn_options = examples::inn_fit_options<float>(batch, steps, lr, seed + 1);
    // The 8-modes notebook's settings (FrEIA): inverse multiquadric kernels of widths 0.2 .. 1.3 for
    // both MMDs, y and padding noise 0.03, L_x ramped in from the start. Weights on this library's scale
    // (squared errors summed over a row's columns rather than averaged).
    inn_options.loss.z_mmd = {flows::inverse_multiquadric_kernel({0.2, 0.5, 0.9, 1.3})};
    inn_options.loss.x_mmd = inn_options.loss.z_mmd;
    inn_options.loss.weights = {.y = 40, .z = 300, .x = 400, .padding = 1, .reconstruction = 150};
    inn_options.loss.y_noise = 0.03;
    inn_options.loss.padding_noise = 0.03;
    inn_options.loss.x_ramp_start = 0;
    inn_options.loss.x_ramp_steps = steps / 2;
    if (root)
        std::printf("8 modes, labels '%s'; INN: %zu Glow blocks (hidden %zu, %zu), width 10, %lld steps of %zu\n",
                    labels_option.c_str(), blocks, width, width, (long long)steps, batch);
    const auto inn_fit = examples::train_inn(inn, train.x, train.y, inn_options, out / "log_inn.csv");

    // ---- cINN: x (2), condition y (8) ----
    auto cinn = make_flow<float>(2, dsl::conditional(coupling_blocks(blocks, width), label_dim), seed + 2);
    if (root) std::printf("cINN: the same blocks over x (width 2) given y, %lld steps of %zu\n", (long long)cinn_steps, batch);
    const auto cinn_fit = examples::train_cinn(cinn, train.x, train.y, batch, cinn_steps, lr, seed + 3, out / "log_cinn.csv");
    world().dismiss_all_but_root();  // a data-parallel run's root evaluates and writes alone

    // ---- evaluation ----
    const flows::MmdOptions mmd_options{flows::inverse_multiquadric_kernel({0.05, 0.2, 0.9}), flows::MmdEstimator::unbiased};
    examples::Metrics metrics;
    metrics.add("labels", labels_option).add("distinct_labels", labelling.labels);

    const Tensor<float> predicted = inn.predict(test.x);
    std::size_t right = 0;
    for (std::size_t i = 0; i < test.x.shape()[0]; ++i) {
        const auto row = xt::row(predicted, i);
        right += std::size_t(std::distance(row.begin(), std::max_element(row.begin(), row.end()))) ==
                 labelling.label_of_mode[test.mode[i]];
    }
    const double forward_accuracy = double(right) / double(test.x.shape()[0]);
    std::printf("INN forward accuracy (argmax of predicted y) %.4f\n", forward_accuracy);

    // The figure's numbers: per label, the true conditional's samples and each model's posterior samples.
    using Stack = xt::xtensor<float, 3>;
    Stack truth_stack = Stack::from_shape({labelling.labels, samples, 2}), inn_stack = truth_stack,
          cinn_stack = truth_stack;
    double inn_mmd_sum = 0, inn_correct_sum = 0, inn_inside_sum = 0, cinn_mmd_sum = 0, cinn_correct_sum = 0,
           cinn_inside_sum = 0, truth_inside_sum = 0, noise_sum = 0;
    std::mt19937_64 sample_rng(seed + 4);
    std::printf("%6s %10s %10s %10s %10s %10s %10s %12s\n", "label", "INN MMD", "correct", "in mode", "cINN MMD",
                "correct", "in mode", "true vs true");
    for (std::size_t label = 0; label < labelling.labels; ++label) {
        const Tensor<float> y = one_hot(label);
        const Tensor<float> truth = true_conditional(label, samples, labelling, sample_rng);
        const Tensor<float> reference = true_conditional(label, samples, labelling, sample_rng);
        const Tensor<float> inn_samples = flows::sample_posterior(inn, y, samples, sample_rng);
        const Tensor<float> cinn_samples = flows::sample_posterior(cinn, y, samples, sample_rng);
        const LabelResult a = evaluate_label(inn_samples, truth, label, labelling, mmd_options);
        const LabelResult b = evaluate_label(cinn_samples, truth, label, labelling, mmd_options);
        const LabelResult exact = evaluate_label(reference, truth, label, labelling, mmd_options);
        const double noise = exact.mmd;
        std::printf("%6zu %10.5f %10.4f %10.4f %10.5f %10.4f %10.4f %12.5f\n", label, a.mmd, a.correct_fraction,
                    a.in_mode_fraction, b.mmd, b.correct_fraction, b.in_mode_fraction, noise);
        const std::string l = std::to_string(label);
        metrics.add("inn.label_" + l + ".mmd", a.mmd)
            .add("inn.label_" + l + ".correct_mode_fraction", a.correct_fraction)
            .add("inn.label_" + l + ".within_3_sigma_fraction", a.in_mode_fraction)
            .add("cinn.label_" + l + ".mmd", b.mmd)
            .add("cinn.label_" + l + ".correct_mode_fraction", b.correct_fraction)
            .add("cinn.label_" + l + ".within_3_sigma_fraction", b.in_mode_fraction)
            .add("true_vs_true.label_" + l + ".mmd", noise);
        inn_mmd_sum += a.mmd;
        inn_correct_sum += a.correct_fraction;
        inn_inside_sum += a.in_mode_fraction;
        cinn_inside_sum += b.in_mode_fraction;
        truth_inside_sum += exact.in_mode_fraction;
        cinn_mmd_sum += b.mmd;
        cinn_correct_sum += b.correct_fraction;
        noise_sum += noise;
        xt::view(truth_stack, label, xt::all(), xt::all()) = truth;
        xt::view(inn_stack, label, xt::all(), xt::all()) = inn_samples;
        xt::view(cinn_stack, label, xt::all(), xt::all()) = cinn_samples;
    }
    const double count = double(labelling.labels);
    metrics.add("inn.mean_mmd", inn_mmd_sum / count)
        .add("inn.mean_correct_mode_fraction", inn_correct_sum / count)
        .add("inn.mean_within_3_sigma_fraction", inn_inside_sum / count)
        .add("inn.forward_accuracy", forward_accuracy)
        .add("cinn.mean_mmd", cinn_mmd_sum / count)
        .add("cinn.mean_correct_mode_fraction", cinn_correct_sum / count)
        .add("cinn.mean_within_3_sigma_fraction", cinn_inside_sum / count)
        .add("true_vs_true.mean_within_3_sigma_fraction", truth_inside_sum / count)
        .add("true_vs_true.mean_mmd", noise_sum / count)
        .add("inn.train_seconds", inn_fit.seconds)
        .add("inn.step_ms_median", inn_fit.median_step_ms)
        .add("cinn.train_seconds", cinn_fit.seconds)
        .add("cinn.step_ms_median", cinn_fit.median_step_ms)
        .add("inn.steps", inn_fit.steps_run)
        .add("cinn.steps", cinn_fit.steps_run)
        .add("batch", batch)
        .add("blocks", blocks)
        .add("hidden", width)
        .add("samples_per_label", samples)
        .add("seed", seed);
    std::printf("mean over labels: INN MMD %.5f, correct %.4f, within 3 sigma %.4f; cINN MMD %.5f, correct %.4f, "
                "within 3 sigma %.4f; true samples: MMD %.5f, within 3 sigma %.4f\n",
                inn_mmd_sum / count, inn_correct_sum / count, inn_inside_sum / count, cinn_mmd_sum / count,
                cinn_correct_sum / count, cinn_inside_sum / count, noise_sum / count, truth_inside_sum / count);

    save_npy(out / "truth.npy", truth_stack);
    save_npy(out / "posterior_inn.npy", inn_stack);
    save_npy(out / "posterior_cinn.npy", cinn_stack);
    Tensor<float> centre_table = Tensor<float>::from_shape({modes, 2});
    std::vector<double> label_of_mode;
    for (std::size_t k = 0; k < modes; ++k) {
        centre_table(k, 0) = float(centres[k][0]);
        centre_table(k, 1) = float(centres[k][1]);
        label_of_mode.push_back(double(labelling.label_of_mode[k]));
    }
    save_npy(out / "mode_centres.npy", centre_table);
    metrics.add("label_of_mode", label_of_mode);
    metrics.add("wall_seconds", seconds_since(program_start)).write(out / "metrics.json");
    std::printf("wrote metrics.json, truth.npy, posterior_inn.npy, posterior_cinn.npy, mode_centres.npy, log_inn.csv "
                "and log_cinn.csv to %s (%.1f s); scripts/figures/eight_modes.py draws posteriors.png\n",
                out.c_str(), seconds_since(program_start));
    return 0;
}
