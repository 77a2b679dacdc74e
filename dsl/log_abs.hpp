// log_abs(e): log|e| as an expression, simplified where the form of e allows it, so that the log-det
// of `x * exp(s)` is s itself, exactly and without overflow, rather than log(abs(exp(s))).
#pragma once

#include <bijou/dsl/zero.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::dsl {

template <class E>
auto log_abs(const E& e)
{
    return log(abs(e));
}
template <class C>
auto log_abs(const Unary<bijou::ops::exp, C>& e)  // log e^c = c
{
    return e.child;
}
template <class C>
auto log_abs(const Unary<bijou::ops::sigmoid, C>& e)  // log s(c) = -softplus(-c)
{
    return -softplus(-e.child);
}
template <class C>
auto log_abs(const Unary<bijou::ops::softplus, C>& e)  // softplus > 0
{
    return log(e);
}
template <class C>
auto log_abs(const Unary<bijou::ops::neg, C>& e)
{
    return log_abs(e.child);
}
template <class L, class R>
auto log_abs(const Binary<bijou::ops::mul, L, R>& e)
{
    return log_abs(e.left) + log_abs(e.right);
}
template <class T>
auto log_abs(const Constant<T>& c)
{
    return Constant<T>{T(std::log(std::abs(double(c.value))))};
}

}  // namespace bijou::dsl
