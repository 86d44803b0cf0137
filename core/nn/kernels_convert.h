/* core/nn/kernels_convert.h: the per-element bodies of the CUDA backend's own members (core/nn/backend.h) as
 * __host__ __device__ functions (STYLE.md pattern 6): conversion between the algorithm's doubles and the engine's
 * reals (to_*, put_*, from_*), the comparison same_*, and the C = beta C of a GEMM with K = 0.
 * core/cuda/sbo_nn_backend_cuda.cu launches them one thread per element; tests/test_cuda.c runs them over an
 * emulated grid on the host and holds them to the CPU backend (core/nn/backend_cpu.c) bit for bit.
 * A body takes its thread index t and does nothing outside its range, so a grid rounded up to whole blocks is safe.
 * Exercised by: build/tests/test_cuda. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_CONVERT_H
#define SBO_NN_KERNELS_CONVERT_H
#include "core/sbo_rng.h"   /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_convert.h"
#include "core/nn/kernels_template.h"   /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_CONVERT_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* dst[t] = (real)src[t], rounding to nearest; sets *changed to 1 when that changed dst[t] (changed NULL: no
 * comparison, put_*). Threads only ever store 1 into *changed, so concurrent stores agree. */
static inline SBO_HD void NNK(sbo_nn_to_thread)(long t, long n, nnk_real *dst, const double *src, int *changed) {
    if (t < 0 || t >= n) return;
    nnk_real v = (nnk_real)src[t];
    if (changed && v != dst[t]) *changed = 1;
    dst[t] = v;
}

/* dst[t] = src[t] as a double (exact). */
static inline SBO_HD void NNK(sbo_nn_from_thread)(long t, long n, double *dst, const nnk_real *src) {
    if (t < 0 || t >= n) return;
    dst[t] = (double)src[t];
}

/* Sets *differs to 1 when (real)src[t] != dst[t] (same_*: the answer is !*differs). */
static inline SBO_HD void NNK(sbo_nn_same_thread)(long t, long n, const nnk_real *dst, const double *src,
                                                  int *differs) {
    if (t < 0 || t >= n) return;
    if ((nnk_real)src[t] != dst[t]) *differs = 1;
}

/* A GEMM with K = 0 over count row-major M x N matrices C_k = C + k strideC (leading dimension ldc): C_k = beta C_k,
 * where beta 0 writes zeros without reading C. Thread t is entry (k, i, j) in that order. */
static inline SBO_HD void NNK(sbo_nn_scale_thread)(long t, int M, int N, int count, nnk_real beta, nnk_real *C,
                                                   int ldc, long strideC) {
    long mn = (long)M * N;
    if (t < 0 || t >= mn * count) return;
    long k = t / mn, i = t % mn / N, j = t % N;
    nnk_real *c = C + k * strideC + i * ldc + j;
    *c = beta == 0 ? (nnk_real)0 : beta * *c;
}
#endif
