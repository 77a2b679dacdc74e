// Checkpoints: parameters, optionally their optimizer state, and a small metadata map, saved to a
// versioned binary file and loaded back exactly (bit for bit), so an interrupted experiment resumes on
// the same loss curve.
//
//   save_parameters("model.ckpt", flow.parameters());                  // values only
//   load_parameters("model.ckpt", flow.parameters());                  // all or nothing
//
//   Checkpoint<float> checkpoint = Checkpoint<float>::capture(params, {.optimizer_state = true});
//   checkpoint.metadata.set("optimizer_steps", optimizer.steps());
//   checkpoint.metadata.set("rng", rng_state_as_string);
//   checkpoint.save("run.ckpt");
//   ...
//   auto resumed = Checkpoint<float>::load("run.ckpt");                 // validates the whole file
//   resumed.restore(params);                                            // values and Adam's moments
//   optimizer.set_steps(resumed.metadata.get_int("optimizer_steps"));   // Adam's bias correction
//
// File format, version 1. Every integer and floating-point value is little-endian, whatever the host;
// floating-point values are IEEE 754 binary32 (float) or binary64 (double).
//
//   offset  size  field
//   0       8     magic: the ASCII bytes "BIJOUCKP"
//   8       4     u32 format version = 1
//   12      4     u32 scalar type: 1 = float32 (float), 2 = float64 (double)
//   16      8     u64 payload size P, in bytes
//   24      P     payload
//   24 + P  8     u64 checksum: FNV-1a 64 of bytes [0, 24 + P), the header and the payload
//
//   payload:
//     u64 parameter count N
//     N records, in the order of the parameter list:
//       u32 name length, name (UTF-8, no terminator), u64 rows, u64 cols, rows * cols scalars (row-major)
//     u32 section count S
//     S sections: u32 tag length, tag, u64 body size B, B bytes of body
//
//   sections (each optional and at most once; a reader skips a tag it does not know, so later writers
//   can add sections without changing the version):
//     "optimizer_state"  for each of the N parameters: moment1 then moment2, each u64 rows, u64 cols,
//                        rows * cols scalars; 0 x 0 when the optimizer keeps no such state (SGD without
//                        momentum has no moment2, a parameter no optimizer has seen has neither)
//     "metadata"         u64 entry count; entries sorted by key, each u32 key length, key, u8 kind
//                        (0 = int64, 1 = float64, 2 = string), then the value: i64, f64, or u32 length
//                        and bytes
//
// Saving writes the whole file to `<path>.tmp.<pid>` and renames it over `path` (io/atomic_file.hpp): a
// run killed mid-save never leaves a half-written checkpoint. Loading reads the whole file and checks, in
// this order: the magic, the version, the length the header announces (a short file is "truncated"),
// the checksum (corruption), the scalar type, and the payload's structure; restoring then checks the
// parameter count, each name and each shape against the parameters given. Only when every check has
// passed is any parameter written, so a failed load leaves the model as it was.
//
// Errors: a file that cannot be used at all (unreadable, not a checkpoint, another version, truncated,
// corrupted) throws bijou::file_format_error; a sound file that does not fit the parameters (scalar type,
// count, a name, a shape) throws bijou::shape_error. Both messages name the operation and the file, and
// a mismatch names the parameter and both shapes.
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/io/atomic_file.hpp>
#include <bijou/engine/io/binary.hpp>
#include <bijou/engine/param.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou {

namespace checkpoint_format {
inline constexpr std::array<char, 8> magic = {'B', 'I', 'J', 'O', 'U', 'C', 'K', 'P'};
inline constexpr std::uint32_t version = 1;
inline constexpr std::size_t header_size = 24;  // magic, version, scalar type, payload size
inline constexpr std::size_t checksum_size = 8;
inline constexpr std::string_view optimizer_state_section = "optimizer_state";
inline constexpr std::string_view metadata_section = "metadata";

enum class ScalarType : std::uint32_t { float32 = 1, float64 = 2 };

template <class T>
constexpr ScalarType scalar_type_of()
{
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "bijou: checkpoints hold float or double parameters");
    return std::is_same_v<T, float> ? ScalarType::float32 : ScalarType::float64;
}

