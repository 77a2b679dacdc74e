// train: the one training loop. Flows (fit), conditional flows, INNs, classifiers, autoencoders and
// regressions all train through it, so they share one set of optimiser settings (FitOptions: Adam's
// betas and epsilon, AdamW's weight decay, clipping, the schedule), one minibatch order, early stopping,
// resumption and the report.
//
//   ProgramObjective objective(Columns<T, 2>{{&images, &labels}},
//                              [&](const auto& in) { return Program(cross_entropy(net(in[0]), in[1])); });
//   FitReport report = train(net.parameters(), objective, FitOptions<T>{.batch_size = 128, .steps = 2000});
//
// An objective (the TrainingObjective concept) is what a step evaluates: bind(batch) once, then per
// update k = 1, 2, ...: load(rows, batch, k) fills its inputs with those rows of the training data (and
// whatever else the step draws: noise, prior samples), forward(k) returns the minibatch loss, backward(k)
// leaves the gradients on the parameters. ProgramObjective is the common case: K aligned data tensors
// copied into a program's inputs, whose value is the loss.
//
// One step: rows through a per-epoch shuffled permutation, load, forward, backward, optional clipping of
// the global gradient norm, the scheduled learning rate, Adam's update. An epoch is n / batch_size whole
// minibatches; the n % batch_size rows left over are skipped for that epoch (a different few each time),
// so every step has the same batch size and the objective is bound once. The loss reported for step k is
// the minibatch loss its gradient came from, its rate schedule(k - 1). The shuffle of epoch e is a
// function of (seed, e) alone, so a run is reproducible from its options and resumable at any step.
//
// Validation (optional, a callable returning the validation loss): before training (step 0), every
// validate_every steps and after the last step. With patience > 0, training stops after that many
// evaluations in a row without an improvement of more than min_improvement; with restore_best (the
// default) the parameters of the best evaluation are restored at the end, whatever ended the run. A
// non-finite validation loss is never the best: it ends the run (StopReason::non_finite_validation), and
// the best finite evaluation's parameters are restored; if there was none, the parameters are left as
// they are and best_step is -1.
//
// Allocation: everything is allocated before the first step (the objective bound to the batch size, the
// permutation, the best-parameter copy, the report's histories reserved for the whole run). A step, and a
// validation pass through DatasetLoss, allocate nothing, unless a `log` stream or the on_step callback does.
//
// A non-finite loss or gradient norm ends the run (StopReason::non_finite) before it can corrupt the
// parameters further.
//
// Data parallel (options.processes, a ProcessGroup of P > 1 processes, e.g. &world() under mpirun): every
// process holds the whole data set and the model and walks the same global minibatch sequence as a
// one-process run with the same seed; process r computes rows [B r / P, B (r + 1) / P) of each global
// batch of B rows (its BatchShard). Because the loss is a mean over rows, the global loss and gradient are
// the shards' means weighted by their row counts: one sum over all processes per step, of one contiguous
// buffer (the weighted gradients and the loss, in the parameters' type, allocated before the first
// step), gives every process the same gradient, so the clipping, the rate and Adam's update are the same everywhere and the
// parameters stay identical (they are broadcast from the root once, before the first step, so processes
// that initialised differently still agree). The result equals the one-process run's up to the order of
// floating-point summation. The validation callable runs on every process (fit()'s DatasetLoss shares its
// rows among them); only the root writes to `log`. The objective must model ShardableObjective (train()
// refuses one that does not): its loss on a shard must be such that the shards' losses weighted by their
// row counts sum to the batch's. A mean of per-row terms is (ProgramObjective); so is the INN's loss,
// whose MMD terms pair each process's rows with all rows of the batch (flows/mmd.hpp, shared_mmd, over
// engine/parallel/gather_rows.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/adam.hpp>
#include <bijou/engine/optim/clip.hpp>
#include <bijou/engine/parallel/process_group.hpp>

namespace bijou {

template <class T>
struct FitOptions {
    std::size_t batch_size = 256;  // capped at the number of training rows
    std::int64_t steps = 1000;     // optimizer updates
    std::int64_t epochs = 0;       // if > 0, replaces steps: epochs * (rows / batch_size) updates

