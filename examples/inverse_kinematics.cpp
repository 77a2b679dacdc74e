// inverse_kinematics: the robot-arm benchmark of Kruse et al., "Benchmarking Invertible Architectures on
// Inverse Problems" (2019/2021), solved by an INN trained with the bidirectional MMD loss (Ardizzone et
// al. 2019) and by a conditional INN (cINN) trained by maximum likelihood, both judged against
// ground-truth posteriors from approximate Bayesian computation (ABC).
//
//   inverse_kinematics [--steps N] [--cinn-steps N] [--batch B] [--blocks K] [--hidden H] [--lr LR] [--lr-end F]
//                      [--train-size N] [--cinn-batch B] [--cinn-blocks K] [--cinn-hidden H] [--cinn-lr LR]
//                      [--cinn-coupling glow|spline] [--spline-bins K] [--spline-bound B] [--cinn-y-noise S]
//                      [--condition-net F] [--models both|inn|cinn] [--test-observations M]
//                      [--calibration-observations M] [--abc-test-samples S] [--abc-test-threshold E]
//                      [--threads T] [--seed S] [--out DIR]
//
// (The cINN options default to the shared ones; --train-size 0 trains on fresh simulated pairs every
// step; the rest exist for the ablations of the README's table.)
//
// Writes to DIR metrics.json (the metrics below, y_star_1 and y_star_2: the target y*, arm_lengths: l1,
// l2, l3), posterior_inn.csv and posterior_cinn.csv (4000 posterior samples for y*, one x per line),
// abc_convergence.csv (the threshold ladder), log_inn.csv, log_cinn.csv, the ABC cache abc_cache.csv with
// its key abc_cache_key.txt (reused by later runs with the same settings), and the numbers of arms.png
// (arm configurations sampled for y* over the ABC ones), which scripts/figures/inverse_kinematics.py draws:
//   posterior_inn.npy, posterior_cinn.npy   4000 x 4 float32, the posterior samples for y* (x1 .. x4)
//   abc_posterior.npy                       n x 4 float64, the ABC ground truth for y* (n = 4000 unless
//                                           the sampler ran out of draws)
//
// Forward model.  An arm on a vertical rail: x1 ~ N(0, 0.25^2) is the height on the rail, x2, x3, x4 ~
//                 N(0, 0.5^2) the joint angles, segment lengths l = 0.5, 0.5, 1.0; the hand is at
//                   y1 = l1 cos x2 + l2 cos(x2 + x3) + l3 cos(x2 + x3 + x4)
//                   y2 = x1 + l1 sin x2 + l2 sin(x2 + x3) + l3 sin(x2 + x3 + x4).
// Ground truth.   Rejection ABC: prior draws accepted when |f(x) - y| < eps, which samples the prior
//                 restricted to that disc and tends to p(x | y) as eps -> 0. Because x1 enters y2 only
//                 additively, a draw of the angles leaves an interval of x1 values inside the disc,
//                   |y1 - y1*| < eps,  x1 in y2* - g +- r,  g = y2 - x1,  r = sqrt(eps^2 - (y1 - y1*)^2);
//                 x1 is drawn uniformly on it and kept with probability N(x1; 0, 0.25^2) 2r / (N(0; 0,
//                 0.25^2) 2 eps) <= 1. Accepted draws have exactly the density prior(x) 1{|f(x) - y*| < eps}
//                 (rejection sampling with the angles from the prior), at eps times fewer draws than
//                 drawing x1 from the prior too. For y* the threshold runs down a ladder 0.04, 0.02, ...,
//                 0.00125 (4000 samples each); the finest set is the ground truth, and the table shows
//                 the MMD between successive levels falling into the sampling noise (the MMD between
//                 independent sets at one threshold), i.e. the result stops changing as eps shrinks. The
//                 test observations use --abc-test-threshold (1000 samples each).
// Models.         INN: x (4) -> [y (2), z (2)], width 4 (no padding: a padded width of 6 did worse); cINN:
//                 x (4) given y (2). Both: K blocks of a Glow coupling (two hidden layers of H units) and a
//                 random permutation, the same batch size and learning-rate schedule (Adam, lr 3e-3,
//                 cosine decay to lr/50, gradient norm clipped at 10), 24000 steps for the INN and 80000
//                 for the cINN (which costs a quarter as much per step: the two take about as long);
//                 200000 training pairs x ~ prior, y = f(x); the cINN's conditions get N(0, 0.005^2)
//                 noise (an exact y makes the posterior a 2-D manifold in 4-D). The ablations (README)
//                 found the learning rate (1e-3 before), the training length and that noise the limits;
//                 fresh simulated data, wider nets, spline couplings, larger batches and a condition
//                 network did not beat more steps at the same wall time. INN loss: inverse multiquadric MMDs (widths 0.2 .. 1.3), weights L_y 300,
//                 L_z 300, L_x 400 (ramped in over the first half), L_rec 20, L_pad 1, y noise 0.01.
// Metrics.        err_post: the MMD^2 (unbiased; inverse multiquadric kernels of widths 0.05, 0.2, 0.9)
//                 between 4000 posterior samples and the ABC samples. err_resim: mean |f(x_hat) - y|.
//                 Calibration error: for q = 0.01 .. 0.99, the fraction q_in of true x (per dimension)
//                 inside the central q-interval of the posterior marginals, the median over q of
//                 |q_in - q|: over the test observations, and again over --calibration-observations (2000,
//                 1000 samples each; the ABC samples themselves score about 0.02 over 100 observations, the
//                 metric's noise there). Sampling time: seconds to draw 4000 posterior samples.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <fstream>
#include <numbers>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xbuilder.hpp>
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

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// ---- the forward model ----