inline const char* describe(ScalarType type)
{
    return type == ScalarType::float32 ? "float32 (float)" : "float64 (double)";
}
}  // namespace checkpoint_format

// A few named values saved with the parameters: the training step, the optimizer's step count, an RNG
// state written as a string, a learning rate. Keys are kept sorted, so equal maps give equal files.
class Metadata {
public:
    using Value = std::variant<std::int64_t, double, std::string>;

    // Integers are stored as int64, floating-point numbers as double, anything string-like as a string.
    template <class V>
    void set(const std::string& key, const V& value)
    {
        if constexpr (std::is_same_v<V, bool>)
            entries_[key] = Value(std::int64_t(value));
        else if constexpr (std::is_integral_v<V>)
            entries_[key] = Value(static_cast<std::int64_t>(value));
        else if constexpr (std::is_floating_point_v<V>)
            entries_[key] = Value(static_cast<double>(value));
        else if constexpr (std::is_convertible_v<const V&, std::string_view>)
            entries_[key] = Value(std::string(std::string_view(value)));
        else
            static_assert(sizeof(V) == 0, "bijou: Metadata::set takes an integer, a floating-point number or a string");
    }

    bool contains(const std::string& key) const { return entries_.count(key) != 0; }
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    const std::map<std::string, Value>& entries() const { return entries_; }

    // Each getter throws bijou::usage_error naming the key if it is missing or holds another kind.
    std::int64_t get_int(const std::string& key) const { return get<std::int64_t>(key, "an integer"); }
    // An integer entry converts to double.
    double get_double(const std::string& key) const
    {
        const Value& v = find(key);
        if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
        return get<double>(key, "a number");
    }
    const std::string& get_string(const std::string& key) const { return get<std::string>(key, "a string"); }

    friend bool operator==(const Metadata&, const Metadata&) = default;

private:
    const Value& find(const std::string& key) const
    {
        const auto it = entries_.find(key);
        if (it == entries_.end()) throw_usage_error("Metadata", "no entry '", key, "'");
        return it->second;
    }
    template <class V>
    const V& get(const std::string& key, const char* wanted) const
    {
        const Value& v = find(key);
        if (const auto* p = std::get_if<V>(&v)) return *p;
        static constexpr const char* kinds[] = {"an integer", "a floating-point number", "a string"};
        throw_usage_error("Metadata", "entry '", key, "' holds ", kinds[v.index()], ", not ", wanted);
    }

    std::map<std::string, Value> entries_;
};

// One parameter as saved: its name, its value and (optionally) its optimizer state.
template <class T>
struct ParameterRecord {
    std::string name;
    Tensor<T> value;
    Tensor<T> moment1;  // 0 x 0 when absent
    Tensor<T> moment2;
};

struct CaptureOptions {
    // Also keep each parameter's optimizer state (ParamNode::moment1 / moment2), to resume training.
    bool optimizer_state = false;
};

struct RestoreOptions {
    // Restore the optimizer state too, when the checkpoint has it.
    bool optimizer_state = true;
};

struct SaveOptions {
    bool optimizer_state = false;
    Metadata metadata = {};
};

