// Interval: a set of real numbers a bijection is defined on (its domain) or maps onto (its codomain),
// known at compile time, and the interval arithmetic the DSL uses to carry one along the path of x.
//
//   dsl::real_line                       (-inf, inf), the default domain and the codomain a flow needs
//   dsl::positive                        (0, inf)          exp, softplus
//   dsl::unit_interval                   (0, 1)            sigmoid; the domain of logit
//   dsl::symmetric_unit                  (-1, 1)           tanh; the domain of atanh
//   dsl::open_interval(a, b), dsl::closed_interval(a, b)   (a, b) and [a, b]; an infinite end is open
//
// An interval is a structural literal type, so it can be a template argument: a domain is part of a
// block's type (dsl::elementwise<dsl::positive>(...), make_flow<float, dsl::closed_interval(0, 1)>(...)).
// Text<N> renders intervals, numbers and expressions at compile time for the DSL's error messages.
#pragma once

#include <cstddef>
#include <limits>
#include <numbers>

namespace bijou::dsl {

inline constexpr double infinity = std::numeric_limits<double>::infinity();

struct Interval {
    double lo = -infinity;
    double hi = infinity;
    bool lo_open = true;  // an infinite end is always open
    bool hi_open = true;

    constexpr bool operator==(const Interval&) const = default;
    constexpr bool is_real_line() const { return lo == -infinity && hi == infinity; }
    constexpr bool contains(double v) const
    {
        return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    }
    // Strictly positive or strictly negative: a factor with a known sign that is never zero.
    constexpr bool excludes_zero() const { return lo > 0 || (lo == 0 && lo_open) || hi < 0 || (hi == 0 && hi_open); }
    constexpr bool is_positive() const { return lo > 0 || (lo == 0 && lo_open); }
    constexpr bool is_point() const { return lo == hi && !lo_open && !hi_open; }

    friend constexpr Interval operator-(const Interval& a) { return {-a.hi, -a.lo, a.hi_open, a.lo_open}; }
    friend constexpr Interval operator+(const Interval& a, const Interval& b)
    {
        const double lo = a.lo + b.lo, hi = a.hi + b.hi;
        return {lo, hi, a.lo_open || b.lo_open || lo == -infinity, a.hi_open || b.hi_open || hi == infinity};
    }
    friend constexpr Interval operator-(const Interval& a, const Interval& b) { return a + -b; }
};

constexpr Interval open_interval(double lo, double hi) { return {lo, hi, true, true}; }
constexpr Interval closed_interval(double lo, double hi) { return {lo, hi, lo == -infinity, hi == infinity}; }
constexpr Interval point_interval(double v) { return {v, v, false, false}; }

inline constexpr Interval real_line{};
inline constexpr Interval positive = open_interval(0, infinity);
inline constexpr Interval negative = open_interval(-infinity, 0);
inline constexpr Interval unit_interval = open_interval(0, 1);
inline constexpr Interval symmetric_unit = open_interval(-1, 1);

// a is a subset of b.
constexpr bool inside(const Interval& a, const Interval& b)
{
    const bool low = a.lo > b.lo || (a.lo == b.lo && (a.lo_open || !b.lo_open));
    const bool high = a.hi < b.hi || (a.hi == b.hi && (a.hi_open || !b.hi_open));
    return low && high;
}

// ---- arithmetic on intervals (the image of x op v for x in a, v in b) -----------------------------
// The operators are hidden friends, found only for intervals: declared in namespace dsl they would hide
// the engine's operators from the DSL's own code.

namespace detail {
// An end of a * b for b inside (0, inf): the end `e` (open or not) of a times the end `f` of b.
// 0 times anything in b is 0; an infinite end of either stays infinite (b excludes 0).
struct End {
    double value;
    bool open;
};
constexpr End times(End e, End f)
{
    if (e.value == 0) return {0, e.open};
    if (f.value == 0) return {0, true};  // b's end at 0 is open: b is inside (0, inf)
    const double v = e.value * f.value;
    return {v, e.open || f.open || v == infinity || v == -infinity};
}
}  // namespace detail

// a * b for b strictly positive: increasing in each factor where the other is positive.
constexpr Interval scale_positive(const Interval& a, const Interval& b)
{
    using detail::End;
    const End lo = a.lo >= 0 ? detail::times({a.lo, a.lo_open}, {b.lo, b.lo_open})
                             : detail::times({a.lo, a.lo_open}, {b.hi, b.hi_open});
    const End hi = a.hi <= 0 ? detail::times({a.hi, a.hi_open}, {b.lo, b.lo_open})
                             : detail::times({a.hi, a.hi_open}, {b.hi, b.hi_open});
    return {lo.value, hi.value, lo.open, hi.open};
}
// a * b for b with a known sign (b.excludes_zero()).
constexpr Interval scale(const Interval& a, const Interval& b)
{
    return b.is_positive() ? scale_positive(a, b) : -scale_positive(a, -b);
}
// 1 / b for b with a known sign; 1 / +-inf = 0 and 1 / 0+ = inf, both open.
constexpr Interval reciprocal(const Interval& b)
{
    if (!b.is_positive()) return -reciprocal(-b);
    const double lo = b.hi == infinity ? 0 : 1 / b.hi;
    const double hi = b.lo == 0 ? infinity : 1 / b.lo;
    return {lo, hi, b.hi_open || b.hi == infinity, b.lo_open || b.lo == 0};
}
// The smallest interval holding a and b.
constexpr Interval hull(const Interval& a, const Interval& b)
{
    Interval h = a;
    if (b.lo < h.lo || (b.lo == h.lo && !b.lo_open)) h.lo = b.lo, h.lo_open = b.lo_open;
    if (b.hi > h.hi || (b.hi == h.hi && !b.hi_open)) h.hi = b.hi, h.hi_open = b.hi_open;
    return h;
}
// A cone ({0}, half-lines from 0, the real line) is the same set after scaling by any positive factor.
constexpr bool is_cone(const Interval& a)
{
    return (a.lo == 0 || a.lo == -infinity) && (a.hi == 0 || a.hi == infinity);
}

// The image of u under a monotone function given by its values at u's ends (f handles infinite ends
// and the ends of its own domain, e.g. log(0) = -inf, so that no compile-time evaluation overflows).
template <class F>
constexpr Interval increasing_image(const Interval& u, F f)
{
    const double lo = f(u.lo), hi = f(u.hi);
    return {lo, hi, u.lo_open || lo == -infinity, u.hi_open || hi == infinity};
}
template <class F>
constexpr Interval decreasing_image(const Interval& u, F f)
{
    const double lo = f(u.hi), hi = f(u.lo);
    return {lo, hi, u.hi_open || lo == -infinity, u.lo_open || hi == infinity};
}

// ---- compile-time text for error messages ---------------------------------------------------------
// A fixed-size string that can be a template argument: the DSL's messages name intervals and
// expressions, and GCC prints a template argument's text in the instantiation that fails.
template <std::size_t N = 320>
struct Text {
    char text[N]{};
    std::size_t length = 0;

