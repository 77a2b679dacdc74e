// Data-parallel training gives the one-process result: run under `mpirun -np P` (CTest runs it with
// P = 2), every process trains each model twice from the same initial parameters, once alone and once
// over all P processes (FitOptions::processes = &world()), and the loss curves, validation curves and
// final parameters are compared:
//   - a RealNVP flow in double, with a step-seeded transform_batch (the global batch's noise must reach
//     each shard) and validation every 20 steps: relative difference <= 1e-10 after 100 steps;
//   - a conditional flow (cINN) in double: the same bound;
//   - a Glow-style flow (ActNorm initialised on a first batch, LU 1x1 linear) in float: the drift is
//     reported, and must stay below 1e-2 (summation order in float, amplified by 100 Adam steps; measured
//     7.3e-4 on 2026-12-04);
//   - an INN in double (fit(INN): MMD terms over the whole global batch, gathered): the same bound;
//   - a data-parallel step allocates nothing after the first (counted operator new);
//   - a global batch smaller than P is refused with a message naming the batch and the processes.
// Exit status 0 when every check passes; the root prints one line per check.
#include <bijou/bijou.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "support/allocation_counter.hpp"

using namespace bijou;

namespace {

int failures = 0;

void report(const char* what, double measured, double bound)
{
    const bool ok = measured <= bound;
    if (!ok) ++failures;
    if (world().is_root())
        std::printf("%-58s %10.3g  (bound %.0e)  %s\n", what, measured, bound, ok ? "ok" : "FAILED");
}

template <class T>
Tensor<T> two_moons(std::size_t n, std::size_t dim, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> angle(0, 3.14159265358979);
    std::normal_distribution<double> noise(0, 0.1);
    Tensor<T> x = Tensor<T>::from_shape({n, dim});
    for (std::size_t i = 0; i < n; ++i) {
        const double a = angle(rng);
        const bool lower = i % 2;
        x(i, 0) = T((lower ? 1 - std::cos(a) : std::cos(a)) + noise(rng));
        x(i, 1) = T((lower ? 0.5 - std::sin(a) : std::sin(a)) + noise(rng));
        for (std::size_t j = 2; j < dim; ++j) x(i, j) = T(0.5 * x(i, j - 2) + noise(rng));
    }
    return x;
}

// One-hot of the moon each row came from (the conditions of the cINN).
template <class T>
Tensor<T> moon_labels(std::size_t n)
{
    Tensor<T> c = Tensor<T>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        c(i, 0) = T(i % 2 == 0);
        c(i, 1) = T(i % 2 == 1);
    }
    return c;
}

double relative_difference(double a, double b) { return std::abs(a - b) / std::max(std::abs(a), 1e-300); }

double max_curve_difference(const std::vector<LossPoint>& a, const std::vector<LossPoint>& b)
{
    if (a.size() != b.size()) return INFINITY;
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, a[i].step == b[i].step ? relative_difference(a[i].loss, b[i].loss) : INFINITY);
    return worst;
}

template <class T>
double max_parameter_difference(const std::vector<Param<T>>& a, const std::vector<Param<T>>& b)
{
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t j = 0; j < a[i].value().size(); ++j) {
            worst = std::max(worst, std::abs(double(a[i].value().data()[j]) - double(b[i].value().data()[j])));
            scale = std::max(scale, std::abs(double(a[i].value().data()[j])));
        }
    return worst / scale;
}

// Dequantisation-like noise, seeded by the step: the same for a row whichever process computes it.
template <class T>
void jitter(Tensor<T>& batch, std::int64_t step)
{
    std::mt19937_64 rng(std::uint64_t(step) * 7919);
    std::uniform_real_distribution<double> u(-0.01, 0.01);
    for (auto& v : batch) v += T(u(rng));
}

auto realnvp_chain()
{
    return dsl::repeat(4, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(32, 32))), dsl::permute_random()));
}

