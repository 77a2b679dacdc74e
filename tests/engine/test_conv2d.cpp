// Image ops: conv2d (stride 1 and 2, "same" and "valid", with and without bias, 1x1), average pooling,
// nearest upsampling and the space-to-depth permutations. Values against direct loops in double (no
// GEMM, no patches), gradients against finite differences, odd sizes, batch 1, channel counts that
// are not a multiple of the SIMD width, a column slice of channels as the input, float against double,
// and the errors a wrong geometry gives. conv2d's two paths (im2col + GEMM, and the direct 3x3 one)
// are each checked against the definition and against each other.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/kernels/conv2d.hpp>
#include <bijou/engine/kernels/pool.hpp>
#include <bijou/engine/kernels/space_to_depth.hpp>
#include <bijou/engine/nn/conv2d.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <xtensor/xview.hpp>

#include "support/checks.hpp"

using namespace bijou;

namespace {

// The convolution by its definition, in double: y[n, co, oh, ow] = b[co] + sum over (ci, kh, kw) of
// w[(ci k + kh) k + kw, co] x[n, ci, oh s + kh - pad_top, ow s + kw - pad_left].
Tensor<double> direct_conv2d(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b,
                             const Conv2dGeometry& g)
{
    const std::size_t batch = x.shape()[0], k = g.kernel;
    Tensor<double> y = xt::zeros<double>({batch, g.out.size()});
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t co = 0; co < g.out.channels; ++co)
            for (std::size_t oh = 0; oh < g.out.height; ++oh)
                for (std::size_t ow = 0; ow < g.out.width; ++ow) {
                    double sum = b != nullptr ? (*b)(0, co) : 0.0;
                    for (std::size_t ci = 0; ci < g.in.channels; ++ci)
                        for (std::size_t kh = 0; kh < k; ++kh)
                            for (std::size_t kw = 0; kw < k; ++kw) {
                                const long ih = long(oh * g.stride + kh) - long(g.pad_top);
                                const long iw = long(ow * g.stride + kw) - long(g.pad_left);
                                if (ih < 0 || iw < 0 || ih >= long(g.in.height) || iw >= long(g.in.width)) continue;
                                sum += w((ci * k + kh) * k + kw, co) * x(n, g.in.index(ci, ih, iw));
                            }
                    y(n, g.out.index(co, oh, ow)) = sum;
                }
    return y;
}

struct ConvCase {
    ImageShape in;
    std::size_t out_channels, kernel, stride;
    Padding padding;
    bool bias;
    std::size_t batch;
};

std::string describe(const ConvCase& c)
{
    return to_string(c.in) + " -> " + std::to_string(c.out_channels) + " channels, k " + std::to_string(c.kernel) +
           ", stride " + std::to_string(c.stride) + (c.padding == Padding::same ? ", same" : ", valid") +
           (c.bias ? ", bias" : "") + ", batch " + std::to_string(c.batch);
}

