// Reading gzip files without zlib: a small inflate (RFC 1951) and the gzip container (RFC 1952).
//
//   std::vector<std::uint8_t> text = read_gzip_file("data/digits.csv.gz");
//   std::vector<std::uint8_t> raw  = inflate(deflate_stream, "what this is, for error messages");
//
// inflate() decodes all three block types: stored, fixed Huffman and dynamic Huffman. It decodes symbol by
// symbol with canonical Huffman codes (codes of each length are consecutive integers, so a symbol is found
// by counting codes per length), which is simple and fast enough for the few-megabyte files an example
// reads; it is not meant for bulk data.
//
// gunzip() checks what the format lets it check: the magic bytes, the method (8 = deflate), the reserved
// flag bits, and for every member the CRC-32 and the length (mod 2^32) of the decoded bytes. Concatenated
// members are decoded one after another, as gzip -d does. Any violation, or input that ends early, throws
// bijou::file_format_error naming the source and the problem.
#pragma once

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
#include <bijou/examples/common/checksum.hpp>

namespace bijou::examples {

namespace detail {

// Bits are packed starting from the least significant bit of each byte (RFC 1951, 3.1.1).
class BitReader {
public:
    BitReader(std::span<const std::uint8_t> bytes, const std::filesystem::path& source) : bytes_(bytes), source_(source)
    {
    }

    std::uint32_t bits(int count)
    {
        std::uint32_t value = 0;
        for (int i = 0; i < count; ++i) value |= std::uint32_t(bit()) << i;
        return value;
    }

    int bit()
    {
        if (byte_ >= bytes_.size()) fail("the compressed data ends early");
        const int b = (bytes_[byte_] >> bit_) & 1;
        if (++bit_ == 8) {
            bit_ = 0;
            ++byte_;
        }
        return b;
    }

    // Stored blocks and the gzip trailer start on a byte boundary.
    void align_to_byte()
    {
        if (bit_ != 0) {
            bit_ = 0;
            ++byte_;
        }
    }
    std::uint8_t byte()
    {
        if (bit_ != 0 || byte_ >= bytes_.size()) fail("the compressed data ends early");
        return bytes_[byte_++];
    }
    std::size_t position() const { return byte_; }

    [[noreturn]] void fail(const std::string& problem) const
    {
        throw_file_error("inflate", source_, problem, " (at byte ", byte_, ")");
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::filesystem::path source_;
    std::size_t byte_ = 0;
    int bit_ = 0;
};

// A canonical Huffman code given by the code length of each symbol (0: the symbol does not occur).
class HuffmanCode {
public:
    static constexpr int max_bits = 15;

    HuffmanCode(std::span<const std::uint8_t> lengths, const BitReader& reader)
    {
        for (const std::uint8_t length : lengths) ++count_[length];
        count_[0] = 0;
        // A code may not promise more codes of some length than the lengths before it left room for.
        int left = 1;
        for (int length = 1; length <= max_bits; ++length) {
            left = 2 * left - count_[length];
            if (left < 0) reader.fail("a Huffman code is over-subscribed");
        }
        // Symbols sorted by code length, and by value within one length: the order of their codes.
        std::array<int, max_bits + 2> offset{};
        for (int length = 1; length <= max_bits; ++length) offset[length + 1] = offset[length] + count_[length];
        symbols_.resize(lengths.size());
        for (std::size_t symbol = 0; symbol < lengths.size(); ++symbol)
            if (lengths[symbol] != 0) symbols_[offset[lengths[symbol]]++] = int(symbol);
    }