constexpr double rail_sigma = 0.25, angle_sigma = 0.5;
constexpr std::array<double, 3> lengths = {0.5, 0.5, 1.0};

struct Hand {
    double y1, y2;
};

Hand forward_model(double x1, double x2, double x3, double x4)
{
    const double a = x2, b = a + x3, c = b + x4;
    return {lengths[0] * std::cos(a) + lengths[1] * std::cos(b) + lengths[2] * std::cos(c),
            x1 + lengths[0] * std::sin(a) + lengths[1] * std::sin(b) + lengths[2] * std::sin(c)};
}

template <class T>
Tensor<T> sample_prior(std::size_t n, std::mt19937_64& rng)
{
    Tensor<T> x = Tensor<T>::from_shape({n, 4});
    for (std::size_t i = 0; i < n; ++i) {
        x(i, 0) = T(rail_sigma * examples::random::normal(rng));
        for (std::size_t k = 1; k < 4; ++k) x(i, k) = T(angle_sigma * examples::random::normal(rng));
    }
    return x;
}

template <class T>
Tensor<T> observe(const Tensor<T>& x)
{
    Tensor<T> y = Tensor<T>::from_shape({x.shape()[0], 2});
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        const Hand h = forward_model(x(i, 0), x(i, 1), x(i, 2), x(i, 3));
        y(i, 0) = T(h.y1);
        y(i, 1) = T(h.y2);
    }
    return y;
}

// ---- rejection ABC ----