    double lr = 1e-3;
    // The rate of update k (k = 0, 1, ...: updates taken so far), e.g. CosineDecay{...}; empty = lr throughout.
    std::function<double(std::int64_t)> schedule = {};
    double weight_decay = 0;    // AdamW's decoupled decay, theta <- theta (1 - lr weight_decay); 0 = Adam
    double beta1 = 0.9;         // Adam's decay rates of the first and second moment estimates,
    double beta2 = 0.999;       // each in [0, 1)
    double epsilon = 1e-8;      // Adam's denominator floor, > 0
    double max_grad_norm = 0;   // clip the global gradient norm to this (engine/optim/clip.hpp); 0 = off
    std::uint64_t seed = 0;     // of the minibatch shuffle
    // Resuming: the updates already taken by the run being continued. The parameters (and their Adam
    // moments, restored from a checkpoint) must be those after that many steps; training continues with
    // step start_step + 1 on the same minibatch sequence, rates and bias correction as the original run,
    // so the loss curve continues exactly. (Early stopping restarts its patience count.)
    std::int64_t start_step = 0;

    // A per-step edit of the training minibatch, for data augmentation and dequantisation:
    // transform_batch(batch, k) is called before update k with the batch_size x dim rows just copied into
    // the training program's input, and may change their values in place (not the tensor's shape or
    // storage, which the program reads; a conditional flow's conditions are not passed). Seed its
    // randomness by k, not with a generator carried across calls, and a resumed run sees the same
    // batches as the uninterrupted one. It must not allocate if the step is to stay allocation-free.
    // Validation data is not transformed: pass it in its final form.
    std::function<void(Tensor<T>& batch, std::int64_t step)> transform_batch = {};

    // Validation: the held-out data (and its conditions, for a conditional flow), read in place; for
    // train() over an objective of its own, the validation loss is a callable instead (below).
    const Tensor<T>* validation = nullptr;
    const Tensor<T>* validation_condition = nullptr;
    std::int64_t validate_every = 100;
    std::int64_t patience = 0;             // evaluations without improvement before stopping; 0 = never stop
    double min_improvement = 0;            // an evaluation improves on the best if lower by more than this
    bool restore_best = true;              // end with the parameters of the best evaluation
    std::size_t validation_batch_size = 1024;

    // Progress: on_step(step, loss, lr) after every update; return false to stop.
    std::function<bool(std::int64_t, double, double)> on_step = {};
    std::int64_t log_every = 1;  // the report (and `log`) records the mean loss of each log_every steps
    std::ostream* log = nullptr; // one line per log_every steps and per evaluation

    // Data-parallel training over these processes (see train()); nullptr or a group of one: this process alone.
    const ProcessGroup* processes = nullptr;
};

// The rows of each global minibatch of `batch` rows that this process computes: [first, first + count).
struct BatchShard {
    std::size_t batch = 0;
    std::size_t first = 0;
    std::size_t count = 0;

