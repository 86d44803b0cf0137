/* core/nn/kernels_linear.h: the range bodies of the linear op's bias (core/nn/op_linear.c; its GEMMs go through the
 * backend's GEMM) as __host__ __device__ functions (STYLE.md pattern 6), entries of the kernel table
 * (core/nn/kernels.h). Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *   bias_rows  rows s of y (b x n) += bias (n)                 one index per row
 *   colsum     dst[j] += sum_s src[s, j], summed in s order    one index per column
 * Exercised by: build/test_nn (linear against central differences), build/test_nn_guarded (emulated grid). */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_LINEAR_H
#define SBO_NN_KERNELS_LINEAR_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_linear.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_LINEAR_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */
typedef struct {
    int n;
    const nnk_real *src;
    nnk_real *dst;
} NNK(sbo_nn_bias_args);

static inline SBO_HD void NNK(sbo_nn_bias_rows_body)(long s0, long s1, const void *p) {   /* rows s of y += bias */
    const NNK(sbo_nn_bias_args) *a = (const NNK(sbo_nn_bias_args) *)p;
    for (long s = s0; s < s1; s++) {
        nnk_real *y = a->dst + s * a->n;
        for (int j = 0; j < a->n; j++) y[j] += a->src[j];
    }
}

typedef struct {
    int b, n;
    const nnk_real *src;
    nnk_real *dst;
} NNK(sbo_nn_colsum_args);

static inline SBO_HD void NNK(sbo_nn_colsum_body)(long j0, long j1, const void *p) {   /* dst[j] += sum_s src[s, j] */
    const NNK(sbo_nn_colsum_args) *a = (const NNK(sbo_nn_colsum_args) *)p;
    for (int s = 0; s < a->b; s++) {
        const nnk_real *row = a->src + (long)s * a->n;
        for (long j = j0; j < j1; j++) a->dst[j] += row[j];
    }
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
