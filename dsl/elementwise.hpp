// elementwise(f): an invertible elementwise transform written once, as its forward rule.
//
//   constexpr auto affine = elementwise([](auto x, auto s, auto t) { return x * exp(s) + t; });
//   affine.forward(x, s, t)       y = x * exp(s) + t
//   affine.inverse(y, s, t)       x = (y - t) / exp(s)              derived
//   affine.log_abs_det(x, s, t)   log|dy/dx| = s, per element       derived
//
// The lambda is called once with placeholders, giving its expression tree as a type. The inverse
// peels the operations on the path from the output back to x (add -> subtract, exp -> log, ...); the
// log-derivative is the sum of each path operation's log|derivative|. Everything off the path (the
// parameters: s, t and whatever is done to them) may be any expression and is never inverted.
//
// Rejected at compile time, with a message naming the reason: x used more than once or not at all,
// x passing through a non-injective op (relu, abs, square, clamp, even powers) or an op without an
// inverse rule, x on both sides of a binary op; and, by the domain analysis (dsl/domain.hpp), x
// reaching an op outside its domain (log of the real line, tan beyond (-pi/2, pi/2)), or a factor of x
// that is not provably nonzero with a known sign (x * t, x * tanh(s): write x * exp(s)). The domain of x
// is the domain of the first op applied to it, or declared: dsl::elementwise<dsl::positive>(...).
#pragma once

#include <tuple>
#include <utility>

#include <bijou/dsl/domain.hpp>
#include <bijou/dsl/log_abs.hpp>
#include <bijou/dsl/mapping.hpp>
#include <bijou/dsl/placeholder.hpp>
#include <bijou/dsl/tree.hpp>
#include <bijou/dsl/unary_rules.hpp>
#include <bijou/dsl/zero.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::dsl {

namespace detail {

template <class F, class T, std::size_t... I>
constexpr auto call_with_placeholders(const F& f, std::index_sequence<I...>)
{
    return f(Placeholder<I, T>{}...);
}

template <class F, class T, std::size_t N>
constexpr bool callable_with()
{
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return std::is_invocable_v<const F&, Placeholder<I, T>...>;
    }(std::make_index_sequence<N>{});
}

// The number of arguments of the lambda (x plus its parameters), up to 8.
template <class F, class T>
constexpr std::size_t arity()
{
    if constexpr (callable_with<F, T, 1>()) return 1;
    else if constexpr (callable_with<F, T, 2>()) return 2;
    else if constexpr (callable_with<F, T, 3>()) return 3;
    else if constexpr (callable_with<F, T, 4>()) return 4;
    else if constexpr (callable_with<F, T, 5>()) return 5;
    else if constexpr (callable_with<F, T, 6>()) return 6;
    else if constexpr (callable_with<F, T, 7>()) return 7;
    else if constexpr (callable_with<F, T, 8>()) return 8;
    else return 0;
}

// Whether the lambda's tree can be built at compile time: it captures nothing (so it can be
// default-constructed) and every op it uses is constexpr. Then its constants are known to the domain
// analysis.
template <class F, class T>
concept constant_tree = requires {
    typename std::integral_constant<
        bool, (static_cast<void>(call_with_placeholders<F, T>(F{}, std::make_index_sequence<arity<F, T>()>{})), true)>;
};

// A rule with a declared domain (and codomain): dsl::elementwise<domain[, codomain]>(lambda).
template <class F, Interval Domain, bool HasCodomain, Interval Codomain>
struct DeclaredRule {
    F rule;
    static constexpr Interval domain = Domain;
    static constexpr Interval codomain = Codomain;
    static constexpr bool has_codomain = HasCodomain;

    template <class... A>
        requires std::is_invocable_v<const F&, A...>
    constexpr auto operator()(A... a) const
    {
        return rule(a...);
    }
};
template <class F>
inline constexpr bool is_declared_rule = false;
template <class F, Interval D, bool H, Interval C>
inline constexpr bool is_declared_rule<DeclaredRule<F, D, H, C>> = true;

