/* core/nn/backend_cuda.h: the CUDA backend of the network engine (the table of core/nn/backend.h over device
 * memory: cuBLAS GEMMs, kernels from the bodies of core/nn/kernels_*.h). Built with CUDA (SBO_WITH_CUDA):
 * core/cuda/sbo_nn_backend_cuda.cu; otherwise core/nn/backend_cuda_stub.c, which returns NULL.
 * Every pointer the table takes as backend memory is device memory (its alloc); to_*, put_*, same_* read
 * host doubles and from_* writes them. Not thread-safe: one cuBLAS handle and one stream, created on first use,
 * shared by every call (the engine calls its backend from one thread). A failed CUDA or cuBLAS call inside a member
 * prints one line "sbo: cuda backend: FILE:LINE: CALL: MESSAGE" and exits (the members return no status);
 * alloc alone returns NULL (reason: sbo_cuda_last_error(), core/sbo_cuda.h). Host sources of put, put_*, to_* and
 * same_* are read before the member returns when they are ordinary (pageable) memory, as the engine's are.
 * Exercised by: build/tests/test_cuda (the device tests skip without a GPU). */
#ifndef SBO_NN_BACKEND_CUDA_H
#define SBO_NN_BACKEND_CUDA_H
#include "core/nn/backend.h"   /* sbo_nn_backend */

#ifdef __cplusplus
extern "C" {
#endif

/* The CUDA backend, or NULL in a build without CUDA. Getting the table touches no device; the first call of a
 * member does (and exits without one): use it only where sbo_cuda_available (core/sbo_cuda.h) says yes. */
const sbo_nn_backend *sbo_nn_backend_cuda(void);

#ifdef __cplusplus
}
#endif
#endif
