// Mapping: the domain and codomain of a block spec, known at compile time, and the checks the
// combinators make with them.
//
//   seq(b1, ..., bn)     codomain(b_i) must lie inside domain(b_i+1)
//   repeat(n, b)         codomain(b) inside domain(b)
//   inverse(b)           domain and codomain swapped
//   make_flow<T, S>      the declared data support S inside domain(flow), and codomain(flow) the real line
//                        (the Gaussian base's support)
// A spec declares its mapping with `static constexpr Mapping mapping()`; a spec without one maps the
// real line onto itself (linear maps, ActNorm, couplings with real-line transforms, splines with linear
// tails). A permutation maps any box onto itself: it declares `preserves`. Intervals are the same for
// every feature.
#pragma once

#include <cstddef>

#include <bijou/dsl/domain.hpp>
#include <bijou/dsl/interval.hpp>

namespace bijou::dsl {

struct Mapping {
    Interval domain = real_line;
    Interval codomain = real_line;
    bool preserves = false;  // maps whatever interval it is given onto itself (a permutation)
};

// A spec's name in messages: `static constexpr const char* label` if it has one.
template <class Spec>
constexpr const char* label_of()
{
    if constexpr (requires { Spec::label; }) return Spec::label;
    else return "block";
}

template <class Spec>
constexpr Mapping mapping_of()
{
    if constexpr (requires { Spec::mapping(); }) return Spec::mapping();
    else return {};
}

// The result of composing specs, with the first mismatch.
struct Composition {
    Mapping mapping;
    bool failed = false;
    Text<> message;
};

// b1, then b2, ...: each block must accept what the blocks before it map onto.
template <class... Specs>
constexpr Composition compose(const char* combinator)
{
    constexpr std::size_t n = sizeof...(Specs);
    const Mapping blocks[] = {mapping_of<Specs>()...};
    const char* labels[] = {label_of<Specs>()...};
    Composition result;
    std::size_t first = n;  // the first block that does not merely preserve its input
    for (std::size_t k = 0; k < n; ++k)
        if (!blocks[k].preserves) {
            first = k;
            break;
        }
    if (first == n) {
        result.mapping.preserves = true;
        return result;
    }
    Interval current = blocks[first].domain;
    std::size_t previous = first;
    for (std::size_t k = first; k < n; ++k) {
        if (blocks[k].preserves) continue;
        if (!inside(current, blocks[k].domain)) {
            result.failed = true;
            result.message << combinator << ": block " << double(k + 1) << " (" << labels[k] << ") is defined on "
                           << blocks[k].domain << ", but block " << double(previous + 1) << " (" << labels[previous]
                           << ") before it maps onto " << current << ", which is not inside it";
            return result;
        }
        current = blocks[k].codomain;
        previous = k;
    }
    result.mapping = {blocks[first].domain, current, false};
    return result;
}

// A block composed with itself (repeat).
template <class Spec>
constexpr Composition compose_repeated()
{
    constexpr Mapping m = mapping_of<Spec>();
    Composition result{m, false, {}};
    if (!m.preserves && !inside(m.codomain, m.domain)) {
        result.failed = true;
        result.message << "repeat: the block (" << label_of<Spec>() << ") maps onto " << m.codomain
                       << ", which is not inside its own domain " << m.domain << ", so it cannot follow itself";
    }
    return result;
}

// What make_flow checks: a flow for data in `support` with a standard normal base.
template <class Spec>
constexpr Composition flow_mapping(const Interval& support)
{
    constexpr Mapping m = mapping_of<Spec>();
    Composition result{m, false, {}};
    if (m.preserves) {
        result.mapping = {support, support, false};
        if (!support.is_real_line()) {
            result.failed = true;
            result.message << "make_flow: the flow only permutes features, so it maps the support " << support
                           << " onto itself, but its Gaussian base needs the real line";
        }
        return result;
    }
    if (!inside(support, m.domain)) {
        result.failed = true;
        result.message << "make_flow: the data support " << support << " is not inside the domain " << m.domain
                       << " of the flow (" << label_of<Spec>()
                       << "); declare the support of the data, e.g. make_flow<float, dsl::closed_interval(0, 1)>(...)";
    } else if (!m.codomain.is_real_line()) {
        result.failed = true;
        result.message << "make_flow: the flow (" << label_of<Spec>() << ") maps onto " << m.codomain
                       << ", but its Gaussian base needs the real line; end it with a block onto the real line "
                          "(e.g. flows::logit_layer after a sigmoid)";
    }
    return result;
}

}  // namespace bijou::dsl
