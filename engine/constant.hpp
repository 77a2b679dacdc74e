// Constant: a scalar that broadcasts over any shape (the 2 in `2 * x`).
#pragma once

#include <bijou/engine/expr.hpp>
#include <bijou/engine/simd.hpp>

namespace bijou {

namespace detail {
template <class T>
struct ConstantView {
    T value;

    template <class V>
    struct Cache {
        V value;
    };

    template <class V>
    V eval(std::size_t, std::size_t) const
    {
        return V(value);
    }
    template <class V>
    Cache<V> cache(std::size_t, std::size_t) const
    {
        return {V(value)};
    }
    template <class V>
    void backprop(std::size_t, std::size_t, V, const Cache<V>&) const
    {
    }
    bool contiguous(std::size_t) const { return true; }
    ConstantView flatten() const { return *this; }
};
}  // namespace detail

template <class T>
struct Constant {
    using value_type = T;
    T value;

    Shape shape() const { return {1, 1}; }
    detail::ConstantView<T> view() const { return {value}; }
    template <class F>
    void for_each_source(F&&) const
    {
    }
};

}  // namespace bijou
