// A training run of an experiment: fit() (flows/fit.hpp) plus what a long run needs around it, shared by
// every experiment so none re-implements it:
//   - a progress bar (or plain lines when not on a terminal) with the running loss and the ETA,
//   - DIR/log.csv: step, minibatch loss, learning rate, seconds of training,
//   - DIR/checkpoint.ckpt every `checkpoint_every` steps and at the end, written atomically (temp file +
//     rename), with the optimizer state and the step, so a killed run loses at most the steps since the
//     last checkpoint,
//   - --resume CKPT: parameters, Adam moments and step restored; training continues on the same minibatch
//     sequence and learning rates, so the loss curve continues as if never interrupted; log.csv is cut back
//     to the checkpoint's step and appended to.
//
//   examples::TrainingRun run{.out = out, .resume = resume_path, .config = "density2d moons realnvp 8 64"};
//   auto report = run.fit(flow, train, {.batch_size = 256, .steps = 5000, .lr = 1e-3, ...});
//
// Launched by mpirun (`mpirun -np P program ...`), the training is data-parallel over the P processes
// (bijou::world(), engine/parallel/process_group.hpp): the same global batches and result as one process,
// each computing a share of every batch. The root alone writes log.csv and the checkpoints and shows the
// progress; the other processes read the same --resume checkpoint. A program that supports such a launch
// says so to its Cli (data_parallel()) and, after its last training run, calls
// bijou::world().dismiss_all_but_root(): the root then evaluates and writes its files alone.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include <bijou/engine/checkpoint.hpp>
#include <bijou/engine/parallel/process_group.hpp>
#include <bijou/examples/common/csv_log.hpp>
#include <bijou/examples/common/progress.hpp>
#include <bijou/flows/fit.hpp>

namespace bijou::examples {

struct TrainingRun {
    std::filesystem::path out;          // log.csv and checkpoint.ckpt go here
    std::string resume;                 // a checkpoint to continue from ("" = a fresh run)
    std::string config;                 // describes the model; a resume from another config is refused
    std::int64_t checkpoint_every = 500;

    std::filesystem::path checkpoint_path() const { return out / "checkpoint.ckpt"; }

    // Unconditional flows: fit(flow, x, options); conditional: fit(flow, x, c, options).
    template <class Flow, class... Data>
    FitReport fit(Flow& flow, const Data&... data_then_options)
    {
        return fit_impl(flow, data_then_options...);
    }

private:
    template <class Flow, class T>
    FitReport fit_impl(Flow& flow, const Tensor<T>& x, FitOptions<T> options)
    {
        return run(flow, options, [&](FitOptions<T>& o) { return bijou::fit(flow, x, o); });
    }
    template <class Flow, class T>
    FitReport fit_impl(Flow& flow, const Tensor<T>& x, const Tensor<T>& c, FitOptions<T> options)
    {
        return run(flow, options, [&](FitOptions<T>& o) { return bijou::fit(flow, x, c, o); });
    }

    template <class Flow, class T, class Fit>
    FitReport run(Flow& flow, FitOptions<T> options, Fit&& fit_with)
    {
        using clock = std::chrono::steady_clock;
        const ProcessGroup& processes = world();
        const bool root = processes.is_root();
        if (root) std::filesystem::create_directories(out);
        const auto params = flow.parameters();

        std::int64_t start = 0;
        if (!resume.empty()) {
            const auto checkpoint = Checkpoint<T>::load(resume);
            if (checkpoint.metadata.contains("config") && checkpoint.metadata.get_string("config") != config)
                throw_usage_error("resume", "'", resume, "' was written by a run of \"",
                                  checkpoint.metadata.get_string("config"), "\", not \"", config, "\"");
            checkpoint.restore(params);
            start = checkpoint.metadata.get_int("step");
        }
        if (options.steps > 0 && start >= options.steps)
            throw_usage_error("resume", "the checkpoint is at step ", start, ", not before the last step ", options.steps);
        // The root's log, progress and checkpoints (the other processes have none).
        std::optional<TrainingLog> log;
        std::optional<Progress> progress;
        if (root) {
            log.emplace(start > 0 ? TrainingLog::resume(out / "log.csv", std::uint64_t(start)) : TrainingLog(out / "log.csv"));
            progress.emplace(std::size_t(options.steps), ProgressOptions{.first_step = std::size_t(start)});
        }
        const double time_before = log ? log->resumed_time() : 0.0;

        const auto began = clock::now();
        auto user_callback = options.on_step;
        options.start_step = start;
        options.processes = &processes;
        options.on_step = [&](std::int64_t step, double loss, double lr) {
            if (root) {
                const double seconds = time_before + std::chrono::duration<double>(clock::now() - began).count();
                log->write(std::uint64_t(step), loss, lr, seconds);
                progress->update(std::size_t(step), loss, lr);
                if (checkpoint_every > 0 && step % checkpoint_every == 0) save(params, step);
            }
            return user_callback ? user_callback(step, loss, lr) : true;
        };
        FitReport report = fit_with(options);
        if (root) {
            progress->finish();
            save(params, report.steps_run);
        }
        return report;
    }

    template <class T>
    void save(const std::vector<Param<T>>& params, std::int64_t step) const
    {
        auto checkpoint = Checkpoint<T>::capture(params, {.optimizer_state = true});
        checkpoint.metadata.set("step", step);
        checkpoint.metadata.set("config", config);
        checkpoint.save(checkpoint_path());
    }
};

}  // namespace bijou::examples
