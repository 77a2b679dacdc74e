// The engine's promise: binding a program allocates every buffer once; a training step after that
// (feed a batch, forward, backward, optimizer step) performs no heap allocation at all.
//
// This executable counts every operator new (tests/support/allocation_counter.hpp replaces them all) and on
// glibc also every malloc and friends, so memory taken by C code (OpenBLAS) or by an allocator that bypasses
// operator new (xsimd's aligned allocator, which xtensor uses when XTENSOR_USE_XSIMD is defined) is counted
// as well.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/kernels/conv2d.hpp>
#include <bijou/engine/kernels/pool.hpp>
#include <bijou/engine/nn/conv2d.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <bijou/engine/optim/optim.hpp>
#include <catch2/catch.hpp>

#include <new>
#include <random>
#include <string_view>

#define BIJOU_TESTING_COUNT_MALLOC  // malloc as well as operator new
#include "support/allocation_counter.hpp"

using namespace bijou;

namespace {

template <class T>
Tensor<T> random_batch(std::size_t rows, std::size_t cols, std::mt19937_64& rng)
{
    std::normal_distribution<double> normal;
    auto t = Tensor<T>::from_shape({rows, cols});
    for (auto& v : t) v = T(normal(rng));
    return t;
}

// Keeps the optimiser from being optimised away, and lets the test check that training happened.
template <class T>
T loss_value(const auto& program)
{
    return program.value()(0, 0);
}

}  // namespace

TEST_CASE("the counters see every kind of allocation")
{
    testing::AllocationScope scope;
    // Direct calls of the allocation functions: a new-expression whose result is not used may be
    // elided by the optimiser (it is, at -O1), a call of operator new may not.
    ::operator delete(::operator new(sizeof(int)));
    ::operator delete[](::operator new[](4 * sizeof(double)));
    ::operator delete(::operator new(sizeof(int), std::nothrow));
    ::operator delete(::operator new(64, std::align_val_t(64)), std::align_val_t(64));
    CHECK(scope.new_calls() == 4);
#if BIJOU_COUNT_MALLOC
    CHECK(scope.malloc_calls() >= 4);  // operator new is built on malloc here
    testing::AllocationScope c_scope;
    void* p = nullptr;
    REQUIRE(posix_memalign(&p, 64, 100) == 0);
    std::free(p);
    std::free(std::malloc(10));
    CHECK(c_scope.malloc_calls() == 2);
    CHECK(c_scope.blas_located);                 // libopenblas is loaded: its mallocs can be told apart
    CHECK(c_scope.blas_malloc_calls() == 0);     // and these two were not its
#endif
}

// OpenBLAS's threaded level-3 driver (driver/level3/level3_thread.c, gemm_driver) mallocs its job array,
// MAX_CPU_NUMBER * sizeof(job_t) (512 KiB in Debian's 0.3.21 build), on every gemm it splits across threads,
// and frees it on return: memory outside the engine, which it cannot avoid short of running BLAS on one
// thread. So operator new (the engine and its xtensor buffers) must be silent in every configuration,
// malloc only with BLAS single-threaded; with threads, the count is reported as a warning.
// With BLAS on one thread the engine mallocs nothing either, and neither does BLAS with the engine's own
// gemm backend (products never reach OpenBLAS then). OpenBLAS itself may: Debian's 0.3.21, on an
// AVX-512 CPU (its Cooperlake kernels, picked when OPENBLAS_CORETYPE is unset), mallocs 128 bytes in every
// call of its small-matrix dgemm kernel for untransposed operands and frees them on return. Those calls
// are told apart by their caller's address (allocation_counter.hpp) and reported with the openblas
// backend; every other malloc fails the check.
void check_no_malloc(const testing::AllocationScope& scope)
{
#if BIJOU_COUNT_MALLOC
    CHECK(scope.own_malloc_calls() == 0);
    if (detail::gemm_backend_name() == "openblas") {
        if (scope.blas_malloc_calls() != 0)
            WARN("OpenBLAS's own kernels made " << scope.blas_malloc_calls() << " malloc calls (see above)");
    } else {
        CHECK(scope.blas_malloc_calls() == 0);
    }
#endif
    (void)scope;
}

struct BlasThreads {
    int saved = openblas_get_num_threads();
    explicit BlasThreads(int n) { openblas_set_num_threads(n); }
    ~BlasThreads() { openblas_set_num_threads(saved); }
};

