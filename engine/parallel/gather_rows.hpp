// gather_rows(e, sharing): the rows of a global batch that the processes of a data-parallel run compute
// in shares (engine/optim/train.hpp, BatchShard), gathered: e holds this process's rows (count x d), the
// result all of them in the global order (batch x d), every process's rows in place.
//
// What it is for: a loss that couples the rows of a batch, such as an MMD (a mean over all pairs of
// rows). Each process computes the pairs of its own rows with all rows, and the gathered operand carries
// the gradient back to the process that computed each row:
//   forward    out = [e_0; e_1; ...; e_{P-1}]                        (MPI_Allgatherv)
//   backward   de_p += (1 / w_p) sum_q w_q dout_q[rows of p]          (MPI_Reduce_scatter)
// where w_q = count_q / batch is the weight train() gives process q's loss and gradient when it sums them:
// the adjoint each process sends is scaled by its own weight and the result divided by the receiver's,
// so that after train()'s weighting the receiver holds sum_q w_q dout_q, the gradient of the global loss.
// With one process (sharing.processes null or alone) it is the identity, copied.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/parallel/process_group.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

// How a global batch's rows are shared out: process p computes rows_of[p] of them, in order. Set before
// the programs that gather are bound (their shapes depend on it).
struct RowSharing {
    const ProcessGroup* processes = nullptr;  // null: one process
    std::vector<std::size_t> rows_of;         // per process
    std::size_t first = 0;                    // this process's first row in the global batch
    std::size_t count = 0;                    // and its number of rows
    std::size_t batch = 0;                    // rows of the global batch

    bool parallel() const { return processes != nullptr && processes->parallel(); }
    // The weight train() gives this process's mean loss: its share of the batch's rows.
    double weight() const { return batch > 0 ? double(count) / double(batch) : 1.0; }

    // One process computing all `batch` rows.
    static RowSharing alone(std::size_t batch) { return {nullptr, {batch}, 0, batch, batch}; }
};

template <SourceExpr S>
struct GatherRows {
    using value_type = typename S::value_type;
    using T = value_type;
    static constexpr const char* name = "gather_rows";

    S source;
    const RowSharing* sharing;

    Shape shape() const
    {
        const Shape in = source.shape();
        if (in.rows != sharing->count)
            throw_shape_error(name, "this process computes ", sharing->count, " rows of the batch of ", sharing->batch,
                              ", but the operand has shape ", in);
        return {sharing->batch, in.cols};
    }

    void forward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        const Shape s = source.shape();
        T* y = out.value.data() + sharing->first * s.cols;
        for (std::size_t r = 0; r < s.rows; ++r)
            for (std::size_t c = 0; c < s.cols; ++c) y[r * s.cols + c] = in.value[in.offset(r, c)];
        if (sharing->parallel())
            sharing->processes->gather_rows(std::span<T>(out.value.data(), out.value.size()), s.cols, sharing->rows_of);
    }

    void backward(SourceNode<T>& out) const
    {
        const auto in = source.view();
        if (in.adjoint == nullptr) return;  // the same on every process: the program is the same
        const Shape s = source.shape();
        T* dy = out.adjoint.data();
        const T* mine = dy + sharing->first * s.cols;
        if (sharing->parallel()) {
            const T own = T(sharing->weight());
            for (std::size_t i = 0; i < out.adjoint.size(); ++i) dy[i] *= own;
            sharing->processes->sum_rows_to_holders(std::span<T>(dy, out.adjoint.size()), s.cols, sharing->rows_of);
            for (std::size_t i = 0, n = s.rows * s.cols; i < n; ++i) dy[i] /= own;  // (the sum is at the start)
            mine = dy;
        }
        for (std::size_t r = 0; r < s.rows; ++r)
            for (std::size_t c = 0; c < s.cols; ++c) in.adjoint[in.offset(r, c)] += mine[r * s.cols + c];
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        source.for_each_source(f);
    }
};

template <Expr E>
auto gather_rows(E&& e, const RowSharing* sharing)
{
    auto source = bind_operand(std::forward<E>(e));
    return make_var(GatherRows<decltype(source)>{source, sharing});
}

}  // namespace bijou
