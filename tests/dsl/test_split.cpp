// Splits: a coupling leaves exactly its untouched features alone, whichever split chooses them, and
// stays invertible with opposite log-dets in the two directions.
#include <bijou/dsl/coupling.hpp>
#include <bijou/flows/transforms.hpp>
#include <catch2/catch.hpp>
#include <random>

#include "support/checks.hpp"

using namespace bijou;

namespace {
template <class Block>
void randomise(const Block& block, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, 0.7);
    for (auto& p : block.parameters())
        for (auto& v : p.value()) v = normal(rng);
}

// Runs forward and inverse of a coupling built from `split` on 5 features and checks which columns moved.
template <class Split>
void check_split(const Split& split, const std::vector<bool>& untouched)
{
    dsl::BuildContext context;
    // A smooth conditioner: finite differences across a relu kink would not match the gradient.
    const auto smooth = dsl::conditioner(hidden(6), MLPOptions<activation::tanh>{.zero_last = true});
    auto block = dsl::coupling(split, smooth, flows::affine).template build<double>(5, context);
    randomise(block, 7);
    Input<double> x(5, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(y, x_back, log_det, log_det_inverse);
    program.bind(6);
    const Tensor<double> data = testing::normal_batch(6, 5, 3);
    x.set(data);
    program.forward();
    const auto& out = program.template value<0>();
    for (std::size_t r = 0; r < 6; ++r) {
        for (std::size_t c = 0; c < 5; ++c) {
            INFO("row " << r << " column " << c);
            if (untouched[c])
                CHECK(out(r, c) == data(r, c));
            else
                CHECK(out(r, c) != data(r, c));
            CHECK(program.template value<1>()(r, c) == Approx(data(r, c)).margin(1e-12));
        }
        CHECK(program.template value<2>()(r, 0) == Approx(-program.template value<3>()(r, 0)).margin(1e-12));
    }

    // Gradients of an NLL-like loss through the forward pass and through the inverse pass.
    Input<double> z(5, "z", {.requires_grad = true});
    auto [x_of_z, log_det_of_z] = block.inverse(z, dsl::NoCondition{});
    Input<double> x2(5, "x2", {.requires_grad = true});
    auto [y2, log_det2] = block.forward(x2, dsl::NoCondition{});
    Program losses(0.5 * sum(square(y2)) - sum(log_det2) + sum(square(x_of_z)) + sum(log_det_of_z));
    losses.bind(6);
    x2.set(data);
    z.set(testing::normal_batch(6, 5, 4));
    std::vector<testing::GradientTarget> targets{testing::target(x2), testing::target(z)};
    for (const auto& p : block.parameters()) targets.push_back(testing::target(p));
    const auto report = testing::check_gradients(losses, targets, {.step = 1e-5});
    INFO(report.worst_where);
    CHECK(report.worst_error < testing::gradient_tolerance);
}
}  // namespace

TEST_CASE("split: halves leaves the first floor(D/2) features untouched")
{
    check_split(dsl::halves, {true, true, false, false, false});
}

TEST_CASE("split: swapped halves leaves the last ceil(D/2) features untouched")
{
    check_split(dsl::halves.swapped(), {false, false, true, true, true});
}

TEST_CASE("split: alternating leaves the even features untouched and its complement the odd ones")
{
    check_split(dsl::alternating, {true, false, true, false, true});
    check_split(dsl::alternating.swapped(), {false, true, false, true, false});
}

TEST_CASE("split: a mask leaves exactly the marked features untouched")
{
    check_split(dsl::mask({false, true, false, false, true}), {false, true, false, false, true});
    check_split(dsl::mask({false, true, false, false, true}).swapped(), {true, false, true, true, false});
}

TEST_CASE("split: a mask of the wrong size or with an empty side is rejected with the shapes")
{
    dsl::BuildContext context;
    auto wrong_size = dsl::coupling(dsl::mask({true, false}), dsl::conditioner(hidden(4)), flows::affine);
    REQUIRE_THROWS_WITH(wrong_size.build<double>(5, context), Catch::Contains("mask of 2 entries for 5 features"));
    auto all_untouched = dsl::coupling(dsl::mask({true, true, true}), dsl::conditioner(hidden(4)), flows::affine);
    REQUIRE_THROWS_WITH(all_untouched.build<double>(3, context), Catch::Contains("leaves 3 untouched"));
    auto too_small = dsl::coupling(dsl::halves, dsl::conditioner(hidden(4)), flows::affine);
    REQUIRE_THROWS_WITH(too_small.build<double>(1, context), Catch::Contains("at least 2 features"));
}
