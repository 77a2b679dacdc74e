// Finite-value checks of the data a flow is given: NaN or inf in the data passed to log_prob, forward,
// inverse, initialize, sample (its conditions) or fit is an error naming the call, the row and the
// column, instead of NaN results or a run that trains on garbage.
//
//   flow.log_prob(x);                 // bijou::value_error: "bijou: Flow::log_prob: data row 17, column 1
//                                     // is nan; every value must be finite (...)"
//   bijou::set_input_checks(false);   // turns the check off, process-wide (e.g. for a hot loop of calls
//                                     // on data already checked)
// A flow made for data in a support (make_flow<float, dsl::closed_interval(0, 1)>) checks its data
// against it in the same pass: "data row 3, column 0 is 1.5, outside the support [0, 1] ...".
//
// One pass over the input per call, without branches in the common case; bench/input_checks measures
// its cost against the call and against a training step.
#pragma once

#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

#include <bijou/dsl/interval.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou {

namespace detail {
inline std::atomic<bool>& input_checks_flag()
{
    static std::atomic<bool> on{true};
    return on;
}
}  // namespace detail

// Whether the flows check their inputs for NaN and inf (default: on).
inline void set_input_checks(bool on) { detail::input_checks_flag().store(on, std::memory_order_relaxed); }
inline bool input_checks() { return detail::input_checks_flag().load(std::memory_order_relaxed); }

// Throws value_error naming the call (`owner` + `call`, e.g. "Flow::" "log_prob"), `kind` ("data",
// "conditions", ...), and the first row and column holding a NaN or an infinity. Allocates nothing
// unless it throws.
template <class T>
void require_finite(const Tensor<T>& data, std::string_view owner, std::string_view call, const char* kind)
{
    if (!input_checks()) return;
    const T* v = data.data();
    const std::size_t n = data.size();
    const T largest = std::numeric_limits<T>::max();
    bool bad = false;
    for (std::size_t i = 0; i < n; ++i) bad |= !(std::abs(v[i]) <= largest);  // false for NaN and inf
    if (!bad) return;
    const std::size_t cols = data.shape()[1];
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i]))
            throw_value_error(std::string(owner) + std::string(call), kind, " row ", i / cols, ", column ", i % cols,
                              " is ", double(v[i]),
                              "; every value must be finite (bijou::set_input_checks(false) turns this check off)");
}

// The same for data that must lie in a support (make_flow<T, support>): throws value_error naming the
// first row and column outside it, and the support. The real line asks only for finite values.
template <class T>
void require_within(const Tensor<T>& data, const dsl::Interval& support, std::string_view owner, std::string_view call,
                    const char* kind)
{
    if (support.is_real_line()) return require_finite(data, owner, call, kind);
    if (!input_checks()) return;
    const T* v = data.data();
    const std::size_t n = data.size();
    const T lo = T(support.lo), hi = T(support.hi);
    bool bad = false;
    if (support.lo_open || support.hi_open) {
        for (std::size_t i = 0; i < n; ++i) bad |= !((support.lo_open ? v[i] > lo : v[i] >= lo) &
                                                     (support.hi_open ? v[i] < hi : v[i] <= hi));
    } else {
        for (std::size_t i = 0; i < n; ++i) bad |= !((v[i] >= lo) & (v[i] <= hi));  // false for NaN
    }
    if (!bad) return;
    const std::size_t cols = data.shape()[1];
    for (std::size_t i = 0; i < n; ++i)
        if (!support.contains(double(v[i])) || !std::isfinite(v[i])) {
            dsl::Text<> interval;
            interval << support;
            throw_value_error(std::string(owner) + std::string(call), kind, " row ", i / cols, ", column ", i % cols,
                              " is ", double(v[i]), ", outside the support ", interval.text,
                              " the flow was made for (bijou::set_input_checks(false) turns this check off)");
        }
}

}  // namespace bijou
