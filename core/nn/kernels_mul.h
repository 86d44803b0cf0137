/* core/nn/kernels_mul.h: the per-element bodies of the elementwise product y = u v (core/nn/op_act.c, op `mul`) as
 * __host__ __device__ functions (STYLE.md pattern 6): op_act.c runs them through the backend; a CUDA launcher would
 * run one thread per element. Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *   forward   y[i] = u[i] v[i]
 *   jvp       y'[i] = u'[i] v[i] + u[i] v'[i]                      (an absent tangent, NULL, is 0)
 *   backward  one input's adjoint, w the OTHER input:
 *             vjp  (ybd NULL):   ub = u_bar,  ub[i] += y_bar[i] w[i]
 *             tvjp (ybd = y_bar'): ub = u_bar', ub[i] += y_bar'[i] w[i] + y_bar[i] w'[i]  (w' NULL: 0)
 * Every index writes its own element only.
 * Exercised by: build/test_nn_ops (mul against central differences, in a SwiGLU block). */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_MUL_H
#define SBO_NN_KERNELS_MUL_H
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_mul.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_MUL_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

static inline SBO_HD void NNK(sbo_nn_mul_forward)(long i, const nnk_real *u, const nnk_real *v, nnk_real *y) {
    y[i] = u[i] * v[i];
}

static inline SBO_HD void NNK(sbo_nn_mul_jvp)(long i, const nnk_real *u, const nnk_real *v, const nnk_real *ud,
                                               const nnk_real *vd, nnk_real *y) {
    y[i] = (ud ? ud[i] * v[i] : 0) + (vd ? u[i] * vd[i] : 0);
}

/* ub[i] += (ybd ? ybd w : yb w) + (wd && ybd ? yb wd : 0): the vjp (ybd NULL) and the tvjp (ybd given) */
static inline SBO_HD void NNK(sbo_nn_mul_backward)(long i, const nnk_real *w, const nnk_real *wd, const nnk_real *yb,
                                                    const nnk_real *ybd, nnk_real *ub) {
    if (ybd) ub[i] += ybd[i] * w[i] + (wd ? yb[i] * wd[i] : 0);
    else ub[i] += yb[i] * w[i];
}
/* range bodies (the kernel table, core/nn/kernels.h) */
typedef struct {
    const nnk_real *u, *v, *ud, *vd, *yb, *ybd;
    nnk_real *y, *ub, *vb;
} NNK(sbo_nn_mul_args);

static inline SBO_HD void NNK(sbo_nn_mul_fwd_body)(long i0, long i1, const void *p) {
    const NNK(sbo_nn_mul_args) *a = (const NNK(sbo_nn_mul_args) *)p;
    for (long i = i0; i < i1; i++) NNK(sbo_nn_mul_forward)(i, a->u, a->v, a->y);
}
static inline SBO_HD void NNK(sbo_nn_mul_jvp_body)(long i0, long i1, const void *p) {
    const NNK(sbo_nn_mul_args) *a = (const NNK(sbo_nn_mul_args) *)p;
    for (long i = i0; i < i1; i++) NNK(sbo_nn_mul_jvp)(i, a->u, a->v, a->ud, a->vd, a->y);
}
/* one input's adjoint: ub += yb * v (the tangent form: ub' += ybd * v + yb * vd) */
static inline SBO_HD void NNK(sbo_nn_mul_bwd_body)(long i0, long i1, const void *p) {
    const NNK(sbo_nn_mul_args) *a = (const NNK(sbo_nn_mul_args) *)p;
    for (long i = i0; i < i1; i++) NNK(sbo_nn_mul_backward)(i, a->v, a->vd, a->yb, a->ybd, a->ub);
}
#endif
