/* core/nn/kernels_embed.h: the bodies of the token embedding as __host__ __device__ functions (STYLE.md pattern 6):
 * core/nn/op_embed.c runs them through the backend: the gather one call per token row, the scatter of the adjoints
 * into the table one call per range of columns (each column sums its tokens in token order: repeated ids add up
 * the same way on any split, with no races). Two precisions, name_f32 and name_f64 (core/nn/kernels_template.h).
 *
 * Token row s of rows (= b T) with id = ids[s] in [0, V) (not checked here: sbo_nn_set_input_int checked it when the
 * ids were loaded, through the op's int_bound) reads the table entry (id, c) at E[id * sr + c * sc]: sr = C, sc = 1
 * for a V x C table, sr = 1, sc = V for a C x V one (E^T, a tied linear head's weight).
 * y[s, c] = E(id, c); y' = E'(id, c); E_bar(id, c) += y_bar[s, c]; E_bar'(id, c) += y_bar'[s, c] (the op is linear
 * in E: no second-order term).
 * Exercised by: build/tests/test_nn_ops. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_EMBED_H
#define SBO_NN_KERNELS_EMBED_H
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_embed.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_EMBED_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* One embedding node's arrays: ids (rows), the table src (E, E' or, reversed, E_bar, E_bar') and the token rows
 * (rows x C). */
typedef struct {
    long rows;
    int C;
    long sr, sc;
    const int *ids;
    const nnk_real *src;
    nnk_real *dst;
} NNK(sbo_nn_embed_args);

/* Gather, token row s: dst[s, c] = src(ids[s], c); src NULL: zeros (no tangent on the table) */
static inline SBO_HD void NNK(sbo_nn_embed_gather_row)(long s, const NNK(sbo_nn_embed_args) *a) {
    if (s < 0 || s >= a->rows) return;
    nnk_real *d = a->dst + s * a->C;
    const nnk_real *e = a->src ? a->src + (long)a->ids[s] * a->sr : 0;
    for (int c = 0; c < a->C; c++) d[c] = e ? e[c * a->sc] : 0;
}

/* Scatter, columns [j0, j1): tab(ids[s], j) += rows[s, j] over the token rows in order (tab = dst, rows = src) */
static inline SBO_HD void NNK(sbo_nn_embed_scatter_cols)(long j0, long j1, const NNK(sbo_nn_embed_args) *a) {
    if (j0 < 0) j0 = 0;
    if (j1 > a->C) j1 = a->C;
    for (long s = 0; s < a->rows; s++) {
        nnk_real *e = a->dst + (long)a->ids[s] * a->sr;
        const nnk_real *r = a->src + s * a->C;
        for (long j = j0; j < j1; j++) e[j * a->sc] += r[j];
    }
}
/* --- range bodies (the kernel table, core/nn/kernels.h): indices [i0, i1) ----------------------------------- */
static inline SBO_HD void NNK(sbo_nn_embed_gather_body)(long s0, long s1, const void *p) {
    for (long s = s0; s < s1; s++) NNK(sbo_nn_embed_gather_row)(s, (const NNK(sbo_nn_embed_args) *)p);
}
static inline SBO_HD void NNK(sbo_nn_embed_scatter_body)(long j0, long j1, const void *p) { NNK(sbo_nn_embed_scatter_cols)(j0, j1, (const NNK(sbo_nn_embed_args) *)p); }
#endif /* SBO_NN_KERNELS_TEMPLATE */