const ConvCase conv_cases[] = {
    {{3, 5, 7}, 4, 3, 1, Padding::same, true, 2},    // odd sizes
    {{2, 6, 6}, 3, 3, 2, Padding::same, true, 1},    // stride 2, batch 1
    {{2, 7, 5}, 3, 3, 2, Padding::same, false, 2},   // stride 2 on odd sizes: uneven padding
    {{3, 6, 5}, 5, 3, 1, Padding::valid, true, 2},   // valid
    {{1, 7, 7}, 2, 3, 2, Padding::valid, false, 3},  // valid, stride 2
    {{5, 4, 3}, 17, 1, 1, Padding::same, true, 2},   // 1x1: a plain GEMM on the image
    {{3, 5, 5}, 2, 5, 1, Padding::same, true, 2},    // a 5x5 window wider than half the image
    {{2, 4, 4}, 3, 2, 2, Padding::valid, true, 2},   // an even window
    {{17, 3, 3}, 9, 3, 1, Padding::same, true, 1},   // more channels than the SIMD width
    // Batches of several GEMM groups (detail::conv2d_group: about 1024 output pixels per product):
    {{1, 23, 23}, 2, 3, 1, Padding::same, true, 3},  // 529 pixels: one image per group, three groups
    {{2, 15, 20}, 3, 3, 1, Padding::valid, false, 5},  // 234 pixels: groups of 4 and a last one of 1
    {{1, 30, 40}, 2, 3, 2, Padding::same, true, 4},  // stride 2, 300 pixels: groups of 3 and 1
    // 3x3 "same" at stride 1, where the direct path applies: single pixels, rows, columns, many channels
    {{1, 1, 1}, 1, 3, 1, Padding::same, true, 2},
    {{2, 1, 5}, 3, 3, 1, Padding::same, false, 1},
    {{3, 6, 1}, 2, 3, 1, Padding::same, true, 3},
    {{2, 14, 14}, 17, 3, 1, Padding::same, true, 2},
    {{12, 7, 7}, 5, 3, 1, Padding::same, false, 3},
    {{2, 7, 7}, 3, 3, 1, Padding::same, true, 11},  // the direct path's groups of 8 images and a last one of 3
};

// The algorithms that apply to a case: im2col + GEMM always, the direct path at 3x3, stride 1, "same".
std::vector<Conv2dAlgorithm> algorithms(const Conv2dGeometry& g)
{
    if (g.is_same3x3()) return {Conv2dAlgorithm::gemm, Conv2dAlgorithm::direct};
    return {Conv2dAlgorithm::gemm};
}

const char* describe(Conv2dAlgorithm a) { return a == Conv2dAlgorithm::gemm ? "gemm" : "direct"; }

}  // namespace

TEST_CASE("conv2d matches the direct convolution and its gradients match finite differences")
{
    std::mt19937 rng(11);
    for (const ConvCase& c : conv_cases)
        for (const Conv2dAlgorithm algorithm : algorithms(conv2d_geometry("test", {c.in, c.kernel, c.stride, c.padding}, c.out_channels))) {
        INFO(describe(c) << ", " << describe(algorithm));
        const Conv2dOptions options{c.in, c.kernel, c.stride, c.padding, algorithm};
        const Conv2dGeometry g = conv2d_geometry("test", options, c.out_channels);
        Input<double> x(c.in.size(), "x", {.requires_grad = true});
        Param<double> w(testing::uniform(g.patch_rows(), c.out_channels, -1, 1, rng), "w");
        Param<double> b(testing::uniform(1, c.out_channels, -1, 1, rng), "b");
        const Tensor<double> data = testing::uniform(c.batch, c.in.size(), -1, 1, rng);
        auto check = [&](auto& program, const Tensor<double>* bias) {
            program.bind(c.batch);
            x.set(data);
            program.forward();
            REQUIRE(program.value().shape()[1] == g.out.size());
            CHECK(xt::allclose(program.value(), direct_conv2d(data, w.value(), bias, g), 1e-12, 1e-12));
            std::vector<testing::GradientTarget> targets{testing::target(x), testing::target(w)};
            if (bias != nullptr) targets.push_back(testing::target(b));
            // A convolution is linear in each of x, w and b, so central differences are exact at any step
            // and only rounding remains: eps |y| / step per output, about 3e-9 on a gradient of 1e-4 at
            // the default step of 1e-6 (over the floor's 1e-9), 3e-12 at 1e-3.
            CHECK_GRADIENTS(program, targets, {.step = 1e-3});
        };
        if (c.bias) {
            Program program(conv2d(x, w, b, options));
            check(program, &b.value());
        } else {
            Program program(conv2d(x, w, options));
            check(program, nullptr);
        }
    }
}

