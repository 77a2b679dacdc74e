// Extent: the rectangle of the plane a 2-D figure shows, [x_min, x_max] x [y_min, y_max], and the grid
// over it on which a program evaluates a density for its figure.
// FFJORD's 2-D figures show [-4, 4]^2, the default.
//
//   const Extent extent{-4, 4, -4, 4};
//   Tensor<float> grid = grid_points<float>(extent, 200, 200);   // 40000 x 2, the centres of the cells
//   Tensor<float> log_p = flow.log_prob(grid);                   // in grid order
//   save_npy(out / "log_density.npy", xt::reshape_view(log_p, {200, 200}));  // row 0: the top (y_max)
//
// Coordinates: a grid of width x height cells covers the extent, cell (col, row) the rectangle
//   x in [x_min + col * dx, x_min + (col + 1) * dx),  y in (y_max - (row + 1) * dy, y_max - row * dy],
// with dx = (x_max - x_min) / width, dy = (y_max - y_min) / height: row 0 is the top (largest y), as an
// image is stored (matplotlib's imshow with its default origin="upper" and extent=(x_min, x_max, y_min,
// y_max) draws such an array the right way up).
#pragma once

#include <cstddef>
#include <string_view>

#include <bijou/engine/error.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou::examples {

struct Extent {
    double x_min = -4, x_max = 4, y_min = -4, y_max = 4;
};

namespace detail {

inline void check_extent(const Extent& e, std::string_view where)
{
    if (!(e.x_min < e.x_max) || !(e.y_min < e.y_max))
        throw_usage_error(where, "the extent needs x_min < x_max and y_min < y_max, got [", e.x_min, ", ", e.x_max,
                          "] x [", e.y_min, ", ", e.y_max, "]");
}

}  // namespace detail

// The centres of the cells of a width x height grid over `extent`, one point per row of the result,
// listed row by row from the top left.
template <class T = double>
Tensor<T> grid_points(const Extent& extent, std::size_t width, std::size_t height)
{
    detail::check_extent(extent, "grid_points");
    const double dx = (extent.x_max - extent.x_min) / double(width),
                 dy = (extent.y_max - extent.y_min) / double(height);
    Tensor<T> points = Tensor<T>::from_shape({width * height, 2});
    for (std::size_t row = 0; row < height; ++row)
        for (std::size_t col = 0; col < width; ++col) {
            points(row * width + col, 0) = T(extent.x_min + (double(col) + 0.5) * dx);
            points(row * width + col, 1) = T(extent.y_max - (double(row) + 0.5) * dy);
        }
    return points;
}

}  // namespace bijou::examples
