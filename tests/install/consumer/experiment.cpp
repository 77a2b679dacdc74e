// A tiny experiment built with bijou_add_experiment against the installed package: the kit's headers,
// its data directory (the digits, found through the BIJOU_DATA_DIR the kit defines) and its outputs.
#include <bijou/examples/common/cli.hpp>
#include <bijou/examples/common/csv_log.hpp>
#include <bijou/examples/common/digits_data.hpp>
#include <bijou/examples/common/plot.hpp>
#include <bijou/examples/common/png.hpp>
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
    Cli cli(argc, argv, "Draw 8gaussians and a few digits; write a figure and a log.");
    const std::filesystem::path out = cli.option<std::string>("out", "experiment-out", "output directory");
    cli.done();
    std::filesystem::create_directories(out);

    std::mt19937_64 rng(1);
    const Tensor<double> points = toy_data::generate("8gaussians", 2000, rng);
    const Extent extent = toy_data::extent("8gaussians");
    write_png(out / "points.png", side_by_side({framed(histogram_2d(points, extent, 64, 64), "data", extent),
                                                framed(scatter_plot(points, extent, 64, 64), "points", extent)}));

    const Digits digits = load_digits();
    const auto [train, test] = train_test_split(digits, 1);
    write_png(out / "digits.png", image_grid(test.images, 20));

    TrainingLog log(out / "log.csv");
    Progress progress(3, {.stream = stdout, .style = ProgressStyle::lines, .line_every = 1});
    for (std::size_t step = 1; step <= 3; ++step) {
        log.write(step, 1.0 / double(step), 1e-3, 0.1 * double(step));
        progress.update(step, 1.0 / double(step), 1e-3);
    }
    const bool ok = digits.size() == 1797 && train.size() == 1437 && read_training_log(out / "log.csv").size() == 3 &&
                    std::filesystem::file_size(out / "points.png") > 0;
    std::printf("experiment: %zu digits, %zu points: %s\n", digits.size(), std::size_t(points.shape()[0]),
                ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
