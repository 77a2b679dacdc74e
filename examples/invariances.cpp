// invariances: what a digit classifier is invariant to, recovered with a conditional INN. A small version
// of Rombach, Esser and Ommer (2020), "Making Sense of CNNs: Interpreting Deep Representations and Their
// Invariances with INNs", on the 8x8 digits.
//
//   invariances [--latent 12] [--blocks 6] [--hidden 64] [--batch 256] [--steps 2000] [--lr 1e-3]
//               [--augment 8] [--pixel-noise 0.5] [--latent-noise 0.1] [--samples 16] [--epsilon 2]
//               [--attack-steps 20] [--autoencoder-steps 6000] [--classifier-steps 3000] [--seed 0]
//               [--split-seed 0] [--threads 1] [--out DIR]
//
// Idea.        A representation phi(x) of a classifier keeps some properties of the image x and discards
//              others. Write x through an autoencoder, x ~ D(z) with z = E(x), and learn the conditional
//              density p(z | phi(x)) with a cINN t: v = t(z; phi), v ~ N(0, I). Fixing phi = phi(x) and
//              drawing v gives images D(t^-1(v; phi(x))) that share x's representation and differ in
//              whatever phi does not encode: the classifier's invariances. The more invariant the
//              representation, the more these samples vary.
// Data.        The 1797 digits (examples/common/digits_data.hpp), pixel values 0..16, split 80/20 into
//              training and test sets with --split-seed (1437 / 360); 15% of the training part is held
//              out to choose the cINN's best step (validation), the classifier and the autoencoder train on
//              the whole training part.
// Classifier.  examples/common/digit_classifier.hpp: MLP 64 -> 128 -> 32 -> 10 (relu), softmax
//              cross-entropy, trained with Gaussian pixel noise. Two representations are explained:
//                hidden   phi(x), the 32-unit last hidden layer,
//                logits   the 10 logits.
// Autoencoder. examples/common/autoencoder.hpp: MLP 64 -> 128 -> 128 -> d (--latent) and back, ELU, a
//              sigmoid output, trained on squared error with latent noise and a latent L2 penalty
//              (a regularised deterministic autoencoder), so that its latent space is smooth.
// cINN.        One per representation, the same architecture: --blocks all-in-one blocks (affine coupling
//              with a soft-clamped log-scale whose conditioner is an MLP [z_a, h] -> H -> H -> ..., a
//              learned global affine map, a random permutation), dsl::repeat(n, ...). The condition
//              (standardised with training-set statistics) goes through one condition network
//              C -> 64 -> 32 shared by all blocks, h = net(phi), in the role of the paper's embedding of
//              phi.
// Loss.        -log p(z | phi) = -log N(t(z; phi); 0, I) - log|det dt/dz|, mean over a minibatch of
//              training pairs (E(x), phi(x)).
// Augmentation. 1221 codes in 12 dimensions are few: in a first run without augmentation the cINN's
//              training NLL fell to -34 nats while the validation NLL was best at step 200. So the pairs
//              come from the training images and --augment copies of each with Gaussian pixel noise
//              (--pixel-noise, clipped to 0..16; valid inputs of both networks, the classifier was trained
//              with such noise), and each minibatch's latents get fresh noise sigma eps (--latent-noise,
//              the autoencoder's own latent noise, which its decoder was trained to ignore) through fit()'s
//              transform_batch hook: the cINN models p(z + sigma eps | phi).
// Training.    Adam, learning rate cosine-decayed from --lr to --lr / 100 after a 2% warm-up, gradient
//              norm clipped at 10; the validation NLL every 200 steps, and the parameters of the best
//              evaluation restored at the end (examples/common/training_run.hpp writes the logs).
// Evaluation.  For every test image x, --samples draws z_s = t^-1(v_s; phi(x)), decoded to x_s = D(z_s):
//                sample_class_agreement   fraction of x_s the classifier puts in the class it gives x
//                                         (the samples should keep what phi keeps, the class first)
//                sample_accuracy          fraction of x_s in x's true class
//                pixel_variance           variance of a pixel across the samples of one x, averaged over
//                                         pixels and test images (0..16 scale): what phi ignores
//                representation_error     E||phi(x_s) - phi(x)||^2 / E||phi(x_a) - phi(x_b)||^2 over random
//                                         test pairs (a, b): how nearly the samples keep phi itself
//              and, for scale, the pixel variance of the reconstructions D(E(x)) of all test images of
//              one class (data_pixel_variance_within_class).
// Adversarial. PGD (Madry et al. 2018) against the classifier, untargeted, L-infinity radius --epsilon on the
//              0..16 scale: --attack-steps steps x <- clip(x + alpha sign(grad_x CE(f(x), y))), alpha =
//              2.5 epsilon / steps, projected onto the epsilon-ball around the image and onto [0, 16]; the
//              gradient with respect to the image comes from the engine (Input{.requires_grad = true}).
//              FGSM is the one-step version (alpha = epsilon). The attack succeeds on a correctly
//              classified test image when the classifier's class changes. For each successful x', the cINNs
//              sample decoded images with phi(x') (and the logits of x'): what the classifier "sees" in it.
//
// Simplified from the paper: MLPs on 8x8 digits instead of CNNs on natural images, an autoencoder with a
// 12-dimensional latent instead of a large (variational) one, two representations (the last hidden layer
// and the logits) instead of every layer of the network, and a few thousand training steps.
//
// Writes DIR/metrics.json, the cINNs' training logs and checkpoints in DIR/cinn_hidden/ and
// DIR/cinn_logits/, and the numbers of the figures as .npy (float32, images as rows of 64 pixel values on
// 0..16, row-major 8 x 8; labels int32; metrics.json records image_height, image_width, pixel_max,
// representations, figure_samples and adversarial_samples_shown):
//   invariance_images.npy, invariance_labels.npy  x: the first test image of each class (10 rows)
//   invariance_reconstructions.npy                D(E(x)) of those
//   invariances_<r>_samples.npy    10 x figure_samples rows, grouped by image: D(z), z ~ p(z | r(x)),
//                                  for r = hidden and logits
//   adversarial_originals.npy, adversarial_images.npy, adversarial_reconstructions.npy
//                                  up to 8 test images the attack flipped, their attacked versions x adv
//                                  and D(E(x adv)); adversarial_labels.npy (rows: true class, class after
//                                  the attack)
//   adversarial_<r>_samples.npy    adversarial_samples_shown rows per x adv: D(z), z ~ p(z | r(x adv))
// (no adversarial_* files when the attack flipped no image). scripts/figures/invariances.py draws them as
// invariances_hidden.png, invariances_logits.png and adversarial.png.
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
#include <bijou/engine/io/npy.hpp>
#include <bijou/examples/common/autoencoder.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/digit_classifier.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/random.hpp>
#include <bijou/examples/common/training_run.hpp>

