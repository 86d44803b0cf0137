/* core/cuda/sbo_nn_kernels.cuh: the device side of the engine backend's run (core/nn/backend.h): one launcher
 * that starts, on the backend's stream, the __global__ wrapper of a kernel id (enum sbo_nn_kernel, core/nn/kernels.h)
 * over the range [0, n), each thread running the kernel's SBO_HD body with its argument struct copied by value.
 * Defined with the wrappers in core/cuda/sbo_nn_kernels.cu. Internal to core/cuda/; called by
 * core/cuda/sbo_nn_backend_cuda.cu. */
#ifndef SBO_NN_KERNELS_CUH
#define SBO_NN_KERNELS_CUH
#include <cuda_runtime.h>

/* Launches kernel over [0, n) on stream (asynchronous; no synchronization; n <= 0 does nothing). *arg is the
 * kernel's argument struct (scalars and device pointers), read before the call returns. 0 on success; -1 on an
 * unknown id or a failed launch, with the reason in sbo_cuda_last_error() (core/sbo_cuda.h). */
extern "C" int sbo_nn_cuda_launch(int kernel, long n, const void *arg, cudaStream_t stream);
#endif
