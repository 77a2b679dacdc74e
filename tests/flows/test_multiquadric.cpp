// inverse_multiquadric(d, terms): k(d) = sum_t C^a ((C + d) / a)^(-a). Values against the formula for
// exponents 1 and 2 (the division paths) and 0.1, 0.5 (the exp/log path), in float and double;
// gradients against finite differences; the checks on the terms.
#include <bijou/engine/engine.hpp>
#include <bijou/flows/multiquadric.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "support/checks.hpp"

using namespace bijou;

namespace {
double reference_kernel(double d, const std::vector<MultiquadricTerm>& terms)
{
    double k = 0;
    for (const auto& t : terms) k += std::pow(t.scale, t.exponent) * std::pow((t.scale + d) / t.exponent, -t.exponent);
    return k;
}
}  // namespace

TEST_CASE("inverse_multiquadric values and gradients")
{
    const std::vector<MultiquadricTerm> terms = {{0.2, 1}, {1.5, 2}, {0.2, 0.1}, {3.0, 0.5}};
    std::mt19937 rng(10);
    // Widths 1 and 19 exercise the scalar and the SIMD paths.
    for (std::size_t width : {1, 19}) {
        Input<double> d(width, "d", {.requires_grad = true});
        Program program(inverse_multiquadric(d, terms));
        program.bind(3);
        const Tensor<double> data = testing::uniform(3, width, 0, 4, rng);
        d.set(data);
        program.forward();
        for (std::size_t i = 0; i < data.size(); ++i)
            CHECK(program.value().data()[i] == Approx(reference_kernel(data.data()[i], terms)).epsilon(1e-13));
        CHECK_GRADIENTS(program, {testing::target(d)});

        Input<float> df(width, "d");
        Program programf(inverse_multiquadric(df, terms));
        programf.bind(3);
        df.set(xt::cast<float>(data));
        programf.forward();
        CHECK(xt::allclose(xt::cast<double>(programf.value()), program.value(), 1e-5, 0));
    }
}

TEST_CASE("inverse_multiquadric with a = 1 is 1 / (1 + d / h^2)")
{
    Input<double> d(1, "d");
    Program program(inverse_multiquadric(d, std::vector<MultiquadricTerm>{{0.25, 1}}));
    program.bind(2);
    d.set(Tensor<double>{{0.0}, {1.0}});
    program.forward();
    CHECK(program.value()(0, 0) == Approx(1.0));
    CHECK(program.value()(1, 0) == Approx(1 / (1 + 1 / 0.25)));
}

TEST_CASE("inverse_multiquadric rejects bad terms")
{
    Input<double> d(1, "d");
    CHECK_THROWS_AS(inverse_multiquadric(d, std::vector<MultiquadricTerm>{}), usage_error);
    CHECK_THROWS_WITH(inverse_multiquadric(d, std::vector<MultiquadricTerm>{{0.0, 1}}),
                      Catch::Contains("inverse_multiquadric") && Catch::Contains("C > 0"));
    CHECK_THROWS_AS(inverse_multiquadric(d, std::vector<MultiquadricTerm>{{1.0, -1}}), usage_error);
    CHECK_THROWS_AS(inverse_multiquadric(d, std::vector<MultiquadricTerm>(9, {1.0, 1.0})), usage_error);
}
