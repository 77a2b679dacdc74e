// The packed, cache-blocked gemm (the Goto/BLIS scheme) with an xsimd register-blocked micro-kernel,
// for the products that are large in every dimension.
//
// Loops, outermost first: K in blocks of kc, M in blocks of mc, then the nr-wide and mr-high tiles of C,
// each computed by the micro-kernel as mr x nr accumulators in registers (mr rows times two SIMD vectors:
// 12 x 32 floats or 12 x 16 doubles with AVX-512, 24 of its 32 vector registers; 6 x 16 floats or 6 x 8
// doubles with AVX2, 12 of its 16, since 24 accumulators there would spill). A packed panel is
// zero-padded to full width, so the micro-kernel never branches; a partial tile of C goes through a
// small buffer.
#pragma once

#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include <bijou/engine/gemm/operand.hpp>
#include <bijou/engine/gemm/workspace.hpp>

namespace bijou::detail::gemm_kernels {

template <class T>
struct BlockedShape {
    using vector = xsimd::batch<T>;
    static constexpr std::size_t w = vector::size;
    // 32 vector registers with AVX-512 (64-byte vectors), 16 with AVX2 and SSE: the accumulators take
    // 2 mr of them, and the two B vectors and A's broadcast three more.
    static constexpr std::size_t mr = sizeof(vector) >= 64 ? 12 : 6;
    static constexpr std::size_t nr = 2 * w;
    static constexpr std::size_t kc = 256;
    static constexpr std::size_t mc = 8 * mr;
    static constexpr std::size_t nc = 1024;  // B's packed block, kc x nc: 1 MiB of floats, within L2
};

// Packs op(A)(i0 .. i0 + rows, p0 .. p0 + depth) into panels of mr rows: panel q holds, for each k, the mr
// values op(A)(i0 + q mr + r, p0 + k), zero-padded past `rows`.
template <class T>
void pack_a(const Operand<T>& a, std::size_t i0, std::size_t rows, std::size_t p0, std::size_t depth, T* out)
{
    constexpr std::size_t mr = BlockedShape<T>::mr;
    for (std::size_t q = 0; q < rows; q += mr) {
        const std::size_t valid = std::min(mr, rows - q);
        if (a.transposed) {  // op(A)(i, k) = A(k, i): for each k, the mr values are contiguous
            for (std::size_t k = 0; k < depth; ++k) {
                const T* src = a.data + (p0 + k) * a.ld + i0 + q;
                T* dst = out + k * mr;
                std::size_t r = 0;
                for (; r < valid; ++r) dst[r] = src[r];
                for (; r < mr; ++r) dst[r] = T(0);
            }
        } else {
            for (std::size_t r = 0; r < mr; ++r) {
                if (r < valid) {
                    const T* src = a.data + (i0 + q + r) * a.ld + p0;
                    for (std::size_t k = 0; k < depth; ++k) out[k * mr + r] = src[k];
                } else {
                    for (std::size_t k = 0; k < depth; ++k) out[k * mr + r] = T(0);
                }
            }
        }
        out += mr * depth;
    }
}

// Packs op(B)(p0 .. p0 + depth, j0 .. j0 + cols) into panels of nr columns: panel q holds, for each k,
// the nr values op(B)(p0 + k, j0 + q nr + c), zero-padded past `cols`.
template <class T>
void pack_b(const Operand<T>& b, std::size_t p0, std::size_t depth, std::size_t j0, std::size_t cols, T* out)
{
    constexpr std::size_t nr = BlockedShape<T>::nr;
    for (std::size_t q = 0; q < cols; q += nr) {
        const std::size_t valid = std::min(nr, cols - q);
        if (!b.transposed) {  // rows of op(B) are contiguous: copy nr-wide pieces
            for (std::size_t k = 0; k < depth; ++k) {
                const T* src = b.data + (p0 + k) * b.ld + j0 + q;
                T* dst = out + k * nr;
                std::size_t c = 0;
                for (; c < valid; ++c) dst[c] = src[c];
                for (; c < nr; ++c) dst[c] = T(0);
            }
        } else {  // op(B)(k, j) = B(j, k): column j of op(B) is row j of B
            for (std::size_t c = 0; c < nr; ++c) {
                if (c < valid) {
                    const T* src = b.data + (j0 + q + c) * b.ld + p0;
                    for (std::size_t k = 0; k < depth; ++k) out[k * nr + c] = src[k];
                } else {
                    for (std::size_t k = 0; k < depth; ++k) out[k * nr + c] = T(0);
                }
            }
        }
        out += nr * depth;
    }
}

// Where the micro-kernel reads its operands: element (r, k) of A's mr-row panel at a[r a_row + k a_k],
// element (k, c) of B's nr-column panel at b[k b_k + c]. A packed panel has a_row = 1, a_k = mr; A read
// in place has a_row = lda (rows of A) or 1 (A stored transposed); B packed has b_k = nr, B read in
// place b_k = ldb. The template flags make the common strides compile-time constants.
template <class T>
struct PanelView {
    const T* a;
    std::size_t a_row, a_k;
    const T* b;
    std::size_t b_k;
};

// acc (mr x nr) = sum over k of A panel(:, k) B panel(k, :); then C = alpha acc + beta C on the rows x cols
// that lie inside C.
template <class T, bool AUnitRowStride, bool BPacked>
inline void micro_kernel(std::size_t depth, PanelView<T> view, T alpha, T beta, T* c, std::size_t ldc,
                         std::size_t rows, std::size_t cols)
{
    using S = BlockedShape<T>;
    using V = typename S::vector;
    constexpr std::size_t mr = S::mr, w = S::w;
    const T* __restrict a = view.a;
    const T* __restrict b = view.b;
    const std::size_t a_row = AUnitRowStride ? 1 : view.a_row, a_k = view.a_k, b_k = BPacked ? S::nr : view.b_k;
    V acc0[mr], acc1[mr];
#pragma GCC unroll 12
    for (std::size_t r = 0; r < mr; ++r) acc0[r] = acc1[r] = V(T(0));
    for (std::size_t k = 0; k < depth; ++k) {
        const V b0 = BPacked ? V::load_aligned(b) : V::load_unaligned(b);
        const V b1 = BPacked ? V::load_aligned(b + w) : V::load_unaligned(b + w);
#pragma GCC unroll 12
        for (std::size_t r = 0; r < mr; ++r) {
            const V x(a[r * a_row]);
            acc0[r] = xsimd::fma(x, b0, acc0[r]);
            acc1[r] = xsimd::fma(x, b1, acc1[r]);
        }
        a += a_k;
        b += b_k;
    }
    const V va(alpha), vb(beta);
    if (rows == mr && cols == S::nr) {
#pragma GCC unroll 12
        for (std::size_t r = 0; r < mr; ++r) {
            T* row = c + r * ldc;
            if (beta == T(0)) {
                (va * acc0[r]).store_unaligned(row);
                (va * acc1[r]).store_unaligned(row + w);
            } else {
                xsimd::fma(va, acc0[r], vb * V::load_unaligned(row)).store_unaligned(row);
                xsimd::fma(va, acc1[r], vb * V::load_unaligned(row + w)).store_unaligned(row + w);
            }
        }
        return;
    }
    alignas(64) T tile[mr * S::nr];
    for (std::size_t r = 0; r < mr; ++r) {
        acc0[r].store_aligned(tile + r * S::nr);
        acc1[r].store_aligned(tile + r * S::nr + w);
    }
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j)
            c[r * ldc + j] = scale_update(alpha, tile[r * S::nr + j], beta, c[r * ldc + j]);
}