    // Process `rank` of `size`: an even share, the larger shards last.
    static BatchShard of(std::size_t batch, int rank, int size)
    {
        const std::size_t first = batch * std::size_t(rank) / std::size_t(size);
        const std::size_t last = batch * std::size_t(rank + 1) / std::size_t(size);
        return {batch, first, last - first};
    }
};

enum class StopReason {
    completed,       // every step ran
    early_stopping,  // patience ran out
    callback,        // on_step returned false
    non_finite,      // the loss or the gradient norm was inf or NaN; that step was not taken
    non_finite_validation,  // the validation NLL was inf or NaN (never counted as the best evaluation)
};

// The reason's name, as programs write it to metrics.json ("early_stopping", ...).
inline const char* to_string(StopReason reason)
{
    switch (reason) {
    case StopReason::completed: return "completed";
    case StopReason::early_stopping: return "early_stopping";
    case StopReason::callback: return "callback";
    case StopReason::non_finite: return "non_finite";
    case StopReason::non_finite_validation: return "non_finite_validation";
    }
    return "unknown";
}

struct LossPoint {
    std::int64_t step;
    double loss;
};

struct FitReport {
    std::vector<LossPoint> losses;      // mean training loss over each window of log_every steps, at its last step
    std::vector<LossPoint> validation;  // the validation NLL at each evaluation (step 0: before training)
    double best_validation_nll = std::numeric_limits<double>::quiet_NaN();
    std::int64_t best_step = -1;        // the step whose parameters gave it (restored if restore_best);
                                        // -1 if no evaluation was finite (then nothing is restored)
    std::int64_t steps_run = 0;
    StopReason stop_reason = StopReason::completed;
    double median_step_ms = 0;          // wall time of a training step (batch copy to optimizer update)
    int processes = 1;                  // that computed each step (data parallel: see train())
    double median_sum_ms = 0;           // of each step, the wall time of the sum over processes (0 alone)
};

namespace detail {

// The learning rate of update k + 1: schedule(k), or the constant lr without a schedule. A schedule that
// returns a negative or non-finite rate is an error at that step, before the update.
inline double scheduled_lr(std::string_view where, const std::function<double(std::int64_t)>& schedule, double lr,
                           std::int64_t k)
{
    if (!schedule) return lr;
    const double scheduled = schedule(k);
    if (!(scheduled >= 0) || !std::isfinite(scheduled))
        throw_usage_error(where, "the schedule gave lr ", scheduled, " at step ", k, "; it must return a finite lr >= 0");
    return scheduled;
}

// splitmix64 (Steele, Lea, Flood 2014): decorrelates the generator seeds of consecutive epochs.
inline std::uint64_t splitmix64(std::uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// K aligned data tensors (the data, and the conditions of a conditional flow) and the program inputs
// that receive their rows.
template <class T, std::size_t K>
struct Columns {
    std::array<const Tensor<T>*, K> data;

    std::size_t rows() const { return data[0]->shape()[0]; }

    // Rows order[0, count) into each input's bound buffer (count rows).
    void gather(const std::array<Input<T>, K>& inputs, const std::size_t* order, std::size_t count) const
    {
        gather_from(0, inputs, order, count);
    }
    // The same for the tensors from `first_tensor` on.
    void gather_from(std::size_t first_tensor, const std::array<Input<T>, K>& inputs, const std::size_t* order,
                     std::size_t count) const
    {
        for (std::size_t k = first_tensor; k < K; ++k) {
            const std::size_t cols = data[k]->shape()[1];
            const T* source = data[k]->data();
            T* target = inputs[k].value().data();
            for (std::size_t r = 0; r < count; ++r) std::copy_n(source + order[r] * cols, cols, target + r * cols);
        }
    }
    // Rows [first, first + count), contiguous.
    void copy_range(const std::array<Input<T>, K>& inputs, std::size_t first, std::size_t count) const
    {
        for (std::size_t k = 0; k < K; ++k) {
            const std::size_t cols = data[k]->shape()[1];
            std::copy_n(data[k]->data() + first * cols, count * cols, inputs[k].value().data());
        }
    }
};

template <class T, std::size_t K>
std::array<Input<T>, K> make_inputs(const Columns<T, K>& columns)
{
    static constexpr const char* names[] = {"x", "c"};
    std::array<Input<T>, K> inputs;
    for (std::size_t k = 0; k < K; ++k) inputs[k] = Input<T>(columns.data[k]->shape()[1], names[k]);
    return inputs;
}

// The mean loss (a flow's NLL) of a whole data set, in chunks of `chunk` rows through one program and the remainder
// through a second, each bound once, so an evaluation allocates nothing. With a group of processes, each
// evaluates its share of the rows and one sum over the group gives every process the mean.
template <class T, std::size_t K, class MakeProgram>
class DatasetLoss {
    using ProgramType = std::invoke_result_t<const MakeProgram&, const std::array<Input<T>, K>&>;

public:
    DatasetLoss(Columns<T, K> columns, std::size_t chunk, const MakeProgram& make,
                const ProcessGroup* processes = nullptr)
        : columns_(columns), processes_(processes && processes->parallel() ? processes : nullptr),
          share_(processes_ ? BatchShard::of(columns.rows(), processes_->rank(), processes_->size())
                            : BatchShard{columns.rows(), 0, columns.rows()}),
          chunk_(std::min(chunk, share_.count)), rest_(chunk_ > 0 ? share_.count % chunk_ : 0),
          chunk_inputs_(make_inputs(columns)), rest_inputs_(make_inputs(columns))
    {
        if (chunk_ > 0) {
            chunk_program_.emplace(make(chunk_inputs_));
            chunk_program_->bind(chunk_, Gradients::off);
        }
        if (rest_ > 0) {
            rest_program_.emplace(make(rest_inputs_));
            rest_program_->bind(rest_, Gradients::off);
        }
    }

    double operator()()
    {
        const std::size_t end = share_.first + share_.count;
        double total = 0;  // sum over rows of the loss (-log p), accumulated in double
        std::size_t first = share_.first;
        if (chunk_ > 0)
            for (; first + chunk_ <= end; first += chunk_) total += run(*chunk_program_, chunk_inputs_, first, chunk_);
        if (rest_ > 0) total += run(*rest_program_, rest_inputs_, first, rest_);
        if (processes_) processes_->sum(std::span<double>(&total, 1));
        return total / double(columns_.rows());
    }

private:
    double run(ProgramType& program, const std::array<Input<T>, K>& inputs, std::size_t first, std::size_t count)
    {
        columns_.copy_range(inputs, first, count);
        program.forward();
        return double(program.value()(0, 0)) * double(count);  // the program's mean, back to a sum
    }

    Columns<T, K> columns_;
    const ProcessGroup* processes_;
    BatchShard share_;  // this process's rows of the data set
    std::size_t chunk_, rest_;
    std::array<Input<T>, K> chunk_inputs_, rest_inputs_;
    std::optional<ProgramType> chunk_program_, rest_program_;
};

template <class T>
void check_fit_options(const FitOptions<T>& o)
{
    if (o.batch_size == 0) throw_usage_error("fit", "batch_size must be > 0");
    if (o.steps < 0) throw_usage_error("fit", "steps must be >= 0, got ", o.steps);
    if (o.epochs < 0) throw_usage_error("fit", "epochs must be >= 0, got ", o.epochs);
    if (o.start_step < 0) throw_usage_error("fit", "start_step must be >= 0, got ", o.start_step);
    if (!(o.lr > 0) || !std::isfinite(o.lr)) throw_usage_error("fit", "lr must be > 0 and finite, got ", o.lr);
    if (!(o.max_grad_norm >= 0)) throw_usage_error("fit", "max_grad_norm must be >= 0 (0 = no clipping), got ", o.max_grad_norm);
    if (o.validate_every < 1) throw_usage_error("fit", "validate_every must be >= 1, got ", o.validate_every);
    if (o.patience < 0) throw_usage_error("fit", "patience must be >= 0 (0 = never stop early), got ", o.patience);
    if (!(o.min_improvement >= 0)) throw_usage_error("fit", "min_improvement must be >= 0, got ", o.min_improvement);
    if (o.log_every < 1) throw_usage_error("fit", "log_every must be >= 1, got ", o.log_every);
    if (o.validation_batch_size == 0) throw_usage_error("fit", "validation_batch_size must be > 0");
    if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
        throw_usage_error("fit", "Adam's betas must lie in [0, 1), got beta1 ", o.beta1, ", beta2 ", o.beta2);
    if (!(o.epsilon > 0) || !std::isfinite(o.epsilon)) throw_usage_error("fit", "epsilon must be > 0 and finite, got ", o.epsilon);
    if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay))
        throw_usage_error("fit", "weight_decay must be finite and >= 0, got ", o.weight_decay);
}

}  // namespace detail

