// metrics.json (examples/common/output.hpp): numbers, strings and arrays of numbers, in the order added,
// with non-finite values written as null (JSON has no inf or nan).
#include <bijou/examples/common/output.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace bijou::examples;

namespace {
std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("Metrics writes numbers strings and arrays in order with null for non-finite values")
{
    const std::vector<double> history = {0, 100, 2.5};
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Metrics metrics;
    metrics.add("steps", 3000)
        .add("flow", std::string("real\"nvp"))
        .add("validation_steps", history)
        .add("empty", std::vector<double>{})
        .add("with_gaps", std::vector<double>{1.25, nan, INFINITY})
        .add("loss", nan);
    const std::filesystem::path path = "test_output_metrics.json";
    metrics.write(path);
    CHECK(read_text(path) ==
          "{\n"
          "  \"steps\": 3000,\n"
          "  \"flow\": \"real\\\"nvp\",\n"
          "  \"validation_steps\": [0, 100, 2.5],\n"
          "  \"empty\": [],\n"
          "  \"with_gaps\": [1.25, null, null],\n"
          "  \"loss\": null\n"
          "}\n");
    std::filesystem::remove(path);
}
