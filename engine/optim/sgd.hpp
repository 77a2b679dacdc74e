// Sgd: stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
// as in PyTorch's torch.optim.SGD (no dampening). Per element, with g the gradient:
//   g <- g + weight_decay * theta                      (classic L2 decay, folded into the gradient)
//   b <- momentum * b + g                              (momentum buffer, starts at 0, so b_1 = g_1)
//   d  = nesterov ? g + momentum * b : b               (d = g without momentum)
//   theta <- theta - lr * d
// then the gradient is zeroed. Training loop: forward, backward, step.
//
// The momentum buffer is the parameter's moment1 (allocated here when momentum > 0 and kept if it already
// has the value's shape, e.g. restored from a checkpoint). step() is one fused pass per parameter over
// contiguous memory and allocates nothing. Frozen parameters (!trainable()) keep their value, gradient
// and buffer.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <bijou/engine/optim/optimizer.hpp>
#include <bijou/engine/simd.hpp>

namespace bijou {

struct SgdOptions {
    double lr = 1e-2;
    double momentum = 0;
    double weight_decay = 0;
    bool nesterov = false;
};

template <class T>
class Sgd {
public:
    explicit Sgd(std::vector<Param<T>> params, SgdOptions options = {}) : params_(std::move(params)), options_(options)
    {
        detail::check_lr("Sgd", options_.lr, false);
        if (!std::isfinite(options_.momentum) || options_.momentum < 0 || options_.momentum >= 1)
            throw_usage_error("Sgd", "momentum must be in [0, 1), got ", options_.momentum);
        detail::check_weight_decay("Sgd", options_.weight_decay);
        if (options_.nesterov && options_.momentum == 0)
            throw_usage_error("Sgd", "nesterov = true needs momentum > 0, got momentum ", options_.momentum);
        detail::check_parameters("Sgd", params_);
        if (uses_buffer())
            for (const auto& p : params_)
                if (!detail::state_fits(p.node().moment1, p.value())) detail::reset_state(p.node().moment1, p.value());
    }

    void step()
    {
        const T lr = T(options_.lr), mu = T(options_.momentum), wd = T(options_.weight_decay);
        const bool momentum = uses_buffer(), nesterov = options_.nesterov, decay = options_.weight_decay != 0;
        for (const auto& p : params_) {
            if (!p.trainable()) continue;
            detail::check_unchanged("Sgd", p, momentum, false);
            T* theta = p.value().data();
            T* grad = p.grad().data();
            T* buffer = momentum ? p.node().moment1.data() : nullptr;
            simd::for_each_block<T>(1, p.size(), [&]<class V>(std::size_t, std::size_t i) {
                const V th = simd::load<V>(theta + i);
                V g = simd::load<V>(grad + i);
                if (decay) g = g + V(wd) * th;
                if (momentum) {
                    const V b = V(mu) * simd::load<V>(buffer + i) + g;
                    simd::store<V>(buffer + i, b);
                    g = nesterov ? g + V(mu) * b : b;
                }
                simd::store<V>(theta + i, th - V(lr) * g);
                simd::store<V>(grad + i, V(T(0)));
            });
        }
        ++steps_;
    }

    // Zero is allowed here (a schedule may decay to it), a negative or non-finite rate is not.
    void set_lr(double lr)
    {
        detail::check_lr("Sgd", lr, true);
        options_.lr = lr;
    }
    double lr() const { return options_.lr; }
    std::int64_t steps() const { return steps_; }
    // For resuming from a checkpoint; SGD's update does not depend on it, a schedule may.
    void set_steps(std::int64_t steps)
    {
        if (steps < 0) throw_usage_error("Sgd", "steps must be >= 0, got ", steps);
        steps_ = steps;
    }
    const SgdOptions& options() const { return options_; }
    const std::vector<Param<T>>& parameters() const { return params_; }
    void zero_grad()
    {
        for (const auto& p : params_) p.zero_grad();
    }

private:
    bool uses_buffer() const { return options_.momentum != 0; }

    std::vector<Param<T>> params_;
    SgdOptions options_;
    std::int64_t steps_ = 0;
};

}  // namespace bijou