template <class F>
constexpr const Interval* declared_domain()
{
    if constexpr (is_declared_rule<F>) return &F::domain;
    else return nullptr;
}

// The analysis of rule's tree (dsl/domain.hpp), reading its constants; rule == nullptr analyses the type
// alone, with the constants unknown.
template <class F, class T>
constexpr ElementwiseAnalysis analyse_rule(const F* rule)
{
    constexpr auto indices = std::make_index_sequence<arity<F, T>()>{};
    using Tree = decltype(call_with_placeholders<F, T>(std::declval<const F&>(), indices));
    ElementwiseAnalysis result;
    if (rule) {
        const Tree tree = call_with_placeholders<F, T>(*rule, indices);
        result = analyse_elementwise(&tree, declared_domain<F>());
    } else {
        result = analyse_elementwise(static_cast<const Tree*>(nullptr), declared_domain<F>());
    }
    if constexpr (is_declared_rule<F>) {
        if (!inside(result.path.image, F::codomain)) {
            Text<> why;
            why << "the transform maps its domain " << result.domain << " into " << result.path.image
                << ", which is not inside its declared codomain " << F::codomain;
            result.verdict.reject(result.path.known, why);
        }
    }
    return result;
}

// The analysis at compile time: with the constants when the tree is constant, else with them unknown.
template <class F, class T>
constexpr ElementwiseAnalysis static_analysis()
{
    if constexpr (constant_tree<F, T>) {
        constexpr F rule{};
        return analyse_rule<F, T>(&rule);
    } else {
        return analyse_rule<F, T>(nullptr);
    }
}

// Static checks along the path from the root to x; the first violation stops compilation.
template <class E>
struct path_check : std::true_type {};  // x itself, or a subtree off the path
template <class Op, class C>
struct path_check<Unary<Op, C>> {
    static constexpr bool value = (check_on_path<Op>(), path_check<C>::value);
};
template <class Op, class L, class R>
struct path_check<Binary<Op, L, R>> {
    static_assert(std::is_same_v<Op, bijou::ops::add> || std::is_same_v<Op, bijou::ops::sub> ||
                      std::is_same_v<Op, bijou::ops::mul> || std::is_same_v<Op, bijou::ops::div>,
                  "bijou dsl: x passes through a binary op with no inverse rule (only + - * / are invertible)");
    // Only the side holding x is on the path; the other side is never inverted, so it is not checked.
    static constexpr bool value = std::conditional_t<depends_on_x<L>, path_check<L>, path_check<R>>::value;
};

// Declared ahead so that each overload sees the others: the calls are dependent, but argument-dependent
// lookup at instantiation searches only bijou and std, so a unary op over a binary one on the path of x
// (exp(x * s), logit(a * x + b)) would otherwise not find the Binary overload defined below it.
template <class Op, class C, class Y, class Args>
auto invert(const Unary<Op, C>& u, Y y, const Args& args);
template <class Op, class L, class R, class Y, class Args>
auto invert(const Binary<Op, L, R>& b, Y y, const Args& args);
template <class Op, class C, class Args>
auto log_det_terms(const Unary<Op, C>& u, const Args& args);
template <class Op, class L, class R, class Args>
auto log_det_terms(const Binary<Op, L, R>& b, const Args& args);

