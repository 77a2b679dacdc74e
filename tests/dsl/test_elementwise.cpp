#include <bijou/dsl/elementwise.hpp>
#include <catch2/catch.hpp>
#include <cmath>

using namespace bijou;

TEST_CASE("affine transform: inverse and log-det derived from the forward rule")
{
    constexpr auto affine = dsl::elementwise([](auto x, auto s, auto t) { return x * exp(s) + t; });
    Input<double> x(3, "x"), s(3, "s"), t(3, "t");
    auto y = let(affine.forward(x, s, t));
    auto x_back = let(affine.inverse(y, s, t));
    auto log_det = let(affine.log_abs_det(x, s, t));
    Program program(y, x_back, log_det);
    program.bind(2);
    x.set(Tensor<double>{{1, 2, 3}, {-1, 0, 5}});
    s.set(Tensor<double>{{0.5, -1, 2}, {0, 0.1, -3}});
    t.set(Tensor<double>{{1, 1, 1}, {2, -2, 0}});
    program.forward();
    for (std::size_t r = 0; r < 2; ++r)
        for (std::size_t c = 0; c < 3; ++c) {
            CHECK(program.template value<0>()(r, c) == Approx(x.value()(r, c) * std::exp(s.value()(r, c)) + t.value()(r, c)));
            CHECK(program.template value<1>()(r, c) == Approx(x.value()(r, c)));
            CHECK(program.template value<2>()(r, c) == Approx(s.value()(r, c)));
        }
}