std::uint64_t splitmix64(std::uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct AbcResult {
    Tensor<double> samples;  // accepted x, count x 4 (fewer rows if max_draws ran out)
    std::uint64_t draws = 0;
    double seconds = 0;
};

// Draws of the angles go in blocks: Box-Muller normals and y1 for a whole block in SIMD, then the few
// draws with |y1 - y1*| < eps get their x1 and the acceptance test (see the header comment).
class AbcSampler {
public:
    explicit AbcSampler(std::uint64_t seed) : rng_(seed) {}

    AbcResult sample(Hand target, double eps, std::size_t count, std::uint64_t max_draws)
    {
        using B = xsimd::batch<double>;
        constexpr std::size_t w = B::size;
        const auto start = Clock::now();
        AbcResult result;
        std::vector<double> accepted;
        accepted.reserve(4 * count);
        const double two_pi = 2 * std::numbers::pi;
        while (accepted.size() < 4 * count && result.draws < max_draws) {
            for (std::size_t i = 0; i < 2 * pairs; ++i) uniforms_[i] = uniform();
            // Box-Muller: sqrt(-2 log u1) (cos, sin)(2 pi u2) are two independent standard normals.
            for (std::size_t i = 0; i < pairs; i += w) {
                const B radius = xsimd::sqrt(B(-2.0) * xsimd::log(B(1.0) - B::load_unaligned(&uniforms_[i])));
                const auto [s, c] = xsimd::sincos(B(two_pi) * B::load_unaligned(&uniforms_[pairs + i]));
                (radius * c * B(angle_sigma)).store_unaligned(&angles_[i]);
                (radius * s * B(angle_sigma)).store_unaligned(&angles_[pairs + i]);
            }
            const double* x2 = angles_.data();
            const double* x3 = angles_.data() + block;
            const double* x4 = angles_.data() + 2 * block;
            for (std::size_t i = 0; i < block; i += w) {
                const B a = B::load_unaligned(x2 + i), b = a + B::load_unaligned(x3 + i), c = b + B::load_unaligned(x4 + i);
                (B(lengths[0]) * xsimd::cos(a) + B(lengths[1]) * xsimd::cos(b) + B(lengths[2]) * xsimd::cos(c))
                    .store_unaligned(&y1_[i]);
            }
            for (std::size_t i = 0; i < block && accepted.size() < 4 * count; ++i) {
                const double miss = y1_[i] - target.y1;
                if (!(std::abs(miss) < eps)) continue;
                const double a = x2[i], b = a + x3[i], c = b + x4[i];
                const double g = lengths[0] * std::sin(a) + lengths[1] * std::sin(b) + lengths[2] * std::sin(c);
                const double r = std::sqrt(eps * eps - miss * miss);
                const double x1 = target.y2 - g + r * (2 * uniform() - 1);
                const double keep = std::exp(-x1 * x1 / (2 * rail_sigma * rail_sigma)) * r / eps;
                if (uniform() < keep) accepted.insert(accepted.end(), {x1, x2[i], x3[i], x4[i]});
            }
            result.draws += block;
        }
        const std::size_t rows = accepted.size() / 4;
        result.samples = Tensor<double>::from_shape({rows, 4});
        std::copy(accepted.begin(), accepted.end(), result.samples.begin());
        result.seconds = seconds_since(start);
        return result;
    }

private:
    static constexpr std::size_t block = 1024, pairs = 3 * block / 2;  // 3 angles per draw
    double uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

    std::mt19937_64 rng_;
    std::array<double, 2 * pairs> uniforms_{};
    std::array<double, 3 * block> angles_{};
    std::array<double, block> y1_{};
};

// ---- the ABC cache: every set of ground-truth samples, keyed by the settings that made them ----

struct AbcCache {
    std::vector<double> ladder;          // thresholds for y*
    std::vector<std::uint64_t> draws;    // per ladder level
    std::vector<double> seconds;         // per ladder level
    std::vector<double> change_to_finest;
    std::vector<double> change_to_next;  // MMD^2 between level k and level k + 1 (independent sets)
    double noise = 0;                    // sqrt(mean MMD^2) of independent pairs of sets at the coarsest level
    Tensor<double> ystar;                // the finest ladder set: the ground truth for y*
    std::vector<Tensor<double>> test;    // per test observation
    std::vector<std::uint64_t> test_draws;
    double test_seconds = 0;
};

std::string cache_key(std::uint64_t seed, std::size_t abc_samples, const std::vector<double>& ladder,
                      std::size_t test_count, std::size_t test_samples, double test_eps)
{
    std::ostringstream key;
    key.precision(17);
    key << "inverse_kinematics abc v3 seed " << seed << " samples " << abc_samples << " ladder";
    for (double e : ladder) key << ' ' << e;
    key << " test " << test_count << " x " << test_samples << " eps " << test_eps;
    return key.str();
}

void write_cache(const std::filesystem::path& out, const std::string& key, const AbcCache& cache)
{
    {
        std::ofstream file(out / "abc_cache.csv");
        file.precision(17);
        file << "set,x1,x2,x3,x4\n";  // set -1: y*, else the test observation's index
        auto rows = [&](const Tensor<double>& s, long set) {
            for (std::size_t i = 0; i < s.shape()[0]; ++i)
                file << set << ',' << s(i, 0) << ',' << s(i, 1) << ',' << s(i, 2) << ',' << s(i, 3) << '\n';
        };
        rows(cache.ystar, -1);
        for (std::size_t j = 0; j < cache.test.size(); ++j) rows(cache.test[j], long(j));
    }
    std::ofstream meta(out / "abc_cache_key.txt");
    meta.precision(17);
    meta << key << '\n' << cache.noise << ' ' << cache.test_seconds << '\n';
    for (std::size_t k = 0; k < cache.ladder.size(); ++k)
        meta << cache.ladder[k] << ' ' << cache.draws[k] << ' ' << cache.seconds[k] << ' ' << cache.change_to_finest[k]
             << ' ' << cache.change_to_next[k] << '\n';
    for (std::uint64_t d : cache.test_draws) meta << d << ' ';
    meta << '\n';
}

bool read_cache(const std::filesystem::path& out, const std::string& key, std::size_t test_count, AbcCache& cache)
{
    std::ifstream meta(out / "abc_cache_key.txt");
    std::string line;
    if (!meta || !std::getline(meta, line) || line != key) return false;
    meta >> cache.noise >> cache.test_seconds;
    for (std::size_t k = 0; k < cache.ladder.size(); ++k) {
        double eps = 0;
        meta >> eps >> cache.draws[k] >> cache.seconds[k] >> cache.change_to_finest[k] >> cache.change_to_next[k];
    }
    cache.test_draws.assign(test_count, 0);
    for (auto& d : cache.test_draws) meta >> d;
    if (!meta) return false;
    const auto table = examples::read_csv(out / "abc_cache.csv");
    std::vector<std::vector<double>> sets(test_count + 1);
    for (const auto& row : table.rows) {
        const long set = long(row[0]);
        if (set < -1 || set >= long(test_count)) return false;
        sets[std::size_t(set + 1)].insert(sets[std::size_t(set + 1)].end(), row.begin() + 1, row.end());
    }
    auto tensor = [](const std::vector<double>& v) {
        Tensor<double> t = Tensor<double>::from_shape({v.size() / 4, 4});
        std::copy(v.begin(), v.end(), t.begin());
        return t;
    };
    cache.ystar = tensor(sets[0]);
    cache.test.clear();
    for (std::size_t j = 0; j < test_count; ++j) cache.test.push_back(tensor(sets[j + 1]));
    return true;
}

// ---- metrics ----

const flows::MmdOptions err_post_mmd{flows::inverse_multiquadric_kernel({0.05, 0.2, 0.9}), flows::MmdEstimator::unbiased};

template <class T>
double resimulation_error(const Tensor<T>& x, Hand target)
{
    double total = 0;
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        const Hand h = forward_model(x(i, 0), x(i, 1), x(i, 2), x(i, 3));
        total += std::hypot(h.y1 - target.y1, h.y2 - target.y2);
    }
    return total / double(x.shape()[0]);
}

