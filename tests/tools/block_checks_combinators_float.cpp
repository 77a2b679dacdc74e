// The combinators of the block table (block_table.hpp) in float.
#include "tools/block_checks.hpp"
#include "tools/block_table.hpp"

namespace bijou::testing {
void check_combinators_float(const TableOptions& options, const RowSink& out)
{
    check_table<float>(combinator_blocks(), options, out);
}
}  // namespace bijou::testing
