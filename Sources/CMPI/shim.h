// Bridges the handful of MPI calls SwiftMetricLearning uses (Debian package libopenmpi-dev).
//
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, …) are macros that
// expand to casts of addresses of internal globals, which Swift cannot import; these static
// inline wrappers name them in C and expose plain ints and pointers instead. Every call works
// on MPI_COMM_WORLD. Data types: 0 = float, 1 = double, 2 = byte, 3 = int64.
#ifndef DML_CMPI_SHIM_H
#define DML_CMPI_SHIM_H
#include <mpi.h>
#include <stdint.h>

static inline MPI_Datatype dml_mpi_type(int code) {
    switch (code) {
    case 0: return MPI_FLOAT;
    case 1: return MPI_DOUBLE;
    case 3: return MPI_INT64_T;
    default: return MPI_BYTE;
    }
}

/// Whether MPI_Init has been called in this process.
static inline int dml_mpi_is_initialized(void) {
    int flag = 0;
    MPI_Initialized(&flag);
    return flag;
}

/// Whether MPI_Finalize has been called in this process.
static inline int dml_mpi_is_finalized(void) {
    int flag = 0;
    MPI_Finalized(&flag);
    return flag;
}

/// MPI_Init_thread with MPI_THREAD_FUNNELED (only the main thread calls MPI), then errors are
/// returned instead of aborting so the caller can report them. Returns an MPI error code.
static inline int dml_mpi_init(void) {
    int provided = 0;
    int code = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (code != MPI_SUCCESS) return code;
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

static inline int dml_mpi_finalize(void) { return MPI_Finalize(); }

static inline int dml_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }

static inline int dml_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

/// Every rank contributes `count` elements; `recv` receives size × count, in rank order.
static inline int dml_mpi_allgather(const void *send, void *recv, int count, int type) {
    return MPI_Allgather(send, count, dml_mpi_type(type), recv, count, dml_mpi_type(type), MPI_COMM_WORLD);
}

/// Rank r contributes `counts[r]` elements, placed at `displacements[r]` of `recv`.
static inline int dml_mpi_allgatherv(const void *send, int count, void *recv, const int *counts,
                                     const int *displacements, int type) {
    return MPI_Allgatherv(send, count, dml_mpi_type(type), recv, counts, displacements,
                          dml_mpi_type(type), MPI_COMM_WORLD);
}

/// In-place element-wise sum over all ranks.
static inline int dml_mpi_allreduce_sum(void *buffer, int count, int type) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, dml_mpi_type(type), MPI_SUM, MPI_COMM_WORLD);
}

/// In-place element-wise maximum over all ranks.
static inline int dml_mpi_allreduce_max(void *buffer, int count, int type) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, dml_mpi_type(type), MPI_MAX, MPI_COMM_WORLD);
}

static inline int dml_mpi_broadcast(void *buffer, int count, int type, int root) {
    return MPI_Bcast(buffer, count, dml_mpi_type(type), root, MPI_COMM_WORLD);
}

static inline int dml_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

/// Ends every rank of the job (the runtime kills the others).
static inline void dml_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

/// The text of an MPI error code into `buffer` (at least MPI_MAX_ERROR_STRING bytes).
static inline void dml_mpi_error_string(int code, char *buffer, int *length) {
    MPI_Error_string(code, buffer, length);
}

static inline int dml_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
