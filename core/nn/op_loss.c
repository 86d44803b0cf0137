/* core/nn/op_loss.c: the losses and sample weights.
 *   xent            per-row softmax cross-entropy over the last dim: out = lse(z_s) - z_s[label_s] (bodies in
 *                   core/nn/kernels_xent.h, shared with CUDA); labels: an integer input with one label per row
 *   sigmoid_gather  per-sample weights out_s = sigmoid(x[id_s]) of a 1 x N parameter (data cleaning, §10)
 *   wmean           the weighted mean (1/b) sum_s w_s l_s, or without weights the plain mean of the b x k entries of
 *                   l (k per-sample terms, e.g. per-token losses), summed in double
 * Exercised by: tests/test_nn.c (each op against central differences in double). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"              /* the descriptor */
#include "core/nn/kernels_xent.h"    /* sbo_nn_xent_{forward,backward}_row */
#include "core/nn/kernels_loss.h"    /* the sample weights and the weighted mean */
#include <math.h>
#include <stdio.h>
#include <string.h>

static int xent_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *z = &g->v[n->in[0]], *lab = &g->v[n->in[1]];
    int C = z->dim[z->ndim - 1];
    if (C < 1 || C > SBO_NN_MAX_CLASSES || z->ndim < 2) {
        snprintf(err, errlen, "sbo_nn: xent '%s' has %d classes; 1 to %d are supported (raise SBO_NN_MAX_CLASSES)",
                 out->name, C, SBO_NN_MAX_CLASSES);
        return -1;
    }
    if ((long)lab->rows * lab->cols * C != (long)z->rows * z->cols) {
        snprintf(err, errlen, "sbo_nn: xent '%s': labels '%s' must hold one label per row of the logits", out->name,
                 lab->name);
        return -1;
    }
    out->ndim = z->ndim;
    memcpy(out->dim, z->dim, sizeof z->dim);
    out->dim[z->ndim - 1] = 1;
    out->batched = z->batched;
    return 0;
}

static int gather_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *x = &g->v[n->in[0]], *ids = &g->v[n->in[1]];
    if (x->rows != 1 || ids->cols != 1) {
        snprintf(err, errlen, "sbo_nn: sigmoid_gather '%s' needs a 1 x N parameter and one id per sample", out->name);
        return -1;
    }
    out->ndim = 2;
    out->dim[0] = ids->dim[0];
    out->dim[1] = 1;
    out->batched = ids->batched;
    return 0;
}

static int wmean_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *l = &g->v[n->in[0]];
    if (n->in[1] >= 0 && (l->cols != 1 || g->v[n->in[1]].cols != 1)) {
        snprintf(err, errlen, "sbo_nn: wmean '%s' with weights needs b x 1 inputs", out->name);
        return -1;
    }
    out->ndim = 1;
    out->dim[0] = 1;
    out->batched = 0;
    return 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_loss.c"
#include "core/nn/template.h"

