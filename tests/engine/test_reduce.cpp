// sum and mean over everything, over rows (axis 0) and over columns (axis 1), applied to a fused
// expression that broadcasts a row and a column; logsumexp over the same axes, including inputs near
// +-1e3 where a naive log(sum(exp)) overflows.
#include <bijou/engine/engine.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

namespace {

constexpr int all = -1;  // "axis" of a reduction over every element

// A reference reduction with numpy's kept dimensions: group values, then finish each group.
template <class Finish>
Tensor<double> reference_reduce(const Tensor<double>& e, int axis, Finish finish)
{
    const std::size_t rows = e.shape()[0], cols = e.shape()[1];
    const std::size_t out_rows = axis == 1 ? rows : 1, out_cols = axis == 0 ? cols : 1;
    std::vector<std::vector<double>> groups(out_rows * out_cols);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
            groups[(axis == 1 ? r : 0) * out_cols + (axis == 0 ? c : 0)].push_back(e(r, c));
    Tensor<double> out = Tensor<double>::from_shape({out_rows, out_cols});
    for (std::size_t g = 0; g < groups.size(); ++g) out.data()[g] = finish(groups[g]);
    return out;
}

double total(const std::vector<double>& g) { return std::accumulate(g.begin(), g.end(), 0.0); }
double average(const std::vector<double>& g) { return total(g) / double(g.size()); }
double log_sum_exp(const std::vector<double>& g)
{
    const double m = *std::max_element(g.begin(), g.end());
    double s = 0;
    for (double v : g) s += std::exp(v - m);
    return m + std::log(s);
}

// reduction(e) for e = square(x - row) * column + 0.5, at batch 1 and 6, widths 1 and 19, against
// reference(e, axis); gradients of x, row and column against finite differences.
template <class Reduction, class Finish>
void check_reduction(Reduction reduction, int axis, Finish finish)
{
    std::mt19937 rng(51);
    for (std::size_t batch : {1, 6})
        for (std::size_t width : {1, 19}) {
            INFO("batch " << batch << ", width " << width);
            Input<double> x(width, "x", {.requires_grad = true});
            Param<double> row(testing::uniform(1, width, -1, 1, rng), "row");
            Param<double> column(testing::uniform(batch, 1, -1, 1, rng), "column");
            Program program(reduction(square(x - row) * column + 0.5));
            program.bind(batch);
            const Tensor<double> data = testing::uniform(batch, width, -1, 1, rng);
            x.set(data);
            program.forward();

            const Tensor<double> e = xt::square(data - row.value()) * column.value() + 0.5;
            CHECK(xt::allclose(program.value(), reference_reduce(e, axis, finish), 1e-13, 0));
            CHECK_GRADIENTS(program, {testing::target(x), testing::target(row), testing::target(column)});

            // The same reduction in float, against the double result.
            Input<float> xf(width, "x");
            Param<float> rowf(xt::cast<float>(row.value()), "row"), columnf(xt::cast<float>(column.value()), "column");
            Program programf(reduction(square(xf - rowf) * columnf + 0.5));
            programf.bind(batch);
            xf.set(xt::cast<float>(data));
            programf.forward();
            CHECK(xt::allclose(xt::cast<double>(programf.value()), program.value(), 1e-5, 1e-6));
        }
}

}  // namespace

TEST_CASE("sum over everything") { check_reduction([](auto e) { return sum(e); }, all, total); }
TEST_CASE("sum over rows (axis 0)") { check_reduction([](auto e) { return sum(e, 0); }, 0, total); }
TEST_CASE("sum over columns (axis 1)") { check_reduction([](auto e) { return sum(e, 1); }, 1, total); }
TEST_CASE("mean over everything") { check_reduction([](auto e) { return mean(e); }, all, average); }
TEST_CASE("mean over rows (axis 0)") { check_reduction([](auto e) { return mean(e, 0); }, 0, average); }
TEST_CASE("mean over columns (axis 1)") { check_reduction([](auto e) { return mean(e, 1); }, 1, average); }
TEST_CASE("logsumexp over everything") { check_reduction([](auto e) { return logsumexp(e); }, all, log_sum_exp); }
TEST_CASE("logsumexp over rows (axis 0)") { check_reduction([](auto e) { return logsumexp(e, 0); }, 0, log_sum_exp); }
TEST_CASE("logsumexp over columns (axis 1)")
{
    check_reduction([](auto e) { return logsumexp(e, 1); }, 1, log_sum_exp);
}

namespace {

// logsumexp of values near +1e3 (exp overflows) and near -1e3 (exp underflows to 0): finite, equal to
// the shifted reference, and its gradient is the softmax of each group.
template <class T, class Reduction>
void check_large_logsumexp(Reduction reduction, int axis)
{
    std::mt19937 rng(52);
    const std::size_t batch = 4, width = 19;
    Tensor<double> data = testing::uniform(batch, width, -3, 3, rng);
    for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t c = 0; c < width; ++c) data(r, c) += (r + c) % 2 ? 1e3 : -1e3;
    Input<T> x(width, "x", {.requires_grad = true});
    Program program(reduction(x));
    program.bind(batch);
    x.set(xt::cast<T>(data));
    program.forward();
    const Tensor<double> expected = reference_reduce(xt::cast<double>(xt::cast<T>(data)), axis, log_sum_exp);
    REQUIRE(xt::all(xt::isfinite(program.value())));
    CHECK(xt::allclose(xt::cast<double>(program.value()), expected, std::is_same_v<T, float> ? 1e-6 : 1e-14, 0));

    const Tensor<T> ones = xt::ones<T>(program.value().shape());
    program.backward_from(ones);
    REQUIRE(xt::all(xt::isfinite(x.grad())));
    for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t c = 0; c < width; ++c) {
            const double group_value = expected(axis == 1 ? r : 0, axis == 0 ? c : 0);
            const double softmax = std::exp(double(T(data(r, c))) - group_value);
            // In float, x - logsumexp near 1e3 keeps only the absolute precision of 1e3 (6e-5).
            CHECK(double(x.grad()(r, c)) == Approx(softmax).epsilon(std::is_same_v<T, float> ? 1e-4 : 1e-12).margin(1e-12));
        }
}

template <class Reduction>
void check_large_logsumexp(Reduction reduction, int axis)
{
    SECTION("float") { check_large_logsumexp<float>(reduction, axis); }
    SECTION("double") { check_large_logsumexp<double>(reduction, axis); }
}

}  // namespace

TEST_CASE("logsumexp stays finite and exact for inputs near +-1e3")
{
    SECTION("over everything") { check_large_logsumexp([](auto e) { return logsumexp(e); }, all); }
    SECTION("over rows") { check_large_logsumexp([](auto e) { return logsumexp(e, 0); }, 0); }
    SECTION("over columns") { check_large_logsumexp([](auto e) { return logsumexp(e, 1); }, 1); }
}
