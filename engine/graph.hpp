// Graph traversal: the compile-time Wengert list.
//
// A program's graph is the type of its outputs: every Var holds its kernel, every kernel holds its
// operands by value, and operands reach the nodes they read. `visit` walks that type depth-first,
// operands before consumers, and so runs the bindings in a topological order that the compiler fixes;
// a node shared by several consumers is visited once (it carries the epoch of the walk that last saw
// it). There is no tape and no virtual call: each step below is a direct, inlinable call.
#pragma once

#include <cstdint>

#include <bijou/engine/var.hpp>

namespace bijou::detail {

template <class Node, class Post>
void visit(Node& node, std::uint64_t epoch, Post& post)
{
    if (node.stamp == epoch) return;
    node.stamp = epoch;
    if constexpr (is_var_node_v<Node>) node.kernel.for_each_source([&](auto& source) { visit(source, epoch, post); });
    post(node);
}

// Bind: size every buffer for the batch and decide where adjoints are needed (nowhere among the Vars
// when the program is bound without gradients).
template <class Node>
void bind_node(Node& node, std::size_t batch, std::uint64_t epoch, bool gradients)
{
    auto post = [batch, gradients](auto& n) {
        using N = std::remove_cvref_t<decltype(n)>;
        if constexpr (is_var_node_v<N>) {
            bool needs = false;
            if (gradients) n.kernel.for_each_source([&](auto& s) { needs = needs || s.needs_adjoint; });
            n.needs_adjoint = needs;
            n.resize(n.kernel.shape());
        } else if constexpr (requires { n.cols; }) {  // an Input: its rows are the batch
            n.resize({batch, n.cols});
        }
    };
    visit(node, epoch, post);
}

template <class Node>
void forward_node(Node& node, std::uint64_t epoch)
{
    auto post = [](auto& n) {
        if constexpr (is_var_node_v<decltype(n)>) n.kernel.forward(n);
    };
    visit(node, epoch, post);
}

// Before a backward pass: clear the adjoints of Vars and Inputs (parameter gradients accumulate until
// the optimizer consumes them) and arm each Var's count of consumers still to report. The count is
// taken here, over this program's graph, rather than kept from bind: a Var shared with another
// program has that program's consumers too.
template <class Node>
void prepare_backward(Node& node, std::uint64_t epoch)
{
    auto post = [](auto& n) {
        using N = std::remove_cvref_t<decltype(n)>;
        if constexpr (is_var_node_v<N>) {
            n.pending = 0;  // its consumers come later in this walk and count themselves in
            n.kernel.for_each_source([](auto& s) {
                if constexpr (is_var_node_v<decltype(s)>) ++s.pending;
            });
            if (n.needs_adjoint) n.adjoint.fill(typename N::value_type(0));
        } else if constexpr (requires { n.cols; }) {
            if (n.needs_adjoint) n.adjoint.fill(typename N::value_type(0));
        }
    };
    visit(node, epoch, post);
}

// Reverse sweep: a Var pushes its adjoint into its operands once every consumer has pushed into it,
// so each binding runs after all of its consumers, the reverse of the forward order.
template <class Node>
void backward_node(Node& node)
{
    if constexpr (is_var_node_v<Node>) {
        node.pending = -1;  // done: an output also reached through a consumer is not swept twice
        if (!node.needs_adjoint) return;
        node.kernel.backward(node);
        node.kernel.for_each_source([](auto& source) {
            if constexpr (is_var_node_v<decltype(source)>) {
                if (--source.pending == 0) backward_node(source);
            }
        });
    }
}

}  // namespace bijou::detail