// One mr x nr tile of C, choosing the micro-kernel for how its two panels are stored.
template <class T>
inline void compute_tile(std::size_t depth, PanelView<T> view, bool a_unit_row_stride, bool b_packed, T alpha,
                         T beta, T* c, std::size_t ldc, std::size_t rows, std::size_t cols)
{
    if (a_unit_row_stride)
        b_packed ? micro_kernel<T, true, true>(depth, view, alpha, beta, c, ldc, rows, cols)
                 : micro_kernel<T, true, false>(depth, view, alpha, beta, c, ldc, rows, cols);
    else
        b_packed ? micro_kernel<T, false, true>(depth, view, alpha, beta, c, ldc, rows, cols)
                 : micro_kernel<T, false, false>(depth, view, alpha, beta, c, ldc, rows, cols);
}

// Whether a full panel is read where it lies rather than packed: always for A's rows (mr sequential
// streams), and for a panel that runs down the columns of a stored matrix (B, or A stored transposed)
// only while its kc rows span at most 32 KiB: further apart, every row of the panel is on its own page,
// and a large B (the 128 x 736 weight of a spline conditioner) ran at 40% of the packed speed.
template <class T>
bool read_in_place(bool along_columns, std::size_t kc, std::size_t ld)
{
    return !along_columns || kc * ld * sizeof(T) <= 32 * 1024;
}

