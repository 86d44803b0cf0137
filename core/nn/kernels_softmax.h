/* core/nn/kernels_softmax.h: the per-row bodies of the softmax over the last axis, optionally causal, as
 * __host__ __device__ functions (STYLE.md pattern 6): core/nn/op_softmax.c runs them through the backend, one call
 * per row. Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h). A body does nothing outside
 * [0, rows). The row statistics are those of the cross-entropy (core/nn/kernels_xent.h: exp in double, sums in
 * double), so a softmax here and the one inside xent give the same bits.
 *
 * Row s of C entries, p = softmax(z_s) over its first n entries and 0 beyond (n = C; causal: the rows are those of
 * T x T blocks, query i = s mod T, and n = i + 1: keys j > i are masked as -inf):
 *   forward  y = p;                               jvp   y' = p .* (z' - <p, z'>)
 *   vjp      z_bar += p .* (y_bar - <p, y_bar>)
 *   tvjp     z_bar' += p .* (y_bar' - <p, y_bar'>) + p' .* (y_bar - <p, y_bar>) - p <p', y_bar>,  p' = the jvp's y'.
 * Masked entries have p = p' = 0: they get y = y' = 0 and no adjoint.
 * Exercised by: build/tests/test_nn_ops. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_SOFTMAX_H
#define SBO_NN_KERNELS_SOFTMAX_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#include "core/nn/kernels_xent.h"      /* sbo_nn_softmax_stats, sbo_nn_softmax_p */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_softmax.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_SOFTMAX_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* One softmax node's arrays (rows x C row-major; NULL: not given or not computed). T: the causal block size
 * (0: no mask). The tvjp reads ybar as well as ybd, and zd when the tangent has it. p: the forward's output y at
 * this z, when the jvp and the reverse may read it instead of recomputing the softmax from z (NULL: recompute);
 * y holds the softmax row exactly as the statistics round it (p[c] of sbo_nn_softmax_stats), so the bits are the
 * same either way, without the row's exps. */
typedef struct {
    long rows;
    int C, T;
    const nnk_real *z, *zd, *ybar, *ybd, *p;
    nnk_real *y, *yd, *zbar, *zbd;
} NNK(sbo_nn_softmax_args);

/* The unmasked length of row s */
static inline SBO_HD int NNK(sbo_nn_softmax_len)(const NNK(sbo_nn_softmax_args) *a, long s) {
    return a->T ? (int)(s % a->T) + 1 : a->C;
}

/* <p, v> over the first n entries of row s, in double */
static inline SBO_HD double NNK(sbo_nn_softmax_dotp)(const nnk_real *zs, int n, nnk_real mx, double sum,
                                                     const nnk_real *p, const nnk_real *v) {
    double t = 0;
    for (int c = 0; c < n; c++) t += (double)NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) * v[c];
    return t;
}

/* The softmax row s where the body reads it: the forward's stored row a->p when given (mx and sum unused), else
 * the statistics of z into the scratch p (or, p NULL, mx and sum alone) */
static inline SBO_HD const nnk_real *NNK(sbo_nn_softmax_row)(const NNK(sbo_nn_softmax_args) *a, long s, int n,
                                                          nnk_real *p, nnk_real *mx, double *sum) {
    if (a->p) {
        *mx = 0;
        *sum = 1;
        return a->p + s * a->C;
    }
    NNK(sbo_nn_softmax_stats)(a->z + s * a->C, n, p, mx, sum);
    return p;
}

/* Forward and jvp of row s: y (NULL: not computed), yd (NULL: not computed; 0 without zd). p: scratch of C entries
 * for the softmax row (the CPU: a stack array), or NULL to recompute each entry where used (same bits). */
