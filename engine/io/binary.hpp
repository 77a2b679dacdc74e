// Little-endian binary encoding for Bijou's files, and the FNV-1a 64 checksum that guards them.
//
//   ByteWriter out;  out.u32(1); out.string("name"); out.scalars(tensor.data(), tensor.size());
//   ByteReader in(bytes, "load_parameters", path);  auto v = in.u32();  ...
//
// Every integer and floating-point value is written little-endian, whatever the host (on a big-endian
// host each value is byte-swapped on the way in and out), so a file moves between machines unchanged.
// Floating-point values are their IEEE 754 bit patterns: binary32 for float, binary64 for double.
//
// A ByteReader never reads past its end: a read that would throws bijou::file_format_error naming the
// operation, the file and the offset ("truncated"), so a parser built on it cannot overrun a short file.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bijou/engine/error.hpp>

namespace bijou {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "bijou: binary files: mixed-endian hosts are not supported");
static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559,
              "bijou: binary files store IEEE 754 floats; this platform's float or double is not IEEE 754");

// A file that exists but cannot be used: not a Bijou file, an unsupported version, truncated, corrupted,
// or an I/O failure while reading or writing it. A runtime error (the file, not the program, is at fault);
// a file that is fine but does not fit the parameters it is loaded into is a shape_error instead.
class file_format_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// throw_file_error("load_parameters", path, "checksum mismatch ...")
//   -> "bijou: load_parameters: 'run/model.ckpt': checksum mismatch ..."
template <class... Pieces>
[[noreturn]] void throw_file_error(std::string_view where, const std::filesystem::path& path, const Pieces&... pieces)
{
    throw file_format_error(detail::message(where, "'", path.string(), "': ", pieces...));
}

// FNV-1a, 64-bit (Fowler, Noll, Vo): h = 14695981039346656037; for each byte b: h = (h xor b) * 1099511628211.
// Not cryptographic: it detects accidental corruption (a flipped bit, a torn write), not tampering.
class Fnv1a64 {
public:
    static constexpr std::uint64_t offset_basis = 14695981039346656037ull;
    static constexpr std::uint64_t prime = 1099511628211ull;

    void update(std::span<const std::byte> bytes)
    {
        std::uint64_t h = hash_;
        for (std::byte b : bytes) h = (h ^ std::to_integer<std::uint64_t>(b)) * prime;
        hash_ = h;
    }
    std::uint64_t value() const { return hash_; }

private:
    std::uint64_t hash_ = offset_basis;
};

inline std::uint64_t fnv1a64(std::span<const std::byte> bytes)
{
    Fnv1a64 hash;
    hash.update(bytes);
    return hash.value();
}

namespace detail {

template <class U>
using same_size_unsigned_t = std::conditional_t<
    sizeof(U) == 1, std::uint8_t,
    std::conditional_t<sizeof(U) == 2, std::uint16_t, std::conditional_t<sizeof(U) == 4, std::uint32_t, std::uint64_t>>>;

template <class Bits>
Bits byteswap_bits(Bits bits)
{
    Bits swapped = 0;
    for (std::size_t i = 0; i < sizeof(Bits); ++i) swapped = Bits((swapped << 8) | ((bits >> (8 * i)) & 0xff));
    return swapped;
}

// The little-endian bit pattern of an arithmetic value, as an unsigned integer of its size.
template <class V>
auto to_little_endian_bits(V v)
{
    using Bits = same_size_unsigned_t<V>;
    static_assert(sizeof(Bits) == sizeof(V));
    auto bits = std::bit_cast<Bits>(v);
    if constexpr (std::endian::native == std::endian::big && sizeof(V) > 1) bits = byteswap_bits(bits);
    return bits;
}

}  // namespace detail

// Appends little-endian values to a growing byte buffer.
class ByteWriter {
public:
    template <class V>
        requires std::is_arithmetic_v<V>
    void value(V v)
    {
        const auto bits = detail::to_little_endian_bits(v);
        append(&bits, sizeof(bits));
    }
    void u8(std::uint8_t v) { value(v); }
    void u32(std::uint32_t v) { value(v); }
    void u64(std::uint64_t v) { value(v); }
    void i64(std::int64_t v) { value(v); }
    void f64(double v) { value(v); }

    // u32 byte length, then the bytes (no terminator).
    void string(std::string_view s)
    {
        u32(checked_u32(s.size()));
        append(s.data(), s.size());
    }