using namespace bijou;
using examples::Digits;
using T = float;

namespace {

constexpr std::size_t pixels = Digits::pixels;
constexpr std::size_t figure_samples = 10;      // samples per row in the invariance figures
constexpr std::size_t adversarial_shown = 6;     // samples per row in the adversarial figure
constexpr std::size_t condition_net_hidden = 64, condition_features = 32;

struct Settings {
    std::size_t latent, blocks, hidden, batch, steps, samples, attack_steps, seed, split_seed, augment;
    double lr, epsilon, latent_noise, pixel_noise;
};

// ---- helpers ----

Tensor<T> to_float(const Tensor<double>& x) { return xt::cast<T>(x); }

// The listed rows of x, in that order.
Tensor<T> rows_of(const Tensor<T>& x, const std::vector<std::size_t>& rows)
{
    Tensor<T> out = Tensor<T>::from_shape({rows.size(), x.shape()[1]});
    for (std::size_t i = 0; i < rows.size(); ++i) xt::row(out, i) = xt::row(x, rows[i]);
    return out;
}

// Every row of x `times` times in a row: row i becomes rows i * times ... i * times + times - 1.
Tensor<T> repeat_rows(const Tensor<T>& x, std::size_t times)
{
    Tensor<T> out = Tensor<T>::from_shape({x.shape()[0] * times, x.shape()[1]});
    for (std::size_t i = 0; i < out.shape()[0]; ++i) xt::row(out, i) = xt::row(x, i / times);
    return out;
}

// c' = (c - mean) / scale per feature, with the training set's mean and standard deviation. A feature
// that hardly varies (a relu unit dead on the training set) gets the scale floor, a hundredth of the
// largest deviation, rather than a division by almost zero.
struct Standardiser {
    std::vector<double> mean, scale;

