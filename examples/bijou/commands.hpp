// The `bijou` command's subcommands, each a main() of its own over the arguments after its name.
//
//   bijou fit       --data X.npy|X.csv [--condition C] --flow realnvp|glow|spline|all_in_one --out DIR ...
//   bijou log-prob  --model DIR --data X [--condition C] --out lp.npy
//   bijou sample    --model DIR -n N [--condition C] [--temperature T] [--seed S] --out S.npy
//   bijou check     --model DIR
//
// Exit status: 0 success, 1 a runtime failure (a corrupt file, a failed check, a disk error), 2 a usage
// error (a bad option, data of the wrong width or with NaN, a directory that is not a model's).
#pragma once

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <filesystem>
#include <string>
#include <string_view>

#include <bijou/engine/error.hpp>
#include <bijou/engine/parallel/process_group.hpp>
#include <bijou/engine/tensor.hpp>
#include <bijou/examples/bijou/model.hpp>
#include <bijou/examples/common/matrix_file.hpp>

namespace bijou::cli {

using examples::load_matrix;
using examples::save_matrix;

int fit_command(int argc, char** argv);
int log_prob_command(int argc, char** argv);
int sample_command(int argc, char** argv);
int check_command(int argc, char** argv);

// Runs a subcommand's body, turning Bijou's errors into one line on stderr, "bijou COMMAND: where: what",
// and the exit status.
template <class Body>
int run_reporting_errors(const char* command, Body&& body)
{
    auto report = [&](const std::exception& e, int status) {
        std::string_view what = e.what();
        if (what.starts_with("bijou: ")) what.remove_prefix(7);  // the library's own prefix, said once
        // Under mpirun the other processes may be waiting for this one in a collective: end them all.
        if (world().parallel()) world().abort(status, std::string("bijou ") + command + ": " + std::string(what));
        std::fprintf(stderr, "bijou %s: %.*s\n", command, int(what.size()), what.data());
        return status;
    };
    try {
        return body();
    } catch (const std::logic_error& e) {  // usage_error, and shape_error and value_error (invalid_argument)
        return report(e, 2);
    } catch (const std::exception& e) {
        return report(e, 1);
    }
}

// Conditions for n rows: n rows, or one row for all of them (Flow repeats it), of the model's width.
inline void require_conditions(std::size_t n, const Tensor<double>& c, const ModelSpec& spec, std::string_view what)
{
    if (c.shape()[1] != spec.condition_features)
        throw_shape_error(what, "the model was trained with conditions of ", spec.condition_features,
                          " column(s), the file has ", c.shape()[1]);
    if (c.shape()[0] != n && c.shape()[0] != 1)
        throw_shape_error(what, "has ", c.shape()[0], " rows; give one row (used for all ", n, ") or one per row (", n, ")");
}

// Data of the model's width.
inline void require_width(const Tensor<double>& x, const ModelSpec& spec, std::string_view what)
{
    if (x.shape()[1] != spec.features)
        throw_shape_error(what, "the model was trained on ", spec.features, " column(s), the file has ", x.shape()[1]);
}

}  // namespace bijou::cli
