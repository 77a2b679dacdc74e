// Flow: a bijection paired with a standard normal base distribution,
//   log p(x) = log N(f(x); 0, I) + log|det Df(x)|,   sampling x = f^-1(z), z ~ N(0, I).
//
//   auto flow = make_flow<float>(2, seq(coupling(halves, conditioner(hidden(64, 64)), affine), reverse()));
//   Tensor<float> lp = flow.log_prob(x);
//   Tensor<float> xs = flow.sample(1000, rng);
//   (conditional flows: log_prob(x, c), sample(n, c, rng), forward(x, c), inverse(z, c))
//
// Each query runs an engine program built once per direction and rebound only when the batch size
// changes. loss() gives the negative log-likelihood program for training.
#pragma once

#include <cmath>
#include <numbers>
#include <optional>
#include <random>
#include <type_traits>

#include <xtensor/xview.hpp>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/data_init.hpp>
#include <bijou/dsl/mapping.hpp>
#include <bijou/engine/bound_program.hpp>
#include <bijou/engine/checkpoint.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/flows/fit.hpp>
#include <bijou/flows/input_checks.hpp>

namespace bijou {

namespace detail {
// log N(z; 0, I) per row, plus the flow's log-det.
template <class Z, class L>
auto standard_normal_log_prob(const Z& z, const L& log_det, std::size_t dim)
{
    const double log_normaliser = 0.5 * double(dim) * std::log(2 * std::numbers::pi);
    return dsl::add_terms(-0.5 * sum(square(z), 1) - log_normaliser, log_det);
}

// A log-det known to be zero becomes an explicit column of zeros for the caller.
template <class X, class L>
auto log_det_column(const X& x, const L& log_det)
{
    if constexpr (std::is_same_v<L, dsl::Zero>)
        return 0.0 * sum(x, 1);
    else
        return log_det;
}

// The condition a block's programs read: an Input for a conditional block, NoCondition otherwise.
template <class Block>
inline constexpr bool is_conditional = requires { Block::is_conditional; };

template <class T, class Block>
using ConditionInput = std::conditional_t<is_conditional<Block>, Input<T>, dsl::NoCondition>;

template <class T, class Block, class C>
auto log_prob_program(const Block& block, const Input<T>& x, const C& c)
{
    auto [z, log_det] = block.forward(x, c);
    return Program(standard_normal_log_prob(z, log_det, block.dim()));
}
template <class T, class Block, class C>
auto nll_program(const Block& block, const Input<T>& x, const C& c)
{
    auto [z, log_det] = block.forward(x, c);
    return Program(-mean(standard_normal_log_prob(z, log_det, block.dim())));
}
template <class T, class Block, class C>
auto forward_program(const Block& block, const Input<T>& x, const C& c)
{
    auto [z, log_det] = block.forward(x, c);
    return Program(z, log_det_column(x, log_det));
}
template <class T, class Block, class C>
auto inverse_program(const Block& block, const Input<T>& z, const C& c)
{
    auto [x, log_det] = block.inverse(z, c);
    return Program(x, log_det_column(z, log_det));
}

}  // namespace detail

// The members that build and run the flow's programs are defined after the class: so that a flow type
// can be compiled once into a library (flows/precompiled.hpp) and declared `extern template` elsewhere.
template <class T, class Block>
class Flow {
public:
    using value_type = T;
    static constexpr bool conditional = detail::is_conditional<Block>;

    // support: the interval the data lie in (make_flow<T, support> checks it against the flow's domain at
    // compile time); data outside it are refused by every call.
    explicit Flow(Block block, dsl::Interval support = dsl::real_line);

    std::size_t dim() const { return block_.dim(); }
    std::size_t condition_dim() const
    {
        if constexpr (conditional) return block_.condition_dim();
        else return 0;
    }
    const Block& block() const { return block_; }
    const dsl::Interval& support() const { return support_; }
    std::vector<Param<T>> parameters() const { return block_.parameters(); }

    // log p(x) per row (B x 1); log p(x | c) for a conditional flow.
    Tensor<T> log_prob(const Tensor<T>& x) requires(!conditional);
    Tensor<T> log_prob(const Tensor<T>& x, const Tensor<T>& c) requires conditional;

    // z = f(x) and log|det Df(x)| per row.
    std::pair<Tensor<T>, Tensor<T>> forward(const Tensor<T>& x) requires(!conditional);
    std::pair<Tensor<T>, Tensor<T>> forward(const Tensor<T>& x, const Tensor<T>& c) requires conditional;

    // x = f^-1(z) and log|det Df^-1(z)| per row.
    std::pair<Tensor<T>, Tensor<T>> inverse(const Tensor<T>& z) requires(!conditional);
    std::pair<Tensor<T>, Tensor<T>> inverse(const Tensor<T>& z, const Tensor<T>& c) requires conditional;

