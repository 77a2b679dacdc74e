// matmul through BLAS: the four transposition variants, column slices read in place through the
// leading dimension, batch 1, expression operands, and a value multiplied by itself. Values against a
// naive product, gradients of both operands against finite differences.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <xtensor/xview.hpp>

#include "support/checks.hpp"

using namespace bijou;

namespace {

template <bool Transpose, class E>
auto maybe_transposed(const E& e)
{
    if constexpr (Transpose)
        return transposed(e);
    else
        return e;
}

Tensor<double> maybe_transpose(bool transpose, const Tensor<double>& t)
{
    return transpose ? Tensor<double>(xt::transpose(t)) : t;
}

// op(A) op(B) with op(A) m x k and op(B) k x n, A and B parameters stored transposed when asked.
template <class T, bool TransA, bool TransB>
void check_variant(std::size_t m, std::size_t k, std::size_t n)
{
    std::mt19937 rng(41);
    const Tensor<double> a = TransA ? testing::uniform(k, m, -1, 1, rng) : testing::uniform(m, k, -1, 1, rng);
    const Tensor<double> b = TransB ? testing::uniform(n, k, -1, 1, rng) : testing::uniform(k, n, -1, 1, rng);
    Param<T> pa(xt::cast<T>(a), "a"), pb(xt::cast<T>(b), "b");
    Program program(matmul(maybe_transposed<TransA>(pa), maybe_transposed<TransB>(pb)));
    program.bind(1);
    program.forward();
    const Tensor<double> expected = testing::reference_matmul(maybe_transpose(TransA, a), maybe_transpose(TransB, b));
    REQUIRE(program.value().shape() == expected.shape());
    CHECK(xt::allclose(xt::cast<double>(program.value()), expected, std::is_same_v<T, float> ? 1e-5 : 1e-13, 1e-6));
    if constexpr (std::is_same_v<T, double>) CHECK_GRADIENTS(program, {testing::target(pa), testing::target(pb)});
}

template <bool TransA, bool TransB>
void check_variant_shapes()
{
    // (m, k, n): a row times a matrix, widths off the SIMD width, and a size large enough for BLAS to block.
    const std::array<std::size_t, 3> shapes[] = {{1, 5, 3}, {7, 1, 9}, {6, 17, 1}, {40, 33, 19}};
    for (const auto& [m, k, n] : shapes) {
        INFO("m = " << m << ", k = " << k << ", n = " << n);
        check_variant<double, TransA, TransB>(m, k, n);
        check_variant<float, TransA, TransB>(m, k, n);
    }
}

}  // namespace

TEST_CASE("matmul(a b)") { check_variant_shapes<false, false>(); }
TEST_CASE("matmul(transposed(a) b)") { check_variant_shapes<true, false>(); }
TEST_CASE("matmul(a transposed(b))") { check_variant_shapes<false, true>(); }
TEST_CASE("matmul(transposed(a) transposed(b))") { check_variant_shapes<true, true>(); }

TEST_CASE("matmul of an input batch by a weight at batch 1 and batch 7")
{
    std::mt19937 rng(42);
    Input<double> x(6, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(6, 5, -1, 1, rng), "w");
    Program program(matmul(x, w));
    for (std::size_t batch : {1, 7}) {
        INFO("batch " << batch);
        program.bind(batch);
        const Tensor<double> data = testing::uniform(batch, 6, -1, 1, rng);
        x.set(data);
        program.forward();
        CHECK(xt::allclose(program.value(), testing::reference_matmul(data, w.value()), 1e-13, 0));
        CHECK_GRADIENTS(program, {testing::target(x), testing::target(w)});
    }
}

TEST_CASE("matmul contracting the batch: transposed(x) times y")
{
    std::mt19937 rng(43);
    Input<double> x(4, "x", {.requires_grad = true});
    Input<double> y(3, "y", {.requires_grad = true});
    Program program(matmul(transposed(x), y));
    for (std::size_t batch : {1, 9}) {
        INFO("batch " << batch);
        program.bind(batch);
        const Tensor<double> dx = testing::uniform(batch, 4, -1, 1, rng), dy = testing::uniform(batch, 3, -1, 1, rng);
        x.set(dx);
        y.set(dy);
        program.forward();
        CHECK(xt::allclose(program.value(), testing::reference_matmul(xt::transpose(dx), dy), 1e-13, 0));
        CHECK_GRADIENTS(program, {testing::target(x), testing::target(y)});
    }
}

