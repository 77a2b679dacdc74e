// Training an INN and a cINN side by side on one inverse problem, for the programs that compare the two
// (eight_modes, inverse_kinematics): both get the same optimiser, cosine schedule, clipping, batch size
// and number of steps, so that their results compare on equal terms. Each writes a CSV log of its
// losses, prints progress about 20 times, and reports its wall time.
//
//   auto options = examples::inn_fit_options<float>(batch, steps, lr, seed + 1);
//   options.loss.weights = {...};
//   const auto inn_fit = examples::train_inn(inn, x, y, options, out / "log_inn.csv");
//   const auto cinn_fit = examples::train_cinn(cinn, x, y, batch, steps, lr, seed + 3, out / "log_cinn.csv");
//
// Simulation-based training, where the forward model is cheap: instead of a fixed set of pairs, a
// simulator draws every step's minibatch afresh, x ~ prior and y = s(x), from a generator seeded by
// (seed, step), so that no pair is seen twice and nothing can be memorised:
//   examples::Simulator<float> simulate = [](Tensor<float>& x, Tensor<float>& y, std::mt19937_64& rng) {...};
//   train_cinn(cinn, {.simulate = simulate, .y_noise = 0.01}, fit_options, log_path);
//   train_inn_simulated(inn, simulate, inn_options, log_path);
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <utility>
#include <vector>

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
    // Data parallel under mpirun (bijou::world()): the root alone logs.
    const bool root = world().is_root();
    std::optional<CsvLog> log;
    if (root) log.emplace(log_path, "step,total,L_y,L_z,L_x,L_pad,L_rec,lr");
    const auto loss = options.loss;
    const std::int64_t every = options.log_every;
    options.processes = &world();
    options.on_step = [&](std::int64_t step, const flows::InnLosses& l, double rate) {
        if (!root) return true;
        log->row(step, l.total(loss, step - 1), l.y, l.z, l.x, l.padding, l.reconstruction, rate);
        if (step % every == 0)
            std::printf("INN  step %6lld  L_y %.5f  L_z %.5f  L_x %.5f  L_pad %.5f  L_rec %.5f\n", (long long)step, l.y,
                        l.z, l.x, l.padding, l.reconstruction);
        return true;
    };
    const auto start = std::chrono::steady_clock::now();
    const auto report = flows::fit(inn, x, y, options);
    const TimedFit fit{detail::seconds_since(start), report.median_step_ms, report.steps_run};
    if (root) std::printf("INN trained in %.1f s (median step %.2f ms)\n", fit.seconds, fit.median_step_ms);
    return fit;
}

// simulate(x, y, rng): fills the B x x_dim and B x y_dim tensors with fresh pairs x ~ prior, y = s(x).
template <class T>
using Simulator = std::function<void(Tensor<T>& x, Tensor<T>& y, std::mt19937_64& rng)>;

namespace detail {
inline std::uint64_t step_seed(std::uint64_t seed, std::int64_t step, std::uint64_t salt)
{
    return bijou::detail::splitmix64(seed ^ bijou::detail::splitmix64(std::uint64_t(step) + salt));
}
}  // namespace detail

// What a cINN trains on: a fixed set of pairs (x, y), or a simulator drawing fresh pairs every step; and
// optionally N(0, y_noise^2) added to each step's conditions (a smoothed likelihood for a deterministic
// forward model, whose exact posteriors are thin manifolds).
template <class T>
struct CinnData {
    const Tensor<T>* x = nullptr;
    const Tensor<T>* y = nullptr;
    Simulator<T> simulate = {};
    double y_noise = 0;
};