// ---- inverse: peel the path from the output back to x --------------------------------------------
template <class T, std::size_t I, class Y, class Args>
auto invert(const Placeholder<I, T>&, Y y, const Args&)
{
    return y;
}
template <class Op, class C, class Y, class Args>
auto invert(const Unary<Op, C>& u, Y y, const Args& args)
{
    return invert(u.child, unary_rule<Op>::inverse(u.op, y), args);
}
template <class Op, class L, class R, class Y, class Args>
auto invert(const Binary<Op, L, R>& b, Y y, const Args& args)
{
    constexpr bool x_left = depends_on_x<L>;
    auto other = [&] {
        if constexpr (x_left) return substitute(b.right, args);
        else return substitute(b.left, args);
    }();
    if constexpr (std::is_same_v<Op, bijou::ops::add>) {  // y = u + o
        if constexpr (x_left) return invert(b.left, y - other, args);
        else return invert(b.right, y - other, args);
    } else if constexpr (std::is_same_v<Op, bijou::ops::sub>) {
        if constexpr (x_left) return invert(b.left, y + other, args);  // y = u - o
        else return invert(b.right, other - y, args);                  // y = o - u
    } else if constexpr (std::is_same_v<Op, bijou::ops::mul>) {       // y = u * o
        if constexpr (x_left) return invert(b.left, y / other, args);
        else return invert(b.right, y / other, args);
    } else {
        if constexpr (x_left) return invert(b.left, y * other, args);  // y = u / o
        else return invert(b.right, other / y, args);                  // y = o / u
    }
}

// ---- log|dy/dx|: the sum over the path of each op's log|derivative| ------------------------------
template <class T, std::size_t I, class Args>
auto log_det_terms(const Placeholder<I, T>&, const Args&)
{
    return Zero{};
}
template <class Op, class C, class Args>
auto log_det_terms(const Unary<Op, C>& u, const Args& args)
{
    return add_terms(unary_rule<Op>::log_abs_derivative(u.op, substitute(u.child, args)), log_det_terms(u.child, args));
}
template <class Op, class L, class R, class Args>
auto log_det_terms(const Binary<Op, L, R>& b, const Args& args)
{
    constexpr bool x_left = depends_on_x<L>;
    if constexpr (std::is_same_v<Op, bijou::ops::add> || std::is_same_v<Op, bijou::ops::sub>) {
        if constexpr (x_left) return log_det_terms(b.left, args);
        else return log_det_terms(b.right, args);
    } else if constexpr (std::is_same_v<Op, bijou::ops::mul>) {  // |d(u o)/du| = |o|
        if constexpr (x_left) return add_terms(log_abs(substitute(b.right, args)), log_det_terms(b.left, args));
        else return add_terms(log_abs(substitute(b.left, args)), log_det_terms(b.right, args));
    } else {
        if constexpr (x_left)  // |d(u / o)/du| = 1 / |o|
            return add_terms(-log_abs(substitute(b.right, args)), log_det_terms(b.left, args));
        else  // |d(o / u)/du| = |o| / u^2
            return add_terms(log_abs(substitute(b.left, args)) - 2.0 * log_abs(substitute(b.right, args)),
                             log_det_terms(b.right, args));
    }
}

}  // namespace detail

template <class F>
struct Elementwise {
    F rule;

    // The transform's expression tree over placeholders, checked for invertibility.
    template <class T>
    auto tree() const
    {
        constexpr std::size_t n = detail::arity<F, T>();
        static_assert(n >= 1, "bijou dsl: an elementwise transform is a lambda of x and its parameters, "
                              "e.g. [](auto x, auto s, auto t) { return x * exp(s) + t; }");
        using Tree = decltype(detail::call_with_placeholders<F, T>(rule, std::make_index_sequence<n>{}));
        static_assert(Expr<Tree>, "bijou dsl: an elementwise transform must return an expression of its arguments");
        static_assert(x_count<Tree>::value >= 1,
                      "bijou dsl: the transform does not depend on x (its first argument), so it is not invertible");
        static_assert(x_count<Tree>::value <= 1,
                      "bijou dsl: x (the first argument) appears more than once in the transform; an elementwise "
                      "bijection must use x exactly once so that it can be inverted by peeling");
        static_assert(detail::path_check<Tree>::value);
        static_assert(domain_checked<T>);
        return detail::call_with_placeholders<F, T>(rule, std::make_index_sequence<n>{});
    }