TEST_CASE("conv2d's padding: PyTorch's for stride 1, TensorFlow's \"same\" (extra zero after) for stride 2")
{
    const Conv2dGeometry s1 = conv2d_geometry("test", {{2, 6, 7}, 3, 1, Padding::same}, 4);
    CHECK(s1.out == ImageShape{4, 6, 7});
    CHECK((s1.pad_top == 1 && s1.pad_left == 1));
    const Conv2dGeometry s2 = conv2d_geometry("test", {{2, 6, 7}, 3, 2, Padding::same}, 4);
    CHECK(s2.out == ImageShape{4, 3, 4});
    CHECK(s2.pad_top == 0);   // 6 rows: windows at 0, 2, 4 reach row 6, one zero row below
    CHECK(s2.pad_left == 1);  // 7 columns: windows at -1, 1, 3, 5 reach column 7
    const Conv2dGeometry v = conv2d_geometry("test", {{2, 6, 7}, 3, 2, Padding::valid}, 4);
    CHECK(v.out == ImageShape{4, 2, 3});
    CHECK((v.pad_top == 0 && v.pad_left == 0));
}

TEST_CASE("Conv2dLayer: parameters, initialisation and output geometry")
{
    std::mt19937_64 rng(3);
    Conv2dLayer<double> conv({3, 8, 8}, 5, 3, rng, {.stride = 2, .name = "c"});
    CHECK(conv.output_shape() == ImageShape{5, 4, 4});
    CHECK(shape_of(conv.weight.value()) == Shape{27, 5});
    CHECK(conv.parameters().size() == 2);
    const double bound = std::sqrt(6.0 / 27);  // Kaiming-uniform over the fan-in Ci k k
    CHECK(xt::amax(xt::abs(conv.weight.value()))() <= bound);
    CHECK(xt::amax(xt::abs(conv.weight.value()))() > 0.5 * bound);
    Conv2dLayer<double> plain({3, 8, 8}, 5, 1, rng, {.bias = false, .init = Init::zeros()});
    CHECK(plain.parameters().size() == 1);
    CHECK(xt::amax(xt::abs(plain.weight.value()))() == 0);
    Input<double> wrong(100, "wrong");
    CHECK_THROWS_WITH(conv(wrong), Catch::Contains("Conv2dLayer 'c'") && Catch::Contains("3x8x8") &&
                                       Catch::Contains("192") && Catch::Contains("100"));
}

TEST_CASE("conv2d reads a slice of whole channels in place and composes with other ops")
{
    // The slice is read by two convolutions, so its adjoint must be added to, not overwritten.
    for (const Conv2dAlgorithm algorithm : {Conv2dAlgorithm::gemm, Conv2dAlgorithm::direct}) {
        INFO(describe(algorithm));
        std::mt19937 rng(12);
        const ImageShape image{4, 5, 6}, half{2, 5, 6};
        Input<double> x(image.size(), "x", {.requires_grad = true});
        auto h = let(tanh(x));
        const Conv2dOptions options{half, 3, 1, Padding::same, algorithm};
        Param<double> w1(testing::uniform(2 * 9, 3, -1, 1, rng), "w1");
        Param<double> b1(testing::uniform(1, 3, -1, 1, rng), "b1");
        Param<double> w2(testing::uniform(3, 4, -1, 1, rng), "w2");  // then a 1x1 convolution of the result
        Param<double> w3(testing::uniform(2 * 9, 4, -1, 1, rng), "w3");
        auto hidden = conv2d(h.slice(half.size(), image.size()), w1, b1, options);
        Program program(conv2d(relu(hidden) * 1.0, w2, Conv2dOptions{{3, 5, 6}, 1}) +
                        conv2d(h.slice(half.size(), image.size()), w3, options));
        program.bind(3);
        const Tensor<double> data = testing::uniform(3, image.size(), -1, 1, rng);
        x.set(data);
        program.forward();
        const Tensor<double> second_half = xt::view(xt::tanh(data), xt::all(), xt::range(half.size(), image.size()));
        const Conv2dGeometry g1 = conv2d_geometry("test", options, 3);
        const Conv2dGeometry g2 = conv2d_geometry("test", {{3, 5, 6}, 1}, 4);
        const Conv2dGeometry g3 = conv2d_geometry("test", options, 4);
        const Tensor<double> expected =
            direct_conv2d(xt::maximum(direct_conv2d(second_half, w1.value(), &b1.value(), g1), 0.0), w2.value(), nullptr, g2) +
            direct_conv2d(second_half, w3.value(), nullptr, g3);
        CHECK(xt::allclose(program.value(), expected, 1e-12, 1e-12));
        CHECK_GRADIENTS(program, {testing::target(x), testing::target(w1), testing::target(b1), testing::target(w2),
                                  testing::target(w3)});
    }
}

