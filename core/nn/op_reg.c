/* core/nn/op_reg.c: the regularizers. l2: out = coef/2 ||theta||^2 of a parameter; on a projected lower parameter
 * its reduced derivatives use P^T theta (computed in the forward pass), so no m x n adjoint is formed (§3.1).
 * Exercised by: tests/test_nn.c (against central differences; reduced = P^T full). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"            /* the descriptor */
#include "core/nn/kernels_reg.h"   /* the adjoint body */
#include <stdio.h>

static int scalar_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    (void)g; (void)n; (void)err; (void)errlen;
    out->ndim = 1;
    out->dim[0] = 1;
    out->batched = 0;
    return 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_reg.c"
#include "core/nn/template.h"

const sbo_nn_op_desc sbo_nn_op_l2 = {
    .name = "l2", .n_in_min = 1, .n_in_max = 1, .projectable = 1u << 0, .param_inputs = 1u << 0,
    .shape = scalar_shape,
    .f32 = {l2_forward_f32, l2_jvp_f32, l2_vjp_f32, l2_tvjp_f32},
    .f64 = {l2_forward_f64, l2_jvp_f64, l2_vjp_f64, l2_tvjp_f64}};

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_l2_args) SFX(l2_arg);

static void SFX(l2_forward)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *uv = &c->g->v[c->node->in[0]];
    const SFX(sbo_nn_buf) *u = c->in[0];
    long n = (long)uv->rows * uv->cols;
    SFX(nn_set1)(c->be, c->out->val, (real)(0.5 * c->node->coef * SFX(nn_dot)(c->be, n, u->val, u->val)));
    if (u->r) SFX(nn_gemm)(c->be, 1, 0, u->r, uv->cols, uv->rows, 1, u->P, u->val, 0, u->Ptheta);   /* P^T theta */
}

static void SFX(l2_jvp)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *uv = &c->g->v[c->node->in[0]];
    const SFX(sbo_nn_buf) *u = c->in[0];
    double sd = 0;
    if (u->r && !c->in_dot_full[0]) sd = SFX(nn_dot)(c->be, (long)u->r * uv->cols, u->Ptheta, u->dot_red);
    else sd = SFX(nn_dot)(c->be, (long)uv->rows * uv->cols, u->val, u->dot);
    SFX(nn_set1)(c->be, c->out->dot, (real)(c->node->coef * sd));
}

static void SFX(l2_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    const sbo_nn_value *uv = &c->g->v[c->node->in[0]];
    const SFX(sbo_nn_buf) *u = c->in[0];
    SFX(l2_arg) a = {SFX(nn_get1)(c->be, c->out->bar) * (real)c->node->coef, 0, u->r ? u->Ptheta : u->val, NULL,
                     u->r ? u->bar_red : u->bar};
    c->be->run((long)(u->r ? u->r : uv->rows) * uv->cols, 1, NN_K(l2_acc), &a);
}

static void SFX(l2_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    const sbo_nn_value *uv = &c->g->v[c->node->in[0]];
    const SFX(sbo_nn_buf) *u = c->in[0];
    real cf = (real)c->node->coef;
    const real *ud = !c->in_dot[0] ? NULL : u->r ? u->dot_red : u->dot;
    SFX(l2_arg) a = {SFX(nn_get1)(c->be, c->out->bd) * cf, SFX(nn_get1)(c->be, c->out->bar) * cf, u->r ? u->Ptheta : u->val, ud, u->r ? u->bd_red : u->bd};
    c->be->run((long)(u->r ? u->r : uv->rows) * uv->cols, 1, NN_K(l2_acc), &a);
}
#endif
