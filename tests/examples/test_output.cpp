// metrics.json (examples/common/output.hpp): numbers, strings and arrays of numbers, in the order added,
// with non-finite values written as null (JSON has no inf or nan), read back by a JSON parser.
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

TEST_CASE("Metrics writes numbers strings and arrays in order with null for non-finite values")
{
    const std::vector<double> history = {0, 100, 2.5};
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Metrics metrics;
    metrics.add("steps", 3000)
        .add("flow", std::string("real\"nvp\n\x01"))
        .add("validation_steps", history)
        .add("empty", std::vector<double>{})
        .add("with_gaps", std::vector<double>{1.25, nan, INFINITY})
        .add("precise", 0.1 + 0.2)
        .add("passed", true)
        .add("loss", nan);
    const std::filesystem::path path = "test_output_metrics.json";
    metrics.write(path);
    std::ifstream in(path);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::filesystem::remove(path);

    CHECK(text.find("\"steps\": 3000,") != std::string::npos);      // an integer stays one
    CHECK(text.find("\\u0001") != std::string::npos);               // control characters escaped
    const auto json = nlohmann::ordered_json::parse(text);
    std::vector<std::string> keys;
    for (const auto& [key, value] : json.items()) keys.push_back(key);
    CHECK(keys == std::vector<std::string>{"steps", "flow", "validation_steps", "empty", "with_gaps", "precise",
                                           "passed", "loss"});
    CHECK(json["steps"] == 3000);
    CHECK(json["flow"] == "real\"nvp\n\x01");
    CHECK(json["validation_steps"] == nlohmann::json::array({0.0, 100.0, 2.5}));
    CHECK(json["empty"].empty());
    CHECK(json["with_gaps"][0] == 1.25);
    CHECK(json["with_gaps"][1].is_null());
    CHECK(json["with_gaps"][2].is_null());
    CHECK(json["precise"].get<double>() == 0.1 + 0.2);  // every digit kept
    CHECK(json["passed"] == true);
    CHECK(json["loss"].is_null());
}

TEST_CASE("Metrics refuses a name added twice")
{
    Metrics metrics;
    metrics.add("steps", 10);
    CHECK_THROWS_WITH(metrics.add("steps", 20.0), Catch::Contains("Metrics::add") && Catch::Contains("'steps'"));
}

TEST_CASE("Metrics writes a list of names as an array of strings")
{
    Metrics metrics;
    metrics.add("class_names", std::vector<std::string>{"T-shirt/top", "Ankle \"boot\""});
    const auto& names = metrics.json()["class_names"];
    REQUIRE(names.is_array());
    CHECK(names.size() == 2);
    CHECK(names[1] == "Ankle \"boot\"");
}
