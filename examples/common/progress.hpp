// Progress of a training run: a live bar on a terminal, plain periodic lines in a log file or a pipe.
//
//   Progress progress(steps, {.first_step = resumed_step});
//   for (std::size_t step = resumed_step + 1; step <= steps; ++step) {
//       ...
//       progress.update(step, loss, lr);
//   }
//   progress.finish();
//
// On a terminal (the stream is a tty), one line redrawn in place at most every `redraw_seconds`:
//   " 1200/5000 [#######...................]  24%  loss 2.345  lr 0.001  eta 00:42"
// Otherwise (output redirected to a file or a pipe, e.g. in CI), a line every `line_every` steps and at the
// last step, so a log stays short and readable:
//   "step 1200/5000 loss 2.345 lr 0.001 eta 00:42"
// note() prints a message on its own line (a validation result, say) without breaking the bar.
//
// The loss shown is a running average, an exponential moving average with weight `smoothing` on the past
// and Adam's bias correction (ema_k / (1 - smoothing^k)), so the first steps are not pulled towards 0:
//   ema_k = smoothing * ema_(k-1) + (1 - smoothing) * loss_k.
// The ETA assumes the remaining steps run at the mean rate of the steps done since the Progress was made
// (steps before `first_step`, done by an earlier run that was resumed, do not count).
//
// update() formats into a fixed buffer and allocates nothing, so it may sit inside a measured training
// step; between redraws it costs a clock read.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string_view>

#include <unistd.h>

#include <bijou/engine/error.hpp>

namespace bijou::examples {

enum class ProgressStyle {
    automatic,  // bar on a terminal, lines otherwise
    bar,
    lines,
};

struct ProgressOptions {
    std::FILE* stream = stderr;  // stderr, so that stdout can carry a program's results
    ProgressStyle style = ProgressStyle::automatic;
    std::size_t first_step = 0;   // the step a resumed run starts after
    std::size_t line_every = 0;   // lines: print every this many steps; 0 chooses about 20 lines a run
    double redraw_seconds = 0.1;  // bar: the shortest time between two redraws
    std::size_t bar_width = 30;
    double smoothing = 0.98;  // the running loss weights the last ~1 / (1 - smoothing) steps
};

class Progress {
public:
    explicit Progress(std::size_t total_steps, ProgressOptions options = {})
        : total_(total_steps), options_(options), start_(Clock::now()), last_draw_(start_)
    {
        if (options_.stream == nullptr) throw_usage_error("Progress", "the output stream is null");
        if (!(options_.smoothing >= 0 && options_.smoothing < 1))
            throw_usage_error("Progress", "smoothing must be in [0, 1), got ", options_.smoothing);
        if (options_.bar_width > max_bar_width)
            throw_usage_error("Progress", "bar_width must be at most ", max_bar_width, ", got ", options_.bar_width);
        if (options_.style == ProgressStyle::automatic)
            options_.style = ::isatty(::fileno(options_.stream)) ? ProgressStyle::bar : ProgressStyle::lines;
        if (options_.line_every == 0) options_.line_every = total_ >= 20 ? total_ / 20 : 1;
    }

    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    ~Progress() { finish(); }

    // Step `step` (counted from 1) ended with minibatch loss `loss` at learning rate `lr`.
    void update(std::size_t step, double loss, double lr)
    {
        ++updates_;
        ema_ = options_.smoothing * ema_ + (1 - options_.smoothing) * loss;
        weight_ = options_.smoothing * weight_ + (1 - options_.smoothing);
        step_ = step;
        lr_ = lr;
        const bool last = step >= total_;
        if (options_.style == ProgressStyle::lines) {
            if (step % options_.line_every == 0 || last) print_line();
            return;
        }
        const auto now = Clock::now();
        if (last || seconds(last_draw_, now) >= options_.redraw_seconds) {
            last_draw_ = now;
            draw_bar();
        }
    }

    // A message on a line of its own; the bar, if any, is redrawn below it.
    void note(std::string_view message)
    {
        if (options_.style == ProgressStyle::bar && drawn_) std::fputs("\r\033[K", options_.stream);
        std::fprintf(options_.stream, "%.*s\n", int(message.size()), message.data());
        if (options_.style == ProgressStyle::bar && drawn_) draw_bar();
        std::fflush(options_.stream);
    }

    // Ends the bar's line. Called by the destructor too; later calls do nothing.
    void finish()
    {
        if (finished_) return;
        finished_ = true;
        if (options_.style == ProgressStyle::bar && drawn_) {
            draw_bar();
            std::fputc('\n', options_.stream);
            std::fflush(options_.stream);
        }
    }

    // The running loss, as shown (NaN before the first update).
    double running_loss() const { return updates_ ? ema_ / weight_ : std::nan(""); }

    // Estimated seconds to the last step (NaN before the first update).
    double eta_seconds() const
    {
        const std::size_t done = step_ > options_.first_step ? step_ - options_.first_step : 0;
        if (done == 0) return std::nan("");
        return seconds(start_, Clock::now()) / double(done) * double(total_ > step_ ? total_ - step_ : 0);
    }

    ProgressStyle style() const { return options_.style; }

private:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t max_bar_width = 200;

    static double seconds(Clock::time_point from, Clock::time_point to)
    {
        return std::chrono::duration<double>(to - from).count();
    }

    // "mm:ss", or "h:mm:ss" from an hour on; "--:--" while unknown.
    static void format_duration(char* out, std::size_t size, double s)
    {
        if (!std::isfinite(s) || s < 0) {
            std::snprintf(out, size, "--:--");
            return;
        }
        const auto total = static_cast<long long>(std::llround(s));
        const long long h = total / 3600, m = total / 60 % 60, sec = total % 60;
        if (h > 0)
            std::snprintf(out, size, "%lld:%02lld:%02lld", h, m, sec);
        else
            std::snprintf(out, size, "%02lld:%02lld", m, sec);
    }

    void print_line()
    {
        char eta[32];
        format_duration(eta, sizeof eta, eta_seconds());
        std::fprintf(options_.stream, "step %zu/%zu loss %.4g lr %.3g eta %s\n", step_, total_, running_loss(), lr_,
                     eta);
        std::fflush(options_.stream);
    }

    void draw_bar()
    {
        char eta[32];
        format_duration(eta, sizeof eta, eta_seconds());
        const double fraction = total_ ? std::min(1.0, double(step_) / double(total_)) : 1.0;
        char bar[max_bar_width + 1];
        const auto filled = std::size_t(fraction * double(options_.bar_width));
        for (std::size_t i = 0; i < options_.bar_width; ++i) bar[i] = i < filled ? '#' : '.';
        bar[options_.bar_width] = '\0';
        // \r returns to the line's start, \033[K erases what a longer previous line left behind.
        std::fprintf(options_.stream, "\r%*zu/%zu [%s] %3d%%  loss %.4g  lr %.3g  eta %s\033[K", digits(total_), step_,
                     total_, bar, int(fraction * 100), running_loss(), lr_, eta);
        std::fflush(options_.stream);
        drawn_ = true;
    }

    static int digits(std::size_t n)
    {
        int d = 1;
        for (; n >= 10; n /= 10) ++d;
        return d;
    }

    std::size_t total_;
    ProgressOptions options_;
    Clock::time_point start_, last_draw_;
    std::size_t step_ = 0, updates_ = 0;
    double ema_ = 0, weight_ = 0, lr_ = 0;
    bool drawn_ = false, finished_ = false;
};

}  // namespace bijou::examples
