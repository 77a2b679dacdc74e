// The couplings of the block table (block_table.hpp) in float.
#include "tools/block_checks.hpp"
#include "tools/block_table.hpp"

namespace bijou::testing {
void check_couplings_float(const TableOptions& options, const RowSink& out)
{
    check_table<float>(coupling_blocks(), options, out);
}
}  // namespace bijou::testing
