// initialize(block, batch[, condition]): data-dependent initialisation (Kingma & Dhariwal 2018, Glow),
// e.g. ActNorm choosing its shift and scale so that its output on a first batch has zero mean and unit
// variance per feature.
//
//   Tensor<double> z = dsl::initialize(block, batch);    // sets parameters; returns block's output
//
// The walk:
//   seq(b1, ..., bn)      initialises b1 on the batch, b2 on b1's output, ..., in order (likewise
//                         repeat(n, spec), repeat<N>(spec) and fused(...))
//   a block with data_init(batch) (or data_init(batch, condition)) initialises itself, then runs
//   inverse(seq(...))     its forward is inv(bn) ... inv(b1): each inv(bk) is initialised in that order
//   inverse(b)            b.data_init_inverse(batch) if b has one (it then makes b's inverse pass
//                         normalise), otherwise it is just run; inverse(inverse(b)) is b
//   conditional(spec, ...) the blocks inside are initialised with the condition features they read
//                         (the condition itself, or the condition network's output)
//   any other block       is just run forward: a Program on an Input, bound to the batch
// and each step returns its output on the batch, which the next step reads.
//
// Flow calls this once on a first batch of training data before training (Flow::initialize). Every
// step builds and binds a small program, so initialisation allocates; it is meant to run once.
#pragma once

#include <cstddef>
#include <tuple>
#include <utility>

#include <xtensor/xmanipulation.hpp>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/fused.hpp>
#include <bijou/dsl/inverse.hpp>

