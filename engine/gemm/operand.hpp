// A row-major matrix operand of a gemm, read as op(M) with op = identity or transpose: the one place
// that turns (row, col) of the logical operand into an address, so the kernels never branch on it.
#pragma once

#include <cstddef>

namespace bijou::detail::gemm_kernels {

template <class T>
struct Operand {
    const T* data;
    std::size_t ld;
    bool transposed;

    // op(M)(row, col)
    const T& operator()(std::size_t row, std::size_t col) const
    {
        return transposed ? data[col * ld + row] : data[row * ld + col];
    }
    // Whether op(M)'s rows are contiguous in memory (so a row can be loaded as vectors).
    bool rows_contiguous() const { return !transposed; }
    // Pointer to op(M)(row, col) when rows are contiguous.
    const T* row(std::size_t r) const { return data + r * ld; }
    // Pointer to op(M)(0, col) when op(M)'s columns are contiguous (M is stored transposed).
    const T* column(std::size_t c) const { return data + c * ld; }
};

// C = alpha * acc + beta * C, where beta == 0 must not read C (it may hold NaN before a forward pass).
template <class T>
inline T scale_update(T alpha, T acc, T beta, T old)
{
    return beta == T(0) ? alpha * acc : alpha * acc + beta * old;
}

}  // namespace bijou::detail::gemm_kernels
