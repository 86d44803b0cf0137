/* core/cuda/sbo_cuda.cu: CUDA twin of the CPU ops behind core/sbo_cuda.h (STYLE.md pattern 6).
 * Kernels first, then launchers with the CPU function's signature. The per-thread bodies live in
 * core/sbo_kernels.h (__host__ __device__), shared with the host-emulated tests; the Philox round is
 * the one of core/sbo_rng.h, so host and device streams are the same function.
 * Built when WITH_CUDA=ON (nvcc found); runs only where a device exists (none on the project machines).
 * Exercised by: build/tests/test_cuda. */
#include "core/sbo_cuda.h"     /* the seam (extern "C") */
#include "core/sbo_kernels.h"  /* sbo_axpy_thread, sbo_philox_uniform_thread */
#include "core/sbo_rng.h"      /* sbo_stream_key */

#include "core/cuda/sbo_cuda_common.cuh"   /* CUDA_CHECK, sbo_cuda_error_buf, k_block, grid_for, cuBLAS */

// --- error reporting -----------------------------------------------------------------------------
/* The one last-error buffer of the seam (every .cu file of core/cuda/ writes it; sbo_cuda_last_error reads it). */
thread_local char sbo_cuda_error_buf[256] = "no error";

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

extern "C" const char *sbo_cuda_last_error(void) { return sbo_cuda_error_buf; }

/* CUDA encodes versions as 1000 major + 10 minor. */
extern "C" int sbo_cuda_versions(char *buf, size_t n) {
    char why[192];
    if (!sbo_cuda_available(why, sizeof why)) {
        if (buf && n) snprintf(buf, n, "%s", why);
        return -1;
    }
    int dev = 0, driver = 0, runtime = 0, major = 0, minor = 0, patch = 0;
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    CUDA_CHECK(cudaDriverGetVersion(&driver));
    CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
    if (cublasGetProperty(MAJOR_VERSION, &major) != CUBLAS_STATUS_SUCCESS ||
        cublasGetProperty(MINOR_VERSION, &minor) != CUBLAS_STATUS_SUCCESS ||
        cublasGetProperty(PATCH_LEVEL, &patch) != CUBLAS_STATUS_SUCCESS) {
        snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "cublasGetProperty failed");
        return -1;
    }
    if (buf && n)
        snprintf(buf, n, "%s, compute %d.%d, driver %d.%d, runtime %d.%d, cuBLAS %d.%d.%d", prop.name, prop.major,
                 prop.minor, driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10, major, minor,
                 patch);
    return 0;
}

extern "C" int sbo_cuda_mem_info(size_t *free_bytes, size_t *total_bytes) {
    size_t f = 0, t = 0;
    char why[192];
    if (free_bytes) *free_bytes = 0;
    if (total_bytes) *total_bytes = 0;
    if (!sbo_cuda_available(why, sizeof why)) {
        snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "%s", why);
        return -1;
    }
    CUDA_CHECK(cudaMemGetInfo(&f, &t));
    if (free_bytes) *free_bytes = f;
    if (total_bytes) *total_bytes = t;
    return 0;
}

extern "C" void *sbo_cuda_alloc(size_t bytes) {
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
        snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "cudaMalloc(%zu): %s", bytes,
                 cudaGetErrorString(err));
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
        snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf,
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
