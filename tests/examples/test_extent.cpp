// The grid a program evaluates a 2-D density on for its figure: cell centres in image order (row 0 the
// top), and extents that are not rectangles refused.
#include <bijou/examples/common/extent.hpp>

#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::examples;

TEST_CASE("grid points are pixel centres listed from the top left")
{
    const Extent extent{-4, 4, -2, 2};
    const Tensor<double> grid = grid_points(extent, 4, 2);  // pixels 2 wide, 2 high
    REQUIRE(grid.shape()[0] == 8);
    CHECK(grid(0, 0) == -3.0);
    CHECK(grid(0, 1) == 1.0);  // top row: largest y
    CHECK(grid(3, 0) == 3.0);
    CHECK(grid(4, 1) == -1.0);
}

TEST_CASE("grid points refuse an empty or inverted extent")
{
    CHECK_THROWS_WITH(grid_points(Extent{1, 1, 0, 1}, 4, 4), Catch::Contains("x_min < x_max"));
    CHECK_THROWS_WITH(grid_points(Extent{0, 1, 2, -2}, 4, 4), Catch::Contains("y_min < y_max"));
}
