// train(): the one training loop, on objectives of its own (fit() of flows and INNs is tested in
// tests/flows): the minibatch order, Adam's settings, resumption, validation and bad options.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <bijou/engine/optim/train.hpp>
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <vector>

using namespace bijou;
using Catch::Contains;

namespace {

// y = 2 x1 - 3 x2 + 1 with a little noise, 500 rows.
struct Line {
    Tensor<double> x = Tensor<double>::from_shape({500, 2}), y = Tensor<double>::from_shape({500, 1});
    Line()
    {
        std::mt19937_64 rng(5);
        std::normal_distribution<double> normal;
        for (std::size_t i = 0; i < 500; ++i) {
            x(i, 0) = normal(rng);
            x(i, 1) = normal(rng);
            y(i, 0) = 2 * x(i, 0) - 3 * x(i, 1) + 1 + 0.01 * normal(rng);
        }
    }
};

// An objective that records which rows and steps it was given; its loss is a fixed function of the step.
struct Recorder {
    Param<double> w{Tensor<double>{{1.0}}, "w"};
    std::vector<std::vector<std::size_t>> batches;
    std::vector<std::int64_t> steps;
    std::size_t bound = 0;
    void bind(std::size_t batch) { bound = batch; }
    void load(const std::size_t* rows, std::size_t count, std::int64_t step)
    {
        batches.emplace_back(rows, rows + count);
        steps.push_back(step);
    }
    double forward(std::int64_t step) { return 1.0 / double(step); }
    void backward(std::int64_t) {}
};

}  // namespace

TEST_CASE("train fits a linear model through program_objective", "[train]")
{
    Line data;
    std::mt19937_64 rng(1);
    auto net = mlp<double>(2, hidden(), 1, {.rng = &rng});
    auto objective = program_objective([&](const auto& in) { return Program(mean(square(net(in[0]) - in[1]))); }, data.x,
                                       data.y);
    const FitReport report = train(net.parameters(), objective, 500, FitOptions<double>{.batch_size = 50, .steps = 2000, .lr = 1e-2});
    REQUIRE(report.steps_run == 2000);
    CHECK(report.stop_reason == StopReason::completed);
    CHECK(report.losses.back().loss < 1e-3);
}

