/* core/sbo_cuda.h: the CUDA seam (STYLE.md pattern 6). Each launcher has the signature of its CPU
 * function; its kernel's per-thread body is a __host__ __device__ function in core/sbo_kernels.h.
 * Built with CUDA (SBO_WITH_CUDA): core/cuda/sbo_cuda.cu; otherwise core/sbo_cuda_stub.c, whose
 * functions all report "built without CUDA". No library code outside these files includes a CUDA header (tests/test_curand.c does: it compares Philox with cuRAND).
 * Pointers named d_* are device memory (sbo_cuda_alloc). Every int-returning function returns 0 on
 * success and -1 on failure, with the reason in sbo_cuda_last_error().
 * Exercised by: build/tests/test_cuda (device tests skip when sbo_cuda_available says no). */
#ifndef SBO_CUDA_H
#define SBO_CUDA_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when a CUDA device can run our kernels; else 0 with the reason in why (e.g. "built without CUDA",
 * "cudaGetDeviceCount: no CUDA-capable device is detected"). why may be NULL. */
int sbo_cuda_available(char *why, size_t n);
const char *sbo_cuda_last_error(void);
/* One line about the device this process uses into buf (size n): its name, compute capability, the driver's,
 * the runtime's and cuBLAS's versions, e.g. "NVIDIA H200, compute 9.0, driver 13.0, runtime 13.0, cuBLAS 13.0.0".
 * 0 on success; -1 without a device, with the reason in buf (as sbo_cuda_available gives it). */
int sbo_cuda_versions(char *buf, size_t n);
/* Free and total memory of the current device in bytes (cudaMemGetInfo); -1 without a device. */
int sbo_cuda_mem_info(size_t *free_bytes, size_t *total_bytes);

/* Device memory and copies (bytes). */
void *sbo_cuda_alloc(size_t bytes);                 /* NULL on failure */
void sbo_cuda_free(void *d_ptr);
int sbo_cuda_to_device(void *d_dst, const void *src, size_t bytes);
int sbo_cuda_to_host(void *dst, const void *d_src, size_t bytes);

/* y += a x on the device; CPU function: sbo_vec_axpy(long n, double a, const double *x, double *y). */
int sbo_cuda_axpy(long n, double a, const double *d_x, double *d_y);
/* n uniforms of a fresh stream; CPU function: sbo_philox_uniform (core/sbo_rng.h), bit-identical. */
int sbo_cuda_philox_uniform(uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration, long n,
                            double *d_out);

#ifdef __cplusplus
}
#endif
#endif
