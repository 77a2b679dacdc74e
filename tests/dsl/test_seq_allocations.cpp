// Regression: repeat(n, spec) summed its blocks' log-dets with xtensor's `+=`, which evaluates into a
// temporary, so every forward pass made one heap allocation per block after bind. A training step over a
// run-time repeat must allocate nothing once bound (the engine's promise, tests/engine/test_allocations).
#include <bijou/bijou.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "support/allocation_counter.hpp"

using namespace bijou;

TEST_CASE("repeat(n spec): a training step allocates nothing after the first")
{
    auto flow = make_flow<double>(4, dsl::repeat(3, flows::realnvp_coupling(dsl::conditioner(hidden(8)))), 1);
    Input<double> x(4, "x");
    auto program = flow.loss_program(x);
    program.bind(16);
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal;
    Tensor<double> batch = Tensor<double>::from_shape({16, 4});
    for (auto& v : batch) v = normal(rng);
    Adam<double> optimizer(flow.parameters());
    auto step = [&] {
        x.set(batch);
        program.forward();
        program.backward();
        optimizer.step();
    };
    step();  // binds the blocks' inner programs
    const testing::AllocationScope scope;
    for (int k = 0; k < 3; ++k) step();
    CHECK(scope.new_calls() == 0);
}

TEST_CASE("seq evaluated without gradients: chunks of rows, no allocation after the first pass, the training values")
{
    auto flow = make_flow<double>(4, dsl::repeat(3, flows::realnvp_coupling(dsl::conditioner(hidden(8)))), 1);
    std::mt19937_64 rng(2);
    std::normal_distribution<double> normal(0.0, 0.5);
    for (auto& p : flow.parameters())
        for (auto& v : p.value()) v = normal(rng);
    const std::size_t rows = 2 * dsl::detail::evaluation_chunk_rows + 37;  // two full chunks and a ragged one
    Tensor<double> batch = Tensor<double>::from_shape({rows, 4});
    for (auto& v : batch) v = normal(rng);

    Input<double> x(4, "x");
    auto evaluation = flow.loss_program(x);
    evaluation.bind(rows, Gradients::off);
    x.set(batch);
    evaluation.forward();
    const double chunked = evaluation.value()(0, 0);
    {
        const testing::AllocationScope scope;
        for (int k = 0; k < 3; ++k) evaluation.forward();
        CHECK(scope.new_calls() == 0);
    }
    Input<double> x_training(4, "x");
    auto training = flow.loss_program(x_training);
    training.bind(rows);
    x_training.set(batch);
    training.forward();
    CHECK(evaluation.value()(0, 0) == chunked);
    CHECK(chunked == Approx(training.value()(0, 0)).epsilon(1e-13));
}
