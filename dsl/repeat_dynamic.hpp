// repeat(n, spec): n blocks built from one spec, n chosen at run time (e.g. from a --blocks option).
//
// repeat<N>(spec) (dsl/seq.hpp) makes the whole chain one expression type, which costs compile time in
// proportion to N and fixes N at compile time. repeat(n, spec) compiles ONE block type and runs the
// chain as a single engine kernel: each block gets its own small programs (forward and inverse, each
// over its own input), the kernel copies a block's output into the next block's input, and its
// backward pass seeds each block's program with the gradient arriving from the block after it. The
// chain is therefore an ordinary bijection: a Flow, a conditional(...) or a seq can hold it, and
// gradients reach its parameters, its input and its condition in both directions.
//
// The chain kernel outputs y; a second kernel reads the summed log-det the chain left in their shared
// state (and, in the backward pass, leaves its gradient there for the chain, which runs after it since
// it consumes the chain's output). Inner programs are bound when the batch size changes, so a training
// step allocates nothing.
#pragma once

#include <memory>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::dsl {

namespace detail {

// A block's log-det as a B x 1 column, also when it is known to be zero.
template <class X, class L>
auto log_det_as_column(const X& x, const L& log_det)
{
    if constexpr (std::is_same_v<L, Zero>)
        return 0.0 * sum(x, 1);
    else
        return log_det;
}

template <bool Inverse, class Block, class C>
auto block_program(const Block& block, const Input<typename Block::value_type>& x, const C& c)
{
    auto [y, log_det] = [&] {
        if constexpr (Inverse) return block.inverse(x, c);
        else return block.forward(x, c);
    }();
    return Program(y, log_det_as_column(x, log_det));
}

template <class T, bool Conditional>
using ChainCondition = std::conditional_t<Conditional, Input<T>, NoCondition>;

// The blocks' programs in the order they run, with their inputs and the gradient buffers between them.
template <bool Inverse, class Block, bool Conditional>
struct ChainState {
    using T = typename Block::value_type;
    using Condition = ChainCondition<T, Conditional>;
    using BlockProgram = decltype(block_program<Inverse>(std::declval<const Block&>(), std::declval<const Input<T>&>(),
                                                         std::declval<const Condition&>()));

    std::vector<Input<T>> inputs;
    std::vector<Condition> conditions;
    std::vector<BlockProgram> programs;
    Tensor<T> output_seed;   // d loss / d (last block's output), from the kernel's adjoint
    Tensor<T> log_det;       // the sum of the blocks' log-dets, B x 1
    Tensor<T> log_det_seed;  // d loss / d log_det, the same for every block (the log-dets are summed)
    bool log_det_seeded = false;  // set by the log-det kernel's backward; zero seed when the loss ignores it
    std::size_t batch = 0;

    ChainState(const std::vector<Block>& blocks, std::size_t condition_dim)
    {
        const std::size_t n = blocks.size();
        inputs.reserve(n);
        conditions.reserve(n);
        programs.reserve(n);
        for (std::size_t k = 0; k < n; ++k) {
            // Run order: the forward pass goes through blocks 0..n-1, the inverse through n-1..0.
            const Block& block = blocks[Inverse ? n - 1 - k : k];
            inputs.emplace_back(block.dim(), "repeat.input", InputOptions{.requires_grad = true});
            if constexpr (Conditional)
                conditions.emplace_back(condition_dim, "repeat.condition", InputOptions{.requires_grad = true});
            else
                conditions.emplace_back();
            programs.push_back(block_program<Inverse>(block, inputs.back(), conditions.back()));
        }
    }

    void bind(std::size_t rows)
    {
        if (batch == rows) return;
        for (auto& p : programs) p.bind(rows);
        output_seed = Tensor<T>::from_shape({rows, inputs.back().cols()});
        log_det = Tensor<T>::from_shape({rows, 1});
        log_det_seed = Tensor<T>::from_shape({rows, 1});
        batch = rows;
    }
};

template <bool Inverse, class Block, bool Conditional, class Source, class ConditionSource>
struct ChainKernel {
    using value_type = typename Block::value_type;
    using T = value_type;
    static constexpr const char* name = "repeat";

    std::shared_ptr<ChainState<Inverse, Block, Conditional>> state;
    Source source;
    ConditionSource condition;  // NoCondition when unconditional
    std::size_t dim;
    // The blocks' parameters, listed as sources although the inner programs read them: the outer graph
    // then knows that the chain needs a backward pass even when its input does not (and
    // Program::parameters() finds them).
    std::vector<Param<T>> parameters;

    Shape shape() const
    {
        const Shape in = source.shape();
        if (in.cols != dim) throw_shape_error("repeat", "blocks of ", dim, " features given an input of shape ", in);
        if constexpr (Conditional) {
            const Shape c = condition.shape();
            if (c.cols != state->conditions.front().cols() || (c.rows != in.rows && c.rows != 1))
                throw_shape_error("repeat", "a condition of ", state->conditions.front().cols(),
                                  " features for each of the ", in.rows, " rows, got ", c);
        }
        return {in.rows, dim};
    }