TEMPLATE_TEST_CASE("a training step (feed forward backward Adam step) allocates nothing", "", float, double)
{
    using T = TestType;
    constexpr std::size_t batch = 128, in = 32, width = 64, out = 64, batches = 4;

    // A regression loss through an MLP 32 -> 64 -> 64 -> 64.
    auto net = mlp<T>(in, hidden(width, width), out, {.seed = 1});
    Input<T> x(in, "x"), y(out, "y");
    auto loss = mean(square(net(x) - y));
    Program program(loss);
    program.bind(batch);
    Adam<T> optimizer(net.parameters(), {.lr = 1e-3});

    std::mt19937_64 rng(2);
    std::vector<Tensor<T>> inputs, targets;
    for (std::size_t i = 0; i < batches; ++i) {
        inputs.push_back(random_batch<T>(batch, in, rng));
        targets.push_back(random_batch<T>(batch, out, rng));
    }
    auto train_step = [&](std::size_t i) {
        x.set(inputs[i % batches]);
        y.set(targets[i % batches]);
        program.forward();
        program.backward();
        optimizer.step();
    };
    // Warm-up steps (first-call work in BLAS and friends), then `steps` counted ones.
    constexpr std::size_t steps = 50;
    auto counted_training = [&] {
        for (std::size_t i = 0; i < 2; ++i) train_step(i);
        program.forward();
        const T before = loss_value<T>(program);
        testing::AllocationScope scope;
        for (std::size_t i = 0; i < steps; ++i) train_step(i);
        const long new_calls = scope.new_calls(), malloc_calls = scope.malloc_calls();
        program.forward();
        CHECK(loss_value<T>(program) < before);  // the steps did run
        return std::pair{new_calls, malloc_calls};
    };

    SECTION("BLAS as configured: no operator new")
    {
        const auto [new_calls, malloc_calls] = counted_training();
        CHECK(new_calls == 0);
        if (malloc_calls != 0)
            WARN("OpenBLAS's threaded gemm made " << malloc_calls << " malloc calls in " << steps
                                                  << " steps (its per-call job array; see the note above)");
    }
    SECTION("BLAS on one thread: not even malloc")
    {
        BlasThreads one(1);
        const auto [new_calls, malloc_calls] = counted_training();
        CHECK(new_calls == 0);
#if BIJOU_COUNT_MALLOC
        CHECK(malloc_calls == 0);
#endif
        (void)malloc_calls;
    }
    SECTION("rebinding to the same batch size is free as well")
    {
        train_step(0);
        testing::AllocationScope rebind;
        program.bind(batch);
        CHECK(rebind.new_calls() == 0);
    }
}

TEMPLATE_TEST_CASE("a convolutional training step allocates nothing", "", float, double)
{
    using T = TestType;
    BlasThreads one(1);
    constexpr std::size_t batch = 8;
    const ImageShape image{2, 9, 9};
    // conv3x3 - relu - conv1x1 - relu - conv3x3 (stride 2), then pooling and upsampling back.
    std::mt19937_64 init(5);
    Conv2dLayer<T> first(image, 16, 3, init), middle({16, 9, 9}, 16, 1, init);
    Conv2dLayer<T> last({16, 9, 9}, 4, 3, init, {.stride = 2});
    Input<T> x(image.size(), "x"), y(4 * 5 * 5, "y");
    auto h = middle(relu(first(x)) * T(1));
    auto z = last(relu(h) * T(1));
    auto loss = mean(square(upsample_nearest(avg_pool2d(z, {4, 5, 5}, 2), {4, 2, 2}, 2) - y.slice(0, 64)));
    Program program(loss);
    program.bind(batch);
    std::vector<Param<T>> parameters = first.parameters();
    for (const auto* layer : {&middle, &last})
        for (const auto& p : layer->parameters()) parameters.push_back(p);
    Adam<T> optimizer(parameters, {.lr = 1e-3});
    std::mt19937_64 rng(6);
    const auto input = random_batch<T>(batch, image.size(), rng), target = random_batch<T>(batch, 100, rng);
    auto train_step = [&] {
        x.set(input);
        y.set(target);
        program.forward();
        program.backward();
        optimizer.step();
    };
    train_step();
    program.forward();
    const T before = loss_value<T>(program);
    testing::AllocationScope scope;
    for (int i = 0; i < 10; ++i) train_step();
    CHECK(scope.new_calls() == 0);
    check_no_malloc(scope);
    program.forward();
    CHECK(loss_value<T>(program) < before);
}

TEST_CASE("an inference pass allocates nothing either")
{
    BlasThreads one(1);
    auto net = mlp<float>(32, hidden(64, 64), 64, activation::tanh{}, {.seed = 3});
    Input<float> x(32, "x");
    Program program(let(net(x)));
    program.bind(256);
    std::mt19937_64 rng(4);
    const auto data = random_batch<float>(256, 32, rng);
    x.set(data);
    program.forward();

    testing::AllocationScope scope;
    for (int i = 0; i < 20; ++i) {
        x.set(data);
        program.forward();
    }
    CHECK(scope.new_calls() == 0);
    check_no_malloc(scope);
}
