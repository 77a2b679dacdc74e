// JSON by compile-time reflection (examples/common/reflected_json.hpp): every member by its name, nested
// structs as objects, and a missing or mistyped member reported with its JSON path.
#include <bijou/examples/common/reflected_json.hpp>
#include <catch2/catch.hpp>

#include <vector>

namespace reflected_json_test {
struct Range {
    double low = 0, high = 1;
};
struct Options {
    std::string name = "x";
    std::size_t count = 3;
    std::vector<double> weights = {0.5};
    Range range;
};
}  // namespace reflected_json_test
BOOST_HANA_ADAPT_STRUCT(reflected_json_test::Range, low, high);
BOOST_HANA_ADAPT_STRUCT(reflected_json_test::Options, name, count, weights, range);

using namespace bijou::examples;
using reflected_json_test::Options;
using Catch::Contains;

TEST_CASE("to_reflected_json writes every member by name in declaration order, and from_reflected_json reads it back",
          "[reflected_json]")
{
    Options o{.name = "spline", .count = 8, .weights = {1, 2.5}, .range = {-4, 4}};
    const nlohmann::ordered_json j = to_reflected_json(o);
    CHECK(j.dump() == R"({"name":"spline","count":8,"weights":[1.0,2.5],"range":{"low":-4.0,"high":4.0}})");
    const Options back = from_reflected_json<Options>(nlohmann::json::parse(j.dump()));
    CHECK(back.name == "spline");
    CHECK(back.count == 8);
    CHECK(back.weights == std::vector<double>{1, 2.5});
    CHECK(back.range.low == -4);
    CHECK(back.range.high == 4);
}

TEST_CASE("from_reflected_json names the path of a missing or mistyped member", "[reflected_json]")
{
    auto j = nlohmann::json::parse(R"({"name":"a","count":1,"weights":[],"range":{"low":0}})");
    CHECK_THROWS_WITH(from_reflected_json<Options>(j), Contains("member '/range/high' is missing"));
    j["range"]["high"] = 2;
    j["count"] = "many";
    CHECK_THROWS_WITH(from_reflected_json<Options>(j), Contains("member '/count'") && Contains("number"));
    CHECK_THROWS_AS(from_reflected_json<Options>(nlohmann::json::array()), std::invalid_argument);
}
