// MLP: the output against a hand computation, gradients against finite differences for every
// activation, initialisation (seeded, zero last layer), parameter sharing between calls (as a coupling
// conditioner is shared by the forward and the inverse program), and shape errors.
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "support/checks.hpp"
#include "support/gradcheck.hpp"

using namespace bijou;

namespace {


// Nonzero biases, so that their gradients and the broadcast are exercised.
template <class Net>
void randomise_biases(const Net& net, unsigned seed)
{
    for (const auto& layer : net.layers()) layer.bias.value() = 0.3 * testing::normal_batch(1, layer.out_features(), seed++);
}

bool same(const Tensor<double>& a, const Tensor<double>& b) { return a == b; }

#define CHECK_SHAPE_ERROR(expr, matcher) \
    CHECK_THROWS_AS(expr, shape_error);  \
    CHECK_THROWS_WITH(expr, matcher)

}  // namespace

TEST_CASE("an MLP's output matches a hand computation")
{
    // 2 -> 3 (tanh) -> 1
    auto net = mlp<double>(2, hidden(3), 1, activation::tanh{});
    static_assert(decltype(net)::hidden_layers == 1);
    const auto& [first, last] = net.layers();
    first.weight.value() = Tensor<double>{{0.5, -1.0, 0.25}, {2.0, 0.1, -0.3}};
    first.bias.value() = Tensor<double>{{0.1, 0.0, -0.2}};
    last.weight.value() = Tensor<double>{{1.0}, {-2.0}, {0.5}};
    last.bias.value() = Tensor<double>{{0.3}};

    Input<double> x(2, "x");
    Program program(net(x));
    program.bind(3);
    const Tensor<double> data{{1.0, 2.0}, {-0.5, 0.0}, {0.2, -1.0}};
    x.set(data);
    program.forward();

    for (std::size_t r = 0; r < 3; ++r) {
        double y = 0.3;
        for (std::size_t j = 0; j < 3; ++j) {
            const double h = std::tanh(data(r, 0) * first.weight.value()(0, j) +
                                       data(r, 1) * first.weight.value()(1, j) + first.bias.value()(0, j));
            y += h * last.weight.value()(j, 0);
        }
        CHECK(program.value()(r, 0) == Approx(y).epsilon(1e-14));
    }
    CHECK(net.in_features() == 2);
    CHECK(net.out_features() == 1);

    // The activation may also travel in the options (deduced: MLPOptions<activation::tanh>).
    auto same_net = mlp<double>(2, hidden(3), 1, MLPOptions{.activation = activation::tanh{}, .seed = 5});
    static_assert(std::is_same_v<decltype(same_net), MLP<double, 1, activation::tanh>>);
    auto leaky = mlp<double>(2, hidden(3), 1, MLPOptions{.activation = activation::leaky_relu{.slope = 0.2}});
    CHECK(leaky.activation().slope == 0.2);
}

TEMPLATE_TEST_CASE("an MLP's gradients match finite differences", "", activation::relu, activation::leaky_relu,
                   activation::tanh, activation::elu, activation::softplus)
{
    auto net = mlp<double>(3, hidden(5, 4), 2, TestType{}, {.seed = 17});
    randomise_biases(net, 5);
    Input<double> x(3, "x", {.requires_grad = true});
    Program program(net(x), mean(square(net(x))));
    program.bind(6);
    x.set(testing::normal_batch(6, 3, 3));

    std::vector<testing::GradientTarget> targets{testing::target(x)};
    for (const auto& p : net.parameters()) targets.push_back(testing::target(p));
    const auto report = testing::check_gradients(program, targets);
    INFO(report.worst_where << ": analytic " << report.analytic << ", numeric " << report.numeric);
    CHECK(report.worst_error <= 1e-6);
}

TEST_CASE("an MLP with no hidden layer is one Linear layer")
{
    auto net = mlp<double>(4, hidden(), 3, {.seed = 2});
    static_assert(decltype(net)::hidden_layers == 0);
    Linear<double> layer(4, 3, {.seed = 2, .name = "mlp.0"});
    CHECK(same(net.layers()[0].weight.value(), layer.weight.value()));
    CHECK(net.parameters().size() == 2);
}

TEST_CASE("MLP parameters: names order seeding")
{
    auto net = mlp<double>(3, hidden(8, 8, 8), 2, {.seed = 1, .name = "conditioner"});
    const auto params = net.parameters();
    REQUIRE(params.size() == 8);
    CHECK(params[0].name() == "conditioner.0.weight");
    CHECK(params[1].name() == "conditioner.0.bias");
    CHECK(params[7].name() == "conditioner.3.bias");
    CHECK(params[2].value().shape()[0] == 8);

    // The same seed gives the same network; layer i draws after layer i - 1, from one generator.
    auto again = mlp<double>(3, hidden(8, 8, 8), 2, {.seed = 1});
    auto other = mlp<double>(3, hidden(8, 8, 8), 2, {.seed = 2});
    CHECK(same(again.parameters()[4].value(), params[4].value()));
    CHECK_FALSE(same(other.parameters()[4].value(), params[4].value()));
    std::mt19937_64 rng(1);
    Linear<double> layer0(3, 8, rng), layer1(8, 8, rng);
    CHECK(same(layer1.weight.value(), params[2].value()));

    // A caller's generator is advanced, so two networks drawn from it differ.
    std::mt19937_64 shared(7);
    auto a = mlp<double>(3, hidden(8), 2, {.rng = &shared});
    auto b = mlp<double>(3, hidden(8), 2, {.rng = &shared});
    CHECK_FALSE(same(a.parameters()[0].value(), b.parameters()[0].value()));

    // Xavier for a tanh network: every weight within its layer's bound.
    auto xavier = mlp<double>(16, hidden(32), 4, activation::tanh{}, {.init = Init::xavier_uniform()});
    CHECK(xt::amax(xt::abs(xavier.layers()[0].weight.value()))() <= init::xavier_bound(16, 32));
    CHECK(xt::amax(xt::abs(xavier.layers()[1].weight.value()))() <= init::xavier_bound(32, 4));
}

