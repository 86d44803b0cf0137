/* core/cuda/sbo_nn_kernels_stub.cu: TEMPORARY placeholder of sbo_nn_cuda_launch (core/cuda/sbo_nn_kernels.cuh)
 * until the kernel table is merged: a weak definition that launches nothing and fails, so the CUDA backend links
 * before then. Delete this file when the real definition lands (a weak symbol in a static library may win over a
 * strong one in another member of the same archive, so the two must not coexist).
 * Exercised by: build/tests/test_cuda (device tests; none run without a GPU). */
#include "core/cuda/sbo_nn_kernels.cuh"     /* the declaration */
#include "core/cuda/sbo_cuda_common.cuh"    /* sbo_cuda_error_buf */

extern "C" __attribute__((weak)) int sbo_nn_cuda_launch(int kernel, long n, const void *arg, cudaStream_t stream) {
    (void)n; (void)arg; (void)stream;
    snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf,
             "sbo_nn_cuda_launch(kernel %d): no kernel table linked (placeholder core/cuda/sbo_nn_kernels_stub.cu)",
             kernel);
    return -1;
}
