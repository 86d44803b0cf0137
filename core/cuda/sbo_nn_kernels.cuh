/* core/cuda/sbo_nn_kernels.cuh: the launcher of the kernel table (core/nn/kernels.h) on a device, for the CUDA backend
 * of the engine. Internal to core/cuda/. */
#ifndef SBO_NN_KERNELS_CUH
#define SBO_NN_KERNELS_CUH
#include <cuda_runtime.h>

/* Launches kernel id `kernel` over [0, n), one index per thread, with *arg (the kernel's argument struct, copied by
 * value) on stream. 0, or -1 with the reason in sbo_cuda_last_error() (an unknown id, a failed launch). */
int sbo_nn_cuda_launch(int kernel, long n, const void *arg, cudaStream_t stream);
#endif
