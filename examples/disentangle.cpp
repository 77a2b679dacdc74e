// disentangle: an invertible network that splits an autoencoder's latent code of the 8x8 digits into a
// digit-class factor and a residual, after Esser, Rombach and Ommer (2020), "A Disentangling Invertible
// Interpretation Network for Explaining Latent Representations" (CVPR 2020; the IIN).
//
//   disentangle [--latent 12] [--class-dims 6] [--blocks 6] [--hidden 64] [--batch 128] [--steps 3000]
//               [--lr 1e-3] [--rho 0.975] [--latent-noise 0.1] [--pairs 2000] [--seed 0] [--split-seed 0]
//               [--threads 1] [--out DIR]
//
// Idea.        An autoencoder's latent z = E(x) holds everything about a digit, entangled. An INN T maps it
//              bijectively to factors T(z) = (y_class, y_residual), blocks of coordinates that each carry
//              one concept, so that editing a block and mapping back, x' = D(T^-1(y')), changes that concept
//              alone. The concept is defined only by pairs of images that share it: here pairs of two
//              different images of the same digit.
// Data.        The 1797 digits (examples/common/digits_data.hpp), pixel values 0..16, split 80/20 into
//              training and test sets with --split-seed (1437 / 360).
// Models.      Autoencoder (examples/common/autoencoder.hpp): MLP 64 -> 128 -> 128 -> d (--latent) and
//              back, a regularised deterministic autoencoder with latent noise 0.1. Classifier
//              (examples/common/digit_classifier.hpp), trained independently on the real training images:
//              the judge of the swaps, which neither the autoencoder nor the INN ever sees.
// INN.         T = --blocks steps of [ActNorm (data-dependent init), affine coupling, reversal, affine
//              coupling, random permutation] (the IIN's VectorActNorm + DoubleVectorCouplingBlock +
//              Shuffle), coupling conditioners MLP d/2 -> H -> H -> d, dsl::repeat(n, ...). The output's
//              first --class-dims coordinates are y_class, the rest y_residual.
// Loss.        For a pair (z_a, z_b) sharing the class, with y = T(z): the factors of one image are
//              N(0, I), and the shared factor's codes of the two images are correlated Gaussians with
//              correlation rho (--rho) per coordinate, the residuals independent:
//                -log p(z_a, z_b) = -log N(y_a; 0, I) - log|det dT/dz (z_a)|
//                                   - log N(y_b,class; rho y_a,class, (1 - rho^2) I) - log N(y_b,residual; 0, I)
//                                   - log|det dT/dz (z_b)|,
//              mean over a minibatch of pairs (the FactorLoss of the authors' code, CompVis/iin). Both
//              members have N(0, I) marginals, so T is also a density model of z.
// Training.    Pairs drawn afresh for every step: a random training image and a random other training
//              image of its class. Each latent gets Gaussian noise sigma eps (--latent-noise, the
//              autoencoder's own latent noise), which keeps the INN from collapsing onto the 1437 training
//              codes. Adam, learning rate cosine-decayed from --lr to --lr / 100, gradient norm clipped at 10.
// Evaluation.  On --pairs random test pairs (receiver r, donor g) of different classes, with y = T(E(x)):
//                class swap      x' = D(T^-1(y_g,class, y_r,residual)): the independent classifier's
//                                accuracy that x' shows the donor's class (swap_takes_donor_class), and
//                                how often it still shows the receiver's (swap_keeps_receiver_class)
//                residual swap   x'' = D(T^-1(y_r,class, y_g,residual)): accuracy that x'' keeps the
//                                receiver's class (residual_swap_keeps_class)
//                baseline        the same swap of the first --class-dims coordinates of z itself, without
//                                the INN (raw_latent_swap_takes_donor_class)
//              and, on random same-class test pairs, the mean per-coordinate correlation of y_class
//              (should approach rho) and of y_residual (should be near 0).
//
// Simplified from the paper: MLPs on 8x8 digits instead of convolutional networks on natural images,
// a 12-dimensional deterministic autoencoder latent instead of a large variational one, one factor
// (the digit class) plus the residual instead of several, and a few thousand training steps.
//
// Writes DIR/metrics.json, log.csv, iin.ckpt and the numbers of two swap tables, as .npy (float32,
// images as rows of 64 pixel values on 0..16, row-major 8 x 8; labels int32; metrics.json records
// image_height, image_width and pixel_max). The table's top row holds 10 test digits (the first of each
// class), its left column 8 others (the second of each of the classes 0..7), and cell (r, c) decodes the
// factors of both, D(T^-1(y)):
//   swap_top.npy, swap_top_labels.npy    the 10 top-row digits
//   swap_left.npy, swap_left_labels.npy  the 8 left-column digits
//   swap_class.npy     80 x 64, row 10 r + c: the class block of top digit c, the residual of left digit r
//   swap_residual.npy  80 x 64, row 10 r + c: the residual of top digit c, the class block of left digit r
// scripts/figures/disentangle.py draws them as swap.png and style.png.
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
#include <bijou/examples/common/csv_log.hpp>
#include <bijou/examples/common/digit_classifier.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/progress.hpp>
#include <bijou/examples/common/random.hpp>

