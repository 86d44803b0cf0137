/* core/cuda/sbo_cuda_common.cuh: what the .cu files of the CUDA seam share: the per-thread last-error buffer
 * behind sbo_cuda_last_error() (defined in core/cuda/sbo_cuda.cu), CUDA_CHECK for the seam's launchers (return -1),
 * CUDA_CHECK_FATAL and CUBLAS_CHECK for the engine backend's void members (core/cuda/sbo_nn_backend_cuda.cu: exit),
 * and the launch geometry. Internal to core/cuda/; no C file includes it. */
#ifndef SBO_CUDA_COMMON_CUH
#define SBO_CUDA_COMMON_CUH
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <stdio.h>
#include <stdlib.h>

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

/* A failed call inside a member of the engine backend, which has no way to report it: one line
 * "sbo: cuda backend: FILE:LINE: CALL: MESSAGE" on stderr, then exit(1). */
[[noreturn]] static inline void sbo_cuda_fatal(const char *file, int line, const char *call, const char *message) {
    fprintf(stderr, "sbo: cuda backend: %s:%d: %s: %s\n", file, line, call, message);
    exit(1);
}

#define CUDA_CHECK_FATAL(call)                                                                             \
    do {                                                                                                   \
        cudaError_t err_ = (call);                                                                         \
        if (err_ != cudaSuccess) sbo_cuda_fatal(__FILE__, __LINE__, #call, cudaGetErrorString(err_));      \
    } while (0)

#define CUBLAS_CHECK(call)                                                                                 \
    do {                                                                                                   \
        cublasStatus_t st_ = (call);                                                                       \
        if (st_ != CUBLAS_STATUS_SUCCESS) sbo_cuda_fatal(__FILE__, __LINE__, #call, cublasGetStatusString(st_)); \
    } while (0)

static const int k_block = 256;

static inline unsigned grid_for(long threads) {
    return (unsigned)((threads + k_block - 1) / k_block);
}
#endif