#define LOSS_DESC(op, ...)                                                                                       \
    const sbo_nn_op_desc sbo_nn_op_##op = {                                                                      \
        __VA_ARGS__, .f32 = {op##_forward_f32, op##_jvp_f32, op##_vjp_f32, op##_tvjp_f32},                       \
        .f64 = {op##_forward_f64, op##_jvp_f64, op##_vjp_f64, op##_tvjp_f64}};
LOSS_DESC(xent, .name = "xent", .n_in_min = 2, .n_in_max = 2, .int_inputs = 1u << 1, .shape = xent_shape)
LOSS_DESC(sigmoid_gather, .name = "sigmoid_gather", .n_in_min = 2, .n_in_max = 2, .int_inputs = 1u << 1,
          .param_inputs = 1u << 0, .shape = gather_shape)
LOSS_DESC(wmean, .name = "wmean", .n_in_min = 2, .n_in_max = 2, .shape = wmean_shape)

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

/* --- xent: one body per row, the softmax row on the stack --------------------------------------------------- */
typedef SFX(sbo_nn_xent_args) SFX(xent_arg);

static SFX(xent_arg) SFX(xent_args)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *zv = &c->g->v[c->node->in[0]];
    SFX(xent_arg) a;
    memset(&a, 0, sizeof a);
    a.C = zv->dim[zv->ndim - 1];
    a.rows = sbo_nn_numel(zv, c->b) / a.C;
    a.z = c->in[0]->val;
    a.labels = c->in[1]->ival;
    return a;
}

static void SFX(xent_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(xent_arg) a = SFX(xent_args)(c);
    a.y = c->out->val;
    c->be->run(a.rows, a.C, NN_K(xent_fwd), &a);
}
static void SFX(xent_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(xent_arg) a = SFX(xent_args)(c);
    a.zd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.yd = c->out->dot;
    c->be->run(a.rows, a.C, NN_K(xent_fwd), &a);
}
static void SFX(xent_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(xent_arg) a = SFX(xent_args)(c);
    a.ybar = c->out->bar;
    a.zbar = c->in[0]->bar;
    c->be->run(a.rows, a.C, NN_K(xent_bwd), &a);
}
static void SFX(xent_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(xent_arg) a = SFX(xent_args)(c);
    a.zd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.ybar = c->out->bar;
    a.ybd = c->out->bd;
    a.zbd = c->in[0]->bd;
    c->be->run(a.rows, a.C, NN_K(xent_bwd), &a);
}

/* --- sigmoid_gather: w_s = sigmoid(x[id_s]); the scatter into x's adjoints is one sequential body (repeated
 * ids in a batch add up in sample order) -------------------------------------------------------------------- */
typedef SFX(sbo_nn_sgather_args) SFX(gather_arg);

static SFX(gather_arg) SFX(gather_args)(const SFX(sbo_nn_ctx) *c) {
    SFX(gather_arg) a;
    memset(&a, 0, sizeof a);
    a.b = (int)sbo_nn_numel(&c->g->v[c->node->out], c->b);
    a.ids = c->in[1]->ival;
    a.x = c->in[0]->val;
    a.w = c->out->val;
    return a;
}

static void SFX(sigmoid_gather_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(gather_arg) a = SFX(gather_args)(c);
    a.y = c->out->val;
    c->be->run(a.b, 1, NN_K(sgather_fwd), &a);
}
static void SFX(sigmoid_gather_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(gather_arg) a = SFX(gather_args)(c);
    a.xd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.yd = c->out->dot;
    c->be->run(a.b, 1, NN_K(sgather_fwd), &a);
}
static void SFX(sigmoid_gather_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(gather_arg) a = SFX(gather_args)(c);
    a.wbar = c->out->bar;
    a.xbar = c->in[0]->bar;
    c->be->run(1, a.b, NN_K(sgather_bwd), &a);
}
static void SFX(sigmoid_gather_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(gather_arg) a = SFX(gather_args)(c);
    a.xd = c->in_dot[0] ? c->in[0]->dot : NULL;
    a.wbar = c->out->bar;
    a.wbd = c->out->bd;
    a.xbd = c->in[0]->bd;
    c->be->run(1, a.b, NN_K(sgather_bwd), &a);
}

/* --- wmean: L = (1/n) sum_s w_s l_s over the n entries of l (n = b with weights) ------------------------------ */
typedef SFX(sbo_nn_wmean_args) SFX(wmean_arg);

static long SFX(wmean_n)(const SFX(sbo_nn_ctx) *c) { return sbo_nn_numel(&c->g->v[c->node->in[0]], c->b); }

static void SFX(wmean_forward)(const SFX(sbo_nn_ctx) *c) {
    const SFX(sbo_nn_buf) *w = c->in[1];
    long n = SFX(wmean_n)(c);
    double L = SFX(nn_dot)(c->be, n, c->in[0]->val, w ? w->val : NULL);
    SFX(nn_set1)(c->be, c->out->val, (real)(L / n));
}
static void SFX(wmean_jvp)(const SFX(sbo_nn_ctx) *c) {
    const SFX(sbo_nn_buf) *w = c->in[1];
    SFX(wmean_arg) a = {.n = SFX(wmean_n)(c), .l = c->in[0]->val, .ld = c->in_dot[0] ? c->in[0]->dot : NULL,
                        .w = w ? w->val : NULL, .wd = w && c->in_dot[1] ? w->dot : NULL, .yd = c->out->dot};
    c->be->run(1, a.n, NN_K(wmean_tan), &a);
}
static void SFX(wmean_vjp)(const SFX(sbo_nn_ctx) *c) {
    const SFX(sbo_nn_buf) *w = c->in[1];
    long n = SFX(wmean_n)(c);
    SFX(wmean_arg) a = {.n = n, .l = c->in[0]->val, .w = w ? w->val : NULL, .Lb = SFX(nn_get1)(c->be, c->out->bar) / n,
                        .lbar = c->in_bar[0] ? c->in[0]->bar : NULL, .wbar = w && c->in_bar[1] ? w->bar : NULL};
    c->be->run(n, 1, NN_K(wmean_bwd), &a);
}
static void SFX(wmean_tvjp)(const SFX(sbo_nn_ctx) *c) {
    const SFX(sbo_nn_buf) *w = c->in[1];
    long n = SFX(wmean_n)(c);
    SFX(wmean_arg) a = {.n = n, .l = c->in[0]->val, .ld = c->in_dot[0] ? c->in[0]->dot : NULL,
                        .w = w ? w->val : NULL, .wd = w && c->in_dot[1] ? w->dot : NULL,
                        .Lb = SFX(nn_get1)(c->be, c->out->bar) / n, .Lbd = SFX(nn_get1)(c->be, c->out->bd) / n,
                        .lbd = c->in_bar[0] ? c->in[0]->bd : NULL, .wbd = w && c->in_bar[1] ? w->bd : NULL};
    c->be->run(n, 1, NN_K(wmean_tbwd), &a);
}
#endif