using namespace bijou;
using examples::Digits;
using T = float;

namespace {

struct Settings {
    std::size_t latent, class_dims, blocks, hidden, batch, steps, pairs, seed, split_seed;
    double lr, rho, latent_noise;
};

Tensor<T> to_float(const Tensor<double>& x) { return xt::cast<T>(x); }

Tensor<T> rows_of(const Tensor<T>& x, const std::vector<std::size_t>& rows)
{
    Tensor<T> out = Tensor<T>::from_shape({rows.size(), x.shape()[1]});
    for (std::size_t i = 0; i < rows.size(); ++i) xt::row(out, i) = xt::row(x, rows[i]);
    return out;
}

// Row-wise [a[:, :k], b[:, k:]] for rows a_rows[i] of a and b_rows[i] of b.
Tensor<T> spliced(const Tensor<T>& a, const std::vector<std::size_t>& a_rows, const Tensor<T>& b,
                  const std::vector<std::size_t>& b_rows, std::size_t k)
{
    const std::size_t d = a.shape()[1];
    Tensor<T> out = Tensor<T>::from_shape({a_rows.size(), d});
    for (std::size_t i = 0; i < a_rows.size(); ++i)
        for (std::size_t j = 0; j < d; ++j) out(i, j) = j < k ? a(a_rows[i], j) : b(b_rows[i], j);
    return out;
}

template <class F>
double fraction(std::size_t n, F&& holds)
{
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) count += holds(i) ? 1 : 0;
    return n == 0 ? 0.0 : double(count) / double(n);
}

// Mean over coordinates [begin, end) of the Pearson correlation between y(a_i, j) and y(b_i, j) over pairs i.
double pair_correlation(const Tensor<T>& y, const std::vector<std::size_t>& a, const std::vector<std::size_t>& b,
                        std::size_t begin, std::size_t end)
{
    double total = 0;
    const double n = double(a.size());
    for (std::size_t j = begin; j < end; ++j) {
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            const double u = y(a[i], j), v = y(b[i], j);
            sa += u, sb += v, saa += u * u, sbb += v * v, sab += u * v;
        }
        const double cov = sab / n - sa * sb / (n * n);
        const double var_a = saa / n - sa * sa / (n * n), var_b = sbb / n - sb * sb / (n * n);
        total += cov / std::sqrt(var_a * var_b);
    }
    return total / double(end - begin);
}

// ---- the INN and its loss ----

auto iin_spec(const Settings& s)
{
    const auto net = dsl::conditioner(hidden(s.hidden, s.hidden));
    return dsl::repeat(s.blocks, dsl::seq(flows::actnorm(), flows::realnvp_coupling(net), dsl::reverse(),
                                          flows::realnvp_coupling(net), dsl::permute_random()));
}