// The cINN's NLL as an objective of train(): rows of the fixed pairs or a simulated minibatch, noise
// drawn from a generator seeded by (seed, step).
template <class Flow>
class CinnObjective {
    using T = typename Flow::value_type;
    using ProgramType = decltype(std::declval<const Flow&>().loss_program(std::declval<const Input<T>&>(),
                                                                          std::declval<const Input<T>&>()));

public:
    CinnObjective(const Flow& flow, CinnData<T> data, std::uint64_t seed)
        : data_(std::move(data)), seed_(seed), x_in_(flow.dim(), "x"), c_in_(flow.condition_dim(), "c"),
          program_(flow.loss_program(x_in_, c_in_))
    {
    }
    void bind(std::size_t batch) { program_.bind(batch); }
    void load(const std::size_t* rows, std::size_t count, std::int64_t step)
    {
        fill(x_in_.value(), c_in_.value(), rows, count, step);
    }
    // Data parallel (ShardableObjective): the global batch is drawn as one process would draw it, into
    // buffers allocated here, and this process's rows of it go into the program.
    void bind_shard(BatchShard shard)
    {
        shard_ = shard;
        program_.bind(shard.count);
        whole_x_ = Tensor<T>::from_shape({shard.batch, x_in_.value().shape()[1]});
        whole_c_ = Tensor<T>::from_shape({shard.batch, c_in_.value().shape()[1]});
    }
    void load_shard(const std::size_t* rows, std::int64_t step)
    {
        fill(whole_x_, whole_c_, rows, shard_.batch, step);
        const std::size_t nx = whole_x_.shape()[1], nc = whole_c_.shape()[1];
        std::copy_n(whole_x_.data() + shard_.first * nx, shard_.count * nx, x_in_.value().data());
        std::copy_n(whole_c_.data() + shard_.first * nc, shard_.count * nc, c_in_.value().data());
    }
    double forward(std::int64_t)
    {
        program_.forward();
        return double(program_.value()(0, 0));
    }
    void backward(std::int64_t) { program_.backward(); }

private:
    // The minibatch of `count` rows (x, its conditions c) of update `step`.
    void fill(Tensor<T>& x, Tensor<T>& c, const std::size_t* rows, std::size_t count, std::int64_t step)
    {
        rng_.seed(detail::step_seed(seed_, step, 0xc1));
        if (data_.simulate) {
            data_.simulate(x, c, rng_);
        } else {
            const std::size_t nx = x.shape()[1], nc = c.shape()[1];
            for (std::size_t r = 0; r < count; ++r) {
                std::copy_n(data_.x->data() + rows[r] * nx, nx, x.data() + r * nx);
                std::copy_n(data_.y->data() + rows[r] * nc, nc, c.data() + r * nc);
            }
        }
        if (data_.y_noise > 0) {
            std::normal_distribution<double> normal;
            for (auto& v : c) v += T(data_.y_noise * normal(rng_));
        }
    }

    CinnData<T> data_;
    std::uint64_t seed_;
    std::mt19937_64 rng_;
    Input<T> x_in_, c_in_;
    ProgramType program_;
    BatchShard shard_;
    Tensor<T> whole_x_, whole_c_;  // data parallel: the global batch
};

// Fits the conditional flow by maximum likelihood on x given y through train() with the given options
// (batch, steps, lr, schedule, betas, clipping, seed); logs step, NLL and lr.
template <class Flow, class T>
TimedFit train_cinn(Flow& cinn, const CinnData<T>& data, FitOptions<T> options, const std::filesystem::path& log_path)
{
    // Data parallel under mpirun (bijou::world()): the root alone logs.
    const bool root = world().is_root();
    std::optional<CsvLog> log;
    if (root) log.emplace(log_path, "step,nll,lr");
    const std::int64_t every = std::max<std::int64_t>(1, options.steps / 20);
    options.processes = &world();
    options.on_step = [&](std::int64_t step, double loss, double rate) {
        if (!root) return true;
        log->row(step, loss, rate);
        if (step % every == 0) std::printf("cINN step %6lld  nll %.4f\n", (long long)step, loss);
        return true;
    };
    CinnObjective<Flow> objective(cinn, data, options.seed);
    // Simulated data has no epochs: train() shuffles a single batch of row indices, which the objective ignores.
    const std::size_t rows = data.simulate ? options.batch_size : data.x->shape()[0];
    const auto start = std::chrono::steady_clock::now();
    const auto report = train(cinn.parameters(), objective, rows, options);
    const TimedFit fit{detail::seconds_since(start), report.median_step_ms, report.steps_run};
    if (root) std::printf("cINN trained in %.1f s (median step %.2f ms)\n", fit.seconds, fit.median_step_ms);
    return fit;
}

