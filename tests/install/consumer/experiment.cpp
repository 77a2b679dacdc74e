// A tiny experiment built with bijou_add_experiment against the installed package: the kit's headers,
// its data directory (the digits, found through the BIJOU_DATA_DIR the kit defines) and its outputs
// (the numbers of its figures as .npy, read back to check them, and a log).
#include <bijou/engine/io/npy.hpp>
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/csv_log.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/extent.hpp>
#include <bijou/examples/common/progress.hpp>
#include <bijou/examples/common/toy_data.hpp>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

int main(int argc, char** argv)
{
    using namespace bijou;
    using namespace bijou::examples;
    Cli cli(argc, argv, "Draw 8gaussians and a few digits; write them as .npy, and a log.");
    const std::filesystem::path out = cli.option<std::string>("out", "experiment-out", "output directory");
    cli.done();
    std::filesystem::create_directories(out);

    std::mt19937_64 rng(1);
    const Tensor<double> points = toy_data::generate("8gaussians", 2000, rng);
    const Extent extent = toy_data::extent("8gaussians");
    const Tensor<float> grid = grid_points<float>(extent, 64, 64);
    save_npy(out / "points.npy", points);
    save_npy(out / "grid.npy", grid);

    const Digits digits = load_digits();
    const auto [train, test] = train_test_split(digits, 1);
    save_npy(out / "digits.npy", test.images);

    TrainingLog log(out / "log.csv");
    Progress progress(3, {.stream = stdout, .style = ProgressStyle::lines, .line_every = 1});
    for (std::size_t step = 1; step <= 3; ++step) {
        log.write(step, 1.0 / double(step), 1e-3, 0.1 * double(step));
        progress.update(step, 1.0 / double(step), 1e-3);
    }
    // What a plotting script would read: the same numbers back, in the same shapes.
    const Tensor<double> points_back = load_npy_matrix<double>(out / "points.npy");
    const Tensor<float> grid_back = load_npy_matrix<float>(out / "grid.npy");
    const Tensor<double> digits_back = load_npy_matrix<double>(out / "digits.npy");
    const bool ok = digits.size() == 1797 && train.size() == 1437 && read_training_log(out / "log.csv").size() == 3 &&
                    points_back == points && grid_back == grid && grid.shape()[0] == 64 * 64 &&
                    digits_back == test.images && digits_back.shape()[1] == 64;
    std::printf("experiment: %zu digits, %zu points: %s\n", digits.size(), std::size_t(points.shape()[0]),
                ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
