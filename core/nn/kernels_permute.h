/* core/nn/kernels_permute.h: the per-element body of the axis swap (permute) as __host__ __device__ functions
 * (STYLE.md pattern 6): core/nn/op_permute.c runs them through the backend over the output's elements; a CUDA
 * launcher would run one thread per element. Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *
 * The output y has dims od[0..3] (od[0] = the batch rows b, unused dims 1); its element t, at multi-index
 * (i0, i1, i2, i3), is the input element at offset sum_d i_d src_stride[d], where src_stride[d] is the input's
 * stride of the axis that output axis d comes from. The map t -> offset is a bijection, so
 *   gather      y[t] = u[off(t)]              (forward on u, jvp on u'; u NULL: y = 0)
 *   scatter     u_bar[off(t)] += y_bar[t]     (vjp on y_bar, tvjp on y_bar': the inverse permutation; linear,
 *                                              no second-order term)
 * touch each element once: any split of the range gives the same numbers, with no races.
 * Exercised by: build/test_nn_ops. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_PERMUTE_H
#define SBO_NN_KERNELS_PERMUTE_H
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_permute.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_PERMUTE_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* One permute node's arrays: n = b * (elements per sample) output elements; src is read at off(t), dst at t
 * (gather) or the reverse (scatter: src = y_bar at t, dst = u_bar at off(t)). */
typedef struct {
    long n;
    int od[4];
    long src_stride[4];
    const nnk_real *src;
    nnk_real *dst;
} NNK(sbo_nn_permute_args);

/* the input offset of output element t */
static inline SBO_HD long NNK(sbo_nn_permute_offset)(long t, const NNK(sbo_nn_permute_args) *a) {
    long off = 0;
    for (int d = 3; d >= 0; d--) {
        off += (t % a->od[d]) * a->src_stride[d];
        t /= a->od[d];
    }
    return off;
}

/* forward / jvp, element t: dst[t] = src[off(t)] (src NULL: 0) */
static inline SBO_HD void NNK(sbo_nn_permute_gather_thread)(long t, const NNK(sbo_nn_permute_args) *a) {
    if (t < 0 || t >= a->n) return;
    a->dst[t] = a->src ? a->src[NNK(sbo_nn_permute_offset)(t, a)] : 0;
}

/* vjp / tvjp, element t: dst[off(t)] += src[t] */
static inline SBO_HD void NNK(sbo_nn_permute_scatter_thread)(long t, const NNK(sbo_nn_permute_args) *a) {
    if (t < 0 || t >= a->n) return;
    a->dst[NNK(sbo_nn_permute_offset)(t, a)] += a->src[t];
}
/* --- range bodies (the kernel table, core/nn/kernels.h): indices [i0, i1) ----------------------------------- */
static inline SBO_HD void NNK(sbo_nn_permute_gather_body)(long t0, long t1, const void *p) {
    for (long t = t0; t < t1; t++) NNK(sbo_nn_permute_gather_thread)(t, (const NNK(sbo_nn_permute_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_permute_scatter_body)(long t0, long t1, const void *p) {
    for (long t = t0; t < t1; t++) NNK(sbo_nn_permute_scatter_thread)(t, (const NNK(sbo_nn_permute_args) *)p);
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
