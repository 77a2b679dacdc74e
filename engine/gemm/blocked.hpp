// The packed, cache-blocked gemm (the Goto/BLIS scheme) with an xsimd register-blocked micro-kernel,
// for the products that are large in every dimension.
//
// Loops, outermost first: K in blocks of kc (B's kc x n block is packed once per block into panels of
// nr columns), M in blocks of mc (A's mc x kc block packed into panels of mr rows), then the nr-wide and
// mr-high tiles of C, each computed by the micro-kernel as mr x nr accumulators in registers
// (mr rows times two SIMD vectors: 12 x 32 floats or 12 x 16 doubles with AVX-512, 24 of the 32 vector
// registers). A panel is zero-padded to full width, so the micro-kernel never branches; a partial tile of
// C goes through a small buffer.
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
    static constexpr std::size_t mr = 12;
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

// acc (mr x nr) = sum over k of a_panel(:, k) b_panel(k, :); then C = alpha acc + beta C on the
// rows x cols that are inside C.
template <class T>
inline void micro_kernel(std::size_t depth, const T* __restrict a_panel, const T* __restrict b_panel, T alpha,
                         T beta, T* c, std::size_t ldc, std::size_t rows, std::size_t cols)
{
    using S = BlockedShape<T>;
    using V = typename S::vector;
    constexpr std::size_t mr = S::mr, w = S::w;
    V acc0[mr], acc1[mr];
#pragma GCC unroll 12
    for (std::size_t r = 0; r < mr; ++r) acc0[r] = acc1[r] = V(T(0));
    for (std::size_t k = 0; k < depth; ++k) {
        const V b0 = V::load_aligned(b_panel), b1 = V::load_aligned(b_panel + w);
#pragma GCC unroll 12
        for (std::size_t r = 0; r < mr; ++r) {
            const V a(a_panel[r]);
            acc0[r] = xsimd::fma(a, b0, acc0[r]);
            acc1[r] = xsimd::fma(a, b1, acc1[r]);
        }
        a_panel += mr;
        b_panel += S::nr;
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

// C (m x n) = alpha op(A) op(B) + beta C.
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
            pack_b(b, p0, kc, j0, nc, packed_b);
            for (std::size_t i0 = 0; i0 < m; i0 += S::mc) {
                const std::size_t mc = std::min(S::mc, m - i0);
                pack_a(a, i0, mc, p0, kc, packed_a);
                for (std::size_t jr = 0; jr < nc; jr += S::nr) {
                    const T* b_panel = packed_b + jr * kc;
                    for (std::size_t ir = 0; ir < mc; ir += S::mr)
                        micro_kernel(kc, packed_a + ir * kc, b_panel, alpha, block_beta,
                                     c + (i0 + ir) * ldc + j0 + jr, ldc, std::min(S::mr, mc - ir),
                                     std::min(S::nr, nc - jr));
                }
            }
        }
    }
}

}  // namespace bijou::detail::gemm_kernels
