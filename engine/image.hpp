// Image geometry: a row of a batch may hold an image of C channels, H rows and W columns, stored
// channel-major (NCHW flattened: element (c, h, w) at column (c * H + h) * W + w). The batch stays
// `batch x features`; the ops that need the geometry (convolutions, pooling, squeezes) carry it, and a
// row whose width is not C * H * W is an error naming the op and both sides.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <bijou/engine/error.hpp>

namespace bijou {

struct ImageShape {
    std::size_t channels = 0;
    std::size_t height = 0;
    std::size_t width = 0;

    constexpr std::size_t pixels() const { return height * width; }
    constexpr std::size_t size() const { return channels * height * width; }
    // The column of element (c, h, w) within a row.
    constexpr std::size_t index(std::size_t c, std::size_t h, std::size_t w) const
    {
        return (c * height + h) * width + w;
    }
    friend constexpr bool operator==(ImageShape, ImageShape) = default;
};

inline std::string to_string(ImageShape s)
{
    return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
}

// Throws shape_error unless every extent is positive.
inline void check_image_shape(std::string_view op, ImageShape s)
{
    if (s.channels == 0 || s.height == 0 || s.width == 0)
        throw_shape_error(op, "an image needs at least one channel, row and column, got C x H x W = ",
                          to_string(s));
}

// Throws shape_error unless a row of `cols` features holds an image of geometry s.
inline void check_image_row(std::string_view op, ImageShape s, std::size_t cols)
{
    if (cols != s.size())
        throw_shape_error(op, "the operand's rows have ", cols, " features, but the image geometry C x H x W = ",
                          to_string(s), " needs ", s.size());
}

}  // namespace bijou
