// .npy files: round trips, the dtypes and layouts numpy writes, and every malformed file refused with a
// message naming it. Files numpy itself writes are read in tests/tools (the bijou command's test).
#include <bijou/engine/io/npy.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace bijou;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

fs::path temp_file(const std::string& name)
{
    const fs::path dir = fs::temp_directory_path() / ("bijou_npy_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

// A .npy file as numpy writes it (format 1.0): magic, version, header length, padded header, data.
void write_raw_npy(const fs::path& path, const std::string& dictionary, const std::string& data)
{
    std::string header = dictionary;
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream out(path, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const char length[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
    out.write(length, 2);
    out << header << data;
}

template <class V>
std::string bytes_of(std::initializer_list<V> values)
{
    std::string s;
    for (V v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return s;
}

}  // namespace

TEST_CASE("save_npy and load_npy_matrix round-trip float and double matrices bit for bit", "[npy]")
{
    Tensor<float> x = {{1.5f, -2.25f, 3e-38f}, {std::numeric_limits<float>::max(), 0.0f, -0.0f}};
    save_npy(temp_file("f.npy"), x);
    const Tensor<float> back = load_npy_matrix<float>(temp_file("f.npy"));
    REQUIRE(back.shape() == x.shape());
    CHECK(std::memcmp(back.data(), x.data(), sizeof(float) * x.size()) == 0);

    Tensor<double> y = {{1.0 / 3.0}, {-1e300}};
    save_npy(temp_file("d.npy"), y);
    CHECK((load_npy_matrix<double>(temp_file("d.npy")) == y));
    // float64 read as float: converted
    CHECK(load_npy_matrix<float>(temp_file("d.npy"))(0, 0) == Approx(1.0f / 3.0f));
}

TEST_CASE("load_npy_matrix reads the shapes, orders and dtypes numpy writes", "[npy]")
{
    SECTION("a 1-D array is a column")
    {
        write_raw_npy(temp_file("v.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes_of<double>({1, 2, 3}));
        const Tensor<double> v = load_npy_matrix<double>(temp_file("v.npy"));
        CHECK((v == Tensor<double>{{1}, {2}, {3}}));
    }
    SECTION("Fortran order is transposed back to rows")
    {
        // [[1, 2, 3], [4, 5, 6]] stored column by column
        write_raw_npy(temp_file("fo.npy"), "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                      bytes_of<float>({1, 4, 2, 5, 3, 6}));
        CHECK((load_npy_matrix<float>(temp_file("fo.npy")) == Tensor<float>{{1, 2, 3}, {4, 5, 6}}));
    }
    SECTION("an image stack (n, h, w) becomes rows of flattened images")
    {
        write_raw_npy(temp_file("img.npy"), "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }",
                      bytes_of<std::uint8_t>({0, 1, 2, 3, 255, 254, 253, 252}));
        CHECK((load_npy_matrix<float>(temp_file("img.npy")) == Tensor<float>{{0, 1, 2, 3}, {255, 254, 253, 252}}));
    }
    SECTION("integer labels")
    {
        write_raw_npy(temp_file("i8.npy"), "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }",
                      bytes_of<std::int64_t>({-7, 9}));
        CHECK((load_npy_matrix<double>(temp_file("i8.npy")) == Tensor<double>{{-7}, {9}}));
    }
    SECTION("zero rows")
    {
        write_raw_npy(temp_file("empty.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", "");
        const Tensor<float> e = load_npy_matrix<float>(temp_file("empty.npy"));
        CHECK(e.shape()[0] == 0);
        CHECK(e.shape()[1] == 5);
    }
    SECTION("a header of 128 bytes or more (its length's low byte has the top bit set)")
    {
        std::string dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }";
        dictionary.insert(dictionary.size() - 1, std::string(130, ' '));
        write_raw_npy(temp_file("long.npy"), dictionary, bytes_of<float>({42}));
        CHECK(load_npy_matrix<float>(temp_file("long.npy"))(0, 0) == 42);
    }
}

TEST_CASE("load_npy_matrix refuses malformed files with a message naming the file", "[npy]")
{
    const fs::path path = temp_file("bad.npy");
    SECTION("missing")
    {
        CHECK_THROWS_WITH(load_npy_matrix<float>(temp_file("absent.npy")), Contains("absent.npy") && Contains("cannot open"));
    }
    SECTION("not .npy")
    {
        std::ofstream(path) << "x,y\n1,2\n";
        CHECK_THROWS_WITH(load_npy_matrix<float>(path), Contains("bad.npy") && Contains("not a .npy file"));
    }
    SECTION("truncated data")
    {
        write_raw_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", bytes_of<float>({1, 2, 3}));
        CHECK_THROWS_WITH(load_npy_matrix<float>(path), Contains("truncated") && Contains("32 bytes"));
    }
    SECTION("a shape so large it would overflow")
    {
        write_raw_npy(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", "");
        CHECK_THROWS_WITH(load_npy_matrix<float>(path), Contains("truncated"));
    }
    SECTION("big-endian and complex dtypes")
    {
        write_raw_npy(path, "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1), }", bytes_of<float>({1}));
        CHECK_THROWS_WITH(load_npy_matrix<float>(path), Contains("dtype '>f4' is not supported"));
        write_raw_npy(path, "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 1), }", bytes_of<float>({1, 2}));
        CHECK_THROWS_WITH(load_npy_matrix<float>(path), Contains("'<c8'"));
    }
    SECTION("a scalar")
    {
        write_raw_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", bytes_of<float>({1}));
        CHECK_THROWS_WITH(load_npy_matrix<float>(path), Contains("scalar"));
    }
    CHECK_THROWS_AS(load_npy_matrix<float>(temp_file("absent.npy")), file_format_error);
}
