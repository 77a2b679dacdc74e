// Flow: a bijection paired with a standard normal base distribution,
//   log p(x) = log N(f(x); 0, I) + log|det Df(x)|,   sampling x = f^-1(z), z ~ N(0, I).
//
//   auto flow = make_flow<float>(2, seq(coupling(halves, conditioner(hidden(64, 64)), affine), reverse()));
//   Tensor<float> lp = flow.log_prob(x);
//   Tensor<float> xs = flow.sample(1000, rng);
//
// Each query runs an engine program built once per direction and rebound only when the batch size
// changes. loss() gives the negative log-likelihood program for training.
#pragma once

#include <cmath>
#include <numbers>
#include <optional>
#include <random>

#include <bijou/dsl/bijection.hpp>
#include <bijou/engine/engine.hpp>

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

template <class T, class Block>
auto log_prob_program(const Block& block, const Input<T>& x)
{
    auto [z, log_det] = block.forward(x, dsl::NoCondition{});
    return Program(standard_normal_log_prob(z, log_det, block.dim()));
}
template <class T, class Block>
auto nll_program(const Block& block, const Input<T>& x)
{
    auto [z, log_det] = block.forward(x, dsl::NoCondition{});
    return Program(-mean(standard_normal_log_prob(z, log_det, block.dim())));
}
template <class T, class Block>
auto forward_program(const Block& block, const Input<T>& x)
{
    auto [z, log_det] = block.forward(x, dsl::NoCondition{});
    return Program(z, log_det_column(x, log_det));
}
template <class T, class Block>
auto inverse_program(const Block& block, const Input<T>& z)
{
    auto [x, log_det] = block.inverse(z, dsl::NoCondition{});
    return Program(x, log_det_column(z, log_det));
}

// A program over one input, bound lazily to the batch size of the data it is given.
template <class Program>
struct BoundProgram {
    Program program;
    void run(const auto& input, const auto& data)
    {
        if (program.batch() != data.shape()[0]) program.bind(data.shape()[0]);
        input.set(data);
        program.forward();
    }
};
}  // namespace detail

template <class T, class Block>
class Flow {
public:
    using value_type = T;

    explicit Flow(Block block)
        : block_(std::move(block)), x_(block_.dim(), "x"), z_(block_.dim(), "z"),
          log_prob_{detail::log_prob_program(block_, x_)}, forward_{detail::forward_program(block_, x_)},
          inverse_{detail::inverse_program(block_, z_)}
    {
    }

    std::size_t dim() const { return block_.dim(); }
    const Block& block() const { return block_; }
    std::vector<Param<T>> parameters() const { return block_.parameters(); }

    // log p(x) per row (B x 1).
    Tensor<T> log_prob(const Tensor<T>& x)
    {
        check(x, "log_prob");
        log_prob_.run(x_, x);
        return log_prob_.program.value();
    }

    // z = f(x) and log|det Df(x)| per row.
    std::pair<Tensor<T>, Tensor<T>> forward(const Tensor<T>& x)
    {
        check(x, "forward");
        forward_.run(x_, x);
        return {forward_.program.template value<0>(), forward_.program.template value<1>()};
    }

    // x = f^-1(z) and log|det Df^-1(z)| per row.
    std::pair<Tensor<T>, Tensor<T>> inverse(const Tensor<T>& z)
    {
        check(z, "inverse");
        inverse_.run(z_, z);
        return {inverse_.program.template value<0>(), inverse_.program.template value<1>()};
    }

    template <class Rng>
    Tensor<T> sample(std::size_t n, Rng& rng)
    {
        std::normal_distribution<T> normal;
        Tensor<T> z = Tensor<T>::from_shape({n, dim()});
        for (auto& v : z) v = normal(rng);
        return inverse(z).first;
    }

    // The negative log-likelihood (mean over the batch) as a trainable program over input x.
    auto loss_program(const Input<T>& x) const { return detail::nll_program(block_, x); }

private:
    void check(const Tensor<T>& data, const char* what) const
    {
        if (data.shape()[1] != dim())
            throw_shape_error(std::string("Flow::") + what, "expected data with ", dim(), " columns, got ",
                              shape_of(data));
    }

    Block block_;
    Input<T> x_, z_;
    detail::BoundProgram<decltype(detail::log_prob_program(std::declval<const Block&>(), std::declval<const Input<T>&>()))> log_prob_;
    detail::BoundProgram<decltype(detail::forward_program(std::declval<const Block&>(), std::declval<const Input<T>&>()))> forward_;
    detail::BoundProgram<decltype(detail::inverse_program(std::declval<const Block&>(), std::declval<const Input<T>&>()))> inverse_;
};

// make_flow<float>(dim, spec[, seed]): build the spec's blocks for `dim` features.
template <class T, class Spec>
auto make_flow(std::size_t dim, const Spec& spec, std::uint64_t seed = 0)
{
    dsl::BuildContext context;
    context.rng.seed(seed);
    auto block = spec.template build<T>(dim, context);
    return Flow<T, decltype(block)>(std::move(block));
}

}  // namespace bijou
