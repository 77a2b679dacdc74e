// PNG output without zlib: an Image written as an 8-bit RGB PNG whose pixel data is stored uncompressed.
//
//   write_png("out/density.png", image);                  // throws bijou::file_format_error on failure
//   std::vector<std::uint8_t> bytes = encode_png(image);  // the file's bytes
//
// The file (PNG specification, ISO/IEC 15948) is the 8-byte signature and three chunks, each
// `length (4 bytes, big-endian) | type | data | CRC-32 of type and data`:
//   IHDR  width, height, bit depth 8, colour type 2 (RGB), compression 0, filter 0, interlace 0;
//   IDAT  a zlib stream (RFC 1950) of the scanlines, each a filter byte 0 (none) followed by the row's
//         r, g, b bytes. The zlib stream is the header 0x78 0x01 (deflate, 32 KiB window; 0x7801 is a
//         multiple of 31 as the header check requires), then deflate "stored" blocks (RFC 1951, 3.2.4) of
//         at most 65535 bytes, each `header byte (1 on the last block, else 0) | LEN | ~LEN | bytes`
//         (LEN little-endian), then the Adler-32 of the scanlines, big-endian;
//   IEND  empty.
// Stored blocks trade size for simplicity: a 400 x 400 figure is 480 KB instead of some tens of KB, which
// is fine for the few figures an experiment writes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include <bijou/engine/io/atomic_file.hpp>
#include <bijou/examples/common/checksum.hpp>
#include <bijou/examples/common/image.hpp>

namespace bijou::examples {

namespace detail {

inline void put_u32_big_endian(std::vector<std::uint8_t>& out, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::uint8_t(v >> shift));
}

inline void put_png_chunk(std::vector<std::uint8_t>& out, std::string_view type, std::span<const std::uint8_t> data)
{
    put_u32_big_endian(out, std::uint32_t(data.size()));
    const std::size_t type_start = out.size();
    out.insert(out.end(), type.begin(), type.end());
    out.insert(out.end(), data.begin(), data.end());
    put_u32_big_endian(out, crc32(std::span(out).subspan(type_start)));
}

// The zlib stream of `raw` in stored deflate blocks.
inline std::vector<std::uint8_t> zlib_stored(std::span<const std::uint8_t> raw)
{
    constexpr std::size_t max_block = 65535;
    std::vector<std::uint8_t> out = {0x78, 0x01};
    out.reserve(2 + raw.size() + 5 * (raw.size() / max_block + 1) + 4);
    std::size_t start = 0;
    do {
        const std::size_t length = std::min(max_block, raw.size() - start);
        const bool last = start + length == raw.size();
        out.push_back(last ? 1 : 0);  // BFINAL, then BTYPE 00 (stored); the rest of the byte is padding
        out.push_back(std::uint8_t(length));
        out.push_back(std::uint8_t(length >> 8));
        out.push_back(std::uint8_t(~length));
        out.push_back(std::uint8_t(~length >> 8));
        out.insert(out.end(), raw.begin() + std::ptrdiff_t(start), raw.begin() + std::ptrdiff_t(start + length));
        start += length;
    } while (start < raw.size());
    put_u32_big_endian(out, adler32(raw));
    return out;
}

}  // namespace detail

inline std::vector<std::uint8_t> encode_png(const Image& image)
{
    if (image.width() == 0 || image.height() == 0 || image.width() > 0x7FFFFFFF || image.height() > 0x7FFFFFFF)
        throw_shape_error("encode_png", "a PNG needs a width and height in 1 .. 2^31 - 1, got ", image.width(), " x ",
                          image.height());
    const std::size_t row_bytes = 3 * image.width();
    std::vector<std::uint8_t> scanlines;
    scanlines.reserve(image.height() * (1 + row_bytes));
    const auto pixels = image.pixels();
    for (std::size_t y = 0; y < image.height(); ++y) {
        scanlines.push_back(0);  // filter type 0: the row's bytes as they are
        const auto row = pixels.subspan(y * row_bytes, row_bytes);
        scanlines.insert(scanlines.end(), row.begin(), row.end());
    }

    std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<std::uint8_t> header;
    detail::put_u32_big_endian(header, std::uint32_t(image.width()));
    detail::put_u32_big_endian(header, std::uint32_t(image.height()));
    header.insert(header.end(), {8, 2, 0, 0, 0});  // bit depth, colour type RGB, compression, filter, interlace
    detail::put_png_chunk(png, "IHDR", header);
    detail::put_png_chunk(png, "IDAT", detail::zlib_stored(scanlines));
    detail::put_png_chunk(png, "IEND", {});
    return png;
}

// Written atomically (temporary file + rename), so a viewer never sees half a figure.
inline void write_png(const std::filesystem::path& path, const Image& image)
{
    const std::vector<std::uint8_t> png = encode_png(image);
    write_file_atomically(path, std::as_bytes(std::span(png)), "write_png");
}

}  // namespace bijou::examples
