// Image blocks: squeeze, Haar downsampling, factor-out, per-channel ActNorm, the invertible 1x1
// convolution and couplings with convolutional conditioners, built inside dsl::image(...). The
// bijection laws of each (float and double, random and extreme inputs, gradients) are checked by the
// block table (tests/tools/block_table.hpp: check_flows and the property tests); here: the geometry flows
// through the build as documented (channel halves, squeezed geometry, the channels that continue after
// a factor-out), the channel orders, the log-dets have the closed forms the papers give, data-dependent
// initialisation reaches every level, and misuse is an error naming the block.
#include <xtensor/xview.hpp>

#include <bijou/dsl/conv_conditioner.hpp>
#include <bijou/dsl/coupling.hpp>
#include <bijou/dsl/data_init.hpp>
#include <bijou/dsl/factor_out.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/dsl/squeeze.hpp>
#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/invertible_conv1x1.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "support/checks.hpp"

using namespace bijou;

namespace {

template <class T, class Spec>
auto build_on(ImageShape image, const Spec& spec, std::uint64_t seed = 3, std::size_t condition_dim = 0)
{
    dsl::BuildContext context;
    context.rng.seed(seed);
    context.condition_dim = condition_dim;
    return dsl::image(image, spec).template build<T>(image.size(), context);
}

inline auto conv_affine() { return dsl::coupling(dsl::halves, dsl::conv_conditioner(6), flows::affine); }

// Runs forward on a batch and returns (y, log_det).
template <class Block>
auto run_forward(const Block& block, const Tensor<double>& x)
{
    Input<double> in(block.dim(), "x");
    auto [y, log_det] = block.forward(in, dsl::NoCondition{});
    Program program(let(y), let(log_det * 1.0));
    program.bind(x.shape()[0]);
    in.set(x);
    program.forward();
    return std::pair<Tensor<double>, Tensor<double>>{program.template value<0>(), program.template value<1>()};
}

}  // namespace

TEST_CASE("squeeze and haar: the documented channel orders, volume preserving")
{
    const ImageShape image{1, 4, 4};
    Tensor<double> x = Tensor<double>::from_shape({1, 16});
    for (std::size_t j = 0; j < 16; ++j) x(0, j) = double(j);
    SECTION("squeeze: channel 2i + j holds pixel (2h + i, 2w + j)")
    {
        auto block = build_on<double>(image, dsl::squeeze(dsl::reverse()));
        // reverse() inside, so check the squeeze through the permutation it makes: undo the reverse.
        const auto [y, log_det] = run_forward(block, x);
        const ImageShape out{4, 2, 2};
        auto at = [&](std::size_t c, std::size_t h, std::size_t w) { return y(0, 15 - out.index(c, h, w)); };
        CHECK(at(0, 0, 0) == image.index(0, 0, 0));
        CHECK(at(1, 0, 0) == image.index(0, 0, 1));
        CHECK(at(2, 0, 0) == image.index(0, 1, 0));
        CHECK(at(3, 1, 1) == image.index(0, 3, 3));
        CHECK(log_det(0, 0) == 0);
    }
    SECTION("haar: averages first, then the horizontal, vertical and diagonal details, orthonormal")
    {
        Tensor<double> constant = xt::ones<double>({1, 16});
        auto block = build_on<double>(image, dsl::haar(dsl::reverse()));
        const auto [y, log_det] = run_forward(block, constant);
        // A constant image: every 2x2 block's average is (1+1+1+1)/2 = 2, every detail 0.
        for (std::size_t j = 0; j < 16; ++j) CHECK(y(0, 15 - j) == Approx(j < 4 ? 2.0 : 0.0).margin(1e-15));
        const auto [z, unused] = run_forward(block, x);
        CHECK(xt::sum(z * z)() == Approx(xt::sum(x * x)()).epsilon(1e-14));  // orthogonal: norms kept
        CHECK(log_det(0, 0) == 0);
    }
}

TEST_CASE("the geometry flows through the build: halves by channels, squeezed and factored-out images")
{
    SECTION("a coupling's halves split whole channels, also when the channel count is odd")
    {
        auto block = build_on<double>({3, 2, 2}, conv_affine());
        CHECK(block.conditioner().input_image() == ImageShape{1, 2, 2});  // floor(3/2) channels untouched
        CHECK(block.conditioner().out_channels() == 4);                   // log-scale and shift of 2 channels
    }
    SECTION("factor_out keeps the first floor(C/2) channels and transforms the rest at their geometry")
    {
        auto block = build_on<double>({5, 2, 2}, dsl::factor_out(conv_affine()));
        CHECK(block.factored_out() == 2 * 4);
        CHECK(block.inner().conditioner().input_image() == ImageShape{1, 2, 2});  // 3 channels continue
        Tensor<double> x = testing::normal_batch(2, 20, 5);
        for (auto& p : block.parameters())
            for (auto& v : p.value()) v = 0.3;  // a non-identity inner block
        const auto [y, log_det] = run_forward(block, x);
        const bool kept = xt::view(y, xt::all(), xt::range(0, 8)) == xt::view(x, xt::all(), xt::range(0, 8));
        const bool transformed = xt::view(y, xt::all(), xt::range(8, 20)) != xt::view(x, xt::all(), xt::range(8, 20));
        CHECK(kept);
        CHECK(transformed);
    }
}

