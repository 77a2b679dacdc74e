// Chain: a composition of blocks joined at block boundaries, what seq(...), repeat<N>(spec) and
// repeat(n, spec) build.
//
//   forward:  x -> b_1 -> b_2 -> ... -> b_n -> y,     log|det| = sum_k log|det b_k|
//   inverse:  y -> inv(b_n) -> ... -> inv(b_1) -> x   (each block's inverse is derived by the DSL)
//
// Each block is an ErasedBlock (dsl/erased_block.hpp): its own small program per direction over a
// uniform leaf. A call of forward (or inverse) makes one engine kernel that runs the blocks' programs
// in order, copying each block's output into the next block's input (B x D values per boundary), and a
// second kernel that reads the summed log-det they left in their shared state. The backward pass seeds
// each block's program with the gradient the block after it left on its input, and every block with the
// same d loss / d log_det (the log-dets are summed). Gradients reach the blocks' parameters, the chain's
// input and the condition, in both directions; the inner programs are bound when the batch size
// changes, so a training step allocates nothing.
//
// The kernel's type depends only on T and its operands, never on the blocks, so the expression type of
// a chain's output does not grow with its depth (the compile-time cost that motivated the boundary).
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/erased_block.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::dsl {

namespace detail {

// The blocks' runners in the order they run, and the buffers between them.
template <class T>
struct ChainState {
    std::vector<std::unique_ptr<BlockRunner<T>>> runners;
    Tensor<T> log_det;       // the sum of the blocks' log-dets, B x 1
    Tensor<T> log_det_seed;  // d loss / d log_det, the same for every block
    bool log_det_seeded = false;  // set by the log-det kernel's backward; a zero seed when the loss ignores it
    std::size_t batch = 0;

    ChainState(const std::vector<std::shared_ptr<const AnyBlock<T>>>& blocks, Direction direction)
    {
        const std::size_t n = blocks.size();
        runners.reserve(n);
        // Run order: the forward pass goes through blocks 0..n-1, the inverse through n-1..0.
        for (std::size_t k = 0; k < n; ++k)
            runners.push_back(blocks[direction == Direction::inverse ? n - 1 - k : k]->runner(direction));
    }

    // The runners at `runner_rows` (a chunk of the batch when evaluating), the log-dets at `rows`.
    void bind(std::size_t rows, std::size_t runner_rows, bool input_gradient, bool condition_gradient,
              Gradients gradients)
    {
        for (std::size_t k = 0; k < runners.size(); ++k)
            runners[k]->bind(runner_rows, k > 0 || input_gradient, condition_gradient, gradients);
        if (batch != rows) {
            log_det = Tensor<T>::from_shape({rows, 1});
            log_det_seed = Tensor<T>::from_shape({rows, 1});
            batch = rows;
        }
    }
};

// An evaluation (a program bound with Gradients::off) runs a chain's blocks on at most this many rows
// at a time: the blocks' intermediates then take chunk-sized buffers however many rows are evaluated.
// Measured on the Fashion-MNIST Glow (levels 2, K 8, hidden 64), log_prob then sample of 4096 rows:
// without chunks the process was killed past 24 GB; peak RSS 1264 MB with chunks of 256 rows, 689 MB
// with 128, 401 MB with 64; 128 took 8-25% longer per call than 256 (docs/decisions.md, entry 24).
inline constexpr std::size_t evaluation_chunk_rows = 128;

template <class T, bool Conditional, class Source, class ConditionSource>
struct ChainKernel {
    using value_type = T;
    static constexpr const char* name = "seq";

    std::shared_ptr<ChainState<T>> state;
    Source source;
    ConditionSource condition;  // NoCondition when unconditional
    std::size_t dim;
    std::size_t condition_dim;
    // The blocks' parameters, listed as sources although the inner programs read them: the outer graph
    // then knows that the chain needs a backward pass even when its input does not (and
    // Program::parameters() finds them).
    std::vector<Param<T>> parameters;

    Shape shape() const
    {
        const Shape in = source.shape();
        if (in.cols != dim) throw_shape_error("seq", "blocks of ", dim, " features given an input of shape ", in);
        if constexpr (Conditional) {
            const Shape c = condition.shape();
            if (c.cols != condition_dim || (c.rows != in.rows && c.rows != 1))
                throw_shape_error("seq", "a condition of ", condition_dim, " features for each of the ", in.rows,
                                  " rows, got ", c);
        }
        return {in.rows, dim};
    }

    void forward(SourceNode<T>& out) const
    {
        const std::size_t rows = out.shape().rows;
        if (!out.needs_adjoint && rows > evaluation_chunk_rows) return forward_in_chunks(out);
        auto& s = *state;
        const auto input = source.view();
        bool condition_gradient = false;
        if constexpr (Conditional) condition_gradient = condition.view().adjoint != nullptr;
        s.bind(rows, rows, input.adjoint != nullptr, condition_gradient,
               out.needs_adjoint ? Gradients::on : Gradients::off);
        copy_in(input, s.runners.front()->input().value());
        s.log_det.fill(T(0));
        const std::size_t n = s.runners.size();
        for (std::size_t k = 0; k < n; ++k) {
            auto& runner = *s.runners[k];
            if constexpr (Conditional)
                if (runner.reads_condition()) copy_in(condition.view(), runner.condition().value());
            runner.forward();
            const Tensor<T>& value = runner.output();
            Tensor<T>& next = k + 1 < n ? s.runners[k + 1]->input().value() : out.value;
            std::copy(value.begin(), value.end(), next.begin());
            // A plain loop: xtensor's `+=` evaluates into a temporary (it cannot rule out aliasing),
            // a heap allocation per block per pass.
            if (const Tensor<T>* block_log_det = runner.log_det())
                for (std::size_t r = 0; r < rows; ++r) s.log_det(r, 0) += (*block_log_det)(r, 0);
        }
    }

    // The rows in chunks of evaluation_chunk_rows; the last chunk is filled up with copies of its last
    // row (always inside the blocks' domain), so the runners keep one size and nothing is reallocated.
    void forward_in_chunks(SourceNode<T>& out) const
    {
        const std::size_t rows = out.shape().rows, chunk = evaluation_chunk_rows;
        auto& s = *state;
        s.bind(rows, chunk, false, false, Gradients::off);
        const auto input = source.view();
        const std::size_t n = s.runners.size();
        for (std::size_t first = 0; first < rows; first += chunk) {
            const std::size_t count = std::min(chunk, rows - first);
            copy_rows_in(input, first, count, s.runners.front()->input().value());
            for (std::size_t r = 0; r < count; ++r) s.log_det(first + r, 0) = T(0);
            for (std::size_t k = 0; k < n; ++k) {
                auto& runner = *s.runners[k];
                if constexpr (Conditional)
                    if (runner.reads_condition())
                        copy_rows_in(condition.view(), first, count, runner.condition().value());
                runner.forward();
                const Tensor<T>& value = runner.output();
                if (k + 1 < n) std::copy(value.begin(), value.end(), s.runners[k + 1]->input().value().begin());
                else std::copy_n(value.data(), count * dim, out.value.data() + first * dim);
                if (const Tensor<T>* block_log_det = runner.log_det())
                    for (std::size_t r = 0; r < count; ++r) s.log_det(first + r, 0) += (*block_log_det)(r, 0);
            }
        }
    }

    void backward(SourceNode<T>& out) const
    {
        auto& s = *state;
        if (!s.log_det_seeded) s.log_det_seed.fill(T(0));
        s.log_det_seeded = false;
        // Block k's output feeds block k+1, so its seed is the gradient block k+1 left on its input.
        const std::size_t n = s.runners.size();
        for (std::size_t k = n; k-- > 0;) {
            auto& runner = *s.runners[k];
            runner.backward(k + 1 == n ? out.adjoint : s.runners[k + 1]->input().grad(), s.log_det_seed);
            if constexpr (Conditional)
                if (runner.reads_condition()) copy_out(runner.condition().grad(), condition.view());
        }
        copy_out(s.runners.front()->input().grad(), source.view());
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
    static void copy_in(const bijou::detail::LeafView<T>& view, Tensor<T>& to)
    {
        const std::size_t rows = to.shape()[0], cols = to.shape()[1];
        if (view.row_stride == cols && view.col_stride == 1) {
            std::copy(view.value, view.value + rows * cols, to.data());
            return;
        }
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) to(r, c) = view.value[view.offset(r, c)];
    }
    // Rows [first, first + count) of an operand into a dense buffer of `to.rows` rows, the rows past
    // `count` repeating the last one (a row-broadcast operand repeats its only row).
    static void copy_rows_in(const bijou::detail::LeafView<T>& view, std::size_t first, std::size_t count,
                             Tensor<T>& to)
    {
        const std::size_t rows = to.shape()[0], cols = to.shape()[1];
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t from = first + std::min(r, count - 1);
            for (std::size_t c = 0; c < cols; ++c) to(r, c) = view.value[view.offset(from, c)];
        }
    }
    // Adds a dense gradient into an operand's adjoint (summing over rows for a broadcast operand).
    static void copy_out(const Tensor<T>& grad, const bijou::detail::LeafView<T>& view)
    {
        if (view.adjoint == nullptr) return;
        const std::size_t rows = grad.shape()[0], cols = grad.shape()[1];
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) view.adjoint[view.offset(r, c)] += grad(r, c);
    }
};

