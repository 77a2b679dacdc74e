// The one translation unit that compiles the block of spec.hpp.
#include "dsl/block_instantiation/spec.hpp"

BIJOU_INSTANTIATE_BLOCK(double, decltype(bijou::testing::separately_compiled_spec()), false)