TEST_CASE("zero_last makes the initial output exactly zero and the network still learns")
{
    auto net = mlp<double>(3, hidden(16, 16), 4, {.zero_last = true, .seed = 3});
    CHECK(xt::all(xt::equal(net.layers()[2].weight.value(), 0.0)));
    CHECK(xt::all(xt::equal(net.layers()[2].bias.value(), 0.0)));
    CHECK(xt::amax(xt::abs(net.layers()[0].weight.value()))() > 0);  // only the last layer is zero

    Input<double> x(3, "x");
    Program program(mean(square(net(x) - 1.0)), let(net(x)));
    program.bind(8);
    x.set(testing::normal_batch(8, 3, 1));
    program.forward();
    CHECK(xt::all(xt::equal(program.value<1>(), 0.0)));
    CHECK(program.value()(0, 0) == Approx(1.0));

    // The last layer's weight gets a gradient from the hidden activations, so training moves it.
    program.backward();
    CHECK(xt::amax(xt::abs(net.layers()[2].weight.grad()))() > 0);
    CHECK(xt::all(xt::equal(net.layers()[0].weight.grad(), 0.0)));  // blocked by the zero weight, this step
}

TEST_CASE("an MLP called by two programs shares its parameters and their gradients add")
{
    // A coupling conditioner: read by the forward program on x and by the inverse program on z.
    auto net = mlp<double>(2, hidden(8, 8), 3, activation::elu{}, {.seed = 4});
    randomise_biases(net, 1);
    Input<double> x(2, "x"), z(2, "z");
    Program forward(mean(square(net(x))));
    Program inverse(sum(tanh(net(z))));
    Program both(mean(square(net(x))) + sum(tanh(net(z))));
    both.bind(5);  // sizes x and z, so both can be fed whichever program runs
    const auto data_x = testing::normal_batch(5, 2, 1), data_z = testing::normal_batch(5, 2, 2);

    auto gradients = [&] {
        std::vector<Tensor<double>> g;
        for (const auto& p : net.parameters()) g.push_back(p.grad());
        return g;
    };
    auto run = [&](auto&... programs) {
        for (const auto& p : net.parameters()) p.zero_grad();
        ((programs.bind(5), x.set(data_x), z.set(data_z), programs.forward(), programs.backward()), ...);
        return gradients();
    };
    const auto from_forward = run(forward);
    const auto from_inverse = run(inverse);
    const auto from_both_programs = run(forward, inverse);
    const auto from_one_program = run(both);

    REQUIRE(from_forward.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) {
        INFO("parameter " << net.parameters()[i].name());
        CHECK(xt::amax(xt::abs(from_forward[i]))() > 0);
        CHECK(xt::amax(xt::abs(from_inverse[i]))() > 0);
        CHECK(xt::allclose(from_both_programs[i], from_forward[i] + from_inverse[i], 1e-12, 1e-14));
        CHECK(xt::allclose(from_one_program[i], from_forward[i] + from_inverse[i], 1e-12, 1e-14));
    }
    CHECK(both.parameters().size() == 6);

    // Twice on one input inside one program: the gradient doubles.
    Program twice(mean(square(net(x))) + mean(square(net(x))));
    const auto from_twice = run(twice);
    for (std::size_t i = 0; i < 6; ++i) CHECK(xt::allclose(from_twice[i], 2.0 * from_forward[i], 1e-12, 1e-14));
}

TEST_CASE("a float MLP agrees with the double one")
{
    auto single = mlp<float>(4, hidden(32, 32), 3, activation::softplus{}, {.seed = 9});
    auto twice = mlp<double>(4, hidden(32, 32), 3, activation::softplus{}, {.seed = 9});
    Input<float> xf(4);
    Input<double> xd(4);
    Program pf(let(single(xf)));
    Program pd(let(twice(xd)));
    pf.bind(16);
    pd.bind(16);
    const auto data = testing::normal_batch(16, 4, 1);
    xd.set(data);
    xf.set(Tensor<float>(xt::cast<float>(data)));
    pf.forward();
    pd.forward();
    CHECK(xt::allclose(xt::cast<double>(pf.value()), pd.value(), 1e-4, 1e-5));
}

TEST_CASE("MLP reports bad sizes naming the network and its widths")
{
    using Catch::Matchers::Contains;
    CHECK_SHAPE_ERROR(mlp<double>(3, hidden(8, 0), 2), Contains("MLP") && Contains("3 -> 8 -> 0 -> 2"));
    CHECK_SHAPE_ERROR(mlp<double>(0, hidden(8), 2), Contains("MLP"));

    auto net = mlp<double>(3, hidden(8), 2);
    Input<double> wide(5, "wide");
    CHECK_SHAPE_ERROR(net(wide),
                      Contains("Linear 'mlp.0'") && Contains("expects 3 input features") && Contains("wide"));
}
