// The layers of the block table (block_table.hpp) in double.
#include "tools/block_checks.hpp"
#include "tools/block_table.hpp"

namespace bijou::testing {
void check_layers_double(const TableOptions& options, const RowSink& out)
{
    check_table<double>(layer_blocks(), options, out);
}
}  // namespace bijou::testing
