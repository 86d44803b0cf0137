/* core/sbo_nn_graph.c: building and checking the precision-free graph of core/sbo_nn.h.
 * Exercised by: tests/test_nn.c, tasks/neural.c. */
#include "core/sbo_nn.h"   /* the interface */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_names[] = {"linear", "relu", "tanh", "gelu", "xent", "sigmoid_gather", "wmean", "l2"};

const char *sbo_nn_kind_name(int kind) {
    return kind >= 0 && kind <= SBO_NN_L2 ? kind_names[kind] : "?";
}

void sbo_nn_graph_init(sbo_nn_graph *g, int max_batch) {
    memset(g, 0, sizeof *g);
    g->max_batch = max_batch;
}

static int add_value(sbo_nn_graph *g, const char *name, int role, int rows, int cols) {
    if (g->n_values >= SBO_NN_MAX_VALUES) {
        fprintf(stderr, "sbo_nn: more than %d values (adding '%s'); raise SBO_NN_MAX_VALUES\n", SBO_NN_MAX_VALUES, name);
        abort();
    }
    sbo_nn_value *v = &g->v[g->n_values];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->role = role;
    v->rows = rows;
    v->cols = cols;
    v->block = -1;
    return g->n_values++;
}

static int add_op(sbo_nn_graph *g, int kind, int in0, int in1, int in2, int out, double coef) {
    if (g->n_ops >= SBO_NN_MAX_OPS) {
        fprintf(stderr, "sbo_nn: more than %d ops; raise SBO_NN_MAX_OPS\n", SBO_NN_MAX_OPS);
        abort();
    }
    sbo_nn_op *o = &g->op[g->n_ops++];
    o->kind = kind;
    o->in[0] = in0; o->in[1] = in1; o->in[2] = in2;
    o->out = out;
    o->coef = coef;
    return out;
}

int sbo_nn_input(sbo_nn_graph *g, const char *name, int cols) {
    return add_value(g, name, SBO_NN_INPUT, g->max_batch, cols);
}

int sbo_nn_param_upper(sbo_nn_graph *g, const char *name, int rows, int cols, long offset_in_x) {
    int id = add_value(g, name, SBO_NN_PARAM, rows, cols);
    g->v[id].group = SBO_NN_UPPER;
    g->v[id].offset = offset_in_x;
    return id;
}

int sbo_nn_param_lower(sbo_nn_graph *g, const char *name, int rows, int cols, int block) {
    int id = add_value(g, name, SBO_NN_PARAM, rows, cols);
    g->v[id].group = SBO_NN_LOWER;
    g->v[id].block = block;
    return id;
}

int sbo_nn_linear(sbo_nn_graph *g, const char *name, int in, int weight, int bias) {
    int out = add_value(g, name, SBO_NN_ACT, g->max_batch, g->v[weight].cols);
    return add_op(g, SBO_NN_LINEAR, in, weight, bias, out, 0);
}

int sbo_nn_activation(sbo_nn_graph *g, const char *name, int kind, int in) {
    int out = add_value(g, name, SBO_NN_ACT, g->max_batch, g->v[in].cols);
    return add_op(g, kind, in, -1, -1, out, 0);
}

int sbo_nn_xent(sbo_nn_graph *g, const char *name, int logits) {
    int out = add_value(g, name, SBO_NN_ACT, g->max_batch, 1);
    return add_op(g, SBO_NN_XENT, logits, -1, -1, out, 0);
}

int sbo_nn_sigmoid_gather(sbo_nn_graph *g, const char *name, int x_param) {
    int out = add_value(g, name, SBO_NN_ACT, g->max_batch, 1);
    return add_op(g, SBO_NN_SIGMOID_GATHER, x_param, -1, -1, out, 0);
}

int sbo_nn_wmean(sbo_nn_graph *g, const char *name, int per_sample, int weights) {
    int out = add_value(g, name, SBO_NN_ACT, 1, 1);
    return add_op(g, SBO_NN_WMEAN, per_sample, weights, -1, out, 0);
}

