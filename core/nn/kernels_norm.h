/* core/nn/kernels_norm.h: the per-row bodies of the last-axis normalizations (LayerNorm, RMSNorm) as
 * __host__ __device__ functions (STYLE.md pattern 6): core/nn/op_norm.c runs them through the backend, one call per
 * row (input adjoints) or per range of columns (the adjoints of gamma and beta: a sum over rows, in row order).
 * Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h). A body does nothing outside [0, rows).
 *
 * Notation of one row of C entries (center = 1: LayerNorm, 0: RMSNorm, where mu = 0 and no mean is subtracted):
 *   mu = mean(u), r = (mean((u - mu)^2) + eps)^(-1/2), x = (u - mu) r,   y = gamma x + beta.
 *   jvp   x' = r (u' - mean(u') - x mean(x u')),   y' = gamma x' + gamma' x + beta'.
 *   vjp   with g = gamma y_bar:  u_bar += r (g - mean(g) - x mean(g x)).
 *   tvjp  with r' = -r mean(x u') r and g' = gamma y_bar' + gamma' y_bar:
 *         u_bar' += r' (g - mean(g) - x mean(g x)) + r (g' - mean(g') - x' mean(g x) - x mean(g' x + g x'));
 *         gamma_bar += sum_rows y_bar x, beta_bar += sum_rows y_bar; gamma_bar' += sum_rows (y_bar' x + y_bar x'),
 *         beta_bar' += sum_rows y_bar'   (mean(.) over the C entries of the row; mean(u') terms only with center).
 * Numerics: the row statistics mu, r and every mean are accumulated in double; x is rounded to nnk_real once.
 * Exercised by: build/tests/test_nn_ops. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_NORM_H
#define SBO_NN_KERNELS_NORM_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_norm.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_NORM_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* One normalization node's arrays (rows x C row-major; gamma, beta and their derivatives 1 x C; NULL: absent or
 * not computed). The tvjp reads ybar as well as ybd, and ud / gd / betad when the tangent has them. */
typedef struct {
    long rows;
    int C, center;
    double eps;
    const nnk_real *u, *ud, *gamma, *gd, *beta, *betad, *ybar, *ybd;
    nnk_real *y, *yd, *ubar, *ubd, *gbar, *gbd, *betabar, *betabd;
} NNK(sbo_nn_norm_args);

/* mu (0 without center) and r of row s, and with ud the tangent statistics mean(u') (0 without center) and
 * mean(x u') */
static inline SBO_HD void NNK(sbo_nn_norm_stats)(const NNK(sbo_nn_norm_args) *a, long s, double *mu, double *r,
                                                 double *mud, double *mxud) {
    const nnk_real *u = a->u + s * a->C;
    int C = a->C;
    double m = 0, v = 0;
    if (a->center) {
        for (int c = 0; c < C; c++) m += u[c];
        m /= C;
    }
    for (int c = 0; c < C; c++) v += (u[c] - m) * (u[c] - m);
    *mu = m;
    *r = 1.0 / sqrt(v / C + a->eps);
    if (!mud) return;
    double t = 0, tx = 0;
    if (a->ud) {
        const nnk_real *ud = a->ud + s * C;
        for (int c = 0; c < C; c++) {
            t += ud[c];
            tx += (nnk_real)((u[c] - m) * *r) * (double)ud[c];
        }
    }
    *mud = a->center ? t / C : 0;
    *mxud = tx / C;
}

/* x and x' of entry c of row s (x' = 0 without ud) */
static inline SBO_HD nnk_real NNK(sbo_nn_norm_x)(const NNK(sbo_nn_norm_args) *a, long s, int c, double mu, double r) {
    return (nnk_real)((a->u[s * a->C + c] - mu) * r);
}
static inline SBO_HD nnk_real NNK(sbo_nn_norm_xd)(const NNK(sbo_nn_norm_args) *a, long s, int c, nnk_real x, double r,
                                                  double mud, double mxud) {
    return a->ud ? (nnk_real)(r * (a->ud[s * a->C + c] - mud - x * mxud)) : 0;
}

