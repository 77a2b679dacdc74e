// A data matrix (rows = samples, columns = features) from or to a .npy or .csv file, chosen by the
// file's extension: how data, conditions and results cross between Bijou and a user's own tools.
//
//   Tensor<double> x = load_matrix("data.npy", "--data");   // or data.csv
//   save_matrix("samples.npy", samples);                      // or samples.csv
//
// .npy: read and written by engine/io/npy.hpp (any float or integer dtype; 1-D is one column, N-D is
// flattened per row). .csv: comma-separated numbers, one row per line, with an optional header line
// (a first line that is not all numbers names the columns); blank lines are skipped; every row must
// have the same number of fields. Values must be finite: NaN or inf anywhere is an error naming the
// file, the row and the column (0-based), since a flow cannot fit or score them.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/io/atomic_file.hpp>
#include <bijou/engine/io/binary.hpp>
#include <bijou/engine/io/npy.hpp>
#include <bijou/engine/tensor.hpp>
#include <bijou/examples/common/csv_log.hpp>

namespace bijou::examples {

namespace detail {

inline bool parse_number(std::string_view field, double& value)
{
    while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\r')) field.remove_suffix(1);
    if (!field.empty() && field.front() == '+') field.remove_prefix(1);
    const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    return error == std::errc() && end == field.data() + field.size() && !field.empty();
}

inline Tensor<double> read_numeric_csv(const std::filesystem::path& path, std::string_view what)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_file_error(what, path, "cannot open the file");
    std::vector<double> values;
    std::size_t columns = 0, rows = 0, line_number = 0;
    std::string line;
    while (std::getline(in, line)) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        const auto fields = split_csv_line(line);
        std::vector<double> row(fields.size());
        bool numeric = true;
        for (std::size_t j = 0; j < fields.size() && numeric; ++j) numeric = parse_number(fields[j], row[j]);
        if (!numeric) {
            if (rows == 0 && columns == 0) {  // the header line
                columns = fields.size();
                continue;
            }
            for (std::size_t j = 0; j < fields.size(); ++j)
                if (!parse_number(fields[j], row[j]))
                    throw_file_error(what, path, "line ", line_number, ", field ", j + 1, ": '", fields[j],
                                     "' is not a number");
        }
        if (columns == 0) columns = fields.size();
        if (fields.size() != columns)
            throw_file_error(what, path, "line ", line_number, " has ", fields.size(), " fields, the file's first row ",
                             columns);
        values.insert(values.end(), row.begin(), row.end());
        ++rows;
    }
    Tensor<double> out = Tensor<double>::from_shape({rows, columns});
    std::copy(values.begin(), values.end(), out.data());
    return out;
}

inline bool has_extension(const std::filesystem::path& path, std::string_view extension)
{
    std::string e = path.extension().string();
    for (char& ch : e) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return e == extension;
}

}  // namespace detail

// The matrix in `path` (.npy or .csv), in double, every value finite. `what` names it in errors
// (e.g. "--data").
inline Tensor<double> load_matrix(const std::filesystem::path& path, std::string_view what)
{
    const bool npy = detail::has_extension(path, ".npy");
    if (!npy && !detail::has_extension(path, ".csv"))
        throw_usage_error(what, "'", path.string(), "': expected a .npy or .csv file");
    if (!std::filesystem::exists(path)) throw_usage_error(what, "'", path.string(), "' does not exist");
    const Tensor<double> x = npy ? load_npy_matrix<double>(path, what) : detail::read_numeric_csv(path, what);
    if (x.shape()[0] == 0) throw_value_error(what, "'", path.string(), "' holds no rows");
    for (std::size_t r = 0; r < x.shape()[0]; ++r)
        for (std::size_t c = 0; c < x.shape()[1]; ++c)
            if (!std::isfinite(x(r, c)))
                throw_value_error(what, "'", path.string(), "': row ", r, ", column ", c, " is ", x(r, c),
                                  " (every value must be finite)");
    return x;
}

// Writes a matrix to `path` as .npy (float32 for float, float64 for double) or .csv, atomically.
template <class T>
void save_matrix(const std::filesystem::path& path, const Tensor<T>& x, std::string_view what = "save_matrix")
{
    if (detail::has_extension(path, ".npy")) return save_npy(path, x, what);
    if (!detail::has_extension(path, ".csv")) throw_usage_error(what, "'", path.string(), "': expected a .npy or .csv file");
    std::ostringstream text;
    text.precision(std::is_same_v<T, float> ? 9 : 17);
    for (std::size_t r = 0; r < x.shape()[0]; ++r) {
        for (std::size_t c = 0; c < x.shape()[1]; ++c) text << (c ? "," : "") << x(r, c);
        text << '\n';
    }
    const std::string bytes = text.str();
    write_file_atomically(path, std::as_bytes(std::span(bytes.data(), bytes.size())), what);
}

}  // namespace bijou::examples
