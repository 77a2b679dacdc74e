// Zero: the log-determinant of a volume-preserving step, known to be 0 at compile time, so that
// additive couplings and permutations add no work to the log-det computation.
#pragma once

#include <utility>

namespace bijou::dsl {

struct Zero {};

template <class A, class B>
auto add_terms(A&& a, B&& b)
{
    using PA = std::remove_cvref_t<A>;
    using PB = std::remove_cvref_t<B>;
    if constexpr (std::is_same_v<PA, Zero>)
        return PB(std::forward<B>(b));
    else if constexpr (std::is_same_v<PB, Zero>)
        return PA(std::forward<A>(a));
    else
        return std::forward<A>(a) + std::forward<B>(b);
}

template <class A>
auto negate_terms(A&& a)
{
    if constexpr (std::is_same_v<std::remove_cvref_t<A>, Zero>)
        return Zero{};
    else
        return -std::forward<A>(a);
}

}  // namespace bijou::dsl