/* The element loops below run the common cases (gamma and beta given, every tangent given) as loops without
 * branches, so that they vectorize on the CPU, and the others through the general loop; each element gets the same
 * arithmetic in the same order either way, so the same bits. */

/* Forward and jvp of row s: y = gamma x + beta (y NULL: not computed); yd = gamma x' + gamma' x + beta' (yd NULL:
 * not computed; each term only when its tangent is given). */
static inline SBO_HD void NNK(sbo_nn_norm_forward_row)(long s, const NNK(sbo_nn_norm_args) *a) {
    if (s < 0 || s >= a->rows) return;
    double mu, r, mud = 0, mxud = 0;
    NNK(sbo_nn_norm_stats)(a, s, &mu, &r, a->yd ? &mud : NULL, &mxud);
    int C = a->C;
    long o = s * C;
    const nnk_real *u = a->u + o, *gm = a->gamma, *bt = a->beta;
    if (a->y) {
        nnk_real *y = a->y + o;
        if (gm && bt)
            for (int c = 0; c < C; c++) y[c] = gm[c] * (nnk_real)((u[c] - mu) * r) + bt[c];
        else
            for (int c = 0; c < C; c++)
                y[c] = (gm ? gm[c] : 1) * NNK(sbo_nn_norm_x)(a, s, c, mu, r) + (bt ? bt[c] : 0);
    }
    if (a->yd) {
        nnk_real *yd = a->yd + o;
        const nnk_real *ud = a->ud ? a->ud + o : 0, *gd = a->gd, *btd = a->betad;
        if (ud && gm && gd && btd)
            for (int c = 0; c < C; c++) {
                nnk_real x = (nnk_real)((u[c] - mu) * r), xd = (nnk_real)(r * (ud[c] - mud - x * mxud));
                yd[c] = gm[c] * xd + gd[c] * x + btd[c];
            }
        else
            for (int c = 0; c < C; c++) {
                nnk_real x = NNK(sbo_nn_norm_x)(a, s, c, mu, r);
                yd[c] = (gm ? gm[c] : 1) * NNK(sbo_nn_norm_xd)(a, s, c, x, r, mud, mxud) + (gd ? gd[c] * x : 0) +
                        (btd ? btd[c] : 0);
            }
    }
}

/* vjp and tvjp of row s into the input (accumulating): ubar from ybar; ubd from ybd, ybar and the tangents. */
static inline SBO_HD void NNK(sbo_nn_norm_backward_row)(long s, const NNK(sbo_nn_norm_args) *a) {
    if (s < 0 || s >= a->rows) return;
    int C = a->C;
    long o = s * C;
    double mu, r, mud, mxud;
    NNK(sbo_nn_norm_stats)(a, s, &mu, &r, &mud, &mxud);
    const nnk_real *u = a->u + o, *gmv = a->gamma, *yb = a->ybar + o;
    /* means of g, g x, and (tvjp) g', g' x + g x' */
    double mg = 0, mgx = 0, mgd = 0, mgdx = 0;
    for (int c = 0; c < C; c++) {
        nnk_real x = NNK(sbo_nn_norm_x)(a, s, c, mu, r), gm = gmv ? gmv[c] : 1;
        double g = (double)gm * yb[c];
        mg += g;
        mgx += g * x;
        if (a->ubd) {
            double gd = (double)gm * a->ybd[o + c] + (a->gd ? (double)a->gd[c] * yb[c] : 0);
            mgd += gd;
            mgdx += gd * x + g * NNK(sbo_nn_norm_xd)(a, s, c, x, r, mud, mxud);
        }
    }
    mg = a->center ? mg / C : 0;
    mgx /= C;
    mgd = a->center ? mgd / C : 0;
    mgdx /= C;
    double rd = -r * r * mxud;
    if (a->ubar && !a->ubd && gmv) {
        nnk_real *ub = a->ubar + o;
        for (int c = 0; c < C; c++) {
            nnk_real x = (nnk_real)((u[c] - mu) * r);
            double g = (double)gmv[c] * yb[c], core = g - mg - x * mgx;
            ub[c] += (nnk_real)(r * core);
        }
        return;
    }
    if (a->ubd && !a->ubar && gmv && a->gd && a->ud) {
        const nnk_real *ybd = a->ybd + o, *gdv = a->gd, *ud = a->ud + o;
        nnk_real *ubd = a->ubd + o;
        for (int c = 0; c < C; c++) {
            nnk_real x = (nnk_real)((u[c] - mu) * r), gm = gmv[c];
            double g = (double)gm * yb[c], core = g - mg - x * mgx;
            double gd = (double)gm * ybd[c] + (double)gdv[c] * yb[c];
            nnk_real xd = (nnk_real)(r * (ud[c] - mud - x * mxud));
            ubd[c] += (nnk_real)(rd * core + r * (gd - mgd - xd * mgx - x * mgdx));
        }
        return;
    }
    for (int c = 0; c < C; c++) {
        nnk_real x = NNK(sbo_nn_norm_x)(a, s, c, mu, r), gm = gmv ? gmv[c] : 1;
        double g = (double)gm * yb[c], core = g - mg - x * mgx;
        if (a->ubar) a->ubar[o + c] += (nnk_real)(r * core);
        if (a->ubd) {
            double gd = (double)gm * a->ybd[o + c] + (a->gd ? (double)a->gd[c] * yb[c] : 0);
            nnk_real xd = NNK(sbo_nn_norm_xd)(a, s, c, x, r, mud, mxud);
            a->ubd[o + c] += (nnk_real)(rd * core + r * (gd - mgd - xd * mgx - x * mgdx));
        }
    }
}