namespace detail {

template <class T>
struct RecordView {
    const std::string& name;
    const Tensor<T>& value;
    const Tensor<T>& moment1;
    const Tensor<T>& moment2;
};

template <class T>
const Tensor<T>& empty_tensor()
{
    static const Tensor<T> empty = Tensor<T>::from_shape({0, 0});
    return empty;
}

// Optimizer state that does not fit the value (never allocated, or stale) is saved as absent (0 x 0).
template <class T>
const Tensor<T>& saved_state(const Tensor<T>& state, const Tensor<T>& value)
{
    return shape_of(state) == shape_of(value) && state.size() != 0 ? state : empty_tensor<T>();
}

// The file's bytes for `count` records, `record(i)` giving the i-th as a RecordView.
template <class T, class RecordAt>
std::vector<std::byte> encode_checkpoint(std::size_t count, RecordAt record, bool optimizer_state,
                                         const Metadata& metadata)
{
    namespace format = checkpoint_format;
    ByteWriter out;
    out.bytes(std::as_bytes(std::span(format::magic)));
    out.u32(format::version);
    out.u32(static_cast<std::uint32_t>(format::scalar_type_of<T>()));
    const std::size_t payload_size_at = out.size();
    out.u64(0);  // the payload size, patched below

    auto tensor = [&](const Tensor<T>& t) {
        const Shape s = shape_of(t);
        out.u64(s.rows);
        out.u64(s.cols);
        out.scalars(t.data(), s.size());
    };

    out.u64(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto& r = record(i);
        out.string(r.name);
        tensor(r.value);
    }

    out.u32(std::uint32_t(optimizer_state) + std::uint32_t(!metadata.empty()));
    auto section = [&](std::string_view tag, auto&& write_body) {
        out.string(tag);
        const std::size_t size_at = out.size();
        out.u64(0);
        write_body();
        out.patch_u64(size_at, out.size() - size_at - 8);
    };
    if (optimizer_state)
        section(format::optimizer_state_section, [&] {
            for (std::size_t i = 0; i < count; ++i) {
                const auto& r = record(i);
                tensor(r.moment1);
                tensor(r.moment2);
            }
        });
    if (!metadata.empty())
        section(format::metadata_section, [&] {
            out.u64(metadata.size());
            for (const auto& [key, value] : metadata.entries()) {
                out.string(key);
                out.u8(static_cast<std::uint8_t>(value.index()));
                std::visit(
                    [&](const auto& v) {
                        using V = std::remove_cvref_t<decltype(v)>;
                        if constexpr (std::is_same_v<V, std::int64_t>)
                            out.i64(v);
                        else if constexpr (std::is_same_v<V, double>)
                            out.f64(v);
                        else
                            out.string(v);
                    },
                    value);
            }
        });

    out.patch_u64(payload_size_at, out.size() - format::header_size);
    const std::uint64_t checksum = fnv1a64(out.view());
    out.u64(checksum);
    return std::move(out.buffer());
}

inline std::vector<std::byte> read_whole_file(const std::filesystem::path& path, std::string_view where)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int error = errno;
        throw_file_error(where, path, "cannot open it for reading: ", std::strerror(error));
    }
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0) throw_file_error(where, path, "cannot determine its size (is it a regular file?)");
    std::vector<std::byte> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        throw_file_error(where, path, "reading ", size, " bytes failed");
    return bytes;
}

inline std::string hex_bytes(std::span<const std::byte> bytes)
{
    std::ostringstream out;
    out << std::hex << std::setfill('0');
    for (std::size_t i = 0; i < bytes.size(); ++i) out << (i ? " " : "") << std::setw(2) << std::to_integer<int>(bytes[i]);
    return out.str();
}

inline std::string hex_u64(std::uint64_t v)
{
    std::ostringstream out;
    out << "0x" << std::hex << std::setfill('0') << std::setw(16) << v;
    return out.str();
}

