// A RealNVP-style flow in float and double: the density integrates the change of variables, sampling
// inverts it, and the two directions agree.
#include <bijou/bijou.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

using namespace bijou;
using namespace bijou::dsl;

namespace {
template <class T>
auto small_flow()
{
    auto flow = make_flow<T>(3, repeat<3>(seq(coupling(halves, conditioner(hidden(16)), flows::affine), permute_random())), 5);
    std::mt19937 rng(11);
    std::normal_distribution<T> normal(0, T(0.3));
    for (auto& p : flow.parameters())
        for (auto& v : p.value()) v = normal(rng);
    return flow;
}
}  // namespace

TEMPLATE_TEST_CASE("flow: log_prob is the base log-density of f(x) plus the log-det and inverse undoes forward", "", float, double)
{
    auto flow = small_flow<TestType>();
    std::mt19937 rng(3);
    std::normal_distribution<TestType> normal(0, 2);
    Tensor<TestType> x = Tensor<TestType>::from_shape({7, 3});
    for (auto& v : x) v = normal(rng);

    auto [z, log_det] = flow.forward(x);
    auto [x_back, log_det_inverse] = flow.inverse(z);
    auto log_p = flow.log_prob(x);
    const double tolerance = std::is_same_v<TestType, float> ? 1e-4 : 1e-10;
    for (std::size_t r = 0; r < 7; ++r) {
        double base = -1.5 * std::log(2 * M_PI);
        for (std::size_t c = 0; c < 3; ++c) {
            base -= 0.5 * double(z(r, c)) * double(z(r, c));
            CHECK(double(x_back(r, c)) == Approx(double(x(r, c))).margin(tolerance * (1 + std::abs(double(x(r, c))))));
        }
        CHECK(double(log_p(r, 0)) == Approx(base + double(log_det(r, 0))).margin(tolerance * 10));
        CHECK(double(log_det_inverse(r, 0)) == Approx(-double(log_det(r, 0))).margin(tolerance * 10));
    }
    const auto samples = flow.sample(100, rng);
    for (auto v : samples) CHECK(std::isfinite(double(v)));
}

TEST_CASE("flow: save then load restores the density exactly and a file for another flow is refused")
{
    auto flow = small_flow<double>();
    const Tensor<double> x = Tensor<double>{{0.5, -1.0, 2.0}, {0.0, 0.0, 0.0}};
    const Tensor<double> before = flow.log_prob(x);
    const std::string path = "test_flow_save_load.ckpt";
    flow.save(path);
    for (auto& p : flow.parameters()) p.value() *= 1.5;
    CHECK(flow.log_prob(x)(0, 0) != before(0, 0));
    flow.load(path);
    const Tensor<double> after = flow.log_prob(x);
    CHECK(after(0, 0) == before(0, 0));
    CHECK(after(1, 0) == before(1, 0));

    auto wider = make_flow<double>(4, repeat<3>(seq(coupling(halves, conditioner(hidden(16)), flows::affine), permute_random())), 5);
    REQUIRE_THROWS_WITH(wider.load(path), Catch::Contains("load_parameters") && Catch::Contains("shape"));
    std::remove(path.c_str());
}

TEST_CASE("flow: an input with no rows or the wrong width is refused, naming Flow and the shape")
{
    auto flow = small_flow<double>();
    const Tensor<double> empty = Tensor<double>::from_shape({0, 3}), wide = Tensor<double>::from_shape({2, 4});
    CHECK_THROWS_WITH(flow.log_prob(empty), Catch::Contains("Flow::log_prob") && Catch::Contains("at least one row") &&
                                                Catch::Contains("(0 x 3)"));
    CHECK_THROWS_WITH(flow.forward(empty), Catch::Contains("Flow::forward") && Catch::Contains("(0 x 3)"));
    CHECK_THROWS_WITH(flow.inverse(empty), Catch::Contains("Flow::inverse") && Catch::Contains("(0 x 3)"));
    CHECK_THROWS_WITH(flow.log_prob(wide), Catch::Contains("Flow::log_prob") && Catch::Contains("3 columns") &&
                                               Catch::Contains("(2 x 4)"));
}

TEST_CASE("flow: sampling at temperature T inverts z ~ N(0, T^2 I), and a temperature that is not positive is refused")
{
    auto flow = small_flow<double>();
    std::mt19937 rng(5), same(5);
    const Tensor<double> samples = flow.sample(40, rng, 0.7);
    std::normal_distribution<double> normal;
    Tensor<double> z = Tensor<double>::from_shape({40, 3});
    for (auto& v : z) v = 0.7 * normal(same);
    const Tensor<double> expected = flow.inverse(z).first;
    for (std::size_t i = 0; i < samples.size(); ++i)
        CHECK(samples.data()[i] == Approx(expected.data()[i]).epsilon(1e-12).margin(1e-12));
    CHECK_THROWS_WITH(flow.sample(4, rng, 0.0), Catch::Contains("flow") && Catch::Contains("temperature") && Catch::Contains("got 0"));
    CHECK_THROWS_AS(flow.sample(4, rng, std::nan("")), usage_error);
}
