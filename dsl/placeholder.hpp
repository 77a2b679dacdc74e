// Placeholder: a symbolic argument of an elementwise transform. Calling the user's lambda with
// placeholders instead of data gives the transform's expression tree as a type (and its constants as
// values), which the DSL then inverts and differentiates. Placeholder 0 is x; 1, 2, ... are the
// parameters (e.g. s and t of an affine coupling).
#pragma once

#include <cstddef>

#include <bijou/engine/error.hpp>
#include <bijou/engine/expr.hpp>
#include <bijou/engine/source_ref.hpp>

namespace bijou::dsl {

template <std::size_t I, class T>
struct Placeholder {
    using value_type = T;
    static constexpr std::size_t index = I;

    // A placeholder is never evaluated: the DSL substitutes real expressions before anything runs.
    Shape shape() const { throw_usage_error("dsl", "a placeholder was evaluated; substitute it first"); }
    bijou::detail::LeafView<T> view() const { throw_usage_error("dsl", "a placeholder was evaluated; substitute it first"); }
    template <class F>
    void for_each_source(F&&) const
    {
    }
};

template <class E>
struct is_placeholder : std::false_type {};
template <std::size_t I, class T>
struct is_placeholder<Placeholder<I, T>> : std::true_type {};

}  // namespace bijou::dsl