// inside[q][d] += 1 when x_true[d] lies in the central q-interval of the samples' marginal d.
constexpr std::size_t quantile_levels = 99;
void count_inliers(const Tensor<float>& samples, const Tensor<float>& x_true, std::size_t row,
                   std::vector<double>& inside)
{
    const std::size_t n = samples.shape()[0];
    std::vector<double> marginal(n);
    for (std::size_t d = 0; d < 4; ++d) {
        for (std::size_t i = 0; i < n; ++i) marginal[i] = samples(i, d);
        std::sort(marginal.begin(), marginal.end());
        auto quantile = [&](double p) {  // linear interpolation between order statistics
            const double at = p * double(n - 1);
            const std::size_t lo = std::size_t(at);
            const double f = at - double(lo);
            return lo + 1 < n ? marginal[lo] * (1 - f) + marginal[lo + 1] * f : marginal[lo];
        };
        for (std::size_t k = 0; k < quantile_levels; ++k) {
            const double q = double(k + 1) / 100;
            const double v = x_true(row, d);
            if (v >= quantile((1 - q) / 2) && v <= quantile((1 + q) / 2)) inside[k] += 1;
        }
    }
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

Tensor<double> as_double(const Tensor<float>& t) { return xt::cast<double>(t); }

void write_samples(const std::filesystem::path& path, const Tensor<float>& x)
{
    examples::CsvLog csv(path, "x1,x2,x3,x4");
    for (std::size_t i = 0; i < x.shape()[0]; ++i) csv.row(x(i, 0), x(i, 1), x(i, 2), x(i, 3));
}

auto coupling_blocks(std::size_t blocks, std::size_t hidden_width)
{
    return dsl::repeat(blocks, dsl::seq(flows::glow_coupling(dsl::conditioner(hidden(hidden_width, hidden_width))),
                                        dsl::permute_random()));
}
// Each block a rational-quadratic spline coupling of one half given the other, and a permutation.
auto spline_blocks(std::size_t blocks, std::size_t hidden_width, std::size_t bins, double tail_bound)
{
    return dsl::repeat(blocks, dsl::seq(flows::spline_coupling(dsl::conditioner(hidden(hidden_width, hidden_width)),
                                                               bins, tail_bound),
                                        dsl::permute_random()));
}

// Fresh training pairs: x ~ prior, y = f(x), one row per row of x.
void simulate_pairs(Tensor<float>& x, Tensor<float>& y, std::mt19937_64& rng)
{
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        x(i, 0) = float(rail_sigma * examples::random::normal(rng));
        for (std::size_t k = 1; k < 4; ++k) x(i, k) = float(angle_sigma * examples::random::normal(rng));
        const Hand h = forward_model(x(i, 0), x(i, 1), x(i, 2), x(i, 3));
        y(i, 0) = float(h.y1);
        y(i, 1) = float(h.y2);
    }
}

// A trained model as what the evaluation needs: n posterior samples for the observation y (1 x 2).
using PosteriorSampler = std::function<Tensor<float>(const Tensor<float>& y, std::size_t n, std::mt19937_64& rng)>;

// Builds the cINN of `spec` (a dsl::conditional over x), trains it, and returns its sampler.
template <class Spec>
PosteriorSampler train_cinn_model(const Spec& spec, std::uint64_t seed, const examples::CinnData<float>& data,
                                  const FitOptions<float>& options, const std::filesystem::path& log,
                                  examples::TimedFit& fit)
{
    using Model = decltype(make_flow<float>(4, spec, seed));
    auto cinn = std::make_shared<Model>(make_flow<float>(4, spec, seed));
    fit = examples::train_cinn(*cinn, data, options, log);
    return [cinn](const Tensor<float>& y, std::size_t n, std::mt19937_64& rng) {
        return flows::sample_posterior(*cinn, y, n, rng);
    };
}

}  // namespace

