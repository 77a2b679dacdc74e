// Catch2 glue for the property tests: every row of a block-table run must pass, and a failing row
// prints its report (with check_bijection's shrunk reproducer, or the worst gradient element).
#pragma once

#include <catch2/catch.hpp>

#include "tools/table_row.hpp"

namespace bijou::testing {

inline TableOptions property_options(std::uint64_t seed = 11)
{
    TableOptions options;
    options.check.cases = 10;
    options.check.batch = 8;
    options.check.seed = seed;
    return options;
}

// A sink for check_table / check_block_family that holds each row to its laws; counts the rows run.
struct RequireLaws {
    std::size_t* rows_run;
    void operator()(const TableRow& row) const
    {
        if (row.skipped) return;
        ++*rows_run;
        INFO(row.block << " (" << row.type << ", " << row.inputs << ")\n" << row.summary());
        CHECK(row.passed());
    }
};

}  // namespace bijou::testing
