// Optimizer: the interface every optimizer (Sgd, Adam, AdamW) provides, and the checks they share.
//
// A model of Optimizer owns a list of parameters and updates them in place:
//   step()         one update theta <- theta - lr * direction(grad, state) of every trainable parameter,
//                  then zeroes the gradients it consumed; frozen parameters (!trainable()) are untouched
//   set_lr(lr)     the learning rate of the following steps (a schedule calls this once per step)
//   lr(), steps()  the current learning rate and the number of steps taken so far
//   parameters()   the parameters, in the order given
//   zero_grad()    zeroes every parameter's gradient, frozen or not
// The training loop is therefore: forward, backward, step. Gradients accumulate across backward passes
// (the engine adds into them), so calling backward twice before step sums two batches' gradients.
//
// Optimizer state (momentum buffers, Adam's moments) lives in the parameter (ParamNode::moment1/2), so it
// is saved and restored with the parameter. steps() lives in the optimizer: to resume a run, restore it
// with set_steps() as well (Adam's bias correction depends on it).
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/param.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou {

template <class O>
concept Optimizer = requires(O& optimizer, const O& view, double lr) {
    optimizer.step();
    optimizer.zero_grad();
    optimizer.set_lr(lr);
    { view.lr() } -> std::convertible_to<double>;
    { view.steps() } -> std::same_as<std::int64_t>;
    view.parameters();
};

namespace detail {

inline std::string_view param_label(const std::string& name)
{
    if (name.empty()) return "<unnamed>";
    return name;
}

// A learning rate given at construction must be positive; one set later may be zero (a schedule that
// decays to nothing), never negative or non-finite.
inline void check_lr(std::string_view optimizer, double lr, bool allow_zero)
{
    if (!std::isfinite(lr) || lr < 0 || (!allow_zero && lr == 0))
        throw_usage_error(optimizer, "lr must be ", allow_zero ? ">= 0" : "> 0", " and finite, got ", lr);
}

inline void check_weight_decay(std::string_view optimizer, double weight_decay)
{
    if (!std::isfinite(weight_decay) || weight_decay < 0)
        throw_usage_error(optimizer, "weight_decay must be >= 0 and finite, got ", weight_decay);
}

// A usable parameter list: not empty, no null handle, no parameter twice (it would be updated twice),
// each gradient shaped like its value.
template <class T>
void check_parameters(std::string_view optimizer, const std::vector<Param<T>>& params)
{
    if (params.empty()) throw_usage_error(optimizer, "the parameter list is empty");
    std::unordered_set<const void*> seen;
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& p = params[i];
        if (!p.node_ptr()) throw_usage_error(optimizer, "parameter ", i, " is a null (default-constructed) Param");
        if (!seen.insert(p.node_ptr().get()).second)
            throw_usage_error(optimizer, "parameter '", param_label(p.name()), "' appears twice in the list");
        if (shape_of(p.grad()) != shape_of(p.value()))
            throw_usage_error(optimizer, "parameter '", param_label(p.name()), "' has gradient ", shape_of(p.grad()),
                              " but value ", shape_of(p.value()));
    }
}

// Optimizer state shaped like the value; state that already fits (restored from a checkpoint) is kept.
template <class T>
bool state_fits(const Tensor<T>& state, const Tensor<T>& value)
{
    return shape_of(state) == shape_of(value);
}
template <class T>
void reset_state(Tensor<T>& state, const Tensor<T>& value)
{
    state = xt::zeros<T>(value.shape());
}

// Called by step() on every trainable parameter: a value replaced by one of another shape since the
// optimizer was built would make the kernels read out of bounds. The check allocates nothing.
template <class T>
void check_unchanged(std::string_view optimizer, const Param<T>& p, bool uses_moment1, bool uses_moment2)
{
    const auto& value = p.value();
    const auto& node = p.node();
    const bool ok = state_fits(p.grad(), value) && (!uses_moment1 || state_fits(node.moment1, value)) &&
                    (!uses_moment2 || state_fits(node.moment2, value));
    if (!ok)
        throw_usage_error(optimizer, "parameter '", param_label(p.name()), "' is now ", shape_of(value),
                          " but its gradient or optimizer state is not; rebuild the optimizer after reshaping");
}

}  // namespace detail

}  // namespace bijou
