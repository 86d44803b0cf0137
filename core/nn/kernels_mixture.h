/* core/nn/kernels_mixture.h: the per-index bodies of softmax_gather (core/nn/op_mixture.c) as __host__ __device__
 * functions (STYLE.md pattern 6): op_mixture.c runs them through the backend; a CUDA launcher would run one thread
 * per index. Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *
 * softmax_gather (data-mixture weights): x a 1 x K parameter, p = softmax(x), ids one domain per sample,
 *   y_s = c p_{id_s}.
 * With q = <p, x'> the tangent of the softmax is p'_k = p_k (x'_k - q). Write a_k = c sum_{s: id_s = k} ybar_s (the
 * adjoint gathered per domain), A = <a, p> = c sum_s ybar_s p_{id_s}, and the same with ybar' for a', A'. Then
 *   forward     y_s  = c p_{id_s}                                          one index per sample
 *   jvp         y'_s = c p'_{id_s}                                         one index per sample
 *   vjp         x_bar_j  += p_j (a_j - A)                                  one index per element of x
 *   tvjp        x_bar'_j += p'_j (a_j - A) + p_j (a'_j - A' - <a, p'>)     one index per element of x
 * the tvjp being the derivative of the vjp along x' and ybar' (the second derivative of the softmax enters through
 * p' and <a, p'>). Every index recomputes the softmax's max and normaliser (O(K)) and sums the batch in sample order
 * s = 0, 1, ...: no scratch, race-free, the same numbers for any split of the range. Sums in double.
 * Exercised by: build/test_nn_ops. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_MIXTURE_H
#define SBO_NN_KERNELS_MIXTURE_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_mixture.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_MIXTURE_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* One softmax_gather node's arrays: b samples with domain ids[s] in [0, K); x (and its tangent xd, NULL: 0);
 * y / yd the outputs of forward / jvp; ybar, ybd the output adjoint and its tangent (NULL: 0); xbar, xbd the
 * parameter's adjoint and its tangent (NULL: not wanted). */
typedef struct {
    long b;
    int K;
    double coef;
    const int *ids;
    const nnk_real *x, *xd, *ybar, *ybd;
    nnk_real *y, *yd, *xbar, *xbd;
} NNK(sbo_nn_smgather_args);

/* the softmax's max and normaliser, and q = <p, x'> (0 without a tangent) */
typedef struct {
    double mx, Z, q;
} NNK(sbo_nn_smgather_stats);

static inline SBO_HD NNK(sbo_nn_smgather_stats) NNK(sbo_nn_smgather_stats_of)(const NNK(sbo_nn_smgather_args) *a) {
    NNK(sbo_nn_smgather_stats) st;
    st.mx = a->x[0];
    for (int k = 1; k < a->K; k++) st.mx = a->x[k] > st.mx ? (double)a->x[k] : st.mx;
    st.Z = 0;
    double q = 0;
    for (int k = 0; k < a->K; k++) {
        double e = exp((double)a->x[k] - st.mx);
        st.Z += e;
        if (a->xd) q += e * a->xd[k];
    }
    st.q = q / st.Z;
    return st;
}

static inline SBO_HD double NNK(sbo_nn_smgather_p)(const NNK(sbo_nn_smgather_args) *a,
                                                   const NNK(sbo_nn_smgather_stats) *st, int k) {
    return exp((double)a->x[k] - st->mx) / st->Z;
}

/* p'_k = p_k (x'_k - q) */
static inline SBO_HD double NNK(sbo_nn_smgather_pd)(const NNK(sbo_nn_smgather_args) *a,
                                                    const NNK(sbo_nn_smgather_stats) *st, int k) {
    return a->xd ? NNK(sbo_nn_smgather_p)(a, st, k) * ((double)a->xd[k] - st->q) : 0.0;
}

/* forward (y set) and jvp (yd set), sample s < b */
static inline SBO_HD void NNK(sbo_nn_smgather_fwd_thread)(long s, const NNK(sbo_nn_smgather_args) *a) {
    if (s < 0 || s >= a->b) return;
    NNK(sbo_nn_smgather_stats) st = NNK(sbo_nn_smgather_stats_of)(a);
    int i = a->ids[s];
    if (a->y) a->y[s] = (nnk_real)(a->coef * NNK(sbo_nn_smgather_p)(a, &st, i));
    if (a->yd) a->yd[s] = (nnk_real)(a->coef * NNK(sbo_nn_smgather_pd)(a, &st, i));
}

/* vjp (xbar set) and tvjp (xbd set), element j < K */
static inline SBO_HD void NNK(sbo_nn_smgather_bwd_thread)(long j, const NNK(sbo_nn_smgather_args) *a) {
    if (j < 0 || j >= a->K) return;
    NNK(sbo_nn_smgather_stats) st = NNK(sbo_nn_smgather_stats_of)(a);
    double aj = 0, A = 0, adj = 0, Ad = 0, Bp = 0;   /* a_j, A, a'_j, A', <a, p'> (without the factor c) */
    for (long s = 0; s < a->b; s++) {
        int i = a->ids[s];
        double yb = a->ybar ? (double)a->ybar[s] : 0, ybd = a->ybd ? (double)a->ybd[s] : 0;
        double pi = NNK(sbo_nn_smgather_p)(a, &st, i);
        if (i == j) { aj += yb; adj += ybd; }
        A += yb * pi;
        Ad += ybd * pi;
        if (a->xbd && a->xd) Bp += yb * NNK(sbo_nn_smgather_pd)(a, &st, i);
    }
    double c = a->coef, pj = NNK(sbo_nn_smgather_p)(a, &st, (int)j);
    if (a->xbar) a->xbar[j] += (nnk_real)(c * pj * (aj - A));
    if (a->xbd)
        a->xbd[j] += (nnk_real)(c * (NNK(sbo_nn_smgather_pd)(a, &st, (int)j) * (aj - A) + pj * (adj - Ad - Bp)));
}
/* --- range bodies (the kernel table, core/nn/kernels.h): indices [i0, i1) ----------------------------------- */
static inline SBO_HD void NNK(sbo_nn_smg_fwd_body)(long s0, long s1, const void *p) {
    for (long s = s0; s < s1; s++) NNK(sbo_nn_smgather_fwd_thread)(s, (const NNK(sbo_nn_smgather_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_smg_bwd_body)(long j0, long j1, const void *p) {
    for (long j = j0; j < j1; j++) NNK(sbo_nn_smgather_bwd_thread)(j, (const NNK(sbo_nn_smgather_args) *)p);
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
