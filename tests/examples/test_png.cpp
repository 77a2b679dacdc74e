// PNG writer (libpng underneath): the file's signature and header read byte by byte, its pixels decoded
// again by libpng's reader, its size that of a compressed file, and bad input refused.
#include <bijou/examples/common/png.hpp>

#include <png.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <catch2/catch.hpp>

using namespace bijou::examples;

namespace {

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& bytes, std::size_t at)
{
    REQUIRE(at + 4 <= bytes.size());
    return std::uint32_t(bytes[at]) << 24 | std::uint32_t(bytes[at + 1]) << 16 | std::uint32_t(bytes[at + 2]) << 8 |
           bytes[at + 3];
}

struct DecodedPng {
    std::uint32_t width = 0, height = 0;
    std::vector<std::uint8_t> rgb;  // row-major r, g, b
};

// The header as the PNG specification lays it out: the 8-byte signature, then IHDR (length 13) with
// width, height, bit depth 8, colour type 2 (RGB); then the pixels, decoded by libpng as RGB.
DecodedPng decode_png(const std::vector<std::uint8_t>& png)
{
    const std::vector<std::uint8_t> signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    REQUIRE(png.size() > 33);
    REQUIRE(std::vector<std::uint8_t>(png.begin(), png.begin() + 8) == signature);
    CHECK(big_endian_u32(png, 8) == 13);
    CHECK(std::string(png.begin() + 12, png.begin() + 16) == "IHDR");
    CHECK(png[24] == 8);  // bit depth
    CHECK(png[25] == 2);  // colour type RGB

    DecodedPng out;
    out.width = big_endian_u32(png, 16);
    out.height = big_endian_u32(png, 20);
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    REQUIRE(png_image_begin_read_from_memory(&image, png.data(), png.size()));
    CHECK(image.width == out.width);
    CHECK(image.height == out.height);
    image.format = PNG_FORMAT_RGB;
    out.rgb.resize(PNG_IMAGE_SIZE(image));
    REQUIRE(png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr));
    return out;
}

Image test_pattern(std::size_t width, std::size_t height)
{
    Image image(width, height);
    for (std::size_t y = 0; y < height; ++y)
        for (std::size_t x = 0; x < width; ++x)
            image.set(std::ptrdiff_t(x), std::ptrdiff_t(y),
                      {std::uint8_t(x * 7 + y), std::uint8_t(y * 13), std::uint8_t((x ^ y) * 3)});
    return image;
}

}  // namespace

TEST_CASE("a PNG round trips through libpng's reader")
{
    for (const auto& [width, height] : {std::pair{37, 11}, std::pair{200, 120}, std::pair{1, 1}}) {
        INFO(width << " x " << height);
        const Image image = test_pattern(width, height);
        const DecodedPng decoded = decode_png(encode_png(image));
        CHECK(decoded.width == std::uint32_t(width));
        CHECK(decoded.height == std::uint32_t(height));
        CHECK(std::vector<std::uint8_t>(image.pixels().begin(), image.pixels().end()) == decoded.rgb);
    }
}

TEST_CASE("a PNG is compressed")
{
    // A flat 400 x 400 figure: 480 KB of pixels, a few KB as a file (the hand-written writer this replaced
    // stored them uncompressed).
    Image image(400, 400, {255, 255, 255});
    CHECK(encode_png(image).size() < 10000);
}

TEST_CASE("write_png writes the encoded bytes and rejects an empty image")
{
    const auto path = std::filesystem::temp_directory_path() / "bijou_test_png.png";
    const Image image = test_pattern(5, 4);
    write_png(path, image);
    std::ifstream in(path, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes == encode_png(image));
    std::filesystem::remove(path);

    CHECK_THROWS_AS(encode_png(Image()), bijou::shape_error);
    CHECK_THROWS_AS(write_png("/nonexistent-dir/x.png", image), bijou::file_format_error);
}
