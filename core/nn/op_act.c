/* core/nn/op_act.c: the elementwise ops: ReLU, tanh, GELU, SiLU (bodies in core/nn/kernels_act.h, shared with CUDA),
 * the residual sum u + v and the product u v (bodies in core/nn/kernels_mul.h). Exercised by: tests/test_nn.c (each op against central differences in double). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"             /* the descriptor */
#include "core/nn/kernels_act.h"    /* sbo_nn_<act>_{forward,backward}_thread */
#include "core/nn/kernels_mul.h"    /* the product's element bodies */
#include <stdio.h>
#include <string.h>

/* output shape = input shape (activations); add: both inputs the same shape */
static int same_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *u = &g->v[n->in[0]];
    for (int j = 1; j < n->n_in; j++) {
        const sbo_nn_value *v = &g->v[n->in[j]];
        if (v->ndim != u->ndim || v->batched != u->batched || memcmp(v->dim, u->dim, sizeof u->dim) != 0) {
            snprintf(err, errlen, "sbo_nn: %s: inputs '%s' and '%s' differ in shape", out->name, u->name, v->name);
            return -1;
        }
    }
    out->ndim = u->ndim;
    memcpy(out->dim, u->dim, sizeof u->dim);
    out->batched = u->batched;
    return 0;
}

/* reshape: the trailing dims of the node, the same number of elements per sample */
static int reshape_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *u = &g->v[n->in[0]];
    long per = 1;
    for (int d = 0; d < n->iarg[0]; d++) per *= n->shape[d];
    if (!u->batched || per != u->cols) {
        snprintf(err, errlen, "sbo_nn: reshape '%s': '%s' has %d elements per sample, the new shape %ld (and the "
                 "input must be batched)", out->name, u->name, u->cols, per);
        return -1;
    }
    out->ndim = n->iarg[0] + 1;
    out->dim[0] = u->dim[0];
    for (int d = 0; d < n->iarg[0]; d++) out->dim[d + 1] = n->shape[d];
    out->batched = 1;
    return 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_act.c"
#include "core/nn/template.h"

