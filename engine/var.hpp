// Var: a value materialised by a kernel into its own buffer (with an adjoint), made by `let`, matmul,
// reductions and concatenation. A Var is the only way to share a value between several consumers:
// the backward pass sums the adjoints they push into it.
//
// The kernel is any type modelling Kernel (engine/kernel.hpp): value_type, name, shape(), forward(node),
// backward(node), for_each_source(f).
#pragma once

#include <memory>

#include <bijou/engine/kernel.hpp>
#include <bijou/engine/source_ref.hpp>

namespace bijou {

template <class T, class Kernel>
struct VarNode : SourceNode<T> {
    explicit VarNode(Kernel k) : kernel(std::move(k)) {}

    Kernel kernel;
    int pending = 0;  // consumers that have not yet pushed their adjoint in this backward pass
};

template <class Kernel>
using Var = SourceRef<VarNode<typename Kernel::value_type, Kernel>>;

template <class Kernel>
Var<Kernel> make_var(Kernel kernel, std::string name = {})
{
    static_assert(bijou::Kernel<Kernel>, "make_var: the kernel must provide value_type, a static name, shape(), "
                                         "forward(node) and backward(node) (engine/kernel.hpp)");
    auto node = std::make_shared<VarNode<typename Kernel::value_type, Kernel>>(std::move(kernel));
    node->name = std::move(name);
    return Var<Kernel>(std::move(node));
}

namespace detail {
template <class N>
struct is_var_node : std::false_type {};
template <class T, class K>
struct is_var_node<VarNode<T, K>> : std::true_type {};
template <class N>
inline constexpr bool is_var_node_v = is_var_node<std::remove_cvref_t<N>>::value;

template <class E>
struct is_source_ref : std::false_type {};
template <class N>
struct is_source_ref<SourceRef<N>> : std::true_type {};
}  // namespace detail

// A reference to a whole source (an input, a parameter or a Var), which kernels that need contiguous
// operands (matmul) can read in place.
template <class E>
concept SourceExpr = requires(const E& e) {
    { e.node_ptr() };
    { e.col_begin() };
};

}  // namespace bijou
