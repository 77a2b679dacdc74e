// bijou_worker: Bijou's side of bench/compare_pytorch. Builds one benchmark configuration and answers
// commands on stdin, one JSON line on stdout each, so that the driver can interleave it with the PyTorch
// worker (torch_worker.py speaks the same protocol) while each keeps its own process and peak memory.
//
//   bijou_worker --config NAME --data DIR --batches S --batch B --width D
//
// DIR/NAME.batches.f32 holds S batches of B x D float32 rows (step i trains on batch i mod S, in order,
// on both sides), DIR/NAME.eval.f32 4096 x D rows for the density and sampling timings. Commands:
//   train N      N training steps of fit() (forward, backward, gradient clipping at norm 10, Adam at lr
//                1e-3); each step timed from the end of the previous one, batch copy included
//                -> {"step_ms": [...], "loss": last}
//   log_prob R   R timed calls of log_prob on the 4096 rows (the INN: its forward pass) -> {"ms": [...]}
//   sample R     R timed calls drawing 4096 samples (the INN: the inverse from [y, z]) -> {"ms": [...]}
//   memory       -> {"peak_rss_mb": ...}
//   params       -> {"parameters": ..., "gemm": the gemm backend products go to (engine/blas.hpp)}
//   quit
// Configurations (the examples' architectures): moons_realnvp and 8gaussians_spline as density2d
// (8 blocks, hidden 64); digits_realnvp (hidden 256) and digits_spline (hidden 128) as digits, logit
// layer included; ik_inn as inverse_kinematics' INN (6 Glow blocks, hidden 64, its loss weights);
// fashion_glow as fashion_mnist's benchmark configuration (flows::multiscale_glow<2>({1, 28, 28}, 8, 64),
// batch 64, gradient-norm clip 50, ActNorm initialised on the stream's first batch, 1024 eval rows).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <bijou/bijou.hpp>
#include <bijou/flows/glow.hpp>
#include <bijou/examples/common/cli.hpp>

using namespace bijou;
using Clock = std::chrono::steady_clock;

namespace {

// fit() reserves its per-step records for the whole run, so the session's run is long but finite.
constexpr std::int64_t max_steps = 1'000'000;

Tensor<float> read_rows(const std::string& path, std::size_t rows, std::size_t cols)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("bijou_worker: cannot open " + path);
    Tensor<float> t = Tensor<float>::from_shape({rows, cols});
    in.read(reinterpret_cast<char*>(t.data()), std::streamsize(rows * cols * sizeof(float)));
    if (in.gcount() != std::streamsize(rows * cols * sizeof(float)))
        throw std::runtime_error("bijou_worker: " + path + " holds fewer than " + std::to_string(rows) + " x " +
                                 std::to_string(cols) + " floats");
    return t;
}

// One answer of the session protocol: a JSON object on one line.
void answer(const nlohmann::json& reply)
{
    std::cout << reply.dump() << "\n";
}

template <class F>
std::vector<double> time_calls(int repeats, F&& f)
{
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
        const auto start = Clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    return ms;
}

double peak_rss_mb()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

template <class Params>
std::size_t count_parameters(const Params& params)
{
    std::size_t n = 0;
    for (const auto& p : params) n += p.value().size();
    return n;
}

// Reads commands until `train N` (returns N) or `quit` (returns 0), answering the others with `handle`.
template <class Handle>
long next_training_chunk(Handle&& handle)
{
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream words(line);
        std::string command;
        long count = 0;
        words >> command >> count;
        if (command == "quit") return 0;
        if (command == "train" && count > 0) return count;
        if (!handle(command, int(count))) {
            std::fprintf(stderr, "bijou_worker: unknown command '%s'\n", line.c_str());
            std::exit(1);
        }
        std::cout.flush();
    }
    return 0;
}