    static Standardiser fit(const Tensor<T>& c)
    {
        const std::size_t n = c.shape()[0], d = c.shape()[1];
        Standardiser s{std::vector<double>(d, 0.0), std::vector<double>(d, 0.0)};
        for (std::size_t j = 0; j < d; ++j) {
            double sum = 0, sum2 = 0;
            for (std::size_t i = 0; i < n; ++i) {
                sum += double(c(i, j));
                sum2 += double(c(i, j)) * double(c(i, j));
            }
            s.mean[j] = sum / double(n);
            s.scale[j] = std::sqrt(std::max(sum2 / double(n) - s.mean[j] * s.mean[j], 0.0));
        }
        const double floor = 0.01 * *std::max_element(s.scale.begin(), s.scale.end()) + 1e-6;
        for (double& v : s.scale) v = std::max(v, floor);
        return s;
    }
    Tensor<T> operator()(const Tensor<T>& c) const
    {
        Tensor<T> out = c;
        for (std::size_t i = 0; i < c.shape()[0]; ++i)
            for (std::size_t j = 0; j < c.shape()[1]; ++j) out(i, j) = T((double(c(i, j)) - mean[j]) / scale[j]);
        return out;
    }
};

// Mean over groups of `group` consecutive rows of the per-pixel variance within the group (unbiased),
// averaged over the pixels.
double mean_group_variance(const Tensor<T>& images, std::size_t group)
{
    const std::size_t groups = images.shape()[0] / group, cols = images.shape()[1];
    double total = 0;
    for (std::size_t g = 0; g < groups; ++g)
        for (std::size_t p = 0; p < cols; ++p) {
            double sum = 0, sum2 = 0;
            for (std::size_t k = 0; k < group; ++k) {
                const double v = images(g * group + k, p);
                sum += v;
                sum2 += v * v;
            }
            total += (sum2 - sum * sum / double(group)) / double(group - 1);
        }
    return total / double(groups * cols);
}

double squared_distance(const Tensor<T>& a, std::size_t i, const Tensor<T>& b, std::size_t j)
{
    double d = 0;
    for (std::size_t k = 0; k < a.shape()[1]; ++k) d += std::pow(double(a(i, k)) - double(b(j, k)), 2);
    return d;
}

template <class F>
double fraction(std::size_t n, F&& holds)
{
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) count += holds(i) ? 1 : 0;
    return n == 0 ? 0.0 : double(count) / double(n);
}

// The images followed by `copies` copies with Gaussian pixel noise (clipped to 0..16): more (E(x), phi(x))
// pairs for the cINN, each a valid input of both networks (the classifier was trained with such noise).
Tensor<T> augmented(const Tensor<T>& images, std::size_t copies, double noise, std::uint64_t seed)
{
    if (copies == 0) return images;
    const std::size_t n = images.shape()[0];
    Tensor<T> out = Tensor<T>::from_shape({n * (copies + 1), pixels});
    std::mt19937_64 rng(seed);
    for (std::size_t c = 0; c <= copies; ++c)
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t p = 0; p < pixels; ++p) {
                const double v = double(images(i, p)) + (c == 0 ? 0.0 : noise * examples::random::normal(rng));
                out(c * n + i, p) = T(std::clamp(v, 0.0, Digits::max_value));
            }
    return out;
}

// Labels as an int32 array for the figures' .npy files.
xt::xtensor<std::int32_t, 1> int32_labels(const std::vector<int>& labels)
{
    return xt::xtensor<std::int32_t, 1>(xt::adapt(labels, {labels.size()}));
}

