// inflate and gunzip (zlib underneath): fixed-Huffman and stored blocks, concatenated gzip members, and
// corruption reported as file_format_error naming the source. (Dynamic-Huffman blocks are covered by
// test_digits_data, which reads data/digits.csv.gz.)
#include <bijou/examples/common/gzip.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace bijou::examples;

namespace {

std::string as_text(const std::vector<std::uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

// Python's zlib, raw deflate with strategy Z_FIXED, of "hello hello hello hello, bijou!": one
// fixed-Huffman block with literals and back-references (one overlapping its own output).
const std::vector<std::uint8_t> fixed_block = {0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x27,
                                               0x75, 0x14, 0x92, 0x32, 0xb3, 0xf2, 0x4b, 0x15, 0x01};

// gzip.compress(b"gzip member one\n", mtime=0) + gzip.compress(b"and member two\n", mtime=0).
const std::vector<std::uint8_t> two_members = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0xaf, 0xca, 0x2c, 0x50, 0xc8, 0x4d, 0xcd,
    0x4d, 0x4a, 0x2d, 0x52, 0xc8, 0xcf, 0x4b, 0xe5, 0x02, 0x00, 0x39, 0x0c, 0x84, 0xdd, 0x10, 0x00, 0x00, 0x00,
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0xcc, 0x4b, 0x51, 0xc8, 0x4d, 0xcd, 0x4d,
    0x4a, 0x2d, 0x52, 0x28, 0x29, 0xcf, 0xe7, 0x02, 0x00, 0xaf, 0xce, 0xb1, 0xc7, 0x0f, 0x00, 0x00, 0x00};

}  // namespace

TEST_CASE("inflate decodes a fixed-Huffman block")
{
    CHECK(as_text(inflate(fixed_block)) == "hello hello hello hello, bijou!");
}

TEST_CASE("inflate decodes stored blocks")
{
    // Two stored blocks, "ab" then the final "c".
    const std::vector<std::uint8_t> stored = {0x00, 2, 0, 0xFD, 0xFF, 'a', 'b', 0x01, 1, 0, 0xFE, 0xFF, 'c'};
    CHECK(as_text(inflate(stored)) == "abc");
    std::vector<std::uint8_t> bad = stored;
    bad[3] = 0;  // NLEN no longer the complement of LEN
    CHECK_THROWS_WITH(inflate(bad), Catch::Contains("invalid stored block lengths"));
}

TEST_CASE("gunzip decodes concatenated members and checks each")
{
    CHECK(as_text(gunzip(two_members, "two members")) == "gzip member one\nand member two\n");

    std::vector<std::uint8_t> corrupt_crc = two_members;
    corrupt_crc[28] ^= 1;  // the first member's CRC-32
    CHECK_THROWS_WITH(gunzip(corrupt_crc, "x.gz"), Catch::Contains("incorrect data check") && Catch::Contains("x.gz"));

    std::vector<std::uint8_t> corrupt_length = two_members;
    corrupt_length[32] ^= 1;  // the first member's length
    CHECK_THROWS_WITH(gunzip(corrupt_length, "x.gz"), Catch::Contains("incorrect length check"));

    const std::vector<std::uint8_t> truncated(two_members.begin(), two_members.begin() + 20);
    CHECK_THROWS_WITH(gunzip(truncated, "x.gz"), Catch::Contains("ends early"));

    std::vector<std::uint8_t> not_gzip = two_members;
    not_gzip[0] = 0;
    CHECK_THROWS_WITH(gunzip(not_gzip, "x.gz"), Catch::Contains("not a gzip file"));

    CHECK_THROWS_AS(read_gzip_file("/nonexistent/file.gz"), bijou::file_format_error);
}
