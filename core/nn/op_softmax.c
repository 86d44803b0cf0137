/* core/nn/op_softmax.c: softmax over the last axis (attention weights), exact to second order; with the node's
 * causal flag (iarg[0]) the input's last two dims are T x T scores (query, key) and keys after the query are masked
 * (bodies in core/nn/kernels_softmax.h, shared with CUDA).
 * Exercised by: tests/test_nn_ops.c (against direct computation and central differences in double; the mask does
 * not leak). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"                 /* the descriptor */
#include "core/nn/kernels_softmax.h"    /* sbo_nn_softmax_{forward,backward}_row */
#include <stdio.h>
#include <string.h>

static int softmax_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *u = &g->v[n->in[0]];
    int C = u->dim[u->ndim - 1];
    if (C < 1 || C > SBO_NN_MAX_CLASSES) {
        snprintf(err, errlen, "sbo_nn: softmax '%s' has rows of %d entries; 1 to %d are supported (raise "
                 "SBO_NN_MAX_CLASSES)", out->name, C, SBO_NN_MAX_CLASSES);
        return -1;
    }
    if (n->iarg[0] && (u->ndim - 2 < u->batched || u->dim[u->ndim - 2] != C)) {
        snprintf(err, errlen, "sbo_nn: causal softmax '%s': the last two dims of '%s' must be T x T (query, key) "
                 "besides the batch", out->name, u->name);
        return -1;
    }
    return sbo_nn_shape_as(out, u);
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_softmax.c"
#include "core/nn/template.h"

SBO_NN_OP_DESC(softmax, .name = "softmax", .n_in_min = 1, .n_in_max = 1, .shape = softmax_shape);

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_softmax_args) SFX(softmax_arg);


static SFX(softmax_arg) SFX(softmax_args)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *zv = &c->g->v[c->node->in[0]];
    SFX(softmax_arg) a;
    memset(&a, 0, sizeof a);
    a.C = zv->dim[zv->ndim - 1];
    a.T = c->node->iarg[0] ? a.C : 0;
    a.rows = sbo_nn_numel(zv, c->b) / a.C;
    a.z = c->in[0]->val;
    return a;
}

/* The forward's output as the softmax rows of the jvp and the reverse (kernels_softmax.h: the same bits as the
 * statistics of z, without their exps). Every op's derivatives otherwise read inputs only; the executor keeps an
 * activation's value from the forward to the end of the linearization's sweeps unless the activation saving lays it
 * out on its bar' (core/nn/exec.c: val = bd), which a tangent reverse overwrites: then recompute from z. */
static const real *SFX(softmax_stored)(const SFX(sbo_nn_ctx) *c) {
    return c->out->val != c->out->bd ? c->out->val : NULL;
}

static void SFX(softmax_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(softmax_arg) a = SFX(softmax_args)(c);
    a.y = c->out->val;
    c->be->run(a.rows, a.C, NN_K(softmax_fwd), &a);
}
static void SFX(softmax_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(softmax_arg) a = SFX(softmax_args)(c);
    a.zd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.p = SFX(softmax_stored)(c);
    a.yd = c->out->dot;
    c->be->run(a.rows, a.C, NN_K(softmax_fwd), &a);
}
static void SFX(softmax_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(softmax_arg) a = SFX(softmax_args)(c);
    a.p = SFX(softmax_stored)(c);
    a.ybar = c->out->bar;
    a.zbar = c->in[0]->bar;
    c->be->run(a.rows, a.C, NN_K(softmax_bwd), &a);
}
static void SFX(softmax_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(softmax_arg) a = SFX(softmax_args)(c);
    a.zd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.p = SFX(softmax_stored)(c);
    a.ybar = c->out->bar;
    a.ybd = c->out->bd;
    a.zbd = c->in[0]->bd;
    c->be->run(a.rows, a.C, NN_K(softmax_bwd), &a);
}
#endif
