/* core/nn/op_embed.c: the token embedding: ids (an integer input, b x T) gather rows of a parameter table E (V x C,
 * or C x V with the node's transposed flag: the weight of a tied linear head) into (b, T, C). Linear in E, so the
 * tvjp is the vjp of y_bar' (bodies in core/nn/kernels_embed.h, shared with CUDA). The table may feed other ops too
 * (tied weights): its adjoints accumulate. Not projectable.
 * Ids outside [0, V) abort when they are loaded (sbo_nn_set_input_int, through the descriptor's int_bound), so the
 * kernels index unchecked.
 * Exercised by: tests/test_nn_ops.c (against direct computation and central differences; a tied head; an id of V
 * or -1 aborts, naming the value, the op and V). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"               /* the descriptor */
#include "core/nn/kernels_embed.h"    /* sbo_nn_embed_gather_row, sbo_nn_embed_scatter_cols */
#include <stdio.h>

static int embed_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *E = &g->v[n->in[0]], *ids = &g->v[n->in[1]];
    if (E->ndim != 2 || !ids->batched || ids->ndim != 2) {
        snprintf(err, errlen, "sbo_nn: embedding '%s' needs a 2-D table and b x T token ids", out->name);
        return -1;
    }
    out->ndim = 3;
    out->dim[0] = ids->dim[0];
    out->dim[1] = ids->dim[1];
    out->dim[2] = n->iarg[0] ? E->dim[0] : E->dim[1];   /* C */
    out->batched = 1;
    return 0;
}

/* token ids index the table's V rows (columns when transposed): checked on each load by sbo_nn_set_input_int */
static int embed_int_bound(const sbo_nn_graph *g, const sbo_nn_node *n, int j) {
    const sbo_nn_value *E = &g->v[n->in[0]];
    return j == 1 ? (n->iarg[0] ? E->dim[1] : E->dim[0]) : 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_embed.c"
#include "core/nn/template.h"

SBO_NN_OP_DESC(embedding, .name = "embedding", .n_in_min = 2, .n_in_max = 2, .int_inputs = 1u << 1,
               .param_inputs = 1u << 0, .shape = embed_shape, .int_bound = embed_int_bound);

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_embed_args) SFX(embed_arg);


/* the node's shape: token rows b T, C, the table's strides */
static SFX(embed_arg) SFX(embed_args)(const SFX(sbo_nn_ctx) *c, const real *src, real *dst) {
    const sbo_nn_value *E = &c->g->v[c->node->in[0]], *ids = &c->g->v[c->node->in[1]];
    int tr = c->node->iarg[0];
    SFX(embed_arg) a = {.rows = sbo_nn_numel(ids, c->b), .C = tr ? E->dim[0] : E->dim[1], .ids = c->in[1]->ival,
                        .src = src, .dst = dst};
    a.sr = tr ? 1 : a.C;
    a.sc = tr ? E->dim[1] : 1;
    return a;
}

static void SFX(embedding_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(embed_arg) a = SFX(embed_args)(c, c->in[0]->val, c->out->val);
    c->be->run(a.rows, a.C, NN_K(embed_gather), &a);
}
static void SFX(embedding_jvp)(const SFX(sbo_nn_ctx) *c) {
    SFX(embed_arg) a = SFX(embed_args)(c, c->in_dot[0] ? c->in[0]->dot : NULL, c->out->dot);
    c->be->run(a.rows, a.C, NN_K(embed_gather), &a);
}
static void SFX(embedding_vjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(embed_arg) a = SFX(embed_args)(c, c->out->bar, c->in[0]->bar);
    c->be->run(a.C, a.rows, NN_K(embed_scatter), &a);
}
static void SFX(embedding_tvjp)(const SFX(sbo_nn_ctx) *c) {
    if (!c->in_bar[0]) return;
    SFX(embed_arg) a = SFX(embed_args)(c, c->out->bd, c->in[0]->bd);
    c->be->run(a.C, a.rows, NN_K(embed_scatter), &a);
}
#endif