TEST_CASE("train draws whole minibatches of distinct rows, each epoch a new permutation of (seed, epoch)", "[train]")
{
    Recorder a, b, c;
    train({a.w}, a, 10, FitOptions<double>{.batch_size = 3, .steps = 9, .seed = 4});
    train({b.w}, b, 10, FitOptions<double>{.batch_size = 3, .steps = 9, .seed = 4});
    train({c.w}, c, 10, FitOptions<double>{.batch_size = 3, .steps = 9, .seed = 5});
    CHECK(a.bound == 3);
    CHECK(a.steps == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(a.batches == b.batches);
    CHECK(a.batches != c.batches);
    for (std::size_t epoch = 0; epoch < 3; ++epoch) {  // 3 batches of 3 per epoch, one row left over
        std::set<std::size_t> rows;
        for (std::size_t k = 0; k < 3; ++k) rows.insert(a.batches[epoch * 3 + k].begin(), a.batches[epoch * 3 + k].end());
        CHECK(rows.size() == 9);
    }
}

TEST_CASE("train resumed at start_step continues the uninterrupted run exactly", "[train]")
{
    Line data;
    auto run = [&](std::int64_t steps, std::int64_t start, std::vector<Param<double>>* carried) {
        std::mt19937_64 rng(2);
        auto net = mlp<double>(2, hidden(8), 1, {.rng = &rng});
        if (carried)
            for (std::size_t i = 0; i < carried->size(); ++i) {
                net.parameters()[i].value() = (*carried)[i].value();
                net.parameters()[i].node().moment1 = (*carried)[i].node().moment1;
                net.parameters()[i].node().moment2 = (*carried)[i].node().moment2;
            }
        auto objective =
            program_objective([&](const auto& in) { return Program(mean(square(net(in[0]) - in[1]))); }, data.x, data.y);
        const FitReport r = train(net.parameters(), objective, 500,
                                  FitOptions<double>{.batch_size = 64, .steps = steps, .beta1 = 0.8, .seed = 3,
                                                     .start_step = start});
        return std::pair{r, net.parameters()};
    };
    auto [whole, whole_params] = run(40, 0, nullptr);
    auto [first, first_params] = run(17, 0, nullptr);
    auto [second, second_params] = run(40, 17, &first_params);
    REQUIRE(second.losses.size() == 23);
    for (std::size_t k = 0; k < 23; ++k) CHECK(second.losses[k].loss == whole.losses[17 + k].loss);
    CHECK((second_params[0].value() == whole_params[0].value()));
}

TEST_CASE("train's Adam settings are used, and bad ones refused before any step", "[train]")
{
    Line data;
    auto losses_with = [&](FitOptions<double> options) {
        std::mt19937_64 rng(1);
        auto net = mlp<double>(2, hidden(), 1, {.rng = &rng});
        auto objective =
            program_objective([&](const auto& in) { return Program(mean(square(net(in[0]) - in[1]))); }, data.x, data.y);
        return train(net.parameters(), objective, 500, options).losses;
    };
    const auto standard = losses_with({.batch_size = 50, .steps = 30});
    const auto no_momentum = losses_with({.batch_size = 50, .steps = 30, .beta1 = 0.0});
    const auto again = losses_with({.batch_size = 50, .steps = 30});
    CHECK(standard.back().loss == again.back().loss);
    CHECK(standard.back().loss != no_momentum.back().loss);

    Recorder r;
    CHECK_THROWS_WITH(train({r.w}, r, 10, FitOptions<double>{.beta1 = 1.0}), Contains("betas must lie in [0, 1)"));
    CHECK_THROWS_WITH(train({r.w}, r, 10, FitOptions<double>{.epsilon = 0}), Contains("epsilon must be > 0"));
    CHECK_THROWS_WITH(train({r.w}, r, 10, FitOptions<double>{.weight_decay = -1}), Contains("weight_decay"));
    CHECK_THROWS_WITH(train({r.w}, r, 0, FitOptions<double>{}), Contains("no rows"));
    CHECK(r.steps.empty());
}

TEST_CASE("train validates, stops early and restores the best parameters", "[train]")
{
    Recorder r;
    // The validation loss is best at the second evaluation (step 2) and worse after.
    std::vector<double> validation_losses = {5, 1, 2, 3, 4, 6, 7};
    std::size_t evaluations = 0;
    const FitReport report = train({r.w}, r, 10,
                                   FitOptions<double>{.batch_size = 2, .steps = 100, .validate_every = 2, .patience = 3},
                                   [&] { return validation_losses[evaluations++]; });
    CHECK(report.stop_reason == StopReason::early_stopping);
    CHECK(report.best_step == 2);
    CHECK(report.best_validation_nll == 1);
    CHECK(report.steps_run == 8);
}

// ---- the data-parallel pieces, in one process (tests/parallel runs them over two) ----

TEST_CASE("BatchShard::of: P shards cover a batch contiguously, their sizes differ by at most one", "[train][parallel]")
{
    for (std::size_t batch = 1; batch <= 40; ++batch)
        for (int size = 1; size <= 5 && std::size_t(size) <= batch; ++size) {
            std::size_t next = 0, smallest = batch, largest = 0;
            for (int rank = 0; rank < size; ++rank) {
                const BatchShard shard = BatchShard::of(batch, rank, size);
                CHECK(shard.batch == batch);
                CHECK(shard.first == next);
                next += shard.count;
                smallest = std::min(smallest, shard.count);
                largest = std::max(largest, shard.count);
            }
            CHECK(next == batch);
            CHECK(largest - smallest <= 1);
            CHECK(smallest >= 1);
        }
}

TEST_CASE("world() started without an MPI launcher is one process, whose collectives change nothing", "[train][parallel]")
{
    ProcessGroup& group = world();
    CHECK(group.size() == 1);
    CHECK(group.rank() == 0);
    CHECK(group.is_root());
    CHECK_FALSE(group.parallel());
    std::vector<double> values{1.5, -2.0};
    group.sum(std::span<double>(values));
    CHECK(values == std::vector<double>{1.5, -2.0});
    group.dismiss_all_but_root();  // nothing to dismiss
    CHECK(group.size() == 1);
}

TEST_CASE("ProgramObjective::load_shard: the transform sees the global batch, the program gets the shard's rows",
          "[train][parallel]")
{
    Tensor<double> x = Tensor<double>::from_shape({10, 2}), c = Tensor<double>::from_shape({10, 1});
    for (std::size_t i = 0; i < 10; ++i) {
        x(i, 0) = double(i);
        x(i, 1) = 100.0 + double(i);
        c(i, 0) = -double(i);
    }
    // The transform adds the row's position in the batch it is given: a shard-sized batch would give
    // positions 0, 1, 2 instead of 2, 3, 4.
    std::vector<std::size_t> transformed_rows;
    auto transform = [&](Tensor<double>& batch, std::int64_t) {
        transformed_rows.push_back(batch.shape()[0]);
        for (std::size_t r = 0; r < batch.shape()[0]; ++r) batch(r, 0) += 1000.0 * double(r);
    };
    Tensor<double> seen_x, seen_c;
    auto make = [&](const std::array<Input<double>, 2>& in) { return Program(mean(in[0]) + mean(in[1])); };
    ProgramObjective objective(detail::Columns<double, 2>{{&x, &c}}, make, transform);
    objective.bind_shard(BatchShard{6, 2, 3});
    const std::vector<std::size_t> rows{9, 8, 7, 6, 5, 4};
    objective.load_shard(rows.data(), 1);
    REQUIRE(transformed_rows == std::vector<std::size_t>{6});
    // Shard rows 2..4 of the batch: data rows 7, 6, 5, at positions 2, 3, 4. mean of x: over 3 rows x 2 columns.
    const double expected_x = ((7 + 2000.0) + (6 + 3000.0) + (5 + 4000.0) + 107 + 106 + 105) / 6.0;
    const double expected_c = -(7.0 + 6.0 + 5.0) / 3.0;
    CHECK(objective.forward(1) == Approx(expected_x + expected_c).epsilon(1e-14));
}

TEST_CASE("train over a group of one process is the one-process run, bit for bit", "[train][parallel]")
{
    Line data;
    auto run = [&](const ProcessGroup* processes) {
        std::mt19937_64 rng(3);
        auto net = mlp<double>(2, hidden(8), 1, {.rng = &rng});
        auto objective = program_objective([&](const auto& in) { return Program(mean(square(net(in[0]) - in[1]))); },
                                           data.x, data.y);
        const FitReport report = train(net.parameters(), objective, 500,
                                       FitOptions<double>{.batch_size = 64, .steps = 50, .lr = 1e-2, .processes = processes});
        CHECK(report.processes == 1);
        CHECK(report.median_sum_ms == 0);
        return report.losses;
    };
    const auto alone = run(nullptr), grouped = run(&world());
    REQUIRE(alone.size() == grouped.size());
    for (std::size_t i = 0; i < alone.size(); ++i) CHECK(alone[i].loss == grouped[i].loss);
}