int main(int argc, char** argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    examples::Cli cli(argc, argv, "The inverse-kinematics benchmark of Kruse et al.: INN (MMD losses) against cINN (maximum likelihood), judged against rejection ABC.");
    const auto steps = cli.option<std::int64_t>("steps", 24000, "INN training steps");
    const auto cinn_steps = cli.option<std::int64_t>("cinn-steps", 80000, "cINN training steps");
    const auto batch = cli.option<std::size_t>("batch", 250, "minibatch size (INN; the cINN's unless --cinn-batch)");
    const auto blocks = cli.option<std::size_t>("blocks", 6, "coupling blocks (each a Glow coupling and a permutation)");
    const auto width = cli.option<std::size_t>("hidden", 64, "units in each of the conditioners' two hidden layers");
    const auto lr = cli.option<double>("lr", 3e-3, "initial learning rate (cosine decay to lr * --lr-end)");
    const auto lr_end = cli.option<double>("lr-end", 0.02, "the cosine schedule's final rate, as a fraction of the initial one");
    const auto train_size = cli.option<std::size_t>("train-size", 200000, "training pairs x ~ prior, y = f(x); 0: fresh simulated pairs every step");
    const auto cinn_batch_given = cli.option<std::size_t>("cinn-batch", 0, "cINN minibatch size (0: --batch)");
    const auto cinn_blocks_given = cli.option<std::size_t>("cinn-blocks", 0, "cINN coupling blocks (0: --blocks)");
    const auto cinn_width_given = cli.option<std::size_t>("cinn-hidden", 0, "cINN conditioner hidden units (0: --hidden)");
    const auto cinn_lr_given = cli.option<double>("cinn-lr", 0, "cINN initial learning rate (0: --lr)");
    const auto cinn_coupling = cli.option<std::string>("cinn-coupling", "glow", "cINN couplings: glow (affine, both halves per block) or spline (rational-quadratic, one half per block)");
    const auto spline_bins = cli.option<std::size_t>("spline-bins", 8, "bins of each spline coupling");
    const auto spline_bound = cli.option<double>("spline-bound", 3.0, "spline couplings act on [-B, B], identity outside");
    const auto cinn_y_noise = cli.option<double>("cinn-y-noise", 0.005, "sigma of the noise added to the cINN's training conditions y");
    const auto condition_features = cli.option<std::size_t>("condition-net", 0, "cINN condition network: features of a one-hidden-layer MLP of y fed to every coupling (0: y itself)");
    const auto models = cli.option<std::string>("models", "both", "models to train and evaluate: both, inn or cinn");
    const auto test_count = cli.option<std::size_t>("test-observations", 100, "test observations y = f(x), x ~ prior");
    const auto calibration_count = cli.option<std::size_t>("calibration-observations", 2000, "observations (and 1000 samples each) for the calibration error");
    const auto abc_test_samples = cli.option<std::size_t>("abc-test-samples", 1000, "ABC samples per test observation");
    const auto abc_test_eps = cli.option<double>("abc-test-threshold", 0.01, "ABC threshold for the test observations");
    const auto threads = cli.option<std::size_t>("threads", 2, "threads for the ABC sampling");
    const auto seed = cli.option<std::uint64_t>("seed", 1, "seed of the data, the weights, the training and the ABC");
    const std::filesystem::path out = cli.option<std::string>("out", "out/inverse_kinematics", "output directory");
    cli.done();
    const std::size_t cinn_batch = cinn_batch_given ? cinn_batch_given : batch;
    const std::size_t cinn_blocks = cinn_blocks_given ? cinn_blocks_given : blocks;
    const std::size_t cinn_width = cinn_width_given ? cinn_width_given : width;
    const double cinn_lr = cinn_lr_given > 0 ? cinn_lr_given : lr;
    const bool run_inn = models == "both" || models == "inn", run_cinn = models == "both" || models == "cinn";
    if (steps < 1 || cinn_steps < 1 || batch < 2 || cinn_batch < 2 || blocks == 0 || width == 0 || test_count == 0 ||
        abc_test_samples < 2 || calibration_count == 0 || !(abc_test_eps > 0) || threads == 0 || spline_bins < 2 || !(spline_bound > 0) ||
        !(lr_end > 0 && lr_end <= 1) || !(cinn_y_noise >= 0) || (train_size > 0 && train_size < std::max(batch, cinn_batch))) {
        std::fprintf(stderr, "inverse_kinematics: every count must be positive (--batch, --abc-test-samples >= 2, "
                             "--train-size 0 or at least a batch, --lr-end in (0, 1])\n");
        return 2;
    }
    if ((!run_inn && !run_cinn) || (cinn_coupling != "glow" && cinn_coupling != "spline")) {
        std::fprintf(stderr, "inverse_kinematics: --models is both, inn or cinn; --cinn-coupling glow or spline\n");
        return 2;
    }
    std::filesystem::create_directories(out);
    const auto program_start = Clock::now();
    const Hand y_star{1.5, 0.0};
    constexpr std::size_t posterior_samples = 4000;

    // ---- data ----
    std::mt19937_64 rng(seed);
    // The first 200000 pairs come first from the stream (the test observations after them do not depend
    // on --train-size); a larger set is extended from a stream of its own.
    constexpr std::size_t base_train_size = 200000;
    Tensor<float> train_x = sample_prior<float>(base_train_size, rng);
    const Tensor<float> test_x = sample_prior<float>(test_count, rng);
    const Tensor<float> test_y = observe(test_x);
    if (train_size > 0 && train_size < base_train_size) {
        Tensor<float> head = xt::view(train_x, xt::range(0, train_size), xt::all());
        train_x = std::move(head);
    } else if (train_size > base_train_size) {
        std::mt19937_64 more_rng(splitmix64(seed ^ 0x7a11));
        const Tensor<float> more = sample_prior<float>(train_size - base_train_size, more_rng);
        Tensor<float> all = xt::concatenate(xt::xtuple(train_x, more), 0);
        train_x = std::move(all);
    }
    const Tensor<float> train_y = observe(train_x);

    // ---- ground truth by rejection ABC (cached) ----
    AbcCache abc;
    abc.ladder = {0.04, 0.02, 0.01, 0.005, 0.0025, 0.00125};
    abc.draws.assign(abc.ladder.size(), 0);
    abc.seconds.assign(abc.ladder.size(), 0);
    abc.change_to_finest.assign(abc.ladder.size(), 0);
    abc.change_to_next.assign(abc.ladder.size(), 0);
    const std::string key = cache_key(seed, posterior_samples, abc.ladder, test_count, abc_test_samples, abc_test_eps);
    if (read_cache(out, key, test_count, abc)) {
        std::printf("ABC: ground truth read from %s\n", (out / "abc_cache.csv").c_str());
    } else {
        std::printf("ABC for y* = (%.2f, %.2f): %zu samples per threshold\n", y_star.y1, y_star.y2, posterior_samples);
        std::vector<Tensor<double>> level_sets;
        for (std::size_t k = 0; k < abc.ladder.size(); ++k) {
            AbcSampler sampler(splitmix64(seed ^ splitmix64(1000 + k)));
            auto result = sampler.sample(y_star, abc.ladder[k], posterior_samples, ~std::uint64_t(0));
            abc.draws[k] = result.draws;
            abc.seconds[k] = result.seconds;
            std::printf("  eps %-8g %12llu draws  acceptance %.3g  %.1f s\n", abc.ladder[k],
                        (unsigned long long)result.draws, double(posterior_samples) / double(result.draws), result.seconds);
            level_sets.push_back(std::move(result.samples));
        }
        // Sampling noise: the MMD between independent sets drawn at the same (coarsest) threshold.
        double noise_squares = 0;
        const int noise_pairs = 8;
        for (int p = 0; p < noise_pairs; ++p) {
            AbcSampler a(splitmix64(seed ^ splitmix64(2000 + 2 * p))), b(splitmix64(seed ^ splitmix64(2001 + 2 * p)));
            const double m = flows::sample_mmd(a.sample(y_star, abc.ladder[0], posterior_samples, ~0ull).samples,
                                               b.sample(y_star, abc.ladder[0], posterior_samples, ~0ull).samples,
                                               err_post_mmd);
            noise_squares += m * m;
        }
        abc.noise = std::sqrt(noise_squares / noise_pairs);
        for (std::size_t k = 0; k + 1 < abc.ladder.size(); ++k) {
            abc.change_to_finest[k] = flows::sample_mmd(level_sets[k], level_sets.back(), err_post_mmd);
            abc.change_to_next[k] = flows::sample_mmd(level_sets[k], level_sets[k + 1], err_post_mmd);
        }
        abc.ystar = level_sets.back();

        // The test observations, split over threads (each observation its own random stream).
        std::printf("ABC for %zu test observations: %zu samples each at eps %g, %zu threads\n", test_count,
                    abc_test_samples, abc_test_eps, threads);
        const auto test_start = Clock::now();
        abc.test.assign(test_count, Tensor<double>());
        abc.test_draws.assign(test_count, 0);
        std::atomic<std::size_t> next{0};
        auto worker = [&] {
            for (std::size_t j = next++; j < test_count; j = next++) {
                AbcSampler sampler(splitmix64(seed ^ splitmix64(100000 + j)));
                auto result = sampler.sample({double(test_y(j, 0)), double(test_y(j, 1))}, abc_test_eps,
                                             abc_test_samples, 400'000'000ull);
                abc.test[j] = std::move(result.samples);
                abc.test_draws[j] = result.draws;
            }
        };
        std::vector<std::thread> pool;
        for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
        for (auto& t : pool) t.join();
        abc.test_seconds = seconds_since(test_start);
        write_cache(out, key, abc);
    }
    // Converged from the largest threshold after which no halving changes the samples by more than the
    // sampling noise (twice the RMS MMD^2 between independent sets at the same threshold). Successive levels
    // are independent sets; comparing every level with the finest one instead would shift all of them
    // together by the finest set's own sampling error.
    examples::CsvLog convergence(out / "abc_convergence.csv",
                                 "threshold,draws,acceptance,seconds,mmd_to_next,mmd_to_finest,noise");
    std::printf("ABC convergence (MMD^2 of each threshold's samples to the next finer and to the finest; sampling "
                "noise %.2e):\n", abc.noise);
    std::size_t converged = abc.ladder.size() - 1;
    for (std::size_t k = abc.ladder.size() - 1; k-- > 0;) {
        if (std::abs(abc.change_to_next[k]) <= 2 * abc.noise) converged = k;
        else break;
    }
    for (std::size_t k = 0; k < abc.ladder.size(); ++k) {
        const double acceptance = double(posterior_samples) / double(abc.draws[k]);
        convergence.row(abc.ladder[k], abc.draws[k], acceptance, abc.seconds[k], abc.change_to_next[k],
                        abc.change_to_finest[k], abc.noise);
        std::printf("  eps %-8g acceptance %-9.3g to next %+.2e  to finest %+.2e%s\n", abc.ladder[k], acceptance,
                    abc.change_to_next[k], abc.change_to_finest[k], k >= converged ? "  (converged)" : "");
    }
    std::size_t fewest = abc_test_samples;
    for (const auto& s : abc.test) fewest = std::min(fewest, s.shape()[0]);
    std::printf("ABC test observations: fewest samples %zu of %zu (%.1f s)\n", fewest, abc_test_samples, abc.test_seconds);

    // ---- INN: x (4) -> [y (2), z (2)] ----
    const flows::InnLayout layout{.x_dim = 4, .y_dim = 2, .z_dim = 2};
    auto inn = flows::make_inn<float>(layout, coupling_blocks(blocks, width), seed);
    auto inn_options = examples::inn_fit_options<float>(batch, steps, lr, seed + 1);
    inn_options.schedule = CosineDecay{.base = lr, .min_lr = lr * lr_end, .total_steps = steps};
    // The library's default kernels (inverse multiquadrics, widths 0.2 .. 1.3); the fit of y weighted up
    // (y has 2 columns here, 8 in the 8-modes toy), y noise 0.01 (the forward model is exact), L_x ramped
    // in over the first half of training.
    inn_options.loss.weights = {.y = 300, .z = 300, .x = 400, .padding = 1, .reconstruction = 20};
    inn_options.loss.y_noise = 0.01;
    inn_options.loss.x_ramp_start = 0;
    inn_options.loss.x_ramp_steps = steps / 2;
    examples::TimedFit inn_fit, cinn_fit;
    if (run_inn) {
        std::printf("INN: %zu Glow blocks (hidden %zu, %zu), width 4, %lld steps of %zu, %s\n", blocks, width, width,
                    (long long)steps, batch, train_size ? "fixed training pairs" : "fresh simulated pairs every step");
        inn_fit = train_size ? examples::train_inn(inn, train_x, train_y, inn_options, out / "log_inn.csv")
                             : examples::train_inn_simulated<float>(inn, simulate_pairs, inn_options, out / "log_inn.csv");
    }

    // ---- cINN: x (4) given y (2) ----
    PosteriorSampler cinn_sampler;
    if (run_cinn) {
        std::printf("cINN: %zu %s blocks (hidden %zu, %zu) over x given y%s, %lld steps of %zu, lr %g, %s, y noise %g\n",
                    cinn_blocks, cinn_coupling.c_str(), cinn_width, cinn_width,
                    condition_features ? (" (condition net to " + std::to_string(condition_features) + " features)").c_str() : "",
                    (long long)cinn_steps, cinn_batch, cinn_lr,
                    train_size ? "fixed training pairs" : "fresh simulated pairs every step", cinn_y_noise);
        const FitOptions<float> cinn_options{
            .batch_size = cinn_batch, .steps = cinn_steps, .lr = cinn_lr,
            .schedule = CosineDecay{.base = cinn_lr, .min_lr = cinn_lr * lr_end, .total_steps = cinn_steps},
            .max_grad_norm = 10, .seed = seed + 3};
        examples::CinnData<float> data{.y_noise = cinn_y_noise};
        if (train_size) data.x = &train_x, data.y = &train_y;
        else data.simulate = simulate_pairs;
        auto build = [&](auto couplings) {
            if (condition_features)
                return train_cinn_model(dsl::conditional(couplings, 2, dsl::condition_net(hidden(64), condition_features)),
                                        seed + 2, data, cinn_options, out / "log_cinn.csv", cinn_fit);
            return train_cinn_model(dsl::conditional(couplings, 2), seed + 2, data, cinn_options, out / "log_cinn.csv",
                                    cinn_fit);
        };
        cinn_sampler = cinn_coupling == "spline" ? build(spline_blocks(cinn_blocks, cinn_width, spline_bins, spline_bound))
                                                 : build(coupling_blocks(cinn_blocks, cinn_width));
    }

    // ---- evaluation ----
    examples::Metrics metrics;
    metrics.add("y_star_1", y_star.y1).add("y_star_2", y_star.y2);
    for (std::size_t k = 0; k < abc.ladder.size(); ++k) {
        const std::string level = "abc.level_" + std::to_string(k);
        metrics.add(level + ".threshold", abc.ladder[k])
            .add(level + ".acceptance", double(posterior_samples) / double(abc.draws[k]))
            .add(level + ".mmd_to_next", abc.change_to_next[k])
            .add(level + ".mmd_to_finest", abc.change_to_finest[k]);
    }
    metrics.add("abc.threshold", abc.ladder.back())
        .add("abc.sampling_noise_mmd", abc.noise)
        .add("abc.converged_from_threshold", abc.ladder[converged])
        .add("abc.test_threshold", abc_test_eps)
        .add("abc.test_samples", abc_test_samples)
        .add("abc.test_fewest_samples", fewest)
        .add("abc.test_seconds", abc.test_seconds);

    std::mt19937_64 sample_rng(seed + 4);
    const Tensor<float> y_star_row{{float(y_star.y1), float(y_star.y2)}};
    std::vector<std::string> names;
    std::vector<PosteriorSampler> samplers;
    if (run_inn)
        names.push_back("inn"), samplers.push_back([&](const Tensor<float>& y, std::size_t n, std::mt19937_64& r) {
            return flows::sample_posterior(inn, y, n, r);
        });
    if (run_cinn) names.push_back("cinn"), samplers.push_back(cinn_sampler);
    std::vector<Tensor<float>> star_samples;
    for (std::size_t m = 0; m < names.size(); ++m) {
        // y*: 4000 samples, timed (median of 5 draws).
        std::vector<double> times;
        Tensor<float> samples;
        for (int repeat = 0; repeat < 5; ++repeat) {
            const auto start = Clock::now();
            samples = samplers[m](y_star_row, posterior_samples, sample_rng);
            times.push_back(seconds_since(start));
        }
        const double err_post = flows::sample_mmd(as_double(samples), abc.ystar, err_post_mmd);
        const double err_resim = resimulation_error(samples, y_star);
        star_samples.push_back(samples);

        // Test observations: resimulation, posterior MMD (against the smaller ABC sets, on as many of the
        // model's samples), calibration.
        std::vector<double> inside(quantile_levels, 0.0), test_post, test_resim, test_times;
        for (std::size_t j = 0; j < test_count; ++j) {
            const Tensor<float> y = xt::view(test_y, xt::range(j, j + 1), xt::all());
            const auto start = Clock::now();
            const Tensor<float> s = samplers[m](y, posterior_samples, sample_rng);
            test_times.push_back(seconds_since(start));
            test_resim.push_back(resimulation_error(s, {double(y(0, 0)), double(y(0, 1))}));
            count_inliers(s, test_x, j, inside);
            const std::size_t n_abc = abc.test[j].shape()[0];
            if (n_abc >= 2) {
                const Tensor<double> subset = xt::view(as_double(s), xt::range(0, n_abc), xt::all());
                test_post.push_back(flows::sample_mmd(subset, abc.test[j], err_post_mmd));
            }
        }
        std::vector<double> calibration(quantile_levels);
        for (std::size_t k = 0; k < quantile_levels; ++k)
            calibration[k] = std::abs(inside[k] / double(4 * test_count) - double(k + 1) / 100);
        // The calibration error again over many more observations (it needs only their true x, no ABC),
        // from a stream of its own: with 100 observations even exact posteriors score about 0.02.
        std::mt19937_64 calibration_rng(splitmix64(seed ^ 0xca11b)), calibration_sample_rng(seed + 5);
        const Tensor<float> calibration_x = sample_prior<float>(calibration_count, calibration_rng);
        const Tensor<float> calibration_y = observe(calibration_x);
        std::vector<double> many_inside(quantile_levels, 0.0), many_calibration(quantile_levels);
        for (std::size_t j = 0; j < calibration_count; ++j) {
            const Tensor<float> y = xt::view(calibration_y, xt::range(j, j + 1), xt::all());
            count_inliers(samplers[m](y, 1000, calibration_sample_rng), calibration_x, j, many_inside);
        }
        for (std::size_t k = 0; k < quantile_levels; ++k)
            many_calibration[k] = std::abs(many_inside[k] / double(4 * calibration_count) - double(k + 1) / 100);
        double mean_post = 0, mean_resim = 0;
        for (double v : test_post) mean_post += v / double(test_post.size());
        for (double v : test_resim) mean_resim += v / double(test_resim.size());
        const std::string n = names[m];
        metrics.add(n + ".y_star.err_post", err_post)
            .add(n + ".y_star.err_resim", err_resim)
            .add(n + ".y_star.sampling_seconds", median(times))
            .add(n + ".test.err_post_mean", mean_post)
            .add(n + ".test.err_post_median", median(test_post))
            .add(n + ".test.err_resim_mean", mean_resim)
            .add(n + ".test.calibration_error_median", median(calibration))
            .add(n + ".test.calibration_error_mean", std::accumulate(calibration.begin(), calibration.end(), 0.0) / quantile_levels)
            .add(n + ".test.calibration_error_q68", calibration[67])
            .add(n + ".calibration.error_median", median(many_calibration))
            .add(n + ".calibration.error_q68", many_calibration[67])
            .add(n + ".test.sampling_seconds_median", median(test_times));
        std::printf("%-4s y*: err_post %.2e  err_resim %.4f  sampling %.4f s | test (%zu): err_post %.2e  err_resim "
                    "%.4f  calibration error %.4f (median over q; over %zu observations %.4f)\n",
                    names[m] == "inn" ? "INN" : "cINN", err_post, err_resim, median(times), test_count, mean_post, mean_resim,
                    median(calibration), calibration_count, median(many_calibration));
    }
    {
        // The ABC reference for y* against itself: a second independent set at the finest threshold would
        // cost as much again; the noise at the coarsest level is the reference (abc.sampling_noise_mmd).
        const double abc_resim = resimulation_error(abc.ystar, y_star);
        metrics.add("abc.y_star.err_resim", abc_resim);
        // The calibration error of the ABC samples themselves: what exact posteriors score with this many
        // test observations (the metric's noise floor).
        std::vector<double> inside(quantile_levels, 0.0), calibration(quantile_levels);
        for (std::size_t j = 0; j < test_count; ++j)
            if (abc.test[j].shape()[0] >= 2) count_inliers(xt::cast<float>(abc.test[j]), test_x, j, inside);
        for (std::size_t k = 0; k < quantile_levels; ++k)
            calibration[k] = std::abs(inside[k] / double(4 * test_count) - double(k + 1) / 100);
        metrics.add("abc.test.calibration_error_median", median(calibration));
        std::printf("ABC  test (%zu): calibration error %.4f (the metric's floor for exact posteriors)\n", test_count,
                    median(calibration));
    }
    if (run_inn)
        metrics.add("inn.train_seconds", inn_fit.seconds)
            .add("inn.step_ms_median", inn_fit.median_step_ms)
            .add("inn.steps", inn_fit.steps_run);
    if (run_cinn)
        metrics.add("cinn.train_seconds", cinn_fit.seconds)
            .add("cinn.step_ms_median", cinn_fit.median_step_ms)
            .add("cinn.steps", cinn_fit.steps_run)
            .add("cinn.batch", cinn_batch)
            .add("cinn.blocks", cinn_blocks)
            .add("cinn.hidden", cinn_width)
            .add("cinn.lr", cinn_lr)
            .add("cinn.coupling", cinn_coupling)
            .add("cinn.y_noise", cinn_y_noise)
            .add("cinn.condition_features", condition_features);
    metrics.add("batch", batch)
        .add("blocks", blocks)
        .add("hidden", width)
        .add("lr", lr)
        .add("lr_end", lr_end)
        .add("train_size", train_size)
        .add("test_observations", test_count)
        .add("calibration_observations", calibration_count)
        .add("seed", seed);

    for (std::size_t m = 0; m < names.size(); ++m) {
        write_samples(out / ("posterior_" + names[m] + ".csv"), star_samples[m]);
        save_npy(out / ("posterior_" + names[m] + ".npy"), star_samples[m]);
    }
    save_npy(out / "abc_posterior.npy", abc.ystar);
    metrics.add("arm_lengths", std::vector<double>(lengths.begin(), lengths.end()));
    metrics.add("wall_seconds", seconds_since(program_start)).write(out / "metrics.json");
    std::printf("wrote metrics.json, posterior_{inn,cinn}.{csv,npy}, abc_posterior.npy, abc_convergence.csv to %s "
                "(%.1f s); scripts/figures/inverse_kinematics.py draws arms.png\n",
                out.c_str(), seconds_since(program_start));
    return 0;
}
