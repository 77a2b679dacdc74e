// Domain analysis of an elementwise transform: carries x's domain along the path from x to the output,
// interval by interval, and proves what makes the transform a bijection of that domain:
//   - every op on the path receives values inside its own domain (log: (0, inf), tan: (-pi/2, pi/2), ...);
//   - every factor x is multiplied or divided by is nonzero with a known sign (exp(s), softplus(s) + c,
//     sigmoid(s) + c with c > 0, nonzero constants, products and quotients of such);
//   - x in a denominator (o / x) keeps one sign;
// and computes the image: a sound interval holding every output, and whether that interval is the same
// set for every parameter value (x + t maps R onto R whatever t is; sigmoid(x) + t maps R onto (t, 1 + t),
// which moves with t).
//
// The analysis is constexpr. A lambda without captures is called with placeholders at compile time, so
// its constants are known and every check is a static_assert. A lambda that captures values (a clamp
// bound, the alpha of a logit squeeze) is analysed at compile time with those values unknown: checks
// that depend on them are deferred, and run on the real values when dsl::elementwise(...) is called.
// The domain of x is the one declared (dsl::elementwise<domain>(...)) or else the domain of the first op
// applied to x (log(x) + t: (0, inf); x * exp(s) + t: the real line).
#pragma once

#include <type_traits>

#include <bijou/dsl/interval.hpp>
#include <bijou/dsl/placeholder.hpp>
#include <bijou/dsl/tree.hpp>
#include <bijou/dsl/unary_rules.hpp>
#include <bijou/engine/constant.hpp>

namespace bijou::dsl {

// The values an off-path subexpression (a parameter, a scale) can take.
struct Range {
    Interval hull = real_line;  // every value lies in it
    bool known = true;          // false: the hull is loose because it depends on captured values
    bool fixed = true;          // true: the same value for every parameter value (a constant)
};

// What the path does to x's domain.
struct PathImage {
    Interval image = real_line;  // every output lies in it
    bool known = true;           // false: depends on captured values
    bool varies = false;         // the image is not the same set for every parameter value
};

// The first check that failed (or was deferred because it depends on captured values).
struct Verdict {
    bool failed = false;
    bool deferred = false;
    Text<> message;