static inline SBO_HD void NNK(sbo_nn_softmax_forward_row)(long s, const NNK(sbo_nn_softmax_args) *a, nnk_real *p) {
    if (s < 0 || s >= a->rows) return;
    int C = a->C, n = NNK(sbo_nn_softmax_len)(a, s);
    const nnk_real *zs = a->z + s * C;
    nnk_real mx;
    double sum;
    const nnk_real *pr = NNK(sbo_nn_softmax_row)(a, s, n, p, &mx, &sum);
    if (a->y) {
        nnk_real *y = a->y + s * C;
        for (int c = 0; c < C; c++) y[c] = c < n ? NNK(sbo_nn_softmax_p)(zs, c, mx, sum, pr) : 0;
    }
    if (a->yd) {
        nnk_real *yd = a->yd + s * C;
        if (!a->zd) {
            for (int c = 0; c < C; c++) yd[c] = 0;
            return;
        }
        const nnk_real *zd = a->zd + s * C;
        double pz = NNK(sbo_nn_softmax_dotp)(zs, n, mx, sum, pr, zd);
        for (int c = 0; c < C; c++) yd[c] = c < n ? (nnk_real)(NNK(sbo_nn_softmax_p)(zs, c, mx, sum, pr) * (zd[c] - pz)) : 0;
    }
}

/* vjp and tvjp of row s (accumulating): zbar from ybar; zbd from ybd, ybar and zd. Either may be NULL. */
static inline SBO_HD void NNK(sbo_nn_softmax_backward_row)(long s, const NNK(sbo_nn_softmax_args) *a, nnk_real *p) {
    if (s < 0 || s >= a->rows) return;
    int C = a->C, n = NNK(sbo_nn_softmax_len)(a, s);
    long o = s * C;
    const nnk_real *zs = a->z + o;
    nnk_real mx;
    double sum;
    const nnk_real *pr = NNK(sbo_nn_softmax_row)(a, s, n, p, &mx, &sum);
    double pb = NNK(sbo_nn_softmax_dotp)(zs, n, mx, sum, pr, a->ybar + o);
    if (a->zbar)
        for (int c = 0; c < n; c++)
            a->zbar[o + c] += (nnk_real)(NNK(sbo_nn_softmax_p)(zs, c, mx, sum, pr) * (a->ybar[o + c] - pb));
    if (!a->zbd) return;
    double pbd = NNK(sbo_nn_softmax_dotp)(zs, n, mx, sum, pr, a->ybd + o), pz = 0, pdb = 0;
    if (a->zd) {   /* <p, z'> and <p', y_bar> */
        pz = NNK(sbo_nn_softmax_dotp)(zs, n, mx, sum, pr, a->zd + o);
        for (int c = 0; c < n; c++)
            pdb += (double)NNK(sbo_nn_softmax_p)(zs, c, mx, sum, pr) * (a->zd[o + c] - pz) * a->ybar[o + c];
    }
    for (int c = 0; c < n; c++) {
        double q = NNK(sbo_nn_softmax_p)(zs, c, mx, sum, pr), t = q * (a->ybd[o + c] - pbd);
        if (a->zd) t += q * (a->zd[o + c] - pz) * (a->ybar[o + c] - pb) - q * pdb;
        a->zbd[o + c] += (nnk_real)t;
    }
}
/* --- range bodies (the kernel table, core/nn/kernels.h): indices [i0, i1) ----------------------------------- */
static inline SBO_HD void NNK(sbo_nn_softmax_fwd_body)(long s0, long s1, const void *p) {
    nnk_real q[SBO_NN_MAX_CLASSES];
    for (long s = s0; s < s1; s++) NNK(sbo_nn_softmax_forward_row)(s, (const NNK(sbo_nn_softmax_args) *)p, q);
}
static inline SBO_HD void NNK(sbo_nn_softmax_bwd_body)(long s0, long s1, const void *p) {
    nnk_real q[SBO_NN_MAX_CLASSES];
    for (long s = s0; s < s1; s++) NNK(sbo_nn_softmax_backward_row)(s, (const NNK(sbo_nn_softmax_args) *)p, q);
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
