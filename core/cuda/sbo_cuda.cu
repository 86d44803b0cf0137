/* core/cuda/sbo_cuda.cu: CUDA twin of the CPU ops behind core/sbo_cuda.h (STYLE.md pattern 6).
 * Kernels first, then launchers with the CPU function's signature. The per-thread bodies live in
 * core/sbo_kernels.h (__host__ __device__), shared with the host-emulated tests; the Philox round is
 * the one of core/sbo_rng.h, so host and device streams are the same function.
 * Built when WITH_CUDA=ON (nvcc found); runs only where a device exists (none on the project machines).
 * Exercised by: build/tests/test_cuda. */
#include "core/sbo_cuda.h"     /* the seam (extern "C") */
#include "core/sbo_kernels.h"  /* sbo_axpy_thread, sbo_philox_uniform_thread */
#include "core/sbo_rng.h"      /* sbo_stream_key */

#include <cuda_runtime.h>
#include <stdio.h>

// --- error reporting -----------------------------------------------------------------------------
static thread_local char g_last_error[256] = "no error";

/* Records "file:line: call: message" and makes the launcher return -1 (a library never exits). */
#define CUDA_CHECK(call)                                                                                   \
    do {                                                                                                   \
        cudaError_t err_ = (call);                                                                         \
        if (err_ != cudaSuccess) {                                                                         \
            snprintf(g_last_error, sizeof g_last_error, "%s:%d: %s: %s", __FILE__, __LINE__, #call,        \
                     cudaGetErrorString(err_));                                                            \
            return -1;                                                                                     \
        }                                                                                                  \
    } while (0)

static const int k_block = 256;

static unsigned grid_for(long threads) {
    return (unsigned)((threads + k_block - 1) / k_block);
}

// --- kernels -------------------------------------------------------------------------------------
__global__ void sbo_axpy_kernel(long n, double a, const double *x, double *y) {
    long t = (long)blockIdx.x * blockDim.x + threadIdx.x;
    sbo_axpy_thread(t, n, a, x, y);
}

__global__ void sbo_philox_uniform_kernel(long n, uint32_t k0, uint32_t k1, uint32_t iteration, uint32_t block,
                                          uint32_t purpose, double *out) {
    long t = (long)blockIdx.x * blockDim.x + threadIdx.x;
    const uint32_t key[2] = {k0, k1};
    sbo_philox_uniform_thread(t, n, key, iteration, block, purpose, out);
}

// --- launchers -----------------------------------------------------------------------------------
extern "C" int sbo_cuda_available(char *why, size_t n) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count < 1) {
        if (why && n)
            snprintf(why, n, "cudaGetDeviceCount: %s", err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
        cudaGetLastError();   /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    if (why && n) snprintf(why, n, "%d device(s)", count);
    return 1;
}

extern "C" const char *sbo_cuda_last_error(void) { return g_last_error; }

extern "C" void *sbo_cuda_alloc(size_t bytes) {
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
        snprintf(g_last_error, sizeof g_last_error, "cudaMalloc(%zu): %s", bytes, cudaGetErrorString(err));
        return NULL;
    }
    return p;
}

extern "C" void sbo_cuda_free(void *d_ptr) {
    if (d_ptr) cudaFree(d_ptr);
}

extern "C" int sbo_cuda_to_device(void *d_dst, const void *src, size_t bytes) {
    CUDA_CHECK(cudaMemcpy(d_dst, src, bytes, cudaMemcpyHostToDevice));
    return 0;
}

extern "C" int sbo_cuda_to_host(void *dst, const void *d_src, size_t bytes) {
    CUDA_CHECK(cudaMemcpy(dst, d_src, bytes, cudaMemcpyDeviceToHost));
    return 0;
}

extern "C" int sbo_cuda_axpy(long n, double a, const double *d_x, double *d_y) {
    if (n <= 0) return 0;
    sbo_axpy_kernel<<<grid_for(n), k_block>>>(n, a, d_x, d_y);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}

extern "C" int sbo_cuda_philox_uniform(uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration, long n,
                                       double *d_out) {
    if (n <= 0) return 0;
    if (iteration > 0xFFFFFFFFull || n > 2L * 0xFFFFFFFFL) {
        snprintf(g_last_error, sizeof g_last_error,
                 "sbo_cuda_philox_uniform: iteration must fit 32 bits and n <= 2^33 - 2 (stream layout, core/sbo_rng.c)");
        return -1;
    }
    uint32_t key[2];
    sbo_stream_key(seed, key);
    long threads = (n + 1) / 2;   /* one Philox block (two uniforms) per thread */
    sbo_philox_uniform_kernel<<<grid_for(threads), k_block>>>(n, key[0], key[1], (uint32_t)iteration, block, purpose,
                                                              d_out);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