namespace {

// max |a - b| <= tolerance max(1, max |b|): relative to the largest entry, as the two paths add the
// same terms in different orders.
template <class A, class B>
bool close(const A& a, const B& b, double tolerance)
{
    const double scale = std::max(1.0, double(xt::amax(xt::abs(b))()));
    return double(xt::amax(xt::abs(a - b))()) <= tolerance * scale;
}

// The output, d input, d weight and d bias of one algorithm, in double.
struct ConvResults {
    Tensor<double> y, dx, dw, db;
};

template <class T>
ConvResults run_conv(const Conv2dOptions& options, bool with_bias, Input<T>& x, const Param<T>& w, const Param<T>& b,
                     const Tensor<T>& data, const Tensor<T>& seed)
{
    auto run = [&](auto& program) {
        program.bind(data.shape()[0]);
        x.set(data);
        program.forward();
        x.grad().fill(T(0));
        w.zero_grad();
        b.zero_grad();
        program.backward_from(seed);
        return ConvResults{xt::cast<double>(program.value()), xt::cast<double>(x.grad()), xt::cast<double>(w.grad()),
                           xt::cast<double>(b.grad())};
    };
    if (with_bias) {
        Program program(conv2d(x, w, b, options));
        return run(program);
    }
    Program program(conv2d(x, w, options));
    return run(program);
}

}  // namespace

TEMPLATE_TEST_CASE("conv2d's direct path equals its GEMM path: output, d input, d weight and d bias", "", double, float)
{
    using T = TestType;
    const double tolerance = std::is_same_v<T, double> ? 1e-12 : 1e-5;
    std::mt19937 rng(21);
    const std::size_t sizes[][2] = {{1, 1}, {1, 5}, {3, 3}, {5, 7}, {7, 7}, {14, 14}};
    const std::size_t channels[] = {1, 2, 3, 4, 5, 8, 16, 17};
    for (const auto& size : sizes)
        for (const std::size_t batch : {1, 3})
            for (const std::size_t ci : channels)
                for (const std::size_t co : channels)
                    for (const bool with_bias : {false, true}) {
                        const ImageShape in{ci, size[0], size[1]};
                        INFO(to_string(in) << " -> " << co << " channels, batch " << batch << (with_bias ? ", bias" : ""));
                        Input<T> x(in.size(), "x", {.requires_grad = true});
                        Param<T> w(xt::cast<T>(testing::uniform(ci * 9, co, -1, 1, rng)), "w");
                        Param<T> b(xt::cast<T>(testing::uniform(1, co, -1, 1, rng)), "b");
                        const Tensor<T> data = xt::cast<T>(testing::uniform(batch, in.size(), -1, 1, rng));
                        const Tensor<T> seed = xt::cast<T>(testing::uniform(batch, co * in.pixels(), -1, 1, rng));
                        const auto gemm = run_conv<T>({in, 3, 1, Padding::same, Conv2dAlgorithm::gemm}, with_bias, x, w,
                                                      b, data, seed);
                        const auto direct = run_conv<T>({in, 3, 1, Padding::same, Conv2dAlgorithm::direct}, with_bias, x,
                                                        w, b, data, seed);
                        CHECK(close(direct.y, gemm.y, tolerance));
                        CHECK(close(direct.dx, gemm.dx, tolerance));
                        CHECK(close(direct.dw, gemm.dw, tolerance));
                        if (with_bias) CHECK(close(direct.db, gemm.db, tolerance));
                    }
}

