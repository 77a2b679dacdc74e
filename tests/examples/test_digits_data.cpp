// The 8x8 digits loader: counts, value ranges and class sizes of data/digits.csv.gz (as scikit-learn's
// load_digits reports them), the seeded splits, and errors for a missing or malformed file.
#include <bijou/examples/common/digits_data.hpp>

#include <zlib.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::examples;

namespace {

double pixel_sum(const Digits& d) { return std::accumulate(d.images.begin(), d.images.end(), 0.0); }

std::array<int, 10> class_counts(const Digits& d)
{
    std::array<int, 10> count{};
    for (const int label : d.labels) ++count[std::size_t(label)];
    return count;
}

// A gzip file holding `text` (written by zlib): enough to feed the loader bad content.
std::filesystem::path write_gzip_text(const std::string& name, const std::string& text)
{
    const auto path = std::filesystem::temp_directory_path() / name;
    gzFile file = gzopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    REQUIRE(gzwrite(file, text.data(), unsigned(text.size())) == int(text.size()));
    gzclose(file);
    return path;
}

std::string digits_line(int first_pixel, int label, int pixels = 64)
{
    std::string line = std::to_string(first_pixel);
    for (int i = 1; i < pixels; ++i) line += ",0";
    return line + "," + std::to_string(label) + "\n";
}

}  // namespace

TEST_CASE("the digits file holds 1797 8x8 images with values 0 to 16 and labels 0 to 9")
{
    const Digits digits = load_digits();
    REQUIRE(digits.size() == 1797);
    CHECK(digits.images.shape()[0] == 1797);
    CHECK(digits.images.shape()[1] == 64);
    for (const double v : digits.images) REQUIRE((v >= 0 && v <= 16 && v == std::floor(v)));
    // The class sizes scikit-learn's load_digits reports (np.bincount(target)).
    CHECK(class_counts(digits) == std::array<int, 10>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180});
    CHECK(pixel_sum(digits) == 561718.0);
    // The first image, a 0: its top row is 0 0 5 13 9 1 0 0.
    CHECK(digits.labels[0] == 0);
    CHECK(digits.images(0, 2) == 5.0);
    CHECK(digits.images(0, 3) == 13.0);
}

TEST_CASE("the 80/20 split is seeded and partitions the rows")
{
    const Digits all = load_digits();
    const auto [train, test] = train_test_split(all, 42);
    CHECK(train.size() == 1437);
    CHECK(test.size() == 360);  // ceil(0.2 * 1797), as scikit-learn rounds the test part
    CHECK(train.images.shape()[0] == 1437);
    CHECK(pixel_sum(train) + pixel_sum(test) == pixel_sum(all));
    const auto per_class = class_counts(all), train_classes = class_counts(train), test_classes = class_counts(test);
    for (std::size_t k = 0; k < 10; ++k) CHECK(train_classes[k] + test_classes[k] == per_class[k]);

    const auto again = train_test_split(all, 42);
    const auto other = train_test_split(all, 43);
    CHECK(again.test.labels == test.labels);
    const bool same_images = again.test.images == test.images;
    const bool other_images = other.test.images == test.images;
    CHECK(same_images);
    CHECK_FALSE(other_images);

    const auto [fit_on, validation] = train_validation_split(train, 0.1, 7);
    CHECK(validation.size() == 144);  // ceil(0.1 * 1437)
    CHECK(fit_on.size() == 1293);
    CHECK(pixel_sum(fit_on) + pixel_sum(validation) == pixel_sum(train));

    CHECK_THROWS_AS(split_digits(all, 1.0, 1), usage_error);
    CHECK_THROWS_AS(split_digits(all, 0.0, 1), usage_error);
}

TEST_CASE("BIJOU_DATA_DIR points the loader at another directory")
{
    ::setenv("BIJOU_DATA_DIR", "/nonexistent/data", 1);
    const auto path = default_digits_path();
    ::unsetenv("BIJOU_DATA_DIR");
    CHECK(path == std::filesystem::path("/nonexistent/data/digits.csv.gz"));
    CHECK_THROWS_WITH(load_digits(path), Catch::Contains("no such file") && Catch::Contains("BIJOU_DATA_DIR"));
}

TEST_CASE("a malformed digits file is an error naming the line")
{
    const auto good = write_gzip_text("bijou_digits_good.csv.gz", digits_line(3, 7) + digits_line(16, 0));
    const Digits two = load_digits(good);
    CHECK(two.size() == 2);
    CHECK(two.labels == std::vector<int>{7, 0});
    CHECK(two.images(1, 0) == 16.0);

    const auto too_bright = write_gzip_text("bijou_digits_bright.csv.gz", digits_line(3, 7) + digits_line(17, 0));
    CHECK_THROWS_WITH(load_digits(too_bright), Catch::Contains("line 2") && Catch::Contains("pixel value 0..16"));
    const auto bad_label = write_gzip_text("bijou_digits_label.csv.gz", digits_line(3, 10));
    CHECK_THROWS_WITH(load_digits(bad_label), Catch::Contains("a label 0..9"));
    const auto short_line = write_gzip_text("bijou_digits_short.csv.gz", digits_line(3, 1, 10));
    CHECK_THROWS_WITH(load_digits(short_line), Catch::Contains("line 1 has 11 fields"));
    const auto long_line = write_gzip_text("bijou_digits_long.csv.gz", digits_line(3, 1, 70));
    CHECK_THROWS_WITH(load_digits(long_line), Catch::Contains("more than 65 fields"));
    for (const auto& p : {good, too_bright, bad_label, short_line, long_line}) std::filesystem::remove(p);
}
