// The UCI optical digits (8 x 8 images, 1797 of them, pixel values 0-16, labels 0-9): the data behind
// scikit-learn's load_digits, committed as data/digits.csv.gz (see data/README.md for its source and
// licence, CC BY 4.0).
//
//   Digits all = load_digits();                            // all.images: 1797 x 64, all.labels: 1797
//   auto [train, test] = train_test_split(all, seed);      // 1437 / 360 rows
//   auto [fit_on, validation] = train_validation_split(train, 0.1, seed);
//
// The file is read and decompressed here (gzip.hpp, zlib), so nothing is needed at build time. Each line is 64
// pixel values (row-major) and the label, comma-separated. The loader checks 65 fields per line,
// integer pixel values in 0..16 and labels in 0..9, and throws bijou::file_format_error naming the line
// otherwise.
//
// Where the file is found (default_digits_path): $BIJOU_DATA_DIR/digits.csv.gz if that environment variable
// is set; otherwise in the data directory compiled in by the bijou::experiment_kit CMake target (the
// source tree's data/ in a build tree, <prefix>/share/bijou/data once installed); otherwise
// data/digits.csv.gz relative to the working directory.
//
// Splits are random permutations of the rows drawn from std::mt19937_64(seed) (random.hpp), so a seed
// gives the same split everywhere. The held-out part has ceil(fraction * n) rows, as in scikit-learn's
// train_test_split; rows keep their relative order within each part.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/io/binary.hpp>
#include <bijou/engine/tensor.hpp>
#include <bijou/examples/common/gzip.hpp>
#include <bijou/examples/common/random.hpp>

namespace bijou::examples {

struct Digits {
    static constexpr std::size_t side = 8, pixels = 64, classes = 10;
    static constexpr double max_value = 16;

    Tensor<double> images;    // n x 64: row i is image i, row-major, integer values 0..16
    std::vector<int> labels;  // n: the digit each image shows, 0..9

    std::size_t size() const { return labels.size(); }
};

inline std::filesystem::path default_digits_path()
{
    if (const char* dir = std::getenv("BIJOU_DATA_DIR"); dir != nullptr && *dir != '\0')
        return std::filesystem::path(dir) / "digits.csv.gz";
#ifdef BIJOU_DATA_DIR
    return std::filesystem::path(BIJOU_DATA_DIR) / "digits.csv.gz";
#else
    return std::filesystem::path("data") / "digits.csv.gz";
#endif
}

inline Digits load_digits(const std::filesystem::path& path = default_digits_path())
{
    if (!std::filesystem::exists(path))
        throw_file_error("load_digits", path,
                         "no such file; set BIJOU_DATA_DIR to the directory holding digits.csv.gz (the repository's "
                         "data/ directory)");
    const std::vector<std::uint8_t> bytes = read_gzip_file(path);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());

    std::vector<double> pixels;
    std::vector<int> labels;
    std::size_t line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;

        std::size_t fields = 0;
        for (std::size_t pos = 0; pos != std::string_view::npos; ++fields) {
            const std::size_t comma = line.find(',', pos);
            const std::string_view token = line.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
            pos = comma == std::string_view::npos ? comma : comma + 1;
            const bool is_label = fields == Digits::pixels;
            if (fields > Digits::pixels)
                throw_file_error("load_digits", path, "line ", line_number, " has more than ", Digits::pixels + 1,
                                 " fields (64 pixels and a label)");
            double value = 0;
            const auto [stop, error] = std::from_chars(token.data(), token.data() + token.size(), value);
            const bool integer = error == std::errc() && stop == token.data() + token.size() && !token.empty() &&
                                 value == std::floor(value);
            if (!integer || value < 0 || value > (is_label ? Digits::classes - 1 : Digits::max_value))
                throw_file_error("load_digits", path, "line ", line_number, ", field ", fields + 1, ": '",
                                 std::string(token), "' is not ", is_label ? "a label 0..9" : "a pixel value 0..16");
            if (is_label)
                labels.push_back(int(value));
            else
                pixels.push_back(value);
        }
        if (fields != Digits::pixels + 1)
            throw_file_error("load_digits", path, "line ", line_number, " has ", fields, " fields, expected ",
                             Digits::pixels + 1, " (64 pixels and a label)");
    }
    Digits digits;
    digits.images = Tensor<double>::from_shape({labels.size(), Digits::pixels});
    std::copy(pixels.begin(), pixels.end(), digits.images.begin());
    digits.labels = std::move(labels);
    return digits;
}

// The listed rows of `digits`, in that order.
inline Digits select_rows(const Digits& digits, const std::vector<std::size_t>& rows)
{
    Digits out;
    out.images = Tensor<double>::from_shape({rows.size(), Digits::pixels});
    out.labels.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        for (std::size_t p = 0; p < Digits::pixels; ++p) out.images(i, p) = digits.images(rows[i], p);
        out.labels.push_back(digits.labels[rows[i]]);
    }
    return out;
}

// A random split: ceil(held_out_fraction * n) rows for the second part, the rest for the first.
inline std::pair<Digits, Digits> split_digits(const Digits& digits, double held_out_fraction, std::uint64_t seed)
{
    if (!(held_out_fraction > 0 && held_out_fraction < 1))
        throw_usage_error("split_digits", "the held-out fraction must be in (0, 1), got ", held_out_fraction);
    const std::size_t n = digits.size();
    const auto held_out = std::size_t(std::ceil(held_out_fraction * double(n)));
    if (held_out >= n) throw_usage_error("split_digits", "holding out ", held_out, " of ", n, " rows leaves none");
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 rng(seed);
    random::shuffle(order, rng);
    std::vector<std::size_t> kept(order.begin(), order.end() - std::ptrdiff_t(held_out));
    std::vector<std::size_t> out(order.end() - std::ptrdiff_t(held_out), order.end());
    std::sort(kept.begin(), kept.end());
    std::sort(out.begin(), out.end());
    return {select_rows(digits, kept), select_rows(digits, out)};
}

struct DigitsTrainTest {
    Digits train, test;
};
struct DigitsTrainValidation {
    Digits train, validation;
};

// The fixed 80/20 split of the experiments.
inline DigitsTrainTest train_test_split(const Digits& digits, std::uint64_t seed, double test_fraction = 0.2)
{
    auto [train, test] = split_digits(digits, test_fraction, seed);
    return {std::move(train), std::move(test)};
}

// A validation set carved out of the training set (for early stopping), disjoint from it.
inline DigitsTrainValidation train_validation_split(const Digits& train, double validation_fraction, std::uint64_t seed)
{
    auto [rest, validation] = split_digits(train, validation_fraction, seed);
    return {std::move(rest), std::move(validation)};
}

}  // namespace bijou::examples
