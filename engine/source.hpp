// SourceNode: storage for one value of a program and its adjoint.
//
// Inputs, parameters and `let` bindings are all sources: expressions read them through a pointer, and
// the backward pass accumulates into their adjoint buffers. The graph traversal (graph.hpp) marks a
// node visited by stamping it with the traversal's epoch, so each shared node is visited once.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <bijou/engine/tensor.hpp>

namespace bijou {

template <class T>
struct SourceNode {
    using value_type = T;

    Tensor<T> value;
    Tensor<T> adjoint;  // d(output)/d(value); allocated only when some gradient flows here
    bool needs_adjoint = false;
    std::string name;
    std::uint64_t stamp = 0;

    Shape shape() const { return shape_of(value); }

    // Reallocates only when the shape changes, so rebinding to the same batch size is free. An adjoint
    // no longer needed (a program rebound without gradients) is released.
    void resize(Shape s)
    {
        if (shape() != s) value = Tensor<T>::from_shape({s.rows, s.cols});
        if (needs_adjoint && shape_of(adjoint) != s) adjoint = xt::zeros<T>({s.rows, s.cols});
        if (!needs_adjoint && adjoint.size() != 0) adjoint = Tensor<T>::from_shape({0, 0});
    }
};

namespace detail {
// Each traversal of a graph takes a fresh epoch, so stamps from earlier traversals never collide.
inline std::uint64_t next_epoch()
{
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
}
}  // namespace detail

}  // namespace bijou