// The commands other than `train`, for a model with these two timed calls.
template <class LogProb, class Sample>
auto command_handler(LogProb log_prob, Sample sample, std::size_t parameters)
{
    return [=](const std::string& command, int repeats) mutable {
        if (command == "log_prob")
            answer({{"ms", time_calls(repeats, log_prob)}});
        else if (command == "sample")
            answer({{"ms", time_calls(repeats, sample)}});
        else if (command == "memory")
            answer({{"peak_rss_mb", peak_rss_mb()}});
        else if (command == "params")
            answer({{"parameters", parameters}, {"gemm", std::string(bijou::detail::gemm_backend_name())}});
        else
            return false;
        return true;
    };
}

// One training run spans the session, suspended inside its on_step callback between chunks: after_step
// records the step's time and, at the end of a chunk, answers it and waits for the next command.
template <class Handle>
struct ChunkedTraining {
    Handle handle;
    std::vector<double> step_ms;
    std::int64_t chunk_end = 0;
    Clock::time_point last = Clock::now();

    // False when the session ends before any training.
    bool start()
    {
        chunk_end = next_training_chunk(handle);
        last = Clock::now();
        return chunk_end > 0;
    }
    // False when the session ends (the run stops).
    bool after_step(std::int64_t step, double loss)
    {
        step_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - last).count());
        if (step == chunk_end) {
            answer({{"step_ms", step_ms}, {"loss", loss}});
            std::cout.flush();
            step_ms.clear();
            const long next = next_training_chunk(handle);
            if (next == 0) return false;
            chunk_end = step + next;
        }
        last = Clock::now();
        return true;
    }
};
template <class Handle>
ChunkedTraining<Handle> chunked_training(Handle handle)
{
    return {std::move(handle)};
}

// Serves a flow: fit() with the stream's batch (step - 1) mod S copied in at every step.
template <class Flow>
void serve_flow(Flow& flow, const Tensor<float>& batches, std::size_t batch, const Tensor<float>& eval,
                double max_grad_norm = 10)
{
    const std::size_t count = batches.shape()[0] / batch, width = batches.shape()[1];
    std::mt19937_64 rng(5);
    Tensor<float> samples;
    auto training = chunked_training(command_handler([&] { (void)flow.log_prob(eval); },
                                                     [&] { samples = flow.sample(eval.shape()[0], rng); },
                                                     count_parameters(flow.parameters())));
    if (!training.start()) return;
    FitOptions<float> options{
        .batch_size = batch,
        .steps = max_steps,
        .lr = 1e-3,
        .max_grad_norm = max_grad_norm,
        // The step's batch: the stream's batch (step - 1) mod S, the same as the PyTorch worker's.
        .transform_batch =
            [&](Tensor<float>& input, std::int64_t step) {
                const float* from = batches.data() + std::size_t((step - 1) % std::int64_t(count)) * batch * width;
                std::copy(from, from + batch * width, input.data());
            },
        .on_step = [&](std::int64_t step, double loss, double) { return training.after_step(step, loss); },
        .log_every = max_steps};
    flow.fit(batches, options);
}

// The INN: fit(INN) over the stream's rows (x = columns 0..3, y = 4..5). Its minibatches come from its own
// shuffle of those rows (fit(INN) has no per-step hook), as do its noise and latent draws.
template <class Inn>
void serve_inn(Inn& inn, const Tensor<float>& stream, std::size_t batch, const Tensor<float>& eval)
{
    auto columns = [](const Tensor<float>& t, std::size_t first, std::size_t n) {
        return Tensor<float>(xt::view(t, xt::all(), xt::range(first, first + n)));
    };
    const Tensor<float> x = columns(stream, 0, 4), y = columns(stream, 4, 2);
    const Tensor<float> eval_x = columns(eval, 0, 4), eval_y = columns(eval, 4, 2);
    std::mt19937_64 rng(5);
    Tensor<float> out;
    auto sample = [&] {
        Tensor<float> z = Tensor<float>::from_shape({eval.shape()[0], 2});
        std::normal_distribution<float> normal;
        for (auto& v : z) v = normal(rng);
        out = inn.inverse(inn.join_output(eval_y, z));
    };
    auto training = chunked_training(command_handler([&] { out = inn.forward(inn.pad_x(eval_x)); }, sample,
                                                     count_parameters(inn.parameters())));
    if (!training.start()) return;
    flows::InnFitOptions<float> options{.batch_size = batch, .steps = max_steps, .lr = 1e-3,
                                        .beta1 = 0.9, .beta2 = 0.95, .max_grad_norm = 10};
    options.loss.weights = {.y = 300, .z = 300, .x = 400, .padding = 1, .reconstruction = 20};
    options.loss.y_noise = 0.01;
    options.log_every = max_steps;
    options.on_step = [&](std::int64_t step, const flows::InnLosses& l, double) {
        return training.after_step(step, l.total(options.loss, step));
    };
    flows::fit(inn, x, y, options);
}