// Checks the header, the length and the checksum; returns the payload and the scalar type.
inline std::pair<std::span<const std::byte>, checkpoint_format::ScalarType>
checked_payload(std::span<const std::byte> file, const std::filesystem::path& path, std::string_view where)
{
    namespace format = checkpoint_format;
    const auto magic = std::as_bytes(std::span(format::magic));
    const std::size_t size = file.size();

    const std::size_t magic_seen = std::min(size, magic.size());
    if (std::memcmp(file.data(), magic.data(), magic_seen) != 0)
        throw_file_error(where, path, "not a Bijou checkpoint: it starts with the bytes ",
                         hex_bytes(file.first(magic_seen)), ", a checkpoint with \"BIJOUCKP\"");
    auto truncated = [&](const char* missing) {
        throw_file_error(where, path, "truncated: the file has only ", size, " bytes, too few for ", missing);
    };
    if (size < magic.size()) truncated("the magic bytes");

    ByteReader header(file.first(std::min(size, format::header_size)), where, path);
    header.take(magic.size(), "magic");
    if (size < 12) truncated("the format version");
    const std::uint32_t version = header.u32("format version");
    if (version != format::version)
        throw_file_error(where, path, "unsupported checkpoint format version ", version, " (this build of Bijou reads version ",
                         format::version, version > format::version ? "; the file was written by a newer Bijou)" : ")");
    if (size < format::header_size) truncated("the header (24 bytes)");
    const std::uint32_t scalar_code = header.u32("scalar type");
    const std::uint64_t payload_size = header.u64("payload size");

    const std::size_t room = size - format::header_size;
    if (payload_size > room || room - payload_size < format::checksum_size) {
        const bool absurd = payload_size > std::numeric_limits<std::uint64_t>::max() - 64;
        if (absurd) throw_file_error(where, path, "corrupt header: a payload size of ", payload_size, " bytes");
        throw_file_error(where, path, "truncated: the header announces ",
                         format::header_size + payload_size + format::checksum_size, " bytes, the file has ", size);
    }
    if (room - payload_size > format::checksum_size)
        throw_file_error(where, path, "corrupt: ", room - payload_size - format::checksum_size,
                         " unexpected bytes after the checksum (the header announces ",
                         format::header_size + payload_size + format::checksum_size, " bytes, the file has ", size, ")");

    const std::size_t checked = format::header_size + static_cast<std::size_t>(payload_size);
    ByteReader tail(file.subspan(checked), where, path, checked);
    const std::uint64_t stored = tail.u64("checksum");
    const std::uint64_t computed = fnv1a64(file.first(checked));
    if (stored != computed)
        throw_file_error(where, path, "checksum mismatch: the file records ", hex_u64(stored), " but its contents hash to ",
                         hex_u64(computed), "; the file is corrupted");

    if (scalar_code != std::uint32_t(format::ScalarType::float32) &&
        scalar_code != std::uint32_t(format::ScalarType::float64))
        throw_file_error(where, path, "corrupt header: unknown scalar type code ", scalar_code);
    return {file.subspan(format::header_size, static_cast<std::size_t>(payload_size)),
            static_cast<format::ScalarType>(scalar_code)};
}

template <class T>
Tensor<T> read_tensor(ByteReader& in, const char* what)
{
    const std::uint64_t rows = in.u64(what), cols = in.u64(what);
    // Bound the element count by the bytes left before allocating, so a bad count cannot ask for terabytes.
    const std::uint64_t limit = in.remaining() / sizeof(T);
    if ((rows != 0 && cols > limit / rows) || rows * cols > limit)
        in.fail("corrupt: ", what, " claims ", rows, " x ", cols, " values, more than the ", in.remaining(),
                " bytes left hold");
    Tensor<T> t = Tensor<T>::from_shape({static_cast<std::size_t>(rows), static_cast<std::size_t>(cols)});
    in.scalars(t.data(), t.size(), what);
    return t;
}

}  // namespace detail

template <class T>
class Checkpoint {
public:
    std::vector<ParameterRecord<T>> parameters;
    bool has_optimizer_state = false;
    Metadata metadata;
    std::filesystem::path source;  // the file it was loaded from (empty for a capture); named in errors

    // A copy of the parameters' current values (and optimizer state, if asked).
    static Checkpoint capture(const std::vector<Param<T>>& params, CaptureOptions options = {})
    {
        check_handles("Checkpoint::capture", params);
        Checkpoint c;
        c.has_optimizer_state = options.optimizer_state;
        c.parameters.reserve(params.size());
        for (const auto& p : params) {
            const auto& node = p.node();
            ParameterRecord<T> r{node.name, node.value, {}, {}};
            if (options.optimizer_state) {
                r.moment1 = detail::saved_state(node.moment1, node.value);
                r.moment2 = detail::saved_state(node.moment2, node.value);
            } else {
                r.moment1 = r.moment2 = detail::empty_tensor<T>();
            }
            c.parameters.push_back(std::move(r));
        }
        return c;
    }

    void save(const std::filesystem::path& path) const
    {
        const auto bytes = detail::encode_checkpoint<T>(
            parameters.size(),
            [&](std::size_t i) {
                const auto& r = parameters[i];
                return detail::RecordView<T>{r.name, r.value, r.moment1, r.moment2};
            },
            has_optimizer_state, metadata);
        write_file_atomically(path, bytes, "Checkpoint::save");
    }

    // Reads and validates the whole file (see the format above). Touches no parameter.
    static Checkpoint load(const std::filesystem::path& path) { return load(path, "Checkpoint::load"); }

