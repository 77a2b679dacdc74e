// docs/experiments.md shows examples/two_moons_minimal.cpp in full; the examples build compiles that
// file, and this test keeps the page's copy identical to it, so the code a reader copies compiles.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>

namespace {
// The repository: the kit defines BIJOU_DATA_DIR as <repository>/data in a build tree.
const std::filesystem::path repository_root = std::filesystem::path(BIJOU_DATA_DIR).parent_path();

std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("docs/experiments.md shows examples/two_moons_minimal.cpp exactly")
{
    const std::string page = read_text(repository_root / "docs" / "experiments.md");
    const std::string source = read_text(repository_root / "examples" / "two_moons_minimal.cpp");
    // The listing is the ```cpp block after the line naming the file.
    const std::string marker = "<!-- examples/two_moons_minimal.cpp -->\n```cpp\n";
    const auto begin = page.find(marker);
    REQUIRE(begin != std::string::npos);
    const auto code = begin + marker.size();
    const auto end = page.find("```\n", code);
    REQUIRE(end != std::string::npos);
    CHECK(page.substr(code, end - code) == source);
}
