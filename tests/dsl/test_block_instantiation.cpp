// A block compiled in a translation unit of its own (block_instantiation/unit.cpp) and used here through
// BIJOU_EXTERN_BLOCK: the flow works, and (tests/dsl/block_instantiation/no_runner_here.cmake, a CTest
// of its own) this file's object holds none of the block's programs.
#include <catch2/catch.hpp>

#include "dsl/block_instantiation/spec.hpp"
#include "support/checks.hpp"

using namespace bijou;

TEST_CASE("block instantiation: a separately compiled block runs both directions")
{
    auto flow = make_flow<double>(4, dsl::seq(testing::separately_compiled_spec(), dsl::reverse(),
                                              testing::separately_compiled_spec()), 3);
    for (auto& p : flow.parameters())
        for (auto& v : p.value()) v += 0.1;
    const Tensor<double> x = testing::normal_batch(6, 4, 1);
    const auto [z, log_det] = flow.forward(x);
    const auto [back, log_det_inverse] = flow.inverse(z);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(back.data()[i] == Approx(x.data()[i]).margin(1e-12));
    for (std::size_t r = 0; r < 6; ++r) CHECK(log_det_inverse(r, 0) == Approx(-log_det(r, 0)).margin(1e-12));
}
