// Every conditional block (cINN) of the library obeys the bijection laws in float and double, with random
// parameters, on the inputs of its domain, and its gradients (NLL and inverse pass, in double) match
// finite differences. The table: tests/tools/block_table.hpp, compiled once into bijou_block_checks.
#include "laws.hpp"
#include "tools/block_checks.hpp"

using namespace bijou;

TEMPLATE_TEST_CASE("conditionals obey the bijection laws", "", float, double)
{
    std::size_t rows = 0;
    testing::check_block_family<TestType>(testing::BlockFamily::conditionals, testing::property_options(),
                                          testing::RequireLaws{&rows});
    CHECK(rows >= 5);  // the family ran
}
