// check_flows: check_bijection over every block of the library (the table in block_table.hpp), in
// float and double, with random parameters, on normal and on extreme inputs. Prints one row per
// (block, type, inputs) and exits with 1 if any row fails.
//
//   build/bin/check_flows --cases 50 --seed 3
//
// In double each block also gets a gradient row: the NLL's gradients w.r.t. its parameters, input (and
// condition), and the inverse pass's w.r.t. its parameters and input, against finite differences. The
// splines also get two in float, on normal and on extreme inputs: the NLL's gradients in float against
// the same gradients in double (block_table.hpp, check_entry_float_gradients).
// The blocks are compiled once into bijou_block_checks (tools/block_checks.hpp), shared with the
// property tests.
#include <cstdio>
#include <string>
#include <vector>

#include <bijou/examples/common/cli.hpp>

#include "tools/block_checks.hpp"

using namespace bijou;
using testing::TableRow;

namespace {

// A log-det check that could not judge more than this fraction of its rows did not check the block: it
// fails (--max-unjudged-percent, default 1).
double max_unjudged_fraction = 0.01;
bool too_many_unjudged(const dsl::CheckReport& p)
{
    return p.jacobian_checked && double(p.jacobian_unjudged) > max_unjudged_fraction * double(p.rows);
}
bool row_passed(const TableRow& r) { return r.passed() && (r.is_gradient_row || !too_many_unjudged(r.report)); }
void print_row(const TableRow& r)
{
    if (r.skipped) {
        std::printf("%-48s %-6s %-18s  skipped: %s\n", r.block.c_str(), r.type.c_str(), r.inputs.c_str(),
                    r.skip_reason.c_str());
        return;
    }
    if (r.is_gradient_row) {
        const auto& g = r.gradients;
        std::printf("%-48s %-6s %-18s  NLL %.2e (%s), inverse %.2e (%s)  %s\n", r.block.c_str(), r.type.c_str(),
                    r.inputs.c_str(), g.nll_error, g.nll_where.c_str(), g.inverse_error, g.inverse_where.c_str(),
                    g.passed() ? "PASS" : "FAIL");
        std::fflush(stdout);
        return;
    }
    const auto& p = r.report;
    const char* result = too_many_unjudged(p)     ? "FAIL (J unjudged)"
                         : p.jacobian_checked ? (p.passed ? "PASS" : "FAIL")
                                              : (p.passed ? "PASS (no J)" : "FAIL (no J)");
    std::printf("%-48s %-6s %-18s %6zu %10.2e %10zu %10.2e %10.2e %10zu %10zu  %s\n", r.block.c_str(), r.type.c_str(),
                r.inputs.c_str(), p.cases, p.worst_round_trip, p.round_trip_conditioned + p.symmetry_conditioned, p.worst_log_det,
                p.worst_symmetry, p.non_finite, p.jacobian_unjudged, result);
    std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv)
{
    examples::Cli cli(argc, argv,
                      "Property-test every block of the library with check_bijection: round trip, log-det symmetry, "
                      "log-det against the numerical Jacobian, finite outputs.");
    testing::TableOptions options;
    options.check.cases = cli.option<std::size_t>("cases", 20, "batches per block, type and kind of input");
    options.check.batch = cli.option<std::size_t>("batch", 8, "rows per batch");
    options.check.seed = cli.option<std::uint64_t>("seed", 0, "seed of the parameters, their noise and the inputs");
    options.check.parameter_noise =
        cli.option<double>("noise", 0.1, "standard deviation of the noise added to every parameter");
    options.dim = cli.option<std::size_t>("dim", 5, "features of every block");
    options.gradients = cli.option<int>("gradients", 1, "1: gradient rows (double against finite differences; the splines' float against double), 0: none") != 0;
    max_unjudged_fraction =
        cli.option<double>("max-unjudged-percent", 1,
                           "a log-det check fails when more of its rows than this are not judged") / 100;
    cli.done();

    std::printf("%-48s %-6s %-18s %6s %10s %10s %10s %10s %10s %10s  %s\n", "block", "type", "inputs", "cases",
                "round trip", "cond.", "log-det", "symmetry", "non-finite", "J unjudged", "result");
    std::vector<TableRow> rows;
    auto record = [&](TableRow row) {
        print_row(row);
        rows.push_back(std::move(row));
    };
    for (auto family : testing::block_families) testing::check_block_family<float>(family, options, record);
    for (auto family : testing::block_families) testing::check_block_family<double>(family, options, record);

    std::size_t failed = 0, run = 0, unjudged = 0, judged_rows = 0;
    for (const auto& r : rows) {
        if (r.skipped) continue;
        ++run;
        if (!r.is_gradient_row && r.report.jacobian_checked) {
            unjudged += r.report.jacobian_unjudged;
            judged_rows += r.report.rows;
        }
        if (row_passed(r)) continue;
        ++failed;
        std::printf("\n%s (%s, %s inputs):\n%s", r.block.c_str(), r.type.c_str(), r.inputs.c_str(),
                    r.summary().c_str());
        if (r.passed())
            std::printf("  %zu of %zu rows not judged by the log-det check (more than %g%%)\n",
                        r.report.jacobian_unjudged, r.report.rows, 100 * max_unjudged_fraction);
    }
    std::printf("\nlog-det against the numerical Jacobian: %zu of %zu rows not judged (%.3f%%; a check fails above "
                "%g%% of its rows)",
                unjudged, judged_rows, judged_rows ? 100.0 * double(unjudged) / double(judged_rows) : 0.0,
                100 * max_unjudged_fraction);
    std::printf(
        "\n%zu of %zu checks passed (%zu skipped); errors are relative to max(1, |.|); \"J unjudged\" counts rows "
        "whose numerical Jacobian was too uncertain to judge the log-det; \"cond.\" rows whose round trip or log-det "
        "symmetry missed the tolerance by no more than 16 ulps of rounding in y explain through the inverse (left out "
        "of those columns)\n",
        run - failed, run, rows.size() - run);
    return failed == 0 ? 0 : 1;
}