    template <class T>
    static constexpr std::size_t parameter_count = detail::arity<F, T>() - 1;

    // The domain analysis at compile time (dsl/domain.hpp); a failed check stops compilation with its
    // reason as the text of a template argument.
    template <class T>
    static constexpr ElementwiseAnalysis analysis = detail::static_analysis<F, T>();
    template <class T>
    static constexpr bool domain_checked = detail::accept<analysis<T>.verdict.failed, analysis<T>.verdict.message>();

    // The domain and codomain as a block: the declared codomain, else the image of the domain.
    // `varies` says that the image is not the same interval for every parameter value (or, for a lambda
    // with captures, cannot be known before it runs): a coupling or a layer rejects such a transform.
    // `rule_failed`: the rule itself is rejected (reported by its own message), so the block's checks
    // are skipped.
    struct TransformMapping {
        Mapping mapping;
        bool varies = false;
        bool rule_failed = false;
    };
    template <class T>
    static constexpr TransformMapping transform_mapping()
    {
        static_assert(domain_checked<T>);
        constexpr ElementwiseAnalysis a = analysis<T>;
        constexpr bool failed = a.verdict.failed;
        if constexpr (detail::is_declared_rule<F>) {
            if constexpr (F::has_codomain) return {{a.domain, F::codomain, false}, a.path.varies, failed};
            else return {{a.domain, a.path.image, false}, a.path.varies || !a.path.known, failed};
        } else {
            return {{a.domain, a.path.image, false}, a.path.varies || !a.path.known, failed};
        }
    }

    template <Expr X, class... P>
    auto forward(const X& x, const P&... params) const
    {
        using T = bijou::detail::value_type_t<X>;
        return substitute(tree<T>(), std::forward_as_tuple(x, params...));
    }

    template <Expr Y, class... P>
    auto inverse(const Y& y, const P&... params) const
    {
        using T = bijou::detail::value_type_t<Y>;
        return detail::invert(tree<T>(), y, std::forward_as_tuple(y, params...));
    }

    // log|dy/dx| per element, evaluated at x (Zero when the transform is volume preserving).
    template <Expr X, class... P>
    auto log_abs_det(const X& x, const P&... params) const
    {
        using T = bijou::detail::value_type_t<X>;
        return detail::log_det_terms(tree<T>(), std::forward_as_tuple(x, params...));
    }
};

namespace detail {
// A lambda with captures is checked on its real values once, when it is made.
template <class F>
constexpr void check_captured_values(const F& rule)
{
    if constexpr (!constant_tree<F, double>) {
        const ElementwiseAnalysis a = analyse_rule<F, double>(&rule);
        if (a.verdict.failed) throw_usage_error("dsl::elementwise", a.verdict.message.text);
    }
}
}  // namespace detail

template <class F>
constexpr Elementwise<F> elementwise(F rule)
{
    detail::check_captured_values(rule);
    return {rule};
}

// elementwise<domain>(lambda): the transform on a declared domain of x, e.g. dsl::positive for
// log(x * exp(s)), whose first op (the product) does not tell it. elementwise<domain, codomain>(lambda)
// also declares the codomain, which must hold the image (for a lambda with captures, whose image the
// compiler cannot know; checked on the captured values when it is made).
template <Interval Domain, class F>
constexpr auto elementwise(F rule)
{
    using Declared = detail::DeclaredRule<F, Domain, false, real_line>;
    detail::check_captured_values(Declared{rule});
    return Elementwise<Declared>{Declared{rule}};
}
template <Interval Domain, Interval Codomain, class F>
constexpr auto elementwise(F rule)
{
    using Declared = detail::DeclaredRule<F, Domain, true, Codomain>;
    detail::check_captured_values(Declared{rule});
    return Elementwise<Declared>{Declared{rule}};
}

}  // namespace bijou::dsl