    void forward(SourceNode<T>& out) const
    {
        const std::size_t rows = out.shape().rows;
        auto& s = *state;
        s.bind(rows);
        copy_in(source.view(), s.inputs.front().value());
        if constexpr (Conditional)
            for (auto& c : s.conditions) copy_in(condition.view(), c.value());
        s.log_det.fill(T(0));
        const std::size_t n = s.programs.size();
        for (std::size_t k = 0; k < n; ++k) {
            auto& program = s.programs[k];
            program.forward();
            const Tensor<T>& value = program.template value<0>();
            Tensor<T>& next = k + 1 < n ? s.inputs[k + 1].value() : out.value;
            std::copy(value.begin(), value.end(), next.begin());
            // A plain loop: xtensor's `+=` evaluates into a temporary (it cannot rule out aliasing),
            // a heap allocation per block per pass.
            const Tensor<T>& block_log_det = program.template value<1>();
            for (std::size_t r = 0; r < rows; ++r) s.log_det(r, 0) += block_log_det(r, 0);
        }
    }

    void backward(SourceNode<T>& out) const
    {
        auto& s = *state;
        if (!s.log_det_seeded) s.log_det_seed.fill(T(0));
        s.log_det_seeded = false;
        // Block k's output feeds block k+1, so its seed is the gradient block k+1 left on its input.
        const std::size_t n = s.programs.size();
        for (std::size_t k = n; k-- > 0;)
            s.programs[k].backward_from(k + 1 == n ? out.adjoint : s.inputs[k + 1].grad(), s.log_det_seed);
        copy_out(s.inputs.front().grad(), source.view());
        if constexpr (Conditional)
            for (auto& c : s.conditions) copy_out(c.grad(), condition.view());
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        source.for_each_source(f);
        if constexpr (Conditional) condition.for_each_source(f);
        for (const auto& p : parameters) f(p.node());
    }

private:
    // Copies a (possibly sliced or row-broadcast) operand into a dense input buffer.
    static void copy_in(const auto& view, Tensor<T>& to)
    {
        const std::size_t rows = to.shape()[0], cols = to.shape()[1];
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) to(r, c) = view.value[view.offset(r, c)];
    }
    // Adds a dense gradient into an operand's adjoint (summing over rows for a broadcast operand).
    static void copy_out(const Tensor<T>& grad, const auto& view)
    {
        if (view.adjoint == nullptr) return;
        const std::size_t rows = grad.shape()[0], cols = grad.shape()[1];
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) view.adjoint[view.offset(r, c)] += grad(r, c);
    }
};

// The chain's summed log-det (B x 1), read from the state the chain kernel fills.
template <class State, class ChainVar>
struct ChainLogDetKernel {
    using value_type = typename ChainVar::value_type;
    using T = value_type;
    static constexpr const char* name = "repeat.log_det";

    std::shared_ptr<State> state;
    ChainVar chain;  // a consumer of the chain, so it runs after it forward and before it backward

    Shape shape() const { return {chain.shape().rows, 1}; }
    void forward(SourceNode<T>& out) const { std::copy(state->log_det.begin(), state->log_det.end(), out.value.begin()); }
    void backward(SourceNode<T>& out) const
    {
        std::copy(out.adjoint.begin(), out.adjoint.end(), state->log_det_seed.begin());
        state->log_det_seeded = true;
    }
    template <class F>
    void for_each_source(F&& f) const
    {
        chain.for_each_source(f);
    }
};

}  // namespace detail

template <class Block>
class Repeated {
public:
    using value_type = typename Block::value_type;
    using T = value_type;

    // condition_dim: the width of the condition the blocks were built for (0 when unconditional).
    Repeated(std::vector<Block> blocks, std::size_t condition_dim)
        : blocks_(std::move(blocks)), condition_dim_(condition_dim)
    {
    }

    std::size_t dim() const { return blocks_.front().dim(); }
    std::size_t size() const { return blocks_.size(); }
    const std::vector<Block>& blocks() const { return blocks_; }

    std::vector<Param<T>> parameters() const
    {
        std::vector<Param<T>> all;
        for (const auto& b : blocks_) {
            auto own = b.parameters();
            all.insert(all.end(), own.begin(), own.end());
        }
        return all;
    }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        return run<false>(x, c);
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        return run<true>(y, c);
    }

private:
    template <bool Inverse, class X, class C>
    auto run(const X& x, const C& c) const
    {
        constexpr bool Conditional = has_condition<C>;
        if (Conditional != (condition_dim_ > 0))
            throw_usage_error("repeat", "blocks built for a condition of ", condition_dim_,
                              " features called ", Conditional ? "with" : "without", " a condition");
        auto source = bind_operand(x);
        auto condition = [&] {
            if constexpr (Conditional) return bind_operand(c);
            else return NoCondition{};
        }();
        auto state = std::make_shared<detail::ChainState<Inverse, Block, Conditional>>(blocks_, condition_dim_);
        auto y = make_var(detail::ChainKernel<Inverse, Block, Conditional, decltype(source), decltype(condition)>{
            state, source, condition, dim(), parameters()});
        auto log_det = make_var(detail::ChainLogDetKernel<typename decltype(state)::element_type, decltype(y)>{state, y});
        return Transformed{y, log_det};
    }

    std::vector<Block> blocks_;
    std::size_t condition_dim_;
};

template <class Spec>
struct RepeatDynamicSpec {
    std::size_t count;
    Spec spec;

    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        if (count == 0) throw_usage_error("repeat", "needs at least one block, got n = 0");
        using Block = decltype(spec.template build<T>(dim, context));
        std::vector<Block> blocks;
        blocks.reserve(count);
        for (std::size_t k = 0; k < count; ++k) blocks.push_back(spec.template build<T>(dim, context));
        return Repeated<Block>(std::move(blocks), context.condition_dim);
    }
};

template <class Spec>
RepeatDynamicSpec<Spec> repeat(std::size_t count, Spec spec)
{
    return {count, std::move(spec)};
}

}  // namespace bijou::dsl