TEST_CASE("conv2d's direct algorithm names what it needs when the geometry does not fit")
{
    Input<double> x(50, "x");
    Param<double> w(xt::zeros<double>({18, 3}), "w");
    Program strided(conv2d(x, w, Conv2dOptions{{2, 5, 5}, 3, 2, Padding::same, Conv2dAlgorithm::direct}));
    CHECK_THROWS_WITH(strided.bind(2), Catch::Contains("conv2d") && Catch::Contains("direct") && Catch::Contains("stride 2"));
    Program valid(conv2d(x, w, Conv2dOptions{{2, 5, 5}, 3, 1, Padding::valid, Conv2dAlgorithm::direct}));
    CHECK_THROWS_WITH(valid.bind(2), Catch::Contains("conv2d") && Catch::Contains("direct") && Catch::Contains("\"same\""));
}

TEST_CASE("conv2d in float agrees with double")
{
    std::mt19937 rng(13);
    const Conv2dOptions options{{3, 9, 8}, 3, 2, Padding::same};
    const Tensor<double> wd = testing::uniform(27, 8, -1, 1, rng), bd = testing::uniform(1, 8, -1, 1, rng);
    const Tensor<double> data = testing::uniform(4, options.input.size(), -1, 1, rng);
    Input<float> x(options.input.size(), "x");
    Param<float> w(xt::cast<float>(wd), "w"), b(xt::cast<float>(bd), "b");
    Program program(conv2d(x, w, b, options));
    program.bind(4);
    x.set(xt::cast<float>(data));
    program.forward();
    const Tensor<double> expected = direct_conv2d(data, wd, &bd, conv2d_geometry("test", options, 8));
    CHECK(xt::allclose(xt::cast<double>(program.value()), expected, 1e-5, 1e-5));
}

TEST_CASE("conv2d names the op and both geometries when they do not match")
{
    Input<double> x(50, "x");
    Param<double> w(xt::zeros<double>({18, 3}), "w");
    SECTION("a row that is not C x H x W")
    {
        Program program(conv2d(x, w, Conv2dOptions{{2, 5, 6}, 3}));
        CHECK_THROWS_WITH(program.bind(2), Catch::Contains("conv2d") && Catch::Contains("50 features") &&
                                               Catch::Contains("2x5x6") && Catch::Contains("60"));
    }
    SECTION("a weight of the wrong shape")
    {
        Input<double> y(60, "y");
        Param<double> wrong(xt::zeros<double>({12, 3}), "wrong");
        Program program(conv2d(y, wrong, Conv2dOptions{{2, 5, 6}, 3}));
        CHECK_THROWS_WITH(program.bind(2), Catch::Contains("conv2d") && Catch::Contains("(18 x 3)") &&
                                               Catch::Contains("(12 x 3)"));
    }
    SECTION("a valid window larger than the image")
    {
        CHECK_THROWS_WITH(conv2d(x, w, Conv2dOptions{{2, 2, 25}, 3, 1, Padding::valid}),
                          Catch::Contains("conv2d") && Catch::Contains("does not fit") && Catch::Contains("2x2x25"));
    }
    SECTION("a zero stride")
    {
        CHECK_THROWS_WITH(conv2d(x, w, Conv2dOptions{{2, 5, 5}, 3, 0}), Catch::Contains("stride"));
    }
}