// What train() steps through (see the top of this file).
template <class O>
concept TrainingObjective = requires(O& o, const std::size_t* rows, std::size_t count, std::int64_t step) {
    o.bind(count);
    o.load(rows, count, step);
    { o.forward(step) } -> std::convertible_to<double>;
    o.backward(step);
};

// An objective train() can split among processes (data parallel): bind_shard(shard) instead of bind, then
// per update load_shard(rows, step) with the whole global batch's rows (shard.batch of them, in the order of
// a one-process run), of which it computes rows [shard.first, shard.first + shard.count). forward() returns
// the mean loss over those rows and backward() leaves the gradient of that mean: the loss must be a mean of
// per-row terms, so that the shards' means weighted by their row counts are the global batch's. Whatever
// the step draws (noise, dequantisation) must be drawn for the global batch, so that a shard sees what a
// one-process run gives its rows.
template <class O>
concept ShardableObjective = TrainingObjective<O> && requires(O& o, BatchShard shard, const std::size_t* rows,
                                                              std::int64_t step) {
    o.bind_shard(shard);
    o.load_shard(rows, step);
};

// An objective with more per-step values than its loss that are means over the shard's rows (an INN's
// five loss terms, for its report): shared_values() gives them after forward(), and in a data-parallel
// step train() replaces them by their weighted sum over the processes, in the same sum as the gradients.
template <class O>
concept ObjectiveWithSharedValues = requires(O& o) {
    { o.shared_values() } -> std::convertible_to<std::span<double>>;
};

