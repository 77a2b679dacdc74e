// Image: an RGB raster with 8 bits per channel, the canvas of every figure an example writes.
//
//   Image image(200, 100, colours::white);   // width x height, filled
//   image.set(x, y, colours::black);          // (0, 0) is the top-left pixel; x to the right, y down
//   image.fill_rect(10, 10, 5, 5, {255, 0, 0});
//   image.paste(other, 20, 30);               // other's top-left corner at (20, 30)
//
// Drawing clips: set(), fill_rect() and paste() ignore the parts that fall outside the image, so a plot
// can draw points near an edge without checking. at() is the checked read.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <bijou/engine/error.hpp>

namespace bijou::examples {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(const Rgb&, const Rgb&) = default;
};

namespace colours {
inline constexpr Rgb white{255, 255, 255};
inline constexpr Rgb black{0, 0, 0};
inline constexpr Rgb grey{128, 128, 128};
inline constexpr Rgb light_grey{220, 220, 220};
inline constexpr Rgb dark_blue{31, 73, 125};
inline constexpr Rgb invalid{255, 0, 0};  // what colour maps show for NaN
}  // namespace colours

class Image {
public:
    Image() = default;
    Image(std::size_t width, std::size_t height, Rgb background = colours::white)
        : width_(width), height_(height), pixels_(3 * width * height)
    {
        fill_rect(0, 0, width, height, background);
    }

    std::size_t width() const { return width_; }
    std::size_t height() const { return height_; }

    Rgb at(std::size_t x, std::size_t y) const
    {
        if (x >= width_ || y >= height_)
            throw_shape_error("Image::at", "pixel (", x, ", ", y, ") is outside a ", width_, " x ", height_, " image");
        const std::uint8_t* p = &pixels_[3 * (y * width_ + x)];
        return {p[0], p[1], p[2]};
    }

    // Signed coordinates, so that shapes partly left of or above the image clip rather than wrap.
    void set(std::ptrdiff_t x, std::ptrdiff_t y, Rgb colour)
    {
        if (x < 0 || y < 0 || std::size_t(x) >= width_ || std::size_t(y) >= height_) return;
        std::uint8_t* p = &pixels_[3 * (std::size_t(y) * width_ + std::size_t(x))];
        p[0] = colour.r;
        p[1] = colour.g;
        p[2] = colour.b;
    }

    void fill_rect(std::ptrdiff_t x, std::ptrdiff_t y, std::size_t w, std::size_t h, Rgb colour)
    {
        const std::ptrdiff_t x0 = std::max<std::ptrdiff_t>(x, 0), y0 = std::max<std::ptrdiff_t>(y, 0);
        const std::ptrdiff_t x1 = std::min<std::ptrdiff_t>(x + std::ptrdiff_t(w), std::ptrdiff_t(width_));
        const std::ptrdiff_t y1 = std::min<std::ptrdiff_t>(y + std::ptrdiff_t(h), std::ptrdiff_t(height_));
        for (std::ptrdiff_t row = y0; row < y1; ++row)
            for (std::ptrdiff_t col = x0; col < x1; ++col) set(col, row, colour);
    }

    // A one-pixel outline just inside the rectangle.
    void outline_rect(std::ptrdiff_t x, std::ptrdiff_t y, std::size_t w, std::size_t h, Rgb colour)
    {
        if (w == 0 || h == 0) return;
        fill_rect(x, y, w, 1, colour);
        fill_rect(x, y + std::ptrdiff_t(h) - 1, w, 1, colour);
        fill_rect(x, y, 1, h, colour);
        fill_rect(x + std::ptrdiff_t(w) - 1, y, 1, h, colour);
    }

    void paste(const Image& other, std::ptrdiff_t x, std::ptrdiff_t y)
    {
        for (std::size_t row = 0; row < other.height(); ++row)
            for (std::size_t col = 0; col < other.width(); ++col)
                set(x + std::ptrdiff_t(col), y + std::ptrdiff_t(row), other.at(col, row));
    }

    // Rows top to bottom, each pixel r, g, b: the layout a PNG scanline uses.
    std::span<const std::uint8_t> pixels() const { return pixels_; }

private:
    std::size_t width_ = 0, height_ = 0;
    std::vector<std::uint8_t> pixels_;
};

// Each pixel becomes a factor x factor block (nearest neighbour): small rasters made visible.
inline Image scaled(const Image& image, std::size_t factor)
{
    if (factor == 0) throw_usage_error("scaled", "the scale factor must be at least 1");
    Image out(image.width() * factor, image.height() * factor);
    for (std::size_t y = 0; y < image.height(); ++y)
        for (std::size_t x = 0; x < image.width(); ++x)
            out.fill_rect(std::ptrdiff_t(x * factor), std::ptrdiff_t(y * factor), factor, factor, image.at(x, y));
    return out;
}

}  // namespace bijou::examples
