/* core/cuda/sbo_nn_kernels.cu: every entry of the kernel table (core/nn/kernels.h) as a __global__ wrapper around
 * the same SBO_HD body the CPU backend runs: thread t does index t of the range (body(t, t + 1, &args)), so no op's
 * math has a second copy here. One wrapper per (entry, precision), stamped from SBO_NN_KERNEL_LIST; the argument
 * struct travels by value in the launch's parameters. sbo_nn_cuda_launch picks the wrapper by id.
 * Host-side check of the same contract (one index per thread, any order, equals the CPU's chunks bit for bit):
 * the cpu-grid backend (core/nn/backend_cpu.c) and build/test_nn_guarded.
 * Exercised by: the CUDA backend (core/cuda/sbo_nn_backend_cuda.cu); on a device, scripts/gpu_check.sh. */
#include "core/nn/kernels.h"                /* the list, the bodies, the argument structs */
#include "core/cuda/sbo_nn_kernels.cuh"     /* sbo_nn_cuda_launch */
#include "core/cuda/sbo_cuda_common.cuh"    /* CUDA_CHECK, sbo_cuda_error_buf, k_block, grid_for */

#define SBO_NN_WRAPPER_(name, args, sfx)                                                                        \
    __global__ void sbo_nnk_##name##_##sfx(long n, sbo_nn_##args##_args_##sfx a) {                                \
        long t = (long)blockIdx.x * blockDim.x + threadIdx.x;                                                     \
        if (t < n) sbo_nn_##name##_body_##sfx(t, t + 1, &a);                                                      \
    }
#define SBO_NN_WRAPPERS_(name, args) SBO_NN_WRAPPER_(name, args, f32) SBO_NN_WRAPPER_(name, args, f64)
SBO_NN_KERNEL_LIST(SBO_NN_WRAPPERS_)

int sbo_nn_cuda_launch(int kernel, long n, const void *arg, cudaStream_t stream) {
    if (n <= 0) return 0;
    switch (kernel) {
#define SBO_NN_CASE_(name, args, sfx)                                                                           \
    case SBO_NNK_##name##_##sfx:                                                                                  \
        sbo_nnk_##name##_##sfx<<<grid_for(n), k_block, 0, stream>>>(n, *(const sbo_nn_##args##_args_##sfx *)arg); \
        break;
#define SBO_NN_CASES_(name, args) SBO_NN_CASE_(name, args, f32) SBO_NN_CASE_(name, args, f64)
        SBO_NN_KERNEL_LIST(SBO_NN_CASES_)
    default:
        snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "sbo_nn_cuda_launch: unknown kernel id %d (of %d)",
                 kernel, (int)SBO_NN_N_KERNELS);
        return -1;
    }
    CUDA_CHECK(cudaGetLastError());
    return 0;
}
