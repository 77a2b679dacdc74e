// Figures for the experiments: heat maps of 2-D densities, histograms and scatter plots of 2-D points,
// grids of small images, and the frames, titles and panels that put them together.
//
//   const Extent extent{-4, 4, -4, 4};
//   Tensor<double> grid = grid_points<double>(extent, 200, 200);   // 40000 x 2, the centres of the pixels
//   Tensor<double> density = ...;                                  // p(x) at each grid point, in that order
//   Image figure = side_by_side({framed(heat_map(density, 200, 200), "model", extent),
//                                framed(histogram_2d(data, extent, 200, 200), "data", extent)});
//   write_png(out / "density.png", figure);
//
//   write_png(out / "samples.png", image_grid(samples, 10, {.side = 8, .scale = 4, .min = 0, .max = 16}));
//
// Coordinates: a raster of width x height pixels covers the extent, pixel (col, row) the cell
//   x in [x_min + col * dx, x_min + (col + 1) * dx),  y in (y_max - (row + 1) * dy, y_max - row * dy],
// with dx = (x_max - x_min) / width, dy = (y_max - y_min) / height: row 0 is the top (largest y), as in a
// plot. grid_points() (extent.hpp) lists the cell centres row by row from the top left, which is the
// order heat_map() reads its values in.
//
// Colour scales: heat_map() and histogram_2d() map [min, max] linearly onto viridis; either bound left as
// NaN (the default) is taken from the data's finite values. A constant image maps to the bottom colour.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/tensor.hpp>
#include <bijou/examples/common/colormap.hpp>
#include <bijou/examples/common/extent.hpp>
#include <bijou/examples/common/font.hpp>
#include <bijou/examples/common/image.hpp>

namespace bijou::examples {

struct ColourScale {
    double min = std::numeric_limits<double>::quiet_NaN();
    double max = std::numeric_limits<double>::quiet_NaN();
};

struct ScatterOptions {
    Rgb colour = colours::dark_blue;
    Rgb background = colours::white;
    std::size_t dot = 1;  // each point is a dot x dot square
};

struct ImageGridOptions {
    std::size_t side = 8;      // each row of `images` is a side x side image, row-major
    std::size_t scale = 4;     // each image pixel becomes scale x scale screen pixels
    std::size_t border = 1;    // pixels between neighbouring images and around the grid
    double min = 0, max = 16;  // the value range drawn white .. black (8x8 digits: 0 .. 16)
    Rgb border_colour = colours::light_grey;
};

struct FrameOptions {
    std::size_t title_scale = 2;  // the title's font scale; labels use scale 1
    Rgb ink = colours::black;
    Rgb background = colours::white;
};

namespace detail {

template <class T>
void check_points(const Tensor<T>& points, std::string_view where)
{
    if (points.shape()[1] != 2) throw_shape_error(where, "points must be n x 2, got ", shape_of(points));
}

// [lo, hi] from the options, each missing bound from the data's finite values.
inline std::pair<double, double> colour_range(std::span<const double> values, ColourScale scale)
{
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const double v : values)
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (!std::isnan(scale.min)) lo = scale.min;
    if (!std::isnan(scale.max)) hi = scale.max;
    if (!std::isfinite(lo) || !std::isfinite(hi)) return {0.0, 1.0};  // no finite values at all
    return {lo, hi};
}

inline Image colour_mapped(std::span<const double> values, std::size_t width, std::size_t height, ColourScale scale)
{
    const auto [lo, hi] = colour_range(values, scale);
    Image image(width, height);
    for (std::size_t row = 0; row < height; ++row)
        for (std::size_t col = 0; col < width; ++col) {
            const double v = values[row * width + col];
            // -inf (a log-density of zero) is the bottom of the scale, +inf the top; only NaN is invalid.
            const double t = hi > lo ? (v - lo) / (hi - lo) : 0.0;
            image.set(std::ptrdiff_t(col), std::ptrdiff_t(row), viridis(std::isnan(v) ? v : t));
        }
    return image;
}

// The pixel a point falls in, or false when it lies outside the extent.
inline bool pixel_of(double x, double y, const Extent& e, std::size_t width, std::size_t height, std::size_t& col,
                     std::size_t& row)
{
    const double fx = (x - e.x_min) / (e.x_max - e.x_min), fy = (e.y_max - y) / (e.y_max - e.y_min);
    if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) return false;  // also rejects NaN
    col = std::min(std::size_t(fx * double(width)), width - 1);
    row = std::min(std::size_t(fy * double(height)), height - 1);
    return true;
}

