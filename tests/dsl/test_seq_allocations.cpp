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
