// ErasedBlock: a bijection behind a uniform run-time interface, the boundary that keeps deep flows
// cheap to compile (docs/decisions.md, "Static inside a block, dynamic between blocks").
//
// Inside a block everything stays static: its forward and inverse are engine expressions over an
// Input of its own, fused and inlined as usual. Between blocks there is one virtual call per direction
// and pass: a BlockRunner is one direction of one block compiled into its own small Program over its own
// Input (and condition Input), so the type of a block's output never contains the types of the blocks
// before it. A flow of n blocks of k distinct types instantiates k block types, each once per direction,
// whatever n is.
//
//   AnyBlock<T>       what a chain needs of a block: dim(), parameters(), runner(direction), initialize
//   BlockRunner<T>    one direction of one block, bound to a batch size: forward(), backward(seeds)
//   ErasedBlock<B, C> the model of both for a block type B (C: built for a condition)
#pragma once

#include <memory>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/data_init.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::dsl {

enum class Direction { forward, inverse };

// One direction of one block as a program over its own inputs. The chain copies the previous block's
// output into input(), the condition into condition(), runs forward(), reads output() and log_det();
// backward pushes the seeds (d loss / d output, d loss / d log_det) into the parameters' gradients and,
// when they ask for one, into input().grad() and condition().grad().
template <class T>
class BlockRunner {
public:
    BlockRunner(std::size_t dim, std::size_t condition_dim)
        : input_(dim, "seq.input", InputOptions{.requires_grad = true})
    {
        if (condition_dim > 0) condition_ = Input<T>(condition_dim, "seq.condition", InputOptions{.requires_grad = true});
    }
    virtual ~BlockRunner() = default;
    BlockRunner(const BlockRunner&) = delete;
    BlockRunner& operator=(const BlockRunner&) = delete;

    const Input<T>& input() const { return input_; }
    const Input<T>& condition() const { return condition_; }

    // Sizes the program for `rows`; a gradient flows into input() / condition() only when asked, so the
    // first block of a training pass does not differentiate with respect to the data. Without
    // `gradients` (an evaluation) the program keeps no adjoints and backward() is refused.
    void bind(std::size_t rows, bool input_gradient, bool condition_gradient, Gradients gradients = Gradients::on)
    {
        if (gradients == Gradients::off) input_gradient = condition_gradient = false;
        if (rows == rows_ && input_gradient == input_gradient_ && condition_gradient == condition_gradient_ &&
            gradients == gradients_)
            return;
        input_.node().needs_adjoint = input_gradient;
        if (condition_.node_ptr()) condition_.node().needs_adjoint = condition_gradient;
        bind_program(rows, gradients);
        rows_ = rows;
        input_gradient_ = input_gradient;
        condition_gradient_ = condition_gradient;
        gradients_ = gradients;
    }

    // Whether the block's program reads the condition (a permutation inside conditional(...) does not,
    // and its condition input then stays unbound).
    bool reads_condition() const { return condition_.node_ptr() && condition_.value().shape()[0] == rows_; }

    virtual void forward() = 0;
    virtual const Tensor<T>& output() const = 0;
    virtual const Tensor<T>* log_det() const = 0;  // null for a log-det that is identically zero
    virtual void backward(const Tensor<T>& output_seed, const Tensor<T>& log_det_seed) = 0;

protected:
    virtual void bind_program(std::size_t rows, Gradients gradients) = 0;

private:
    Input<T> input_;
    Input<T> condition_;  // empty when unconditional
    std::size_t rows_ = 0;
    bool input_gradient_ = true, condition_gradient_ = true;
    Gradients gradients_ = Gradients::on;
};

// What a chain needs of a block, independent of the block's type.
template <class T>
class AnyBlock {
public:
    virtual ~AnyBlock() = default;
    virtual std::size_t dim() const = 0;
    virtual std::vector<Param<T>> parameters() const = 0;
    virtual std::unique_ptr<BlockRunner<T>> runner(Direction direction) const = 0;
    // Data-dependent initialisation of the block (dsl/data_init.hpp) on `batch`, given the condition
    // features (null when unconditional); `inverted` when the block runs in its inverse direction (inside
    // inverse(...)). Returns the block's output on the batch.
    virtual Tensor<T> initialize(const Tensor<T>& batch, const Tensor<T>* condition, bool inverted) const = 0;
};

namespace detail {

template <class T, bool Conditional>
using RunnerCondition = std::conditional_t<Conditional, Input<T>, NoCondition>;

template <Direction D, class Block, class C>
auto block_pass(const Block& block, const Input<typename Block::value_type>& x, const C& c)
{
    if constexpr (D == Direction::inverse)
        return block.inverse(x, c);
    else
        return block.forward(x, c);
}

template <Direction D, class Block, class C>
auto runner_program(const Block& block, const Input<typename Block::value_type>& x, const C& c)
{
    auto [y, log_det] = block_pass<D>(block, x, c);
    if constexpr (std::is_same_v<decltype(log_det), Zero>)
        return Program(y);
    else
        return Program(y, log_det);
}

template <Direction D, class Block, bool Conditional>
class Runner final : public BlockRunner<typename Block::value_type> {
    using T = typename Block::value_type;
    using Base = BlockRunner<T>;
    using ProgramType = decltype(runner_program<D>(std::declval<const Block&>(), std::declval<const Input<T>&>(),
                                                   std::declval<const RunnerCondition<T, Conditional>&>()));
    static constexpr bool zero_log_det =
        std::is_same_v<decltype(block_pass<D>(std::declval<const Block&>(), std::declval<const Input<T>&>(),
                                              std::declval<const RunnerCondition<T, Conditional>&>())
                                    .log_det),
                       Zero>;

public:
    Runner(const Block& block, std::size_t condition_dim)
        : Base(block.dim(), condition_dim), program_(runner_program<D>(block, this->input(), condition()))
    {
    }

