/* core/cuda/sbo_nn_kernels.cuh: the device side of the engine backend's run (core/nn/backend.h): one launcher
 * that starts, on the backend's stream, the __global__ wrapper of a kernel id (enum sbo_nn_kernel) over the
 * range [0, n), each thread running the kernel's SBO_HD body with its argument struct copied by value.
 * Declared here, defined with the kernel table (for now only a placeholder: core/cuda/sbo_nn_kernels_stub.cu).
 * Internal to core/cuda/; called by core/cuda/sbo_nn_backend_cuda.cu.
 * Exercised by: build/tests/test_cuda (device tests). */
#ifndef SBO_NN_KERNELS_CUH
#define SBO_NN_KERNELS_CUH
#include <cuda_runtime.h>

/* Launches kernel over n >= 1 indices on stream (asynchronous; no synchronization). *arg is the kernel's argument
 * struct (scalars and device pointers) and is read before the call returns. 0 on success; -1 on an unknown id or a
 * failed launch, with the reason in sbo_cuda_last_error() (core/sbo_cuda.h). */
extern "C" int sbo_nn_cuda_launch(int kernel, long n, const void *arg, cudaStream_t stream);
#endif
