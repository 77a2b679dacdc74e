// Graphs that are not trees: a let binding read by several consumers, diamonds, programs with several
// outputs (one consuming another, one listed twice), rebinding to another batch size, and the same graph
// in float and double.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

TEST_CASE("a let value used twice receives both adjoint contributions")
{
    std::mt19937 rng(71);
    Input<double> x(5, "x");
    Param<double> a(testing::uniform(1, 5, -1, 1, rng), "a");
    auto h = let(a * x);                     // h = a x
    Program program(sum(h * h + 3 * h));     // L = sum(h^2 + 3 h)
    program.bind(4);
    const Tensor<double> data = testing::uniform(4, 5, -1, 1, rng);
    x.set(data);
    program.forward();
    program.backward();

    // dL/da_c = sum_r x_rc (2 h_rc + 3)
    for (std::size_t c = 0; c < 5; ++c) {
        double expected = 0;
        for (std::size_t r = 0; r < 4; ++r) expected += data(r, c) * (2 * a.value()(0, c) * data(r, c) + 3);
        CHECK(a.grad()(0, c) == Approx(expected).epsilon(1e-14));
    }
    CHECK_GRADIENTS(program, {testing::target(a)});
}

TEST_CASE("a let value read by two kernels and an expression")
{
    std::mt19937 rng(72);
    Input<double> x(3, "x");
    Param<double> w(testing::uniform(3, 3, -1, 1, rng), "w");
    auto h = let(tanh(x) * 2);
    Program program(sum(matmul(h, w) * h) + sum(mean(h, 0) * logsumexp(h)));  // h feeds matmul, an expression, reductions
    program.bind(4);
    x.set(testing::uniform(4, 3, -1, 1, rng));
    program.forward();
    program.backward();

    // By hand: L = sum((h w) * h) + sum_c mean_r(h)_c * lse(h); dL/dw = h^T h.
    const Tensor<double> hv = xt::tanh(x.value()) * 2.0;
    const Tensor<double> expected = testing::reference_matmul(xt::transpose(hv), hv);
    CHECK(xt::allclose(w.grad(), expected, 1e-13, 0));
    CHECK_GRADIENTS(program, {testing::target(w)});
}

TEST_CASE("diamond graphs: two branches from one value joined again")
{
    std::mt19937 rng(73);
    Input<double> x(4, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(4, 6, -1, 1, rng), "w");
    Param<double> v1(testing::uniform(6, 6, -1, 1, rng), "v1");
    Param<double> v2(testing::uniform(6, 6, -1, 1, rng), "v2");
    auto top = let(tanh(matmul(x, w)));
    auto left = let(exp(top));
    auto right = let(top * 2 - 1);
    auto small_diamond = sum(left * right);
    auto kernel_diamond = sum(concat(matmul(top, v1), matmul(top, v2)) * concat(right, left));  // nested diamonds
    Program program(small_diamond + kernel_diamond);
    program.bind(5);
    x.set(testing::uniform(5, 4, -1, 1, rng));
    CHECK_GRADIENTS(program, {testing::target(x), testing::target(w), testing::target(v1), testing::target(v2)});
}

TEST_CASE("a program whose second output consumes its first in either order")
{
    std::mt19937 rng(74);
    Input<double> x(3, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(3, 4, -1, 1, rng), "w");
    auto h = let(tanh(matmul(x, w)));
    auto loss = mean(square(h));
    const Tensor<double> data = testing::uniform(6, 3, -1, 1, rng);

    SECTION("the consumed output first")
    {
        Program program(h, loss);
        program.bind(6);
        x.set(data);
        CHECK_GRADIENTS(program, {testing::target(x), testing::target(w)});
    }
    SECTION("the consumer first")
    {
        Program program(loss, h);
        program.bind(6);
        x.set(data);
        CHECK_GRADIENTS(program, {testing::target(x), testing::target(w)});

        // backward() seeds output 0 only: the gradient of the loss alone, as a one-output program gives.
        program.forward();
        w.zero_grad();
        program.backward();
        const Tensor<double> with_extra_output = w.grad();
        Program alone(loss);
        alone.bind(6);
        alone.forward();
        w.zero_grad();
        alone.backward();
        CHECK(xt::allclose(with_extra_output, w.grad(), 1e-15, 0));
    }
}