TEST_CASE("matmul reads column slices in place as either operand plain or transposed")
{
    std::mt19937 rng(44);
    const std::size_t batch = 5;
    Input<double> x(12, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(5, 10, -1, 1, rng), "w");
    Param<double> v(testing::uniform(4, 9, -1, 1, rng), "v");
    Program program(matmul(slice(x, 3, 8), slice(w, 2, 6)),                        // (5 x 5) (5 x 4)
                    matmul(transposed(slice(x, 0, 4)), slice(x, 5, 12)),           // (5 x 4)^T (5 x 7)
                    matmul(slice(x, 2, 8), transposed(slice(v, 1, 7))),            // (5 x 6) (4 x 6)^T
                    matmul(transposed(slice(w, 0, 3)), transposed(slice(v, 2, 7))));  // (5 x 3)^T (4 x 5)^T
    program.bind(batch);
    const Tensor<double> data = testing::uniform(batch, 12, -1, 1, rng);
    x.set(data);
    program.forward();

    const auto columns = [](const Tensor<double>& t, std::size_t begin, std::size_t end) {
        return Tensor<double>(xt::view(t, xt::all(), xt::range(begin, end)));
    };
    const auto transpose = [](const Tensor<double>& t) { return Tensor<double>(xt::transpose(t)); };
    CHECK(xt::allclose(program.value<0>(),
                       testing::reference_matmul(columns(data, 3, 8), columns(w.value(), 2, 6)), 1e-13, 0));
    CHECK(xt::allclose(program.value<1>(),
                       testing::reference_matmul(transpose(columns(data, 0, 4)), columns(data, 5, 12)), 1e-13, 0));
    CHECK(xt::allclose(program.value<2>(),
                       testing::reference_matmul(columns(data, 2, 8), transpose(columns(v.value(), 1, 7))), 1e-13, 0));
    CHECK(xt::allclose(program.value<3>(),
                       testing::reference_matmul(transpose(columns(w.value(), 0, 3)), transpose(columns(v.value(), 2, 7))), 1e-13,
                       0));
    CHECK_GRADIENTS(program, {testing::target(x), testing::target(w), testing::target(v)});
}

TEST_CASE("matmul of a value with itself gets both operands' contributions")
{
    std::mt19937 rng(45);
    Param<double> w(testing::uniform(7, 7, -1, 1, rng), "w");
    Input<double> x(5, "x", {.requires_grad = true});
    auto h = let(tanh(x));
    Program program(matmul(w, w), matmul(transposed(w), w), matmul(w, transposed(w)),  // w w, w^T w, w w^T
                    matmul(transposed(h), h), matmul(h, transposed(h)));                // Gram matrices of h
    program.bind(6);
    const Tensor<double> data = testing::uniform(6, 5, -1, 1, rng);
    x.set(data);
    program.forward();

    const Tensor<double> wt = xt::transpose(w.value());
    const Tensor<double> th = xt::tanh(data);
    const Tensor<double> tht = xt::transpose(th);
    CHECK(xt::allclose(program.value<0>(), testing::reference_matmul(w.value(), w.value()), 1e-13, 0));
    CHECK(xt::allclose(program.value<1>(), testing::reference_matmul(wt, w.value()), 1e-13, 0));
    CHECK(xt::allclose(program.value<2>(), testing::reference_matmul(w.value(), wt), 1e-13, 0));
    CHECK(xt::allclose(program.value<3>(), testing::reference_matmul(tht, th), 1e-13, 0));
    CHECK(xt::allclose(program.value<4>(), testing::reference_matmul(th, tht), 1e-13, 0));
    CHECK_GRADIENTS(program, {testing::target(w), testing::target(x)});
}

TEST_CASE("matmul binds expression operands and its result feeds expressions")
{
    std::mt19937 rng(46);
    Input<double> x(3, "x", {.requires_grad = true});
    Param<double> w(testing::uniform(3, 4, -1, 1, rng), "w");
    Param<double> b(testing::uniform(1, 4, -1, 1, rng), "b");
    Program program(sigmoid(matmul(tanh(x) * 2, exp(w) - 1) + b), matmul(transposed(square(x)), x));
    program.bind(5);
    const Tensor<double> data = testing::uniform(5, 3, -1, 1, rng);
    x.set(data);
    program.forward();

    const Tensor<double> left = xt::tanh(data) * 2.0, right = xt::exp(w.value()) - 1.0;
    const Tensor<double> squared_t = xt::transpose(data * data);
    const Tensor<double> expected = 1.0 / (1.0 + xt::exp(-(testing::reference_matmul(left, right) + b.value())));
    CHECK(xt::allclose(program.value<0>(), expected, 1e-13, 0));
    CHECK(xt::allclose(program.value<1>(), testing::reference_matmul(squared_t, data), 1e-13, 0));
    CHECK_GRADIENTS(program, {testing::target(x), testing::target(w), testing::target(b)});
}
