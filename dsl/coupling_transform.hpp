// CouplingTransform: what a coupling applies to its transformed features x_b (B x w), given the
// conditioner's output p (B x parameter_columns(w)) computed from the untouched features.
//
//   std::size_t parameter_columns(std::size_t w) const;
//   forward(x_b, p)  -> Transformed{y_b, log|det dy_b/dx_b|  (B x 1, or Zero)}
//   inverse(y_b, p)  -> Transformed{x_b, log|det dx_b/dy_b|}
// Laws: inverse(forward(x_b, p).value, p).value == x_b and the two log-dets are opposite; all-zero p
// should give the identity, since conditioners start with a zero last layer.
//
// Any dsl::elementwise rule is a coupling transform: ElementwiseCouplingTransform hands each of its
// parameters a block of w columns of p (affine: s = p[:, 0:w], t = p[:, w:2w]). Transforms that are not
// elementwise rules (the rational-quadratic spline, GIN's volume-preserving affine) model the concept
// directly. Shapes are only known once a program is bound, so a transform that slices p by w when the
// graph is built provides `with_width(w)`, which the coupling calls when it is built.
#pragma once

#include <concepts>
#include <utility>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/elementwise.hpp>

namespace bijou::dsl {

template <class Tr>
concept CouplingTransform = std::copy_constructible<Tr> && requires(const Tr& t, std::size_t w) {
    { t.parameter_columns(w) } -> std::convertible_to<std::size_t>;
};

template <class F>
struct ElementwiseCouplingTransform {
    Elementwise<F> rule;
    std::size_t width = 0;  // w, set by with_width

    ElementwiseCouplingTransform with_width(std::size_t w) const { return {rule, w}; }

    // Its domain and codomain, from the domain analysis of the rule (dsl/domain.hpp).
    static constexpr auto transform_mapping() { return Elementwise<F>::template transform_mapping<double>(); }

    template <class T>
    static constexpr std::size_t parameters_per_feature = Elementwise<F>::template parameter_count<T>;

    // Only the scalar type's arity matters; double stands for both (the rule is generic).
    std::size_t parameter_columns(std::size_t w) const { return parameters_per_feature<double> * w; }

    template <class X, class P>
    auto forward(const X& x_b, const P& p) const
    {
        return with_parameters<X>(p, [&](const auto&... params) {
            return Transformed{rule.forward(x_b, params...), sum_features(rule.log_abs_det(x_b, params...))};
        });
    }

    template <class Y, class P>
    auto inverse(const Y& y_b, const P& p) const
    {
        return with_parameters<Y>(p, [&](const auto&... params) {
            auto x_b = let(rule.inverse(y_b, params...));
            return Transformed{x_b, negate_terms(sum_features(rule.log_abs_det(x_b, params...)))};
        });
    }

private:
    // Calls f with p's column blocks, one of width w per parameter of the rule.
    template <class X, class P, class G>
    auto with_parameters(const P& p, G&& f) const
    {
        using T = bijou::detail::value_type_t<X>;
        constexpr std::size_t n = parameters_per_feature<T>;
        const std::size_t w = width;
        return [&]<std::size_t... K>(std::index_sequence<K...>) { return f(p.slice(K * w, (K + 1) * w)...); }(
            std::make_index_sequence<n>{});
    }
};

// The coupling transform of an elementwise rule (and identity for transforms already modelling it).
template <class F>
ElementwiseCouplingTransform<F> as_coupling_transform(const Elementwise<F>& rule)
{
    static_assert(Elementwise<F>::template parameter_count<double> >= 1,
                  "bijou dsl: a coupling transform needs at least one parameter besides x, "
                  "e.g. [](auto x, auto t) { return x + t; }");
    return {rule};
}
template <CouplingTransform Tr>
const Tr& as_coupling_transform(const Tr& transform)
{
    return transform;
}

// What a coupling checks of its transform: it maps its domain onto its codomain for every parameter value,
// and the two are the same interval (the untouched features keep theirs, and intervals are per block).
// A transform that is not an elementwise rule maps the real line onto itself unless it declares
// `static constexpr Mapping mapping()`.
template <class Tr>
constexpr Composition coupling_mapping()
{
    Composition result;
    bool varies = false;
    if constexpr (requires { Tr::transform_mapping(); }) {
        constexpr auto m = Tr::transform_mapping();
        result.mapping = m.mapping;
        varies = m.varies;
        if (m.rule_failed) return result;
    } else if constexpr (requires { Tr::mapping(); }) {
        result.mapping = Tr::mapping();
    }
    const Mapping& m = result.mapping;
    if (varies) {
        result.failed = true;
        result.message << "coupling: the transform maps " << m.domain
                       << " onto an interval that depends on its parameters or on values it captures (within "
                       << m.codomain << "); the transform of a coupling must map its domain onto the same interval "
                       << "for every parameter value, as x * exp(s) + t maps the real line onto itself";
    } else if (!(m.domain == m.codomain)) {
        result.failed = true;
        result.message << "coupling: the transform maps " << m.domain << " onto " << m.codomain
                       << "; the transform of a coupling must map its domain onto itself, since the untouched half "
                       << "keeps its values";
    }
    return result;
}

// The mapping of a block that applies Tr to its features (a coupling, a conditional_transform); a
// transform that fails coupling_mapping stops the compilation here, with its message.
template <class Tr>
constexpr Mapping checked_coupling_mapping()
{
    constexpr Composition c = coupling_mapping<Tr>();
    static_assert(detail::accept<c.failed, c.message>());
    return c.mapping;
}

// The transform as a coupling of w transformed features uses it.
template <CouplingTransform Tr>
Tr for_width(const Tr& transform, std::size_t w)
{
    if constexpr (requires { transform.with_width(w); })
        return transform.with_width(w);
    else
        return transform;
}

}  // namespace bijou::dsl
