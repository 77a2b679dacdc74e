// FFJORD's 2-D data sets: shapes, determinism per seed, and for each a statistic that identifies it
// (derived in the comments from the generator's definition in toy_data.hpp).
#include <bijou/examples/common/toy_data.hpp>

#include <array>
#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <string>

#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::examples;

namespace {

constexpr std::size_t n = 20000;

Tensor<double> draw(std::string_view name, std::uint64_t seed = 7, std::size_t count = n)
{
    std::mt19937_64 rng(seed);
    return toy_data::generate(name, count, rng);
}

double radius(const Tensor<double>& x, std::size_t i) { return std::hypot(x(i, 0), x(i, 1)); }
double angle(const Tensor<double>& x, std::size_t i) { return std::atan2(x(i, 1), x(i, 0)); }

// |mean of exp(i k phase_j)|: 1 when k * phase is the same angle for every point, about 1/sqrt(n) for
// phases spread evenly.
template <class Phase>
double concentration(std::size_t count, double k, Phase phase)
{
    std::complex<double> sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += std::polar(1.0, k * phase(i));
    return std::abs(sum) / double(count);
}

// The fraction of points with floor(x / 2) + floor(y / 2) even: the checkerboard's black squares.
double checkerboard_fraction(const Tensor<double>& x)
{
    std::size_t on_black = 0;
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        const auto cell = std::int64_t(std::floor(x(i, 0) / 2) + std::floor(x(i, 1) / 2));
        on_black += (cell % 2 == 0);
    }
    return double(on_black) / double(x.shape()[0]);
}

}  // namespace

TEST_CASE("every data set gives n x 2 finite points that a seed reproduces")
{
    for (const std::string_view name : toy_data::names) {
        INFO(name);
        for (const std::size_t count : {std::size_t(1), std::size_t(7), std::size_t(1001)}) {
            const Tensor<double> x = draw(name, 3, count);
            CHECK(x.shape()[0] == count);
            CHECK(x.shape()[1] == 2);
            for (const double v : x) CHECK(std::isfinite(v));
        }
        const bool same_seed_same_data = draw(name, 11, 500) == draw(name, 11, 500);
        const bool other_seed_other_data = draw(name, 11, 500) != draw(name, 12, 500);
        CHECK(same_seed_same_data);
        CHECK(other_seed_other_data);
        CHECK(toy_data::extent(name).x_min == -4);
        CHECK(toy_data::extent(name).y_max == 4);
    }
}

TEST_CASE("an unknown name is an error that lists the data sets")
{
    std::mt19937_64 rng(1);
    CHECK_THROWS_WITH(toy_data::generate("spirals", 10, rng),
                      Catch::Contains("unknown data set 'spirals'") && Catch::Contains("8gaussians, checkerboard"));
    CHECK_THROWS_AS(toy_data::extent("nope"), usage_error);
    CHECK_THROWS_AS(toy_data::generate("moons", 0, rng), usage_error);
}

TEST_CASE("8gaussians: eight equal clusters at radius 4 / 1.414 with standard deviation 0.5 / 1.414")
{
    const Tensor<double> x = draw("8gaussians");
    std::array<std::size_t, 8> count{};
    double squared_residual = 0;
    for (std::size_t i = 0; i < n; ++i) {
        // The nearest centre is the one whose angle is nearest.
        const auto k = std::size_t(std::lround(angle(x, i) / (std::numbers::pi / 4)) + 8) % 8;
        ++count[k];
        const double a = double(k) * std::numbers::pi / 4, c = 4 / 1.414;
        squared_residual += std::pow(x(i, 0) - c * std::cos(a), 2) + std::pow(x(i, 1) - c * std::sin(a), 2);
    }
    for (const std::size_t c : count) CHECK(double(c) / n == Approx(0.125).margin(0.012));
    CHECK(std::sqrt(squared_residual / (2 * n)) == Approx(0.5 / 1.414).epsilon(0.03));
    CHECK(checkerboard_fraction(x) < 0.7);
}

TEST_CASE("checkerboard: uniform on the 8 black squares of the square of side 8")
{
    const Tensor<double> x = draw("checkerboard");
    CHECK(checkerboard_fraction(x) == 1.0);
    std::array<std::size_t, 16> count{};
    for (std::size_t i = 0; i < n; ++i) {
        REQUIRE(std::abs(x(i, 0)) <= 4);
        REQUIRE(std::abs(x(i, 1)) <= 4);
        ++count[std::size_t(std::floor(x(i, 0) / 2) + 2) * 4 + std::size_t(std::floor(x(i, 1) / 2) + 2)];
    }
    for (std::size_t cell = 0; cell < 16; ++cell) {
        const bool black = ((cell / 4) + (cell % 4)) % 2 == 0;
        CHECK(double(count[cell]) / n == Approx(black ? 0.125 : 0.0).margin(0.012));
    }
}