// The chain's summed log-det (B x 1), read from the state the chain kernel fills.
template <class T, class ChainVar>
struct ChainLogDetKernel {
    using value_type = T;
    static constexpr const char* name = "seq.log_det";

    std::shared_ptr<ChainState<T>> state;
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

template <class T>
class Chain {
public:
    using value_type = T;
    using Element = std::shared_ptr<const AnyBlock<T>>;

    // condition_dim: the width of the condition the blocks were built for (0 when unconditional).
    Chain(std::vector<Element> blocks, std::size_t condition_dim)
        : blocks_(std::move(blocks)), condition_dim_(condition_dim)
    {
        if (blocks_.empty()) throw_usage_error("seq", "a chain needs at least one block");
        for (const auto& b : blocks_)
            if (b->dim() != blocks_.front()->dim())
                throw_shape_error("seq", "blocks of ", blocks_.front()->dim(), " and ", b->dim(),
                                  " features cannot be chained");
    }

    std::size_t dim() const { return blocks_.front()->dim(); }
    std::size_t size() const { return blocks_.size(); }
    std::size_t condition_dim() const { return condition_dim_; }
    const std::vector<Element>& blocks() const { return blocks_; }

    std::vector<Param<T>> parameters() const
    {
        std::vector<Param<T>> all;
        for (const auto& b : blocks_) {
            auto own = b->parameters();
            all.insert(all.end(), own.begin(), own.end());
        }
        return all;
    }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        return run(Direction::forward, x, c);
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        return run(Direction::inverse, y, c);
    }

