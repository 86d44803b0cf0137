/* core/nn/kernels_permute.h: the per-row body of the axis swap (permute) as __host__ __device__ functions
 * (STYLE.md pattern 6): core/nn/op_permute.c runs them through the backend over the output's rows; a CUDA
 * launcher runs one thread per row. Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *
 * The output y has dims od[0..3] (dims of extent 1 moved to the front, which leaves the element order as it is);
 * its element t, at multi-index (i0, i1, i2, i3), is the input element at offset sum_d i_d src_stride[d], where
 * src_stride[d] is the input's stride of the axis that output axis d comes from. One index of the range is one
 * output row r (i0, i1, i2 fixed): its od[3] elements t = r od[3] + k sit at off(r) + k src_stride[3], so the
 * div / mod of the multi-index is paid once per row. The map t -> offset is a bijection, so
 *   gather      y[t] = u[off(t)]              (forward on u, jvp on u'; u NULL: y = 0)
 *   scatter     u_bar[off(t)] += y_bar[t]     (vjp on y_bar, tvjp on y_bar': the inverse permutation; linear,
 *                                              no second-order term)
 * touch each element once: any split of the rows gives the same numbers, with no races.
 * Exercised by: build/test_nn_ops, build/test_nn_grid. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_PERMUTE_H
#define SBO_NN_KERNELS_PERMUTE_H
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_permute.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_PERMUTE_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* One permute node's arrays: rows = the output's elements / od[3]; src is read at off(t), dst at t (gather) or
 * the reverse (scatter: src = y_bar at t, dst = u_bar at off(t)). */
typedef struct {
    long rows;
    int od[4];
    long src_stride[4];
    const nnk_real *src;
    nnk_real *dst;
} NNK(sbo_nn_permute_args);

/* the input offset of the first element of output row r (multi-index (i0, i1, i2, 0)) */
static inline SBO_HD long NNK(sbo_nn_permute_offset)(long r, const NNK(sbo_nn_permute_args) *a) {
    long off = 0;
    for (int d = 2; d >= 1; d--) {
        off += (r % a->od[d]) * a->src_stride[d];
        r /= a->od[d];
    }
    return off + r * a->src_stride[0];
}

/* forward / jvp, row r: dst[r od3 + k] = src[off(r) + k stride3] (src NULL: 0) */
static inline SBO_HD void NNK(sbo_nn_permute_gather_thread)(long r, const NNK(sbo_nn_permute_args) *a) {
    if (r < 0 || r >= a->rows) return;
    long n3 = a->od[3], s3 = a->src_stride[3];
    nnk_real *d = a->dst + r * n3;
    if (!a->src) {
        for (long k = 0; k < n3; k++) d[k] = 0;
        return;
    }
    const nnk_real *u = a->src + NNK(sbo_nn_permute_offset)(r, a);
    if (s3 == 1)
        for (long k = 0; k < n3; k++) d[k] = u[k];
    else
        for (long k = 0; k < n3; k++) d[k] = u[k * s3];
}

/* vjp / tvjp, row r: dst[off(r) + k stride3] += src[r od3 + k] */
static inline SBO_HD void NNK(sbo_nn_permute_scatter_thread)(long r, const NNK(sbo_nn_permute_args) *a) {
    if (r < 0 || r >= a->rows) return;
    long n3 = a->od[3], s3 = a->src_stride[3];
    const nnk_real *y = a->src + r * n3;
    nnk_real *u = a->dst + NNK(sbo_nn_permute_offset)(r, a);
    if (s3 == 1)
        for (long k = 0; k < n3; k++) u[k] += y[k];
    else
        for (long k = 0; k < n3; k++) u[k * s3] += y[k];
}
/* --- range bodies (the kernel table, core/nn/kernels.h): rows [r0, r1) -------------------------------------- */
static inline SBO_HD void NNK(sbo_nn_permute_gather_body)(long r0, long r1, const void *p) {
    for (long r = r0; r < r1; r++) NNK(sbo_nn_permute_gather_thread)(r, (const NNK(sbo_nn_permute_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_permute_scatter_body)(long r0, long r1, const void *p) {
    for (long r = r0; r < r1; r++) NNK(sbo_nn_permute_scatter_thread)(r, (const NNK(sbo_nn_permute_args) *)p);
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
