/* core/nn/kernels_vit.h: the per-element bodies of the two ViT pieces (core/nn/op_vit.c) as __host__ __device__
 * functions (STYLE.md pattern 6): op_vit.c runs them through the backend; a CUDA launcher would run one thread per
 * index. Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *
 * add_bcast (a learned positional embedding): u (b, T, C), P (T, C) a parameter, TC = T C elements per sample,
 *   add         y[t] = u[t] + P[t mod TC]               (forward on u, P; jvp on u', P'; NULL: 0), t < b TC
 *   accumulate  u_bar[t] += y_bar[t]                     (vjp on y_bar, tvjp on y_bar')
 *   batch sum   P_bar[j] += sum_s y_bar[s TC + j]        (one index per element j of P, the batch rows summed
 *                                                         inside in order s = 0, 1, ...: race-free, and the same
 *                                                         numbers for any split of the range)
 * mean_tokens (mean pooling): u (b, T, C) -> y (b, C), C the elements per token (a token may be more than 1-D),
 *   mean        y[s, c] = (sum_i u[s, i, c]) / T         (forward on u, jvp on u'), one index per output element,
 *                                                         tokens summed in order i = 0, 1, ...
 *   spread      u_bar[s, i, c] += y_bar[s, c] / T        (vjp on y_bar, tvjp on y_bar'), one index per input
 *                                                         element
 * Both ops are linear: no second-order term, the tvjp is the vjp of the tangent adjoints. Every index writes its
 * own element only.
 * Exercised by: build/test_nn_ops. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_VIT_H
#define SBO_NN_KERNELS_VIT_H
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_vit.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_VIT_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* One add_bcast node's arrays: rows = b, per = T C; u, p the addends (NULL: 0), y the sum; for the adjoints
 * ybar (y_bar or y_bar') and ubar, pbar (NULL: not wanted). */
typedef struct {
    long rows, per;
    const nnk_real *u, *p, *ybar;
    nnk_real *y, *ubar, *pbar;
} NNK(sbo_nn_bcast_args);

/* forward / jvp, element t < rows per: y[t] = u[t] + p[t mod per] */
static inline SBO_HD void NNK(sbo_nn_bcast_add_thread)(long t, const NNK(sbo_nn_bcast_args) *a) {
    if (t < 0 || t >= a->rows * a->per) return;
    a->y[t] = (a->u ? a->u[t] : 0) + (a->p ? a->p[t % a->per] : 0);
}

/* vjp / tvjp on u, element t < rows per: ubar[t] += ybar[t] */
static inline SBO_HD void NNK(sbo_nn_bcast_acc_thread)(long t, const NNK(sbo_nn_bcast_args) *a) {
    if (t < 0 || t >= a->rows * a->per) return;
    a->ubar[t] += a->ybar[t];
}

/* vjp / tvjp on P, element j < per: pbar[j] += the batch rows' ybar[s per + j], summed in batch order */
static inline SBO_HD void NNK(sbo_nn_bcast_sum_thread)(long j, const NNK(sbo_nn_bcast_args) *a) {
    if (j < 0 || j >= a->per) return;
    nnk_real acc = 0;
    for (long s = 0; s < a->rows; s++) acc += a->ybar[s * a->per + j];
    a->pbar[j] += acc;
}

/* One mean_tokens node's arrays: rows = b samples of T tokens of C elements; src, dst as the body says. */
typedef struct {
    long rows;
    int T, C;
    const nnk_real *src;
    nnk_real *dst;
} NNK(sbo_nn_meantok_args);

/* forward / jvp, output element t < rows C (sample s, element c): dst[t] = (sum_i src[s, i, c]) / T; src NULL: 0 */
static inline SBO_HD void NNK(sbo_nn_meantok_mean_thread)(long t, const NNK(sbo_nn_meantok_args) *a) {
    if (t < 0 || t >= a->rows * a->C) return;
    if (!a->src) {
        a->dst[t] = 0;
        return;
    }
    long s = t / a->C, c = t % a->C;
    const nnk_real *u = a->src + s * a->T * a->C + c;
    nnk_real acc = 0;
    for (int i = 0; i < a->T; i++) acc += u[(long)i * a->C];
    a->dst[t] = acc / a->T;
}

/* vjp / tvjp, input element t < rows T C (sample s, token i, element c): dst[t] += src[s, c] / T */
static inline SBO_HD void NNK(sbo_nn_meantok_spread_thread)(long t, const NNK(sbo_nn_meantok_args) *a) {
    long TC = (long)a->T * a->C;
    if (t < 0 || t >= a->rows * TC) return;
    a->dst[t] += a->src[(t / TC) * a->C + t % a->C] / a->T;
}
/* --- range bodies (the kernel table, core/nn/kernels.h): indices [i0, i1) ----------------------------------- */
/* the add over a range: t mod per carried along instead of divided out per element (the same sums) */
static inline SBO_HD void NNK(sbo_nn_bcast_add_body)(long t0, long t1, const void *p) {
    const NNK(sbo_nn_bcast_args) *a = (const NNK(sbo_nn_bcast_args) *)p;
    if (t0 < 0) t0 = 0;
    if (t1 > a->rows * a->per) t1 = a->rows * a->per;
    if (t0 >= t1) return;
    const nnk_real *u = a->u, *pe = a->p, zero = 0;
    nnk_real *y = a->y;
    long j = t0 % a->per;
    for (long t = t0; t < t1; t++) {
        y[t] = (u ? u[t] : zero) + (pe ? pe[j] : zero);
        if (++j == a->per) j = 0;
    }
}
static inline SBO_HD void NNK(sbo_nn_bcast_acc_body)(long t0, long t1, const void *p) {
    for (long t = t0; t < t1; t++) NNK(sbo_nn_bcast_acc_thread)(t, (const NNK(sbo_nn_bcast_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_bcast_sum_body)(long j0, long j1, const void *p) {
    for (long j = j0; j < j1; j++) NNK(sbo_nn_bcast_sum_thread)(j, (const NNK(sbo_nn_bcast_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_meantok_mean_body)(long t0, long t1, const void *p) {
    for (long t = t0; t < t1; t++) NNK(sbo_nn_meantok_mean_thread)(t, (const NNK(sbo_nn_meantok_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_meantok_spread_body)(long t0, long t1, const void *p) {
    for (long t = t0; t < t1; t++) NNK(sbo_nn_meantok_spread_thread)(t, (const NNK(sbo_nn_meantok_args) *)p);
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