    void forward() override { program_.forward(); }
    const Tensor<T>& output() const override { return program_.template value<0>(); }
    const Tensor<T>* log_det() const override
    {
        if constexpr (zero_log_det) return nullptr;
        else return &program_.template value<1>();
    }
    void backward(const Tensor<T>& output_seed, const Tensor<T>& log_det_seed) override
    {
        if constexpr (zero_log_det) program_.backward_from(output_seed);
        else program_.backward_from(output_seed, log_det_seed);
    }

private:
    void bind_program(std::size_t rows, Gradients gradients) override { program_.bind(rows, gradients); }

    RunnerCondition<T, Conditional> condition() const
    {
        if constexpr (Conditional) return this->Base::condition();
        else return NoCondition{};
    }

    ProgramType program_;
};

}  // namespace detail

// The model of AnyBlock for a block of type Block; Conditional when it was built for a condition.
//
// The members that compile the block's programs are defined out of the class, so that a block type can be
// compiled once, in a translation unit of its own, and declared `extern template` elsewhere
// (BIJOU_EXTERN_BLOCK / BIJOU_INSTANTIATE_BLOCK, below): the block boundary is also a boundary of separate
// compilation.
template <class Block, bool Conditional>
class ErasedBlock final : public AnyBlock<typename Block::value_type> {
    using T = typename Block::value_type;

public:
    ErasedBlock(Block block, std::size_t condition_dim) : block_(std::move(block)), condition_dim_(condition_dim) {}

    std::size_t dim() const override { return block_.dim(); }
    std::vector<Param<T>> parameters() const override { return block_.parameters(); }
    const Block& block() const { return block_; }

    std::unique_ptr<BlockRunner<T>> runner(Direction direction) const override;
    Tensor<T> initialize(const Tensor<T>& batch, const Tensor<T>* condition, bool inverted) const override;

private:
    Block block_;
    std::size_t condition_dim_;
};

template <class Block, bool Conditional>
std::unique_ptr<BlockRunner<typename Block::value_type>> ErasedBlock<Block, Conditional>::runner(Direction direction) const
{
    if (direction == Direction::inverse)
        return std::make_unique<detail::Runner<Direction::inverse, Block, Conditional>>(block_, condition_dim_);
    return std::make_unique<detail::Runner<Direction::forward, Block, Conditional>>(block_, condition_dim_);
}

// A leaf block initialises itself (dsl/data_init.hpp) and then runs on the batch through its own runner,
// so initialisation compiles no program of its own; a composite block (fused, inverse, conditional)
// walks its parts.
template <class Block, bool Conditional>
Tensor<typename Block::value_type> ErasedBlock<Block, Conditional>::initialize(const Tensor<T>& batch,
                                                                             const Tensor<T>* condition,
                                                                             bool inverted) const
{
    using Condition = std::conditional_t<Conditional, detail::ConditionBatch<T>, NoCondition>;
    Condition c{};
    if constexpr (Conditional) c.value = *condition;
    if constexpr (detail::initialised_through_its_parts<Block, Condition>) {
        return inverted ? detail::initialize_inverse_of(block_, batch, c) : detail::initialize_block(block_, batch, c);
    } else {
        detail::initialise_leaf(block_, batch, c, inverted);
        const auto run = runner(inverted ? Direction::inverse : Direction::forward);
        run->bind(batch.shape()[0], false, false, Gradients::off);
        run->input().set(batch);
        if constexpr (Conditional)
            if (run->reads_condition()) run->condition().set(c.value);
        run->forward();
        return run->output();
    }
}

// The block a spec of type Spec builds for scalar type T (widths do not change the type).
template <class T, class Spec>
using block_of = decltype(build_block<T, false>(std::declval<const Spec&>(), std::size_t{}, std::declval<BuildContext&>()));

}  // namespace bijou::dsl

// Separate compilation of a block type, e.g. a block of your own used by several programs:
//   in a header every user includes:    BIJOU_EXTERN_BLOCK(float, decltype(my_spec), false)
//   in one .cpp file:                    BIJOU_INSTANTIATE_BLOCK(float, decltype(my_spec), false)
// (Conditional: true for the blocks inside conditional(...).) The .cpp then holds the block's programs,
// compiled once, and the other translation units only call them.
#define BIJOU_EXTERN_BLOCK(T, Spec, Conditional) \
    extern template class bijou::dsl::ErasedBlock<bijou::dsl::block_of<T, Spec>, Conditional>;
#define BIJOU_INSTANTIATE_BLOCK(T, Spec, Conditional) \
    template class bijou::dsl::ErasedBlock<bijou::dsl::block_of<T, Spec>, Conditional>;