TEST_CASE("per-channel ActNorm and the invertible 1x1 convolution have the papers' log-dets")
{
    const ImageShape image{3, 2, 5};  // 10 pixels
    Tensor<double> x = testing::normal_batch(4, image.size(), 6);
    SECTION("channel_actnorm: log|det| = -H W sum_c log_scale_c, and data-dependent initialisation per channel")
    {
        auto block = build_on<double>(image, flows::channel_actnorm());
        CHECK(shape_of(block.log_scale().value()) == Shape{1, 3});
        block.log_scale().value() = Tensor<double>{{0.1, -0.2, 0.5}};
        const auto [y, log_det] = run_forward(block, x);
        for (std::size_t r = 0; r < 4; ++r) CHECK(log_det(r, 0) == Approx(-10 * (0.1 - 0.2 + 0.5)).epsilon(1e-14));
        // Initialised on a batch with channel means 3, -1, 0 and scales 2, 0.5, 4: each channel of the
        // output has mean 0 and variance 1 over the batch and the pixels.
        Tensor<double> skewed = x;
        const double mean[] = {3, -1, 0}, scale[] = {2, 0.5, 4};
        for (std::size_t r = 0; r < 4; ++r)
            for (std::size_t j = 0; j < image.size(); ++j) skewed(r, j) = mean[j / 10] + scale[j / 10] * x(r, j);
        const Tensor<double> out = dsl::initialize(block, skewed);
        for (std::size_t c = 0; c < 3; ++c) {
            auto channel = xt::view(out, xt::all(), xt::range(10 * c, 10 * (c + 1)));
            const double m = xt::mean(channel)();
            CHECK(std::abs(m) < 1e-12);
            CHECK(xt::mean((channel - m) * (channel - m))() == Approx(1.0).epsilon(1e-9));
        }
    }
    SECTION("invertible_conv1x1: each pixel's channels are mixed by W, log|det| = H W log|det W|")
    {
        auto block = build_on<double>(image, flows::invertible_conv1x1());
        for (auto& p : block.parameters())
            for (auto& v : p.value()) v += 0.2;  // away from the rotation it starts as
        const Tensor<double> w = block.weight();
        const auto [y, log_det] = run_forward(block, x);
        for (std::size_t p = 0; p < 10; ++p)
            for (std::size_t o = 0; o < 3; ++o) {
                double expected = 0;
                for (std::size_t i = 0; i < 3; ++i) expected += w(o, i) * x(1, i * 10 + p);
                CHECK(y(1, o * 10 + p) == Approx(expected).epsilon(1e-12));
            }
        const double det = w(0, 0) * (w(1, 1) * w(2, 2) - w(1, 2) * w(2, 1)) -
                           w(0, 1) * (w(1, 0) * w(2, 2) - w(1, 2) * w(2, 0)) +
                           w(0, 2) * (w(1, 0) * w(2, 1) - w(1, 1) * w(2, 0));
        CHECK(log_det(2, 0) == Approx(10 * std::log(std::abs(det))).epsilon(1e-12));
    }
}

TEST_CASE("data-dependent initialisation reaches the ActNorms of every level of a multi-scale flow")
{
    auto block = build_on<double>({2, 4, 4}, dsl::squeeze(dsl::seq(flows::channel_actnorm(),
                                                                   dsl::factor_out(flows::channel_actnorm()))));
    Tensor<double> x = testing::normal_batch(16, 32, 7) * 3.0 + 1.0;
    const Tensor<double> out = dsl::initialize(block, x);
    // After the squeeze (8 channels of 4 pixels) and the first ActNorm, channels 4..7 continue into the
    // second one, which standardises them again: each of the 8 output channels has mean 0, variance 1.
    for (std::size_t c = 0; c < 8; ++c) {
        auto channel = xt::view(out, xt::all(), xt::range(4 * c, 4 * (c + 1)));
        const double m = xt::mean(channel)();
        CHECK(std::abs(m) < 1e-10);
        CHECK(xt::mean((channel - m) * (channel - m))() == Approx(1.0).epsilon(1e-8));
    }
}

TEST_CASE("image blocks name themselves and the geometry when misused")
{
    dsl::BuildContext context;
    CHECK_THROWS_WITH(dsl::squeeze(dsl::reverse()).build<double>(16, context),
                      Catch::Contains("squeeze") && Catch::Contains("dsl::image"));
    CHECK_THROWS_WITH(flows::channel_actnorm().build<double>(16, context),
                      Catch::Contains("channel_actnorm") && Catch::Contains("dsl::image"));
    CHECK_THROWS_WITH(build_on<double>({1, 3, 4}, dsl::squeeze(dsl::reverse())),
                      Catch::Contains("space_to_depth") && Catch::Contains("1x3x4"));
    CHECK_THROWS_WITH(build_on<double>({1, 4, 4}, dsl::factor_out(dsl::reverse())),
                      Catch::Contains("factor_out") && Catch::Contains("1x4x4"));
    CHECK_THROWS_WITH(dsl::image({2, 4, 4}, dsl::reverse()).build<double>(30, context),
                      Catch::Contains("image") && Catch::Contains("30 features") && Catch::Contains("2x4x4"));
    CHECK_THROWS_WITH(build_on<double>({2, 2, 2}, dsl::coupling(dsl::alternating, dsl::conv_conditioner(4), flows::affine)),
                      Catch::Contains("conv_conditioner") && Catch::Contains("whole channels"));
}
