// Regression: a Flow's log_prob, forward and inverse programs share their inputs (x, and the condition c),
// so binding one to a new batch size resized the shared input under the others. A call at the size a
// program was last bound to then failed ("input 'c': expected a batch of shape (8 x 10), got (80 x 10)"),
// found by digits_cinn: inverse(80 rows), forward(8 rows), inverse(80 rows).
#include <algorithm>
#include <cmath>

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

// Evaluations run the chain's blocks in chunks of rows (dsl::detail::evaluation_chunk_rows): a call of
// more rows than a chunk, with a ragged last chunk, gives what calls of fewer rows give.
TEST_CASE("flow evaluations of more rows than a chunk equal those of small batches, conditional or not")
{
    const std::size_t rows = 2 * dsl::detail::evaluation_chunk_rows + 45, piece = 100;
    auto pieces_agree = [&](auto&& whole, auto&& of_piece) {
        double worst = 0;
        for (std::size_t first = 0; first < rows; first += piece) {
            const std::size_t count = std::min(piece, rows - first);
            const Tensor<double> part = of_piece(first, count);
            for (std::size_t r = 0; r < count; ++r)
                for (std::size_t c = 0; c < part.shape()[1]; ++c)
                    worst = std::max(worst, std::abs(part(r, c) - whole(first + r, c)) / (1 + std::abs(part(r, c))));
        }
        return worst;
    };
    auto rows_range = [](const Tensor<double>& t, std::size_t first, std::size_t count) {
        Tensor<double> out = Tensor<double>::from_shape({count, t.shape()[1]});
        std::copy_n(t.data() + first * t.shape()[1], count * t.shape()[1], out.data());
        return out;
    };
    Tensor<double> x = Tensor<double>::from_shape({rows, 3}), c = Tensor<double>::from_shape({rows, 2});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(0.37 * double(i));
    for (std::size_t i = 0; i < c.size(); ++i) c.data()[i] = std::cos(0.11 * double(i));

    auto flow = make_flow<double>(3, repeat<2>(seq(coupling(halves, conditioner(hidden(8)), flows::affine), permute_random())), 4);
    for (auto& p : flow.parameters())
        for (std::size_t i = 0; i < p.value().size(); ++i) p.value().data()[i] = 0.2 * std::sin(double(i) + 1);
    const Tensor<double> log_p = flow.log_prob(x);
    CHECK(pieces_agree(log_p, [&](std::size_t f, std::size_t n) { return flow.log_prob(rows_range(x, f, n)); }) < 1e-13);
    const auto [z, log_det] = flow.forward(x);
    CHECK(pieces_agree(z, [&](std::size_t f, std::size_t n) { return flow.forward(rows_range(x, f, n)).first; }) < 1e-13);
    CHECK(pieces_agree(log_det, [&](std::size_t f, std::size_t n) { return flow.forward(rows_range(x, f, n)).second; }) < 1e-13);
    const Tensor<double> x_back = flow.inverse(z).first;
    CHECK(pieces_agree(x_back, [&](std::size_t f, std::size_t n) { return rows_range(x, f, n); }) < 1e-12);

    auto cflow = make_flow<double>(3, conditional(seq(coupling(halves, conditioner(hidden(8)), flows::affine), reverse(),
                                                      coupling(halves, conditioner(hidden(8)), flows::affine)), 2), 4);
    for (auto& p : cflow.parameters())
        for (std::size_t i = 0; i < p.value().size(); ++i) p.value().data()[i] = 0.2 * std::cos(double(i) + 2);
    const Tensor<double> clog_p = cflow.log_prob(x, c);
    CHECK(pieces_agree(clog_p, [&](std::size_t f, std::size_t n) { return cflow.log_prob(rows_range(x, f, n), rows_range(c, f, n)); }) < 1e-13);
    const Tensor<double> one_c = rows_range(c, 5, 1);  // one condition for every row
    const Tensor<double> broadcast_log_p = cflow.log_prob(x, one_c);
    CHECK(pieces_agree(broadcast_log_p, [&](std::size_t f, std::size_t n) { return cflow.log_prob(rows_range(x, f, n), one_c); }) < 1e-13);
    const Tensor<double> cz = cflow.forward(x, c).first;
    CHECK(pieces_agree(cflow.inverse(cz, c).first, [&](std::size_t f, std::size_t n) { return rows_range(x, f, n); }) < 1e-12);
}
