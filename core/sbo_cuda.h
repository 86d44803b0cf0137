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
