// CSV logs: a write/read round trip, appending, and resuming a training log after a checkpoint (rows
// after the checkpoint and a torn last line dropped, new rows appended, the file one unbroken curve).
#include <bijou/examples/common/csv_log.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::examples;

namespace {

std::filesystem::path temporary(const std::string& name)
{
    const auto path = std::filesystem::temp_directory_path() / ("bijou_test_" + name);
    std::filesystem::remove(path);
    return path;
}

std::string file_text(const std::filesystem::path& path)
{
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("a CSV log reads back row by row as written")
{
    const auto path = temporary("round_trip.csv");
    {
        CsvLog log(path, "x,y,z");
        log.row(1, 0.5, -2.25);
        log.row(2, 1e-7, 123456.789);
        // Flushed per row: the file is complete while the log is still open.
        CHECK(file_text(path) == "x,y,z\n1,0.5,-2.25\n2,1e-07,123456.789\n");
    }
    const CsvTable table = read_csv(path);
    CHECK(table.columns == std::vector<std::string>{"x", "y", "z"});
    REQUIRE(table.rows.size() == 2);
    CHECK(table.rows[1] == std::vector<double>{2, 1e-7, 123456.789});
    CHECK(table.column("z") == 2);
    CHECK_THROWS_WITH(table.column("w"), Catch::Contains("the columns are: x, y, z"));

    {
        CsvLog more(path, "x,y,z", CsvLog::Mode::append);
        more.row(3, std::numeric_limits<double>::infinity(), 0);
    }
    const CsvTable longer = read_csv(path);
    REQUIRE(longer.rows.size() == 3);
    CHECK(longer.rows[2][1] == std::numeric_limits<double>::infinity());
    CHECK_THROWS_WITH(CsvLog(path, "a,b", CsvLog::Mode::append), Catch::Contains("cannot append"));
    std::filesystem::remove(path);
}

TEST_CASE("a malformed CSV line is an error naming it")
{
    const auto path = temporary("malformed.csv");
    std::ofstream(path) << "step,loss\n1,0.5\n2,zero\n";
    CHECK_THROWS_WITH(read_csv(path), Catch::Contains("line 3") && Catch::Contains("'zero' is not a number"));
    std::ofstream(path) << "step,loss\n1,0.5,7\n";
    CHECK_THROWS_WITH(read_csv(path), Catch::Contains("line 2 has 3 fields"));
    std::filesystem::remove(path);
    CHECK_THROWS_AS(read_csv(path), file_format_error);
}

TEST_CASE("resuming a training log keeps the rows up to the checkpoint and appends after them")
{
    const auto path = temporary("log.csv");
    {
        TrainingLog log(path);
        for (std::uint64_t step = 1; step <= 10; ++step) log.write(step, 10.0 - double(step), 1e-3, 0.5 * double(step));
    }
    // The run was killed while writing step 11's row.
    std::ofstream(path, std::ios::app) << "11,-1,0.00";

    // Its last checkpoint was after step 7: steps 8 to 10 will be redone.
    {
        TrainingLog log = TrainingLog::resume(path, 7);
        CHECK(log.resumed_step() == 7);
        CHECK(log.resumed_time() == 3.5);
        for (std::uint64_t step = 8; step <= 9; ++step)
            log.write(step, 100.0 + double(step), 1e-4, log.resumed_time() + 0.25 * double(step - 7));
    }
    const auto rows = read_training_log(path);
    REQUIRE(rows.size() == 9);
    for (std::size_t i = 0; i < rows.size(); ++i) CHECK(rows[i].step == i + 1);
    CHECK(rows[6].loss == 3.0);
    CHECK(rows[7].loss == 108.0);
    CHECK(rows[7].lr == 1e-4);
    CHECK(rows[8].time_s == 4.0);
    CHECK(file_text(path).rfind("step,loss,lr,time_s\n1,9,0.001,0.5\n", 0) == 0);

    // Without a log to resume, a new one starts.
    std::filesystem::remove(path);
    {
        TrainingLog log = TrainingLog::resume(path, 5);
        CHECK(log.resumed_step() == 0);
        log.write(6, 1.0, 1e-3, 0.1);
    }
    CHECK(read_training_log(path).size() == 1);
    std::filesystem::remove(path);
}