// Fits the conditional flow by maximum likelihood on the fixed pairs (x, y), with the INN's schedule,
// clipping and batch size (and fit()'s default Adam betas).
template <class Flow, class T>
TimedFit train_cinn(Flow& cinn, const Tensor<T>& x, const Tensor<T>& y, std::size_t batch, std::int64_t steps,
                    double lr, std::uint64_t seed, const std::filesystem::path& log_path)
{
    FitOptions<T> options{.batch_size = batch, .steps = steps, .lr = lr,
                          .schedule = CosineDecay{.base = lr, .min_lr = lr / 50, .total_steps = steps},
                          .max_grad_norm = 10, .seed = seed};
    return train_cinn(cinn, CinnData<T>{.x = &x, .y = &y}, options, log_path);
}

// The INN's bidirectional loss on simulated minibatches, as an objective of train().
template <class T, class Block>
class SimulatedInnObjective {
public:
    SimulatedInnObjective(flows::InnLoss<T, Block>& loss, Simulator<T> simulate, std::uint64_t seed)
        : loss_(loss), simulate_(std::move(simulate)), seed_(seed)
    {
    }
    void bind(std::size_t batch)
    {
        loss_.bind(batch);
        x_ = Tensor<T>::from_shape({batch, x_dim_});
        y_ = Tensor<T>::from_shape({batch, y_dim_});
        rows_.resize(batch);
        std::iota(rows_.begin(), rows_.end(), std::size_t{0});
    }
    void set_dims(std::size_t x_dim, std::size_t y_dim) { x_dim_ = x_dim, y_dim_ = y_dim; }
    void load(const std::size_t*, std::size_t, std::int64_t step)
    {
        rng_.seed(detail::step_seed(seed_, step, 0x1ee7));
        simulate_(x_, y_, rng_);
        loss_.set_batch(x_, y_, rows_.data(), rng_);
    }
    double forward(std::int64_t step)
    {
        last_ = loss_.forward();
        return last_.total(loss_.options(), step - 1);
    }
    void backward(std::int64_t step) { loss_.backward(step - 1); }
    const flows::InnLosses& last() const { return last_; }

private:
    flows::InnLoss<T, Block>& loss_;
    Simulator<T> simulate_;
    std::uint64_t seed_;
    std::size_t x_dim_ = 0, y_dim_ = 0;
    std::mt19937_64 rng_;
    Tensor<T> x_, y_;
    std::vector<std::size_t> rows_;
    flows::InnLosses last_{};
};

// Fits the INN with the bidirectional loss on fresh simulated pairs every step; logs as train_inn.
template <class T, class Block>
TimedFit train_inn_simulated(flows::INN<T, Block>& inn, Simulator<T> simulate, const flows::InnFitOptions<T>& options,
                             const std::filesystem::path& log_path)
{
    CsvLog log(log_path, "step,total,L_y,L_z,L_x,L_pad,L_rec,lr");
    const std::int64_t every = options.log_every;
    flows::InnLoss<T, Block> loss(inn, options.loss);
    SimulatedInnObjective<T, Block> objective(loss, std::move(simulate), options.seed);
    objective.set_dims(inn.layout().x_dim, inn.layout().y_dim);
    FitOptions<T> loop{.batch_size = options.batch_size, .steps = options.steps, .lr = options.lr,
                       .schedule = options.schedule, .weight_decay = options.weight_decay, .beta1 = options.beta1,
                       .beta2 = options.beta2, .max_grad_norm = options.max_grad_norm, .seed = options.seed};
    loop.on_step = [&](std::int64_t step, double, double rate) {
        const flows::InnLosses& l = objective.last();
        log.row(step, l.total(options.loss, step - 1), l.y, l.z, l.x, l.padding, l.reconstruction, rate);
        if (step % every == 0)
            std::printf("INN  step %6lld  L_y %.5f  L_z %.5f  L_x %.5f  L_pad %.5f  L_rec %.5f\n", (long long)step, l.y,
                        l.z, l.x, l.padding, l.reconstruction);
        return true;
    };
    const auto start = std::chrono::steady_clock::now();
    const auto report = train(inn.parameters(), objective, options.batch_size, loop);
    const TimedFit fit{detail::seconds_since(start), report.median_step_ms, report.steps_run};
    std::printf("INN trained in %.1f s (median step %.2f ms)\n", fit.seconds, fit.median_step_ms);
    return fit;
}

}  // namespace bijou::examples
