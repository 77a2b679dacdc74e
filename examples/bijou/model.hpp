// A model of the `bijou` command: which flow, fitted to what, and how the user's units map to the
// flow's. A model directory holds
//   model.json      this description (ModelSpec, below), written when training starts
//   model.ckpt      the trained parameters (the best validation step's), written when training ends
//   checkpoint.ckpt the resumable training state (parameters, Adam moments, step), every 500 steps
//   metrics.json, log.csv, and figures for 2-D data
//
// Standardisation: the flow sees u = (x - mean) / scale, with mean and scale (standard deviation) per
// feature of the data file, so one learning rate and one spline range suit any data. Densities are reported in the
// user's units: log p_x(x) = log p_u(u) - sum_j log scale_j. Conditions are standardised the same way
// (no Jacobian: they are not modelled). The statistics are stored in model.json.
//
// The architectures (blocks = --blocks, each conditioner an MLP of two hidden layers of --hidden units):
//   realnvp     affine coupling (soft-clamped log-scale), then a fixed random permutation
//   glow        ActNorm (data-dependent initialisation), learned LU-decomposed linear map, affine coupling
//   spline      rational-quadratic spline coupling (--bins bins on [-B, B], B = --tail-bound, identity
//               outside), then a fixed random permutation
//   all_in_one  FrEIA's all-in-one block: affine coupling, global affine, fixed random permutation
// With a condition, every coupling's conditioner also reads the (standardised) condition.
// The fixed permutations are not parameters: they are drawn from the model's seed when the flow is
// built, so a model is rebuilt exactly from model.json and then given model.ckpt's parameters.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <bijou/bijou.hpp>
#include <bijou/examples/common/reflected_json.hpp>

namespace bijou::cli {

using T = float;  // the flows' scalar type

inline const std::vector<std::string> flow_names = {"realnvp", "glow", "spline", "all_in_one"};

// Per-feature affine map between the user's units and the flow's: u = (x - mean) / scale.
struct Standardisation {
    std::vector<double> mean, scale;

    // Mean and standard deviation of each column. A constant column has no density (it would be a
    // delta): for data it is an error naming the column; for conditions (`allow_constant`) it keeps
    // scale 1.
    static Standardisation of(const Tensor<double>& x, std::string_view what, bool allow_constant);

    Tensor<T> to_flow(const Tensor<double>& x) const;
    Tensor<double> from_flow(const Tensor<T>& u) const;
    // sum_j log scale_j: subtract from a flow-space log-density to get the user's.
    double log_scale_sum() const;
};

struct ModelSpec {
    std::string flow = "realnvp";
    std::size_t features = 0, condition_features = 0;
    std::size_t blocks = 8, hidden = 64, bins = 8;
    double tail_bound = 4;
    std::uint64_t seed = 0;
    Standardisation data, condition;

    bool conditional() const { return condition_features > 0; }
    // One line naming the architecture, stored in the checkpoints: a model directory whose checkpoint
    // was written by another architecture is refused.
    std::string describe() const;
    // A usage_error naming the field for a flow or size the command does not build.
    void validate() const;
};

}  // namespace bijou::cli

// model.json is ModelSpec's members by name (examples/common/reflected_json.hpp).
BOOST_HANA_ADAPT_STRUCT(bijou::cli::Standardisation, mean, scale);
BOOST_HANA_ADAPT_STRUCT(bijou::cli::ModelSpec, flow, features, condition_features, blocks, hidden, bins, tail_bound, seed,
                        data, condition);

namespace bijou::cli {

nlohmann::ordered_json to_json(const ModelSpec& spec);
ModelSpec model_spec_from_json(const nlohmann::json& j, const std::filesystem::path& source);

std::filesystem::path model_json_path(const std::filesystem::path& dir);
std::filesystem::path model_parameters_path(const std::filesystem::path& dir);
void save_model_spec(const std::filesystem::path& dir, const ModelSpec& spec);
// model.json of a model directory, checked; usage_error if the directory is not a model's.
ModelSpec load_model_spec(const std::filesystem::path& dir);

// The two flow types the command builds: every architecture is a chain of blocks (dsl::repeat), so
// one type serves all four; a conditional model wraps the chain in dsl::conditional.
using UnconditionalFlow = decltype(make_flow<T>(2, dsl::repeat(1, flows::actnorm())));
using ConditionalFlow = decltype(make_flow<T>(2, dsl::conditional(dsl::repeat(1, flows::actnorm()), 1)));

UnconditionalFlow build_unconditional_flow(const ModelSpec& spec);
ConditionalFlow build_conditional_flow(const ModelSpec& spec);

// Calls f(flow) with the model's flow built (untrained), of the type its spec asks for.
template <class F>
decltype(auto) with_flow(const ModelSpec& spec, F&& f)
{
    if (spec.conditional()) {
        auto flow = build_conditional_flow(spec);
        return f(flow);
    }
    auto flow = build_unconditional_flow(spec);
    return f(flow);
}

// Gives `flow` the trained parameters of the model directory (model.ckpt), checking the checkpoint
// belongs to this architecture.
template <class Flow>
void load_trained_parameters(Flow& flow, const ModelSpec& spec, const std::filesystem::path& dir)
{
    const std::filesystem::path path = model_parameters_path(dir);
    if (!std::filesystem::exists(path))
        throw_usage_error("model", "'", dir.string(), "' has no model.ckpt: its training did not finish (resume it with "
                          "bijou fit --resume ", (dir / "checkpoint.ckpt").string(), ")");
    const auto checkpoint = Checkpoint<T>::load(path);
    if (!checkpoint.metadata.contains("model") || checkpoint.metadata.get_string("model") != spec.describe())
        throw_usage_error("model", "'", path.string(), "' was written for \"",
                          checkpoint.metadata.contains("model") ? checkpoint.metadata.get_string("model") : "?",
                          "\", but model.json describes \"", spec.describe(), "\"");
    checkpoint.restore(flow.parameters());
}

template <class Flow>
void save_trained_parameters(const Flow& flow, const ModelSpec& spec, const std::filesystem::path& dir)
{
    auto checkpoint = Checkpoint<T>::capture(flow.parameters());
    checkpoint.metadata.set("model", spec.describe());
    checkpoint.save(model_parameters_path(dir));
}

}  // namespace bijou::cli