void unconditional_double()
{
    const Tensor<double> train = two_moons<double>(3000, 4, 1), valid = two_moons<double>(700, 4, 2);
    auto alone = make_flow<double>(4, realnvp_chain(), 7);
    auto parallel = make_flow<double>(4, realnvp_chain(), 7);
    FitOptions<double> options{.batch_size = 256, .steps = 100, .lr = 2e-3, .max_grad_norm = 5, .seed = 3,
                               .transform_batch = jitter<double>, .validation = &valid, .validate_every = 20,
                               .validation_batch_size = 128};
    const FitReport one = fit(alone, train, options);
    options.processes = &world();
    const FitReport many = fit(parallel, train, options);
    report("RealNVP double: loss curve, max relative difference", max_curve_difference(one.losses, many.losses), 1e-10);
    report("RealNVP double: validation curve, max relative difference",
           max_curve_difference(one.validation, many.validation), 1e-10);
    report("RealNVP double: parameters after 100 steps, max |difference| / max |value|",
           max_parameter_difference(alone.parameters(), parallel.parameters()), 1e-10);
    report("RealNVP double: processes that computed each step", std::abs(many.processes - world().size()), 0);
    if (world().is_root())
        std::printf("  step %.3f ms alone, %.3f ms over %d processes (sum %.3f ms)\n", one.median_step_ms,
                    many.median_step_ms, many.processes, many.median_sum_ms);
}

void conditional_double()
{
    const Tensor<double> train = two_moons<double>(2000, 2, 3), conditions = moon_labels<double>(2000);
    auto alone = make_flow<double>(2, dsl::conditional(realnvp_chain(), 2), 11);
    auto parallel = make_flow<double>(2, dsl::conditional(realnvp_chain(), 2), 11);
    FitOptions<double> options{.batch_size = 199, .steps = 100, .lr = 2e-3, .seed = 5};  // unequal shards
    const FitReport one = fit(alone, train, conditions, options);
    options.processes = &world();
    const FitReport many = fit(parallel, train, conditions, options);
    report("cINN double: loss curve, max relative difference", max_curve_difference(one.losses, many.losses), 1e-10);
    report("cINN double: parameters, max |difference| / max |value|",
           max_parameter_difference(alone.parameters(), parallel.parameters()), 1e-10);
}

void glow_float()
{
    const Tensor<float> train = two_moons<float>(3000, 4, 4);
    auto chain = [] {
        return dsl::repeat(3, dsl::seq(flows::actnorm(), flows::lu_linear(),
                                       flows::realnvp_coupling(dsl::conditioner(hidden(32, 32)))));
    };
    auto alone = make_flow<float>(4, chain(), 13);
    auto parallel = make_flow<float>(4, chain(), 13);
    const Tensor<float> first = xt::view(train, xt::range(0, 256), xt::all());
    alone.initialize(first);
    parallel.initialize(first);
    FitOptions<float> options{.batch_size = 256, .steps = 100, .lr = 1e-3, .seed = 9};
    const FitReport one = fit(alone, train, options);
    options.processes = &world();
    const FitReport many = fit(parallel, train, options);
    report("Glow float: loss curve, max relative difference (drift)", max_curve_difference(one.losses, many.losses), 1e-2);
}