    // Reads one code bit by bit (most significant bit first, as Huffman codes are packed): after each bit,
    // the codes of the current length are the `count` integers from `first`.
    int decode(BitReader& in) const
    {
        int code = 0, first = 0, index = 0;
        for (int length = 1; length <= max_bits; ++length) {
            code |= in.bit();
            const int count = count_[length];
            if (code - first < count) return symbols_[index + (code - first)];
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        in.fail("an invalid Huffman code");
    }

private:
    std::array<int, max_bits + 1> count_{};
    std::vector<int> symbols_;
};

// Length symbols 257..285 and distance symbols 0..29: base value and number of extra bits (RFC 1951, 3.2.5).
inline constexpr std::array<std::uint16_t, 29> length_base = {
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
inline constexpr std::array<std::uint8_t, 29> length_extra = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                              2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
inline constexpr std::array<std::uint16_t, 30> distance_base = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
inline constexpr std::array<std::uint8_t, 30> distance_extra = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                                6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

inline void inflate_stored(BitReader& in, std::vector<std::uint8_t>& out)
{
    in.align_to_byte();
    const std::uint16_t length = std::uint16_t(in.byte() | (in.byte() << 8));
    const std::uint16_t complement = std::uint16_t(in.byte() | (in.byte() << 8));
    if (std::uint16_t(~length) != complement) in.fail("a stored block's LEN and NLEN do not match");
    for (std::uint16_t i = 0; i < length; ++i) out.push_back(in.byte());
}

inline void inflate_huffman(BitReader& in, const HuffmanCode& literal_length, const HuffmanCode& distance,
                            std::vector<std::uint8_t>& out)
{
    for (;;) {
        const int symbol = literal_length.decode(in);
        if (symbol < 256) {
            out.push_back(std::uint8_t(symbol));
            continue;
        }
        if (symbol == 256) return;  // end of block
        if (symbol > 285) in.fail("an invalid length symbol");
        const std::size_t length = length_base[symbol - 257] + in.bits(length_extra[symbol - 257]);
        const int distance_symbol = distance.decode(in);
        if (distance_symbol > 29) in.fail("an invalid distance symbol");
        const std::size_t back = distance_base[distance_symbol] + in.bits(distance_extra[distance_symbol]);
        if (back > out.size()) in.fail("a back-reference before the start of the data");
        // Byte by byte: a match may overlap the bytes it produces (distance < length repeats a pattern).
        for (std::size_t i = 0; i < length; ++i) out.push_back(out[out.size() - back]);
    }
}

inline void inflate_fixed(BitReader& in, std::vector<std::uint8_t>& out)
{
    // The fixed code (RFC 1951, 3.2.6): literal/length lengths 8, 9, 7, 8 over 0-143, 144-255, 256-279,
    // 280-287; every distance code 5 bits long.
    std::array<std::uint8_t, 288> literal_lengths{};
    for (int s = 0; s < 288; ++s) literal_lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    std::array<std::uint8_t, 30> distance_lengths{};
    distance_lengths.fill(5);
    inflate_huffman(in, HuffmanCode(literal_lengths, in), HuffmanCode(distance_lengths, in), out);
}

inline void inflate_dynamic(BitReader& in, std::vector<std::uint8_t>& out)
{
    const std::size_t literal_count = in.bits(5) + 257, distance_count = in.bits(5) + 1;
    const std::size_t length_code_count = in.bits(4) + 4;
    if (literal_count > 286 || distance_count > 30) in.fail("a dynamic block declares too many codes");

    // The code lengths are themselves Huffman-coded; the lengths of that code come first, in this order.
    constexpr std::array<int, 19> order = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    std::array<std::uint8_t, 19> length_code_lengths{};
    for (std::size_t i = 0; i < length_code_count; ++i) length_code_lengths[order[i]] = std::uint8_t(in.bits(3));
    const HuffmanCode length_code(length_code_lengths, in);

    // 0-15: a length; 16: repeat the previous length 3-6 times; 17, 18: 3-10 or 11-138 zeros.
    std::vector<std::uint8_t> lengths;
    lengths.reserve(literal_count + distance_count);
    while (lengths.size() < literal_count + distance_count) {
        const int symbol = length_code.decode(in);
        std::size_t repeat = 1;
        std::uint8_t value = std::uint8_t(symbol);
        if (symbol == 16) {
            if (lengths.empty()) in.fail("a repeated code length with nothing before it");
            value = lengths.back();
            repeat = 3 + in.bits(2);
        } else if (symbol == 17) {
            value = 0;
            repeat = 3 + in.bits(3);
        } else if (symbol == 18) {
            value = 0;
            repeat = 11 + in.bits(7);
        }
        if (lengths.size() + repeat > literal_count + distance_count) in.fail("code lengths overrun their count");
        lengths.insert(lengths.end(), repeat, value);
    }
    if (lengths[256] == 0) in.fail("a dynamic block without an end-of-block code");
    const std::span<const std::uint8_t> all(lengths);
    inflate_huffman(in, HuffmanCode(all.first(literal_count), in), HuffmanCode(all.subspan(literal_count), in), out);
}

// Decodes one deflate stream from `in`, appending to `out`; stops after the final block.
inline void inflate_stream(BitReader& in, std::vector<std::uint8_t>& out)
{
    bool last = false;
    while (!last) {
        last = in.bit() == 1;
        switch (in.bits(2)) {
        case 0: inflate_stored(in, out); break;
        case 1: inflate_fixed(in, out); break;
        case 2: inflate_dynamic(in, out); break;
        default: in.fail("a block of the reserved type 3");
        }
    }
}

}  // namespace detail

// The bytes a raw deflate stream (no zlib or gzip wrapper) encodes.
inline std::vector<std::uint8_t> inflate(std::span<const std::uint8_t> deflate_stream,
                                         const std::filesystem::path& source = "deflate stream")
{
    std::vector<std::uint8_t> out;
    detail::BitReader in(deflate_stream, source);
    detail::inflate_stream(in, out);
    return out;
}

// The bytes a gzip file's members encode, concatenated.
inline std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> file, const std::filesystem::path& source)
{
    std::vector<std::uint8_t> out;
    detail::BitReader in(file, source);
    auto fail = [&](const std::string& problem) { throw_file_error("gunzip", source, problem); };
    auto u32 = [&] {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= std::uint32_t(in.byte()) << (8 * i);
        return v;
    };
    do {
        if (in.byte() != 0x1F || in.byte() != 0x8B) fail("not a gzip file (wrong magic bytes)");
        if (in.byte() != 8) fail("compressed with a method other than deflate");
        const std::uint8_t flags = in.byte();
        if (flags & 0xE0) fail("reserved header flags are set");
        for (int i = 0; i < 6; ++i) in.byte();  // modification time, extra flags, operating system
        enum : std::uint8_t { header_crc = 2, extra = 4, name = 8, comment = 16 };
        if (flags & extra) {
            const std::size_t length = in.byte() | (in.byte() << 8);
            for (std::size_t i = 0; i < length; ++i) in.byte();
        }
        if (flags & name)
            while (in.byte() != 0) {}
        if (flags & comment)
            while (in.byte() != 0) {}
        if (flags & header_crc) {
            in.byte();
            in.byte();
        }

        const std::size_t start = out.size();
        detail::inflate_stream(in, out);
        in.align_to_byte();
        const std::span<const std::uint8_t> member(out.data() + start, out.size() - start);
        if (u32() != crc32(member)) fail("CRC-32 mismatch: the file is corrupted");
        if (u32() != std::uint32_t(member.size())) fail("length mismatch: the file is corrupted");
    } while (in.position() < file.size());
    return out;
}

inline std::vector<std::uint8_t> read_gzip_file(const std::filesystem::path& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) throw_file_error("read_gzip_file", path, "cannot open the file");
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    return gunzip(bytes, path);
}

}  // namespace bijou::examples
