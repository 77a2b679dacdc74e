// Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019). Per element, at step t = 1, 2, ...
// with g the gradient:
//   g <- g + weight_decay * theta                          (Adam: classic L2 decay, in the gradient)
//   m <- beta1 * m + (1 - beta1) * g                       (first moment, starts at 0)
//   v <- beta2 * v + (1 - beta2) * g^2                     (second moment, starts at 0)
//   m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)  (bias correction)
//   theta <- theta - lr * weight_decay * theta             (AdamW: decoupled decay, outside the moments)
//   theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)
// then the gradient is zeroed. Training loop: forward, backward, step.
//
// m and v are the parameter's moment1 and moment2, allocated here as zeros shaped like the value; a
// parameter whose moments already have that shape (restored from a checkpoint) keeps them, and the run
// resumes exactly once set_steps(t) restores the step count the bias correction uses. step() is one fused
// pass per parameter over contiguous memory and allocates nothing. Frozen parameters (!trainable()) keep
// their value, gradient and moments.
//
// AdamW<T> is an Adam<T> built from AdamWOptions, whose weight_decay defaults to 0.01 and is always
// decoupled; Adam<T> with AdamOptions{.decoupled_weight_decay = true} is the same optimizer.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <bijou/engine/optim/optimizer.hpp>
#include <bijou/engine/simd.hpp>

namespace bijou {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;
    bool decoupled_weight_decay = false;  // true = AdamW
};

struct AdamWOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.01;
};

template <class T>
class Adam {
public:
    explicit Adam(std::vector<Param<T>> params, AdamOptions options = {})
        : params_(std::move(params)), options_(options)
    {
        const std::string_view name = this->name();
        detail::check_lr(name, options_.lr, false);
        check_beta(name, "beta1", options_.beta1);
        check_beta(name, "beta2", options_.beta2);
        if (!std::isfinite(options_.eps) || options_.eps <= 0)
            throw_usage_error(name, "eps must be > 0 and finite, got ", options_.eps);
        detail::check_weight_decay(name, options_.weight_decay);
        detail::check_parameters(name, params_);
        for (const auto& p : params_) {
            auto& node = p.node();
            if (!detail::state_fits(node.moment1, node.value) || !detail::state_fits(node.moment2, node.value)) {
                detail::reset_state(node.moment1, node.value);
                detail::reset_state(node.moment2, node.value);
            }
        }
    }

    void step()
    {
        const auto t = static_cast<double>(++steps_);
        const double lr = options_.lr, wd = options_.weight_decay;
        const bool decoupled = options_.decoupled_weight_decay;
        // theta <- decay * theta - step_size * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), PyTorch's arrangement
        // of the update above (eps is added to sqrt(v_hat), not to sqrt(v)).
        const T b1 = T(options_.beta1), b2 = T(options_.beta2);
        const T one_minus_b1 = T(1 - options_.beta1), one_minus_b2 = T(1 - options_.beta2);
        const T step_size = T(lr / (1 - std::pow(options_.beta1, t)));
        const T inv_sqrt_bc2 = T(1 / std::sqrt(1 - std::pow(options_.beta2, t)));
        const T eps = T(options_.eps);
        const T l2 = decoupled ? T(0) : T(wd);
        const T decay = decoupled ? T(1 - lr * wd) : T(1);
        const bool add_l2 = l2 != T(0), scale_theta = decay != T(1);

        for (const auto& p : params_) {
            if (!p.trainable()) continue;
            detail::check_unchanged(name(), p, true, true);
            auto& node = p.node();
            T* theta = node.value.data();
            T* grad = node.adjoint.data();
            T* m = node.moment1.data();
            T* v = node.moment2.data();
            simd::for_each_block<T>(1, p.size(), [&]<class V>(std::size_t, std::size_t i) {
                using std::sqrt;
                V th = simd::load<V>(theta + i);
                V g = simd::load<V>(grad + i);
                if (add_l2) g = g + V(l2) * th;
                const V mi = V(b1) * simd::load<V>(m + i) + V(one_minus_b1) * g;
                const V vi = V(b2) * simd::load<V>(v + i) + V(one_minus_b2) * (g * g);
                simd::store<V>(m + i, mi);
                simd::store<V>(v + i, vi);
                if (scale_theta) th = V(decay) * th;
                th = th - V(step_size) * mi / (sqrt(vi) * V(inv_sqrt_bc2) + V(eps));
                simd::store<V>(theta + i, th);
                simd::store<V>(grad + i, V(T(0)));
            });
        }
    }

    // Zero is allowed here (a schedule may decay to it), a negative or non-finite rate is not.
    void set_lr(double lr)
    {
        detail::check_lr(name(), lr, true);
        options_.lr = lr;
    }
    double lr() const { return options_.lr; }
    // t of the last step; the next step uses t + 1 in the bias correction.
    std::int64_t steps() const { return steps_; }
    // Restores t when resuming from a checkpoint whose moments the parameters carry.
    void set_steps(std::int64_t steps)
    {
        if (steps < 0) throw_usage_error(name(), "steps must be >= 0, got ", steps);
        steps_ = steps;
    }
    const AdamOptions& options() const { return options_; }
    const std::vector<Param<T>>& parameters() const { return params_; }
    void zero_grad()
    {
        for (const auto& p : params_) p.zero_grad();
    }

private:
    std::string_view name() const { return options_.decoupled_weight_decay ? "AdamW" : "Adam"; }

    static void check_beta(std::string_view name, const char* which, double beta)
    {
        if (!(beta >= 0 && beta < 1)) throw_usage_error(name, which, " must be in [0, 1), got ", beta);
    }

    std::vector<Param<T>> params_;
    AdamOptions options_;
    std::int64_t steps_ = 0;
};

template <class T>
class AdamW : public Adam<T> {
public:
    explicit AdamW(std::vector<Param<T>> params, AdamWOptions options = {})
        : Adam<T>(std::move(params), AdamOptions{.lr = options.lr,
                                                 .beta1 = options.beta1,
                                                 .beta2 = options.beta2,
                                                 .eps = options.eps,
                                                 .weight_decay = options.weight_decay,
                                                 .decoupled_weight_decay = true})
    {
    }
};

}  // namespace bijou