    // n samples x = f^-1(z), z ~ N(0, T^2 I) at temperature T (1: the model's density; below 1 the
    // samples of Glow's figures, nearer the modes); for a conditional flow, given c (n x C, or 1 x C
    // for all).
    template <class Rng>
    Tensor<T> sample(std::size_t n, Rng& rng, double temperature = 1.0) requires(!conditional)
    {
        return inverse(standard_normal(n, rng, temperature)).first;
    }
    template <class Rng>
    Tensor<T> sample(std::size_t n, const Tensor<T>& c, Rng& rng, double temperature = 1.0) requires conditional
    {
        return inverse(standard_normal(n, rng, temperature), c).first;
    }

    // Data-dependent initialisation (ActNorm): each block that has one initialises itself on the batch
    // as transformed by the blocks before it (dsl/data_init.hpp). Call once, before training.
    void initialize(const Tensor<T>& batch) requires(!conditional);
    void initialize(const Tensor<T>& batch, const Tensor<T>& c) requires conditional;

    // Maximum-likelihood training (flows/fit.hpp): fit(*this, train[, conditions], options).
    FitReport fit(const Tensor<T>& train, FitOptions<T> options = {}) requires(!conditional)
    {
        return bijou::fit(*this, train, std::move(options));
    }
    FitReport fit(const Tensor<T>& train, const Tensor<T>& conditions, FitOptions<T> options = {}) requires conditional
    {
        return bijou::fit(*this, train, conditions, std::move(options));
    }

    // The parameters to / from a checkpoint file (engine/checkpoint.hpp): an atomic write; a load that
    // validates the whole file (format, checksum, names, shapes) before changing anything.
    void save(const std::string& path, const SaveOptions& options = {}) const;
    Metadata load(const std::string& path);

    // The negative log-likelihood (mean over the batch) as a trainable program over input x (and the
    // condition input c for a conditional flow).
    auto loss_program(const Input<T>& x) const requires(!conditional)
    {
        return detail::nll_program(block_, x, dsl::NoCondition{});
    }
    auto loss_program(const Input<T>& x, const Input<T>& c) const requires conditional
    {
        return detail::nll_program(block_, x, c);
    }

private:
    auto make_condition_input() const
    {
        if constexpr (conditional) return Input<T>(block_.condition_dim(), "c");
        else return dsl::NoCondition{};
    }

    template <class Rng>
    Tensor<T> standard_normal(std::size_t n, Rng& rng, double temperature) const
    {
        if (!(temperature > 0) || !std::isfinite(temperature))
            throw_usage_error("flow", "sample: the temperature must be a positive finite number, got ", temperature);
        std::normal_distribution<T> normal(T(0), T(temperature));
        Tensor<T> z = Tensor<T>::from_shape({n, dim()});
        for (auto& v : z) v = normal(rng);
        return z;
    }

    // Data in the flow's support (latents: finite), of the flow's width, with at least one row.
    void check(const Tensor<T>& data, std::size_t cols, const char* what, const char* kind) const
    {
        if (data.shape()[1] != cols || data.shape()[0] == 0)
            throw_shape_error(std::string("Flow::") + what, "expected ", kind, " with ", cols,
                              " columns and at least one row, got ", shape_of(data));
        require_within(data, std::string_view(kind) == "latents" ? dsl::real_line : support_, "Flow::", what, kind);
    }

    // Conditions row-matched to a batch of n: n x C as given, or 1 x C repeated for every row.
    const Tensor<T>& conditions_for(std::size_t n, const Tensor<T>& c, const char* what);

    using Condition = detail::ConditionInput<T, Block>;
    template <class F>
    using ProgramOf = BoundProgram<std::invoke_result_t<F, const Block&, const Input<T>&, const Condition&>>;
    static constexpr auto make_log_prob = [](const Block& b, const Input<T>& x, const Condition& c) {
        return detail::log_prob_program(b, x, c);
    };
    static constexpr auto make_forward = [](const Block& b, const Input<T>& x, const Condition& c) {
        return detail::forward_program(b, x, c);
    };
    static constexpr auto make_inverse = [](const Block& b, const Input<T>& x, const Condition& c) {
        return detail::inverse_program(b, x, c);
    };

