/* core/cuda/sbo_cuda_common.cuh: what the .cu files of the CUDA seam share: the per-thread last-error buffer
 * behind sbo_cuda_last_error() (defined in core/cuda/sbo_cuda.cu), CUDA_CHECK, and the launch geometry.
 * Internal to core/cuda/; no C file includes it. */
#ifndef SBO_CUDA_COMMON_CUH
#define SBO_CUDA_COMMON_CUH
#include <cuda_runtime.h>
#include <stdio.h>

extern thread_local char sbo_cuda_error_buf[256];

/* Records "file:line: call: message" and makes the launcher return -1 (a library never exits). */
#define CUDA_CHECK(call)                                                                                   \
    do {                                                                                                   \
        cudaError_t err_ = (call);                                                                         \
        if (err_ != cudaSuccess) {                                                                         \
            snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "%s:%d: %s: %s", __FILE__, __LINE__,   \
                     #call, cudaGetErrorString(err_));                                                     \
            return -1;                                                                                     \
        }                                                                                                  \
    } while (0)

static const int k_block = 256;

static inline unsigned grid_for(long threads) {
    return (unsigned)((threads + k_block - 1) / k_block);
}
#endif
