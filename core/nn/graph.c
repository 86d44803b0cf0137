/* core/nn/graph.c: building and checking the precision-free graph of core/nn/nn.h. Each node's shape comes from
 * its op's shape function (the op table), so adding an op adds no code here.
 * Exercised by: tests/test_nn.c, tasks/neural.c. */
#include "core/nn/op.h"   /* the op table, graphs */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbo_nn_graph_init(sbo_nn_graph *g, int max_batch) {
    memset(g, 0, sizeof *g);
    g->max_batch = max_batch;
    g->labels_in = g->ids_in = -1;
}

void sbo_nn_graph_free(sbo_nn_graph *g) {
    free(g->v);
    free(g->op);
    g->v = NULL;
    g->op = NULL;
    g->n_values = g->cap_values = g->n_ops = g->cap_ops = 0;
}

int sbo_nn_graph_copy(sbo_nn_graph *dst, const sbo_nn_graph *src) {
    *dst = *src;
    dst->v = malloc(sizeof *dst->v * (size_t)(src->n_values ? src->n_values : 1));
    dst->op = malloc(sizeof *dst->op * (size_t)(src->n_ops ? src->n_ops : 1));
    if (!dst->v || !dst->op) {
        free(dst->v); free(dst->op);
        dst->v = NULL; dst->op = NULL;
        return -1;
    }
    memcpy(dst->v, src->v, sizeof *dst->v * (size_t)src->n_values);
    memcpy(dst->op, src->op, sizeof *dst->op * (size_t)src->n_ops);
    dst->cap_values = src->n_values;
    dst->cap_ops = src->n_ops;
    return 0;
}

static void die(const char *msg) {
    fprintf(stderr, "%s\n", msg);
    abort();
}

static void set_dims(sbo_nn_value *v, int ndim, const int *dims) {
    v->ndim = ndim;
    long cols = 1;
    for (int d = 0; d < SBO_NN_MAX_DIMS; d++) v->dim[d] = d < ndim ? dims[d] : 1;
    for (int d = 1; d < ndim; d++) cols *= dims[d];
    v->rows = dims[0];
    v->cols = ndim > 1 ? (int)cols : 1;
}

static int add_value(sbo_nn_graph *g, const char *name, int role, int ndim, const int *dims, int batched) {
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? 2 * g->cap_values : 32;
        sbo_nn_value *v = realloc(g->v, sizeof *v * (size_t)cap);
        if (!v) die("sbo_nn: out of memory building a graph");
        g->v = v;
        g->cap_values = cap;
    }
    sbo_nn_value *v = &g->v[g->n_values];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->role = role;
    v->batched = batched;
    v->block = -1;
    set_dims(v, ndim, dims);
    return g->n_values++;
}

/* Adds a node of `kind`; the output value's shape comes from the op's shape function. */
static int add_node(sbo_nn_graph *g, int kind, const char *name, int n_in, const int *in, double coef, int ia0,
                    int ia1, const int *shape) {
    const sbo_nn_op_desc *d = sbo_nn_op_table[kind];
    char err[256];
    if (n_in < d->n_in_min || n_in > d->n_in_max) {
        snprintf(err, sizeof err, "sbo_nn: %s '%s' takes %d to %d inputs, not %d", d->name, name, d->n_in_min,
                 d->n_in_max, n_in);
        die(err);
    }
    for (int j = 0; j < n_in; j++) {
        if (in[j] < 0) continue;
        if (in[j] >= g->n_values) {
            snprintf(err, sizeof err, "sbo_nn: %s '%s': input %d names value %d, which does not exist", d->name, name,
                     j, in[j]);
            die(err);
        }
        int is_int = g->v[in[j]].role == SBO_NN_INPUT_INT, want_int = (d->int_inputs >> j) & 1;
        if (is_int != want_int || (((d->param_inputs >> j) & 1) && g->v[in[j]].role != SBO_NN_PARAM)) {
            snprintf(err, sizeof err, "sbo_nn: %s '%s': input %d ('%s') must be %s", d->name, name, j, g->v[in[j]].name,
                     want_int ? "an integer input" : ((d->param_inputs >> j) & 1) ? "a parameter" : "a real value");
            die(err);
        }
    }
    int one = 1;
    int out = add_value(g, name, SBO_NN_ACT, 1, &one, 0);
    if (g->n_ops == g->cap_ops) {
        int cap = g->cap_ops ? 2 * g->cap_ops : 32;
        sbo_nn_node *o = realloc(g->op, sizeof *o * (size_t)cap);
        if (!o) die("sbo_nn: out of memory building a graph");
        g->op = o;
        g->cap_ops = cap;
    }
    sbo_nn_node *o = &g->op[g->n_ops];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->n_in = n_in;
    for (int j = 0; j < SBO_NN_MAX_IN; j++) o->in[j] = j < n_in ? in[j] : -1;
    o->out = out;
    o->coef = coef;
    o->iarg[0] = ia0;
    o->iarg[1] = ia1;
    for (int d = 0; shape && d < ia0 && d < SBO_NN_MAX_DIMS; d++) o->shape[d] = shape[d];
    sbo_nn_value *v = &g->v[out];
    if (d->shape(g, o, v, err, sizeof err)) {   /* keep the first error; the node gets a 1-element output */
        if (!g->err[0]) snprintf(g->err, sizeof g->err, "%s", err);
        v->ndim = 1;
        v->dim[0] = 1;
        v->batched = 0;
    }
    set_dims(v, v->ndim, v->dim);
    g->n_ops++;
    return out;
}

