// Uniform dequantisation of the digits: each value stays in its bin (also at the top bin in float),
// to_pixels inverts it, the stacked draws line up with their rows, and the unit conversions give
// log2(17) bits per dimension for the uniform density on the unit cube.
#include <bijou/examples/common/dequantisation.hpp>

#include <cmath>

#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::examples;

namespace {
Tensor<double> every_level(std::size_t rows)  // rows x 64, values cycling through 0..16
{
    Tensor<double> images = Tensor<double>::from_shape({rows, Digits::pixels});
    for (std::size_t i = 0; i < images.size(); ++i) images.data()[i] = double(i % 17);
    return images;
}
}  // namespace

TEST_CASE("dequantised values lie in their bins and to_pixels recovers the image")
{
    const Tensor<double> images = every_level(20);
    const Tensor<float> y = dequantised<float>(images, 3, 5);
    REQUIRE(y.shape()[0] == 60);
    for (std::size_t d = 0; d < 3; ++d)
        for (std::size_t i = 0; i < 20; ++i)
            for (std::size_t p = 0; p < Digits::pixels; ++p) {
                const double v = images(i, p), value = double(y(d * 20 + i, p));
                CHECK(value >= v / 17);
                CHECK(value < (v + 1) / 17);
                CHECK(value < 1);
            }
    const Tensor<double> back = to_pixels(y);
    for (std::size_t d = 0; d < 3; ++d)
        for (std::size_t i = 0; i < 20; ++i)
            for (std::size_t p = 0; p < Digits::pixels; ++p) CHECK(back(d * 20 + i, p) == images(i, p));
    // The draws differ: the noise is fresh for each copy.
    CHECK(y(0, 0) != y(20, 0));
}

TEST_CASE("the top bin stays below 1 in float even when u rounds it up")
{
    std::mt19937_64 rng(1);
    std::vector<float> top(100000, 16.0f);
    dequantise(top.data(), top.size(), rng);
    for (const float v : top) REQUIRE(v < 1.0f);
}

TEST_CASE("to_pixels clamps samples outside the unit interval and bin_centres sits mid-bin")
{
    const Tensor<float> outside{{-0.2f, 1.5f, 0.5f}};
    const Tensor<double> pixels = to_pixels(outside);
    CHECK(pixels(0, 0) == 0);
    CHECK(pixels(0, 1) == 16);
    CHECK(pixels(0, 2) == 8);  // floor(8.5)
    const Tensor<double> images{{0, 16}};
    const Tensor<double> centres = bin_centres<double>(images);
    CHECK(centres(0, 0) == Approx(0.5 / 17));
    CHECK(centres(0, 1) == Approx(16.5 / 17));
    const Tensor<double> again = to_pixels(centres);
    CHECK(again(0, 0) == 0);
    CHECK(again(0, 1) == 16);
}

TEST_CASE("stacked repeats rows in the order of dequantised draws")
{
    const Tensor<float> c{{1, 0}, {0, 1}};
    const Tensor<float> s = stacked(c, 3);
    REQUIRE(s.shape()[0] == 6);
    for (std::size_t r = 0; r < 6; ++r) {
        CHECK(s(r, 0) == c(r % 2, 0));
        CHECK(s(r, 1) == c(r % 2, 1));
    }
}

TEST_CASE("the uniform density on the unit cube is log2(17) bits per dimension on the pixel scale")
{
    CHECK(pixel_scale_nll(0.0) == Approx(64 * std::log(17.0)));
    CHECK(bits_per_dim(pixel_scale_nll(0.0)) == Approx(std::log2(17.0)));
    CHECK(bits_per_dim(64 * std::log(2.0)) == Approx(1.0));
}