#define ACT_DESC(act)                                                                                            \
    const sbo_nn_op_desc sbo_nn_op_##act = {                                                                     \
        .name = #act, .n_in_min = 1, .n_in_max = 1, .shape = same_shape,                                        \
        .f32 = {act##_forward_f32, act##_jvp_f32, act##_vjp_f32, act##_tvjp_f32},                               \
        .f64 = {act##_forward_f64, act##_jvp_f64, act##_vjp_f64, act##_tvjp_f64}};
ACT_DESC(relu)
ACT_DESC(tanh)
ACT_DESC(gelu)
ACT_DESC(silu)
/* two inputs (under ACT_DESC's arity of 1 every sbo_nn_add aborted) */
SBO_NN_OP_DESC(add, .name = "add", .n_in_min = 2, .n_in_max = 2, .shape = same_shape);
SBO_NN_OP_DESC(mul, .name = "mul", .n_in_min = 2, .n_in_max = 2, .shape = same_shape);
const sbo_nn_op_desc sbo_nn_op_reshape = {
    .name = "reshape", .n_in_min = 1, .n_in_max = 1, .shape = reshape_shape,
    .f32 = {reshape_forward_f32, reshape_jvp_f32, reshape_vjp_f32, reshape_tvjp_f32},
    .f64 = {reshape_forward_f64, reshape_jvp_f64, reshape_vjp_f64, reshape_tvjp_f64}};

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_act_args) SFX(act_arg);

/* The four functions of one activation: forward (y), jvp (y'), vjp (u_bar), tvjp (u_bar'), each one body of
 * core/nn/kernels_act.h run over the b x cols elements. */
#define ACT_FNS(act)                                                                                             \
    static void SFX(act##_forward)(const SFX(sbo_nn_ctx) *c) {                                                   \
        SFX(act_arg) a = {.n = sbo_nn_numel(&c->g->v[c->node->out], c->b), .u = c->in[0]->val, .y = c->out->val}; \
        c->be->run(a.n, 1, NN_K(act##_fwd), &a);                                                             \
    }                                                                                                            \
    static void SFX(act##_jvp)(const SFX(sbo_nn_ctx) *c) {                                                       \
        SFX(act_arg) a = {.n = sbo_nn_numel(&c->g->v[c->node->out], c->b), .u = c->in[0]->val,                  \
                          .ud = c->in_dot[0] ? c->in[0]->dot : NULL, .yd = c->out->dot};                         \
        c->be->run(a.n, 1, NN_K(act##_fwd), &a);                                                             \
    }                                                                                                            \
    static void SFX(act##_vjp)(const SFX(sbo_nn_ctx) *c) {                                                       \
        if (!c->in_bar[0]) return;                                                                               \
        SFX(act_arg) a = {.n = sbo_nn_numel(&c->g->v[c->node->out], c->b), .u = c->in[0]->val,                  \
                          .ybar = c->out->bar, .ubar = c->in[0]->bar};                                           \
        c->be->run(a.n, 1, NN_K(act##_bwd), &a);                                                             \
    }                                                                                                            \
    static void SFX(act##_tvjp)(const SFX(sbo_nn_ctx) *c) {                                                      \
        if (!c->in_bar[0]) return;                                                                               \
        SFX(act_arg) a = {.n = sbo_nn_numel(&c->g->v[c->node->out], c->b), .u = c->in[0]->val,                  \
                          .ud = c->in_dot[0] ? c->in[0]->dot : NULL, .ybar = c->out->bar, .ybd = c->out->bd,    \
                          .ubd = c->in[0]->bd};                                                                  \
        c->be->run(a.n, 1, NN_K(act##_bwd), &a);                                                             \
    }
ACT_FNS(relu)
ACT_FNS(tanh)
ACT_FNS(gelu)
ACT_FNS(silu)
#undef ACT_FNS

/* --- add: y = u + v ---------------------------------------------------------------------------------------- */
typedef SFX(sbo_nn_add_args) SFX(add_arg);

/* the four functions of add (two inputs) and reshape (one: y = u, a copy) */
static void SFX(add_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(add_arg) a = {c->in[0]->val, c->in[1] ? c->in[1]->val : NULL, c->out->val};
    c->be->run(sbo_nn_numel(&c->g->v[c->node->out], c->b), 1, NN_K(add), &a);
}
static void SFX(add_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(add_arg) a = {c->in_dot[0] ? c->in[0]->dot : NULL, c->in[1] && c->in_dot[1] ? c->in[1]->dot : NULL,
                      c->out->dot};
    c->be->run(sbo_nn_numel(&c->g->v[c->node->out], c->b), 1, NN_K(add), &a);
}
static void SFX(add_vjp)(const SFX(sbo_nn_ctx) *c) {
    long n = sbo_nn_numel(&c->g->v[c->node->out], c->b);
    for (int j = 0; j < c->node->n_in; j++) {
        if (!c->in_bar[j]) continue;
        SFX(add_arg) a = {c->out->bar, NULL, c->in[j]->bar};
        c->be->run(n, 1, NN_K(acc), &a);
    }
}
static void SFX(add_tvjp)(const SFX(sbo_nn_ctx) *c) {
    long n = sbo_nn_numel(&c->g->v[c->node->out], c->b);
    for (int j = 0; j < c->node->n_in; j++) {
        if (!c->in_bar[j]) continue;
        SFX(add_arg) a = {c->out->bd, NULL, c->in[j]->bd};
        c->be->run(n, 1, NN_K(acc), &a);
    }
}
/* --- mul: y = u v ----------------------------------------------------------------------------------------------
 * y' = u' v + u v';  u_bar += y_bar v, v_bar += y_bar u;  u_bar' += y_bar' v + y_bar v', v_bar' += y_bar' u + y_bar u'
 * (an absent tangent is 0). */
typedef SFX(sbo_nn_mul_args) SFX(mul_arg);

static void SFX(mul_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(mul_arg) a = {.u = c->in[0]->val, .v = c->in[1]->val, .y = c->out->val};
    c->be->run(sbo_nn_numel(&c->g->v[c->node->out], c->b), 2, NN_K(mul_fwd), &a);
}
static void SFX(mul_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(mul_arg) a = {.u = c->in[0]->val, .v = c->in[1]->val, .ud = c->in_dot[0] ? c->in[0]->dot : NULL,
                      .vd = c->in_dot[1] ? c->in[1]->dot : NULL, .y = c->out->dot};
    c->be->run(sbo_nn_numel(&c->g->v[c->node->out], c->b), 4, NN_K(mul_jvp), &a);
}
static void SFX(mul_vjp)(const SFX(sbo_nn_ctx) *c) {
    long n = sbo_nn_numel(&c->g->v[c->node->out], c->b);
    for (int j = 0; j < 2; j++) {
        if (!c->in_bar[j]) continue;
        SFX(mul_arg) a = {.v = c->in[1 - j]->val, .yb = c->out->bar, .ub = c->in[j]->bar};
        c->be->run(n, 2, NN_K(mul_bwd), &a);
    }
}
static void SFX(mul_tvjp)(const SFX(sbo_nn_ctx) *c) {
    long n = sbo_nn_numel(&c->g->v[c->node->out], c->b);
    for (int j = 0; j < 2; j++) {
        if (!c->in_bar[j]) continue;
        SFX(mul_arg) a = {.v = c->in[1 - j]->val, .vd = c->in_dot[1 - j] ? c->in[1 - j]->dot : NULL,
                          .yb = c->out->bar, .ybd = c->out->bd, .ub = c->in[j]->bd};
        c->be->run(n, 4, NN_K(mul_bwd), &a);
    }
}

static void SFX(reshape_forward)(const SFX(sbo_nn_ctx) *c) { SFX(add_forward)(c); }
static void SFX(reshape_jvp)(const SFX(sbo_nn_ctx) *c) { SFX(add_jvp)(c); }
static void SFX(reshape_vjp)(const SFX(sbo_nn_ctx) *c) { SFX(add_vjp)(c); }
static void SFX(reshape_tvjp)(const SFX(sbo_nn_ctx) *c) { SFX(add_tvjp)(c); }
#endif
