// digits: density estimation on the UCI optical digits (8 x 8 images, pixel values 0-16) with RealNVP,
// Glow or a neural spline flow, trained by maximum likelihood with early stopping.
//
//   digits [--flow spline|realnvp|glow] [--blocks 8] [--hidden 64] [--batch 128] [--steps 3000]
//          [--lr 1e-3] [--seed 0] [--threads 1] [--out DIR] [--resume CKPT]
//          [--alpha 0.01] [--weight-decay 3] [--validate-every 100] [--patience 10] [--split-seed 0]
//
// Data.        The 1797 images of examples/common/digits_data.hpp, split 80/20 into training and test sets
//              with --split-seed (1437 / 360), and 15% of the training part held out for validation
//              (1221 fitted / 216 validation). The split does not depend on --seed, so runs with different
//              seeds are judged on the same test images.
// Dequantisation. A pixel value v in {0, ..., 16} becomes y = (v + u) / 17 with u ~ U[0, 1): a point of its
//              bin, scaled into [0, 1) (examples/common/dequantisation.hpp). Training draws fresh u for
//              every minibatch, through fit()'s transform_batch hook, rather than dequantising the training
//              set once (or K times into a replicated tensor): with a fixed u the model could learn the
//              noise of 1221 images, and the bound below holds for the expectation over u, which fresh
//              draws estimate without bias. The noise of step k comes from a generator seeded by
//              (--seed, k), so a resumed run sees the same batches as an uninterrupted one. The validation
//              set is dequantised once (fixed u, so successive evaluations compare like with like), the
//              test set with 10 draws of u per image; both draws are fixed by --split-seed, so every run
//              is evaluated on the same points.
// Model.       logit_layer(alpha) first, y' = logit(alpha + (1 - 2 alpha) y), mapping [0, 1)^64 to R^64
//              with its log-det counted in log p; then --blocks steps of
//                realnvp   affine coupling (MLP 32 -> H -> H -> 64, soft-clamped log-scale), random permutation
//                glow      ActNorm (data-dependent init), learned LU-decomposed linear map, affine coupling
//                spline    rational-quadratic spline coupling (8 bins on [-6, 6], linear tails), random
//                          permutation
//              built with dsl::repeat(n, ...), so the depth is a run-time choice, over a standard normal.
// Loss.        Mean NLL of a dequantised minibatch in the [0, 1) scale, -log p(y).
// Training.    Adam (AdamW with --weight-decay), learning rate cosine-decayed from --lr to --lr / 100 after
//              a 2% warm-up, gradient norm clipped at 10, checkpoints every 500 steps
//              (examples/common/training_run.hpp). The validation NLL is measured every --validate-every
//              steps; after --patience evaluations without improvement training stops, and the parameters
//              of the best evaluation are restored, so the test NLL is not that of an overfitted model.
// Evaluation.  In the units of the literature, nats per image and bits per dimension on the 0-16 scale:
//              the dequantised image in pixel units, w = 17 y = v + u, has the density p(w / 17) / 17^64, so
//                NLL_pixels = NLL_[0,1] + 64 log 17,     bits/dim = NLL_pixels / (64 log 2).
//              By Jensen, E_u[-log p((v + u) / 17)] + 64 log 17 >= -log P(v) for the discrete model
//              P(v) = integral of the density over v's bin, so both figures are upper bounds on the
//              discrete NLL (Theis et al. 2016). The logit layer's squeeze also leaves some of the
//              model's mass outside [0, 1)^64, which only loosens the bound. For scale, metrics.json also
//              gives the bits/dim of independent per-pixel histograms fitted to the training images.
//
// Defaults.    Chosen on the validation NLL in a small sweep (the three flows, hidden 32-256, 6-16 blocks,
//              alpha 0.001-0.05, weight decay 0-3, batch 64-256): with 1221 training images and no weight
//              decay a flow overfits within a few hundred steps, so a narrow conditioner (64), weight decay and a small
//              alpha (0.01; 0.05 and 0.001 were worse) matter more than depth or width. The spline flow
//              is the default: 0.15-0.2 bits/dim better than Glow or RealNVP, at 7-15 times their cost
//              per step (a run of a minute or two against 5-10 seconds). docs/experiments.md lists the
//              figures.
//
// Writes DIR/metrics.json, log.csv, checkpoint.ckpt and, as .npy (float32, images as rows of 64 pixel
// values on the 0..16 scale, row-major 8 x 8; metrics.json records image_height, image_width, pixel_max
// and sample_temperatures):
//   samples.npy      200 x 64: 100 samples at each temperature of sample_temperatures (1 and 0.75; the
//                    same z at both), temperature-major
//   test_digits.npy  100 x 64: the first 100 test digits
// scripts/figures/digits.py draws them as samples.png.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <bijou/bijou.hpp>
#include <bijou/engine/blas.hpp>
#include <bijou/engine/io/npy.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/dequantisation.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/random.hpp>
#include <bijou/examples/common/training_run.hpp>