// ---- the cINN ----

auto cinn_spec(const Settings& s, std::size_t condition_dim)
{
    return dsl::conditional(dsl::repeat(s.blocks, flows::all_in_one(dsl::conditioner(hidden(s.hidden, s.hidden)))),
                            condition_dim, dsl::condition_net(hidden(condition_net_hidden), condition_features));
}
using Cinn = decltype(make_flow<T>(1, cinn_spec(Settings{}, 1)));

// One representation of the classifier (hidden layer or logits) and what is learned and measured for it.
struct Representation {
    std::string name;
    Tensor<T> (*of)(const examples::DigitClassifier<T>&, const Tensor<T>&);
};

Tensor<T> hidden_layer(const examples::DigitClassifier<T>& c, const Tensor<T>& x) { return c.evaluate_phi(x); }
Tensor<T> logits_layer(const examples::DigitClassifier<T>& c, const Tensor<T>& x) { return c.evaluate_logits(x); }

struct Explained {
    Standardiser standardise;
    FitReport report;
    double test_nll = 0;
};

// Trains the cINN p(E(x) | phi(x)) of one representation.
Explained train_cinn(Cinn& cinn, const Representation& r, const examples::DigitClassifier<T>& classifier,
                     const examples::Autoencoder<T>& autoencoder, const Tensor<T>& fit_images,
                     const Tensor<T>& validation_images, const Tensor<T>& test_images, const Settings& s,
                     const std::filesystem::path& out)
{
    Explained e;
    const Tensor<T> fit_c = r.of(classifier, fit_images);
    e.standardise = Standardiser::fit(fit_c);
    const Tensor<T> train_z = autoencoder.encode(fit_images), train_c = e.standardise(fit_c);
    const Tensor<T> validation_z = autoencoder.encode(validation_images);
    const Tensor<T> validation_c = e.standardise(r.of(classifier, validation_images));

    // z + sigma eps, eps ~ N(0, I) fresh for every minibatch: the cINN models the latent smoothed on the scale
    // the decoder was trained to ignore (the autoencoder's latent noise), instead of 1221 point masses.
    // The noise of step k is seeded by (seed, k), so a run is reproducible.
    const double sigma = s.latent_noise;
    auto add_latent_noise = [sigma, seed = s.seed](Tensor<T>& batch, std::int64_t step) {
        std::mt19937_64 rng(detail::splitmix64(seed * 1'000'003 + std::uint64_t(step)));
        for (T& v : batch) v += T(sigma * examples::random::normal(rng));
    };
    examples::TrainingRun run{.out = out / ("cinn_" + r.name),
                              .resume = "",
                              .config = "invariances cinn " + r.name + " latent " + std::to_string(s.latent) +
                                        " blocks " + std::to_string(s.blocks) + " hidden " + std::to_string(s.hidden)};
    std::printf("cINN p(z | %s): %zu blocks, %zu training pairs\n", r.name.c_str(), s.blocks, train_z.shape()[0]);
    e.report = run.fit(cinn, train_z, train_c,
                       FitOptions<T>{.batch_size = s.batch,
                                     .steps = std::int64_t(s.steps),
                                     .lr = s.lr,
                                     .schedule = CosineDecay{.base = s.lr,
                                                             .min_lr = s.lr / 100,
                                                             .total_steps = std::int64_t(s.steps),
                                                             .warmup_steps = std::int64_t(s.steps / 50)},
                                     .max_grad_norm = 10,
                                     .seed = s.seed,
                                     .transform_batch = add_latent_noise,
                                     .validation = &validation_z,
                                     .validation_condition = &validation_c,
                                     .validate_every = 200});
    const Tensor<T> log_p =
        cinn.log_prob(autoencoder.encode(test_images), e.standardise(r.of(classifier, test_images)));
    e.test_nll = -xt::mean(xt::cast<double>(log_p))();
    return e;
}

