// What a run over the block table (block_table.hpp) is asked to do and what each row found. Kept apart
// from the table itself so that the property tests, which only read rows, compile without the blocks.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include <bijou/dsl/check_report.hpp>

namespace bijou::testing {

struct TableOptions {
    dsl::CheckOptions check;  // cases, batch, seed, noise
    std::size_t dim = 5;
    bool gradients = true;   // also check gradients (double only; see GradientCheck)
};

// Gradients of a block, in double, against central finite differences (tests/support/gradcheck.hpp):
// of the negative log-likelihood w.r.t. every parameter, the input (and the condition), and of the inverse pass
// (its output and log-det) w.r.t. every parameter and its input. Errors are relative, floor 1e-3.
struct GradientCheck {
    double nll_error = 0, inverse_error = 0;
    std::string nll_where, inverse_where;  // the element with the worst error
    double tolerance = 1e-6;
    bool passed() const { return nll_error <= tolerance && inverse_error <= tolerance; }
};

// One row: a block, a scalar type and a kind of input, with either a check_bijection report or (inputs
// "gradients") a gradient check.
struct TableRow {
    std::string block, type, inputs;
    bool skipped = false;
    std::string skip_reason{};
    dsl::CheckReport report{};
    bool is_gradient_row = false;
    GradientCheck gradients{};

    bool passed() const { return skipped || (is_gradient_row ? gradients.passed() : report.passed); }
    std::string summary() const
    {
        if (!is_gradient_row) return report.summary();
        return "gradients: NLL worst relative error " + std::to_string(gradients.nll_error) + " at " +
               gradients.nll_where + ", inverse worst " + std::to_string(gradients.inverse_error) + " at " +
               gradients.inverse_where + " (tolerance " + std::to_string(gradients.tolerance) + ")\n";
    }
};

using RowSink = std::function<void(TableRow)>;

}  // namespace bijou::testing
