/* core/sbo_kernels.h: per-thread bodies of the CUDA kernels as __host__ __device__ functions
 * (STYLE.md pattern 6). core/cuda/sbo_cuda.cu launches them on a grid; tests/test_cuda.c runs the SAME
 * bodies over an emulated grid on the host and compares with the CPU reference, so the kernels are
 * tested on machines without a GPU. Thread index t = blockIdx.x * blockDim.x + threadIdx.x; a body
 * must do nothing for t outside the problem (the grid is rounded up).
 * Exercised by: build/tests/test_cuda. */
#ifndef SBO_KERNELS_H
#define SBO_KERNELS_H
#include <stdint.h>
#include "core/sbo_rng.h"   /* SBO_HD, sbo_philox4x32_10, sbo_u32x2_to_uniform */

/* y[t] += a x[t]; CPU reference: sbo_vec_axpy (core/sbo_tuple.c). nvcc would contract a*x + y into one
 * FMA (one rounding instead of two); the explicit _rn intrinsics keep the two roundings of the CPU
 * loop, so device and host agree bit for bit. */
static inline SBO_HD void sbo_axpy_thread(long t, long n, double a, const double *x, double *y) {
    if (t < 0 || t >= n) return;
#if defined(__CUDA_ARCH__)
    y[t] = __dadd_rn(y[t], __dmul_rn(a, x[t]));
#else
    y[t] += a * x[t];
#endif
}

/* Thread t computes Philox block t of a fresh stream (key, counter {t, iteration, block, purpose}) and
 * writes uniforms 2t and 2t+1: out[i] equals the i-th sbo_stream_uniform of
 * sbo_stream_init(seed, purpose, block, iteration). CPU reference: sbo_philox_uniform (core/sbo_rng.c).
 * Needs n <= 2 (2^32 - 1). */
static inline SBO_HD void sbo_philox_uniform_thread(long t, long n, const uint32_t key[2], uint32_t iteration,
                                                    uint32_t block, uint32_t purpose, double *out) {
    if (t < 0 || 2 * t >= n) return;
    uint32_t ctr[4] = {(uint32_t)t, iteration, block, purpose};
    uint32_t w[4];
    sbo_philox4x32_10(ctr, key, w);
    out[2 * t] = sbo_u32x2_to_uniform(w[0], w[1]);
    if (2 * t + 1 < n) out[2 * t + 1] = sbo_u32x2_to_uniform(w[2], w[3]);
}
#endif
