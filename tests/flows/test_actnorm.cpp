// ActNorm and global_affine: data-dependent initialisation (dsl::initialize) through seq, inverse and
// conditional blocks, the Bijection laws with random parameters, and gradients through both passes.
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/data_init.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/flow.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "support/checks.hpp"
#include "support/numerical_jacobian.hpp"

using namespace bijou;

namespace {
// Features with means 3, -1, 0, 10 and standard deviations 5, 0.1, 1, 40.
Tensor<double> skewed_batch(std::size_t rows, unsigned seed)
{
    Tensor<double> data = testing::normal_batch(rows, 4, seed);
    const double mean[] = {3, -1, 0, 10}, sd[] = {5, 0.1, 1, 40};
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < 4; ++j) data(r, j) = mean[j] + sd[j] * data(r, j);
    return data;
}

void check_standardised(const Tensor<double>& out)
{
    const std::size_t rows = out.shape()[0];
    for (std::size_t j = 0; j < out.shape()[1]; ++j) {
        double mean = 0, variance = 0;
        for (std::size_t r = 0; r < rows; ++r) mean += out(r, j) / double(rows);
        for (std::size_t r = 0; r < rows; ++r) variance += (out(r, j) - mean) * (out(r, j) - mean) / double(rows);
        INFO("feature " << j);
        CHECK(std::abs(mean) < 1e-12);
        CHECK(std::sqrt(variance) == Approx(1.0).epsilon(1e-9));
    }
}

// Round trip, log-det symmetry and log-det = log|det J| on ordinary rows, a row of zeros and rows at
// |x| = 1e3; then gradients of an NLL-like loss through the forward and through the inverse pass.
template <class Block>
void check_block(const Block& block)
{
    const std::size_t dim = block.dim();
    Tensor<double> data = testing::normal_batch(6, dim, 4);
    for (std::size_t j = 0; j < dim; ++j) {
        data(3, j) = 0;
        data(4, j) = 1e3;
        data(5, j) = -1e3;
    }
    {
        Input<double> x(dim, "x");
        auto [y, log_det] = block.forward(x, dsl::NoCondition{});
        auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
        Program program(y, x_back, log_det, log_det_inverse);
        program.bind(6);
        x.set(data);
        program.forward();
        for (std::size_t r = 0; r < 6; ++r) {
            for (std::size_t j = 0; j < dim; ++j)
                CHECK(program.template value<1>()(r, j) == Approx(data(r, j)).epsilon(1e-10).margin(1e-10));
            CHECK(program.template value<3>()(r, 0) == Approx(-program.template value<2>()(r, 0)).epsilon(1e-12));
            CHECK(program.template value<2>()(r, 0) == Approx(testing::numerical_log_det(program, x, r)).margin(1e-6));
        }
    }
    std::mt19937 rng(8);
    std::vector<testing::GradientTarget> targets;
    for (const auto& p : block.parameters()) targets.push_back(testing::target(p));
    {
        Input<double> x(dim, "x", {.requires_grad = true});
        auto [z, log_det] = block.forward(x, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(z), 1) - log_det));
        program.bind(4);
        x.set(testing::uniform(4, dim, -1.5, 1.5, rng));
        auto all = targets;
        all.push_back(testing::target(x));
        CHECK_GRADIENTS(program, all);
    }
    {
        Input<double> z(dim, "z", {.requires_grad = true});
        auto [x, log_det] = block.inverse(z, dsl::NoCondition{});
        Program program(mean(0.5 * sum(square(x), 1) + log_det));
        program.bind(4);
        z.set(testing::uniform(4, dim, -1.5, 1.5, rng));
        auto all = targets;
        all.push_back(testing::target(z));
        CHECK_GRADIENTS(program, all);
    }
}
}  // namespace

TEST_CASE("actnorm: initialize makes the output zero mean and unit variance per feature")
{
    dsl::BuildContext context;
    auto block = flows::actnorm().build<double>(4, context);
    static_assert(dsl::Bijection<decltype(block)>);
    CHECK(block.parameters()[0].name() == "flow.0.actnorm.shift");
    CHECK(block.parameters()[1].name() == "flow.0.actnorm.log_scale");
    const auto batch = skewed_batch(200, 1);
    const Tensor<double> out = dsl::initialize(block, batch);
    check_standardised(out);
    CHECK(block.shift().value()(0, 3) == Approx(10).margin(5));
    CHECK(std::exp(block.log_scale().value()(0, 3)) == Approx(40).epsilon(0.2));

    // the returned output is the block's forward pass with the new parameters
    Input<double> x(4, "x");
    Program program(block.forward(x, dsl::NoCondition{}).value);
    program.bind(200);
    x.set(batch);
    program.forward();
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(program.value().data()[i] == Approx(out.data()[i]));
}

TEST_CASE("actnorm: initialize walks a seq and initialises each block on its predecessor's output")
{
    dsl::BuildContext context;
    auto block =
        dsl::seq(flows::global_affine(), flows::actnorm(), dsl::reverse(), flows::global_affine(), flows::actnorm())
            .build<double>(4, context);
    testing::randomise(block, 3);  // the global affines are then no identities, and the actnorms start off
    check_standardised(dsl::initialize(block, skewed_batch(100, 2)));
}

