// The conditionals of the block table (block_table.hpp) in double.
#include "tools/block_checks.hpp"
#include "tools/block_table.hpp"

namespace bijou::testing {
void check_conditionals_double(const TableOptions& options, const RowSink& out)
{
    check_table<double>(conditional_blocks(), options, out);
}
}  // namespace bijou::testing
