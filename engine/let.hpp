// let: materialise an elementwise expression into a Var.
//
//   auto h = let(relu(matmul(x, w) + b));   // one fused pass over memory
//
// Use `let` for a value needed more than once: an expression used twice without `let` is computed twice
// (correctly, but at twice the cost). Non-elementwise ops (matmul, sum, concat) bind their operands
// themselves, so `matmul(relu(h), w)` is fine as written.
#pragma once

#include <string>

#include <bijou/engine/expr.hpp>
#include <bijou/engine/kernels/elementwise.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

template <Expr E>
auto let(E&& e, std::string name = {})
{
    return make_var(Elementwise<std::remove_cvref_t<E>>{std::forward<E>(e)}, std::move(name));
}

// The operand of a non-elementwise kernel: sources pass through, expressions are bound first.
template <Expr E>
auto bind_operand(E&& e)
{
    using Plain = std::remove_cvref_t<E>;
    if constexpr (SourceExpr<Plain>)
        return Plain(std::forward<E>(e));
    else
        return let(std::forward<E>(e));
}

}  // namespace bijou
