// Kernel: the engine's extension point for an op with its own derivatives. The library's own non-
// elementwise ops (matmul, reductions, concatenation, convolutions) are kernels, and so are the kernels
// that live in flows/ beside the blocks that use them (the rational-quadratic spline, the MMD's pairwise
// mean and multiquadric; docs/design.md, "Kernels live with their blocks"): code outside the engine adds
// an op the same way the engine does.
//
// A kernel K provides
//   value_type                      the scalar type
//   name                            the op's name, for error messages (static constexpr const char*)
//   shape()                         the output's shape, checking the operands' (throw_shape_error naming it)
//   forward(node)                   fill node.value (node: SourceNode<value_type>, sized to shape())
//   backward(node)                  push node.adjoint into its operands' adjoints (node.adjoint is valid)
//   for_each_source(f)              f(source node) for each operand, so the graph can order the passes
// and is made a value of a program by make_var(kernel) (engine/var.hpp). Its operands are sources
// (Inputs, Params, Vars): bind_operand(e) (engine/let.hpp) turns any expression into one, materialising
// an elementwise expression once. An elementwise op with its own derivative is simpler still: a struct
// with value(v) and derivative(v, value) used through engine/unary.hpp (e.g. flows/multiquadric.hpp).
//
//   struct Cube { using value_type = T; static constexpr const char* name = "cube"; SourceRef<...> x; ... };
//   auto y = make_var(Cube{bind_operand(x)});
//
// Each kernel's gradients are checked against finite differences in double by its test (the engine's in
// tests/engine, the flows' in tests/flows), as for every op.
#pragma once

#include <concepts>

#include <bijou/engine/source.hpp>

namespace bijou {

template <class K>
concept Kernel = requires(const K& k, SourceNode<typename K::value_type>& node) {
    typename K::value_type;
    { K::name } -> std::convertible_to<const char*>;
    k.shape();
    k.forward(node);
    k.backward(node);
};

}  // namespace bijou
