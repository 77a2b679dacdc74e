// NumPy's .npy files in and out, through xtensor's npy support (xtensor/xnpy.hpp), with the checks a
// user's file needs: it is the format a researcher's Python side writes (np.save) and reads (np.load).
//
//   Tensor<float> x = load_npy_matrix<float>("data.npy");   // (n, d); any float or integer dtype
//   save_npy("samples.npy", samples);                        // float32 (or float64), atomically
//
// Reading. A 2-D array is (rows, columns). A 1-D array of n values is read as n rows of one column; an
// array of more dimensions (n, a, b, ...) as n rows of a*b*... columns (an image stack becomes rows of
// flattened images, channel-major as numpy's C order stores them). C and Fortran order both work. The
// dtype may be float32, float64 or a (signed or unsigned) integer of 1 to 8 bytes, little-endian; it is
// converted to T. A file that is not .npy, is truncated or has another dtype (big-endian, complex, object)
// gives a bijou::file_format_error naming the file and what was found.
//
// Writing goes through write_file_atomically (engine/io/atomic_file.hpp): a crash leaves the old file or
// the complete new one.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include <bijou/engine/io/atomic_file.hpp>
#include <bijou/engine/io/binary.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou {

namespace detail {

// The array of `file` as a (rows, columns) tensor of T, converted from the file's element type Source.
template <class T, class Source>
Tensor<T> npy_to_matrix(xt::detail::npy_file& file, std::size_t rows, std::size_t columns)
{
    auto array = file.cast<Source>(false);  // the dtype was matched by the caller; layout as stored
    Tensor<T> out = Tensor<T>::from_shape({rows, columns});
    // Row-major flattening of the array whatever its storage order: xtensor's iteration is row-major.
    std::size_t i = 0;
    for (auto it = array.template begin<xt::layout_type::row_major>(); it != array.template end<xt::layout_type::row_major>(); ++it)
        out.data()[i++] = static_cast<T>(*it);
    return out;
}

}  // namespace detail

// The array in `path` as a (rows, columns) matrix of T (see the top of this file for the shapes read).
template <class T>
Tensor<T> load_npy_matrix(const std::filesystem::path& path, std::string_view where = "load_npy")
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_file_error(where, path, "cannot open it for reading");
    in.seekg(0, std::ios::end);
    const auto file_size = static_cast<std::uint64_t>(in.tellg());
    in.seekg(0, std::ios::beg);

    // The preamble is read here (xtensor 0.24's reader sign-extends header lengths of 128 bytes and more,
    // and trusts the shape before it allocates); the header dictionary is parsed by xtensor.
    unsigned char preamble[10] = {};
    if (!in.read(reinterpret_cast<char*>(preamble), 10) || std::string_view(reinterpret_cast<char*>(preamble), 6) != "\x93NUMPY")
        throw_file_error(where, path, "not a .npy file (it does not start with \\x93NUMPY)");
    const unsigned version = preamble[6];
    std::uint64_t header_length = std::uint64_t(preamble[8]) | std::uint64_t(preamble[9]) << 8;
    std::uint64_t data_offset = 10;
    if (version == 2 || version == 3) {
        unsigned char more[2] = {};
        if (!in.read(reinterpret_cast<char*>(more), 2)) throw_file_error(where, path, "truncated in its preamble");
        header_length |= std::uint64_t(more[0]) << 16 | std::uint64_t(more[1]) << 24;
        data_offset = 12;
    } else if (version != 1) {
        throw_file_error(where, path, ".npy format version ", version, " is not supported (1, 2 or 3)");
    }
    if (data_offset + header_length > file_size)
        throw_file_error(where, path, "truncated: the header announces ", header_length, " bytes, the file has ", file_size);
    std::string header(header_length, '\0');
    in.read(header.data(), std::streamsize(header_length));

    std::string type;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
    try {
        xt::detail::parse_header(header, type, &fortran_order, shape);
    } catch (const std::exception& e) {
        throw_file_error(where, path, "unreadable .npy header '", header, "': ", e.what());
    }
    std::uint64_t elements = 1;
    for (std::size_t extent : shape)  // saturating: a corrupt shape must not overflow past the size check
        elements = extent != 0 && elements > file_size / extent ? file_size + 1 : elements * extent;
    const std::uint64_t element_size = type.size() >= 3 ? std::uint64_t(std::atoi(type.c_str() + 2)) : 0;
    if (element_size == 0) throw_file_error(where, path, "unreadable dtype '", type, "'");
    if (file_size - data_offset - header_length < elements * element_size)
        throw_file_error(where, path, "truncated: shape and dtype '", type, "' need ", elements * element_size,
                         " bytes of data, the file has ", file_size - data_offset - header_length);

    xt::detail::npy_file file(shape, fortran_order, type);
    in.read(file.ptr(), std::streamsize(file.n_bytes()));
    if (!in) throw_file_error(where, path, "reading ", file.n_bytes(), " bytes of data failed");

    std::size_t rows = 1, columns = 1;
    if (shape.size() >= 1) rows = shape[0];
    for (std::size_t k = 1; k < shape.size(); ++k) columns *= shape[k];
    if (shape.empty()) throw_file_error(where, path, "holds a scalar (shape ()), not an array of rows");

    if (type == "<f4") return detail::npy_to_matrix<T, float>(file, rows, columns);
    if (type == "<f8") return detail::npy_to_matrix<T, double>(file, rows, columns);
    if (type == "|i1" || type == "<i1") return detail::npy_to_matrix<T, std::int8_t>(file, rows, columns);
    if (type == "|u1" || type == "<u1") return detail::npy_to_matrix<T, std::uint8_t>(file, rows, columns);
    if (type == "|b1") return detail::npy_to_matrix<T, std::uint8_t>(file, rows, columns);
    if (type == "<i2") return detail::npy_to_matrix<T, std::int16_t>(file, rows, columns);
    if (type == "<u2") return detail::npy_to_matrix<T, std::uint16_t>(file, rows, columns);
    if (type == "<i4") return detail::npy_to_matrix<T, std::int32_t>(file, rows, columns);
    if (type == "<u4") return detail::npy_to_matrix<T, std::uint32_t>(file, rows, columns);
    if (type == "<i8") return detail::npy_to_matrix<T, std::int64_t>(file, rows, columns);
    if (type == "<u8") return detail::npy_to_matrix<T, std::uint64_t>(file, rows, columns);
    throw_file_error(where, path, "dtype '", type,
                     "' is not supported (float32, float64 or a little-endian integer; convert with "
                     "x.astype(np.float32))");
}

// Writes a tensor (any rank, float or double or integer) to `path` as .npy, atomically.
template <class E>
void save_npy(const std::filesystem::path& path, const xt::xexpression<E>& array, std::string_view where = "save_npy")
{
    const std::string bytes = xt::dump_npy(array);
    write_file_atomically(path, std::as_bytes(std::span(bytes.data(), bytes.size())), where);
}

}  // namespace bijou
