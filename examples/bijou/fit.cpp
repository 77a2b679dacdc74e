// bijou fit: trains a flow on the user's data (commands.hpp, model.hpp).
//
// Data.        --data rows (a .npy or .csv matrix, rows = samples); --condition, if given, one row of
//              conditions per data row (a conditional flow, a cINN). --validation-fraction of the rows,
//              drawn by --seed, are held out for early stopping; the rest train.
// Model.       --flow with --blocks, --hidden (model.hpp lists the architectures), on the standardised
//              data, over a standard normal.
// Training.    Adam, learning rate cosine-decayed from --lr to --lr / 100 after a 2% warm-up, gradient norm
//              clipped at 10, minibatches of --batch; the validation NLL every --validate-every steps;
//              training stops after --patience evaluations without improvement and ends with the best
//              evaluation's parameters. A progress bar; checkpoint.ckpt every 500 steps; --resume CKPT
//              continues a killed run on the same curve.
// Writes DIR/model.json, model.ckpt, checkpoint.ckpt, metrics.json (NLLs in nats per row in the data's
// own units), log.csv, validation_curve.csv, samples.npy (10000 samples); for 2-D unconditional data
// also figure_density.npy and figure_data.npy and, when /usr/bin/python3 has matplotlib, density.png and
// samples.png (scripts/figures/bijou_fit.py).
#include <bijou/examples/bijou/commands.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <random>

#include <bijou/engine/blas.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/output.hpp>
#include <bijou/examples/common/training_run.hpp>