int sbo_nn_input(sbo_nn_graph *g, const char *name, int cols) {
    int dims[2] = {g->max_batch, cols};
    return add_value(g, name, SBO_NN_INPUT, 2, dims, 1);
}

int sbo_nn_input_nd(sbo_nn_graph *g, const char *name, int ndim, const int *dims) {
    int d[SBO_NN_MAX_DIMS] = {g->max_batch, 1, 1, 1};
    if (ndim < 1 || ndim > SBO_NN_MAX_DIMS - 1) die("sbo_nn: an input has 1 to 3 dimensions besides the batch");
    for (int i = 0; i < ndim; i++) d[i + 1] = dims[i];
    return add_value(g, name, SBO_NN_INPUT, ndim + 1, d, 1);
}

int sbo_nn_input_int(sbo_nn_graph *g, const char *name, int cols) {
    int dims[2] = {g->max_batch, cols};
    return add_value(g, name, SBO_NN_INPUT_INT, 2, dims, 1);
}

int sbo_nn_param_upper(sbo_nn_graph *g, const char *name, int rows, int cols, long offset_in_x) {
    int dims[2] = {rows, cols};
    int id = add_value(g, name, SBO_NN_PARAM, 2, dims, 0);
    g->v[id].group = SBO_NN_UPPER;
    g->v[id].offset = offset_in_x;
    return id;
}

int sbo_nn_param_lower(sbo_nn_graph *g, const char *name, int rows, int cols, int block) {
    int dims[2] = {rows, cols};
    int id = add_value(g, name, SBO_NN_PARAM, 2, dims, 0);
    g->v[id].group = SBO_NN_LOWER;
    g->v[id].block = block;
    return id;
}

int sbo_nn_linear(sbo_nn_graph *g, const char *name, int in, int weight, int bias) {
    int ins[3] = {in, weight, bias};
    return add_node(g, SBO_NN_LINEAR, name, 3, ins, 0, 0, 0, NULL);
}

int sbo_nn_matmul(sbo_nn_graph *g, const char *name, int a, int b, int trans_a, int trans_b, double alpha) {
    int ins[2] = {a, b};
    return add_node(g, SBO_NN_MATMUL, name, 2, ins, alpha, trans_a, trans_b, NULL);
}

int sbo_nn_activation(sbo_nn_graph *g, const char *name, int kind, int in) {
    if (kind != SBO_NN_RELU && kind != SBO_NN_TANH && kind != SBO_NN_GELU && kind != SBO_NN_SILU)
        die("sbo_nn: not an activation kind");
    return add_node(g, kind, name, 1, &in, 0, 0, 0, NULL);
}

int sbo_nn_layernorm(sbo_nn_graph *g, const char *name, int in, int gamma, int beta, double eps) {
    int ins[3] = {in, gamma, beta};
    return add_node(g, SBO_NN_LAYERNORM, name, 3, ins, eps, 0, 0, NULL);
}

int sbo_nn_rmsnorm(sbo_nn_graph *g, const char *name, int in, int gamma, double eps) {
    int ins[2] = {in, gamma};
    return add_node(g, SBO_NN_RMSNORM, name, 2, ins, eps, 0, 0, NULL);
}

int sbo_nn_softmax(sbo_nn_graph *g, const char *name, int in, int causal) {
    return add_node(g, SBO_NN_SOFTMAX, name, 1, &in, 0, causal != 0, 0, NULL);
}

int sbo_nn_embedding(sbo_nn_graph *g, const char *name, int ids, int table, int transposed) {
    int ins[2] = {table, ids};
    return add_node(g, SBO_NN_EMBEDDING, name, 2, ins, 0, transposed != 0, 0, NULL);
}

int sbo_nn_add(sbo_nn_graph *g, const char *name, int u, int v) {
    int ins[2] = {u, v};
    return add_node(g, SBO_NN_ADD, name, 2, ins, 0, 0, 0, NULL);
}

int sbo_nn_mul(sbo_nn_graph *g, const char *name, int u, int v) {
    int ins[2] = {u, v};
    return add_node(g, SBO_NN_MUL, name, 2, ins, 0, 0, 0, NULL);
}

int sbo_nn_reshape(sbo_nn_graph *g, const char *name, int in, int ndim, const int *dims) {
    if (ndim < 1 || ndim > SBO_NN_MAX_DIMS - 1) die("sbo_nn: reshape takes 1 to 3 trailing dims");
    int ins[1] = {in};
    return add_node(g, SBO_NN_RESHAPE, name, 1, ins, 0, ndim, 0, dims);
}