auto realnvp_2d() { return dsl::repeat(8, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(64, 64))), dsl::reverse())); }
auto spline_2d()
{
    return dsl::repeat(8, dsl::seq(flows::spline_coupling(dsl::conditioner(hidden(64, 64)), 8, 4.0), dsl::reverse()));
}
auto realnvp_digits()
{
    return dsl::seq(flows::logit_layer(0.01), dsl::repeat(8, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(256, 256))),
                                                                      dsl::permute_random())));
}
auto spline_digits()
{
    return dsl::seq(flows::logit_layer(0.01),
                    dsl::repeat(8, dsl::seq(flows::spline_coupling(dsl::conditioner(hidden(128, 128)), 8, 6.0),
                                            dsl::permute_random())));
}

}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv, "Bijou's side of bench/compare_pytorch (a line protocol on stdin/stdout).");
    const auto config = cli.option<std::string>("config", "moons_realnvp", "configuration name");
    const auto dir = cli.option<std::string>("data", "out/compare_pytorch/data", "directory of the batch files");
    const auto count = cli.option<std::size_t>("batches", 64, "distinct batches in the stream");
    const auto batch = cli.option<std::size_t>("batch", 256, "rows per batch");
    const auto width = cli.option<std::size_t>("width", 2, "columns per row");
    const auto eval_rows = cli.option<std::size_t>("eval-rows", 4096, "rows of NAME.eval.f32");
    cli.done();
    set_blas_threads(1);
    try {
        const Tensor<float> batches = read_rows(dir + "/" + config + ".batches.f32", count * batch, width);
        const Tensor<float> eval = read_rows(dir + "/" + config + ".eval.f32", eval_rows, width);
        if (config == "moons_realnvp") {
            auto flow = make_flow<float>(2, realnvp_2d(), 0);
            serve_flow(flow, batches, batch, eval);
        } else if (config == "8gaussians_spline") {
            auto flow = make_flow<float>(2, spline_2d(), 0);
            serve_flow(flow, batches, batch, eval);
        } else if (config == "digits_realnvp") {
            auto flow = make_flow<float, dsl::closed_interval(0, 1)>(64, realnvp_digits(), 0);
            serve_flow(flow, batches, batch, eval);
        } else if (config == "digits_spline") {
            auto flow = make_flow<float, dsl::closed_interval(0, 1)>(64, spline_digits(), 0);
            serve_flow(flow, batches, batch, eval);
        } else if (config == "fashion_glow") {
            if (width != 784) throw std::runtime_error("bijou_worker: fashion_glow rows are 28 x 28 images, --width 784");
            auto flow = make_flow<float>(784, flows::multiscale_glow<2>({1, 28, 28}, 8, 64), 0);
            // ActNorm's data-dependent start on the stream's first batch, as the PyTorch worker does.
            flow.initialize(xt::eval(xt::view(batches, xt::range(0, batch), xt::all())));
            serve_flow(flow, batches, batch, eval, 50);
        } else if (config == "ik_inn") {
            if (width != 6) throw std::runtime_error("bijou_worker: ik_inn rows are [x (4), y (2)], --width 6");
            auto blocks = dsl::repeat(6, dsl::seq(flows::glow_coupling(dsl::conditioner(hidden(64, 64))),
                                                  dsl::permute_random()));
            auto inn = flows::make_inn<float>({.x_dim = 4, .y_dim = 2, .z_dim = 2}, blocks, 0);
            serve_inn(inn, batches, batch, eval);
        } else {
            std::fprintf(stderr, "bijou_worker: unknown configuration '%s'\n", config.c_str());
            return 2;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