TEST_CASE("average pooling and nearest upsampling: values and gradients")
{
    std::mt19937 rng(14);
    const ImageShape image{3, 5, 7};  // odd: pooling by 2 drops the last row and column
    Input<double> x(image.size(), "x", {.requires_grad = true});
    const Tensor<double> data = testing::uniform(2, image.size(), -1, 1, rng);
    SECTION("avg_pool2d")
    {
        Program program(avg_pool2d(x, image, 2));
        program.bind(2);
        x.set(data);
        program.forward();
        const ImageShape out{3, 2, 3};
        REQUIRE(program.value().shape()[1] == out.size());
        for (std::size_t n = 0; n < 2; ++n)
            for (std::size_t c = 0; c < 3; ++c)
                for (std::size_t h = 0; h < 2; ++h)
                    for (std::size_t w = 0; w < 3; ++w) {
                        const double mean = (data(n, image.index(c, 2 * h, 2 * w)) + data(n, image.index(c, 2 * h, 2 * w + 1)) +
                                             data(n, image.index(c, 2 * h + 1, 2 * w)) +
                                             data(n, image.index(c, 2 * h + 1, 2 * w + 1))) / 4;
                        CHECK(program.value()(n, out.index(c, h, w)) == Approx(mean).epsilon(1e-14));
                    }
        CHECK_GRADIENTS(program, {testing::target(x)});
    }
    SECTION("upsample_nearest")
    {
        Program program(upsample_nearest(x * 1.0, image, 3));
        program.bind(2);
        x.set(data);
        program.forward();
        const ImageShape out{3, 15, 21};
        REQUIRE(program.value().shape()[1] == out.size());
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t h = 0; h < 15; ++h)
                for (std::size_t w = 0; w < 21; ++w) CHECK(program.value()(1, out.index(c, h, w)) == data(1, image.index(c, h / 3, w / 3)));
        CHECK_GRADIENTS(program, {testing::target(x)});
    }
    SECTION("errors name the op and the geometry")
    {
        CHECK_THROWS_WITH(avg_pool2d(x, {3, 1, 7}, 2), Catch::Contains("avg_pool2d") && Catch::Contains("3x1x7"));
        Program program(avg_pool2d(x, {3, 5, 6}, 2));
        CHECK_THROWS_WITH(program.bind(2), Catch::Contains("avg_pool2d") && Catch::Contains("105 features") &&
                                               Catch::Contains("3x5x6"));
    }
}

TEST_CASE("space_to_depth is PyTorch's pixel_unshuffle and depth_to_space undoes it")
{
    std::mt19937 rng(15);
    const ImageShape image{2, 4, 6};
    const ImageShape squeezed = space_to_depth_shape(image, 2);
    CHECK(squeezed == ImageShape{8, 2, 3});
    const auto order = space_to_depth_order(image, 2);
    // pixel_unshuffle: out[c r^2 + i r + j, h, w] = in[c, h r + i, w r + j]
    CHECK(order[squeezed.index(1 * 4 + 1 * 2 + 0, 1, 2)] == image.index(1, 3, 4));
    CHECK(order[squeezed.index(0 * 4 + 0 * 2 + 1, 0, 0)] == image.index(0, 0, 1));
    Input<double> x(image.size(), "x", {.requires_grad = true});
    auto squeezed_x = let(space_to_depth(x, image, 2));
    Program program(depth_to_space(squeezed_x, squeezed, 2), squeezed_x);
    program.bind(3);
    const Tensor<double> data = testing::uniform(3, image.size(), -1, 1, rng);
    x.set(data);
    program.forward();
    CHECK(program.value<0>() == data);
    CHECK_GRADIENTS(program, {testing::target(x)});
    CHECK_THROWS_WITH(space_to_depth_order({2, 5, 6}, 2), Catch::Contains("space_to_depth") && Catch::Contains("2x5x6"));
    CHECK_THROWS_WITH(depth_to_space_order({6, 2, 2}, 2), Catch::Contains("depth_to_space") && Catch::Contains("6x2x2"));
}
