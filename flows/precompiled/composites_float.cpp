// bijou::precompiled: the blocks of BIJOU_PRECOMPILED_COMPOSITES_FLOAT (flows/precompiled.hpp).
#define BIJOU_PRECOMPILED_BUILD
#include <bijou/flows/precompiled.hpp>

BIJOU_PRECOMPILED_COMPOSITES_FLOAT(BIJOU_INSTANTIATE_BLOCK)
