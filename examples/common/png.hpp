// PNG files of an Image (8-bit RGB), written by libpng (its simplified API, libpng 1.6).
//
//   write_png("out/density.png", image);                  // throws bijou::file_format_error on failure
//   std::vector<std::uint8_t> bytes = encode_png(image);  // the file's bytes
#pragma once

#include <png.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <bijou/engine/io/atomic_file.hpp>
#include <bijou/examples/common/image.hpp>

namespace bijou::examples {

inline std::vector<std::uint8_t> encode_png(const Image& image)
{
    if (image.width() == 0 || image.height() == 0 || image.width() > PNG_UINT_31_MAX ||
        image.height() > PNG_UINT_31_MAX)
        throw_shape_error("encode_png", "a PNG needs a width and height in 1 .. 2^31 - 1, got ", image.width(), " x ",
                          image.height());
    png_image header{};
    header.version = PNG_IMAGE_VERSION;
    header.width = png_uint_32(image.width());
    header.height = png_uint_32(image.height());
    header.format = PNG_FORMAT_RGB;
    const auto pixels = image.pixels();
    auto fail = [&] {
        const std::string reason = header.message;
        png_image_free(&header);
        throw file_format_error("encode_png: libpng could not encode a " + std::to_string(image.width()) + " x " +
                                std::to_string(image.height()) + " image: " + reason);
    };
    // First the size the file needs, then the file (row stride 0: rows are packed, 3 bytes per pixel).
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&header, nullptr, &size, 0, pixels.data(), 0, nullptr)) fail();
    std::vector<std::uint8_t> png(size);
    if (!png_image_write_to_memory(&header, png.data(), &size, 0, pixels.data(), 0, nullptr)) fail();
    png.resize(size);
    return png;
}

// Written atomically (temporary file + rename), so a viewer never sees half a figure.
inline void write_png(const std::filesystem::path& path, const Image& image)
{
    const std::vector<std::uint8_t> png = encode_png(image);
    write_file_atomically(path, std::as_bytes(std::span(png)), "write_png");
}

}  // namespace bijou::examples
