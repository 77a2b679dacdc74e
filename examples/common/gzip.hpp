// Reading gzip files and deflate streams, with zlib.
//
//   std::vector<std::uint8_t> text = read_gzip_file("data/digits.csv.gz");
//   std::vector<std::uint8_t> raw  = inflate(deflate_stream, "what this is, for error messages");
//
// gunzip() decodes every member of a gzip file one after another, as gzip -d does; zlib checks each
// member's CRC-32 and length. A file that is not gzip, is corrupt or ends early throws
// bijou::file_format_error naming the source and the problem (zlib's own words in parentheses).
#pragma once

#include <zlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include <bijou/engine/io/binary.hpp>

namespace bijou::examples {

namespace detail {

// Inflates `input` with zlib's window setting `window_bits` (-15: a raw deflate stream; 16 + 15: gzip),
// member after member while input remains (gzip only).
inline std::vector<std::uint8_t> zlib_inflate(std::span<const std::uint8_t> input, int window_bits,
                                              std::string_view where, const std::filesystem::path& source)
{
    z_stream stream{};
    if (inflateInit2(&stream, window_bits) != Z_OK) throw_file_error(where, source, "zlib could not start inflating");
    struct End {
        z_stream* s;
        ~End() { ::inflateEnd(s); }
    } end{&stream};

    std::vector<std::uint8_t> out;
    std::array<std::uint8_t, 1 << 16> chunk;
    stream.next_in = const_cast<Bytef*>(input.data());  // zlib's API is not const-correct; it only reads
    stream.avail_in = uInt(input.size());
    for (;;) {
        stream.next_out = chunk.data();
        stream.avail_out = uInt(chunk.size());
        const int status = ::inflate(&stream, Z_NO_FLUSH);
        out.insert(out.end(), chunk.begin(), chunk.end() - stream.avail_out);
        if (status == Z_STREAM_END) {
            if (window_bits < 0 || stream.avail_in == 0) return out;
            ::inflateReset(&stream);  // the next gzip member
            continue;
        }
        if (status == Z_OK) continue;
        if (status == Z_BUF_ERROR && stream.avail_in == 0) throw_file_error(where, source, "ends early (truncated)");
        const std::string reason = stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(status);
        throw_file_error(where, source, "is corrupted (zlib: ", reason, ")");
    }
}

}  // namespace detail

// The bytes a raw deflate stream (RFC 1951) encodes.
inline std::vector<std::uint8_t> inflate(std::span<const std::uint8_t> deflate_stream,
                                         const std::filesystem::path& source = "deflate stream")
{
    return detail::zlib_inflate(deflate_stream, -MAX_WBITS, "inflate", source);
}

// The bytes a gzip file's members (RFC 1952) encode, concatenated.
inline std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> file, const std::filesystem::path& source)
{
    if (file.size() < 2 || file[0] != 0x1F || file[1] != 0x8B)
        throw_file_error("gunzip", source, "is not a gzip file (wrong magic bytes)");
    return detail::zlib_inflate(file, 16 + MAX_WBITS, "gunzip", source);
}

inline std::vector<std::uint8_t> read_gzip_file(const std::filesystem::path& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) throw_file_error("read_gzip_file", path, "cannot open the file");
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    return gunzip(bytes, path);
}

}  // namespace bijou::examples
