/* core/nn/kernels_loss.h: the range bodies of the sample weights and the weighted mean (core/nn/op_loss.c) as
 * __host__ __device__ functions (STYLE.md pattern 6), entries of the kernel table (core/nn/kernels.h). Two
 * precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *   sgather_fwd  w_s = sigmoid(x[id_s]) and its jvp, one index per sample
 *   sgather_bwd  x_bar[id_s] += ..., the whole batch in sample order in index 0 (ids repeat: a serial scatter)
 *   wmean_tan    L' = (1/n) sum_s w_s l'_s + w'_s l_s in one pass in double, written to the output's tangent (index 0)
 *   wmean_bwd, wmean_tbwd  the adjoints of l and w, one index per entry
 * Exercised by: build/test_nn (against central differences), build/test_nn_guarded (emulated grid). */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_LOSS_H
#define SBO_NN_KERNELS_LOSS_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_loss.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_LOSS_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */
static inline SBO_HD nnk_real NNK(sbo_nn_sigmoid)(nnk_real x) { return (nnk_real)(1.0 / (1.0 + exp(-(double)x))); }

typedef struct {
    int b;
    const int *ids;
    const nnk_real *x, *xd, *w, *wbar, *wbd;
    nnk_real *y, *yd, *xbar, *xbd;
} NNK(sbo_nn_sgather_args);

static inline SBO_HD void NNK(sbo_nn_sgather_fwd_body)(long s0, long s1, const void *p) {
    const NNK(sbo_nn_sgather_args) *a = (const NNK(sbo_nn_sgather_args) *)p;
    for (long s = s0; s < s1; s++) {
        nnk_real w = NNK(sbo_nn_sigmoid)(a->x[a->ids[s]]);
        if (a->y) a->y[s] = w;
        if (a->yd) a->yd[s] = a->xd ? w * (1 - w) * a->xd[a->ids[s]] : 0;
    }
}
static inline SBO_HD void NNK(sbo_nn_sgather_bwd_body)(long i0, long i1, const void *p) {   /* run over [0, 1) */
    const NNK(sbo_nn_sgather_args) *a = (const NNK(sbo_nn_sgather_args) *)p;
    if (i0 > 0 || i1 < 1) return;
    for (int s = 0; s < a->b; s++) {
        int i = a->ids[s];
        nnk_real w = a->w[s], d1 = w * (1 - w), d2 = d1 * (1 - 2 * w);
        if (a->xbar) a->xbar[i] += d1 * a->wbar[s];
        if (a->xbd) a->xbd[i] += d1 * a->wbd[s] + (a->xd ? d2 * a->xd[i] * a->wbar[s] : 0);
    }
}

typedef struct {
    long n;
    const nnk_real *l, *ld, *w, *wd;
    nnk_real *yd;                        /* wmean_tan: the output's tangent (one element) */
    nnk_real Lb, Lbd;
    nnk_real *lbar, *lbd, *wbar, *wbd;
} NNK(sbo_nn_wmean_args);

static inline SBO_HD void NNK(sbo_nn_wmean_tan_body)(long i0, long i1, const void *p) {   /* run over [0, 1) */
    const NNK(sbo_nn_wmean_args) *a = (const NNK(sbo_nn_wmean_args) *)p;
    if (i0 > 0 || i1 < 1) return;
    double Ld = 0;
    for (long s = 0; s < a->n; s++) {
        nnk_real ws = a->w ? a->w[s] : 1;
        Ld += (a->ld ? (double)ws * a->ld[s] : 0) + (a->wd ? (double)a->wd[s] * a->l[s] : 0);
    }
    a->yd[0] = (nnk_real)(Ld / a->n);
}
static inline SBO_HD void NNK(sbo_nn_wmean_bwd_body)(long s0, long s1, const void *p) {
    const NNK(sbo_nn_wmean_args) *a = (const NNK(sbo_nn_wmean_args) *)p;
    for (long s = s0; s < s1; s++) {
        nnk_real ws = a->w ? a->w[s] : 1;
        if (a->lbar) a->lbar[s] += a->Lb * ws;
        if (a->wbar) a->wbar[s] += a->Lb * a->l[s];
    }
}
static inline SBO_HD void NNK(sbo_nn_wmean_tbwd_body)(long s0, long s1, const void *p) {
    const NNK(sbo_nn_wmean_args) *a = (const NNK(sbo_nn_wmean_args) *)p;
    for (long s = s0; s < s1; s++) {
        nnk_real ws = a->w ? a->w[s] : 1;
        if (a->lbd) a->lbd[s] += a->Lbd * ws + (a->wd ? a->Lb * a->wd[s] : 0);
        if (a->wbd) a->wbd[s] += a->Lbd * a->l[s] + (a->ld ? a->Lb * a->ld[s] : 0);
    }
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
