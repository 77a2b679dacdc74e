// ProcessGroup: the processes of one data-parallel training run, and the few collective operations
// train() needs (engine/optim/train.hpp): a sum over all processes, a broadcast, and an abort that ends
// every process of the run.
//
//   FitOptions<float> options{.batch_size = 256, .steps = 3000, .processes = &bijou::world()};
//   fit(flow, train, options);                 // under `mpirun -np P`: P processes, one global batch
//   if (bijou::world().is_root()) save(...);   // one process writes
//
// world() is every process of the launch. Built with MPI (CMake option BIJOU_MPI, which defines
// BIJOU_MPI=1) and started by an MPI launcher (mpirun sets OMPI_COMM_WORLD_SIZE, PMIx and Hydra set
// PMIX_RANK or PMI_RANK), world() initialises MPI on first use and finalises it at exit; otherwise, and
// in a program started without a launcher, it is a group of one process whose collectives copy nothing.
//
// Faults: MPI's default error handler ends the whole job on a communication error, and mpirun ends the
// job when a process dies, naming its rank. A process that fails on its own (a file it cannot read) must
// end the others too, since they would wait for it in the next sum for ever: abort(status, message)
// prints the message with the rank and calls MPI_Abort. A process that returns from main normally
// finalises MPI, which is only correct once the others are done with collectives as well.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#if BIJOU_MPI
#include <mpi.h>
#endif

#include <bijou/engine/error.hpp>

namespace bijou {

class ProcessGroup {
public:
    // A group of one process.
    ProcessGroup() = default;
    ProcessGroup(const ProcessGroup&) = delete;
    ProcessGroup& operator=(const ProcessGroup&) = delete;
    ~ProcessGroup() { finalize(); }

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool is_root() const { return rank_ == 0; }
    bool parallel() const { return size_ > 1; }

    // values <- the elementwise sum of every process's values (every process passes the same length).
    template <class T>
        requires std::is_same_v<T, float> || std::is_same_v<T, double>
    void sum(std::span<T> values) const
    {
#if BIJOU_MPI
        if (parallel())
            MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD);
#else
        (void)values;
#endif
    }

    // values <- the root's values, on every process.
    template <class T>
        requires std::is_same_v<T, float> || std::is_same_v<T, double>
    void broadcast(std::span<T> values) const
    {
#if BIJOU_MPI
        if (parallel())
            MPI_Bcast(values.data(), int(values.size()), std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE, 0,
                      MPI_COMM_WORLD);
#else
        (void)values;
#endif
    }

    // Rows of a matrix (cols wide) shared out among the processes, process p holding rows_of[p] of them,
    // in order: every process passes the whole matrix with its own rows filled in, and gets everyone's.
    template <class T>
        requires std::is_same_v<T, float> || std::is_same_v<T, double>
    void gather_rows(std::span<T> matrix, std::size_t cols, std::span<const std::size_t> rows_of) const
    {
#if BIJOU_MPI
        if (!parallel()) return;
        set_counts(cols, rows_of);
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, matrix.data(), counts_.data(), offsets_.data(),
                       mpi_type<T>(), MPI_COMM_WORLD);
#else
        (void)matrix, (void)cols, (void)rows_of;
#endif
    }

    // The adjoint of gather_rows: the elementwise sum over the processes of their whole matrices, each
    // process keeping the sum's rows it holds, written to the start of its matrix.
    template <class T>
        requires std::is_same_v<T, float> || std::is_same_v<T, double>
    void sum_rows_to_holders(std::span<T> matrix, std::size_t cols, std::span<const std::size_t> rows_of) const
    {
#if BIJOU_MPI
        if (!parallel()) return;
        set_counts(cols, rows_of);
        MPI_Reduce_scatter(MPI_IN_PLACE, matrix.data(), counts_.data(), mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD);
#else
        (void)matrix, (void)cols, (void)rows_of;
#endif
    }

    // Ends every process of the run with `status`, after printing the message with this process's rank.
    [[noreturn]] void abort(int status, std::string_view message) const
    {
        std::fprintf(stderr, "bijou: process %d of %d: %.*s\n", rank_, size_, int(message.size()), message.data());
        std::fflush(stderr);
#if BIJOU_MPI
        if (parallel()) MPI_Abort(MPI_COMM_WORLD, status);
#endif
        std::exit(status);
    }

    // Collective: the processes other than the root finalise and exit with status 0; the root goes on as a
    // group of one (for the evaluation and the files after a data-parallel training run).
    void dismiss_all_but_root()
    {
        if (!parallel()) return;
        if (!is_root()) {
            finalize();
            std::exit(0);
        }
        size_ = 1;
    }

    // The group of every process of this launch (see the top of this file); bijou::world() below.
    static ProcessGroup& world()
    {
        static ProcessGroup group{Launch{}};
        return group;
    }

private:
    struct Launch {};
    explicit ProcessGroup(Launch) { initialize(); }

    // True when an MPI launcher started this process: only then is initialising MPI worth its cost (and
    // its warnings, on a machine without a network).
    static bool launched_by_mpi()
    {
        return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
    }

    void initialize()
    {
#if BIJOU_MPI
        if (!launched_by_mpi()) return;
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            int provided = 0;
            // Only the thread that calls fit communicates; OpenBLAS's or the engine's threads never do.
            MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
            owns_mpi_ = true;
        }
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
        counts_.resize(std::size_t(size_));
        offsets_.resize(std::size_t(size_));
#endif
    }

    void finalize()
    {
#if BIJOU_MPI
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owns_mpi_ && !finalized) MPI_Finalize();
        owns_mpi_ = false;
#endif
    }

#if BIJOU_MPI
    template <class T>
    static MPI_Datatype mpi_type()
    {
        return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
    }
    // MPI's element counts and offsets of each process's rows (sized once, when MPI starts).
    void set_counts(std::size_t cols, std::span<const std::size_t> rows_of) const
    {
        if (rows_of.size() != std::size_t(size_))
            throw_usage_error("ProcessGroup", "row counts for ", rows_of.size(), " processes in a group of ", size_);
        int offset = 0;
        for (int p = 0; p < size_; ++p) {
            counts_[std::size_t(p)] = int(rows_of[std::size_t(p)] * cols);
            offsets_[std::size_t(p)] = offset;
            offset += counts_[std::size_t(p)];
        }
    }
    mutable std::vector<int> counts_, offsets_;
#endif

    int rank_ = 0;
    int size_ = 1;
    bool owns_mpi_ = false;
};

inline ProcessGroup& world() { return ProcessGroup::world(); }

}  // namespace bijou
