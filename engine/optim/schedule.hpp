// Learning-rate schedules: callables double(std::int64_t step), step = 0, 1, 2, ... counting the updates
// already taken. Use one with an optimizer as
//   optimizer.set_lr(schedule(optimizer.steps()));  optimizer.step();
// so schedule(0) is the rate of the first update. Each is an aggregate, built with designated
// initializers (CosineDecay{.base = 1e-3, .min_lr = 1e-5, .total_steps = 10000, .warmup_steps = 500});
// a call with a negative step or inconsistent fields throws bijou::usage_error.
//
//   ConstantLr:        lr
//   StepDecay:         base * factor^floor(step / every)
//   ExponentialDecay:  base * gamma^step
//   CosineDecay:       base * (step + 1) / warmup_steps                                 for step < warmup_steps
//                      min_lr + (base - min_lr) * (1 + cos(pi * p)) / 2,
//                          p = min(1, (step - warmup_steps) / (total_steps - warmup_steps))  afterwards
//                      The warm-up ends at base on its last step; the cosine starts at base and reaches
//                      min_lr at step total_steps, staying there.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>
#include <type_traits>

#include <bijou/engine/error.hpp>

namespace bijou {

template <class S>
concept LrSchedule = std::invocable<const S&, std::int64_t> &&
                     std::convertible_to<std::invoke_result_t<const S&, std::int64_t>, double>;

namespace detail {
inline void check_step(const char* schedule, std::int64_t step)
{
    if (step < 0) throw_usage_error(schedule, "step must be >= 0, got ", step);
}
}  // namespace detail

struct ConstantLr {
    double lr;

    double operator()(std::int64_t step) const
    {
        detail::check_step("ConstantLr", step);
        return lr;
    }
};

struct StepDecay {
    double base;
    double factor;
    std::int64_t every;

    double operator()(std::int64_t step) const
    {
        detail::check_step("StepDecay", step);
        if (every <= 0) throw_usage_error("StepDecay", "every must be > 0, got ", every);
        return base * std::pow(factor, static_cast<double>(step / every));
    }
};

struct ExponentialDecay {
    double base;
    double gamma;

    double operator()(std::int64_t step) const
    {
        detail::check_step("ExponentialDecay", step);
        return base * std::pow(gamma, static_cast<double>(step));
    }
};

struct CosineDecay {
    double base;
    double min_lr;
    std::int64_t total_steps;
    std::int64_t warmup_steps = 0;

    double operator()(std::int64_t step) const
    {
        detail::check_step("CosineDecay", step);
        if (warmup_steps < 0 || warmup_steps >= total_steps)
            throw_usage_error("CosineDecay", "needs 0 <= warmup_steps < total_steps, got warmup_steps ", warmup_steps,
                              " and total_steps ", total_steps);
        if (step < warmup_steps) return base * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
        const double progress =
            std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps));
        return min_lr + (base - min_lr) * (1 + std::cos(std::numbers::pi * progress)) / 2;
    }
};

static_assert(LrSchedule<ConstantLr> && LrSchedule<StepDecay> && LrSchedule<ExponentialDecay> &&
              LrSchedule<CosineDecay>);

}  // namespace bijou
