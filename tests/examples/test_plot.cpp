// Figures: colour-map endpoints and monotone lightness, the bitmap font, pixel placement of heat maps,
// histograms and scatter plots, image grids, frames and panels.
#include <bijou/examples/common/plot.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::examples;

namespace {

// Relative luminance (ITU-R BT.709 weights on the 8-bit values), enough to compare lightness.
double luminance(Rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }

}  // namespace

TEST_CASE("viridis has matplotlib's endpoints and grows lighter throughout")
{
    CHECK(viridis(0.0) == Rgb{68, 1, 84});     // #440154
    CHECK(viridis(1.0) == Rgb{253, 231, 37});  // #fde725
    CHECK(viridis(0.5) == Rgb{33, 144, 140});  // #21918c within rounding
    CHECK(viridis(-3.0) == viridis(0.0));      // clamped
    CHECK(viridis(7.0) == viridis(1.0));
    CHECK(viridis(std::nan("")) == colours::invalid);
    for (int i = 1; i <= 100; ++i) CHECK(luminance(viridis(i / 100.0)) > luminance(viridis((i - 1) / 100.0)));
}

TEST_CASE("grey ink runs from white paper to black ink")
{
    CHECK(grey_ink(0.0) == colours::white);
    CHECK(grey_ink(1.0) == colours::black);
    CHECK(grey_ink(0.5) == Rgb{128, 128, 128});
    CHECK(grey_ink(std::nan("")) == colours::invalid);
}

TEST_CASE("the font draws glyphs from their bitmaps")
{
    Image image(20, 10);
    draw_text(image, 1, 1, "1", colours::black);
    // '1' is "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.": column 2 inked in every row.
    for (int row = 0; row < 7; ++row) CHECK(image.at(3, 1 + row) == colours::black);
    CHECK(image.at(1, 1) == colours::white);
    CHECK(image.at(2, 2) == colours::black);  // the flag of the 1
    CHECK(image.at(0, 0) == colours::white);  // nothing outside the glyph's cell

    CHECK(text_width("abc") == 17);
    CHECK(text_width("abc", 2) == 34);
    CHECK(text_height(3) == 21);
    CHECK(text_width("") == 0);

    // Lower case is drawn as upper case; an unknown character as '?'.
    Image lower(6, 8), upper(6, 8), unknown(6, 8), question(6, 8);
    draw_text(lower, 0, 0, "k", colours::black);
    draw_text(upper, 0, 0, "K", colours::black);
    draw_text(unknown, 0, 0, "~", colours::black);
    draw_text(question, 0, 0, "?", colours::black);
    CHECK(std::equal(lower.pixels().begin(), lower.pixels().end(), upper.pixels().begin()));
    CHECK(std::equal(unknown.pixels().begin(), unknown.pixels().end(), question.pixels().begin()));
}

TEST_CASE("a heat map puts the largest value in the top colour at its pixel")
{
    Tensor<double> values = Tensor<double>::from_shape({6, 1});
    for (std::size_t i = 0; i < 6; ++i) values(i, 0) = double(i);
    values(4, 0) = -std::numeric_limits<double>::infinity();  // log 0: the bottom of the scale
    const Image image = heat_map(values, 3, 2);
    CHECK(image.width() == 3);
    CHECK(image.at(2, 1) == viridis(1.0));  // value 5, the largest
    CHECK(image.at(0, 0) == viridis(0.0));  // value 0, the smallest finite
    CHECK(image.at(1, 1) == viridis(0.0));  // -inf
    CHECK(heat_map(values, 3, 2, {.min = 0, .max = 10}).at(2, 1) == viridis(0.5));
    CHECK_THROWS_AS(heat_map(values, 4, 2), shape_error);
}

TEST_CASE("a 2-D histogram counts each point in the pixel that contains it")
{
    const Extent extent{0, 4, 0, 2};
    // Two points in the bottom-right pixel, one in the top-left, one outside.
    const Tensor<double> points = {{3.5, 0.5}, {3.9, 0.1}, {0.2, 1.8}, {9.0, 1.0}};
    const Image image = histogram_2d(points, extent, 4, 2);
    CHECK(image.at(3, 1) == viridis(1.0));
    CHECK(image.at(0, 0) == viridis(0.5));
    CHECK(image.at(1, 0) == viridis(0.0));
    CHECK_THROWS_AS(histogram_2d(Tensor<double>::from_shape({3, 3}), extent, 4, 2), shape_error);
    CHECK_THROWS_AS(histogram_2d(points, Extent{1, 0, 0, 1}, 4, 2), usage_error);
}

TEST_CASE("a scatter plot marks the pixels of its points")
{
    const Tensor<float> points = {{0.f, 0.f}};
    const Image image = scatter_plot(points, Extent{-1, 1, -1, 1}, 10, 10, {.dot = 3});
    CHECK(image.at(5, 5) == colours::dark_blue);
    CHECK(image.at(4, 4) == colours::dark_blue);
    CHECK(image.at(6, 6) == colours::dark_blue);
    CHECK(image.at(7, 7) == colours::white);
}

TEST_CASE("an image grid lays out scaled images with borders")
{
    Tensor<double> images = Tensor<double>::from_shape({3, 4});  // three 2 x 2 images
    images.fill(0.0);
    images(1, 3) = 16.0;  // the bottom-right pixel of image 1 fully inked
    const Image grid = image_grid(images, 2, {.side = 2, .scale = 3, .border = 1});
    // 2 columns of (2 * 3 + 1) plus the outer border: 15 wide; 2 rows: 15 high.
    CHECK(grid.width() == 15);
    CHECK(grid.height() == 15);
    CHECK(grid.at(0, 0) == colours::light_grey);
    CHECK(grid.at(1, 1) == colours::white);
    CHECK(grid.at(8 + 5, 1 + 5) == colours::black);  // image 1 starts at x = 8, its pixel (1, 1) at +3..+5
    CHECK(grid.at(8 + 2, 1 + 2) == colours::white);
    CHECK_THROWS_AS(image_grid(images, 2, {.side = 3}), shape_error);
}

TEST_CASE("frames add a title and axis labels and panels sit side by side")
{
    const Image plot(50, 40, colours::black);
    const Image plain = framed(plot, "");
    CHECK(plain.width() == 4 + 52 + 4);
    CHECK(plain.height() == 4 + 42 + 4);
    CHECK(plain.at(5, 5) == colours::black);

    const Extent extent{-4, 4, -4, 4};
    const Image titled = framed(plot, "moons", extent);
    CHECK(titled.height() > plain.height() + text_height(2));
    CHECK(titled.width() > plain.width());

    const Image row = side_by_side({plain, titled}, 10);
    CHECK(row.width() == plain.width() + 10 + titled.width());
    CHECK(row.height() == titled.height());
    CHECK(row.at(plain.width() + 5, 0) == colours::white);  // the gap
}