    // n floating-point values, contiguous, each little-endian.
    template <class T>
        requires std::is_floating_point_v<T>
    void scalars(const T* data, std::size_t n)
    {
        if constexpr (std::endian::native == std::endian::little) {
            append(data, n * sizeof(T));
        } else {
            for (std::size_t i = 0; i < n; ++i) value(data[i]);
        }
    }

    void bytes(std::span<const std::byte> b) { append(b.data(), b.size()); }

    // Overwrites a u64 written earlier at `offset` (a length known only once what follows is written).
    void patch_u64(std::size_t offset, std::uint64_t v)
    {
        const auto bits = detail::to_little_endian_bits(v);
        std::memcpy(buffer_.data() + offset, &bits, sizeof(bits));
    }

    std::size_t size() const { return buffer_.size(); }
    std::span<const std::byte> view() const { return buffer_; }
    std::vector<std::byte>& buffer() { return buffer_; }

private:
    static std::uint32_t checked_u32(std::size_t n)
    {
        if (n > 0xffffffffu) throw_usage_error("ByteWriter", "a string of ", n, " bytes is too long for a u32 length");
        return static_cast<std::uint32_t>(n);
    }
    void append(const void* p, std::size_t n)
    {
        const auto* b = static_cast<const std::byte*>(p);
        buffer_.insert(buffer_.end(), b, b + n);
    }

    std::vector<std::byte> buffer_;
};

// Reads little-endian values from a byte range, checking every read against its end.
class ByteReader {
public:
    // `where` and `path` name the operation and the file in the errors a short read throws.
    ByteReader(std::span<const std::byte> bytes, std::string_view where, std::filesystem::path path,
               std::size_t base_offset = 0)
        : bytes_(bytes), where_(where), path_(std::move(path)), base_offset_(base_offset)
    {
    }

    template <class V>
        requires std::is_arithmetic_v<V>
    V value(const char* what)
    {
        using Bits = detail::same_size_unsigned_t<V>;
        Bits bits;
        std::memcpy(&bits, take(sizeof(Bits), what).data(), sizeof(Bits));
        if constexpr (std::endian::native == std::endian::big && sizeof(V) > 1) bits = detail::byteswap_bits(bits);
        return std::bit_cast<V>(bits);
    }
    std::uint8_t u8(const char* what) { return value<std::uint8_t>(what); }
    std::uint32_t u32(const char* what) { return value<std::uint32_t>(what); }
    std::uint64_t u64(const char* what) { return value<std::uint64_t>(what); }
    std::int64_t i64(const char* what) { return value<std::int64_t>(what); }
    double f64(const char* what) { return value<double>(what); }

    std::string string(const char* what)
    {
        const std::uint32_t n = u32(what);
        const auto b = take(n, what);
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }

    // n values into `out` (which holds at least n).
    template <class T>
        requires std::is_floating_point_v<T>
    void scalars(T* out, std::size_t n, const char* what)
    {
        if (n > remaining() / sizeof(T)) fail_short(n * sizeof(T), what);
        const auto b = take(n * sizeof(T), what);
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(out, b.data(), b.size());
        } else {
            ByteReader values(b, where_, path_);
            for (std::size_t i = 0; i < n; ++i) out[i] = values.value<T>(what);
        }
    }

    std::span<const std::byte> take(std::size_t n, const char* what)
    {
        if (n > remaining()) fail_short(n, what);
        auto b = bytes_.subspan(position_, n);
        position_ += n;
        return b;
    }

    std::size_t remaining() const { return bytes_.size() - position_; }
    std::size_t position() const { return position_; }
    bool at_end() const { return position_ == bytes_.size(); }

    // Any other problem found while parsing, reported at the current offset.
    template <class... Pieces>
    [[noreturn]] void fail(const Pieces&... pieces) const
    {
        throw_file_error(where_, path_, pieces..., " (at byte ", base_offset_ + position_, ")");
    }

private:
    [[noreturn]] void fail_short(std::size_t n, const char* what) const
    {
        fail("truncated or corrupt: ", what, " needs ", n, " bytes but only ", remaining(), " remain");
    }

    std::span<const std::byte> bytes_;
    std::size_t position_ = 0;
    std::string_view where_;
    std::filesystem::path path_;
    std::size_t base_offset_;
};

}  // namespace bijou
