// Regression: repeat(n, spec) summed its blocks' log-dets with xtensor's `+=`, which evaluates into a
// temporary, so every forward pass made one heap allocation per block after bind. A training step over a
// run-time repeat must allocate nothing once bound (the engine's promise, tests/engine/test_allocations).
#include <bijou/bijou.hpp>
#include <catch2/catch.hpp>
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

namespace {
std::atomic<long> allocations{0};
}
void* operator new(std::size_t n)
{
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a)
{
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::aligned_alloc(std::size_t(a), (n + std::size_t(a) - 1) / std::size_t(a) * std::size_t(a)))
        return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

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
    const long before = allocations.load();
    for (int k = 0; k < 3; ++k) step();
    CHECK(allocations.load() - before == 0);
}