    // Copies the values (and, if both the checkpoint and the options say so, the optimizer state) into
    // `params`, matched by position; each name and shape must agree. Nothing is written unless all agree.
    void restore(const std::vector<Param<T>>& params, RestoreOptions options = {}) const
    {
        restore(params, options, "Checkpoint::restore");
    }

    // For load_parameters, which reports errors under its own name.
    static Checkpoint load(const std::filesystem::path& path, std::string_view where);
    void restore(const std::vector<Param<T>>& params, RestoreOptions options, std::string_view where) const;

private:
    static void check_handles(std::string_view where, const std::vector<Param<T>>& params)
    {
        for (std::size_t i = 0; i < params.size(); ++i)
            if (!params[i].node_ptr()) throw_usage_error(where, "parameter ", i, " is a null (default-constructed) Param");
    }
};

template <class T>
Checkpoint<T> Checkpoint<T>::load(const std::filesystem::path& path, std::string_view where)
{
    namespace format = checkpoint_format;
    const auto file = detail::read_whole_file(path, where);
    const auto [payload, scalar] = detail::checked_payload(file, path, where);
    if (scalar != format::scalar_type_of<T>())
        throw_shape_error(where, "'", path.string(), "': scalar type mismatch: the file holds ", format::describe(scalar),
                          " values, the parameters are ", format::describe(format::scalar_type_of<T>()));

    ByteReader in(payload, where, path, format::header_size);
    Checkpoint c;
    c.source = path;
    const std::uint64_t count = in.u64("parameter count");
    // Each record takes at least 20 bytes (name length, rows, cols): bound the count before reserving.
    if (count > in.remaining() / 20) in.fail("corrupt: a parameter count of ", count, " cannot fit in the payload");
    c.parameters.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
        ParameterRecord<T> r;
        r.name = in.string("parameter name");
        r.value = detail::read_tensor<T>(in, "parameter value");
        // A NaN or inf parameter is a diverged run's state, not a model: refuse it here rather than
        // let it turn every later result into NaN.
        for (std::size_t k = 0; k < r.value.size(); ++k)
            if (!std::isfinite(r.value.data()[k]))
                in.fail("parameter '", r.name, "' holds the non-finite value ", r.value.data()[k], " at (",
                        k / r.value.shape()[1], ", ", k % r.value.shape()[1], ")");
        c.parameters.push_back(std::move(r));
    }

    const std::uint32_t sections = in.u32("section count");
    bool seen_optimizer = false, seen_metadata = false;
    for (std::uint32_t s = 0; s < sections; ++s) {
        const std::string tag = in.string("section tag");
        const std::uint64_t body_size = in.u64("section size");
        if (body_size > in.remaining())
            in.fail("truncated or corrupt: section '", tag, "' claims ", body_size, " bytes, ", in.remaining(), " remain");
        const std::size_t body_at = format::header_size + in.position();
        ByteReader body(in.take(static_cast<std::size_t>(body_size), "section body"), where, path, body_at);
        auto once = [&](bool& seen) {
            if (seen) body.fail("corrupt: section '", tag, "' appears twice");
            seen = true;
        };
        if (tag == format::optimizer_state_section) {
            once(seen_optimizer);
            c.has_optimizer_state = true;
            for (auto& r : c.parameters) {
                r.moment1 = detail::read_tensor<T>(body, "optimizer state");
                r.moment2 = detail::read_tensor<T>(body, "optimizer state");
                for (const Tensor<T>* m : {&r.moment1, &r.moment2}) {
                    if (m->size() != 0 && shape_of(*m) != shape_of(r.value))
                        body.fail("corrupt: the optimizer state of '", r.name, "' is ", shape_of(*m), " but its value is ",
                                  shape_of(r.value));
                    for (const T v : *m)
                        if (!std::isfinite(v)) body.fail("the optimizer state of '", r.name, "' holds the non-finite value ", v);
                }
            }
        } else if (tag == format::metadata_section) {
            once(seen_metadata);
            const std::uint64_t entries = body.u64("metadata count");
            if (entries > body.remaining() / 5) body.fail("corrupt: a metadata count of ", entries, " cannot fit");
            for (std::uint64_t e = 0; e < entries; ++e) {
                const std::string key = body.string("metadata key");
                switch (body.u8("metadata kind")) {
                case 0: c.metadata.set(key, body.i64("metadata value")); break;
                case 1: c.metadata.set(key, body.f64("metadata value")); break;
                case 2: c.metadata.set(key, body.string("metadata value")); break;
                default: body.fail("corrupt: metadata entry '", key, "' has an unknown kind");
                }
            }
        } else {
            continue;  // a section from a later writer: skipped whole
        }
        if (!body.at_end()) body.fail("corrupt: ", body.remaining(), " unread bytes at the end of section '", tag, "'");
    }
    if (!in.at_end()) in.fail("corrupt: ", in.remaining(), " unread bytes at the end of the payload");
    return c;
}

