// Gradient clipping: by value (including infinities and NaN) and by the global norm over several
// parameters, frozen parameters left out, non-finite norms reported without touching the gradients.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/clip.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace bijou;
using Catch::Matchers::Contains;

namespace {
constexpr double infinity = std::numeric_limits<double>::infinity();
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

struct Fixture {
    // |a| = sqrt(1 + 4 + 4) = 3, |b| = 4: the global norm is sqrt(9 + 16) = 5.
    Param<double> a{Shape{1, 3}, "a"};
    Param<double> b{Shape{2, 2}, "b"};
    std::vector<Param<double>> params{a, b};
    Fixture()
    {
        a.grad() = Tensor<double>{{1, 2, 2}};
        b.grad() = Tensor<double>{{0, 4}, {0, 0}};
    }
};
}  // namespace

TEST_CASE("clip_grad_norm scales every gradient by max_norm / norm when the global norm exceeds it")
{
    Fixture f;
    CHECK(clip_grad_norm(f.params, 1.0) == Approx(5.0));
    // scale = 1 / 5
    CHECK(f.a.grad()(0, 0) == Approx(0.2));
    CHECK(f.a.grad()(0, 1) == Approx(0.4));
    CHECK(f.a.grad()(0, 2) == Approx(0.4));
    CHECK(f.b.grad()(0, 1) == Approx(0.8));
    CHECK(f.b.grad()(1, 1) == 0.0);
    CHECK(clip_grad_norm(f.params, 1.0) == Approx(1.0));  // the clipped norm is max_norm
}

TEST_CASE("clip_grad_norm leaves gradients within the bound unchanged and returns their norm")
{
    Fixture f;
    CHECK(clip_grad_norm(f.params, 10.0) == Approx(5.0));
    CHECK(f.a.grad()(0, 1) == 2.0);
    CHECK(f.b.grad()(0, 1) == 4.0);
    CHECK(clip_grad_norm(f.params, 5.0) == Approx(5.0));
    CHECK(f.b.grad()(0, 1) == 4.0);
}

TEST_CASE("clip_grad_norm ignores frozen parameters")
{
    Fixture f;
    Param<double> frozen(Shape{1, 1}, "frozen");
    frozen.grad()(0, 0) = 100;
    frozen.set_trainable(false);
    f.params.push_back(frozen);
    CHECK(clip_grad_norm(f.params, 2.5) == Approx(5.0));
    CHECK(f.a.grad()(0, 1) == Approx(1.0));  // 2 * 2.5 / 5
    CHECK(frozen.grad()(0, 0) == 100.0);
}

TEST_CASE("clip_grad_norm returns a non-finite norm and leaves the gradients unchanged")
{
    Fixture f;
    f.a.grad()(0, 2) = not_a_number;
    CHECK(std::isnan(clip_grad_norm(f.params, 1.0)));
    CHECK(f.a.grad()(0, 1) == 2.0);
    CHECK(f.b.grad()(0, 1) == 4.0);

    f.a.grad()(0, 2) = -infinity;
    CHECK(clip_grad_norm(f.params, 1.0) == infinity);
    CHECK(f.a.grad()(0, 1) == 2.0);
    CHECK(f.b.grad()(0, 1) == 4.0);
}

TEST_CASE("clip_grad_norm over parameters wider than a SIMD batch matches a reference in float too")
{
    Param<double> a(Shape{5, 7}, "a");
    Param<double> b(Shape{1, 19}, "b");
    Param<float> fa(Shape{5, 7}, "a");
    Param<float> fb(Shape{1, 19}, "b");
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        a.grad().data()[i] = std::sin(double(i));
        fa.grad().data()[i] = float(std::sin(double(i)));
        sum += std::sin(double(i)) * std::sin(double(i));
    }
    for (std::size_t i = 0; i < b.size(); ++i) {
        b.grad().data()[i] = 0.5 * double(i);
        fb.grad().data()[i] = 0.5f * float(i);
        sum += 0.25 * double(i) * double(i);
    }
    const double norm = std::sqrt(sum);
    CHECK(clip_grad_norm(std::vector{a, b}, 2.0) == Approx(norm).epsilon(1e-14));
    CHECK(clip_grad_norm(std::vector{fa, fb}, 2.0) == Approx(norm).epsilon(1e-6));
    CHECK(b.grad()(0, 18) == Approx(9.0 * 2.0 / norm).epsilon(1e-14));
    CHECK(a.grad()(4, 6) == Approx(std::sin(34.0) * 2.0 / norm).epsilon(1e-14));
    CHECK(fb.grad()(0, 18) == Approx(9.0 * 2.0 / norm).epsilon(1e-6));
    CHECK(clip_grad_norm(std::vector{a, b}, 2.0) == Approx(2.0).epsilon(1e-14));
}

TEST_CASE("clip_grad_value clamps each element to (-limit limit) NaN passing through")
{
    // 2 x 12 elements repeating the pattern, so both the SIMD batches and the scalar tail see each case.
    const double pattern[] = {-3, 0.5, 2, infinity, -infinity, not_a_number, -0.25, 1};
    const double clipped[] = {-1, 0.5, 1, 1, -1, not_a_number, -0.25, 1};
    Param<double> a(Shape{2, 12}, "a");
    Param<double> b(Shape{1, 3}, "b");
    for (std::size_t i = 0; i < a.size(); ++i) a.grad().data()[i] = pattern[i % 8];
    b.grad() = Tensor<double>{{5, -5, 0}};
    clip_grad_value(std::vector{a, b}, 1.0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("element " << i);
        if (std::isnan(clipped[i % 8]))
            CHECK(std::isnan(a.grad().data()[i]));
        else
            CHECK(a.grad().data()[i] == clipped[i % 8]);
    }
    CHECK(b.grad()(0, 0) == 1.0);
    CHECK(b.grad()(0, 1) == -1.0);
    CHECK(b.grad()(0, 2) == 0.0);
}

TEST_CASE("clip_grad_value ignores frozen parameters and works in float")
{
    Param<float> live(Shape{1, 3}, "live");
    Param<float> frozen(Shape{1, 1}, "frozen");
    live.grad() = Tensor<float>{{-2.0f, 0.1f, 0.7f}};
    frozen.grad()(0, 0) = 9.0f;
    frozen.set_trainable(false);
    clip_grad_value(std::vector{live, frozen}, 0.5);
    CHECK(live.grad()(0, 0) == -0.5f);
    CHECK(live.grad()(0, 1) == 0.1f);
    CHECK(live.grad()(0, 2) == 0.5f);
    CHECK(frozen.grad()(0, 0) == 9.0f);
}

TEST_CASE("clipping rejects a bound that is not positive")
{
    Fixture f;
    CHECK_THROWS_WITH(clip_grad_norm(f.params, 0.0), Contains("bijou: clip_grad_norm: max_norm must be > 0, got 0"));
    CHECK_THROWS_WITH(clip_grad_norm(f.params, not_a_number), Contains("clip_grad_norm: max_norm"));
    CHECK_THROWS_WITH(clip_grad_value(f.params, -1.0), Contains("bijou: clip_grad_value: limit must be > 0, got -1"));
    CHECK_THROWS_AS(clip_grad_value(f.params, 0.0), usage_error);
}