/* The parameters' adjoints over columns [j0, j1), summed over the rows in row order (one range per thread: the
 * row statistics are computed once per row and range): gbar += sum y_bar x, betabar += sum y_bar, gbd += sum
 * (y_bar' x + y_bar x'), betabd += sum y_bar' (each output NULL: not computed). */
static inline SBO_HD void NNK(sbo_nn_norm_param_cols)(long j0, long j1, const NNK(sbo_nn_norm_args) *a) {
    if (j0 < 0) j0 = 0;
    if (j1 > a->C) j1 = a->C;
    for (long s = 0; s < a->rows; s++) {
        double mu, r, mud, mxud;
        NNK(sbo_nn_norm_stats)(a, s, &mu, &r, &mud, &mxud);
        long o = s * a->C;
        const nnk_real *u = a->u + o, *yb = a->ybar + o;
        if (a->gbar && a->betabar && !a->gbd && !a->betabd) {
            nnk_real *gb = a->gbar, *bb = a->betabar;
            for (long j = j0; j < j1; j++) {
                gb[j] += yb[j] * (nnk_real)((u[j] - mu) * r);
                bb[j] += yb[j];
            }
            continue;
        }
        for (long j = j0; j < j1; j++) {
            nnk_real x = NNK(sbo_nn_norm_x)(a, s, (int)j, mu, r);
            if (a->gbar) a->gbar[j] += yb[j] * x;
            if (a->betabar) a->betabar[j] += yb[j];
            if (a->gbd) a->gbd[j] += a->ybd[o + j] * x + yb[j] * NNK(sbo_nn_norm_xd)(a, s, (int)j, x, r, mud, mxud);
            if (a->betabd) a->betabd[j] += a->ybd[o + j];
        }
    }
}
/* --- range bodies (the kernel table, core/nn/kernels.h): indices [i0, i1) ----------------------------------- */
static inline SBO_HD void NNK(sbo_nn_norm_fwd_body)(long s0, long s1, const void *p) {
    for (long s = s0; s < s1; s++) NNK(sbo_nn_norm_forward_row)(s, (const NNK(sbo_nn_norm_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_norm_bwd_body)(long s0, long s1, const void *p) {
    for (long s = s0; s < s1; s++) NNK(sbo_nn_norm_backward_row)(s, (const NNK(sbo_nn_norm_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_norm_param_body)(long j0, long j1, const void *p) { NNK(sbo_nn_norm_param_cols)(j0, j1, (const NNK(sbo_nn_norm_args) *)p); }
#endif /* SBO_NN_KERNELS_TEMPLATE */