    Block block_;
    dsl::Interval support_;
    Input<T> x_, z_;
    Condition c_;
    ProgramOf<decltype(make_log_prob)> log_prob_;
    ProgramOf<decltype(make_forward)> forward_;
    ProgramOf<decltype(make_inverse)> inverse_;
    Tensor<T> repeated_;
};

template <class T, class Block>
Flow<T, Block>::Flow(Block block, dsl::Interval support)
    : block_(std::move(block)), support_(support), x_(block_.dim(), "x"), z_(block_.dim(), "z"), c_(make_condition_input()),
      log_prob_(detail::log_prob_program(block_, x_, c_)), forward_(detail::forward_program(block_, x_, c_)),
      inverse_(detail::inverse_program(block_, z_, c_))
{
}

template <class T, class Block>
Tensor<T> Flow<T, Block>::log_prob(const Tensor<T>& x) requires(!conditional)
{
    check(x, dim(), "log_prob", "data");
    log_prob_.run(x_, x);
    return log_prob_.program().value();
}
template <class T, class Block>
Tensor<T> Flow<T, Block>::log_prob(const Tensor<T>& x, const Tensor<T>& c) requires conditional
{
    check(x, dim(), "log_prob", "data");
    log_prob_.run(x_, x, c_, conditions_for(x.shape()[0], c, "log_prob"));
    return log_prob_.program().value();
}

template <class T, class Block>
std::pair<Tensor<T>, Tensor<T>> Flow<T, Block>::forward(const Tensor<T>& x) requires(!conditional)
{
    check(x, dim(), "forward", "data");
    forward_.run(x_, x);
    return {forward_.program().template value<0>(), forward_.program().template value<1>()};
}
template <class T, class Block>
std::pair<Tensor<T>, Tensor<T>> Flow<T, Block>::forward(const Tensor<T>& x, const Tensor<T>& c) requires conditional
{
    check(x, dim(), "forward", "data");
    forward_.run(x_, x, c_, conditions_for(x.shape()[0], c, "forward"));
    return {forward_.program().template value<0>(), forward_.program().template value<1>()};
}

template <class T, class Block>
std::pair<Tensor<T>, Tensor<T>> Flow<T, Block>::inverse(const Tensor<T>& z) requires(!conditional)
{
    check(z, dim(), "inverse", "latents");
    inverse_.run(z_, z);
    return {inverse_.program().template value<0>(), inverse_.program().template value<1>()};
}
template <class T, class Block>
std::pair<Tensor<T>, Tensor<T>> Flow<T, Block>::inverse(const Tensor<T>& z, const Tensor<T>& c) requires conditional
{
    check(z, dim(), "inverse", "latents");
    inverse_.run(z_, z, c_, conditions_for(z.shape()[0], c, "inverse"));
    return {inverse_.program().template value<0>(), inverse_.program().template value<1>()};
}

template <class T, class Block>
void Flow<T, Block>::initialize(const Tensor<T>& batch) requires(!conditional)
{
    check(batch, dim(), "initialize", "data");
    dsl::initialize(block_, batch);
}
template <class T, class Block>
void Flow<T, Block>::initialize(const Tensor<T>& batch, const Tensor<T>& c) requires conditional
{
    check(batch, dim(), "initialize", "data");
    dsl::initialize(block_, batch, conditions_for(batch.shape()[0], c, "initialize"));
}

template <class T, class Block>
void Flow<T, Block>::save(const std::string& path, const SaveOptions& options) const
{
    save_parameters(path, parameters(), options);
}
template <class T, class Block>
Metadata Flow<T, Block>::load(const std::string& path)
{
    return load_parameters(path, parameters());
}

template <class T, class Block>
const Tensor<T>& Flow<T, Block>::conditions_for(std::size_t n, const Tensor<T>& c, const char* what)
{
    if (c.shape()[1] != condition_dim() || (c.shape()[0] != n && c.shape()[0] != 1))
        throw_shape_error(std::string("Flow::") + what, "expected conditions of shape ", n, " x ", condition_dim(),
                          " (or 1 x ", condition_dim(), " for the whole batch), got ", shape_of(c));
    require_finite(c, "Flow::", what, "conditions");
    if (c.shape()[0] == n) return c;
    if (repeated_.shape()[0] != n || repeated_.shape()[1] != c.shape()[1])
        repeated_ = Tensor<T>::from_shape({n, c.shape()[1]});
    for (std::size_t r = 0; r < n; ++r) xt::row(repeated_, r) = xt::row(c, 0);
    return repeated_;
}

// make_flow<float>(dim, spec[, seed]): build the spec's blocks for `dim` features.
// make_flow<float, support>(dim, spec[, seed]): for data in `support` (default: the real line), e.g.
// dsl::closed_interval(0, 1) for pixels before a logit layer. Checked at compile time (dsl/mapping.hpp):
// the support must lie inside the flow's domain and the flow must map onto the real line, the support
// of its Gaussian base.
template <class T, dsl::Interval Support = dsl::real_line, class Spec>
auto make_flow(std::size_t dim, const Spec& spec, std::uint64_t seed = 0)
{
    constexpr dsl::Composition checked = dsl::flow_mapping<Spec>(Support);
    static_assert(dsl::detail::accept<checked.failed, checked.message>());
    dsl::BuildContext context;
    context.rng.seed(seed);
    auto block = dsl::build_block<T, false>(spec, dim, context);
    return Flow<T, decltype(block)>(std::move(block), Support);
}

}  // namespace bijou