    // The data-dependent initialisation walk (dsl/data_init.hpp): each block on the previous one's output,
    // in the order of the direction it runs in.
    template <class Condition>
    Tensor<T> initialize_walk(const Tensor<T>& batch, const Condition& condition, bool inverted) const
    {
        const Tensor<T>* c = nullptr;
        if constexpr (has_condition<Condition>) c = &condition.value;
        Tensor<T> out = batch;
        const std::size_t n = blocks_.size();
        for (std::size_t k = 0; k < n; ++k) out = blocks_[inverted ? n - 1 - k : k]->initialize(out, c, inverted);
        return out;
    }

private:
    template <class X, class C>
    auto run(Direction direction, const X& x, const C& c) const
    {
        constexpr bool Conditional = has_condition<C>;
        if (Conditional != (condition_dim_ > 0))
            throw_usage_error("seq", "blocks built for a condition of ", condition_dim_, " features called ",
                              Conditional ? "with" : "without", " a condition");
        auto source = bind_operand(x);
        auto condition = [&] {
            if constexpr (Conditional) return bind_operand(c);
            else return NoCondition{};
        }();
        auto state = std::make_shared<detail::ChainState<T>>(blocks_, direction);
        auto y = make_var(detail::ChainKernel<T, Conditional, decltype(source), decltype(condition)>{
            state, source, condition, dim(), condition_dim_, parameters()});
        auto log_det = make_var(detail::ChainLogDetKernel<T, decltype(y)>{state, y});
        return Transformed{y, log_det};
    }

    std::vector<Element> blocks_;
    std::size_t condition_dim_;
};

// The element a block becomes in a chain: a chain's own blocks are spliced in (seq(seq(a, b), c) is
// the chain a, b, c), any other block is erased, for calls with a condition when Conditional.
template <bool Conditional, class Block>
void append_to_chain(std::vector<std::shared_ptr<const AnyBlock<typename Block::value_type>>>& chain, Block block,
                     std::size_t condition_dim)
{
    using T = typename Block::value_type;
    if constexpr (std::is_same_v<Block, Chain<T>>)
        chain.insert(chain.end(), block.blocks().begin(), block.blocks().end());
    else
        chain.push_back(std::make_shared<const ErasedBlock<Block, Conditional>>(std::move(block), condition_dim));
}

}  // namespace bijou::dsl
