// Expr: the concept every engine expression models.
//
// An expression is a tree of elementwise operations whose shape is its C++ type. It is evaluated
// lazily, one SIMD block at a time, inside the kernel of the `let` binding (or reduction) that consumes
// it, so a chain of elementwise operations costs one pass over memory.
//
// A model of Expr provides
//   value_type                      the scalar type (float or double)
//   shape()                         its shape once the program is bound (throws shape_error on mismatch)
//   view()                          a small value-semantic kernel view (see below), made per kernel run
//   for_each_source(f)              calls f(node) for every SourceNode edge, in a fixed order
//
// A view provides, for V = scalar or xsimd batch and a row/column position (r, c) of the output,
//   eval<V>(r, c)                   the value
//   cache<V>(r, c)                  the value and every intermediate value (member `value`)
//   backprop<V>(r, c, g, cache)     accumulate g * d(value)/d(source) into every source's adjoint
//   contiguous(cols)                true when every source is either full-width or a scalar, so a
//                                   rows x cols kernel may run as one flat loop
//   flatten()                       the same view indexed by flat position (0, r * cols + c)
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

#include <bijou/engine/tensor.hpp>

namespace bijou {

template <class E>
concept Expr = requires(const E& e) {
    typename std::remove_cvref_t<E>::value_type;
    { e.shape() } -> std::same_as<Shape>;
    e.view();
};

namespace detail {
template <class E>
using value_type_t = typename std::remove_cvref_t<E>::value_type;
}

}  // namespace bijou