template <class T>
void Checkpoint<T>::restore(const std::vector<Param<T>>& params, RestoreOptions options, std::string_view where) const
{
    check_handles(where, params);
    const std::string file = source.empty() ? std::string("<captured checkpoint>") : "'" + source.string() + "'";
    if (params.size() != parameters.size())
        throw_shape_error(where, file, ": parameter count mismatch: the checkpoint holds ", parameters.size(),
                          " parameters, the model has ", params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& saved = parameters[i];
        const auto& node = params[i].node();
        if (saved.name != node.name)
            throw_shape_error(where, file, ": name mismatch at parameter ", i, ": the checkpoint has '", saved.name,
                              "', the model has '", node.name, "'");
        if (shape_of(saved.value) != shape_of(node.value))
            throw_shape_error(where, file, ": shape mismatch for parameter '", saved.name, "': the checkpoint has ",
                              shape_of(saved.value), ", the model has ", shape_of(node.value));
    }

    // Every check has passed. Optimizer state whose buffer does not already have the saved shape needs a
    // new buffer: allocate all of those first, so an allocation failure still leaves everything untouched.
    const bool with_state = options.optimizer_state && has_optimizer_state;
    std::vector<Tensor<T>> fresh_state;
    if (with_state) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            const auto& node = params[i].node();
            for (auto [saved, current] : {std::pair{&parameters[i].moment1, &node.moment1},
                                          std::pair{&parameters[i].moment2, &node.moment2}})
                if (shape_of(*saved) != shape_of(*current)) fresh_state.push_back(*saved);
        }
    }
    std::size_t next_fresh = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
        auto& node = params[i].node();
        std::copy(parameters[i].value.begin(), parameters[i].value.end(), node.value.begin());
        if (!with_state) continue;
        for (auto [saved, current] :
             {std::pair{&parameters[i].moment1, &node.moment1}, std::pair{&parameters[i].moment2, &node.moment2}}) {
            if (shape_of(*saved) != shape_of(*current))
                std::swap(*current, fresh_state[next_fresh++]);
            else
                std::copy(saved->begin(), saved->end(), current->begin());
        }
    }
}

// Saves the parameters' values (and, with .optimizer_state, their optimizer state) and the metadata.
template <class T>
void save_parameters(const std::filesystem::path& path, const std::vector<Param<T>>& params, const SaveOptions& options = {})
{
    for (std::size_t i = 0; i < params.size(); ++i)
        if (!params[i].node_ptr()) throw_usage_error("save_parameters", "parameter ", i, " is a null (default-constructed) Param");
    // Encoded straight from the parameters, without a copy.
    const auto bytes = detail::encode_checkpoint<T>(
        params.size(),
        [&](std::size_t i) {
            const auto& node = params[i].node();
            return detail::RecordView<T>{node.name, node.value, detail::saved_state(node.moment1, node.value),
                                         detail::saved_state(node.moment2, node.value)};
        },
        options.optimizer_state, options.metadata);
    write_file_atomically(path, bytes, "save_parameters");
}

// Loads a checkpoint into `params` (values, and optimizer state if the file has it), all or nothing.
// Returns the file's metadata.
template <class T>
Metadata load_parameters(const std::filesystem::path& path, const std::vector<Param<T>>& params, RestoreOptions options = {})
{
    const auto checkpoint = Checkpoint<T>::load(path, "load_parameters");
    checkpoint.restore(params, options, "load_parameters");
    return checkpoint.metadata;
}

}  // namespace bijou