// The mean negative log-likelihood of a minibatch of pairs (z_a, z_b) that share the class factor, in nats
// per pair (see the top of the file). With k = class_dims and c = 1 - rho^2:
//   0.5 |y_a|^2 + 0.5 |y_b,res|^2 + 0.5 |y_b,class - rho y_a,class|^2 / c - log|det|_a - log|det|_b
//   + d log(2 pi) + (k / 2) log c.
template <class Block>
auto pair_loss_program(const Block& block, const Input<T>& z_a, const Input<T>& z_b, std::size_t class_dims, double rho)
{
    const std::size_t d = block.dim();
    auto [y_a_expr, log_det_a] = block.forward(z_a, dsl::NoCondition{});
    auto [y_b_expr, log_det_b] = block.forward(z_b, dsl::NoCondition{});
    const auto y_a = let(y_a_expr), y_b = let(y_b_expr);
    const double c = 1 - rho * rho;
    const double normaliser = double(d) * std::log(2 * std::numbers::pi) + 0.5 * double(class_dims) * std::log(c);
    return Program(mean(0.5 * sum(square(y_a), 1) + 0.5 * sum(square(slice(y_b, class_dims, d)), 1) +
                        (0.5 / c) * sum(square(slice(y_b, 0, class_dims) - T(rho) * slice(y_a, 0, class_dims)), 1) -
                        log_det_a - log_det_b) +
                   normaliser);
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv,
                      "Disentangle digit class from style in an autoencoder's latent with an invertible network "
                      "(Esser et al. 2020).");
    Settings s;
    s.latent = cli.option<std::size_t>("latent", 12, "autoencoder latent dimension d (8-16)");
    s.class_dims = cli.option<std::size_t>("class-dims", 6, "coordinates of the class factor (the rest is residual)");
    s.blocks = cli.option<std::size_t>("blocks", 6, "INN steps (ActNorm, two couplings, permutation)");
    s.hidden = cli.option<std::size_t>("hidden", 64, "hidden units per conditioner layer (two layers)");
    s.batch = cli.option<std::size_t>("batch", 128, "pairs per minibatch");
    s.steps = cli.option<std::size_t>("steps", 3000, "INN training steps");
    s.lr = cli.option<double>("lr", 1e-3, "peak learning rate (cosine decay to lr/100)");
    s.rho = cli.option<double>("rho", 0.975, "correlation of a shared factor's codes within a pair");
    s.latent_noise = cli.option<double>("latent-noise", 0.1, "Gaussian noise added to each training latent");
    s.pairs = cli.option<std::size_t>("pairs", 2000, "test pairs for the swap metrics");
    s.seed = cli.option<std::size_t>("seed", 0, "seed of the initial weights, the pairs and the noise");
    s.split_seed = cli.option<std::size_t>("split-seed", 0, "seed of the train/test split");
    const auto autoencoder_steps = cli.option<std::size_t>("autoencoder-steps", 6000, "autoencoder training steps");
    const auto classifier_steps = cli.option<std::size_t>("classifier-steps", 3000, "classifier training steps");
    const int threads = cli.option<int>("threads", 1, "BLAS threads");
    const std::filesystem::path out = cli.option<std::string>("out", "out/disentangle", "output directory");
    cli.done();

    try {
        if (s.class_dims == 0 || s.class_dims >= s.latent)
            throw_usage_error("disentangle", "--class-dims must be in 1 .. latent - 1 = ", s.latent - 1, ", got ",
                              s.class_dims);
        if (!(s.rho > 0 && s.rho < 1)) throw_usage_error("disentangle", "--rho must be in (0, 1), got ", s.rho);
        if (s.steps == 0 || s.batch == 0 || s.pairs == 0)
            throw_usage_error("disentangle", "--steps, --batch and --pairs must be positive");
        set_blas_threads(threads);
        std::filesystem::create_directories(out);
        const auto started = std::chrono::steady_clock::now();
        const std::size_t d = s.latent, k = s.class_dims;

        // ---- data, classifier, autoencoder ----
        const auto [train, test] = examples::train_test_split(examples::load_digits(), s.split_seed);
        const Tensor<T> train_x = to_float(train.images), test_x = to_float(test.images);
        const std::size_t n_train = train.size(), n_test = test.size();

        examples::DigitClassifierReport classifier_report;
        const auto classifier = examples::train_digit_classifier<T>(
            train_x, train.labels, {.steps = classifier_steps, .seed = s.seed + 1}, &classifier_report);
        const double classifier_accuracy = classifier.accuracy(test_x, test.labels);

        examples::Autoencoder<T> autoencoder({.latent = d, .hidden = 128, .seed = s.seed + 2});
        autoencoder.train(train_x, {.steps = std::int64_t(autoencoder_steps), .batch_size = 128, .seed = s.seed + 3});
        const Tensor<T> train_z = autoencoder.encode(train_x), test_z = autoencoder.encode(test_x);
        const double reconstruction_accuracy = classifier.accuracy(autoencoder.decode(test_z), test.labels);
        std::printf(
            "classifier test accuracy %.4f; autoencoder latent %zu, test MSE %.3f, classifier accuracy on "
            "reconstructions %.4f\n",
            classifier_accuracy, d, autoencoder.reconstruction_mse(test_x), reconstruction_accuracy);

        // ---- the INN ----
        auto iin = make_flow<T>(d, iin_spec(s), s.seed + 4);
        iin.initialize(train_z);  // ActNorm: unit-variance features on the training codes
        Input<T> z_a(d, "z_a"), z_b(d, "z_b");
        auto loss = pair_loss_program(iin.block(), z_a, z_b, k, s.rho);
        const std::size_t batch = std::min(s.batch, n_train);
        loss.bind(batch);
        const auto parameters = iin.parameters();
        Adam<T> optimizer(parameters, {.lr = s.lr});
        const CosineDecay schedule{.base = s.lr, .min_lr = s.lr / 100, .total_steps = std::int64_t(s.steps)};

        std::vector<std::vector<std::size_t>> by_class(Digits::classes);
        for (std::size_t i = 0; i < n_train; ++i) by_class[std::size_t(train.labels[i])].push_back(i);
        std::mt19937_64 rng(s.seed + 5);
        examples::TrainingLog log(out / "log.csv");
        examples::Progress progress(s.steps);
        std::vector<double> step_ms;
        step_ms.reserve(s.steps);
        std::printf("INN: %zu steps on %zu coordinates (class %zu, residual %zu), pairs of one class, rho %.3f\n",
                    s.blocks, d, k, d - k, s.rho);
        for (std::size_t step = 1; step <= s.steps; ++step) {
            const auto start = std::chrono::steady_clock::now();
            T* a = z_a.value().data();
            T* b = z_b.value().data();
            for (std::size_t r = 0; r < batch; ++r) {
                const std::size_t i = examples::random::index(rng, n_train);
                const auto& same = by_class[std::size_t(train.labels[i])];
                std::size_t j = i;
                while (j == i && same.size() > 1) j = same[examples::random::index(rng, same.size())];
                for (std::size_t c = 0; c < d; ++c) {
                    a[r * d + c] = train_z(i, c) + T(s.latent_noise * examples::random::normal(rng));
                    b[r * d + c] = train_z(j, c) + T(s.latent_noise * examples::random::normal(rng));
                }
            }
            loss.forward();
            loss.backward();
            clip_grad_norm(parameters, 10.0);
            optimizer.set_lr(schedule(std::int64_t(step - 1)));
            optimizer.step();
            step_ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
            const double value = loss.value()(0, 0);
            log.write(step, value, optimizer.lr(),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
            progress.update(step, value, optimizer.lr());
        }
        progress.finish();
        iin.save((out / "iin.ckpt").string());
        std::nth_element(step_ms.begin(), step_ms.begin() + std::ptrdiff_t(step_ms.size() / 2), step_ms.end());

        // ---- evaluation ----
        const Tensor<T> test_y = iin.forward(test_z).first;
        const double test_nll = -xt::mean(xt::cast<double>(iin.log_prob(test_z)))();
        std::mt19937_64 eval_rng(s.seed + 6);
        auto decode_factors = [&](const Tensor<T>& y) { return autoencoder.decode(iin.inverse(y).first); };

        // Same-class test pairs: how strongly each block is shared.
        std::vector<std::size_t> same_a, same_b;
        while (same_a.size() < s.pairs) {
            const std::size_t i = examples::random::index(eval_rng, n_test),
                              j = examples::random::index(eval_rng, n_test);
            if (i != j && test.labels[i] == test.labels[j]) same_a.push_back(i), same_b.push_back(j);
        }
        const double class_correlation = pair_correlation(test_y, same_a, same_b, 0, k);
        const double residual_correlation = pair_correlation(test_y, same_a, same_b, k, d);

        // Different-class pairs: receivers and donors.
        std::vector<std::size_t> receivers, donors;
        while (receivers.size() < s.pairs) {
            const std::size_t i = examples::random::index(eval_rng, n_test),
                              j = examples::random::index(eval_rng, n_test);
            if (test.labels[i] != test.labels[j]) receivers.push_back(i), donors.push_back(j);
        }
        const std::vector<int> class_swapped =
            classifier.predict(decode_factors(spliced(test_y, donors, test_y, receivers, k)));
        const std::vector<int> residual_swapped =
            classifier.predict(decode_factors(spliced(test_y, receivers, test_y, donors, k)));
        const std::vector<int> raw_swapped =
            classifier.predict(autoencoder.decode(spliced(test_z, donors, test_z, receivers, k)));
        const auto donor_label = [&](std::size_t p) { return test.labels[donors[p]]; };
        const auto receiver_label = [&](std::size_t p) { return test.labels[receivers[p]]; };
        const double takes_donor = fraction(s.pairs, [&](std::size_t p) { return class_swapped[p] == donor_label(p); });
        const double keeps_receiver =
            fraction(s.pairs, [&](std::size_t p) { return class_swapped[p] == receiver_label(p); });
        const double residual_keeps =
            fraction(s.pairs, [&](std::size_t p) { return residual_swapped[p] == receiver_label(p); });
        const double raw_takes_donor =
            fraction(s.pairs, [&](std::size_t p) { return raw_swapped[p] == donor_label(p); });
        std::printf(
            "class swap: takes the donor's class %.4f (keeps the receiver's %.4f); residual swap keeps the "
            "class %.4f; raw-latent swap takes the donor's class %.4f\n",
            takes_donor, keeps_receiver, residual_keeps, raw_takes_donor);
        std::printf(
            "same-class test pairs: class-block correlation %.3f (rho %.3f), residual correlation %.3f; "
            "test NLL %.3f nats\n",
            class_correlation, s.rho, residual_correlation, test_nll);

        // ---- figures ----
        // Donors: the first test image of each class. Receivers: the second test image of each of 8 classes.
        std::vector<std::size_t> figure_donors, figure_receivers;
        for (int c = 0; c < int(Digits::classes); ++c) {
            std::size_t seen = 0;
            for (std::size_t i = 0; i < n_test; ++i)
                if (test.labels[i] == c) {
                    if (seen == 0) figure_donors.push_back(i);
                    if (seen == 1 && figure_receivers.size() < 8) figure_receivers.push_back(i);
                    if (++seen == 2) break;
                }
        }
        // A table: the header row (top) and column (left) are test images; cell (r, c) combines the
        // `from_column` block of the column's image with the other block of the row's image.
        auto table = [&](bool class_from_column) {
            std::vector<std::size_t> first, second;  // rows of test_y giving the class / residual block
            for (const std::size_t r : figure_receivers)
                for (const std::size_t c : figure_donors) {
                    first.push_back(class_from_column ? c : r);
                    second.push_back(class_from_column ? r : c);
                }
            return decode_factors(spliced(test_y, first, test_y, second, k));
        };
        auto labels_of = [&](const std::vector<std::size_t>& rows) {
            xt::xtensor<std::int32_t, 1> labels = xt::zeros<std::int32_t>({rows.size()});
            for (std::size_t i = 0; i < rows.size(); ++i) labels(i) = std::int32_t(test.labels[rows[i]]);
            return labels;
        };
        save_npy(out / "swap_top.npy", rows_of(test_x, figure_donors));
        save_npy(out / "swap_top_labels.npy", labels_of(figure_donors));
        save_npy(out / "swap_left.npy", rows_of(test_x, figure_receivers));
        save_npy(out / "swap_left_labels.npy", labels_of(figure_receivers));
        save_npy(out / "swap_class.npy", table(true));
        save_npy(out / "swap_residual.npy", table(false));

        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        examples::Metrics metrics;
        metrics.add("swap_takes_donor_class", takes_donor)
            .add("swap_keeps_receiver_class", keeps_receiver)
            .add("residual_swap_keeps_class", residual_keeps)
            .add("raw_latent_swap_takes_donor_class", raw_takes_donor)
            .add("class_block_pair_correlation", class_correlation)
            .add("residual_block_pair_correlation", residual_correlation)
            .add("rho", s.rho)
            .add("test_nll_nats", test_nll)
            .add("classifier_test_accuracy", classifier_accuracy)
            .add("classifier_accuracy_on_reconstructions", reconstruction_accuracy)
            .add("latent", d)
            .add("class_dims", k)
            .add("test_pairs", s.pairs)
            .add("steps", s.steps)
            .add("step_ms_median", step_ms[step_ms.size() / 2])
            .add("wall_seconds", seconds)
            .add("blas_threads", blas_threads())
            .add("image_height", Digits::side)
            .add("image_width", Digits::side)
            .add("pixel_max", int(Digits::max_value));
        metrics.write(out / "metrics.json");
        std::printf("wrote %s in %.1f s\n", out.c_str(), seconds);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
