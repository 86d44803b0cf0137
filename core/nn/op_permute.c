/* core/nn/op_permute.c: the axis swap of a batched activation (up to 4 dims): axes a and b (counted with the batch
 * as axis 0, so 1 <= a, b < ndim) trade places, e.g. (b, T, H, dh) -> (b, H, T, dh) for multi-head attention and
 * back, or (b, T, C) -> (b, C, T). Linear: the forward and the jvp are one gather, the vjp and the tvjp the inverse
 * permutation of y_bar, y_bar' accumulated into u_bar, u_bar' (bodies in core/nn/kernels_permute.h, shared with
 * CUDA). Exercised by: tests/test_nn_ops.c (against a direct index computation, central differences, a standard
 * multi-head attention block). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"                /* the descriptor */
#include "core/nn/kernels_permute.h"   /* the permute args (bodies: the kernel table) */
#include <stdio.h>

/* the input's dims with axes iarg[0], iarg[1] swapped */
static int permute_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *u = &g->v[n->in[0]];
    int a = n->iarg[0], b = n->iarg[1];
    if (!u->batched || a < 1 || b < 1 || a >= u->ndim || b >= u->ndim || a == b) {
        snprintf(err, errlen, "sbo_nn: permute '%s': cannot swap axes %d and %d of '%s' (%d-D%s): two different "
                 "non-batch axes 1..%d of a batched value", out->name, a, b, u->name, u->ndim,
                 u->batched ? "" : ", not batched", u->ndim - 1);
        return -1;
    }
    sbo_nn_shape_as(out, u);
    out->dim[a] = u->dim[b];
    out->dim[b] = u->dim[a];
    return 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_permute.c"
#include "core/nn/template.h"

SBO_NN_OP_DESC(permute, .name = "permute", .n_in_min = 1, .n_in_max = 1, .shape = permute_shape);

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_permute_args) SFX(permute_arg);


/* the output's dims at batch b and, per output axis, the input's stride of the axis it comes from; axes of extent
 * 1 (the unused dims, a batch of 1) moved to the front, so that od[3] is the longest contiguous output row the
 * bodies can run over (the element order is unchanged: an axis of extent 1 adds nothing to an offset) */
static SFX(permute_arg) SFX(permute_args)(const SFX(sbo_nn_ctx) *c, const real *src, real *dst) {
    const sbo_nn_value *u = &c->g->v[c->node->in[0]];
    int a = c->node->iarg[0], b = c->node->iarg[1];
    long stride[4];
    stride[3] = 1;
    for (int d = 2; d >= 0; d--) stride[d] = stride[d + 1] * u->dim[d + 1];   /* unused dims are 1 */
    SFX(permute_arg) r = {.src = src, .dst = dst};
    int k = 3;
    for (int d = 3; d >= 0; d--) {
        int from = d == a ? b : d == b ? a : d, od = d == 0 ? c->b : u->dim[from];
        if (od == 1) continue;
        r.od[k] = od;
        r.src_stride[k--] = stride[from];
    }
    for (; k >= 0; k--) {
        r.od[k] = 1;
        r.src_stride[k] = 0;
    }
    r.rows = sbo_nn_numel(u, c->b) / r.od[3];
    return r;
}

static void SFX(permute_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(permute_arg) a = SFX(permute_args)(c, c->in[0]->val, c->out->val);
    c->be->run(a.rows, a.od[3], NN_K(permute_gather), &a);
}
static void SFX(permute_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(permute_arg) a = SFX(permute_args)(c, c->in_dot[0] ? c->in[0]->dot : NULL, c->out->dot);
    c->be->run(a.rows, a.od[3], NN_K(permute_gather), &a);
}
static void SFX(permute_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(permute_arg) a = SFX(permute_args)(c, c->out->bar, c->in[0]->bar);
    c->be->run(a.rows, a.od[3], NN_K(permute_scatter), &a);
}
static void SFX(permute_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(permute_arg) a = SFX(permute_args)(c, c->out->bd, c->in[0]->bd);
    c->be->run(a.rows, a.od[3], NN_K(permute_scatter), &a);
}
#endif
