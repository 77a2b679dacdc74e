// Type-level queries and rewrites on expression trees: how often x occurs, whether a subtree depends
// on x, and substitution of placeholders by real engine expressions.
#pragma once

#include <tuple>

#include <bijou/dsl/placeholder.hpp>
#include <bijou/engine/binary.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou::dsl {

// Number of occurrences of placeholder 0 (x) in a tree.
template <class E>
struct x_count : std::integral_constant<int, 0> {};
template <class T>
struct x_count<Placeholder<0, T>> : std::integral_constant<int, 1> {};
template <class Op, class C>
struct x_count<Unary<Op, C>> : x_count<C> {};
template <class Op, class L, class R>
struct x_count<Binary<Op, L, R>> : std::integral_constant<int, x_count<L>::value + x_count<R>::value> {};

template <class E>
inline constexpr bool depends_on_x = x_count<E>::value > 0;

// Replace every placeholder I by std::get<I>(args); every other leaf (constants, parameters the
// lambda captured) is kept.
template <class E, class Args>
auto substitute(const E& e, const Args& args)
{
    if constexpr (is_placeholder<E>::value)
        return std::get<E::index>(args);
    else
        return e;
}
template <class Op, class C, class Args>
auto substitute(const Unary<Op, C>& u, const Args& args)
{
    return make_unary(u.op, substitute(u.child, args));
}
template <class Op, class L, class R, class Args>
auto substitute(const Binary<Op, L, R>& b, const Args& args)
{
    auto left = substitute(b.left, args);
    auto right = substitute(b.right, args);
    return Binary<Op, decltype(left), decltype(right)>{b.op, left, right};
}

}  // namespace bijou::dsl
