// Errors the engine reports. Every message starts with "bijou: <op or block>:" and names the shapes
// involved, so a user can find the offending line without a debugger.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <bijou/engine/tensor.hpp>

namespace bijou {

// A shape or usage error found when a program is built, bound or fed.
class shape_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// A value that the operation cannot take: NaN or inf in data, a value outside a block's domain.
class value_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// Any other misuse (a program run before it is bound, a bad option).
class usage_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

namespace detail {

inline void append_piece(std::ostringstream& out, std::string_view s) { out << s; }
inline void append_piece(std::ostringstream& out, const std::string& s) { out << s; }
inline void append_piece(std::ostringstream& out, const char* s) { out << s; }
inline void append_piece(std::ostringstream& out, Shape s) { out << to_string(s); }
template <class N>
    requires std::is_arithmetic_v<N>
void append_piece(std::ostringstream& out, N n)
{
    out << n;
}

template <class... Pieces>
std::string message(std::string_view where, const Pieces&... pieces)
{
    std::ostringstream out;
    out << "bijou: " << where << ": ";
    (append_piece(out, pieces), ...);
    return out.str();
}

}  // namespace detail

// throw_shape_error("matmul", "inner dimensions differ: ", a, " * ", b)
template <class... Pieces>
[[noreturn]] void throw_shape_error(std::string_view where, const Pieces&... pieces)
{
    throw shape_error(detail::message(where, pieces...));
}

template <class... Pieces>
[[noreturn]] void throw_value_error(std::string_view where, const Pieces&... pieces)
{
    throw value_error(detail::message(where, pieces...));
}

template <class... Pieces>
[[noreturn]] void throw_usage_error(std::string_view where, const Pieces&... pieces)
{
    throw usage_error(detail::message(where, pieces...));
}

}  // namespace bijou
