// Program: one or more outputs of a graph, bound to a batch size and run forward and backward.
//
//   Input<float> x(64, "x");
//   auto loss = mean(square(net(x) - y));
//   Program program(loss);
//   program.bind(256);        // allocates every buffer, once
//   x.set(batch);             // copies the data in
//   program.forward();        // runs the bindings in order
//   program.backward();       // d(loss)/d(parameters), accumulated into each parameter's gradient
//
// After bind, forward and backward allocate nothing; rebinding to the same batch size is free.
// A program that only evaluates (log-densities, samples, validation losses) is bound with
// Gradients::off: it keeps no adjoint buffers, and the seq chains in it run their blocks in chunks of
// rows (dsl/chain.hpp), so an evaluation of thousands of rows holds chunk-sized intermediates.
#pragma once

#include <algorithm>
#include <memory>
#include <tuple>
#include <unordered_set>
#include <vector>

#include <bijou/engine/gemm/workspace.hpp>
#include <bijou/engine/graph.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/param.hpp>

namespace bijou {

namespace detail {
// A reference to a Var. (A concept, so that the second clause is not even formed for a type without
// node_type: inside a plain `if constexpr` condition it would be a hard error.)
template <class E>
concept VarRef = requires { typename E::node_type; } && is_var_node_v<typename E::node_type>;

// A program output must own its buffer: a Var passes through, anything else is bound with `let`.
template <class E>
auto as_output(E&& e)
{
    using Plain = std::remove_cvref_t<E>;
    if constexpr (VarRef<Plain>) {
        if (e.is_slice()) throw_usage_error("program", "an output must be a whole value: wrap the slice in let(...)");
        return Plain(std::forward<E>(e));
    } else {
        return let(std::forward<E>(e));
    }
}
template <class E>
using output_t = decltype(as_output(std::declval<E>()));
}  // namespace detail

// Whether a bound program can run backward.
enum class Gradients { on, off };

template <class... Outputs>
class Program {
    static_assert(sizeof...(Outputs) >= 1, "bijou: a Program needs at least one output");

public:
    using value_type = detail::value_type_t<std::tuple_element_t<0, std::tuple<Outputs...>>>;
    using T = value_type;

    template <class... Es>
    explicit Program(Es&&... outputs) : outputs_(detail::as_output(std::forward<Es>(outputs))...)
    {
    }

    // Sizes every buffer for `batch` rows of input. Throws shape_error naming the op whose operand
    // shapes disagree. With Gradients::off no value of the graph keeps an adjoint and backward() is
    // refused. (Values the program shares with another program, its inputs and parameters, keep theirs.)
    void bind(std::size_t batch, Gradients gradients = Gradients::on)
    {
        if (batch == 0) throw_usage_error("program", "cannot bind to a batch of 0 rows");
        const auto epoch = detail::next_epoch();
        const bool with_gradients = gradients == Gradients::on;
        for_each_output([&](auto& node) { detail::bind_node(node, batch, epoch, with_gradients); });
        detail::gemm_kernels::gemm_workspace<T>();  // this thread's packing buffers, so no step allocates them
        batch_ = batch;
        gradients_ = gradients;
    }

    std::size_t batch() const { return batch_; }
    Gradients gradients() const { return gradients_; }

    void forward()
    {
        require_bound("forward");
        const auto epoch = detail::next_epoch();
        for_each_output([&](auto& node) { detail::forward_node(node, epoch); });
    }

    // Backpropagates d(output 0)/d(.) into every parameter's gradient (and inputs that asked for one).
    // Output 0 must be a scalar (1 x 1); use backward_from(seeds...) for other outputs.
    void backward()
    {
        require_gradients("backward");
        auto& first = std::get<0>(outputs_).node();
        if (first.shape() != Shape{1, 1})
            throw_usage_error("program", "backward() needs a scalar (1 x 1) first output, got ", first.shape(),
                              "; pass one seed per output to backward_from()");
        prepare();
        if (!first.needs_adjoint) return;  // nothing it depends on wants a gradient (and no adjoint exists)
        first.adjoint(0, 0) = T(1);
        sweep();
    }

    // Backpropagates sum_i <seed_i, output_i>: seed i is d(loss)/d(output i), one per output.
    template <class... Seeds>
        requires(sizeof...(Seeds) == sizeof...(Outputs))
    void backward_from(const Seeds&... seeds)
    {
        require_gradients("backward_from");
        prepare();
        std::size_t i = 0;
        auto seed_one = [&](auto& node, const auto& seed) {
            if (seed.dimension() != 2 || seed.shape()[0] != node.shape().rows || seed.shape()[1] != node.shape().cols)
                throw_shape_error("program", "the seed for output ", i, " must have its shape ", node.shape());
            // Added, not copied: an output listed twice receives both seeds (prepare() zeroed it).
            if (node.needs_adjoint)
                std::transform(seed.begin(), seed.end(), node.adjoint.begin(), node.adjoint.begin(),
                               [](auto s, T a) { return a + T(s); });
            ++i;
        };
        std::apply([&](auto&... out) { (seed_one(out.node(), seeds), ...); }, outputs_);
        sweep();
    }

    template <std::size_t I = 0>
    const Tensor<T>& value() const
    {
        return std::get<I>(outputs_).node().value;
    }
    template <std::size_t I = 0>
    auto output() const
    {
        return std::get<I>(outputs_);
    }

    const std::tuple<Outputs...>& outputs_tuple() const { return outputs_; }

    // Every parameter the outputs depend on, each once, in a fixed order.
    std::vector<Param<T>> parameters() const
    {
        std::vector<Param<T>> found;
        std::unordered_set<const void*> seen;
        const auto epoch = detail::next_epoch();
        auto post = [&](auto& n) {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(n)>, ParamNode<T>>) {
                if (seen.insert(&n).second) found.emplace_back(Param<T>::from_node(n.shared_from_this()));
            }
        };
        std::apply([&](const auto&... out) { (detail::visit(out.node(), epoch, post), ...); }, outputs_);
        return found;
    }

    void zero_grad() const
    {
        for (auto& p : parameters()) p.zero_grad();
    }

private:
    void require_bound(const char* what) const
    {
        if (batch_ == 0) throw_usage_error("program", what, "() called before bind(batch)");
    }
    void require_gradients(const char* what) const
    {
        require_bound(what);
        if (gradients_ == Gradients::off)
            throw_usage_error("program", what, "() on a program bound with Gradients::off; bind(", batch_,
                              ") to differentiate it");
    }

    template <class F>
    void for_each_output(F&& f)
    {
        std::apply([&](auto&... out) { (f(out.node()), ...); }, outputs_);
    }

    void prepare()
    {
        const auto epoch = detail::next_epoch();
        for_each_output([&](auto& node) { detail::prepare_backward(node, epoch); });
    }

    // Outputs consumed by no other node start the sweep; the others are reached through their consumers.
    void sweep()
    {
        for_each_output([&](auto& node) {
            if (node.pending == 0) detail::backward_node(node);
        });
    }

    std::tuple<Outputs...> outputs_;
    std::size_t batch_ = 0;
    Gradients gradients_ = Gradients::on;
};

template <class... Es>
Program(Es&&...) -> Program<detail::output_t<Es>...>;

}  // namespace bijou