inline std::string number_label(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

}  // namespace detail

// values: width * height numbers (any shape) in grid_points() order, e.g. a density evaluated on the grid.
template <class T>
Image heat_map(const Tensor<T>& values, std::size_t width, std::size_t height, ColourScale scale = {})
{
    if (values.size() != width * height || width == 0 || height == 0)
        throw_shape_error("heat_map", "a ", width, " x ", height, " heat map needs ", width * height, " values, got ",
                          shape_of(values));
    const std::vector<double> as_double(values.begin(), values.end());
    return detail::colour_mapped(as_double, width, height, scale);
}

// The number of points in each pixel of a width x height raster over `extent`, colour-mapped. Points outside
// the extent are not counted.
template <class T>
Image histogram_2d(const Tensor<T>& points, const Extent& extent, std::size_t width, std::size_t height,
                   ColourScale scale = {})
{
    detail::check_points(points, "histogram_2d");
    detail::check_extent(extent, "histogram_2d");
    std::vector<double> counts(width * height, 0.0);
    std::size_t col = 0, row = 0;
    for (std::size_t i = 0; i < points.shape()[0]; ++i)
        if (detail::pixel_of(double(points(i, 0)), double(points(i, 1)), extent, width, height, col, row))
            counts[row * width + col] += 1;
    return detail::colour_mapped(counts, width, height, scale);
}

template <class T>
Image scatter_plot(const Tensor<T>& points, const Extent& extent, std::size_t width, std::size_t height,
                   ScatterOptions options = {})
{
    detail::check_points(points, "scatter_plot");
    detail::check_extent(extent, "scatter_plot");
    Image image(width, height, options.background);
    std::size_t col = 0, row = 0;
    const auto half = std::ptrdiff_t(options.dot / 2);
    for (std::size_t i = 0; i < points.shape()[0]; ++i)
        if (detail::pixel_of(double(points(i, 0)), double(points(i, 1)), extent, width, height, col, row))
            image.fill_rect(std::ptrdiff_t(col) - half, std::ptrdiff_t(row) - half, options.dot, options.dot,
                            options.colour);
    return image;
}

// The rows of `images` as a grid of small greyscale pictures, `columns` per row, min white and max black.
template <class T>
Image image_grid(const Tensor<T>& images, std::size_t columns, ImageGridOptions options = {})
{
    const std::size_t count = images.shape()[0], side = options.side, scale = options.scale;
    if (images.shape()[1] != side * side)
        throw_shape_error("image_grid", "each row must hold a ", side, " x ", side, " image (", side * side,
                          " values), got ", shape_of(images));
    if (count == 0 || columns == 0 || scale == 0)
        throw_usage_error("image_grid", "needs at least one image, one column and a scale of 1 or more");
    if (!(options.min < options.max)) throw_usage_error("image_grid", "needs min < max");
    const std::size_t rows = (count + columns - 1) / columns, cell = side * scale + options.border;
    Image grid(columns * cell + options.border, rows * cell + options.border, options.border_colour);
    for (std::size_t i = 0; i < count; ++i) {
        const auto x0 = std::ptrdiff_t((i % columns) * cell + options.border);
        const auto y0 = std::ptrdiff_t((i / columns) * cell + options.border);
        for (std::size_t r = 0; r < side; ++r)
            for (std::size_t c = 0; c < side; ++c) {
                const double t = (double(images(i, r * side + c)) - options.min) / (options.max - options.min);
                grid.fill_rect(x0 + std::ptrdiff_t(c * scale), y0 + std::ptrdiff_t(r * scale), scale, scale,
                               grey_ink(t));
            }
    }
    return grid;
}