TEST_CASE("moons: two half circles with noise 0.1 mapped by 2 p + (-1 -0.2)")
{
    const Tensor<double> x = draw("moons");
    double mean_x = 0, mean_y = 0, squared_distance = 0;
    for (std::size_t i = 0; i < n; ++i) {
        mean_x += x(i, 0) / n;
        mean_y += x(i, 1) / n;
        // Back to make_moons' coordinates, then the distance to the nearer of the two arcs.
        const double px = (x(i, 0) + 1) / 2, py = (x(i, 1) + 0.2) / 2;
        const double upper =
            py >= 0 ? std::abs(std::hypot(px, py) - 1) : std::min(std::hypot(px - 1, py), std::hypot(px + 1, py));
        const double qx = px - 1, qy = py - 0.5;
        const double lower =
            qy <= 0 ? std::abs(std::hypot(qx, qy) - 1) : std::min(std::hypot(qx - 1, qy), std::hypot(qx + 1, qy));
        squared_distance += std::pow(std::min(upper, lower), 2);
    }
    // Noise-free means: x (0 + 1) / 2 = 0.5, y (2/pi + 1/2 - 2/pi) / 2 = 0.25; mapped: (0, 0.3).
    CHECK(mean_x == Approx(0.0).margin(0.01));
    CHECK(mean_y == Approx(0.3).margin(0.01));
    // The noise component across the arc has standard deviation 0.1 (a little less where arcs are near).
    CHECK(std::sqrt(squared_distance / n) == Approx(0.1).epsilon(0.1));
}

TEST_CASE("circles: half the points near radius 3 and half near 1.5 with noise 0.24")
{
    const Tensor<double> x = draw("circles");
    std::size_t outer = 0;
    double squared_residual = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double r = radius(x, i);
        outer += r > 2.25;
        squared_residual += std::pow(r > 2.25 ? r - 3 : r - 1.5, 2);
    }
    CHECK(double(outer) / n == Approx(0.5).margin(0.005));
    CHECK(std::sqrt(squared_residual / n) == Approx(0.24).epsilon(0.05));
}

TEST_CASE("rings: a quarter of the points near each of radius 3 and 2.25 and 1.5 and 0.75 with noise 0.08")
{
    const Tensor<double> x = draw("rings");
    std::array<std::size_t, 4> count{};
    double squared_residual = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double r = radius(x, i);
        const auto ring = std::size_t(std::clamp(std::lround(r / 0.75) - 1, 0L, 3L));
        ++count[ring];
        squared_residual += std::pow(r - 0.75 * double(ring + 1), 2);
    }
    for (const std::size_t c : count) CHECK(double(c) / n == Approx(0.25).margin(0.002));
    CHECK(std::sqrt(squared_residual / n) == Approx(0.08).epsilon(0.05));
}

TEST_CASE("pinwheel: five arms whose angle winds by 0.25 exp(radius / 2)")
{
    const Tensor<double> x = draw("pinwheel");
    // A point is f = (f1, f2) rotated by -a, a = 2 pi k / 5 + 0.25 exp(f1), then doubled. With rho = |x| / 2
    // close to f1, phi + 0.25 exp(rho) is close to -2 pi k / 5 + atan(f2 / f1), so 5 times it is nearly a
    // multiple of 2 pi: concentration about exp(-25 Var(f2 / f1) / 2) = exp(-0.125) = 0.88.
    const double c =
        concentration(n, 5, [&](std::size_t i) { return angle(x, i) + 0.25 * std::exp(radius(x, i) / 2); });
    CHECK(c > 0.8);
    CHECK(c < 0.95);
    // The wrong winding direction scatters the phases.
    CHECK(concentration(n, 5, [&](std::size_t i) { return angle(x, i) - 0.25 * std::exp(radius(x, i) / 2); }) < 0.3);
    double mean_rho = 0;
    for (std::size_t i = 0; i < n; ++i) mean_rho += radius(x, i) / 2 / n;
    CHECK(mean_rho == Approx(1.0).margin(0.02));
}

TEST_CASE("2spirals: two arms each the other negated winding as angle = pi - 3 |x| and -3 |x|")
{
    const Tensor<double> x = draw("2spirals");
    double mean_x = 0, mean_y = 0;
    for (std::size_t i = 0; i < n; ++i) {
        mean_x += x(i, 0) / n;
        mean_y += x(i, 1) / n;
    }
    // The arms are negatives of each other before the noise: the mean is the noise's, 0.1 / sqrt(n).
    CHECK(mean_x == Approx(0.0).margin(0.005));
    CHECK(mean_y == Approx(0.0).margin(0.005));
    // Arm 1 at parameter t: angle pi - t, radius about t / 3; arm 2: angle -t. So 2 (phi + 3 r) is nearly a
    // multiple of 2 pi on both arms (checked away from the centre, where the offsets u / 2 dominate).
    std::vector<std::size_t> outer;
    for (std::size_t i = 0; i < n; ++i)
        if (radius(x, i) > 1.5) outer.push_back(i);
    const double c =
        concentration(outer.size(), 2, [&](std::size_t j) { return angle(x, outer[j]) + 3 * radius(x, outer[j]); });
    CHECK(c > 0.6);
    CHECK(concentration(outer.size(), 2, [&](std::size_t j) { return angle(x, outer[j]) - 3 * radius(x, outer[j]); }) <
          0.3);
}

TEST_CASE("swissroll: a spiral with angle = 5 |x| and noise 0.2")
{
    const Tensor<double> x = draw("swissroll");
    // Before the division by 5 a point is (t cos t, t sin t) + noise with t in [1.5 pi, 4.5 pi]: its angle
    // is t and its radius t, up to the noise.
    double mean_radius = 0;
    for (std::size_t i = 0; i < n; ++i) mean_radius += radius(x, i) / n;
    CHECK(mean_radius == Approx(3 * std::numbers::pi / 5).epsilon(0.02));
    const double c = concentration(n, 1, [&](std::size_t i) { return angle(x, i) - 5 * radius(x, i); });
    CHECK(c > 0.5);
    CHECK(concentration(n, 1, [&](std::size_t i) { return angle(x, i) + 5 * radius(x, i); }) < 0.3);
}
