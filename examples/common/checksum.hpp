// The two checksums of the zlib family of formats, as the PNG writer and the gzip reader need them.
//
//   crc32(bytes)          CRC-32 of ISO 3309 / ITU-T V.42 (PNG chunks, gzip trailers): the reflected polynomial
//                         0xEDB88320, register preset to 0xFFFFFFFF and inverted at the end.
//                         crc32("123456789") == 0xCBF43926.
//   adler32(bytes)        Adler-32 of RFC 1950 (zlib trailers): a = 1 + sum of bytes, b = sum of the running a's,
//                         both mod 65521; value (b << 16) | a.  adler32("Wikipedia") == 0x11E60398.
//
// Both continue a running value: crc32(tail, crc32(head)) == crc32(head + tail), and the same for adler32,
// so a long stream is checksummed piece by piece without a copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace bijou::examples {

namespace detail {

// table[b] = the CRC register after shifting the byte b through it eight times (the byte-at-a-time method).
constexpr std::array<std::uint32_t, 256> make_crc32_table()
{
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t byte = 0; byte < 256; ++byte) {
        std::uint32_t c = byte;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[byte] = c;
    }
    return table;
}

inline constexpr std::array<std::uint32_t, 256> crc32_table = make_crc32_table();

}  // namespace detail

inline std::uint32_t crc32(std::span<const std::uint8_t> bytes, std::uint32_t running = 0)
{
    std::uint32_t c = running ^ 0xFFFFFFFFu;
    for (const std::uint8_t b : bytes) c = detail::crc32_table[(c ^ b) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

inline std::uint32_t adler32(std::span<const std::uint8_t> bytes, std::uint32_t running = 1)
{
    constexpr std::uint32_t modulus = 65521;  // the largest prime below 2^16
    // 5552 is the most bytes that can be summed before b can overflow 32 bits (RFC 1950's NMAX), so the
    // modulo is taken once per run of that many bytes rather than once per byte.
    constexpr std::size_t run = 5552;
    std::uint32_t a = running & 0xFFFFu, b = running >> 16;
    for (std::size_t start = 0; start < bytes.size(); start += run) {
        const std::size_t end = start + run < bytes.size() ? start + run : bytes.size();
        for (std::size_t i = start; i < end; ++i) {
            a += bytes[i];
            b += a;
        }
        a %= modulus;
        b %= modulus;
    }
    return (b << 16) | a;
}

}  // namespace bijou::examples
