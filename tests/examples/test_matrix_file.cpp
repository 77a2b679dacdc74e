// Data matrices from and to .npy and .csv (examples/common/matrix_file.hpp): headers, blank lines,
// round trips, and every malformed file refused with a message naming it.
#include <bijou/examples/common/matrix_file.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace bijou;
using namespace bijou::examples;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

fs::path matrix_temp(const std::string& name)
{
    const fs::path dir = fs::temp_directory_path() / ("bijou_matrix_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

fs::path write_text(const std::string& name, const std::string& text)
{
    const fs::path path = matrix_temp(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

}  // namespace

TEST_CASE("load_matrix reads CSV with or without a header, skipping blank lines", "[matrix_file]")
{
    const Tensor<double> expected = {{1.5, -2}, {3e-3, 4}};
    CHECK((load_matrix(write_text("h.csv", "x,y\n1.5,-2\n\n3e-3,+4\n"), "--data") == expected));
    CHECK((load_matrix(write_text("n.csv", "1.5, -2\r\n0.003,4\r\n"), "--data") == expected));
    CHECK((load_matrix(write_text("u.csv", "1.5,-2\n0.003,4"), "--data") == expected));  // no final newline
}

TEST_CASE("save_matrix and load_matrix round-trip through .npy and .csv", "[matrix_file]")
{
    const Tensor<float> x = {{0.1f, 1e-30f, -7}, {3.25f, 1e30f, 0}};
    for (const char* name : {"r.npy", "r.csv"}) {
        save_matrix(matrix_temp(name), x);
        const Tensor<double> back = load_matrix(matrix_temp(name), "--data");
        REQUIRE(back.shape() == std::array<std::size_t, 2>{2, 3});
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(float(back.data()[i]) == x.data()[i]);
    }
}

TEST_CASE("load_matrix refuses what a flow cannot use, naming the file and the place", "[matrix_file]")
{
    CHECK_THROWS_WITH(load_matrix(write_text("ragged.csv", "1,2\n3\n"), "--data"),
                      Contains("ragged.csv") && Contains("line 2 has 1 fields"));
    CHECK_THROWS_WITH(load_matrix(write_text("word.csv", "a,b\n1,2\n3,x\n"), "--data"),
                      Contains("line 3, field 2: 'x' is not a number"));
    CHECK_THROWS_WITH(load_matrix(write_text("nan.csv", "1,2\n3,nan\n"), "--data"), Contains("row 1, column 1 is nan"));
    CHECK_THROWS_WITH(load_matrix(write_text("empty.csv", "x,y\n"), "--data"), Contains("holds no rows"));
    CHECK_THROWS_WITH(load_matrix(write_text("data.txt", "1,2\n"), "--data"), Contains("expected a .npy or .csv file"));
    CHECK_THROWS_WITH(load_matrix(matrix_temp("absent.csv"), "--condition"),
                      Contains("--condition") && Contains("does not exist"));
    CHECK_THROWS_AS(load_matrix(write_text("inf.csv", "inf,1\n"), "--data"), value_error);
}
