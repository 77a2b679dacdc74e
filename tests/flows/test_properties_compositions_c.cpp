// Random composition 5 (eleven blocks) obeys the bijection laws in double, and composition 2 (three
// blocks) in float (tests/flows/compositions.hpp).
#include "compositions.hpp"

using namespace bijou;

TEST_CASE("random composition 5 obeys the bijection laws in double")
{
    testing::require_laws<double>(std::make_tuple(testing::RandomComposition<5>::entry()));
}

TEST_CASE("random composition 2 obeys the bijection laws in float")
{
    testing::require_laws<float>(std::make_tuple(testing::RandomComposition<2>::entry()));
}
