// Random compositions (seeds 1 to 3) obey the bijection laws: seq types drawn at compile time from a
// seed (tests/flows/compositions.hpp), checked in double on normal and extreme inputs.
#include "compositions.hpp"

using namespace bijou;

TEST_CASE("random compositions 1 to 3 obey the bijection laws in double")
{
    using testing::RandomComposition;
    testing::require_laws<double>(
        std::make_tuple(RandomComposition<1>::entry(), RandomComposition<2>::entry(), RandomComposition<3>::entry()));
}