TEST_CASE("actnorm: initialize walks the blocks of repeat(n - spec) in order and in reverse")
{
    dsl::BuildContext context;
    auto block = dsl::repeat(3, dsl::seq(flows::global_affine(), flows::actnorm())).build<double>(4, context);
    testing::randomise(block, 4);
    check_standardised(dsl::initialize(block, skewed_batch(100, 5)));
    auto inverted = dsl::inverse(dsl::repeat(2, dsl::seq(flows::actnorm(), dsl::reverse()))).build<double>(4, context);
    check_standardised(dsl::initialize(inverted, skewed_batch(100, 6)));
}

TEST_CASE("actnorm: inside inverse(...) the inverse pass is what gets normalised")
{
    dsl::BuildContext context;
    auto block = dsl::inverse(dsl::seq(flows::actnorm(), dsl::reverse(), flows::actnorm())).build<double>(4, context);
    const auto batch = skewed_batch(100, 3);
    const Tensor<double> out = dsl::initialize(block, batch);
    check_standardised(out);
    // and the output really is the inverse pass of the seq
    Input<double> y(4, "y");
    Program program(block.forward(y, dsl::NoCondition{}).value);
    program.bind(100);
    y.set(batch);
    program.forward();
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(program.value().data()[i] == Approx(out.data()[i]));
}

TEST_CASE("actnorm: initialize with a condition reaches the blocks inside conditional(...)")
{
    dsl::BuildContext context;
    auto block = dsl::conditional(dsl::seq(flows::actnorm(), dsl::reverse()), 2).build<double>(4, context);
    const auto batch = skewed_batch(50, 4);
    const Tensor<double> condition = testing::normal_batch(50, 2, 5);
    const Tensor<double> out = dsl::initialize(block, batch, condition);
    check_standardised(out);
    const Tensor<double> shared = testing::normal_batch(1, 2, 6);  // one condition row for the whole batch
    CHECK_NOTHROW(dsl::initialize(block, batch, shared));
    CHECK_THROWS_AS(dsl::initialize(block, batch, testing::normal_batch(3, 2, 6)), shape_error);
}

TEST_CASE("actnorm: initialisation needs a batch of at least two rows of the right width")
{
    dsl::BuildContext context;
    auto block = flows::actnorm().build<double>(4, context);
    CHECK_THROWS_WITH(dsl::initialize(block, testing::normal_batch(1, 4, 1)),
                      Catch::Contains("actnorm") && Catch::Contains("(1 x 4)"));
    CHECK_THROWS_WITH(dsl::initialize(block, testing::normal_batch(5, 3, 1)),
                      Catch::Contains("dsl::initialize") && Catch::Contains("(5 x 3)"));
}

TEST_CASE("actnorm: random parameters obey the bijection laws and gradients check both ways")
{
    dsl::BuildContext context;
    auto block = flows::actnorm().build<double>(5, context);
    testing::randomise(block, 7);
    check_block(block);
}

TEST_CASE("global_affine: the identity at construction and a bijection with random parameters")
{
    dsl::BuildContext context;
    auto block = flows::global_affine().build<double>(5, context);
    CHECK(block.parameter(0).name() == "flow.0.global_affine.log_scale");
    CHECK(block.parameter(1).name() == "flow.0.global_affine.shift");
    {
        Input<double> x(5, "x");
        auto [y, log_det] = block.forward(x, dsl::NoCondition{});
        Program program(y, log_det);
        program.bind(3);
        const auto data = testing::normal_batch(3, 5, 1);
        x.set(data);
        program.forward();
        CHECK((program.value<0>() == data));
        CHECK((program.value<1>() == Tensor<double>(xt::zeros<double>({3, 1}))));
    }
    testing::randomise(block, 9);
    check_block(block);
}

TEST_CASE("actnorm: float round trip after initialisation")
{
    dsl::BuildContext context;
    auto block = flows::actnorm().build<float>(4, context);
    const Tensor<float> batch = xt::cast<float>(skewed_batch(64, 8));
    dsl::initialize(block, batch);
    Input<float> x(4, "x");
    auto [y, log_det] = block.forward(x, dsl::NoCondition{});
    auto [x_back, log_det_inverse] = block.inverse(y, dsl::NoCondition{});
    Program program(x_back, log_det, log_det_inverse);
    program.bind(64);
    x.set(batch);
    program.forward();
    for (std::size_t i = 0; i < batch.size(); ++i)
        CHECK(program.value<0>().data()[i] == Approx(batch.data()[i]).epsilon(1e-4).margin(1e-4));
    for (std::size_t r = 0; r < 64; ++r) CHECK(program.value<2>()(r, 0) == Approx(-program.value<1>()(r, 0)));
}

TEST_CASE("actnorm: Flow::initialize standardises the data at the block's position in the flow")
{
    auto flow = make_flow<double>(3, dsl::seq(flows::realnvp_coupling(dsl::conditioner(hidden(4))), flows::actnorm()), 2);
    for (auto& p : flow.parameters())
        if (p.name().find("coupling") != std::string::npos)
            for (auto& v : p.value()) v = 0.3;
    Tensor<double> data = Tensor<double>::from_shape({500, 3});
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal(2.0, 3.0);
    for (auto& v : data) v = normal(rng);
    flow.initialize(data);
    const Tensor<double> z = flow.forward(data).first;
    for (std::size_t j = 0; j < 3; ++j) {
        double mean = 0, square = 0;
        for (std::size_t i = 0; i < 500; ++i) mean += z(i, j) / 500;
        for (std::size_t i = 0; i < 500; ++i) square += (z(i, j) - mean) * (z(i, j) - mean) / 500;
        CHECK(mean == Approx(0).margin(1e-10));
        CHECK(square == Approx(1).epsilon(1e-8));
    }
}
