// inverse_multiquadric(d, terms): a multi-scale inverse multiquadric kernel, as a function of the
// squared distance d = |u - v|^2 >= 0, applied elementwise:
//
//   k(d) = sum_t C_t^a_t ((C_t + d) / a_t)^(-a_t) = sum_t (a_t C_t)^a_t (C_t + d)^(-a_t)
//   k'(d) = sum_t -a_t (a_t C_t)^a_t (C_t + d)^(-a_t - 1)
//
// With a = 1 a term is 1 / (1 + d / C): the inverse multiquadric of width h = sqrt(C). A larger
// exponent a makes the tails lighter. Summing terms over several widths gives a kernel that sees
// structure at several scales, the form used for the MMD losses of Ardizzone et al. (2019).
//
// The terms are run-time values (at most max_terms of them) carried in the op, so one expression type
// serves any set of scales. Exponents 1 and 2 take a division instead of exp(-a log(C + d)).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

#include <bijou/engine/error.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/unary.hpp>

namespace bijou {

// One scale of the kernel: C^a ((C + d) / a)^(-a). C > 0 sets the width (C = h^2), a > 0 the tails.
struct MultiquadricTerm {
    double scale = 1;     // C
    double exponent = 1;  // a
};

namespace ops {
template <class T>
struct inverse_multiquadric {
    static constexpr const char* name = "inverse_multiquadric";
    static constexpr std::size_t max_terms = 8;

    struct Term {
        T scale;        // C
        T exponent;     // a
        T coefficient;  // (a C)^a
    };
    std::array<Term, max_terms> terms{};
    std::size_t count = 0;

    template <class V>
    V value(V d) const
    {
        V total = simd::splat<V>(0);
        for (std::size_t t = 0; t < count; ++t) total += term(terms[t], V(terms[t].scale) + d);
        return total;
    }
    template <class V>
    V derivative(V d, V) const
    {
        V total = simd::splat<V>(0);
        for (std::size_t t = 0; t < count; ++t) {
            const V base = V(terms[t].scale) + d;
            total -= V(terms[t].exponent) * term(terms[t], base) / base;
        }
        return total;
    }

private:
    // (a C)^a base^(-a)
    template <class V>
    static V term(const Term& t, V base)
    {
        if (t.exponent == T(1)) return V(t.coefficient) / base;
        if (t.exponent == T(2)) return V(t.coefficient) / (base * base);
        if constexpr (simd::is_batch<V>)
            return V(t.coefficient) * xsimd::exp(V(-t.exponent) * xsimd::log(base));
        else
            return t.coefficient * std::exp(-t.exponent * std::log(base));
    }
};
}  // namespace ops

template <Expr E>
auto inverse_multiquadric(E&& squared_distance, std::span<const MultiquadricTerm> terms)
{
    using T = detail::value_type_t<E>;
    using Op = ops::inverse_multiquadric<T>;
    if (terms.empty() || terms.size() > Op::max_terms)
        throw_usage_error("inverse_multiquadric", "needs 1 to ", Op::max_terms, " terms, got ", terms.size());
    Op op;
    for (const MultiquadricTerm& t : terms) {
        if (!(t.scale > 0) || !(t.exponent > 0) || !std::isfinite(t.scale) || !std::isfinite(t.exponent))
            throw_usage_error("inverse_multiquadric", "each term needs a scale C > 0 and an exponent a > 0, got C = ",
                              t.scale, ", a = ", t.exponent);
        op.terms[op.count++] = {T(t.scale), T(t.exponent), T(std::pow(t.exponent * t.scale, t.exponent))};
    }
    return make_unary(op, std::forward<E>(squared_distance));
}

}  // namespace bijou
