// fashion_mnist: density estimation on Fashion-MNIST (28 x 28 greyscale, examples/common/
// fashion_mnist_data.hpp) with a multi-scale Glow written in the DSL.
//
//   fashion_mnist [--levels 2] [--steps-per-level 8] [--hidden 64] [--batch 64] [--steps 4000] [--lr 1e-3]
//                 [--clip 50] [--threads 1] [--seed 0] [--eval-every 300] [--patience 0] [--out DIR]
//                 [--resume CKPT] [--conditional [--condition-hidden 64] [--condition-features 16]
//                 [--classifier-steps 1500]]   (--steps defaults to 3000 with --conditional)
//
// Model.      dsl::image({1, 28, 28}, level_1), where level l is
//               squeeze (C x H x W -> 4C x H/2 x W/2), then K steps of
//                 channel_actnorm (data-dependent initialisation), invertible_conv1x1 (LU), an affine
//                 coupling on channel halves, log-scale clamp 2 tanh(s / 2), conditioner
//                 conv3x3 (C/2 -> hidden) - ReLU - conv1x1 (hidden -> hidden) - ReLU - conv3x3 (hidden -> C),
//                 last layer zero,
//               then (except after the last level) factor_out: half of the channels go to the latent,
//               level l + 1 transforms the rest.
//             The whole is one 784 -> 784 bijection whose inverse the DSL derives; a standard normal prior
//             on every latent.
//             --conditional: a class-conditional cINN z = f(x; c), x = f^-1(z; c): the same Glow inside
//             dsl::conditional, the class one-hot c through a condition network (an MLP 10 ->
//             --condition-hidden -> --condition-features, trained with the flow) whose output every
//             coupling's conditioner reads as constant extra channels; after the Glow a
//             flows::conditional_affine, z = u exp(2 tanh(s(c)/2)) + t(c) per latent, a learned
//             class-conditional prior written as a bijection (Glow's "learned prior", Kingma & Dhariwal
//             2018, sec. 5): it moves each class to its own region of the latent space, which the
//             couplings alone did not (class consistency 0.34 at T = 0.7 without it, 2026-12-02).
// Data.       The 60000 training images minus a validation split of 5000 (fixed by --seed), and all 10000
//             test images. Dequantisation v = (x + u) / 256 with fresh u ~ U[0, 1) every step (fit()'s
//             transform_batch hook, seeded per step so a resumed run sees the same noise), model space
//             v - 1/2. Validation and test images are dequantised once, with fixed draws.
// Training.   Adam, learning rate --lr with a 2% warm-up and cosine decay to lr / 100, gradient-norm clip
//             --clip, checkpoints every 500 steps (examples/common/training_run.hpp); validation bits/dim
//             every --eval-every steps, and with --patience > 0 early stopping on it.
// Evaluation. Bits per dimension on the 0..255 scale: NLL_pixels = NLL_model + 784 ln 256, over 784 ln 2,
//             on all 10000 test images (an upper bound on the discrete NLL, Theis et al. 2016).
//
// Writes DIR/metrics.json, log.csv, checkpoint.ckpt and the numbers of the figures, as .npy (float32,
// images as rows of 784 pixel values on the 0..255 scale, row-major 28 x 28; metrics.json records
// image_height, image_width, pixel_max, class_names and sample_temperatures):
//   samples.npy          300 x 784: 100 samples at each temperature of sample_temperatures (0.5, 0.7,
//                        1.0: z ~ N(0, T^2 I), the same z at each), temperature-major; conditional: row
//                        10 k + j of each block of 100 is a sample of class k
//   test_images.npy      100 x 784: the first 100 test images (dequantised)
//   reconstructions.npy  100 x 784: f^-1(f(x)) of those
// scripts/figures/fashion_mnist.py draws them as samples.png and reconstructions.png. Conditional runs
// also write samples_conditional.csv and samples_conditional.npy (1000 x 784; 100 samples per class at
// temperature 0.7, class-major; the csv one per line: the class, then the 784 pixel values) with
// samples_conditional_labels.npy (1000, int32), and measure class consistency: the fraction of samples
// of class k that a separately trained CNN classifier (examples/common/image_classifier.hpp, trained
// first on the same training images) assigns to k, at each temperature; metrics.json reports the
// classifier's test accuracy beside it.
// Measured (AMD EPYC, one thread). 2026-12-03 after the direct convolutions, two runs side by side on the
// two cores: --steps 4000: test 3.750 bits/dim (train 3.719), 199 ms per step, 976 s of training;
// --conditional --steps 4000: test 3.655 bits/dim, 302 ms per step, class consistency 0.663 / 0.636 /
// 0.542 at T = 0.5 / 0.7 / 1.0 (classifier 0.901); the old default of 1200 steps, alone: 4.113 bits/dim,
// 182 ms per step. Before the direct convolutions, the old default (1200 steps), --conditional: 4.007 bits/dim
// (train 3.974; validation 7.76 at step 0, 5.02 at 300, 4.05 at 900, 3.99 at 1200), 445 ms per step,
// 606 s of training, round trip 4.6e-6; classifier test accuracy 0.9005; class consistency 0.374 /
// 0.392 / 0.367 at T = 0.5 / 0.7 / 1.0 (0.310 / 0.342 / 0.284 before the conditional_affine prior).
// 2026-12-02, unconditional, --steps 500 on a shared machine: test 4.482 bits/dim, 1162 ms per step.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <bijou/bijou.hpp>
#include <bijou/engine/io/npy.hpp>
#include <bijou/flows/glow.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/fashion_mnist_data.hpp>
#include <bijou/examples/common/image_classifier.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/random.hpp>
#include <bijou/examples/common/training_run.hpp>