// No validation: train()'s default.
struct NoValidation {};

// K aligned data tensors copied, a minibatch at a time, into the inputs of a loss program: make(inputs)
// builds a program whose value (1 x 1) is the minibatch's mean loss. transform, if set, edits the first
// input's rows in place after each copy (data augmentation, dequantisation; see FitOptions::transform_batch).
template <class T, std::size_t K, class MakeProgram>
class ProgramObjective {
    using ProgramType = std::invoke_result_t<const MakeProgram&, const std::array<Input<T>, K>&>;

public:
    ProgramObjective(detail::Columns<T, K> columns, const MakeProgram& make,
                     std::function<void(Tensor<T>&, std::int64_t)> transform = {})
        : columns_(columns), inputs_(detail::make_inputs(columns)), program_(make(inputs_)), transform_(std::move(transform))
    {
    }

    std::size_t rows() const { return columns_.rows(); }
    // Edits the first input's rows after each copy (see the class comment).
    void set_transform(std::function<void(Tensor<T>&, std::int64_t)> transform) { transform_ = std::move(transform); }
    void bind(std::size_t batch) { program_.bind(batch); }
    void load(const std::size_t* rows, std::size_t count, std::int64_t step)
    {
        columns_.gather(inputs_, rows, count);
        if (transform_) transform_(inputs_[0].value(), step);
    }
    // Data parallel (ShardableObjective): the transform sees the whole global batch, as in a one-process
    // run, and this process's rows of it are copied into the program.
    void bind_shard(BatchShard shard)
    {
        shard_ = shard;
        program_.bind(shard.count);
        if (transform_) whole_batch_ = Tensor<T>::from_shape({shard.batch, columns_.data[0]->shape()[1]});
    }
    void load_shard(const std::size_t* rows, std::int64_t step)
    {
        if (!transform_) {
            columns_.gather(inputs_, rows + shard_.first, shard_.count);
            return;
        }
        const std::size_t cols = whole_batch_.shape()[1];
        const T* source = columns_.data[0]->data();
        for (std::size_t r = 0; r < shard_.batch; ++r)
            std::copy_n(source + rows[r] * cols, cols, whole_batch_.data() + r * cols);
        transform_(whole_batch_, step);
        std::copy_n(whole_batch_.data() + shard_.first * cols, shard_.count * cols, inputs_[0].value().data());
        columns_.gather_from(1, inputs_, rows + shard_.first, shard_.count);
    }
    double forward(std::int64_t)
    {
        program_.forward();
        return double(program_.value()(0, 0));
    }
    void backward(std::int64_t) { program_.backward(); }

private:
    detail::Columns<T, K> columns_;
    std::array<Input<T>, K> inputs_;
    ProgramType program_;
    std::function<void(Tensor<T>&, std::int64_t)> transform_;
    BatchShard shard_;
    Tensor<T> whole_batch_;  // data parallel with a transform: the global batch it edits
};

