// A user's block with a translation unit of its own (BIJOU_EXTERN_BLOCK / BIJOU_INSTANTIATE_BLOCK): the
// header every program includes. block_instantiation/unit.cpp compiles the block once.
#pragma once

#include <bijou/bijou.hpp>

namespace bijou::testing {
inline constexpr auto shifted_sinh = dsl::elementwise([](auto x, auto s, auto t) { return sinh(asinh(x) * exp(soft_clamp(s, {.bound = 1.0})) + t); });
inline auto separately_compiled_spec() { return dsl::coupling(dsl::halves, dsl::conditioner(hidden(8)), shifted_sinh); }
}  // namespace bijou::testing

BIJOU_EXTERN_BLOCK(double, decltype(bijou::testing::separately_compiled_spec()), false)