namespace bijou::dsl {

namespace detail {

template <class B>
using block_tensor = Tensor<typename B::value_type>;

template <class B>
struct is_fused : std::false_type {};
template <class... Bs>
struct is_fused<Fused<Bs...>> : std::true_type {};

template <class B>
struct is_inverse : std::false_type {};
template <class B>
struct is_inverse<Inverse<B>> : std::true_type {};

// A composition that walks its own blocks (Chain, dsl/chain.hpp, whose blocks are behind a run-time
// interface): initialize_walk(batch, condition, inverted).
template <class B, class Condition>
concept WalksItsBlocks = requires(const B& b, const block_tensor<B>& x, const Condition& c) {
    { b.initialize_walk(x, c, true) } -> std::convertible_to<block_tensor<B>>;
};

template <class B>
struct is_conditional_wrapper : std::false_type {};
template <class Inner, class Net>
struct is_conditional_wrapper<Conditional<Inner, Net>> : std::true_type {};


// The condition of a conditional initialisation: one row per batch row.
template <class T>
struct ConditionBatch {
    Tensor<T> value;
};

template <class B, class Condition>
concept InitialisesItself = requires(const B& b, const block_tensor<B>& x) { b.data_init(x); };
template <class B, class Condition>
concept InitialisesItselfGiven = requires(const B& b, const block_tensor<B>& x, const Condition& c) {
    b.data_init(x, c.value);
};
template <class B>
concept InitialisesItsInverse = requires(const B& b, const block_tensor<B>& x) { b.data_init_inverse(x); };

// Runs one direction of a block on a batch and returns its output.
template <bool Inverted, class B, class Condition>
block_tensor<B> run_block(const B& block, const block_tensor<B>& batch, const Condition& condition)
{
    using T = typename B::value_type;
    Input<T> x(block.dim(), "initialize.x");
    auto run = [&](const auto& c) {
        auto step = [&] {
            if constexpr (Inverted)
                return block.inverse(x, c);
            else
                return block.forward(x, c);
        }();
        return let(step.value);
    };
    if constexpr (std::is_same_v<Condition, NoCondition>) {
        Program program(run(NoCondition{}));
        program.bind(batch.shape()[0], Gradients::off);
        x.set(batch);
        program.forward();
        return program.value();
    } else {
        Input<T> c(condition.value.shape()[1], "initialize.condition");
        // c is an output too, so that it is bound even when no block of this step reads it.
        Program program(run(c), c);
        program.bind(batch.shape()[0], Gradients::off);
        x.set(batch);
        c.set(condition.value);
        program.forward();
        return program.template value<0>();
    }
}

// The condition features the blocks inside conditional(...) read: c itself, or condition_net(c).
template <class T, class Inner, class Net>
ConditionBatch<T> condition_features(const Conditional<Inner, Net>& block, const ConditionBatch<T>& condition)
{
    if constexpr (std::is_same_v<Net, IdentityConditionNet>) {
        return condition;
    } else if constexpr (requires { block.condition_net(); }) {
        Input<T> c(condition.value.shape()[1], "initialize.condition");
        Program program(let(block.condition_net()(c)));
        program.bind(condition.value.shape()[0], Gradients::off);
        c.set(condition.value);
        program.forward();
        return {program.value()};
    } else {
        throw_usage_error("dsl::initialize", "the blocks inside conditional(...) with a condition network cannot "
                                             "be reached: Conditional does not expose its condition network");
        return condition;
    }
}

// A block that initialisation passes through to the blocks inside it, rather than running it as a whole.
template <class B, class Condition>
inline constexpr bool initialised_through_its_parts = WalksItsBlocks<B, Condition> || is_fused<B>::value ||
                                                      is_inverse<B>::value || is_conditional_wrapper<B>::value;

// A leaf block's own initialisation, before it runs on the batch: data_init in its forward direction,
// data_init_inverse when it runs inverted (inside inverse(...)).
template <class B, class Condition>
void initialise_leaf(const B& block, const block_tensor<B>& batch, const Condition& condition, bool inverted)
{
    if (inverted) {
        if constexpr (InitialisesItsInverse<B>) block.data_init_inverse(batch);
    } else if constexpr (InitialisesItselfGiven<B, Condition>) {
        block.data_init(batch, condition.value);
    } else if constexpr (InitialisesItself<B, Condition>) {
        block.data_init(batch);
    }
}

template <class B, class Condition>
block_tensor<B> initialize_block(const B& block, const block_tensor<B>& batch, const Condition& condition);
template <class B, class Condition>
block_tensor<B> initialize_inverse_of(const B& inner, const block_tensor<B>& batch, const Condition& condition);

template <class B, class Condition>
block_tensor<B> initialize_block(const B& block, const block_tensor<B>& batch, const Condition& condition)
{
    if constexpr (WalksItsBlocks<B, Condition>) {
        return block.initialize_walk(batch, condition, false);
    } else if constexpr (is_fused<B>::value) {
        block_tensor<B> out = batch;
        std::apply([&](const auto&... child) { ((out = initialize_block(child, out, condition)), ...); },
                   block.blocks());
        return out;
    } else if constexpr (is_inverse<B>::value) {
        return initialize_inverse_of(block.block(), batch, condition);
    } else if constexpr (is_conditional_wrapper<B>::value) {
        static_assert(!std::is_same_v<Condition, NoCondition>,
                      "bijou dsl: initialise a conditional block with its condition: "
                      "dsl::initialize(block, batch, condition)");
        return initialize_block(block.inner(), batch, condition_features(block, condition));
    } else {
        initialise_leaf(block, batch, condition, false);
        return run_block<false>(block, batch, condition);
    }
}

// Initialises inverse(inner), whose forward is inner's inverse.
template <class B, class Condition>
block_tensor<B> initialize_inverse_of(const B& inner, const block_tensor<B>& batch, const Condition& condition)
{
    if constexpr (WalksItsBlocks<B, Condition>) {
        return inner.initialize_walk(batch, condition, true);
    } else if constexpr (is_fused<B>::value) {  // inv(fused(b1..bn)) runs inv(bn) first
        block_tensor<B> out = batch;
        const auto& children = inner.blocks();
        constexpr std::size_t n = std::tuple_size_v<std::remove_cvref_t<decltype(children)>>;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((out = initialize_inverse_of(std::get<n - 1 - I>(children), out, condition)), ...);
        }(std::make_index_sequence<n>{});
        return out;
    } else if constexpr (is_inverse<B>::value) {  // inv(inv(b)) = b
        return initialize_block(inner.block(), batch, condition);
    } else {
        initialise_leaf(inner, batch, condition, true);
        return run_block<true>(inner, batch, condition);
    }
}

template <class B>
void check_batch(const B& block, const block_tensor<B>& batch)
{
    if (batch.shape()[1] != block.dim() || batch.shape()[0] == 0)
        throw_shape_error("dsl::initialize", "expected a batch with ", block.dim(),
                          " columns and at least one row, got ", shape_of(batch));
}

}  // namespace detail

// Initialises `block` on `batch` (B x D) and returns the block's output on it (B x D).
template <class B>
Tensor<typename B::value_type> initialize(const B& block, const Tensor<typename B::value_type>& batch)
{
    detail::check_batch(block, batch);
    return detail::initialize_block(block, batch, NoCondition{});
}

// The same for a conditional block, with one condition row per batch row (B x C) or one for all (1 x C).
template <class B>
Tensor<typename B::value_type> initialize(const B& block, const Tensor<typename B::value_type>& batch,
                                          const Tensor<typename B::value_type>& condition)
{
    detail::check_batch(block, batch);
    const std::size_t rows = batch.shape()[0];
    if (condition.shape()[0] != rows && condition.shape()[0] != 1)
        throw_shape_error("dsl::initialize", "the condition ", shape_of(condition),
                          " needs one row per batch row, or one row for all, for the batch ", shape_of(batch));
    using T = typename B::value_type;
    detail::ConditionBatch<T> rowwise{condition};
    if (condition.shape()[0] != rows) rowwise.value = xt::repeat(condition, rows, 0);  // one shared condition
    return detail::initialize_block(block, batch, rowwise);
}

}  // namespace bijou::dsl
