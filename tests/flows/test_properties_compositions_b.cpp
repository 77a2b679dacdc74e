// Random compositions 4 (eleven blocks) and 6 (five blocks) obey the bijection laws in double
// (tests/flows/compositions.hpp).
#include "compositions.hpp"

using namespace bijou;

TEST_CASE("random compositions 4 and 6 obey the bijection laws in double")
{
    using testing::RandomComposition;
    testing::require_laws<double>(std::make_tuple(RandomComposition<4>::entry(), RandomComposition<6>::entry()));
}
