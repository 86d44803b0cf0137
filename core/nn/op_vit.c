/* core/nn/op_vit.c: the two ViT pieces. add_bcast: out (b, T, C) = u (b, T, C) + P (T, C), P a parameter (upper
 * or lower, not projectable) broadcast over the batch: a learned positional embedding; its adjoint sums y_bar over
 * the batch rows (one index per element of P, the rows in batch order: no races, the same numbers for any thread
 * count). mean_tokens: out (b, C) = the mean over axis 1 of u (b, T, C) (a token may have more dims: out
 * (b, dims[2..])), mean pooling before a classification head. Both linear: the jvp is the forward on the tangents,
 * the tvjp the vjp of y_bar' (bodies in core/nn/kernels_vit.h, shared with CUDA).
 * Exercised by: tests/test_nn_ops.c (against direct computation and central differences, P lower and upper). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"            /* the descriptor */
#include "core/nn/kernels_vit.h"   /* sbo_nn_bcast_*_thread, sbo_nn_meantok_*_thread */
#include <stdio.h>

/* add_bcast: u batched (b, T, C), P a T x C parameter; out the shape of u */
static int bcast_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *u = &g->v[n->in[0]], *P = &g->v[n->in[1]];
    if (!u->batched || u->ndim != 3 || P->ndim != 2 || P->dim[0] != u->dim[1] || P->dim[1] != u->dim[2]) {
        snprintf(err, errlen, "sbo_nn: add_bcast '%s': needs a batched (b, T, C) value and a T x C parameter; got "
                 "'%s' (%d-D%s, %d elements per sample) and '%s' (%d x %d)", out->name, u->name, u->ndim,
                 u->batched ? "" : ", not batched", u->cols, P->name, P->dim[0], P->ndim > 1 ? P->dim[1] : 1);
        return -1;
    }
    return sbo_nn_shape_as(out, u);
}

/* mean_tokens: u batched with at least 2 dims besides the batch; out drops axis 1 */
static int meantok_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *u = &g->v[n->in[0]];
    if (!u->batched || u->ndim < 3) {
        snprintf(err, errlen, "sbo_nn: mean_tokens '%s': needs a batched (b, T, C) value; '%s' is %d-D%s", out->name,
                 u->name, u->ndim, u->batched ? "" : ", not batched");
        return -1;
    }
    out->ndim = u->ndim - 1;
    out->dim[0] = u->dim[0];
    for (int d = 1; d < SBO_NN_MAX_DIMS; d++) out->dim[d] = d + 1 < u->ndim ? u->dim[d + 1] : 1;
    out->batched = 1;
    return 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_vit.c"
#include "core/nn/template.h"

SBO_NN_OP_DESC(add_bcast, .name = "add_bcast", .n_in_min = 2, .n_in_max = 2, .param_inputs = 1u << 1,
               .shape = bcast_shape);
SBO_NN_OP_DESC(mean_tokens, .name = "mean_tokens", .n_in_min = 1, .n_in_max = 1, .shape = meantok_shape);

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_bcast_args) SFX(bcast_arg);
typedef SFX(sbo_nn_meantok_args) SFX(meantok_arg);


/* --- add_bcast ---------------------------------------------------------------------------------------------- */
static SFX(bcast_arg) SFX(bcast_args)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *u = &c->g->v[c->node->in[0]];
    return (SFX(bcast_arg)){.rows = c->b, .per = u->cols};
}

static void SFX(add_bcast_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(bcast_arg) a = SFX(bcast_args)(c);
    a.u = c->in[0]->val;
    a.p = c->in[1]->val;
    a.y = c->out->val;
    c->be->run(a.rows * a.per, 1, NN_K(bcast_add), &a);
}
static void SFX(add_bcast_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(bcast_arg) a = SFX(bcast_args)(c);
    a.u = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.p = c->in_dot[1] ? c->in[1]->dot : NULL;
    a.y = c->out->dot;
    c->be->run(a.rows * a.per, 1, NN_K(bcast_add), &a);
}
/* y_bar (tangent = 0) or y_bar' (1) into u_bar, P_bar or their tangents */
static void SFX(bcast_adjoint)(const SFX(sbo_nn_ctx) *c, int tangent) {
    SFX(bcast_arg) a = SFX(bcast_args)(c);
    a.ybar = tangent ? c->out->bd : c->out->bar;
    if (c->in_bar[0]) {
        a.ubar = tangent ? c->in[0]->bd : c->in[0]->bar;
        c->be->run(a.rows * a.per, 1, NN_K(bcast_acc), &a);
    }
    if (c->in_bar[1]) {
        a.pbar = tangent ? c->in[1]->bd : c->in[1]->bar;
        c->be->run(a.per, a.rows, NN_K(bcast_sum), &a);
    }
}
static void SFX(add_bcast_vjp)(const SFX(sbo_nn_ctx) *c) { SFX(bcast_adjoint)(c, 0); }
static void SFX(add_bcast_tvjp)(const SFX(sbo_nn_ctx) *c) { SFX(bcast_adjoint)(c, 1); }

/* --- mean_tokens -------------------------------------------------------------------------------------------- */
static SFX(meantok_arg) SFX(meantok_args)(const SFX(sbo_nn_ctx) *c, const real *src, real *dst) {
    const sbo_nn_value *u = &c->g->v[c->node->in[0]];
    return (SFX(meantok_arg)){.rows = c->b, .T = u->dim[1], .C = u->cols / u->dim[1], .src = src, .dst = dst};
}

static void SFX(mean_tokens_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(meantok_arg) a = SFX(meantok_args)(c, c->in[0]->val, c->out->val);
    c->be->run(a.rows * a.C, a.T, NN_K(meantok_mean), &a);
}
static void SFX(mean_tokens_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(meantok_arg) a = SFX(meantok_args)(c, c->in_dot[0] ? c->in[0]->dot : NULL, c->out->dot);
    c->be->run(a.rows * a.C, a.T, NN_K(meantok_mean), &a);
}
static void SFX(mean_tokens_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(meantok_arg) a = SFX(meantok_args)(c, c->out->bar, c->in[0]->bar);
    c->be->run(a.rows * a.T * a.C, 1, NN_K(meantok_spread), &a);
}
static void SFX(mean_tokens_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(meantok_arg) a = SFX(meantok_args)(c, c->out->bd, c->in[0]->bd);
    c->be->run(a.rows * a.T * a.C, 1, NN_K(meantok_spread), &a);
}
#endif
