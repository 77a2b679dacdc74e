// Regression: a Flow's log_prob, forward and inverse programs share their inputs (x, and the condition c),
// so binding one to a new batch size resized the shared input under the others. A call at the size a
// program was last bound to then failed ("input 'c': expected a batch of shape (8 x 10), got (80 x 10)"),
// found by digits_cinn: inverse(80 rows), forward(8 rows), inverse(80 rows).
#include <bijou/bijou.hpp>
#include <catch2/catch.hpp>

using namespace bijou;
using namespace bijou::dsl;

namespace {
Tensor<float> rows_of(std::size_t n, std::size_t cols, float shift)
{
    Tensor<float> x = Tensor<float>::from_shape({n, cols});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = shift + 0.1f * float(i % 7);
    return x;
}
}  // namespace

TEST_CASE("flow programs rebind when another program left a shared input at another batch size")
{
    auto flow = make_flow<float>(2, conditional(seq(coupling(halves, conditioner(hidden(4)), flows::affine), reverse()), 3), 1);
    const Tensor<float> c80 = rows_of(80, 3, 0.5f), c8 = rows_of(8, 3, -0.5f);
    const Tensor<float> z80 = rows_of(80, 2, 0.2f), x8 = rows_of(8, 2, 1.0f);

    const Tensor<float> first = flow.inverse(z80, c80).first;  // inverse bound to 80, c to 80
    (void)flow.forward(x8, c8);                                // forward binds c to 8
    const Tensor<float> again = flow.inverse(z80, c80).first;  // inverse must rebind c to 80
    CHECK(bool(again == first));

    const Tensor<float> log_p8 = flow.log_prob(x8, c8);        // log_prob bound to 8, x to 8
    (void)flow.forward(z80, c80);                              // forward binds x to 80
    const Tensor<float> log_p8_again = flow.log_prob(x8, c8);
    CHECK(bool(log_p8_again == log_p8));
}

TEST_CASE("unconditional flow programs rebind after a shared input changed size")
{
    auto flow = make_flow<float>(2, seq(coupling(halves, conditioner(hidden(4)), flows::affine), reverse()), 1);
    const Tensor<float> x8 = rows_of(8, 2, 1.0f), x5 = rows_of(5, 2, -1.0f);
    const Tensor<float> log_p8 = flow.log_prob(x8);
    (void)flow.forward(x5);
    const Tensor<float> log_p8_again = flow.log_prob(x8);
    CHECK(bool(log_p8_again == log_p8));
}
