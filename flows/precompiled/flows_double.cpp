// bijou::precompiled: Flow<double, Chain<double>>, the conditional flows, and their fit(), and the INN's fit()
// (flows/precompiled.hpp).
#define BIJOU_PRECOMPILED_BUILD
#include <bijou/flows/precompiled.hpp>

BIJOU_PRECOMPILED_FLOWS(, double)