// An INN (x -> [y, z]): its MMD terms pair every row with every row of the global batch, so each process
// gathers the others' rows (gather_rows) and sends their gradients back.
void inn_double()
{
    const std::size_t n = 2000;
    std::mt19937_64 rng(21);
    std::normal_distribution<double> normal;
    Tensor<double> x = Tensor<double>::from_shape({n, 3}), y = Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < 3; ++j) x(i, j) = normal(rng);
        y(i, 0) = x(i, 0) + 0.5 * x(i, 1);
        y(i, 1) = x(i, 1) * x(i, 2);
    }
    auto blocks = [] {
        return dsl::repeat(3, dsl::seq(flows::glow_coupling(dsl::conditioner(hidden(32, 32))), dsl::permute_random()));
    };
    const flows::InnLayout layout{.x_dim = 3, .y_dim = 2, .z_dim = 2, .width = 4};
    auto alone = flows::make_inn<double>(layout, blocks(), 23);
    auto parallel = flows::make_inn<double>(layout, blocks(), 23);
    // An odd batch: the shards differ in size, so their weights in the sums differ (gather_rows' scaling).
    flows::InnFitOptions<double> options{.batch_size = 201, .steps = 100, .lr = 1e-3, .max_grad_norm = 10, .seed = 4,
                                         .log_every = 1};
    options.loss.x_ramp_start = 10;
    options.loss.x_ramp_steps = 20;
    const flows::InnFitReport one = flows::fit(alone, x, y, options);
    options.processes = &world();
    long allocations = -1;
    testing::AllocationScope* scope = nullptr;
    options.on_step = [&](std::int64_t step, const flows::InnLosses&, double) {
        if (step == 1) scope = new testing::AllocationScope;
        if (step == 100) allocations = scope->new_calls();
        return true;
    };
    const flows::InnFitReport many = flows::fit(parallel, x, y, options);
    delete scope;
    report("INN data-parallel steps 2..100: operator new calls", double(allocations), 0);
    double total = many.losses.size() == one.losses.size() ? 0 : INFINITY, terms = total;
    for (std::size_t i = 0; i < std::min(one.losses.size(), many.losses.size()); ++i) {
        total = std::max(total, relative_difference(one.losses[i].total, many.losses[i].total));
        const auto& a = one.losses[i].losses;
        const auto& b = many.losses[i].losses;
        for (auto [u, v] : {std::pair{a.y, b.y}, {a.z, b.z}, {a.x, b.x}, {a.padding, b.padding},
                            {a.reconstruction, b.reconstruction}})
            terms = std::max(terms, std::abs(u - v) / std::max(std::abs(u), 1e-12));
    }
    report("INN double: total loss curve, max relative difference", total, 1e-10);
    report("INN double: the five terms (L_y, L_z, L_x, L_pad, L_rec), max relative difference", terms, 1e-9);
    report("INN double: parameters after 100 steps, max |difference| / max |value|",
           max_parameter_difference(alone.parameters(), parallel.parameters()), 1e-10);
    if (world().is_root())
        std::printf("  INN step %.3f ms alone, %.3f ms over %d processes (sum %.3f ms)\n", one.median_step_ms,
                    many.median_step_ms, many.processes, many.median_sum_ms);
}

void steps_allocate_nothing()
{
    const Tensor<double> train = two_moons<double>(1000, 4, 5);
    auto flow = make_flow<double>(4, realnvp_chain(), 17);
    long allocations_after_first = -1;
    testing::AllocationScope* scope = nullptr;
    FitOptions<double> options{.batch_size = 100, .steps = 30, .seed = 1, .processes = &world()};
    options.on_step = [&](std::int64_t step, double, double) {
        if (step == 1) scope = new testing::AllocationScope;
        if (step == 30) allocations_after_first = scope->new_calls();
        return true;
    };
    fit(flow, train, options);
    delete scope;
    report("data-parallel steps 2..30: operator new calls", double(allocations_after_first), 0);
}

void small_batch_refused()
{
    if (world().size() < 2) return;
    const Tensor<double> train = two_moons<double>(100, 4, 6);
    auto flow = make_flow<double>(4, realnvp_chain(), 19);
    std::string message;
    try {
        fit(flow, train, FitOptions<double>{.batch_size = 1, .steps = 2, .processes = &world()});
    } catch (const shape_error& e) {
        message = e.what();
    }
    const bool named = message.find("global batch of 1 rows") != std::string::npos &&
                       message.find(std::to_string(world().size()) + " processes") != std::string::npos;
    report("a batch smaller than the processes: refused, message naming both", named ? 0 : 1, 0);
    if (!named && world().is_root()) std::printf("  message: '%s'\n", message.c_str());
}

}  // namespace

int main()
{
    if (world().is_root()) std::printf("data-parallel equivalence over %d processes\n", world().size());
    report("fewer than two processes (launch with mpirun -np 2)", world().size() >= 2 ? 0 : 1, 0);
    unconditional_double();
    conditional_double();
    glow_float();
    inn_double();
    steps_allocate_nothing();
    small_batch_refused();
    // Every process must agree that all passed: a failure on any one fails the run.
    double failed = failures;
    world().sum(std::span<double>(&failed, 1));
    if (world().is_root()) std::printf("%s\n", failed == 0 ? "all checks passed" : "FAILED");
    return failed == 0 ? 0 : 1;
}
