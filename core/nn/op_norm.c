/* core/nn/op_norm.c: the last-axis normalizations of the transformer blocks (bodies and their derivatives in
 * core/nn/kernels_norm.h, shared with CUDA).
 *   layernorm  y = gamma (u - mean) / sqrt(var + eps) + beta per row of the last axis; inputs u, gamma, beta
 *   rmsnorm    y = gamma u / sqrt(mean(u^2) + eps); inputs u, gamma
 * gamma and beta are optional 1 x C parameters (upper or lower; not projectable); eps is the node's coef.
 * Exercised by: tests/test_nn_ops.c (against direct computation and central differences in double). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"              /* the descriptor */
#include "core/nn/kernels_norm.h"    /* sbo_nn_norm_{forward,backward}_row, sbo_nn_norm_param_cols */
#include <stdio.h>
#include <string.h>

/* output shape = input shape; each affine parameter holds C = the input's last dim entries */
static int norm_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *u = &g->v[n->in[0]];
    int C = u->dim[u->ndim - 1];
    for (int j = 1; j < n->n_in; j++) {
        if (n->in[j] < 0) continue;
        const sbo_nn_value *p = &g->v[n->in[j]];
        if ((long)p->rows * p->cols != C) {
            snprintf(err, errlen, "sbo_nn: %s: parameter '%s' is %d x %d but '%s' has %d entries per row (1 x %d)",
                     out->name, p->name, p->rows, p->cols, u->name, C, C);
            return -1;
        }
    }
    if (n->coef <= 0) {
        snprintf(err, errlen, "sbo_nn: %s: eps must be > 0 (got %g)", out->name, n->coef);
        return -1;
    }
    return sbo_nn_shape_as(out, u);
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_norm.c"
#include "core/nn/template.h"

SBO_NN_OP_DESC(layernorm, .name = "layernorm", .n_in_min = 3, .n_in_max = 3, .param_inputs = (1u << 1) | (1u << 2),
               .shape = norm_shape);
SBO_NN_OP_DESC(rmsnorm, .name = "rmsnorm", .n_in_min = 2, .n_in_max = 2, .param_inputs = 1u << 1, .shape = norm_shape);

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_norm_args) SFX(norm_arg);


/* the node's primal arrays; gamma = in[1], beta = in[2] when present */
static SFX(norm_arg) SFX(norm_args)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *uv = &c->g->v[c->node->in[0]];
    SFX(norm_arg) a;
    memset(&a, 0, sizeof a);
    a.C = uv->dim[uv->ndim - 1];
    a.rows = sbo_nn_numel(uv, c->b) / a.C;
    a.center = c->node->kind == SBO_NN_LAYERNORM;
    a.eps = c->node->coef;
    a.u = c->in[0]->val;
    a.gamma = c->in[1] ? c->in[1]->val : NULL;
    a.beta = c->node->n_in > 2 && c->in[2] ? c->in[2]->val : NULL;
    return a;
}

/* the tangents of the inputs this sweep carries */
static void SFX(norm_tangents)(const SFX(sbo_nn_ctx) *c, SFX(norm_arg) *a) {
    a->ud = c->in_dot[0] ? c->in[0]->dot : NULL;
    a->gd = a->gamma && c->in_dot[1] ? c->in[1]->dot : NULL;
    a->betad = a->beta && c->in_dot[2] ? c->in[2]->dot : NULL;
}

static void SFX(norm_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(norm_arg) a = SFX(norm_args)(c);
    a.y = c->out->val;
    c->be->run(a.rows, a.C, NN_K(norm_fwd), &a);
}

static void SFX(norm_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(norm_arg) a = SFX(norm_args)(c);
    SFX(norm_tangents)(c, &a);
    a.yd = c->out->dot;
    c->be->run(a.rows, a.C, NN_K(norm_fwd), &a);
}

/* tangent = 0: the vjp (adjoints from y_bar); 1: the tvjp (their tangents from y_bar, y_bar' and the tangents) */
static void SFX(norm_reverse)(const SFX(sbo_nn_ctx) *c, int tangent) {
    SFX(norm_arg) a = SFX(norm_args)(c);
    a.ybar = c->out->bar;
    if (tangent) {
        SFX(norm_tangents)(c, &a);
        a.ybd = c->out->bd;
    }
    real *ub = c->in_bar[0] ? (tangent ? c->in[0]->bd : c->in[0]->bar) : NULL;
    real *gb = a.gamma && c->in_bar[1] ? (tangent ? c->in[1]->bd : c->in[1]->bar) : NULL;
    real *bb = a.beta && c->in_bar[2] ? (tangent ? c->in[2]->bd : c->in[2]->bar) : NULL;
    if (ub) {
        if (tangent) a.ubd = ub;
        else a.ubar = ub;
        c->be->run(a.rows, a.C, NN_K(norm_bwd), &a);
        a.ubar = a.ubd = NULL;
    }
    if (gb || bb) {
        if (tangent) { a.gbd = gb; a.betabd = bb; }
        else { a.gbar = gb; a.betabar = bb; }
        c->be->run(a.C, a.rows, NN_K(norm_param), &a);
    }
}

static void SFX(layernorm_forward)(const SFX(sbo_nn_ctx) *c) { SFX(norm_forward)(c); }
static void SFX(layernorm_jvp)(const SFX(sbo_nn_ctx) *c) { SFX(norm_jvp)(c); }
static void SFX(layernorm_vjp)(const SFX(sbo_nn_ctx) *c) { SFX(norm_reverse)(c, 0); }
static void SFX(layernorm_tvjp)(const SFX(sbo_nn_ctx) *c) { SFX(norm_reverse)(c, 1); }
static void SFX(rmsnorm_forward)(const SFX(sbo_nn_ctx) *c) { SFX(norm_forward)(c); }
static void SFX(rmsnorm_jvp)(const SFX(sbo_nn_ctx) *c) { SFX(norm_jvp)(c); }
static void SFX(rmsnorm_vjp)(const SFX(sbo_nn_ctx) *c) { SFX(norm_reverse)(c, 0); }
static void SFX(rmsnorm_tvjp)(const SFX(sbo_nn_ctx) *c) { SFX(norm_reverse)(c, 1); }
#endif
