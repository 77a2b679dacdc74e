// PNG writer: a minimal independent reader (stored deflate blocks only, bitwise CRC-32, plain Adler-32)
// decodes what encode_png wrote and must find valid checksums, the right header and the same pixels.
#include <bijou/examples/common/png.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <bijou/examples/common/gzip.hpp>
#include <catch2/catch.hpp>

using namespace bijou::examples;

namespace {

// CRC-32 bit by bit, straight from the definition (no table), to check the writer's table-driven one.
std::uint32_t reference_crc32(const std::uint8_t* data, std::size_t size)
{
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) {
        c ^= data[i];
        for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

std::uint32_t reference_adler32(const std::vector<std::uint8_t>& data)
{
    std::uint64_t a = 1, b = 0;
    for (const std::uint8_t byte : data) {
        a = (a + byte) % 65521;
        b = (b + a) % 65521;
    }
    return std::uint32_t(b << 16 | a);
}

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& bytes, std::size_t at)
{
    REQUIRE(at + 4 <= bytes.size());
    return std::uint32_t(bytes[at]) << 24 | std::uint32_t(bytes[at + 1]) << 16 | std::uint32_t(bytes[at + 2]) << 8 |
           bytes[at + 3];
}

struct DecodedPng {
    std::uint32_t width = 0, height = 0;
    std::vector<std::uint8_t> rgb;  // row-major r, g, b
    std::size_t stored_blocks = 0;
    std::vector<std::string> chunk_types;
};

DecodedPng decode_stored_png(const std::vector<std::uint8_t>& png)
{
    const std::vector<std::uint8_t> signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    REQUIRE(png.size() > signature.size());
    REQUIRE(std::vector<std::uint8_t>(png.begin(), png.begin() + 8) == signature);

    DecodedPng out;
    std::vector<std::uint8_t> zlib;
    for (std::size_t at = 8; at < png.size();) {
        const std::uint32_t length = big_endian_u32(png, at);
        REQUIRE(at + 12 + length <= png.size());
        const std::string type(png.begin() + std::ptrdiff_t(at + 4), png.begin() + std::ptrdiff_t(at + 8));
        out.chunk_types.push_back(type);
        INFO("chunk " << type);
        CHECK(big_endian_u32(png, at + 8 + length) == reference_crc32(&png[at + 4], 4 + length));
        const auto data = png.begin() + std::ptrdiff_t(at + 8);
        if (type == "IHDR") {
            REQUIRE(length == 13);
            out.width = big_endian_u32(png, at + 8);
            out.height = big_endian_u32(png, at + 12);
            CHECK(std::vector<std::uint8_t>(data + 8, data + 13) == std::vector<std::uint8_t>{8, 2, 0, 0, 0});
        } else if (type == "IDAT") {
            zlib.insert(zlib.end(), data, data + length);
        }
        at += 12 + length;
    }

    // zlib: CMF = deflate with a 32 KiB window, FCHECK makes the header a multiple of 31, no dictionary.
    REQUIRE(zlib.size() >= 6);
    CHECK((zlib[0] & 0x0F) == 8);
    CHECK((zlib[0] * 256 + zlib[1]) % 31 == 0);
    CHECK((zlib[1] & 0x20) == 0);
    std::vector<std::uint8_t> scanlines;
    std::size_t at = 2;
    for (bool last = false; !last;) {
        REQUIRE(at + 5 <= zlib.size());
        last = zlib[at] & 1;
        REQUIRE(((zlib[at] >> 1) & 3) == 0);  // stored
        const unsigned len = zlib[at + 1] | zlib[at + 2] << 8, nlen = zlib[at + 3] | zlib[at + 4] << 8;
        REQUIRE(len == (~nlen & 0xFFFFu));
        REQUIRE(at + 5 + len <= zlib.size());
        scanlines.insert(scanlines.end(), zlib.begin() + std::ptrdiff_t(at + 5),
                         zlib.begin() + std::ptrdiff_t(at + 5 + len));
        at += 5 + len;
        ++out.stored_blocks;
    }
    REQUIRE(at + 4 == zlib.size());
    CHECK(big_endian_u32(zlib, at) == reference_adler32(scanlines));

    const std::size_t row = 1 + 3 * std::size_t(out.width);
    REQUIRE(scanlines.size() == row * out.height);
    for (std::size_t y = 0; y < out.height; ++y) {
        CHECK(scanlines[y * row] == 0);  // filter type none
        out.rgb.insert(out.rgb.end(), scanlines.begin() + std::ptrdiff_t(y * row + 1),
                       scanlines.begin() + std::ptrdiff_t((y + 1) * row));
    }
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

TEST_CASE("checksums match their published check values")
{
    const std::string digits = "123456789", wikipedia = "Wikipedia";
    const auto bytes = [](const std::string& s) {
        return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    };
    CHECK(crc32(bytes(digits)) == 0xCBF43926u);
    CHECK(adler32(bytes(wikipedia)) == 0x11E60398u);
    // Piecewise equals whole.
    CHECK(crc32(bytes(digits).subspan(4), crc32(bytes(digits).first(4))) == 0xCBF43926u);
    CHECK(adler32(bytes(wikipedia).subspan(3), adler32(bytes(wikipedia).first(3))) == 0x11E60398u);
}

TEST_CASE("a PNG round trips through an independent reader")
{
    const Image image = test_pattern(37, 11);
    const DecodedPng decoded = decode_stored_png(encode_png(image));
    CHECK(decoded.width == 37);
    CHECK(decoded.height == 11);
    CHECK(decoded.chunk_types == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
    CHECK(decoded.stored_blocks == 1);
    CHECK(std::vector<std::uint8_t>(image.pixels().begin(), image.pixels().end()) == decoded.rgb);
}

TEST_CASE("an image larger than one stored block spans several")
{
    // 200 x 120 RGB: 120 * (1 + 600) = 72120 bytes of scanlines, more than a stored block's 65535.
    const Image image = test_pattern(200, 120);
    const std::vector<std::uint8_t> png = encode_png(image);
    const DecodedPng decoded = decode_stored_png(png);
    CHECK(decoded.stored_blocks == 2);
    CHECK(std::vector<std::uint8_t>(image.pixels().begin(), image.pixels().end()) == decoded.rgb);

    // The kit's own inflate reads the same stream (IDAT starts after the signature, IHDR and its header).
    const std::size_t idat_length = big_endian_u32(png, 33);
    const std::span<const std::uint8_t> deflate(png.data() + 41 + 2, idat_length - 6);
    CHECK(inflate(deflate).size() == 72120);
}

TEST_CASE("a 1 x 1 PNG is valid")
{
    Image image(1, 1, {1, 2, 3});
    const DecodedPng decoded = decode_stored_png(encode_png(image));
    CHECK(decoded.width == 1);
    CHECK(decoded.rgb == std::vector<std::uint8_t>{1, 2, 3});
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