using namespace bijou;
using examples::bits_per_dim;  // the unit conversions of examples/common/dequantisation.hpp
using examples::Digits;
using examples::pixel_scale_nll;
using T = float;

namespace {

constexpr std::size_t pixels = Digits::pixels;
constexpr std::size_t test_draws = 10;  // dequantisation draws per test image
constexpr double validation_fraction = 0.15;
constexpr double sample_temperature = 0.75;  // the second sample panel: z ~ N(0, T^2 I)
// The spline's range [-B, B]: wide enough for the logit of every pixel value (|logit(alpha)| = 4.6 at
// alpha = 0.01), since outside it the spline is the identity and cannot move a value.
constexpr double spline_tail_bound = 6;

struct Settings {
    std::string flow;
    std::size_t blocks, hidden, batch, steps, seed, split_seed, validate_every, patience;
    double lr, alpha, weight_decay;
};

// The three architectures, each one block repeated --blocks times after the logit preprocessing.
auto realnvp(const Settings& s)
{
    return dsl::seq(
        flows::logit_layer(s.alpha),
        dsl::repeat(s.blocks, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(s.hidden, s.hidden))),
                                       dsl::permute_random())));
}
auto glow(const Settings& s)
{
    return dsl::seq(
        flows::logit_layer(s.alpha),
        dsl::repeat(s.blocks, dsl::seq(flows::actnorm(), flows::lu_linear(),
                                       flows::realnvp_coupling(dsl::conditioner(hidden(s.hidden, s.hidden))))));
}
auto spline(const Settings& s)
{
    return dsl::seq(flows::logit_layer(s.alpha),
                    dsl::repeat(s.blocks, dsl::seq(flows::spline_coupling(dsl::conditioner(hidden(s.hidden, s.hidden)),
                                                                          8, spline_tail_bound),
                                                   dsl::permute_random())));
}

// The mean of -log p over `data` (rows = draws x images, draw-major, as examples::dequantised stacks them) and
// its standard error over images: each image's NLL is first averaged over its draws, since the draws of
// one image are strongly correlated. Evaluated in chunks of one draw (one program binding, bounded memory).
template <class Flow>
std::pair<double, double> mean_nll(Flow& flow, const Tensor<T>& data, std::size_t images)
{
    const std::size_t draws = data.shape()[0] / images;
    std::vector<double> per_image(images, 0.0);
    for (std::size_t d = 0; d < draws; ++d) {
        const Tensor<T> log_p =
            flow.log_prob(xt::eval(xt::view(data, xt::range(d * images, (d + 1) * images), xt::all())));
        for (std::size_t i = 0; i < images; ++i) per_image[i] -= double(log_p(i, 0)) / double(draws);
    }
    double sum = 0, sum_of_squares = 0;
    for (const double v : per_image) {
        sum += v;
        sum_of_squares += v * v;
    }
    const double n = double(images), mean = sum / n, variance = (sum_of_squares - n * mean * mean) / (n - 1);
    return {mean, std::sqrt(std::max(variance, 0.0) / n)};
}

// A baseline for scale: each pixel an independent categorical over 0..16, fitted to the training images
// with add-one smoothing; its test NLL in bits per dimension (discrete, so no dequantisation gap).
double independent_pixels_bits_per_dim(const Tensor<double>& train, const Tensor<double>& test)
{
    const auto values = std::size_t(examples::digit_levels);
    std::vector<double> counts(pixels * values, 1.0);
    for (std::size_t i = 0; i < train.shape()[0]; ++i)
        for (std::size_t p = 0; p < pixels; ++p) counts[p * values + std::size_t(train(i, p))] += 1;
    const double total = double(train.shape()[0]) + double(values);
    double bits = 0;
    for (std::size_t i = 0; i < test.shape()[0]; ++i)
        for (std::size_t p = 0; p < pixels; ++p)
            bits -= std::log2(counts[p * values + std::size_t(test(i, p))] / total);
    return bits / double(test.shape()[0] * pixels);
}

