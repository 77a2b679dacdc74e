// The Fashion-MNIST loader on Debian's dataset-fashion-mnist: counts, class sizes (6000 and 1000 per
// class, as the data set's paper states), pixel range, and clear errors for a missing directory, a
// file that is not an idx file, a wrong magic number, a truncated file and a bad label (written with
// zlib into a temporary directory).
#include <bijou/examples/common/fashion_mnist_data.hpp>

#include <zlib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::examples;

namespace {

std::array<int, 10> class_counts(const FashionMnist& d)
{
    std::array<int, 10> count{};
    for (const int label : d.labels) ++count[std::size_t(label)];
    return count;
}

void write_gzip(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes)
{
    gzFile file = gzopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    REQUIRE(gzwrite(file, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
    gzclose(file);
}

// The big-endian magic number and extents that open an idx file.
std::vector<std::uint8_t> idx_header(std::uint32_t magic, const std::vector<std::uint32_t>& extents)
{
    std::vector<std::uint32_t> words{magic};
    words.insert(words.end(), extents.begin(), extents.end());
    std::vector<std::uint8_t> bytes;
    for (const std::uint32_t v : words)
        for (const int shift : {24, 16, 8, 0}) bytes.push_back(std::uint8_t(v >> shift));
    return bytes;
}

}  // namespace

TEST_CASE("Fashion-MNIST: 60000 + 10000 images of 784 pixels in ten balanced classes")
{
    const FashionMnist train = load_fashion_mnist(FashionMnistSplit::train);
    const FashionMnist test = load_fashion_mnist(FashionMnistSplit::test);
    REQUIRE(train.size() == 60000);
    REQUIRE(test.size() == 10000);
    CHECK(train.pixel_values.size() == 60000 * 784);
    for (const int n : class_counts(train)) CHECK(n == 6000);
    for (const int n : class_counts(test)) CHECK(n == 1000);
    // Every value 0..255 occurs; images are not blank.
    CHECK(*std::max_element(train.pixel_values.begin(), train.pixel_values.end()) == 255);
    CHECK(*std::min_element(train.pixel_values.begin(), train.pixel_values.end()) == 0);
    const double mean = std::accumulate(train.pixel_values.begin(), train.pixel_values.end(), 0.0) / 47040000.0;
    CHECK(mean == Approx(72.94).margin(0.05));  // the training set's well-known mean pixel value (0.2860 * 255)
    CHECK(std::string(FashionMnist::class_names[9]) == "Ankle boot");
}

TEST_CASE("Fashion-MNIST: errors name the file and what is wrong with it")
{
    const auto dir = std::filesystem::temp_directory_path() / "bijou_test_fashion_mnist";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto images = dir / "t10k-images-idx3-ubyte.gz", labels = dir / "t10k-labels-idx1-ubyte.gz";

    SECTION("a missing directory points to the Debian package")
    {
        CHECK_THROWS_WITH(load_fashion_mnist(FashionMnistSplit::test, dir / "nowhere"),
                          Catch::Contains("t10k-images-idx3-ubyte.gz") && Catch::Contains("dataset-fashion-mnist"));
    }
    SECTION("a wrong magic number")
    {
        write_gzip(images, idx_header(0x801, {10000, 28, 28}));
        CHECK_THROWS_AS(load_fashion_mnist(FashionMnistSplit::test, dir), file_format_error);
        CHECK_THROWS_WITH(load_fashion_mnist(FashionMnistSplit::test, dir), Catch::Contains("magic number"));
    }
    SECTION("a truncated image file")
    {
        auto bytes = idx_header(0x803, {10000, 28, 28});
        bytes.resize(bytes.size() + 1000, 7);
        write_gzip(images, bytes);
        CHECK_THROWS_WITH(load_fashion_mnist(FashionMnistSplit::test, dir),
                          Catch::Contains("holds 1000 values") && Catch::Contains("7840000"));
    }
    SECTION("a file that is not gzip-compressed")
    {
        std::ofstream(images, std::ios::binary) << "not a data set";
        CHECK_THROWS_WITH(load_fashion_mnist(FashionMnistSplit::test, dir),
                          Catch::Contains("not a gzip file") && Catch::Contains("t10k-images-idx3-ubyte.gz"));
    }
    SECTION("a gzip file too short to be an idx file")
    {
        write_gzip(images, {0, 0, 8});
        CHECK_THROWS_WITH(load_fashion_mnist(FashionMnistSplit::test, dir), Catch::Contains("truncated"));
    }
    SECTION("a label outside 0..9")
    {
        auto image_bytes = idx_header(0x803, {10000, 28, 28});
        image_bytes.resize(image_bytes.size() + 7840000, 0);
        write_gzip(images, image_bytes);
        auto label_bytes = idx_header(0x801, {10000});
        label_bytes.resize(label_bytes.size() + 10000, 3);
        label_bytes.back() = 12;
        write_gzip(labels, label_bytes);
        CHECK_THROWS_WITH(load_fashion_mnist(FashionMnistSplit::test, dir),
                          Catch::Contains("label 12 of image 9999"));
    }
    std::filesystem::remove_all(dir);
}
