// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70000 greyscale 28 x 28 images of clothing in ten
// classes, 60000 for training and 10000 for testing. Debian's package dataset-fashion-mnist (MIT/Expat
// licence, Zalando SE; scripts/packages.txt installs it) holds the original release: four idx files,
// gzip-compressed, read here with zlib.
//
//   FashionMnist train = load_fashion_mnist(FashionMnistSplit::train);   // 60000 images
//   FashionMnist test = load_fashion_mnist(FashionMnistSplit::test);     // 10000 images
//   train.image(i)   the 784 pixels of image i, row-major, 0..255
//
// The idx format: a big-endian magic number (0x00000803 for images, 0x00000801 for labels), the sizes
// (count, then rows and columns for images), then one byte per value. The loader checks the magic
// numbers, 28 x 28, the same count in both files, labels in 0..9 and the exact file length, and throws
// bijou::file_format_error naming the file otherwise; a missing file says which package provides it.
//
// Where the files are found: $BIJOU_FASHION_MNIST_DIR if set, else /usr/share/datasets/fashion-mnist
// (where the package puts them).
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <bijou/engine/io/binary.hpp>
#include <bijou/examples/common/gzip.hpp>

namespace bijou::examples {

enum class FashionMnistSplit { train, test };

struct FashionMnist {
    static constexpr std::size_t side = 28, pixels = 784, classes = 10;
    static constexpr std::array<const char*, 10> class_names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

    std::vector<std::uint8_t> pixel_values;  // size() x 784, row-major within each image, 0..255
    std::vector<int> labels;                 // the class of each image, 0..9

    std::size_t size() const { return labels.size(); }
    std::span<const std::uint8_t> image(std::size_t i) const
    {
        return std::span<const std::uint8_t>(pixel_values).subspan(i * pixels, pixels);
    }
};

inline std::filesystem::path default_fashion_mnist_dir()
{
    if (const char* dir = std::getenv("BIJOU_FASHION_MNIST_DIR"); dir != nullptr && *dir != '\0') return dir;
    return "/usr/share/datasets/fashion-mnist";
}

namespace detail {

// The whole decompressed content of a gzip file (examples/common/gzip.hpp), with the hint where the data
// set comes from when the file is missing.
inline std::vector<std::uint8_t> read_data_set_file(const std::filesystem::path& path)
{
    if (!std::filesystem::exists(path))
        throw_file_error("load_fashion_mnist", path,
                         "not found; the data set is Debian's package dataset-fashion-mnist (apt-get install "
                         "dataset-fashion-mnist), or set BIJOU_FASHION_MNIST_DIR to a directory holding its four "
                         "idx files");
    return read_gzip_file(path);
}

inline std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& bytes, std::size_t at)
{
    return (std::uint32_t(bytes[at]) << 24) | (std::uint32_t(bytes[at + 1]) << 16) |
           (std::uint32_t(bytes[at + 2]) << 8) | std::uint32_t(bytes[at + 3]);
}

// The values of an idx file after its header, checked against the expected magic number and sizes.
inline std::vector<std::uint8_t> read_idx(const std::filesystem::path& path, std::uint32_t magic,
                                          std::vector<std::uint32_t> expected_extents)
{
    constexpr const char* where = "load_fashion_mnist";
    std::vector<std::uint8_t> bytes = read_data_set_file(path);
    const std::size_t header = 4 * (1 + expected_extents.size());
    if (bytes.size() < header) throw_file_error(where, path, "is truncated: ", bytes.size(), " bytes");
    if (big_endian_u32(bytes, 0) != magic)
        throw_file_error(where, path, "is not an idx file of the expected kind (magic number ",
                         big_endian_u32(bytes, 0), ", expected ", magic, ")");
    std::size_t values = 1;
    for (std::size_t d = 0; d < expected_extents.size(); ++d) {
        const std::uint32_t extent = big_endian_u32(bytes, 4 * (1 + d));
        if (expected_extents[d] != 0 && extent != expected_extents[d])
            throw_file_error(where, path, "has extent ", extent, " on axis ", d, ", expected ", expected_extents[d]);
        values *= extent;
    }
    if (bytes.size() != header + values)
        throw_file_error(where, path, "holds ", bytes.size() - header, " values after its header, its sizes say ",
                         values);
    return {bytes.begin() + std::ptrdiff_t(header), bytes.end()};
}

}  // namespace detail

inline FashionMnist load_fashion_mnist(FashionMnistSplit split,
                                       const std::filesystem::path& dir = default_fashion_mnist_dir())
{
    const std::string prefix = split == FashionMnistSplit::train ? "train" : "t10k";
    const std::uint32_t count = split == FashionMnistSplit::train ? 60000 : 10000;
    const auto images_path = dir / (prefix + "-images-idx3-ubyte.gz");
    const auto labels_path = dir / (prefix + "-labels-idx1-ubyte.gz");
    FashionMnist data;
    data.pixel_values = detail::read_idx(images_path, 0x803, {count, 28, 28});
    const std::vector<std::uint8_t> labels = detail::read_idx(labels_path, 0x801, {count});
    data.labels.reserve(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] >= FashionMnist::classes)
            throw_file_error("load_fashion_mnist", labels_path, "label ", int(labels[i]), " of image ", i,
                             " is not a class 0..9");
        data.labels.push_back(labels[i]);
    }
    return data;
}

}  // namespace bijou::examples
