// Training an INN and a cINN side by side on one inverse problem, for the programs that compare the two
// (eight_modes, inverse_kinematics): both get the same optimiser, cosine schedule, clipping, batch size
// and number of steps, so that their results compare on equal terms. Each writes a CSV log of its
// losses, prints progress about 20 times, and reports its wall time.
//
//   auto options = examples::inn_fit_options<float>(batch, steps, lr, seed + 1);
//   options.loss.weights = {...};
//   const auto inn_fit = examples::train_inn(inn, x, y, options, out / "log_inn.csv");
//   const auto cinn_fit = examples::train_cinn(cinn, x, y, batch, steps, lr, seed + 3, out / "log_cinn.csv");
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include <bijou/examples/common/csv_log.hpp>
#include <bijou/flows/fit.hpp>
#include <bijou/flows/inn.hpp>

namespace bijou::examples {

struct TimedFit {
    double seconds = 0;
    double median_step_ms = 0;
    std::int64_t steps_run = 0;
};

// The shared optimiser settings: Adam (0.9, 0.95), cosine decay to lr / 50, clipping at norm 10.
template <class T>
flows::InnFitOptions<T> inn_fit_options(std::size_t batch, std::int64_t steps, double lr, std::uint64_t seed)
{
    return {.batch_size = batch, .steps = steps, .lr = lr,
            .schedule = CosineDecay{.base = lr, .min_lr = lr / 50, .total_steps = steps},
            .beta1 = 0.9, .beta2 = 0.95, .max_grad_norm = 10, .seed = seed,
            .log_every = std::max<std::int64_t>(1, steps / 20)};
}

namespace detail {
inline double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace detail

// Fits the INN with the bidirectional loss; logs step, weighted total, the five terms and the lr.
template <class T, class Block>
TimedFit train_inn(flows::INN<T, Block>& inn, const Tensor<T>& x, const Tensor<T>& y, flows::InnFitOptions<T> options,
                   const std::filesystem::path& log_path)
{
    CsvLog log(log_path, "step,total,L_y,L_z,L_x,L_pad,L_rec,lr");
    const auto loss = options.loss;
    const std::int64_t every = options.log_every;
    options.on_step = [&](std::int64_t step, const flows::InnLosses& l, double rate) {
        log.row(step, l.total(loss, step - 1), l.y, l.z, l.x, l.padding, l.reconstruction, rate);
        if (step % every == 0)
            std::printf("INN  step %6lld  L_y %.5f  L_z %.5f  L_x %.5f  L_pad %.5f  L_rec %.5f\n", (long long)step, l.y,
                        l.z, l.x, l.padding, l.reconstruction);
        return true;
    };
    const auto start = std::chrono::steady_clock::now();
    const auto report = flows::fit(inn, x, y, options);
    const TimedFit fit{detail::seconds_since(start), report.median_step_ms, report.steps_run};
    std::printf("INN trained in %.1f s (median step %.2f ms)\n", fit.seconds, fit.median_step_ms);
    return fit;
}

// Fits the conditional flow by maximum likelihood on x given y, with the INN's schedule, clipping and
// batch size (and fit()'s default Adam betas); logs step, NLL and lr.
template <class Flow, class T>
TimedFit train_cinn(Flow& cinn, const Tensor<T>& x, const Tensor<T>& y, std::size_t batch, std::int64_t steps,
                    double lr, std::uint64_t seed, const std::filesystem::path& log_path)
{
    CsvLog log(log_path, "step,nll,lr");
    const std::int64_t every = std::max<std::int64_t>(1, steps / 20);
    FitOptions<T> options{.batch_size = batch, .steps = steps, .lr = lr,
                          .schedule = CosineDecay{.base = lr, .min_lr = lr / 50, .total_steps = steps},
                          .max_grad_norm = 10, .seed = seed};
    options.on_step = [&](std::int64_t step, double loss, double rate) {
        log.row(step, loss, rate);
        if (step % every == 0) std::printf("cINN step %6lld  nll %.4f\n", (long long)step, loss);
        return true;
    };
    const auto start = std::chrono::steady_clock::now();
    const auto report = cinn.fit(x, y, options);
    const TimedFit fit{detail::seconds_since(start), report.median_step_ms, report.steps_run};
    std::printf("cINN trained in %.1f s (median step %.2f ms)\n", fit.seconds, fit.median_step_ms);
    return fit;
}

}  // namespace bijou::examples