template <class Flow>
int run(Flow& flow, const Settings& s, const std::filesystem::path& out, const std::string& resume)
{
    // Data: the fixed split, then the dequantised tensors. Training rows stay on the 0-16 scale; the
    // transform_batch hook dequantises each minibatch.
    const Digits all = examples::load_digits();
    const auto [train_all, test] = examples::train_test_split(all, s.split_seed);
    const auto [fit_on, validation_digits] =
        examples::train_validation_split(train_all, validation_fraction, s.split_seed);
    const Tensor<T> train = xt::cast<T>(fit_on.images);
    const Tensor<T> validation = examples::dequantised<T>(validation_digits.images, 1, s.split_seed + 101);
    const Tensor<T> test_dequantised = examples::dequantised<T>(test.images, test_draws, s.split_seed + 202);
    const Tensor<T> train_dequantised = examples::dequantised<T>(fit_on.images, 1, s.seed + 303);

    // Data-dependent initialisation (ActNorm) on dequantised training images; restored values win on resume.
    flow.initialize(train_dequantised);

    // The noise of step k: a generator seeded with a function of (--seed, k) alone. Its state lives out
    // here, so the hook allocates nothing.
    const std::uint64_t noise_seed = (s.seed + 1) * 0x9e3779b97f4a7c15ull;
    std::mt19937_64 noise;
    const auto dequantise_batch = [&](Tensor<T>& batch, std::int64_t step) {
        noise.seed(noise_seed + std::uint64_t(step));
        examples::dequantise(batch.data(), batch.size(), noise);
    };

    examples::TrainingRun training{.out = out,
                                   .resume = resume,
                                   .config = "digits " + s.flow + " blocks " + std::to_string(s.blocks) + " hidden " +
                                             std::to_string(s.hidden) + " alpha " + std::to_string(s.alpha)};
    const auto steps = std::int64_t(s.steps);
    const FitOptions<T> options{
        .batch_size = s.batch,
        .steps = steps,
        .lr = s.lr,
        .schedule = CosineDecay{.base = s.lr, .min_lr = s.lr / 100, .total_steps = steps, .warmup_steps = steps / 50},
        .weight_decay = s.weight_decay,
        .max_grad_norm = 10,
        .seed = s.seed,
        .transform_batch = dequantise_batch,
        .validation = &validation,
        .validate_every = std::int64_t(s.validate_every),
        .patience = std::int64_t(s.patience)};
    const auto report = training.fit(flow, train, options);
    world().dismiss_all_but_root();  // a data-parallel run's root evaluates and writes alone

    // Evaluation, with the best validated parameters (fit restored them).
    const auto [test_nll_unit, test_nll_stderr] = mean_nll(flow, test_dequantised, test.size());
    const double train_nll_unit = mean_nll(flow, train_dequantised, fit_on.size()).first;
    const double test_nll = pixel_scale_nll(test_nll_unit), train_nll = pixel_scale_nll(train_nll_unit);
    const double baseline_bpd = independent_pixels_bits_per_dim(fit_on.images, test.images);
    const Tensor<T> test_first_draw = xt::view(test_dequantised, xt::range(0, test.size()), xt::all());
    const Tensor<T> back = flow.inverse(flow.forward(test_first_draw).first).first;
    const double roundtrip = xt::amax(xt::abs(xt::cast<double>(back) - xt::cast<double>(test_first_draw)))();

    // Samples at temperature 1 (the model's distribution) and, as in Glow, at a lower temperature,
    // which trades diversity for cleaner strokes.
    std::mt19937_64 sample_rng(s.seed + 7);
    Tensor<T> z = Tensor<T>::from_shape({100, pixels});
    for (T& v : z) v = T(examples::random::normal(sample_rng));
    const std::vector<double> sample_temperatures{1.0, sample_temperature};
    Tensor<float> samples = Tensor<float>::from_shape({100 * sample_temperatures.size(), pixels});
    for (std::size_t t = 0; t < sample_temperatures.size(); ++t)
        xt::view(samples, xt::range(100 * t, 100 * (t + 1)), xt::all()) =
            xt::cast<float>(examples::to_pixels(flow.inverse(xt::eval(T(sample_temperatures[t]) * z)).first));
    save_npy(out / "samples.npy", samples);
    save_npy(out / "test_digits.npy", Tensor<float>(xt::cast<float>(xt::view(test.images, xt::range(0, 100), xt::all()))));

    std::vector<double> validation_steps, validation_nll;
    for (const auto& point : report.validation) {
        validation_steps.push_back(double(point.step));
        validation_nll.push_back(pixel_scale_nll(point.loss));
    }
    std::size_t parameter_count = 0;
    for (const auto& p : flow.parameters()) parameter_count += p.size();

    examples::Metrics metrics;
    metrics.add("flow", s.flow)
        .add("blocks", s.blocks)
        .add("hidden", s.hidden)
        .add("batch", s.batch)
        .add("alpha", s.alpha)
        .add("parameters", parameter_count)
        .add("train_images", fit_on.size())
        .add("validation_images", validation_digits.size())
        .add("test_images", test.size())
        .add("test_nll_nats_per_image", test_nll)
        .add("test_nll_stderr", test_nll_stderr)
        .add("test_bits_per_dim", bits_per_dim(test_nll))
        .add("test_nll_unit_cube_nats", test_nll_unit)
        .add("train_nll_nats_per_image", train_nll)
        .add("train_bits_per_dim", bits_per_dim(train_nll))
        .add("best_validation_nll_nats_per_image", pixel_scale_nll(report.best_validation_nll))
        .add("best_validation_bits_per_dim", bits_per_dim(pixel_scale_nll(report.best_validation_nll)))
        .add("best_step", report.best_step)
        .add("steps_requested", s.steps)
        .add("steps_run", report.steps_run)
        .add("stop_reason", std::string(to_string(report.stop_reason)))
        .add("validation_steps", validation_steps)
        .add("validation_nll_nats_per_image", validation_nll)
        .add("baseline_independent_pixels_bits_per_dim", baseline_bpd)
        .add("step_ms_median", report.median_step_ms)
        .add("processes", report.processes)  // that trained it (mpirun -np P; 1 alone)
        .add("sum_ms_median", report.median_sum_ms)  // of a step, the sum over the processes
        .add("roundtrip_max_abs_err", roundtrip)
        .add("blas_threads", blas_threads())
        .add("image_height", Digits::side)
        .add("image_width", Digits::side)
        .add("pixel_max", int(Digits::max_value))
        .add("sample_temperatures", sample_temperatures);
    metrics.write(out / "metrics.json");
    std::printf(
        "digits %s: test NLL %.2f +- %.2f nats/image = %.4f bits/dim (train %.4f, independent pixels %.4f); "
        "best step %lld of %lld (%s); step %.3f ms -> %s\n",
        s.flow.c_str(), test_nll, test_nll_stderr, bits_per_dim(test_nll), bits_per_dim(train_nll), baseline_bpd,
        (long long)report.best_step, (long long)report.steps_run, to_string(report.stop_reason),
        report.median_step_ms, out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Density estimation on the 8x8 UCI digits with a normalizing flow.");
    Settings s;
    s.flow = cli.option<std::string>("flow", "spline", "spline, realnvp or glow");
    s.blocks = cli.option<std::size_t>("blocks", 8, "flow steps");
    s.hidden = cli.option<std::size_t>("hidden", 64, "hidden units per conditioner layer (two layers)");
    s.batch = cli.option<std::size_t>("batch", 128, "minibatch size");
    s.steps = cli.option<std::size_t>("steps", 3000, "training steps (at most: early stopping may end sooner)");
    s.lr = cli.option<double>("lr", 1e-3, "peak learning rate (cosine decay to lr/100)");
    s.seed = cli.option<std::size_t>("seed", 0, "seed of the initial parameters, the shuffles and the dequantisation");
    s.split_seed = cli.option<std::size_t>("split-seed", 0, "seed of the train/validation/test split");
    s.alpha = cli.option<double>("alpha", 0.01, "logit squeeze: y' = logit(alpha + (1 - 2 alpha) y)");
    s.weight_decay = cli.option<double>("weight-decay", 3,
                                        "AdamW's decoupled weight decay, theta *= 1 - lr * decay per step (0 = Adam)");
    s.validate_every = cli.option<std::size_t>("validate-every", 100, "steps between validation evaluations");
    s.patience = cli.option<std::size_t>("patience", 10, "evaluations without improvement before stopping (0 = never)");
    const int threads = cli.option<int>("threads", 1, "BLAS threads");
    const std::string out = cli.option<std::string>("out", "out/digits", "output directory");
    const std::string resume = cli.option<std::string>("resume", "", "checkpoint to continue from");
    cli.data_parallel();  // mpirun -np P digits ...: the training shared by P processes
    cli.done();

    try {
        set_blas_threads(threads);
        if (!(s.alpha > 0 && s.alpha < 0.5))
            throw_usage_error("digits",
                              "--alpha must lie in (0, 0.5): dequantised values reach 0, where logit(0) = -inf");
        if (s.validate_every == 0) throw_usage_error("digits", "--validate-every must be at least 1");
        if (s.flow == "realnvp") {
            auto flow = make_flow<T, dsl::closed_interval(0, 1)>(pixels, realnvp(s), s.seed);
            return run(flow, s, out, resume);
        }
        if (s.flow == "glow") {
            auto flow = make_flow<T, dsl::closed_interval(0, 1)>(pixels, glow(s), s.seed);
            return run(flow, s, out, resume);
        }
        if (s.flow == "spline") {
            auto flow = make_flow<T, dsl::closed_interval(0, 1)>(pixels, spline(s), s.seed);
            return run(flow, s, out, resume);
        }
        throw_usage_error("digits", "--flow must be realnvp, glow or spline, got '", s.flow, "'");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
