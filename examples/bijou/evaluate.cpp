// bijou log-prob, bijou sample, bijou check: using a model directory written by bijou fit (commands.hpp).
#include <bijou/examples/bijou/commands.hpp>

#include <random>

#include <bijou/dsl/check.hpp>
#include <bijou/examples/common/cli.hpp>

namespace bijou::cli {

namespace {

// Loads the model directory and calls f(flow, spec) with the trained flow.
template <class F>
int with_trained_model(const std::filesystem::path& dir, F&& f)
{
    const ModelSpec spec = load_model_spec(dir);
    return with_flow(spec, [&](auto& flow) {
        load_trained_parameters(flow, spec, dir);
        return f(flow, spec);
    });
}

// The condition file given for a conditional model (required), refused for an unconditional one.
Tensor<double> condition_option(const std::filesystem::path& path, const ModelSpec& spec)
{
    if (spec.conditional() && path.empty())
        throw_usage_error("--condition", "is required: the model is conditional on ", spec.condition_features,
                          " feature(s)");
    if (!spec.conditional() && !path.empty())
        throw_usage_error("--condition", "given, but the model is not conditional");
    return path.empty() ? Tensor<double>() : load_matrix(path, "--condition");
}

}  // namespace

// log p(x) per row in the data's units (nats), as a 1-D array (.npy) or a column (.csv).
int log_prob_command(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Log-density of each row of a data set under a model made by bijou fit (nats, in the data's units).");
    const std::filesystem::path model = cli.option<std::string>("model", "", "model directory (required)");
    const std::filesystem::path data = cli.option<std::string>("data", "", "rows to score, .npy or .csv (required)");
    const std::filesystem::path condition = cli.option<std::string>("condition", "", "their conditions: one row, or one per data row");
    const std::filesystem::path out = cli.option<std::string>("out", "", "where to write log p: .npy (1-D float64) or .csv (required)");
    cli.done();
    return run_reporting_errors("log-prob", [&] {
        if (model.empty() || data.empty() || out.empty()) throw_usage_error("log-prob", "--model, --data and --out are required");
        return with_trained_model(model, [&](auto& flow, const ModelSpec& spec) {
            const Tensor<double> x = load_matrix(data, "--data");
            require_width(x, spec, "--data");
            const Tensor<T> u = spec.data.to_flow(x);
            Tensor<T> lp;
            if constexpr (std::decay_t<decltype(flow)>::conditional) {
                const Tensor<double> c = condition_option(condition, spec);
                require_conditions(x.shape()[0], c, spec, "--condition");
                lp = flow.log_prob(u, spec.condition.to_flow(c));
            } else
                lp = (condition_option(condition, spec), flow.log_prob(u));
            xt::xtensor<double, 1> result = xt::xtensor<double, 1>::from_shape({x.shape()[0]});
            for (std::size_t r = 0; r < x.shape()[0]; ++r) result(r) = double(lp(r, 0)) - spec.data.log_scale_sum();
            if (examples::detail::has_extension(out, ".npy"))
                save_npy(out, result, "--out");
            else
                examples::save_matrix(out, Tensor<double>(xt::reshape_view(result, {x.shape()[0], std::size_t(1)})), "--out");
            double mean = 0;
            for (double v : result) mean += v;
            std::printf("bijou log-prob: %zu rows, mean log p %.6g nats -> %s\n", x.shape()[0], mean / double(x.shape()[0]),
                        out.c_str());
            return 0;
        });
    });
}

// n samples x = f^-1(z), z ~ N(0, T^2 I), in the data's units.
int sample_command(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Draw samples from a model made by bijou fit.");
    const std::filesystem::path model = cli.option<std::string>("model", "", "model directory (required)");
    const std::size_t requested = cli.option<std::size_t>("n", 0, "number of samples (default: one per condition row)");
    const std::filesystem::path condition = cli.option<std::string>("condition", "", "conditions: one row (for all samples) or one per sample");
    const double temperature = cli.option<double>("temperature", 1.0, "z ~ N(0, T^2 I); below 1 samples the typical set more tightly");
    const std::size_t seed = cli.option<std::size_t>("seed", 0, "seed of z");
    const std::filesystem::path out = cli.option<std::string>("out", "", "where to write the samples, .npy or .csv (required)");
    cli.done();
    return run_reporting_errors("sample", [&] {
        if (model.empty() || out.empty()) throw_usage_error("sample", "--model and --out are required");
        if (!(temperature > 0)) throw_usage_error("--temperature", "must be positive, got ", temperature);
        return with_trained_model(model, [&](auto& flow, const ModelSpec& spec) {
            std::mt19937_64 rng(seed);
            const Tensor<double> c = condition_option(condition, spec);
            std::size_t n = requested;
            if (n == 0) {
                if (!spec.conditional()) throw_usage_error("-n", "is required: how many samples");
                n = c.shape()[0];
            }
            Tensor<T> u;
            if constexpr (std::decay_t<decltype(flow)>::conditional) {
                require_conditions(n, c, spec, "--condition");
                u = flow.sample(n, spec.condition.to_flow(c), rng, temperature);
            } else
                u = flow.sample(n, rng, temperature);
            const Tensor<double> x = spec.data.from_flow(u);
            examples::save_matrix(out, x, "--out");
            std::printf("bijou sample: %zu samples of %zu features at T = %g -> %s\n", n, spec.features, temperature,
                        out.c_str());
            return 0;
        });
    });
}

// check_bijection (dsl/check.hpp) on the trained flow as it is: round trip, log-det symmetry and log-det
// against the numerical Jacobian, on standard normal inputs (the standardised data's scale) and on
// inputs four times wider (the tails).
int check_command(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Property-test a trained model: round trip, log-det symmetry, log-det against the Jacobian.");
    const std::filesystem::path model = cli.option<std::string>("model", "", "model directory (required)");
    const std::size_t cases = cli.option<std::size_t>("cases", 20, "batches of 8 rows per input distribution");
    const std::size_t seed = cli.option<std::size_t>("seed", 0, "seed of the inputs");
    cli.done();
    return run_reporting_errors("check", [&] {
        if (model.empty()) throw_usage_error("check", "--model is required");
        return with_trained_model(model, [&](auto& flow, const ModelSpec& spec) {
            bool passed = true;
            for (const double width : {1.0, 4.0}) {
                const dsl::CheckOptions options{.cases = cases, .seed = seed, .parameter_noise = 0};
                dsl::CheckReport report;
                if constexpr (std::decay_t<decltype(flow)>::conditional)
                    report = dsl::check_bijection(flow, dsl::samplers::normal(width), dsl::samplers::normal(), options);
                else
                    report = dsl::check_bijection(flow, dsl::samplers::normal(width), options);
                std::printf("inputs N(0, %g^2) in standardised units: %s\n", width, report.summary().c_str());
                passed = passed && report.passed;
            }
            std::printf("bijou check: %s (%s)\n", passed ? "PASS" : "FAIL", spec.describe().c_str());
            return passed ? 0 : 1;
        });
    });
}

}  // namespace bijou::cli