// An image grid with a label left of each row (row r of the grid is labelled labels[r]).
inline Image labelled_rows(const Image& grid, const std::vector<std::string>& labels,
                              const ImageGridOptions& options)
{
    const std::size_t cell = options.side * options.scale + options.border, pad = 4;
    constexpr std::size_t font_scale = 2;
    std::size_t label_width = 0;
    for (const auto& label : labels) label_width = std::max(label_width, text_width(label, font_scale));
    Image image(label_width + pad + grid.width(), grid.height(), colours::white);
    image.paste(grid, std::ptrdiff_t(label_width + pad), 0);
    for (std::size_t r = 0; r < labels.size(); ++r) {
        const auto y = std::ptrdiff_t(options.border + r * cell + (cell - text_height(font_scale)) / 2);
        draw_text(image, std::ptrdiff_t(label_width - text_width(labels[r], font_scale)), y, labels[r],
                  colours::black, font_scale);
    }
    return image;
}

// A plot with a title above it, a one-pixel frame around it, and, given the extent, its axis ranges:
// x_min and x_max under the left and right edges, y_max and y_min left of the top and bottom edges.
inline Image framed(const Image& plot, std::string_view title, const Extent* axes = nullptr, FrameOptions options = {})
{
    const std::size_t pad = 4, title_height = title.empty() ? 0 : text_height(options.title_scale) + pad;
    std::string y_top, y_bottom, x_left, x_right;
    std::size_t left = pad, bottom = pad;
    if (axes) {
        y_top = detail::number_label(axes->y_max);
        y_bottom = detail::number_label(axes->y_min);
        x_left = detail::number_label(axes->x_min);
        x_right = detail::number_label(axes->x_max);
        left += std::max(text_width(y_top), text_width(y_bottom)) + pad;
        bottom += text_height() + pad;
    }
    const std::size_t width = left + plot.width() + 2 + pad;
    Image image(std::max(width, text_width(title, options.title_scale) + 2 * pad),
                pad + title_height + plot.height() + 2 + bottom, options.background);
    const auto plot_x = std::ptrdiff_t(left), plot_y = std::ptrdiff_t(pad + title_height);
    if (!title.empty()) {
        const std::size_t w = text_width(title, options.title_scale);
        const auto centre = std::ptrdiff_t(left + (plot.width() + 2) / 2) - std::ptrdiff_t(w / 2);
        draw_text(image, std::max<std::ptrdiff_t>(centre, std::ptrdiff_t(pad)), std::ptrdiff_t(pad), title, options.ink,
                  options.title_scale);
    }
    image.outline_rect(plot_x, plot_y, plot.width() + 2, plot.height() + 2, options.ink);
    image.paste(plot, plot_x + 1, plot_y + 1);
    if (axes) {
        const auto below = plot_y + std::ptrdiff_t(plot.height() + 2 + pad);
        draw_text(image, plot_x, below, x_left, options.ink);
        draw_text(image, plot_x + std::ptrdiff_t(plot.width() + 2) - std::ptrdiff_t(text_width(x_right)), below,
                  x_right, options.ink);
        const auto label_right = plot_x - std::ptrdiff_t(pad);
        draw_text(image, label_right - std::ptrdiff_t(text_width(y_top)), plot_y, y_top, options.ink);
        draw_text(image, label_right - std::ptrdiff_t(text_width(y_bottom)),
                  plot_y + std::ptrdiff_t(plot.height() + 2) - std::ptrdiff_t(text_height()), y_bottom, options.ink);
    }
    return image;
}

inline Image framed(const Image& plot, std::string_view title, const Extent& axes, FrameOptions options = {})
{
    return framed(plot, title, &axes, options);
}

// Images in a row, top-aligned, `gap` pixels apart.
inline Image side_by_side(std::span<const Image> panels, std::size_t gap = 12, Rgb background = colours::white)
{
    std::size_t width = 0, height = 0;
    for (const Image& p : panels) {
        width += p.width();
        height = std::max(height, p.height());
    }
    if (!panels.empty()) width += gap * (panels.size() - 1);
    Image row(width, height, background);
    std::ptrdiff_t x = 0;
    for (const Image& p : panels) {
        row.paste(p, x, 0);
        x += std::ptrdiff_t(p.width() + gap);
    }
    return row;
}

inline Image side_by_side(std::initializer_list<Image> panels, std::size_t gap = 12, Rgb background = colours::white)
{
    return side_by_side(std::span<const Image>(panels.begin(), panels.size()), gap, background);
}

}  // namespace bijou::examples
