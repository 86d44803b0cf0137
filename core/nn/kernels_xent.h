/* core/nn/kernels_xent.h: the per-row bodies of the softmax cross-entropy as __host__ __device__ functions
 * (STYLE.md pattern 6): core/nn/op_loss.c runs them through the backend, one call per sample row;
 * core/cuda/sbo_nn_cuda.cu launches them one thread per row; tests/test_cuda.c runs them over an emulated grid.
 * Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h). Arguments: z logits (b x C), labels (b),
 * *dot the forward tangent, *bar the adjoint, *bd = bar'. A row body does nothing outside [0, b).
 *
 * Numerics. On the host exp is evaluated in double and rounded and the softmax sums in double; the device's
 * float32 instance uses expf for the per-element exp and keeps double for the row sum and logsumexp.
 * Exercised by: build/tests/test_cuda, build/tests/test_nn. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_XENT_H
#define SBO_NN_KERNELS_XENT_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_xent.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_XENT_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

static inline SBO_HD nnk_real NNK(sbo_nn_exp)(nnk_real x) {
#if defined(__CUDA_ARCH__) && NNK_IS_FLOAT
    return expf(x);
#else
    return (nnk_real)exp((double)x);
#endif
}

/* --- softmax cross-entropy, one sample row: y = logsumexp(z) - z[label] ------------------------------------ */

/* Row statistics: *mx = max_c z[c], *sum = sum_c e_c with e_c = exp(z[c] - mx) rounded to nnk_real, summed in
 * double. With p given (C entries) also p[c] = e_c / sum rounded, the softmax row. */
static inline SBO_HD void NNK(sbo_nn_softmax_stats)(const nnk_real *z, int C, nnk_real *p, nnk_real *mx,
                                                    double *sum) {
    nnk_real m = z[0];
    for (int c = 1; c < C; c++) if (z[c] > m) m = z[c];
    double s = 0;
    if (p) {
        for (int c = 0; c < C; c++) { p[c] = NNK(sbo_nn_exp)(z[c] - m); s += p[c]; }
        for (int c = 0; c < C; c++) p[c] = (nnk_real)(p[c] / s);
    } else {
        for (int c = 0; c < C; c++) s += NNK(sbo_nn_exp)(z[c] - m);
    }
    *mx = m;
    *sum = s;
}

/* Softmax entry c: the stored row when p is given, else recomputed with the same two roundings (same bits). */
static inline SBO_HD nnk_real NNK(sbo_nn_softmax_p)(const nnk_real *z, int c, nnk_real mx, double sum,
                                                    const nnk_real *p) {
    return p ? p[c] : (nnk_real)(NNK(sbo_nn_exp)(z[c] - mx) / sum);
}

/* Forward and jvp of row s of b (z, zdot: b x C row-major; labels[s] in [0, C)):
 *   y[s] = logsumexp(z_s) - z_s[label];   ydot[s] = <softmax(z_s), zdot_s> - zdot_s[label]  (0 when zdot is NULL).
 * y or ydot may be NULL (not computed). p: scratch of C entries for the softmax row (the CPU executor: a stack
 * array), or NULL to recompute each entry where it is used (the device: no per-thread array); same bits. */
static inline SBO_HD void NNK(sbo_nn_xent_forward_row)(long s, long b, int C, const nnk_real *z, const int *labels,
                                                      const nnk_real *zdot, nnk_real *y, nnk_real *ydot,
                                                      nnk_real *p) {
    if (s < 0 || s >= b) return;
    const nnk_real *zs = z + s * C;
    nnk_real mx;
    double sum;
    NNK(sbo_nn_softmax_stats)(zs, C, p, &mx, &sum);
    int lab = labels[s];
    if (y) {
        nnk_real lse = (nnk_real)(mx + log(sum));
        y[s] = lse - zs[lab];
    }
    if (ydot) {
        nnk_real t = 0;
        if (zdot) {
            const nnk_real *zd = zdot + s * C;
            for (int c = 0; c < C; c++) t += NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) * zd[c];
            t -= zd[lab];
        }
        ydot[s] = t;
    }
}

/* vjp and tvjp of row s of b (accumulating; q = softmax(z_s), e = the label's indicator):
 *   zbar_s += ybar[s] (q - e);
 *   zbd_s  += ybd[s] (q - e) + ybar[s] q .* (zdot_s - <q, zdot_s>)   (last term only with zdot).
 * zbar or zbd may be NULL (not computed); the tvjp reads ybar as well as ybd. p as in the forward. */
static inline SBO_HD void NNK(sbo_nn_xent_backward_row)(long s, long b, int C, const nnk_real *z, const int *labels,
                                                       const nnk_real *zdot, const nnk_real *ybar,
                                                       const nnk_real *ybd, nnk_real *zbar, nnk_real *zbd,
                                                       nnk_real *p) {
    if (s < 0 || s >= b) return;
    const nnk_real *zs = z + s * C;
    nnk_real mx;
    double sum;
    NNK(sbo_nn_softmax_stats)(zs, C, p, &mx, &sum);
    int lab = labels[s];
    nnk_real lb = ybar[s];
    if (zbar) {
        nnk_real *zb = zbar + s * C;
        for (int c = 0; c < C; c++) zb[c] += lb * (NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) - (c == lab));
    }
    if (!zbd) return;
    nnk_real *zr = zbd + s * C, lbd = ybd[s], pz = 0;
    if (zdot) {
        const nnk_real *zd = zdot + s * C;
        for (int c = 0; c < C; c++) pz += NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) * zd[c];
        for (int c = 0; c < C; c++) {
            nnk_real q = NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p);
            zr[c] += lbd * (q - (c == lab)) + lb * q * (zd[c] - pz);
        }
    } else {
        for (int c = 0; c < C; c++) zr[c] += lbd * (NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) - (c == lab));
    }
}
/* --- range bodies (the kernel table, core/nn/kernels.h): rows [s0, s1), the softmax row on the stack ---------- */
typedef struct {
    long rows;
    int C;
    const nnk_real *z, *zd, *ybar, *ybd;
    const int *labels;
    nnk_real *y, *yd, *zbar, *zbd;
} NNK(sbo_nn_xent_args);

static inline SBO_HD void NNK(sbo_nn_xent_fwd_body)(long s0, long s1, const void *p) {
    const NNK(sbo_nn_xent_args) *a = (const NNK(sbo_nn_xent_args) *)p;
    nnk_real q[SBO_NN_MAX_CLASSES];
    for (long s = s0; s < s1; s++) NNK(sbo_nn_xent_forward_row)(s, a->rows, a->C, a->z, a->labels, a->zd, a->y, a->yd, q);
}
static inline SBO_HD void NNK(sbo_nn_xent_bwd_body)(long s0, long s1, const void *p) {
    const NNK(sbo_nn_xent_args) *a = (const NNK(sbo_nn_xent_args) *)p;
    nnk_real q[SBO_NN_MAX_CLASSES];
    for (long s = s0; s < s1; s++)
        NNK(sbo_nn_xent_backward_row)(s, a->rows, a->C, a->z, a->labels, a->zd, a->ybar, a->ybd, a->zbar, a->zbd, q);
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
