/* core/nn/op_mixture.c: softmax_gather, the per-sample weights of a data mixture: out (b x 1) = coef
 * softmax(x)[id_s], x a 1 x K parameter (the upper variable of tasks/data_mixture.c), ids one domain per sample (the
 * graph's default sample-id input). With coef = K and b/K samples per domain, wmean of per-sample losses with these
 * weights is sum_k softmax(x)_k L_k. Its second derivative in x (the cross derivative J and the tangent terms) is in
 * the tvjp; bodies in core/nn/kernels_mixture.h, shared with CUDA.
 * Exercised by: tests/test_nn_ops.c (against a direct computation and central differences in double, float32
 * against float64). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"                /* the descriptor */
#include "core/nn/kernels_mixture.h"   /* sbo_nn_smgather_*_thread */
#include <stdio.h>

static int smgather_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *x = &g->v[n->in[0]], *ids = &g->v[n->in[1]];
    if (x->rows != 1 || x->cols < 1 || ids->cols != 1 || !ids->batched) {
        snprintf(err, errlen, "sbo_nn: softmax_gather '%s' needs a 1 x K parameter and one id per sample; got '%s' "
                 "(%d x %d) and '%s' (%d per sample)", out->name, x->name, x->rows, x->cols, ids->name, ids->cols);
        return -1;
    }
    out->ndim = 2;
    out->dim[0] = ids->dim[0];
    out->dim[1] = 1;
    out->batched = 1;
    return 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_mixture.c"
#include "core/nn/template.h"

SBO_NN_OP_DESC(softmax_gather, .name = "softmax_gather", .n_in_min = 2, .n_in_max = 2, .int_inputs = 1u << 1,
               .param_inputs = 1u << 0, .shape = smgather_shape);

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_smgather_args) SFX(smg_arg);


static SFX(smg_arg) SFX(smg_args)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *x = &c->g->v[c->node->in[0]];
    SFX(smg_arg) a = {.b = c->b, .K = x->cols, .coef = c->node->coef, .ids = c->in[1]->ival, .x = c->in[0]->val};
    return a;
}

static void SFX(softmax_gather_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(smg_arg) a = SFX(smg_args)(c);
    a.y = c->out->val;
    c->be->run(a.b, a.K, NN_K(smg_fwd), &a);
}
static void SFX(softmax_gather_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(smg_arg) a = SFX(smg_args)(c);
    a.xd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.yd = c->out->dot;
    c->be->run(a.b, a.K, NN_K(smg_fwd), &a);
}
static void SFX(softmax_gather_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(smg_arg) a = SFX(smg_args)(c);
    a.ybar = c->out->bar;
    a.xbar = c->in[0]->bar;
    c->be->run(a.K, a.b * a.K, NN_K(smg_bwd), &a);
}
static void SFX(softmax_gather_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(smg_arg) a = SFX(smg_args)(c);
    a.xd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.ybar = c->out->bar;
    a.ybd = c->out->bd;
    a.xbd = c->in[0]->bd;
    c->be->run(a.K, a.b * a.K, NN_K(smg_bwd), &a);
}
#endif
