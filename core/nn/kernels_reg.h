/* core/nn/kernels_reg.h: the range body of the L2 regularizer's adjoint (core/nn/op_reg.c) as a __host__ __device__
 * function (STYLE.md pattern 6), an entry of the kernel table (core/nn/kernels.h): dst[i] += c1 x1[i] (+ c2 x2[i]).
 * Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 * Exercised by: build/test_nn (l2 against central differences), build/test_nn_guarded (emulated grid). */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_REG_H
#define SBO_NN_KERNELS_REG_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_reg.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_REG_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */
typedef struct {
    nnk_real c1, c2;
    const nnk_real *x1, *x2;
    nnk_real *dst;
} NNK(sbo_nn_l2_args);

static inline SBO_HD void NNK(sbo_nn_l2_acc_body)(long i0, long i1, const void *p) {   /* dst += c1 x1 (+ c2 x2) */
    const NNK(sbo_nn_l2_args) *a = (const NNK(sbo_nn_l2_args) *)p;
    if (a->x2) for (long i = i0; i < i1; i++) a->dst[i] += a->c1 * a->x1[i] + a->c2 * a->x2[i];
    else for (long i = i0; i < i1; i++) a->dst[i] += a->c1 * a->x1[i] + 0;
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