// The objective of make(inputs) over the data tensors, aligned by row:
//   auto objective = program_objective([&](const auto& in) { return Program(mse(net(in[0]), in[1])); }, x, y);
template <class MakeProgram, class T, class... More>
auto program_objective(const MakeProgram& make, const Tensor<T>& first, const More&... more)
{
    constexpr std::size_t K = 1 + sizeof...(More);
    return ProgramObjective<T, K, MakeProgram>(detail::Columns<T, K>{{&first, &more...}}, make);
}

template <class T, std::size_t K, class MakeProgram>
ProgramObjective(detail::Columns<T, K>, const MakeProgram&) -> ProgramObjective<T, K, MakeProgram>;
template <class T, std::size_t K, class MakeProgram, class Transform>
ProgramObjective(detail::Columns<T, K>, const MakeProgram&, Transform) -> ProgramObjective<T, K, MakeProgram>;

// Trains `params` on the `rows` rows an objective reads, by the loop described at the top of this file.
// `validation`: NoValidation, or a callable returning the validation loss. The options' data fields
// (transform_batch, validation, validation_condition, validation_batch_size) are fit()'s, not read here.
template <class T, TrainingObjective Objective, class Validation = NoValidation>
FitReport train(const std::vector<Param<T>>& params, Objective& objective, std::size_t rows,
                const FitOptions<T>& options, Validation validation = {})
{
    using clock = std::chrono::steady_clock;
    constexpr bool validating = !std::is_same_v<Validation, NoValidation>;
    detail::check_fit_options(options);
    if (rows == 0) throw_shape_error("fit", "the training data has no rows");
    const std::size_t batch = std::min(options.batch_size, rows);
    const std::size_t batches_per_epoch = rows / batch;
    const std::int64_t total_steps =
        options.epochs > 0 ? options.epochs * static_cast<std::int64_t>(batches_per_epoch) : options.steps;
    if (options.start_step > total_steps)
        throw_usage_error("fit", "start_step ", options.start_step, " is beyond the run's last step ", total_steps,
                          " (steps or epochs x batches per epoch)");

    // Data parallel: this process's share of each global batch (see the top of this file).
    const ProcessGroup* group = options.processes && options.processes->parallel() ? options.processes : nullptr;
    BatchShard shard{batch, 0, batch};
    // The weighted gradients, then the loss, the stop requests and any shared values: one sum over the
    // group per step, in the gradients' own type (for two processes a float sum is the correctly rounded
    // one, as through double; measured on the digits RealNVP, 725504 parameters, the sum took 3.5 ms of a
    // 13.8 ms step in double), so a float model's loss reaches the report rounded to float.
    std::vector<T> summed;
    if (group) {
        if constexpr (!ShardableObjective<Objective>) {
            throw_usage_error("fit", "this objective cannot be trained data-parallel over ", group->size(),
                              " processes: it does not say how to compute a share of a batch (ShardableObjective: "
                              "bind_shard, load_shard); run it in one process");
        } else {
            if (batch < std::size_t(group->size()))
                throw_shape_error("fit", "a global batch of ", batch, " rows cannot be shared by ", group->size(),
                                  " processes: every process needs at least one row");
            shard = BatchShard::of(batch, group->rank(), group->size());
            std::size_t total = 2;  // the gradients, the loss and the stop requests, the shared values
            for (const auto& p : params) total += p.value().size();
            if constexpr (ObjectiveWithSharedValues<Objective>) total += objective.shared_values().size();
            summed.resize(total);
            // Every process starts from the root's parameters.
            for (const auto& p : params) group->broadcast(std::span<T>(p.value().data(), p.value().size()));
        }
    }

    // Everything a step touches is allocated here.
    if constexpr (ShardableObjective<Objective>) {
        if (group) objective.bind_shard(shard);
        else objective.bind(batch);
    } else {
        objective.bind(batch);
    }
    Adam<T> optimizer(params, AdamOptions{.lr = options.lr, .beta1 = options.beta1, .beta2 = options.beta2,
                                          .eps = options.epsilon, .weight_decay = options.weight_decay,
                                          .decoupled_weight_decay = true});
    std::vector<std::size_t> order(rows);
    std::size_t epoch = 0, batch_in_epoch = batches_per_epoch;  // starts a new epoch on the first step
    std::mt19937_64 shuffle_rng;
    // A fresh permutation of 0..rows-1, a function of (seed, epoch) only.
    auto shuffle_epoch = [&] {
        std::iota(order.begin(), order.end(), std::size_t{0});
        shuffle_rng.seed(detail::splitmix64(options.seed ^ detail::splitmix64(epoch)));
        std::shuffle(order.begin(), order.end(), shuffle_rng);
        ++epoch;
        batch_in_epoch = 0;
    };
    if (options.start_step > 0) {
        optimizer.set_steps(options.start_step);
        epoch = static_cast<std::size_t>(options.start_step) / batches_per_epoch;
        const std::size_t done_in_epoch = static_cast<std::size_t>(options.start_step) % batches_per_epoch;
        if (done_in_epoch > 0) {
            shuffle_epoch();
            batch_in_epoch = done_in_epoch;
        }
    }

    FitReport report;
    report.steps_run = options.start_step;
    const auto expected_logs = static_cast<std::size_t>(total_steps / options.log_every + 2);
    report.losses.reserve(expected_logs);
    std::vector<double> step_ms, sum_ms;
    step_ms.reserve(static_cast<std::size_t>(total_steps));
    if (group) sum_ms.reserve(static_cast<std::size_t>(total_steps));
    report.processes = group ? group->size() : 1;
    // The shard's mean loss and gradient, weighted by its share of the batch, summed over the group: the
    // global batch's mean loss (returned) and gradient (left on the parameters). The same sum tells every
    // process whether any on_step callback asked to stop at the step before (stop_requested), so that all
    // stop after the same step.
    bool stop_requested = false, any_stop_requested = false;
    auto sum_over_group = [&](double loss) {
        const auto began = clock::now();
        const double weight = double(shard.count) / double(shard.batch);
        std::size_t at = 0;
        for (const auto& p : params) {
            const T* g = p.grad().data();
            for (std::size_t i = 0, n = p.grad().size(); i < n; ++i) summed[at + i] = g[i] * T(weight);
            at += p.grad().size();
        }
        summed[at] = T(loss * weight);
        summed[at + 1] = T(stop_requested ? 1 : 0);
        if constexpr (ObjectiveWithSharedValues<Objective>) {
            const std::span<double> shared = objective.shared_values();
            for (std::size_t i = 0; i < shared.size(); ++i) summed[at + 2 + i] = T(shared[i] * weight);
        }
        group->sum(std::span<T>(summed));
        any_stop_requested = summed[at + 1] > 0;
        if constexpr (ObjectiveWithSharedValues<Objective>) {
            const std::span<double> shared = objective.shared_values();
            for (std::size_t i = 0; i < shared.size(); ++i) shared[i] = summed[at + 2 + i];
        }
        at = 0;
        for (const auto& p : params) {
            T* g = p.grad().data();
            std::copy_n(summed.data() + at, p.grad().size(), g);
            at += p.grad().size();
        }
        sum_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - began).count());
        return double(summed[at]);
    };

    std::vector<Tensor<T>> best_values;
    std::int64_t evaluations_since_best = 0, last_evaluated = -1;
    if constexpr (validating) {
        report.validation.reserve(static_cast<std::size_t>(total_steps / options.validate_every + 3));
        for (const auto& p : params) best_values.push_back(p.value());
    }

    std::ostream* log = group && !group->is_root() ? nullptr : options.log;
    // Returns true when patience has run out or the validation loss is not finite.
    auto evaluate = [&](std::int64_t step) {
        if constexpr (!validating) {
            return false;
        } else {
            last_evaluated = step;
            const double nll = double(validation());
            report.validation.push_back({step, nll});
            if (!std::isfinite(nll)) {  // a diverged or out-of-domain model is never the best; the run ends
                if (log) *log << "fit: step " << step << "  validation loss " << nll << ": stopping\n";
                if (report.stop_reason == StopReason::completed) report.stop_reason = StopReason::non_finite_validation;
                return true;
            }
            const bool improved = report.best_step < 0 || nll < report.best_validation_nll - options.min_improvement;
            if (improved) {
                report.best_validation_nll = nll;
                report.best_step = step;
                evaluations_since_best = 0;
                for (std::size_t i = 0; i < params.size(); ++i)
                    std::copy(params[i].value().begin(), params[i].value().end(), best_values[i].begin());
            } else {
                ++evaluations_since_best;
            }
            if (log)
                *log << "fit: step " << step << "  validation loss " << nll << "  (best " << report.best_validation_nll
                     << " at step " << report.best_step << ")\n";
            return options.patience > 0 && evaluations_since_best >= options.patience;
        }
    };

    const bool stopped_before_training = validating && evaluate(options.start_step);
    double window_sum = 0;
    std::int64_t window_steps = 0;
    auto flush_window = [&](std::int64_t step, double lr) {
        if (window_steps == 0) return;
        report.losses.push_back({step, window_sum / double(window_steps)});
        if (log) *log << "fit: step " << step << "/" << total_steps << "  loss " << report.losses.back().loss << "  lr " << lr << "\n";
        window_sum = 0;
        window_steps = 0;
    };

    double lr = options.lr;
    for (std::int64_t step = options.start_step + 1; step <= total_steps && !stopped_before_training; ++step) {
        const auto started = clock::now();
        if (batch_in_epoch == batches_per_epoch) shuffle_epoch();
        const std::size_t* rows_of_batch = order.data() + batch_in_epoch * batch;
        ++batch_in_epoch;

        double loss = 0;
        if constexpr (ShardableObjective<Objective>) {
            if (group) {
                // Every process takes the same branch: the summed loss is non-finite if any shard's is.
                objective.load_shard(rows_of_batch, step);
                const double shard_loss = double(objective.forward(step));
                objective.backward(step);
                loss = sum_over_group(shard_loss);
                if (any_stop_requested) {  // a callback asked to stop after the step before: not this update
                    optimizer.zero_grad();
                    report.stop_reason = StopReason::callback;
                    break;
                }
            }
        }
        if (!group) {
            objective.load(rows_of_batch, batch, step);
            loss = double(objective.forward(step));
            if (std::isfinite(loss)) objective.backward(step);
        }
        if (!std::isfinite(loss)) {
            if (group) optimizer.zero_grad();
            report.stop_reason = StopReason::non_finite;
            break;
        }
        if (options.max_grad_norm > 0 && !std::isfinite(clip_grad_norm(params, options.max_grad_norm))) {
            optimizer.zero_grad();
            report.stop_reason = StopReason::non_finite;
            break;
        }
        lr = detail::scheduled_lr("fit", options.schedule, options.lr, optimizer.steps());
        optimizer.set_lr(lr);
        optimizer.step();
        step_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - started).count());
        report.steps_run = step;

        window_sum += loss;
        ++window_steps;
        if (step % options.log_every == 0) flush_window(step, lr);

        if (validating && (step % options.validate_every == 0 || step == total_steps) && evaluate(step)) {
            if (report.stop_reason != StopReason::non_finite_validation) report.stop_reason = StopReason::early_stopping;
            break;
        }
        if (options.on_step && !options.on_step(step, loss, lr)) {
            if (group) {
                stop_requested = true;  // every process stops at the next step's sum (see sum_over_group)
            } else {
                report.stop_reason = StopReason::callback;
                break;
            }
        }
    }
    flush_window(report.steps_run, lr);
    // A run cut short between evaluations still has its final parameters judged.
    if (validating && last_evaluated != report.steps_run) evaluate(report.steps_run);
    if (validating && options.restore_best && report.best_step >= 0 && report.best_step != report.steps_run)
        for (std::size_t i = 0; i < params.size(); ++i)
            std::copy(best_values[i].begin(), best_values[i].end(), params[i].value().begin());

    if (!step_ms.empty()) {
        const auto middle = step_ms.begin() + std::ptrdiff_t(step_ms.size() / 2);
        std::nth_element(step_ms.begin(), middle, step_ms.end());
        report.median_step_ms = *middle;
    }
    if (!sum_ms.empty()) {
        const auto middle = sum_ms.begin() + std::ptrdiff_t(sum_ms.size() / 2);
        std::nth_element(sum_ms.begin(), middle, sum_ms.end());
        report.median_sum_ms = *middle;
    }
    return report;
}

}  // namespace bijou