TEST_CASE("an output listed twice receives both seeds")
{
    std::mt19937 rng(75);
    Input<double> x(5, "x");
    Param<double> w(testing::uniform(5, 2, -1, 1, rng), "w");
    auto y = matmul(exp(x), w);
    Program program(y, y);
    program.bind(3);
    x.set(testing::uniform(3, 5, -1, 1, rng));
    CHECK_GRADIENTS(program, {testing::target(w)});

    // d/dw <s1, y> + <s2, y> = exp(x)^T (s1 + s2)
    program.forward();
    const Tensor<double> s1 = testing::uniform(3, 2, -1, 1, rng), s2 = testing::uniform(3, 2, -1, 1, rng);
    w.zero_grad();
    program.backward_from(s1, s2);
    const Tensor<double> s = s1 + s2;
    const Tensor<double> expected = testing::reference_matmul(xt::transpose(xt::exp(x.value())), s);
    CHECK(xt::allclose(w.grad(), expected, 1e-13, 0));
}

namespace {

// The output and gradients of one run.
struct Run {
    Tensor<double> output;
    Tensor<double> grad_w;
    Tensor<double> grad_b;
};

}  // namespace

TEST_CASE("rebinding to another batch size and back gives identical results")
{
    std::mt19937 rng(76);
    Input<double> x(7, "x");
    Param<double> w(testing::uniform(7, 9, -1, 1, rng), "w");
    Param<double> b(testing::uniform(1, 9, -1, 1, rng), "b");
    auto h = let(softplus(matmul(x, w) + b));
    auto [h1, h2] = split(h, 4, 5);
    Program program(mean(logsumexp(concat(h2, h1 * 2), 1)) + sum(sum(h, 0) * b) / 10 + sum(sigmoid(h2)));

    auto run = [&](const Tensor<double>& data) {
        program.bind(data.shape()[0]);
        x.set(data);
        program.forward();
        program.zero_grad();
        program.backward();
        return Run{program.value(), w.grad(), b.grad()};
    };
    const Tensor<double> big = testing::uniform(13, 7, -1, 1, rng), small = testing::uniform(2, 7, -1, 1, rng);
    const Run first = run(big);
    const Run other = run(small);
    const Run again = run(big);
    CHECK(other.output.shape() == first.output.shape());
    CHECK(again.output == first.output);
    CHECK(again.grad_w == first.grad_w);
    CHECK(again.grad_b == first.grad_b);
    CHECK_FALSE(other.grad_w == first.grad_w);  // the small batch really ran

    // And back to the small batch once more.
    const Run small_again = run(small);
    CHECK(small_again.output == other.output);
    CHECK(small_again.grad_w == other.grad_w);
}

namespace {

template <class T>
Tensor<double> forward_in(const Tensor<double>& data, const Tensor<double>& w, const Tensor<double>& b)
{
    Input<T> x(data.shape()[1], "x");
    Param<T> pw(xt::cast<T>(w), "w"), pb(xt::cast<T>(b), "b");
    auto h = let(elu(matmul(x, pw) + pb));
    auto [h1, h2] = split(h, 10, 7);
    Program program(concat(logsumexp(h1, 1), mean(sqrt(square(h2) + 1), 1), sum(h * h, 1)));
    program.bind(data.shape()[0]);
    x.set(xt::cast<T>(data));
    program.forward();
    return xt::cast<double>(program.value());
}

}  // namespace

TEST_CASE("the same graph agrees in float and double")
{
    std::mt19937 rng(77);
    const Tensor<double> data = testing::uniform(11, 19, -1, 1, rng);
    const Tensor<double> w = testing::uniform(19, 17, -0.5, 0.5, rng), b = testing::uniform(1, 17, -0.5, 0.5, rng);
    CHECK(xt::allclose(forward_in<float>(data, w, b), forward_in<double>(data, w, b), 1e-5, 1e-6));
}

TEST_CASE("two programs sharing a let value each backpropagate through it")
{
    // Regression: consumers were counted per node at bind, so binding a second program that reads the
    // shared value twice left the first program's sweep waiting for a consumer it does not have.
    std::mt19937 rng(78);
    Input<double> x(3, "x");
    Param<double> w(testing::uniform(3, 3, -1, 1, rng), "w");
    auto h = let(tanh(matmul(x, w)));
    Program first(sum(h));
    Program second(sum(h * h) + sum(exp(h)));
    first.bind(4);
    second.bind(4);
    x.set(testing::uniform(4, 3, -1, 1, rng));
    CHECK_GRADIENTS(first, {testing::target(w)});
    CHECK_GRADIENTS(second, {testing::target(w)});
}

TEST_CASE("backward() on a program with nothing to differentiate does nothing")
{
    Input<double> x(3, "x");
    Program program(sum(exp(x)));
    program.bind(2);
    x.set(Tensor<double>(xt::ones<double>({2, 3})));
    program.forward();
    CHECK_NOTHROW(program.backward());
    CHECK(program.value()(0, 0) == Approx(6 * std::exp(1.0)));
}
