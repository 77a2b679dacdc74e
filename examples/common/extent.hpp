// Extent: the rectangle of the plane a 2-D plot shows, [x_min, x_max] x [y_min, y_max].
// FFJORD's 2-D figures show [-4, 4]^2, the default.
#pragma once

namespace bijou::examples {

struct Extent {
    double x_min = -4, x_max = 4, y_min = -4, y_max = 4;
};

}  // namespace bijou::examples