// `samples` decoded samples D(t^-1(v; phi)) for each row of `images`, grouped by image.
Tensor<T> decoded_samples(Cinn& cinn, const Explained& e, const Representation& r,
                          const examples::DigitClassifier<T>& classifier, const examples::Autoencoder<T>& autoencoder,
                          const Tensor<T>& images, std::size_t samples, std::mt19937_64& rng)
{
    const Tensor<T> conditions = repeat_rows(e.standardise(r.of(classifier, images)), samples);
    return autoencoder.decode(cinn.sample(conditions.shape()[0], conditions, rng));
}

// ---- the attack ----

struct Attack {
    Tensor<T> adversarial;
    std::vector<int> predicted;
};

// PGD with `steps` steps of size alpha in the L-infinity ball of radius epsilon (FGSM: steps = 1, alpha =
// epsilon), untargeted: each step ascends the cross-entropy of the true label.
Attack attack(const examples::DigitClassifier<T>& classifier, const Tensor<T>& images, const std::vector<int>& labels,
              double epsilon, std::size_t steps, double alpha)
{
    Tensor<T> current = images;
    for (std::size_t step = 0; step < steps; ++step) {
        // the sign is that of each image's own gradient (the mean's factor 1/n does not change it)
        const Tensor<T> grad = classifier.cross_entropy_gradient(current, labels);
        for (std::size_t i = 0; i < current.size(); ++i) {
            const double g = grad.data()[i], original = images.data()[i];
            const double moved = double(current.data()[i]) + alpha * double((g > 0) - (g < 0));
            current.data()[i] =
                T(std::clamp(std::clamp(moved, original - epsilon, original + epsilon), 0.0, Digits::max_value));
        }
    }
    return {current, classifier.predict(current)};
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv,
                      "Recover a digit classifier's invariances with conditional INNs (Rombach et al. 2020).");
    Settings s;
    s.latent = cli.option<std::size_t>("latent", 12, "autoencoder latent dimension d (8-16)");
    s.blocks = cli.option<std::size_t>("blocks", 6, "all-in-one blocks of each cINN");
    s.hidden = cli.option<std::size_t>("hidden", 64, "hidden units per conditioner layer (two layers)");
    s.batch = cli.option<std::size_t>("batch", 256, "cINN minibatch size");
    s.steps = cli.option<std::size_t>("steps", 2000, "cINN training steps");
    s.lr = cli.option<double>("lr", 1e-3, "cINN peak learning rate (cosine decay to lr/100)");
    s.samples = cli.option<std::size_t>("samples", 16, "samples per test image for the metrics (>= 2)");
    s.epsilon = cli.option<double>("epsilon", 2.0, "attack radius, L-infinity, 0..16 pixel scale");
    s.attack_steps = cli.option<std::size_t>("attack-steps", 20, "PGD steps");
    s.seed = cli.option<std::size_t>("seed", 0, "seed of the models' initial weights, minibatches and samples");
    s.split_seed = cli.option<std::size_t>("split-seed", 0, "seed of the train/test split");
    s.augment = cli.option<std::size_t>("augment", 8, "noisy copies of each cINN training image (0 = none)");
    s.pixel_noise = cli.option<double>("pixel-noise", 0.5, "pixel noise of those copies, 0..16 scale");
    s.latent_noise = cli.option<double>("latent-noise", 0.1, "latent noise added to each cINN minibatch");
    const auto autoencoder_steps = cli.option<std::size_t>("autoencoder-steps", 6000, "autoencoder training steps");
    const auto classifier_steps = cli.option<std::size_t>("classifier-steps", 3000, "classifier training steps");
    const int threads = cli.option<int>("threads", 1, "BLAS threads");
    const std::filesystem::path out = cli.option<std::string>("out", "out/invariances", "output directory");
    cli.done();

    try {
        if (s.samples < 2) throw_usage_error("invariances", "--samples must be at least 2 (a variance needs two)");
        if (!(s.epsilon > 0) || s.attack_steps == 0)
            throw_usage_error("invariances", "--epsilon must be > 0 and --attack-steps >= 1");
        set_blas_threads(threads);
        std::filesystem::create_directories(out);
        const auto started = std::chrono::steady_clock::now();
        std::mt19937_64 sample_rng(s.seed + 17);

        // ---- data ----
        const auto [train, test] = examples::train_test_split(examples::load_digits(), s.split_seed);
        const auto [fit_part, validation_part] = examples::train_validation_split(train, 0.15, s.split_seed + 1);
        const Tensor<T> train_x = to_float(train.images), test_x = to_float(test.images);
        const Tensor<T> fit_x = augmented(to_float(fit_part.images), s.augment, s.pixel_noise, s.seed + 5);
        const Tensor<T> validation_x = to_float(validation_part.images);
        const std::size_t n_test = test.size();

        // ---- the classifier and the autoencoder ----
        examples::DigitClassifierReport classifier_report;
        const auto classifier = examples::train_digit_classifier<T>(
            train_x, train.labels, {.steps = classifier_steps, .seed = s.seed + 1}, &classifier_report);
        const double classifier_accuracy = classifier.accuracy(test_x, test.labels);
        std::printf("classifier: test accuracy %.4f (train %.4f)\n", classifier_accuracy,
                    classifier_report.train_accuracy);

        examples::Autoencoder<T> autoencoder({.latent = s.latent, .hidden = 128, .seed = s.seed + 2});
        const auto autoencoder_report = autoencoder.train(
            train_x, {.steps = std::int64_t(autoencoder_steps), .batch_size = 128, .seed = s.seed + 3});
        const Tensor<T> reconstructions = autoencoder.decode(autoencoder.encode(test_x));
        const double autoencoder_mse = autoencoder.reconstruction_mse(test_x);
        const double reconstruction_accuracy = classifier.accuracy(reconstructions, test.labels);
        const double latent_rms = std::sqrt(xt::mean(xt::square(xt::cast<double>(autoencoder.encode(train_x))))());
        std::printf(
            "autoencoder: latent %zu (rms %.3f), test MSE %.3f (0..16 scale), classifier accuracy on "
            "reconstructions %.4f\n",
            s.latent, latent_rms, autoencoder_mse, reconstruction_accuracy);

        // For scale: how much a pixel varies among (reconstructed) test digits of one class.
        double within_class_variance = 0;
        for (int k = 0; k < int(Digits::classes); ++k) {
            std::vector<std::size_t> rows;
            for (std::size_t i = 0; i < n_test; ++i)
                if (test.labels[i] == k) rows.push_back(i);
            if (rows.size() < 2) continue;
            within_class_variance +=
                mean_group_variance(rows_of(reconstructions, rows), rows.size()) * double(rows.size()) / double(n_test);
        }

        const std::vector<int> test_predicted = classifier.predict(test_x);
        // Figure rows: the first test image of each class.
        std::vector<std::size_t> figure_rows;
        for (int k = 0; k < int(Digits::classes); ++k)
            for (std::size_t i = 0; i < n_test; ++i)
                if (test.labels[i] == k) {
                    figure_rows.push_back(i);
                    break;
                }
        const Tensor<T> figure_images = rows_of(test_x, figure_rows);

        // ---- the attack (it needs only the classifier) ----
        const double alpha = 2.5 * s.epsilon / double(s.attack_steps);
        const Attack pgd = attack(classifier, test_x, test.labels, s.epsilon, s.attack_steps, alpha);
        const Attack fgsm = attack(classifier, test_x, test.labels, s.epsilon, 1, s.epsilon);
        std::vector<std::size_t> attacked;  // correctly classified test images the PGD attack flipped
        std::size_t correct = 0, fgsm_flipped = 0;
        for (std::size_t i = 0; i < n_test; ++i) {
            if (test_predicted[i] != test.labels[i]) continue;
            ++correct;
            if (pgd.predicted[i] != test.labels[i]) attacked.push_back(i);
            if (fgsm.predicted[i] != test.labels[i]) ++fgsm_flipped;
        }
        const double attack_success = double(attacked.size()) / double(correct);
        const double fgsm_success = double(fgsm_flipped) / double(correct);
        std::printf("attack: epsilon %.2f, PGD (%zu steps) success %.4f, FGSM success %.4f\n", s.epsilon,
                    s.attack_steps, attack_success, fgsm_success);
        const Tensor<T> adversarial = rows_of(pgd.adversarial, attacked);
        std::vector<int> adversarial_class;
        for (const std::size_t i : attacked) adversarial_class.push_back(pgd.predicted[i]);

        // Figure rows for the attack: up to 8 flipped images, of distinct true classes where possible.
        std::vector<std::size_t> adversarial_rows;  // indices into `attacked`
        for (int pass = 0; pass < 2 && adversarial_rows.size() < 8; ++pass)
            for (std::size_t a = 0; a < attacked.size() && adversarial_rows.size() < 8; ++a) {
                const bool taken =
                    std::find(adversarial_rows.begin(), adversarial_rows.end(), a) != adversarial_rows.end();
                const bool class_seen =
                    std::any_of(adversarial_rows.begin(), adversarial_rows.end(),
                                [&](std::size_t b) { return test.labels[attacked[b]] == test.labels[attacked[a]]; });
                if (!taken && (pass == 1 || !class_seen)) adversarial_rows.push_back(a);
            }

        examples::Metrics metrics;
        metrics.add("classifier_test_accuracy", classifier_accuracy)
            .add("autoencoder_latent", s.latent)
            .add("autoencoder_test_mse", autoencoder_mse)
            .add("autoencoder_latent_rms", latent_rms)
            .add("classifier_accuracy_on_reconstructions", reconstruction_accuracy)
            .add("data_pixel_variance_within_class", within_class_variance)
            .add("samples_per_image", s.samples);

        // ---- one cINN per representation ----
        const Representation representations[] = {{"hidden", &hidden_layer}, {"logits", &logits_layer}};
        for (const Representation& r : representations) {
            const std::size_t condition_dim = r.of(classifier, rows_of(test_x, {0})).shape()[1];
            auto cinn = make_flow<T>(s.latent, cinn_spec(s, condition_dim), s.seed + 4);
            const Explained e = train_cinn(cinn, r, classifier, autoencoder, fit_x, validation_x, test_x, s, out);

            // Samples for every test image.
            const Tensor<T> samples =
                decoded_samples(cinn, e, r, classifier, autoencoder, test_x, s.samples, sample_rng);
            const std::vector<int> sample_class = classifier.predict(samples);
            const std::size_t n_samples = samples.shape()[0];
            const double agreement =
                fraction(n_samples, [&](std::size_t j) { return sample_class[j] == test_predicted[j / s.samples]; });
            const double sample_accuracy =
                fraction(n_samples, [&](std::size_t j) { return sample_class[j] == test.labels[j / s.samples]; });
            const double pixel_variance = mean_group_variance(samples, s.samples);
            const Tensor<T> sample_phi = r.of(classifier, samples), test_phi = r.of(classifier, test_x);
            double to_own = 0, between = 0;
            for (std::size_t j = 0; j < n_samples; ++j)
                to_own += squared_distance(sample_phi, j, test_phi, j / s.samples);
            for (std::size_t i = 0; i < n_test; ++i)
                between += squared_distance(test_phi, i, test_phi, (i * 7 + 1) % n_test);
            const double representation_error = (to_own / double(n_samples)) / (between / double(n_test));

            // What the classifier sees in the adversarial images.
            double sees_adversarial = 0, sees_original = 0;
            if (!attacked.empty()) {
                const Tensor<T> adv_samples =
                    decoded_samples(cinn, e, r, classifier, autoencoder, adversarial, s.samples, sample_rng);
                const std::vector<int> adv_class = classifier.predict(adv_samples);
                sees_adversarial = fraction(
                    adv_class.size(), [&](std::size_t j) { return adv_class[j] == adversarial_class[j / s.samples]; });
                sees_original = fraction(adv_class.size(), [&](std::size_t j) {
                    return adv_class[j] == test.labels[attacked[j / s.samples]];
                });
                std::vector<std::size_t> shown;
                for (const std::size_t a : adversarial_rows)
                    for (std::size_t k = 0; k < std::min(adversarial_shown, s.samples); ++k)
                        shown.push_back(a * s.samples + k);
                save_npy(out / ("adversarial_" + r.name + "_samples.npy"), rows_of(adv_samples, shown));
            }

            std::printf(
                "%s: test NLL %.3f nats, samples keep the class %.4f (true class %.4f), pixel variance %.3f "
                "(data within class %.3f), representation error %.4f; adversarial samples take the "
                "adversarial class %.4f, the original %.4f\n",
                r.name.c_str(), e.test_nll, agreement, sample_accuracy, pixel_variance, within_class_variance,
                representation_error, sees_adversarial, sees_original);
            metrics.add(r.name + "_test_nll_nats", e.test_nll)
                .add(r.name + "_best_validation_nll_nats", e.report.best_validation_nll)
                .add(r.name + "_best_step", double(e.report.best_step))
                .add(r.name + "_step_ms_median", e.report.median_step_ms)
                .add(r.name + "_sample_class_agreement", agreement)
                .add(r.name + "_sample_accuracy", sample_accuracy)
                .add(r.name + "_pixel_variance", pixel_variance)
                .add(r.name + "_representation_error", representation_error)
                .add(r.name + "_adversarial_samples_adversarial_class", sees_adversarial)
                .add(r.name + "_adversarial_samples_original_class", sees_original);

            // Figure: image, reconstruction, samples with the same representation.
            const Tensor<T> figure_samples_of =
                decoded_samples(cinn, e, r, classifier, autoencoder, figure_images, figure_samples, sample_rng);
            save_npy(out / ("invariances_" + r.name + "_samples.npy"), figure_samples_of);
        }

        // The figures' images: the invariance rows, and the attack and what the classifier sees in it.
        std::vector<int> figure_labels;
        for (const std::size_t i : figure_rows) figure_labels.push_back(test.labels[i]);
        save_npy(out / "invariance_images.npy", figure_images);
        save_npy(out / "invariance_labels.npy", int32_labels(figure_labels));
        save_npy(out / "invariance_reconstructions.npy", autoencoder.decode(autoencoder.encode(figure_images)));
        if (!adversarial_rows.empty()) {
            std::vector<std::size_t> originals;
            xt::xtensor<std::int32_t, 2> true_and_adversarial = xt::zeros<std::int32_t>({adversarial_rows.size(), std::size_t(2)});
            for (std::size_t row = 0; row < adversarial_rows.size(); ++row) {
                const std::size_t a = adversarial_rows[row];
                originals.push_back(attacked[a]);
                true_and_adversarial(row, 0) = test.labels[attacked[a]];
                true_and_adversarial(row, 1) = adversarial_class[a];
            }
            const Tensor<T> shown_adversarial = rows_of(adversarial, adversarial_rows);
            save_npy(out / "adversarial_originals.npy", rows_of(test_x, originals));
            save_npy(out / "adversarial_images.npy", shown_adversarial);
            save_npy(out / "adversarial_reconstructions.npy", autoencoder.decode(autoencoder.encode(shown_adversarial)));
            save_npy(out / "adversarial_labels.npy", true_and_adversarial);
        }

        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        metrics.add("attack_epsilon", s.epsilon)
            .add("attack_steps", s.attack_steps)
            .add("attack_success_rate", attack_success)
            .add("fgsm_success_rate", fgsm_success)
            .add("autoencoder_step_ms_median", autoencoder_report.median_step_ms)
            .add("wall_seconds", seconds)
            .add("blas_threads", blas_threads())
            .add("image_height", Digits::side)
            .add("image_width", Digits::side)
            .add("pixel_max", int(Digits::max_value))
            .add("representations", std::vector<std::string>{"hidden", "logits"})
            .add("figure_samples", figure_samples)
            .add("adversarial_samples_shown", std::min(adversarial_shown, s.samples));
        metrics.write(out / "metrics.json");
        std::printf("wrote %s in %.1f s\n", out.c_str(), seconds);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
