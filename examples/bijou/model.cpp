// The `bijou` command's models: the architectures, model.json, the standardisation (model.hpp).
#include <bijou/examples/bijou/model.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <bijou/engine/io/atomic_file.hpp>

namespace bijou::cli {

Standardisation Standardisation::of(const Tensor<double>& x, std::string_view what, bool allow_constant)
{
    const std::size_t n = x.shape()[0], d = x.shape()[1];
    Standardisation s{std::vector<double>(d, 0.0), std::vector<double>(d, 1.0)};
    for (std::size_t j = 0; j < d; ++j) {
        double sum = 0;
        for (std::size_t r = 0; r < n; ++r) sum += x(r, j);
        const double mean = sum / double(n);
        double squares = 0;
        for (std::size_t r = 0; r < n; ++r) squares += (x(r, j) - mean) * (x(r, j) - mean);
        const double sd = std::sqrt(squares / double(n));
        s.mean[j] = mean;
        if (sd > 1e-12 * std::max(1.0, std::abs(mean))) {
            s.scale[j] = sd;
        } else if (!allow_constant) {
            throw_value_error(what, "column ", j, " is constant (", mean, " in every training row): a density over it "
                              "is a point mass, which a flow cannot fit; drop the column");
        }
    }
    return s;
}

Tensor<T> Standardisation::to_flow(const Tensor<double>& x) const
{
    Tensor<T> u = Tensor<T>::from_shape(x.shape());
    for (std::size_t r = 0; r < x.shape()[0]; ++r)
        for (std::size_t j = 0; j < x.shape()[1]; ++j) u(r, j) = T((x(r, j) - mean[j]) / scale[j]);
    return u;
}

Tensor<double> Standardisation::from_flow(const Tensor<T>& u) const
{
    Tensor<double> x = Tensor<double>::from_shape(u.shape());
    for (std::size_t r = 0; r < u.shape()[0]; ++r)
        for (std::size_t j = 0; j < u.shape()[1]; ++j) x(r, j) = double(u(r, j)) * scale[j] + mean[j];
    return x;
}

double Standardisation::log_scale_sum() const
{
    double s = 0;
    for (double v : scale) s += std::log(v);
    return s;
}

std::string ModelSpec::describe() const
{
    std::ostringstream s;
    s << "bijou model " << flow << " features " << features << " condition " << condition_features << " blocks "
      << blocks << " hidden " << hidden;
    if (flow == "spline") s << " bins " << bins << " tail_bound " << tail_bound;
    s << " seed " << seed;
    return s.str();
}

void ModelSpec::validate() const
{
    if (std::find(flow_names.begin(), flow_names.end(), flow) == flow_names.end())
        throw_usage_error("model", "--flow must be realnvp, glow, spline or all_in_one, got '", flow, "'");
    if (features < 2)
        throw_usage_error("model", "the data has ", features, " column(s); a coupling flow needs at least 2 (a "
                          "1-D density is better fitted by a histogram or a kernel density)");
    if (blocks == 0 || blocks > 256) throw_usage_error("model", "--blocks must be 1..256, got ", blocks);
    if (hidden == 0 || hidden > 8192) throw_usage_error("model", "--hidden must be 1..8192, got ", hidden);
    if (flow == "spline" && (bins < 2 || bins > 128)) throw_usage_error("model", "--bins must be 2..128, got ", bins);
    if (flow == "spline" && !(tail_bound > 0)) throw_usage_error("model", "--tail-bound must be positive, got ", tail_bound);
    if (data.mean.size() != features || data.scale.size() != features ||
        condition.mean.size() != condition_features || condition.scale.size() != condition_features)
        throw_usage_error("model", "the standardisation has ", data.mean.size(), " data and ", condition.mean.size(),
                          " condition features, the model ", features, " and ", condition_features);
}

nlohmann::ordered_json to_json(const ModelSpec& spec)
{
    nlohmann::ordered_json j;
    j["format"] = "bijou-model";
    j["format_version"] = 1;
    j["scalar"] = "float";
    j.update(examples::to_reflected_json(spec));
    return j;
}

ModelSpec model_spec_from_json(const nlohmann::json& j, const std::filesystem::path& source)
{
    auto fail = [&](const std::string& why) { throw_file_error("model", source, why); };
    if (!j.is_object() || j.value("format", "") != "bijou-model") fail("not a bijou model description (no \"format\": \"bijou-model\")");
    if (j.value("format_version", 0) != 1) fail("format_version " + j.value("format_version", nlohmann::json()).dump() + " is not 1");
    ModelSpec s;
    try {
        s = examples::from_reflected_json<ModelSpec>(j);
    } catch (const std::invalid_argument& e) {
        fail(e.what());
    }
    for (double v : s.data.scale)
        if (!(v > 0) || !std::isfinite(v)) fail("a data scale is not positive and finite");
    s.validate();
    return s;
}

std::filesystem::path model_json_path(const std::filesystem::path& dir) { return dir / "model.json"; }
std::filesystem::path model_parameters_path(const std::filesystem::path& dir) { return dir / "model.ckpt"; }

void save_model_spec(const std::filesystem::path& dir, const ModelSpec& spec)
{
    const std::string text = to_json(spec).dump(2) + "\n";
    write_file_atomically(model_json_path(dir), std::as_bytes(std::span(text.data(), text.size())), "model.json");
}

ModelSpec load_model_spec(const std::filesystem::path& dir)
{
    if (!std::filesystem::is_directory(dir)) throw_usage_error("--model", "'", dir.string(), "' is not a directory");
    const std::filesystem::path path = model_json_path(dir);
    std::ifstream in(path);
    if (!in) throw_usage_error("--model", "'", dir.string(), "' has no model.json: it is not a model directory made by bijou fit");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw_file_error("model", path, "is not valid JSON: ", e.what());
    }
    return model_spec_from_json(j, path);
}

namespace {

auto net(const ModelSpec& s) { return dsl::conditioner(hidden(s.hidden, s.hidden)); }

// The chain of blocks of each architecture, for a builder `make(spec_of_chain)`.
template <class Make>
auto build(const ModelSpec& s, Make&& make)
{
    if (s.flow == "realnvp") return make(dsl::repeat(s.blocks, dsl::seq(flows::realnvp_coupling(net(s)), dsl::permute_random())));
    if (s.flow == "glow")
        return make(dsl::repeat(s.blocks, dsl::seq(flows::actnorm(), flows::lu_linear(), flows::realnvp_coupling(net(s)))));
    if (s.flow == "spline")
        return make(dsl::repeat(s.blocks, dsl::seq(flows::spline_coupling(net(s), s.bins, s.tail_bound), dsl::permute_random())));
    if (s.flow == "all_in_one") return make(dsl::repeat(s.blocks, flows::all_in_one(net(s))));
    s.validate();  // throws: the flow's name is unknown
    throw_usage_error("model", "unknown flow '", s.flow, "'");
}

}  // namespace

UnconditionalFlow build_unconditional_flow(const ModelSpec& spec)
{
    spec.validate();
    return build(spec, [&](const auto& chain) { return make_flow<T>(spec.features, chain, spec.seed); });
}

ConditionalFlow build_conditional_flow(const ModelSpec& spec)
{
    spec.validate();
    return build(spec, [&](const auto& chain) {
        return make_flow<T>(spec.features, dsl::conditional(chain, spec.condition_features), spec.seed);
    });
}

}  // namespace bijou::cli