    constexpr void reject(bool certain, const Text<>& why)
    {
        if (failed) return;
        if (certain) failed = true, message = why;
        else deferred = true;
    }
};

struct ElementwiseAnalysis {
    Interval domain = real_line;
    PathImage path;
    Verdict verdict;
};

namespace detail {

template <class E>
inline constexpr bool is_constant = false;
template <class T>
inline constexpr bool is_constant<Constant<T>> = true;

template <class Op>
inline constexpr bool is_affine_op = std::is_same_v<Op, bijou::ops::add> || std::is_same_v<Op, bijou::ops::sub> ||
                                     std::is_same_v<Op, bijou::ops::mul> || std::is_same_v<Op, bijou::ops::div>;

template <class Op>
constexpr const char* symbol()
{
    if constexpr (std::is_same_v<Op, bijou::ops::add>) return " + ";
    else if constexpr (std::is_same_v<Op, bijou::ops::sub>) return " - ";
    else if constexpr (std::is_same_v<Op, bijou::ops::mul>) return " * ";
    else if constexpr (std::is_same_v<Op, bijou::ops::div>) return " / ";
    else return ", ";
}

// ---- the expression as text (arg2, arg3, ... are the lambda's arguments after x) ----------------------
template <class E>
constexpr void describe(Text<>& out, const E* e)
{
    if constexpr (is_placeholder<E>::value) {
        if constexpr (E::index == 0) out << "x";
        else out << "arg" << double(E::index + 1);
    } else if constexpr (is_constant<E>) {
        if (e) out << double(e->value);
        else out << "c";  // a captured value
    } else if constexpr (requires { e->op; e->child; }) {
        out << std::remove_cvref_t<decltype(e->op)>::name << "(";
        describe(out, e ? &e->child : nullptr);
        out << ")";
    } else if constexpr (requires { e->op; e->left; e->right; }) {
        using Op = std::remove_cvref_t<decltype(e->op)>;
        if constexpr (!is_affine_op<Op>) out << Op::name;
        out << "(";
        describe(out, e ? &e->left : nullptr);
        out << symbol<Op>();
        describe(out, e ? &e->right : nullptr);
        out << ")";
    } else {
        out << "a captured expression";
    }
}
template <class E>
constexpr Text<> describe(const E* e)
{
    Text<> out;
    describe(out, e);
    return out;
}

// ---- the values of an off-path subexpression -------------------------------------------------------
template <class Op>
inline constexpr bool is_soft_clamp = false;
template <class T>
inline constexpr bool is_soft_clamp<bijou::ops::soft_clamp<T>> = true;

template <class Op>
constexpr Range unary_range(const Op* op, const Range& u)
{
    const Range loose{real_line, u.known, u.fixed};
    if constexpr (std::is_same_v<Op, bijou::ops::relu> || std::is_same_v<Op, bijou::ops::abs> ||
                  std::is_same_v<Op, bijou::ops::square>) {
        return {closed_interval(0, infinity), u.known, u.fixed};
    } else if constexpr (is_soft_clamp<Op>) {
        if (!op) return {real_line, false, u.fixed};
        return {open_interval(-double(op->bound), double(op->bound)), u.known, u.fixed};
    } else if constexpr (is_clamp<Op>) {
        if (!op) return {real_line, false, u.fixed};
        return {closed_interval(double(op->low), double(op->high)), u.known, u.fixed};
    } else if constexpr (unary_rule<Op>::defined) {
        if (!inside(u.hull, unary_rule<Op>::domain)) return loose;
        if constexpr (!std::is_empty_v<Op>) {  // an op with values of its own (leaky_relu's slope)
            if (!op) return {real_line, false, u.fixed};
            if constexpr (requires { unary_rule<Op>::valid(*op); })
                if (!unary_rule<Op>::valid(*op)) return loose;
            return {unary_rule<Op>::image(*op, u.hull), u.known, u.fixed};
        } else {
            return {unary_rule<Op>::image(Op{}, u.hull), u.known, u.fixed};
        }
    } else {
        return loose;
    }
}

template <class E>
constexpr Range range(const E* e)
{
    if constexpr (is_placeholder<E>::value) {
        return {real_line, true, false};  // a parameter: any real value, different per row
    } else if constexpr (is_constant<E>) {
        if (!e) return {real_line, false, true};
        return {point_interval(double(e->value)), true, true};
    } else if constexpr (requires { e->op; e->child; }) {
        return unary_range(e ? &e->op : nullptr, range(e ? &e->child : nullptr));
    } else if constexpr (requires { e->op; e->left; e->right; }) {
        using Op = std::remove_cvref_t<decltype(e->op)>;
        const Range a = range(e ? &e->left : nullptr);
        const Range b = range(e ? &e->right : nullptr);
        const bool known = a.known && b.known, fixed = a.fixed && b.fixed;
        if constexpr (std::is_same_v<Op, bijou::ops::add>) return {a.hull + b.hull, known, fixed};
        else if constexpr (std::is_same_v<Op, bijou::ops::sub>) return {a.hull - b.hull, known, fixed};
        else if constexpr (std::is_same_v<Op, bijou::ops::mul>) {
            if (b.hull.excludes_zero()) return {scale(a.hull, b.hull), known, fixed};
            if (a.hull.excludes_zero()) return {scale(b.hull, a.hull), known, fixed};
            return {real_line, known, fixed};
        } else if constexpr (std::is_same_v<Op, bijou::ops::div>) {
            if (b.hull.excludes_zero()) return {scale(a.hull, reciprocal(b.hull)), known, fixed};
            return {real_line, known, fixed};
        } else {
            return {real_line, known, fixed};
        }
    } else {
        return {real_line, true, false};  // a captured expression: data, unknown even when it runs
    }
}

// ---- the domain of x: the domain of the first op applied to it -------------------------------------
template <class E>
constexpr Interval natural_domain()
{
    if constexpr (requires(const E& e) { e.op; e.child; }) {
        using Op = std::remove_cvref_t<decltype(std::declval<const E&>().op)>;
        using Child = std::remove_cvref_t<decltype(std::declval<const E&>().child)>;
        if constexpr (is_placeholder<Child>::value) {
            if constexpr (unary_rule<Op>::defined) return unary_rule<Op>::domain;
            else return real_line;
        } else {
            return natural_domain<Child>();
        }
    } else if constexpr (requires(const E& e) { e.left; e.right; }) {
        using L = std::remove_cvref_t<decltype(std::declval<const E&>().left)>;
        using R = std::remove_cvref_t<decltype(std::declval<const E&>().right)>;
        using X = std::conditional_t<depends_on_x<L>, L, R>;
        if constexpr (is_placeholder<X>::value) return real_line;
        else return natural_domain<X>();
    } else {
        return real_line;
    }
}

// ---- carrying the domain along the path ------------------------------------------------------------
inline constexpr const char* scale_advice =
    "; write a scale that is, such as exp(s), softplus(s) + c or sigmoid(s) + c with c > 0, or a nonzero "
    "constant";

template <class E>
constexpr PathImage carry(const E* e, const Interval& domain, Verdict& verdict)
{
    if constexpr (is_placeholder<E>::value) {
        return {domain, true, false};
    } else if constexpr (requires { e->op; e->child; }) {
        using Op = std::remove_cvref_t<decltype(e->op)>;
        const auto* child = e ? &e->child : nullptr;
        const PathImage in = carry(child, domain, verdict);
        if constexpr (!unary_rule<Op>::defined) {
            return {real_line, in.known, in.varies};  // rejected with its own message (check_on_path)
        } else {
            constexpr Interval op_domain = unary_rule<Op>::domain;
            if (!inside(in.image, op_domain)) {
                Text<> why;
                why << "x reaches " << Op::name << ", whose domain is " << op_domain << ", with values in "
                    << in.image << " (" << describe(child) << " for x in " << domain
                    << "); declare the domain of x on which the transform is a bijection, e.g. "
                       "dsl::elementwise<dsl::positive>(...), or change the transform";
                verdict.reject(in.known, why);
                return {real_line, in.known, in.varies};
            }
            if constexpr (!std::is_empty_v<Op>) {
                if (!e) return {in.image.is_real_line() ? real_line : in.image, in.image.is_real_line() && in.known,
                                in.varies};
                if constexpr (requires { unary_rule<Op>::valid(e->op); }) {
                    if (!unary_rule<Op>::valid(e->op)) {
                        Text<> why;
                        why << "x passes through " << describe(e);
                        if constexpr (requires { e->op.slope; }) why << " with slope " << double(e->op.slope);
                        why << ", which is invertible only for a positive, finite slope";
                        verdict.reject(true, why);
                        return {real_line, in.known, in.varies};
                    }
                }
                return {unary_rule<Op>::image(e->op, in.image), in.known, in.varies};
            } else {
                return {unary_rule<Op>::image(Op{}, in.image), in.known, in.varies};
            }
        }
    } else if constexpr (requires { e->op; e->left; e->right; }) {
        using Op = std::remove_cvref_t<decltype(e->op)>;
        using L = std::remove_cvref_t<decltype(e->left)>;
        constexpr bool x_left = depends_on_x<L>;
        const auto* x_side = [&] {
            if constexpr (x_left) return e ? &e->left : nullptr;
            else return e ? &e->right : nullptr;
        }();
        const auto* other_side = [&] {
            if constexpr (x_left) return e ? &e->right : nullptr;
            else return e ? &e->left : nullptr;
        }();
        const PathImage in = carry(x_side, domain, verdict);
        const Range other = range(other_side);
        if constexpr (std::is_same_v<Op, bijou::ops::add> || std::is_same_v<Op, bijou::ops::sub>) {
            // x + o, x - o, o + x, o - x: a shift (and a reflection for o - x)
            const Interval moved = std::is_same_v<Op, bijou::ops::sub> && !x_left ? -in.image : in.image;
            const Interval shift = std::is_same_v<Op, bijou::ops::sub> && x_left ? -other.hull : other.hull;
            const bool whole = moved.is_real_line();
            return {moved + shift, in.known && (other.known || whole), in.varies || (!other.fixed && !whole)};
        } else if constexpr (std::is_same_v<Op, bijou::ops::mul> ||
                             (std::is_same_v<Op, bijou::ops::div> && x_left)) {
            constexpr bool divides = std::is_same_v<Op, bijou::ops::div>;
            if (!other.hull.excludes_zero()) {
                Text<> why;
                why << "x is " << (divides ? "divided by " : "multiplied by ") << describe(other_side)
                    << ", which is not provably nonzero with a known sign (its values lie in " << other.hull << ")"
                    << scale_advice;
                verdict.reject(other.known, why);
                return {real_line, false, in.varies};
            }
            const Interval factor = divides ? reciprocal(other.hull) : other.hull;
            const bool cone = is_cone(in.image);
            return {scale(in.image, factor), in.known && (other.known || cone), in.varies || (!other.fixed && !cone)};
        } else if constexpr (std::is_same_v<Op, bijou::ops::div>) {  // o / x
            if (!in.image.excludes_zero()) {
                Text<> why;
                why << "x reaches the denominator of " << describe(e) << " with values in " << in.image
                    << ", which do not keep one sign; declare a domain on which they do, e.g. "
                       "dsl::elementwise<dsl::positive>(...)";
                verdict.reject(in.known, why);
                return {real_line, false, in.varies};
            }
            if (!other.hull.excludes_zero()) {
                Text<> why;
                why << "x divides " << describe(other_side)
                    << ", which is not provably nonzero with a known sign (its values lie in " << other.hull << ")"
                    << scale_advice;
                verdict.reject(other.known, why);
                return {real_line, false, in.varies};
            }
            const Interval inverted = reciprocal(in.image);
            const bool cone = is_cone(inverted);
            return {scale(inverted, other.hull), in.known && (other.known || cone), in.varies || (!other.fixed && !cone)};
        } else {
            return {real_line, in.known, in.varies};  // rejected with its own message (path_check)
        }
    } else {
        return {domain, true, false};
    }
}

}  // namespace detail

// The whole analysis of a transform's tree over `domain` (or its natural domain when none is declared).
// tree == nullptr analyses the type alone, with captured values unknown.
template <class Tree>
constexpr ElementwiseAnalysis analyse_elementwise(const Tree* tree, const Interval* declared_domain)
{
    ElementwiseAnalysis result;
    result.domain = declared_domain ? *declared_domain : detail::natural_domain<Tree>();
    result.path = detail::carry(tree, result.domain, result.verdict);
    return result;
}

namespace detail {
// A definition the DSL rejects: the instantiation of this template prints the message, GCC showing the
// text of its template argument, e.g. "rejected<Text<320>{"x reaches log, whose domain is (0, inf), ..."}>".
template <Text Message>
struct rejected {
    static_assert(Message.length == 0, "bijou dsl: this definition is not a bijection of its declared domain; the "
                                       "reason is the text of the template argument in the line above");
    static constexpr bool value = Message.length == 0;
};
template <bool Failed, Text Message>
constexpr bool accept()
{
    if constexpr (Failed) return rejected<Message>::value;
    else return true;
}
}  // namespace detail

}  // namespace bijou::dsl
