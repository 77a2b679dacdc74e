// bijou::precompiled: the blocks of BIJOU_PRECOMPILED_SPLINES_DOUBLE (flows/precompiled.hpp).
#define BIJOU_PRECOMPILED_BUILD
#include <bijou/flows/precompiled.hpp>

BIJOU_PRECOMPILED_SPLINES_DOUBLE(BIJOU_INSTANTIATE_BLOCK)
