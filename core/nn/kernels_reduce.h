/* core/nn/kernels_reduce.h: the bodies of the CUDA backend's deterministic dot product (sdot, ddot of
 * core/nn/backend.h) as __host__ __device__ functions (STYLE.md pattern 6). core/cuda/sbo_nn_backend_cuda.cu runs
 * them as two kernels; tests/test_cuda.c runs the same bodies over an emulated grid on the host.
 *
 * The sum is a fixed two-pass tree, so its bits depend on n alone, never on timing or the order threads run in:
 *   pass 1: G = sbo_nn_dot_grid(n) blocks of SBO_NN_DOT_BLOCK threads; global thread t of T = G * SBO_NN_DOT_BLOCK
 *           adds its elements t, t + T, t + 2T, ... in index order (sbo_nn_dot_thread), then each block halves its
 *           thread sums pairwise, s[i] += s[i + half] for half = BLOCK/2, ..., 1 (sbo_nn_dot_tree_step), and writes
 *           s[0] as partial sum number blk;
 *   pass 2: one block runs the same bodies over the G partial sums (b NULL).
 * The products and sums round separately on the device too (no FMA contraction), so the device gives the host
 * emulation's bits. The CPU backend sums sequentially; the two agree to rounding (about n eps of sum |a_i b_i|).
 * Exercised by: build/tests/test_cuda (emulated grid vs the CPU backend; device vs emulation). */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_REDUCE_H
#define SBO_NN_KERNELS_REDUCE_H
#include "core/sbo_rng.h"   /* SBO_HD */

#define SBO_NN_DOT_BLOCK 256      /* threads of a block in both passes (a power of two: the tree halves it) */
#define SBO_NN_DOT_GRID_MAX 1024  /* blocks of pass 1 at most = partial sums pass 2 adds */

/* Blocks of pass 1: one per SBO_NN_DOT_BLOCK elements, at least 1, at most SBO_NN_DOT_GRID_MAX. */
static inline SBO_HD long sbo_nn_dot_grid(long n) {
    long g = (n + SBO_NN_DOT_BLOCK - 1) / SBO_NN_DOT_BLOCK;
    return g < 1 ? 1 : g > SBO_NN_DOT_GRID_MAX ? SBO_NN_DOT_GRID_MAX : g;
}

/* s + x y with two roundings on host and device alike. */
static inline SBO_HD double sbo_nn_add_product(double s, double x, double y) {
#if defined(__CUDA_ARCH__)
    return __dadd_rn(s, __dmul_rn(x, y));
#else
    return s + x * y;
#endif
}

/* One step of a block's tree over its thread sums s[0 .. 2 half): thread i < half adds s[i + half] into s[i]. */
static inline SBO_HD void sbo_nn_dot_tree_step(int i, int half, double *s) {
    if (i < half) s[i] += s[i + half];
}

#define SBO_NN_KERNELS_FILE "core/nn/kernels_reduce.h"
#include "core/nn/kernels_template.h"   /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_REDUCE_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* Thread t of T: sum of a_i b_i (b NULL: of a_i) over i = t, t + T, ... < n, in double, in index order. */
static inline SBO_HD double NNK(sbo_nn_dot_thread)(long t, long T, long n, const nnk_real *a, const nnk_real *b) {
    double s = 0;
    if (b)
        for (long i = t; i < n; i += T) s = sbo_nn_add_product(s, (double)a[i], (double)b[i]);
    else
        for (long i = t; i < n; i += T) s += (double)a[i];
    return s;
}
#endif