using namespace bijou;
using examples::FashionMnist;
using T = float;

namespace {

constexpr std::size_t pixels = FashionMnist::pixels;
constexpr std::size_t validation_images = 5000;
constexpr std::size_t evaluation_chunk = 250;  // rows per log_prob call: bounds the memory of evaluation
constexpr std::size_t classes = FashionMnist::classes;
constexpr std::size_t samples_per_class = 100;  // samples_conditional.csv and the class consistency
constexpr double csv_temperature = 0.7;         // the temperature of samples_conditional.csv

struct Settings {
    std::size_t levels, steps_per_level, hidden, batch, steps, seed, eval_every, patience;
    double lr, clip;
    bool conditional;
    std::size_t condition_hidden, condition_features, classifier_steps;
};

// The class of each row as a one-hot condition row.
Tensor<T> conditions_of(const std::vector<int>& labels) { return examples::one_hot<T>(labels, classes); }

// Labels 0 x per_class, 1 x per_class, ..., 9 x per_class.
std::vector<int> labels_by_class(std::size_t per_class)
{
    std::vector<int> labels;
    for (std::size_t k = 0; k < classes; ++k) labels.insert(labels.end(), per_class, int(k));
    return labels;
}

// Images (0..255) as a float tensor, n x 784.
Tensor<T> pixel_tensor(const FashionMnist& data)
{
    Tensor<T> out = Tensor<T>::from_shape({data.size(), pixels});
    std::transform(data.pixel_values.begin(), data.pixel_values.end(), out.begin(), [](auto v) { return T(v); });
    return out;
}

// nats per image in model space -> bits per dimension on the 0..255 scale.
double bits_per_dim(double nll_model)
{
    return (nll_model + double(pixels) * std::log(256.0)) / (double(pixels) * std::numbers::ln2);
}

// Images (n x 784, 0..255) -> model space with one fixed dequantisation draw.
Tensor<T> dequantised(const FashionMnist& data, std::size_t first, std::size_t count, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    Tensor<T> out = Tensor<T>::from_shape({count, pixels});
    for (std::size_t i = 0; i < count; ++i) {
        const auto image = data.image(first + i);
        for (std::size_t p = 0; p < pixels; ++p)
            out(i, p) = T((double(image[p]) + examples::random::uniform(rng)) / 256.0 - 0.5);
    }
    return out;
}

// Model space -> 0..255 for the figures.
Tensor<T> to_pixel_values(const Tensor<T>& model)
{
    Tensor<T> out = xt::cast<T>(xt::clip((xt::cast<double>(model) + 0.5) * 256.0, 0.0, 255.0));
    return out;
}

// Rows [first, first + count) of a matrix.
Tensor<T> rows(const Tensor<T>& m, std::size_t first, std::size_t count)
{
    return xt::eval(xt::view(m, xt::range(first, first + count), xt::all()));
}

// log p(x) of a conditional or unconditional flow; c is ignored by an unconditional one.
template <class Flow>
Tensor<T> log_prob(Flow& flow, const Tensor<T>& x, const Tensor<T>& c)
{
    if constexpr (Flow::conditional)
        return flow.log_prob(x, c);
    else
        return flow.log_prob(x);
}
template <class Flow>
Tensor<T> encode(Flow& flow, const Tensor<T>& x, const Tensor<T>& c)
{
    if constexpr (Flow::conditional)
        return flow.forward(x, c).first;
    else
        return flow.forward(x).first;
}
template <class Flow>
Tensor<T> decode(Flow& flow, const Tensor<T>& z, const Tensor<T>& c)
{
    if constexpr (Flow::conditional)
        return flow.inverse(z, c).first;
    else
        return flow.inverse(z).first;
}

template <class Flow>
double mean_nll(Flow& flow, const Tensor<T>& data, const Tensor<T>& c)
{
    const std::size_t n = data.shape()[0];
    double total = 0;
    for (std::size_t first = 0; first < n; first += evaluation_chunk) {
        const std::size_t count = std::min(evaluation_chunk, n - first);
        const Tensor<T> log_p = log_prob(flow, rows(data, first, count), Flow::conditional ? rows(c, first, count) : c);
        for (std::size_t i = 0; i < count; ++i) total -= double(log_p(i, 0));
    }
    return total / double(n);
}

// The fraction of positions where two label lists agree.
double agreement(const std::vector<int>& a, const std::vector<int>& b)
{
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    return a.empty() ? 0 : double(same) / double(a.size());
}

template <class Flow>
int run(Flow& flow, const Settings& s, const std::filesystem::path& out, const std::string& resume)
{
    constexpr bool conditional = Flow::conditional;
    if (world().is_root()) std::filesystem::create_directories(out);
    const FashionMnist train_all = examples::load_fashion_mnist(examples::FashionMnistSplit::train);
    const FashionMnist test = examples::load_fashion_mnist(examples::FashionMnistSplit::test);

    // A fixed validation split: a permutation of the training images drawn from the seed.
    std::vector<std::size_t> order(train_all.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937_64 split_rng(s.seed + 11);
    examples::random::shuffle(order, split_rng);
    FashionMnist fit_on, held_out;
    for (std::size_t k = 0; k < order.size(); ++k) {
        FashionMnist& part = k < validation_images ? held_out : fit_on;
        const auto image = train_all.image(order[k]);
        part.pixel_values.insert(part.pixel_values.end(), image.begin(), image.end());
        part.labels.push_back(train_all.labels[order[k]]);
    }
    // Training rows stay on the 0..255 scale; the hook dequantises each minibatch.
    const Tensor<T> train = pixel_tensor(fit_on);
    const Tensor<T> validation = dequantised(held_out, 0, held_out.size(), s.seed + 101);
    const Tensor<T> test_data = dequantised(test, 0, test.size(), s.seed + 202);
    // The class conditions (conditional runs), one-hot; an unconditional flow never reads them.
    const Tensor<T> train_c = conditions_of(fit_on.labels), validation_c = conditions_of(held_out.labels),
                    test_c = conditions_of(test.labels);

    // The classifier that judges the conditional samples, trained before the flow on the same images.
    examples::ImageClassifier<T> classifier({1, FashionMnist::side, FashionMnist::side}, classes,
                                            {.steps = s.classifier_steps, .seed = s.seed + 5});
    double classifier_accuracy = 0, classifier_seconds = 0;
    if constexpr (conditional) {
        classifier_seconds = examples::train_image_classifier(classifier, train, fit_on.labels).seconds;
        classifier_accuracy = classifier.accuracy(pixel_tensor(test), test.labels);
        if (world().is_root())
            std::printf("classifier: test accuracy %.4f (%zu steps, %.0f s)\n", classifier_accuracy, s.classifier_steps,
                    classifier_seconds);
    }

    // ActNorm's data-dependent start.
    const Tensor<T> init_batch = dequantised(fit_on, 0, 512, s.seed + 303);
    if constexpr (conditional)
        flow.initialize(init_batch, rows(train_c, 0, 512));
    else
        flow.initialize(init_batch);

    const std::uint64_t noise_seed = (s.seed + 1) * 0x9e3779b97f4a7c15ull;
    std::mt19937_64 noise;
    const auto dequantise_batch = [&](Tensor<T>& batch, std::int64_t step) {
        noise.seed(noise_seed + std::uint64_t(step));
        for (T& v : batch) v = T((double(v) + examples::random::uniform(noise)) / 256.0 - 0.5);
    };

    examples::TrainingRun training{.out = out,
                                   .resume = resume,
                                   .config = std::string(conditional ? "fashion_mnist cinn" : "fashion_mnist glow") +
                                             " levels " + std::to_string(s.levels) + " K " +
                                             std::to_string(s.steps_per_level) + " hidden " + std::to_string(s.hidden)};
    const auto steps = std::int64_t(s.steps);
    const FitOptions<T> options{
        .batch_size = s.batch,
        .steps = steps,
        .lr = s.lr,
        .schedule = CosineDecay{.base = s.lr, .min_lr = s.lr / 100, .total_steps = steps, .warmup_steps = steps / 50},
        .max_grad_norm = s.clip,
        .seed = s.seed,
        .transform_batch = dequantise_batch,
        .validation = &validation,
        .validation_condition = conditional ? &validation_c : nullptr,
        .validate_every = std::int64_t(s.eval_every),
        .patience = std::int64_t(s.patience),
        .validation_batch_size = evaluation_chunk};
    const auto train_start = std::chrono::steady_clock::now();
    FitReport report;
    if constexpr (conditional)
        report = training.fit(flow, train, train_c, options);
    else
        report = training.fit(flow, train, options);
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();
    world().dismiss_all_but_root();  // a data-parallel run's root evaluates and writes alone

    const double test_nll = mean_nll(flow, test_data, test_c);
    constexpr std::size_t train_probe_rows = 2000;
    const double train_nll =
        mean_nll(flow, dequantised(fit_on, 0, train_probe_rows, s.seed + 404), rows(train_c, 0, train_probe_rows));

    // Round trip on test images.
    const Tensor<T> first_test = rows(test_data, 0, 100), first_test_c = rows(test_c, 0, 100);
    const Tensor<T> back = decode(flow, encode(flow, first_test, first_test_c), first_test_c);
    const double roundtrip = xt::amax(xt::abs(xt::cast<double>(back) - xt::cast<double>(first_test)))();

    // Samples at three temperatures from the same base draws: 100 unconditional ones, or 10 per class
    // (row k of each grid is class k). Conditional runs also sample 100 per class for the csv and the
    // class consistency.
    const std::vector<int> grid_labels = labels_by_class(10), requested = labels_by_class(samples_per_class);
    const Tensor<T> grid_c = conditions_of(grid_labels), requested_c = conditions_of(requested);
    std::mt19937_64 sample_rng(s.seed + 7);
    Tensor<T> z = Tensor<T>::from_shape({100, pixels});
    for (T& v : z) v = T(examples::random::normal(sample_rng));
    const std::vector<double> sample_temperatures{0.5, 0.7, 1.0};
    const auto sample_start = std::chrono::steady_clock::now();
    Tensor<T> grid_samples = Tensor<T>::from_shape({sample_temperatures.size() * 100, pixels});
    for (std::size_t t = 0; t < sample_temperatures.size(); ++t)
        xt::view(grid_samples, xt::range(100 * t, 100 * (t + 1)), xt::all()) =
            to_pixel_values(decode(flow, xt::eval(T(sample_temperatures[t]) * z), grid_c));
    const double samples_per_second =
        double(grid_samples.shape()[0]) / std::chrono::duration<double>(std::chrono::steady_clock::now() - sample_start).count();
    save_npy(out / "samples.npy", grid_samples);
    save_npy(out / "test_images.npy", to_pixel_values(first_test));
    save_npy(out / "reconstructions.npy", to_pixel_values(back));

    std::vector<double> validation_steps, validation_bpd;
    for (const auto& point : report.validation) {
        validation_steps.push_back(double(point.step));
        validation_bpd.push_back(bits_per_dim(point.loss));
    }
    std::size_t parameter_count = 0;
    for (const auto& p : flow.parameters()) parameter_count += p.size();

    examples::Metrics metrics;
    metrics.add("conditional", conditional ? 1.0 : 0.0)
        .add("levels", s.levels)
        .add("steps_per_level", s.steps_per_level)
        .add("hidden", s.hidden)
        .add("batch", s.batch)
        .add("parameters", parameter_count)
        .add("train_images", fit_on.size())
        .add("validation_images", held_out.size())
        .add("test_images", test.size())
        .add("test_bits_per_dim", bits_per_dim(test_nll))
        .add("train_bits_per_dim", bits_per_dim(train_nll))
        .add("best_validation_bits_per_dim", bits_per_dim(report.best_validation_nll))
        .add("best_step", report.best_step)
        .add("steps_requested", s.steps)
        .add("steps_run", report.steps_run)
        .add("stop_reason", std::string(to_string(report.stop_reason)))
        .add("validation_steps", validation_steps)
        .add("validation_bits_per_dim", validation_bpd)
        .add("step_ms_median", report.median_step_ms)
        .add("processes", report.processes)  // that trained it (mpirun -np P; 1 alone)
        .add("sum_ms_median", report.median_sum_ms)  // of a step, the sum over the processes
        .add("train_seconds", train_seconds)
        .add("samples_per_second", samples_per_second)
        .add("roundtrip_max_abs_err", roundtrip)
        .add("blas_threads", blas_threads())
        .add("image_height", FashionMnist::side)
        .add("image_width", FashionMnist::side)
        .add("pixel_max", 255)
        .add("class_names", std::vector<std::string>(FashionMnist::class_names.begin(), FashionMnist::class_names.end()))
        .add("sample_temperatures", sample_temperatures);

    std::string consistency_line;
    if constexpr (conditional) {
        // Class consistency at each temperature, on 100 samples per class.
        std::vector<double> temperatures{0.5, 0.7, 1.0}, consistency, per_class_at_csv(classes, 0.0);
        std::mt19937_64 consistency_rng(s.seed + 17);
        for (const double temperature : temperatures) {
            const Tensor<T> samples = flow.sample(requested.size(), requested_c, consistency_rng, temperature);
            const Tensor<T> pixel_values = to_pixel_values(samples);
            const std::vector<int> recognised = classifier.predict(pixel_values);
            consistency.push_back(agreement(recognised, requested));
            if (temperature != csv_temperature) continue;
            for (std::size_t i = 0; i < requested.size(); ++i)
                per_class_at_csv[std::size_t(requested[i])] += double(recognised[i] == requested[i]) / samples_per_class;
            std::ofstream csv(out / "samples_conditional.csv");
            for (std::size_t i = 0; i < requested.size(); ++i) {
                csv << requested[i];
                for (std::size_t p = 0; p < pixels; ++p) csv << ',' << double(pixel_values(i, p));
                csv << '\n';
            }
            if (!csv) throw_file_error("fashion_mnist", out / "samples_conditional.csv", "could not be written");
            save_npy(out / "samples_conditional.npy", pixel_values);
            save_npy(out / "samples_conditional_labels.npy", xt::adapt(requested, {requested.size()}));
        }
        metrics.add("classifier_test_accuracy", classifier_accuracy)
            .add("classifier_steps", s.classifier_steps)
            .add("classifier_seconds", classifier_seconds)
            .add("consistency_temperatures", temperatures)
            .add("class_consistency", consistency)
            .add("class_consistency_at_0.7", consistency[1])
            .add("class_consistency_per_class_at_0.7", per_class_at_csv);
        char line[160];
        std::snprintf(line, sizeof line, "; class consistency %.3f / %.3f / %.3f at T = 0.5 / 0.7 / 1.0 (classifier %.4f)",
                      consistency[0], consistency[1], consistency[2], classifier_accuracy);
        consistency_line = line;
    }
    metrics.write(out / "metrics.json");
    std::printf("fashion_mnist %s L%zu K%zu H%zu: test %.4f bits/dim (train %.4f), best step %lld of %lld (%s); "
                "step %.1f ms; round trip %.2e%s -> %s\n",
                conditional ? "cinn" : "glow", s.levels, s.steps_per_level, s.hidden, bits_per_dim(test_nll),
                bits_per_dim(train_nll), (long long)report.best_step, (long long)report.steps_run,
                to_string(report.stop_reason), report.median_step_ms, roundtrip, consistency_line.c_str(), out.c_str());
    return 0;
}

// The Glow of --levels, unconditional or (--conditional) class-conditional, then run().
template <std::size_t Levels>
int run_levels(const Settings& s, const std::string& out, const std::string& resume)
{
    const auto glow = flows::multiscale_glow<Levels>({1, 28, 28}, s.steps_per_level, s.hidden);
    if (s.conditional) {
        auto flow = make_flow<T>(
            pixels,
            dsl::conditional(dsl::seq(glow, flows::conditional_affine()), classes,
                             dsl::condition_net(hidden(s.condition_hidden), s.condition_features)),
            s.seed);
        return run(flow, s, out, resume);
    }
    auto flow = make_flow<T>(pixels, glow, s.seed);
    return run(flow, s, out, resume);
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Density estimation and class-conditional generation on Fashion-MNIST with a multi-scale Glow.");
    Settings s;
    s.levels = cli.option<std::size_t>("levels", 2, "levels of the multi-scale flow (1 to 3)");
    s.steps_per_level = cli.option<std::size_t>("steps-per-level", 8, "flow steps per level (K)");
    s.hidden = cli.option<std::size_t>("hidden", 64, "hidden channels of each coupling's conditioner");
    s.batch = cli.option<std::size_t>("batch", 64, "minibatch size");
    s.conditional = cli.flag("conditional", "a class-conditional cINN; measures class consistency with a CNN classifier");
    // The default run stays within 20 minutes on one thread (2026-12-03, after the direct convolutions):
    // 4000 steps at 182-199 ms, 13-16 minutes with the evaluations; a cINN step takes 280-300 ms and the
    // run also trains its classifier, so 3000 steps (about 16 minutes). The PyTorch comparison uses 2000.
    s.steps = cli.option<std::size_t>("steps", s.conditional ? 3000 : 4000,
                                      "training steps (at most: early stopping may end sooner; 3000 with --conditional)");
    s.lr = cli.option<double>("lr", 1e-3, "peak learning rate (cosine decay to lr/100)");
    s.clip = cli.option<double>("clip", 50, "gradient-norm clip (0 = none)");
    s.seed = cli.option<std::size_t>("seed", 0, "seed of the parameters, the split, the shuffles and the noise");
    s.eval_every = cli.option<std::size_t>("eval-every", 300, "steps between validation evaluations");
    s.patience = cli.option<std::size_t>("patience", 0, "evaluations without improvement before stopping (0 = never)");
    s.condition_hidden = cli.option<std::size_t>("condition-hidden", 64, "hidden width of the condition network (--conditional)");
    s.condition_features = cli.option<std::size_t>("condition-features", 16, "condition network output: extra channels of every conditioner (--conditional)");
    s.classifier_steps = cli.option<std::size_t>("classifier-steps", 1500, "training steps of the judging classifier (--conditional)");
    const int threads = cli.option<int>("threads", 1, "BLAS threads");
    const std::string out = cli.option<std::string>("out", "out/fashion_mnist", "output directory");
    const std::string resume = cli.option<std::string>("resume", "", "checkpoint to continue from");
    cli.data_parallel();  // mpirun -np P fashion_mnist ...: the flow's training shared by P processes
    cli.done();

    try {
        set_blas_threads(threads);
        if (s.eval_every == 0) throw_usage_error("fashion_mnist", "--eval-every must be at least 1");
        switch (s.levels) {
        case 1: return run_levels<1>(s, out, resume);
        case 2: return run_levels<2>(s, out, resume);
        case 3: return run_levels<3>(s, out, resume);
        default: throw_usage_error("fashion_mnist", "--levels must be 1, 2 or 3 (28 = 2^2 x 7), got ", s.levels);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