int sbo_nn_permute(sbo_nn_graph *g, const char *name, int in, int axis_a, int axis_b) {
    return add_node(g, SBO_NN_PERMUTE, name, 1, &in, 0, axis_a, axis_b, NULL);
}

int sbo_nn_add_bcast(sbo_nn_graph *g, const char *name, int in, int param) {
    int ins[2] = {in, param};
    return add_node(g, SBO_NN_ADD_BCAST, name, 2, ins, 0, 0, 0, NULL);
}

int sbo_nn_softmax_gather(sbo_nn_graph *g, const char *name, int x_param, double coef) {
    if (g->ids_in < 0) g->ids_in = sbo_nn_input_int(g, "sample ids", 1);
    int ins[2] = {x_param, g->ids_in};
    return add_node(g, SBO_NN_SOFTMAX_GATHER, name, 2, ins, coef, 0, 0, NULL);
}
int sbo_nn_mean_tokens(sbo_nn_graph *g, const char *name, int in) {
    return add_node(g, SBO_NN_MEAN_TOKENS, name, 1, &in, 0, 0, 0, NULL);
}

int sbo_nn_xent_labels(sbo_nn_graph *g, const char *name, int logits, int labels) {
    int ins[2] = {logits, labels};
    return add_node(g, SBO_NN_XENT, name, 2, ins, 0, 0, 0, NULL);
}

int sbo_nn_xent(sbo_nn_graph *g, const char *name, int logits) {
    if (g->labels_in < 0) g->labels_in = sbo_nn_input_int(g, "labels", 1);
    return sbo_nn_xent_labels(g, name, logits, g->labels_in);
}

int sbo_nn_sigmoid_gather(sbo_nn_graph *g, const char *name, int x_param) {
    if (g->ids_in < 0) g->ids_in = sbo_nn_input_int(g, "sample ids", 1);
    int ins[2] = {x_param, g->ids_in};
    return add_node(g, SBO_NN_SIGMOID_GATHER, name, 2, ins, 0, 0, 0, NULL);
}

int sbo_nn_wmean(sbo_nn_graph *g, const char *name, int per_sample, int weights) {
    int ins[2] = {per_sample, weights};
    return add_node(g, SBO_NN_WMEAN, name, 2, ins, 0, 0, 0, NULL);
}

int sbo_nn_l2(sbo_nn_graph *g, const char *name, int param, double coef) {
    return add_node(g, SBO_NN_L2, name, 1, &param, coef, 0, 0, NULL);
}

void sbo_nn_mark_loss(sbo_nn_graph *g, int value) { g->v[value].is_loss = 1; }

void sbo_nn_mark_unprojectable(const sbo_nn_graph *g, sbo_layout *lower) {
    for (int k = 0; k < g->n_ops; k++) {
        const sbo_nn_node *o = &g->op[k];
        const sbo_nn_op_desc *d = sbo_nn_op_table[o->kind];
        for (int j = 0; j < o->n_in; j++) {
            int i = o->in[j];
            if (i < 0 || ((d->projectable >> j) & 1u)) continue;
            const sbo_nn_value *v = &g->v[i];
            if (v->role == SBO_NN_PARAM && v->group == SBO_NN_LOWER && v->block >= 0 && v->block < lower->L)
                lower->block[v->block].not_projectable = 1;
        }
    }
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int sbo_nn_graph_check(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, char *err, size_t errlen) {
    int n_loss = 0;
    if (g->err[0]) FAIL("%s", g->err);
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        n_loss += v->is_loss;
        if (v->is_loss && (v->batched || v->rows * v->cols != 1)) FAIL("sbo_nn: loss value '%s' is not a scalar", v->name);
        if (v->role != SBO_NN_PARAM) continue;
        if (v->group == SBO_NN_LOWER) {
            if (!lower || v->block < 0 || v->block >= lower->L)
                FAIL("sbo_nn: lower parameter '%s' names block %d, which the lower layout lacks", v->name, v->block);
            const sbo_block *b = &lower->block[v->block];
            if (b->m != v->rows || b->n != v->cols)
                FAIL("sbo_nn: lower parameter '%s' is %d x %d but block '%s' is %d x %d", v->name, v->rows, v->cols,
                     b->name, b->m, b->n);
            for (int j = 0; j < i; j++)
                if (g->v[j].role == SBO_NN_PARAM && g->v[j].group == SBO_NN_LOWER && g->v[j].block == v->block)
                    FAIL("sbo_nn: lower parameters '%s' and '%s' both name block %d; use one parameter value and feed "
                         "it to several ops (tied weights)", g->v[j].name, v->name, v->block);
        } else if (v->offset < 0 || v->offset + (long)v->rows * v->cols > d_upper) {
            FAIL("sbo_nn: upper parameter '%s' (%d x %d at offset %ld) does not fit in x of dimension %d", v->name,
                 v->rows, v->cols, v->offset, d_upper);
        }
    }
    if (n_loss == 0) FAIL("sbo_nn: the graph marks no loss value (sbo_nn_mark_loss)");
    return 0;
}
