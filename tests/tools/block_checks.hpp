// The library's blocks run through check_bijection (and the gradient check in double), compiled once
// into the bijou_block_checks library: check_flows and the property tests link it instead of each
// instantiating every block again. The table itself: block_table.hpp.
#pragma once

#include "tools/table_row.hpp"

namespace bijou::testing {

enum class BlockFamily { couplings, layers, combinators, conditionals };
inline constexpr BlockFamily block_families[] = {BlockFamily::couplings, BlockFamily::layers,
                                                 BlockFamily::combinators, BlockFamily::conditionals};

// Every row of one family in T (float or double), passed to `out` as it is checked.
template <class T>
void check_block_family(BlockFamily family, const TableOptions& options, const RowSink& out);

// One definition per family and type (tools/block_checks_<family>_<type>.cpp).
void check_couplings_float(const TableOptions&, const RowSink&);
void check_couplings_double(const TableOptions&, const RowSink&);
void check_layers_float(const TableOptions&, const RowSink&);
void check_layers_double(const TableOptions&, const RowSink&);
void check_combinators_float(const TableOptions&, const RowSink&);
void check_combinators_double(const TableOptions&, const RowSink&);
void check_conditionals_float(const TableOptions&, const RowSink&);
void check_conditionals_double(const TableOptions&, const RowSink&);

template <class T>
void check_block_family(BlockFamily family, const TableOptions& options, const RowSink& out)
{
    constexpr bool single = std::is_same_v<T, float>;
    switch (family) {
    case BlockFamily::couplings: single ? check_couplings_float(options, out) : check_couplings_double(options, out); break;
    case BlockFamily::layers: single ? check_layers_float(options, out) : check_layers_double(options, out); break;
    case BlockFamily::combinators:
        single ? check_combinators_float(options, out) : check_combinators_double(options, out);
        break;
    case BlockFamily::conditionals:
        single ? check_conditionals_float(options, out) : check_conditionals_double(options, out);
        break;
    }
}

}  // namespace bijou::testing