    constexpr Text& operator<<(const char* s)
    {
        for (std::size_t i = 0; s[i] != '\0' && length + 1 < N; ++i) text[length++] = s[i];
        return *this;
    }
    constexpr Text& operator<<(char c)
    {
        if (length + 1 < N) text[length++] = c;
        return *this;
    }
    constexpr Text& operator<<(double v)
    {
        if (v != v) return *this << "nan";
        if (v < 0) {
            *this << '-';
            v = -v;
        }
        if (v == infinity) return *this << "inf";
        if (v == std::numbers::pi / 2) return *this << "pi/2";
        if (v == std::numbers::pi) return *this << "pi";
        if (v != 0 && (v < 1e-4 || v >= 1e9)) {  // scientific: d.ddde[-]x
            int exponent = 0;
            while (v >= 10) v /= 10, ++exponent;
            while (v < 1) v *= 10, --exponent;
            write_fixed(v, 3);
            *this << 'e';
            if (exponent < 0) *this << '-', exponent = -exponent;
            return write_integer(static_cast<unsigned long long>(exponent));
        }
        return write_fixed(v, 6);
    }
    constexpr Text& operator<<(const Interval& a)
    {
        *this << (a.lo_open ? '(' : '[') << a.lo << ", " << a.hi << (a.hi_open ? ')' : ']');
        return *this;
    }
    template <std::size_t M>
    constexpr Text& operator<<(const Text<M>& other)
    {
        return *this << other.text;
    }

private:
    constexpr Text& write_integer(unsigned long long n)
    {
        char digits[24]{};
        int k = 0;
        do digits[k++] = char('0' + n % 10), n /= 10;
        while (n > 0);
        while (k > 0) *this << digits[--k];
        return *this;
    }
    // v >= 0 with up to `decimals` decimals, trailing zeros dropped.
    constexpr Text& write_fixed(double v, int decimals)
    {
        double scale = 1;
        for (int i = 0; i < decimals; ++i) scale *= 10;
        auto scaled = static_cast<unsigned long long>(v * scale + 0.5);
        const auto whole = static_cast<unsigned long long>(scaled / static_cast<unsigned long long>(scale));
        auto fraction = scaled % static_cast<unsigned long long>(scale);
        write_integer(whole);
        if (fraction == 0) return *this;
        *this << '.';
        char digits[24]{};
        for (int i = decimals - 1; i >= 0; --i) digits[i] = char('0' + fraction % 10), fraction /= 10;
        int last = decimals - 1;
        while (last > 0 && digits[last] == '0') --last;
        for (int i = 0; i <= last; ++i) *this << digits[i];
        return *this;
    }
};

}  // namespace bijou::dsl