int sbo_nn_l2(sbo_nn_graph *g, const char *name, int param, double coef) {
    int out = add_value(g, name, SBO_NN_ACT, 1, 1);
    return add_op(g, SBO_NN_L2, param, -1, -1, out, coef);
}

void sbo_nn_mark_loss(sbo_nn_graph *g, int value) { g->v[value].is_loss = 1; }

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int sbo_nn_graph_check(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, char *err, size_t errlen) {
    int n_loss = 0, uses[SBO_NN_MAX_VALUES] = {0};
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        n_loss += v->is_loss;
        if (v->is_loss && (v->rows != 1 || v->cols != 1)) FAIL("sbo_nn: loss value '%s' is not a scalar", v->name);
        if (v->role != SBO_NN_PARAM) continue;
        if (v->group == SBO_NN_LOWER) {
            if (!lower || v->block < 0 || v->block >= lower->L)
                FAIL("sbo_nn: lower parameter '%s' names block %d, which the lower layout lacks", v->name, v->block);
            const sbo_block *b = &lower->block[v->block];
            if (b->m != v->rows || b->n != v->cols)
                FAIL("sbo_nn: lower parameter '%s' is %d x %d but block '%s' is %d x %d", v->name, v->rows, v->cols,
                     b->name, b->m, b->n);
        } else if (v->offset < 0 || v->offset + (long)v->rows * v->cols > d_upper) {
            FAIL("sbo_nn: upper parameter '%s' (%d x %d at offset %ld) does not fit in x of dimension %d", v->name,
                 v->rows, v->cols, v->offset, d_upper);
        }
    }
    if (n_loss == 0) FAIL("sbo_nn: the graph marks no loss value (sbo_nn_mark_loss)");
    for (int k = 0; k < g->n_ops; k++) {
        const sbo_nn_op *o = &g->op[k];
        const sbo_nn_value *a = &g->v[o->in[0]];
        switch (o->kind) {
        case SBO_NN_LINEAR: {
            const sbo_nn_value *w = &g->v[o->in[1]];
            if (w->role != SBO_NN_PARAM || w->rows != a->cols)
                FAIL("sbo_nn: linear '%s': weight '%s' is %d x %d but the input has %d columns (Y = W^T is fan-in x "
                     "fan-out, §3.1)", g->v[o->out].name, w->name, w->rows, w->cols, a->cols);
            if (o->in[2] >= 0 && (g->v[o->in[2]].rows != 1 || g->v[o->in[2]].cols != w->cols))
                FAIL("sbo_nn: linear '%s': bias must be 1 x %d", g->v[o->out].name, w->cols);
            if (w->group == SBO_NN_LOWER && uses[o->in[1]]++)
                FAIL("sbo_nn: lower weight '%s' feeds two linear ops; reduced mode supports one", w->name);
            break;
        }
        case SBO_NN_XENT:
            if (a->cols < 1 || a->cols > SBO_NN_MAX_CLASSES)
                FAIL("sbo_nn: xent '%s' has %d classes; 1 to %d are supported (raise SBO_NN_MAX_CLASSES)",
                     g->v[o->out].name, a->cols, SBO_NN_MAX_CLASSES);
            break;
        case SBO_NN_SIGMOID_GATHER:
            if (a->role != SBO_NN_PARAM || a->rows != 1)
                FAIL("sbo_nn: sigmoid_gather '%s' needs a 1 x N parameter", g->v[o->out].name);
            break;
        case SBO_NN_WMEAN:
            if (a->cols != 1 || (o->in[1] >= 0 && g->v[o->in[1]].cols != 1))
                FAIL("sbo_nn: wmean '%s' needs b x 1 inputs", g->v[o->out].name);
            break;
        case SBO_NN_L2:
            if (a->role != SBO_NN_PARAM) FAIL("sbo_nn: l2 '%s' needs a parameter", g->v[o->out].name);
            break;
        default: break;
        }
    }
    return 0;
}
