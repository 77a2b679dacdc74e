// The conditionals of the block table (block_table.hpp) in float.
#include "tools/block_checks.hpp"
#include "tools/block_table.hpp"

namespace bijou::testing {
void check_conditionals_float(const TableOptions& options, const RowSink& out)
{
    check_table<float>(conditional_blocks(), options, out);
}
}  // namespace bijou::testing