// C (m x n) = alpha op(A) op(B) + beta C. Full panels are read in place where read_in_place allows (the
// operands of small products fit in L1 and L2, and packing them cost up to a third of the time of a
// product with few rows); the ragged last panels, op(B) stored transposed, and long strided panels are
// packed.
template <class T>
void blocked_gemm(std::size_t m, std::size_t n, std::size_t k, T alpha, const Operand<T>& a, const Operand<T>& b,
                  T beta, T* c, std::size_t ldc)
{
    using S = BlockedShape<T>;
    GemmWorkspace<T>& workspace = gemm_workspace<T>();
    T* packed_b = workspace.b();
    T* packed_a = workspace.a();
    for (std::size_t j0 = 0; j0 < n; j0 += S::nc) {
        const std::size_t nc = std::min(S::nc, n - j0);
        for (std::size_t p0 = 0; p0 < k; p0 += S::kc) {
            const std::size_t kc = std::min(S::kc, k - p0);
            const T block_beta = p0 == 0 ? beta : T(1);
            // Columns of op(B) read in place: its full nr panels, when its rows are contiguous and close.
            const std::size_t in_place_cols =
                !b.transposed && read_in_place<T>(true, kc, b.ld) ? nc / S::nr * S::nr : 0;
            if (in_place_cols < nc) pack_b(b, p0, kc, j0 + in_place_cols, nc - in_place_cols, packed_b);
            const bool a_in_place = read_in_place<T>(a.transposed, kc, a.ld);
            for (std::size_t i0 = 0; i0 < m; i0 += S::mc) {
                const std::size_t mc = std::min(S::mc, m - i0);
                // Rows of op(A) read in place (the rest of the block is packed, from packed_a on).
                const std::size_t in_place_rows = a_in_place ? mc / S::mr * S::mr : 0;
                if (in_place_rows < mc) pack_a(a, i0 + in_place_rows, mc - in_place_rows, p0, kc, packed_a);
                for (std::size_t jr = 0; jr < nc; jr += S::nr) {
                    const bool b_packed = jr >= in_place_cols;
                    const T* b_panel = b_packed ? packed_b + (jr - in_place_cols) * kc : b.data + p0 * b.ld + j0 + jr;
                    const std::size_t b_k = b_packed ? S::nr : b.ld;
                    const std::size_t cols = std::min(S::nr, nc - jr);
                    for (std::size_t ir = 0; ir < mc; ir += S::mr) {
                        const std::size_t row = i0 + ir, rows = std::min(S::mr, mc - ir);
                        T* tile = c + row * ldc + j0 + jr;
                        if (ir < in_place_rows) {
                            const PanelView<T> view =
                                a.transposed ? PanelView<T>{a.data + p0 * a.ld + row, 1, a.ld, b_panel, b_k}
                                             : PanelView<T>{a.data + row * a.ld + p0, a.ld, 1, b_panel, b_k};
                            compute_tile(kc, view, a.transposed, b_packed, alpha, block_beta, tile, ldc, rows, cols);
                        } else {
                            const T* panel = packed_a + (ir - in_place_rows) * kc;
                            compute_tile(kc, PanelView<T>{panel, 1, S::mr, b_panel, b_k}, true, b_packed, alpha,
                                         block_beta, tile, ldc, rows, cols);
                        }
                    }
                }
            }
        }
    }
}

}  // namespace bijou::detail::gemm_kernels