namespace bijou::cli {

namespace {

struct FitSettings {
    std::filesystem::path data, condition, out, resume;
    std::size_t batch = 256, steps = 5000, validate_every = 250, patience = 10;
    double lr = 1e-3, validation_fraction = 0.1;
    bool figures = true;
};

Tensor<double> rows_of(const Tensor<double>& x, const std::vector<std::size_t>& rows)
{
    Tensor<double> out = Tensor<double>::from_shape({rows.size(), x.shape()[1]});
    for (std::size_t r = 0; r < rows.size(); ++r)
        for (std::size_t j = 0; j < x.shape()[1]; ++j) out(r, j) = x(rows[r], j);
    return out;
}

template <class F>
double seconds_of(F&& f)
{
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Mean of -log p over rows, in the data's units (the standardisation's Jacobian included).
double mean_nll(const Tensor<T>& flow_log_prob, const ModelSpec& spec)
{
    double sum = 0;
    for (std::size_t r = 0; r < flow_log_prob.shape()[0]; ++r) sum += double(flow_log_prob(r, 0));
    return -(sum / double(flow_log_prob.shape()[0]) - spec.data.log_scale_sum());
}

// The 0.5% and 99.5% quantiles of each of the two columns, widened by 10%: the figure's window.
std::array<double, 4> figure_extent(const Tensor<double>& x)
{
    std::array<double, 4> extent{};
    for (std::size_t j = 0; j < 2; ++j) {
        std::vector<double> v(x.shape()[0]);
        for (std::size_t r = 0; r < v.size(); ++r) v[r] = x(r, j);
        std::sort(v.begin(), v.end());
        const double lo = v[std::size_t(0.005 * double(v.size() - 1))], hi = v[std::size_t(0.995 * double(v.size() - 1))];
        const double pad = 0.1 * std::max(hi - lo, 1e-9);
        extent[2 * j] = lo - pad;
        extent[2 * j + 1] = hi + pad;
    }
    return extent;
}

template <class Flow>
int fit_model(Flow& flow, const ModelSpec& spec, const FitSettings& s, const Tensor<double>& x, const Tensor<double>& c)
{
    constexpr bool conditional = Flow::conditional;
    // Under mpirun, every process trains its share of each batch and the root alone writes the model.
    if (world().is_root()) {
        std::filesystem::create_directories(s.out);
        save_model_spec(s.out, spec);
    }

    // The split: --validation-fraction of the rows, drawn by the seed.
    const std::size_t n = x.shape()[0];
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::mt19937_64 split_rng(spec.seed + 17);
    std::shuffle(order.begin(), order.end(), split_rng);
    const auto held_out = std::size_t(std::llround(s.validation_fraction * double(n)));
    const std::vector<std::size_t> valid_rows(order.begin(), order.begin() + std::ptrdiff_t(held_out)),
        train_rows(order.begin() + std::ptrdiff_t(held_out), order.end());
    const Tensor<T> train = spec.data.to_flow(rows_of(x, train_rows));
    const Tensor<T> valid = spec.data.to_flow(rows_of(x, valid_rows));
    Tensor<T> train_c, valid_c;
    if constexpr (conditional) {
        train_c = spec.condition.to_flow(rows_of(c, train_rows));
        valid_c = spec.condition.to_flow(rows_of(c, valid_rows));
    }

    // ActNorm's data-dependent initialisation (glow) on up to 4096 training rows; a resume restores it.
    const std::size_t init_rows = std::min<std::size_t>(train.shape()[0], 4096);
    if constexpr (conditional)
        flow.initialize(xt::eval(xt::view(train, xt::range(0, init_rows), xt::all())),
                        xt::eval(xt::view(train_c, xt::range(0, init_rows), xt::all())));
    else
        flow.initialize(xt::eval(xt::view(train, xt::range(0, init_rows), xt::all())));

    examples::TrainingRun training{.out = s.out, .resume = s.resume.string(), .config = spec.describe()};
    const auto steps = std::int64_t(s.steps);
    FitOptions<T> options{.batch_size = s.batch,
                          .steps = steps,
                          .lr = s.lr,
                          .schedule = CosineDecay{.base = s.lr, .min_lr = s.lr / 100, .total_steps = steps,
                                                  .warmup_steps = steps / 50},
                          .max_grad_norm = 10,
                          .seed = spec.seed,
                          .validation = held_out > 0 ? &valid : nullptr,
                          .validation_condition = held_out > 0 && conditional ? &valid_c : nullptr,
                          .validate_every = std::int64_t(s.validate_every),
                          .patience = std::int64_t(s.patience),
                          .restore_best = true};
    FitReport report;
    if constexpr (conditional)
        report = training.fit(flow, train, train_c, options);
    else
        report = training.fit(flow, train, options);
    world().dismiss_all_but_root();  // the root evaluates and writes alone
    save_trained_parameters(flow, spec, s.out);

    {
        examples::CsvLog curve(s.out / "validation_curve.csv", "step,validation_nll_nats");
        for (const auto& point : report.validation) curve.row(point.step, point.loss + spec.data.log_scale_sum());
    }

    // Evaluation in the data's units.
    auto log_prob = [&](const Tensor<T>& u, const Tensor<T>& cu) {
        if constexpr (conditional)
            return flow.log_prob(u, cu);
        else
            return flow.log_prob(u);
    };
    const std::size_t train_eval = std::min<std::size_t>(train.shape()[0], 20000);
    const Tensor<T> train_part = xt::eval(xt::view(train, xt::range(0, train_eval), xt::all()));
    const Tensor<T> train_part_c =
        conditional ? Tensor<T>(xt::eval(xt::view(train_c, xt::range(0, train_eval), xt::all()))) : Tensor<T>();
    Tensor<T> scored;
    const double log_prob_seconds = seconds_of([&] { scored = log_prob(train_part, train_part_c); });
    const double train_nll = mean_nll(scored, spec);
    const double valid_nll = held_out > 0 ? mean_nll(log_prob(valid, valid_c), spec) : std::nan("");

    // Samples: 10000, for a conditional flow at the training rows' conditions (cycled).
    constexpr std::size_t sample_count = 10000;
    std::mt19937_64 sample_rng(spec.seed + 7);
    Tensor<T> samples;
    double sample_seconds = 0;
    if constexpr (conditional) {
        Tensor<T> cs = Tensor<T>::from_shape({sample_count, spec.condition_features});
        for (std::size_t r = 0; r < sample_count; ++r) xt::row(cs, r) = xt::row(train_c, r % train_c.shape()[0]);
        sample_seconds = seconds_of([&] { samples = flow.sample(sample_count, cs, sample_rng); });
    } else {
        sample_seconds = seconds_of([&] { samples = flow.sample(sample_count, sample_rng); });
    }
    const Tensor<double> samples_x = spec.data.from_flow(samples);
    save_npy(s.out / "samples.npy", samples_x);

    // Round trip on the training rows scored above, in the data's units.
    double roundtrip = 0;
    {
        Tensor<T> back;
        if constexpr (conditional)
            back = flow.inverse(flow.forward(train_part, train_part_c).first, train_part_c).first;
        else
            back = flow.inverse(flow.forward(train_part).first).first;
        const Tensor<double> a = spec.data.from_flow(back), b = spec.data.from_flow(train_part);
        roundtrip = xt::amax(xt::abs(a - b))();
    }

    std::size_t parameter_count = 0;
    for (const auto& p : flow.parameters()) parameter_count += p.size();
    examples::Metrics metrics;
    metrics.add("flow", spec.flow)
        .add("features", spec.features)
        .add("condition_features", spec.condition_features)
        .add("blocks", spec.blocks)
        .add("hidden", spec.hidden)
        .add("parameters", parameter_count)
        .add("train_rows", train_rows.size())
        .add("validation_rows", valid_rows.size())
        .add("batch", s.batch)
        .add("steps", report.steps_run)
        .add("stop_reason", to_string(report.stop_reason))
        .add("best_step", report.best_step)
        .add("train_nll_nats", train_nll)
        .add("validation_nll_nats", valid_nll)
        .add("step_ms_median", report.median_step_ms)
        .add("processes", report.processes)  // that trained it (mpirun -np P; 1 alone)
        .add("sum_ms_median", report.median_sum_ms)  // of a step, the sum over the processes
        .add("log_prob_rows_per_s", double(train_eval) / log_prob_seconds)
        .add("samples_per_s", double(sample_count) / sample_seconds)
        .add("roundtrip_max_abs_err", roundtrip);

    // 2-D unconditional data: the density on a 200 x 200 grid over the data's window, for the figures.
    bool plotted = false;
    if (!conditional && spec.features == 2) {
        const auto extent = figure_extent(x);
        constexpr std::size_t cells = 200;
        Tensor<double> grid = Tensor<double>::from_shape({cells * cells, 2});
        for (std::size_t i = 0; i < cells; ++i)      // rows: y from extent[2] up
            for (std::size_t j = 0; j < cells; ++j) {  // columns: x from extent[0] right
                grid(i * cells + j, 0) = extent[0] + (double(j) + 0.5) * (extent[1] - extent[0]) / cells;
                grid(i * cells + j, 1) = extent[2] + (double(i) + 0.5) * (extent[3] - extent[2]) / cells;
            }
        const Tensor<T> grid_lp = log_prob(spec.data.to_flow(grid), Tensor<T>());
        Tensor<double> density = Tensor<double>::from_shape({cells, cells});
        for (std::size_t k = 0; k < cells * cells; ++k) density.data()[k] = double(grid_lp(k, 0)) - spec.data.log_scale_sum();
        save_npy(s.out / "figure_density.npy", density);
        const std::size_t shown = std::min<std::size_t>(n, 20000);
        save_npy(s.out / "figure_data.npy", Tensor<double>(xt::view(x, xt::range(0, shown), xt::all())));
        metrics.add("figure_extent", std::vector<double>(extent.begin(), extent.end()));
        plotted = true;
    }
    metrics.write(s.out / "metrics.json");

    std::printf("bijou fit: %s on %zu x %zu%s: validation NLL %.4f nats (train %.4f), %lld steps (%s, best step %lld), "
                "step %.2f ms -> %s\n",
                spec.flow.c_str(), n, spec.features, conditional ? " (conditional)" : "", valid_nll, train_nll,
                static_cast<long long>(report.steps_run), to_string(report.stop_reason),
                static_cast<long long>(report.best_step), report.median_step_ms, s.out.c_str());

    if (plotted && s.figures) {
        // The installed copy of the plotting script, else the source tree's (a build tree's program).
        std::filesystem::path script = std::filesystem::path(BIJOU_INSTALLED_FIGURES_DIR) / "bijou_fit.py";
        if (!std::filesystem::exists(script)) script = std::filesystem::path(BIJOU_SOURCE_FIGURES_DIR) / "bijou_fit.py";
        const std::string command = "/usr/bin/python3 -c 'import matplotlib' 2>/dev/null && /usr/bin/python3 '" +
                                    script.string() + "' '" + s.out.string() + "' >/dev/null";
        if (!std::filesystem::exists(script) || std::system(command.c_str()) != 0)
            std::fprintf(stderr, "bijou fit: no figures drawn (needs /usr/bin/python3 with matplotlib and %s)\n",
                         script.c_str());
    }
    return 0;
}

}  // namespace

int fit_command(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Fit a normalizing flow (or, with --condition, a conditional flow) to a data set.");
    FitSettings s;
    ModelSpec spec;
    s.data = cli.option<std::string>("data", "", "the data: a .npy or .csv matrix, one row per sample (required)");
    s.condition = cli.option<std::string>("condition", "", "conditions, one row per data row (.npy or .csv): a conditional flow");
    spec.flow = cli.option<std::string>("flow", "realnvp", "realnvp, glow, spline or all_in_one");
    spec.blocks = cli.option<std::size_t>("blocks", 8, "flow steps");
    spec.hidden = cli.option<std::size_t>("hidden", 64, "hidden units per conditioner layer (two layers)");
    spec.bins = cli.option<std::size_t>("bins", 8, "spline bins (--flow spline)");
    spec.tail_bound = cli.option<double>("tail-bound", 4.0, "spline range [-B, B] in standard deviations (--flow spline)");
    s.steps = cli.option<std::size_t>("steps", 5000, "training steps (at most)");
    s.batch = cli.option<std::size_t>("batch", 256, "minibatch size");
    s.lr = cli.option<double>("lr", 1e-3, "peak learning rate (cosine decay to lr/100)");
    s.validation_fraction = cli.option<double>("validation-fraction", 0.1, "fraction of the rows held out for early stopping");
    s.validate_every = cli.option<std::size_t>("validate-every", 250, "steps between validation evaluations");
    s.patience = cli.option<std::size_t>("patience", 10, "evaluations without improvement before stopping (0: never)");
    spec.seed = cli.option<std::size_t>("seed", 0, "seed of the split, the initial parameters, the permutations and the minibatches");
    const int threads = cli.option<int>("threads", 1, "BLAS threads");
    s.resume = cli.option<std::string>("resume", "", "checkpoint to continue from (DIR/checkpoint.ckpt)");
    s.figures = !cli.flag("no-figures", "do not draw density.png and samples.png for 2-D data");
    s.out = cli.option<std::string>("out", "", "model directory to write (required)");
    cli.data_parallel();  // mpirun -np P bijou fit ...: the training shared by P processes
    cli.done();

    return run_reporting_errors("fit", [&] {
        if (s.data.empty()) throw_usage_error("--data", "is required (a .npy or .csv file)");
        if (s.out.empty()) throw_usage_error("--out", "is required (the model directory to write)");
        if (!(s.validation_fraction >= 0 && s.validation_fraction < 1))
            throw_usage_error("--validation-fraction", "must be in [0, 1), got ", s.validation_fraction);
        if (s.batch == 0) throw_usage_error("--batch", "must be positive");
        if (s.steps == 0) throw_usage_error("--steps", "must be positive");
        if (s.validate_every == 0) throw_usage_error("--validate-every", "must be positive");
        set_blas_threads(threads);

        const Tensor<double> x = load_matrix(s.data, "--data");
        Tensor<double> c;
        if (!s.condition.empty()) {
            c = load_matrix(s.condition, "--condition");
            if (c.shape()[0] != x.shape()[0])
                throw_shape_error("--condition", "has ", c.shape()[0], " rows, --data has ", x.shape()[0],
                                  ": one condition row per data row");
        }
        const auto held_out = std::size_t(std::llround(s.validation_fraction * double(x.shape()[0])));
        if (x.shape()[0] - held_out < 2)
            throw_value_error("--data", "has ", x.shape()[0], " rows; at least 2 must remain for training after the "
                              "validation split");
        spec.features = x.shape()[1];
        spec.condition_features = c.size() > 0 ? c.shape()[1] : 0;
        // Statistics of the whole file: the split is drawn later, and the held-out rows' share is small.
        spec.data = Standardisation::of(x, "--data", false);
        spec.condition = c.size() > 0 ? Standardisation::of(c, "--condition", true) : Standardisation{};
        spec.validate();
        if (!s.resume.empty()) {
            const ModelSpec before = load_model_spec(s.out);
            if (before.describe() != spec.describe())
                throw_usage_error("--resume", "'", s.out.string(), "' holds a model of \"", before.describe(),
                                  "\"; these options describe \"", spec.describe(), "\"");
        }
        return with_flow(spec, [&](auto& flow) { return fit_model(flow, spec, s, x, c); });
    });
}

}  // namespace bijou::cli
