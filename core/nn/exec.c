/* core/nn/exec.c: the executor of core/nn/nn.h: buffers in named arenas, the linearization (primal forward and
 * reverse pass) and tangent sweeps (jvp forward, tvjp reverse), walking the op table. The typed part is written once
 * and instantiated for float and double (core/nn/template.h); the entry points at the bottom pick the instance.
 * Exercised by: tests/test_nn.c, tests/test_neural.c, every image task. */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"        /* op table, typed buffers and contexts */
#include "core/sbo_arena.h"    /* every buffer lives in an arena */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PHASE_PRIMAL = 0, PHASE_TANGENT = 1 };
#define SBO_NN_STAGE_BYTES 16384   /* the host staging of sbo_nn_set_input_u8 (a stack buffer) */

static void exec_die(const char *name, const char *msg) {
    fprintf(stderr, "sbo_nn: executor '%s': %s\n", name, msg);
    abort();
}

/* Integer inputs that an op bounds (op descriptor int_bound: an embedding's token ids index V table rows) are
 * checked when they are loaded, once per load rather than per pass: a value outside [0, V) is a caller's bug that
 * would read and write outside the table, so it aborts with the value, where it sits, the op and V. */
static void check_int_input(const char *name, const sbo_nn_graph *g, int input, const int *vals, long n) {
    for (int k = 0; k < g->n_ops; k++) {
        const sbo_nn_node *node = &g->op[k];
        const sbo_nn_op_desc *d = sbo_nn_op_table[node->kind];
        if (!d->int_bound) continue;
        for (int j = 0; j < node->n_in; j++) {
            if (node->in[j] != input || !(d->int_inputs >> j & 1u)) continue;
            int V = d->int_bound(g, node, j);
            if (V <= 0) continue;
            for (long i = 0; i < n; i++)
                if (vals[i] < 0 || vals[i] >= V) {
                    char msg[512];
                    snprintf(msg, sizeof msg, "integer input '%s' holds %d at element %ld (of %ld), outside [0, %d): "
                             "op %s '%s' (V = %d) would index out of bounds with it; the caller loaded a bad id",
                             g->v[input].name, vals[i], i, n, V, d->name, g->v[node->out].name, V);
                    exec_die(name, msg);
                }
        }
    }
}

#define SBO_NN_TEMPLATE_FILE "core/nn/exec.c"
#include "core/nn/template.h"

struct sbo_nn_exec {
    int precision;   /* 32 or 64 */
    void *impl;
};

/* The backend of executors created without one (NULL: the CPU backend); set once by a process before its tasks
 * create their networks (a test running the tasks on a checking backend), not meant to change under them. */
static const sbo_nn_backend *g_default_backend = NULL;

const sbo_nn_backend *sbo_nn_set_default_backend(const sbo_nn_backend *be) {
    const sbo_nn_backend *old = g_default_backend ? g_default_backend : sbo_nn_backend_cpu();
    g_default_backend = be;
    return old;
}

sbo_nn_exec *sbo_nn_exec_create(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, int precision,
                                const char *name, char *err, size_t errlen) {
    return sbo_nn_exec_create_on(NULL, g, lower, d_upper, precision, name, err, errlen);
}

sbo_nn_exec *sbo_nn_exec_create_on(const sbo_nn_backend *be, const sbo_nn_graph *g, const sbo_layout *lower,
                                   int d_upper, int precision, const char *name, char *err, size_t errlen) {
    if (!be) be = g_default_backend ? g_default_backend : sbo_nn_backend_cpu();
    if (precision != 32 && precision != 64) {
        snprintf(err, errlen, "sbo_nn: precision %d is not supported; use 32 (float32) or 64 (float64)", precision);
        return NULL;
    }
    if (sbo_nn_graph_check(g, lower, d_upper, err, errlen)) return NULL;
    sbo_nn_exec *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory creating the network executor '%s'", name);
        return NULL;
    }
    e->precision = precision;
    e->impl = precision == 32 ? create_f32(be, g, lower, d_upper, name, err, errlen)
                              : create_f64(be, g, lower, d_upper, name, err, errlen);
    if (!e->impl) {
        free(e);
        return NULL;
    }
    return e;
}

#define DISPATCH(fn, ...) (e->precision == 32 ? fn##_f32(__VA_ARGS__) : fn##_f64(__VA_ARGS__))

void sbo_nn_exec_destroy(sbo_nn_exec *e) {
    if (!e) return;
    DISPATCH(destroy, e->impl);
    free(e);
}
void sbo_nn_set_input_u8(sbo_nn_exec *e, int input, const unsigned char *base, const int *ids, int b, double scale,
                         double shift) {
    DISPATCH(set_input_u8, e->impl, input, base, ids, b, scale, shift);
}
void sbo_nn_set_input(sbo_nn_exec *e, int input, const double *rows, int b) { DISPATCH(set_input, e->impl, input, rows, b); }
void sbo_nn_set_input_int(sbo_nn_exec *e, int input, const int *vals, int b) {
    DISPATCH(set_input_int, e->impl, input, vals, b);
}
void sbo_nn_set_labels(sbo_nn_exec *e, const int *labels, int b) { DISPATCH(set_default_int, e->impl, 0, labels, b); }
void sbo_nn_set_ids(sbo_nn_exec *e, const int *ids, int b) { DISPATCH(set_default_int, e->impl, 1, ids, b); }
int sbo_nn_exec_reserve(sbo_nn_exec *e, const int *rank, unsigned long long full_dot, unsigned long long full_grad) {
    return DISPATCH(reserve, e->impl, rank, full_dot, full_grad);
}
void sbo_nn_linearize(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_lin *c) {
    DISPATCH(linearize, e->impl, x, Y, c);
}
void sbo_nn_gradient(const sbo_nn_exec *e, double *grad_x, double *grad_Y) { DISPATCH(gradient, e->impl, grad_x, grad_Y); }
void sbo_nn_tangent(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_tan *t) {
    DISPATCH(tangent, e->impl, x, Y, t);
}
void sbo_nn_read_value(const sbo_nn_exec *e, int value, int b, double *out) { DISPATCH(read_value, e->impl, value, b, out); }
size_t sbo_nn_exec_bytes(const sbo_nn_exec *e) { return DISPATCH(bytes, e->impl); }
void sbo_nn_exec_print(const sbo_nn_exec *e, FILE *out) { DISPATCH(print, e->impl, out); }
void sbo_nn_exec_passes(const sbo_nn_exec *e, long *lin, long *sweeps) { DISPATCH(passes, e->impl, lin, sweeps); }

void sbo_nn_run(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_call *c) {
    sbo_nn_lin l = {.b = c->b, .P = c->P, .rank = c->rank, .want_lower = c->grad_Y || c->hess_Y,
                    .want_upper = c->grad_x || c->hess_x, .loss = c->loss, .grad_x = c->grad_x, .grad_Y = c->grad_Y};
    sbo_nn_linearize(e, x, Y, &l);
    if (!c->hess_x && !c->hess_Y) return;
    sbo_nn_tan t = {.dx = c->dx, .dY = c->dY, .hess_x = c->hess_x, .hess_Y = c->hess_Y};
    sbo_nn_tangent(e, x, Y, &t);   /* no tangent given: the sweep writes zeros */
}

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef struct {
    sbo_nn_graph g;                       /* a deep copy */
    sbo_layout lower;
    int d_upper;
    char name[40];
    const sbo_nn_backend *be;
    SFX(sbo_nn_buf) *v;                   /* per value */
    SFX(sbo_nn_nodebuf) *nb;              /* per node */
    /* per value flags: adjoints this linearization; tangent / tangent adjoints this sweep; a projected parameter's
     * full tangent this sweep; full-mode lower buffers allocated (tangent, adjoints) */
    unsigned char *needs_bar, *has_dot, *needs_bd, *dot_full, *alloc_dot, *alloc_grad, *grad_on;
    long *lin_version;                    /* input versions at the linearization */
    int *int_all;                         /* integer inputs, carved per value */
    sbo_arena base, acts, lower_full[2], reduced;  /* parameters and inputs; activations; full-mode lower derivatives
                                                   * (two arenas: a growing one is copied into the other); reduced */
    /* The activation saving (§9, D12): an activation whose every consumer is a linear op with a projected weight
     * (and never a full tangent on it) is needed as a value only during the forward pass (the ops read a P after
     * it, and every op's backward reads its inputs, never its output: the one exception, softmax, reads its output
     * as the softmax rows only when the output does not share storage with its bar' and recomputes them from its
     * input otherwise, core/nn/op_softmax.c), so its value shares storage with its bar' (live only in tangent
     * reverse passes). alias[i]: so laid out; val_ok[i]: the value is still there. */
    unsigned char *alias, *val_ok;
    unsigned char ever_full[SBO_MAX_BLOCKS];   /* a reservation used block l in full mode or with full tangents */
    int reserved;
    int lf;                               /* the live lower_full arena */
    int reduced_rank[SBO_MAX_BLOCKS];     /* the ranks `reduced` is sized for (0: full) */
    /* Where the arenas write their entries' pointers (an arena keeps the address given to sbo_arena_add and writes
     * NULL through it when freed, so it must outlive the arena). [0..2] base, [3] lower_full[0], [4..5] reduced. */
    real *arena_view[8];                  /* [6]: lower_full[1], [7]: acts */
    int lin_valid, lin_b, lin_lower, lin_upper, lin_P;
    uint64_t lin_batch_version;           /* the caller's batch stamp at the linearization (sbo_nn_lin) */
    int broken;                           /* a re-made arena could not be allocated: the buffers are gone */
    int covers_Y;                         /* every lower block is a parameter: outputs on Y need no zeroing */
    long n_lin, n_sweeps;
} SFX(exec);

static long SFX(pad)(long n) { return (n + 15) / 16 * 16; }   /* 64-byte alignment of every carved buffer */

/* Every arena of the executor takes its memory from the backend (device memory on a GPU backend). */
static void SFX(arena_init)(const SFX(exec) *e, sbo_arena *a, const char *name) {
    sbo_arena_init(a, name);
    sbo_arena_set_memory(a, e->be->alloc, e->be->release, e->be->zero, e->be->device);
}

static void SFX(arena_add)(sbo_arena *a, const char *name, const char *shape, long count, real **dst) {
#if SBO_NN_IS_F32
    sbo_arena_add_f32(a, name, shape, count, dst);
#else
    sbo_arena_add(a, name, shape, count, dst);
#endif
}

static int SFX(is_lower)(const sbo_nn_value *v) { return v->role == SBO_NN_PARAM && v->group == SBO_NN_LOWER; }

/* The value id of node o's projectable weight when o reads its input j only through P (op descriptor bit
 * reads_projected), else -1. */
static int SFX(projected_reader)(const sbo_nn_node *o, int j) {
    const sbo_nn_op_desc *d = sbo_nn_op_table[o->kind];
    if (!((d->reads_projected >> j) & 1u) || !d->projectable) return -1;
    int wj = 0;
    while (!((d->projectable >> wj) & 1u)) wj++;
    return o->in[wj];
}

static void SFX(destroy)(void *ve) {
    SFX(exec) *e = ve;
    if (!e) return;
    sbo_arena_free(&e->base);
    sbo_arena_free(&e->acts);
    sbo_arena_free(&e->lower_full[0]);
    sbo_arena_free(&e->lower_full[1]);
    sbo_arena_free(&e->reduced);
    sbo_nn_graph_free(&e->g);
    free(e->v);
    free(e->nb);
    free(e->needs_bar);
    free(e->lin_version);
    free(e);
}

/* The activations' arena, laid out for the current alias flags: val, dot, bar, bd per activation (val = bd where
 * aliased). Re-made by a reservation that changes the flags (no values need keeping: a forward pass fills them). */
static int SFX(build_acts)(SFX(exec) *e) {
    const sbo_nn_graph *g = &e->g;
    sbo_arena_free(&e->acts);
    long n = 0, saved = 0;
    for (int i = 0; i < g->n_values; i++) {
        if (g->v[i].role != SBO_NN_ACT) continue;
        long sz = SFX(pad)((long)g->v[i].rows * g->v[i].cols);
        n += (e->alias[i] ? 3 : 4) * sz;
        saved += e->alias[i] ? sz : 0;
    }
    char an[64], sh[64];
    snprintf(an, sizeof an, "%s.activations", e->name);
    SFX(arena_init)(e, &e->acts, an);
    snprintf(sh, sizeof sh, "batch %d: 4 x acts - %ld (a P kept) = %ld", g->max_batch, saved, n);
    SFX(arena_add)(&e->acts, "activations (val,',bar,bar')", sh, n, &e->arena_view[7]);
    if (sbo_arena_commit(&e->acts)) return -1;
    real *p = e->arena_view[7];
    for (int i = 0; i < g->n_values; i++) {
        if (g->v[i].role != SBO_NN_ACT) continue;
        long sz = SFX(pad)((long)g->v[i].rows * g->v[i].cols);
        SFX(sbo_nn_buf) *b = &e->v[i];
        b->dot = p; b->bar = p + sz; b->bd = p + 2 * sz;
        b->val = e->alias[i] ? b->bd : p + 3 * sz;
        p += (e->alias[i] ? 3 : 4) * sz;
        e->val_ok[i] = 0;
    }
    return 0;
}

static void *SFX(create)(const sbo_nn_backend *be, const sbo_nn_graph *g, const sbo_layout *lower, int d_upper,
                         const char *name, char *err, size_t errlen) {
    SFX(exec) *e = calloc(1, sizeof *e);
    int nv = g->n_values, no = g->n_ops;
    if (!e || sbo_nn_graph_copy(&e->g, g)) {
        free(e);
        snprintf(err, errlen, "out of memory creating the network executor '%s'", name);
        return NULL;
    }
    e->v = calloc((size_t)nv + 1, sizeof *e->v);
    e->nb = calloc((size_t)no + 1, sizeof *e->nb);
    e->needs_bar = calloc(9 * ((size_t)nv + 1), 1);
    e->lin_version = calloc((size_t)nv + 1, sizeof *e->lin_version);
    if (!e->v || !e->nb || !e->needs_bar || !e->lin_version) {
        SFX(destroy)(e);
        snprintf(err, errlen, "out of memory creating the network executor '%s'", name);
        return NULL;
    }
    e->has_dot = e->needs_bar + (nv + 1);
    e->needs_bd = e->has_dot + (nv + 1);
    e->dot_full = e->needs_bd + (nv + 1);
    e->alloc_dot = e->dot_full + (nv + 1);
    e->alloc_grad = e->alloc_dot + (nv + 1);
    e->grad_on = e->alloc_grad + (nv + 1);
    e->alias = e->grad_on + (nv + 1);
    e->val_ok = e->alias + (nv + 1);
    if (lower) e->lower = *lower;
    e->d_upper = d_upper;
    e->be = be;
    snprintf(e->name, sizeof e->name, "%s", name);
    char an[64], sh[64];
    snprintf(an, sizeof an, "%s.values", name);
    SFX(arena_init)(e, &e->base, an);
    /* sizes: parameters (values), upper parameter derivatives (dot, bar, bd), activations (val, dot, bar, bd) */
    long n_param = 0, n_upper = 0, n_act = 0, n_int = 0;
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        long sz = SFX(pad)((long)v->rows * v->cols);
        if (v->role == SBO_NN_PARAM) {
            n_param += sz;
            if (v->group == SBO_NN_UPPER) n_upper += 3 * sz;
        } else if (v->role == SBO_NN_INPUT_INT) {
            n_int += (long)v->rows * v->cols;
        } else {
            if (v->role == SBO_NN_INPUT) n_act += sz;
        }
    }
    snprintf(sh, sizeof sh, "sum of parameter shapes = %ld", n_param);
    SFX(arena_add)(&e->base, "parameters (x, Y copies)", sh, n_param, &e->arena_view[0]);
    snprintf(sh, sizeof sh, "3 x upper parameters = %ld", n_upper);
    SFX(arena_add)(&e->base, "upper param derivatives", sh, n_upper, &e->arena_view[1]);
    snprintf(sh, sizeof sh, "batch %d: inputs = %ld", g->max_batch, n_act);
    SFX(arena_add)(&e->base, "inputs", sh, n_act, &e->arena_view[2]);
    snprintf(sh, sizeof sh, "batch %d: labels, ids = %ld", g->max_batch, n_int);
    sbo_arena_add_int(&e->base, "integer inputs", sh, n_int, &e->int_all);
    if (sbo_arena_commit(&e->base)) {
        snprintf(err, errlen, "out of memory allocating the network executor '%s' (%ld values)", name,
                 n_param + n_upper + n_act);
        SFX(destroy)(e);
        return NULL;
    }
    real *p_param = e->arena_view[0], *p_upper = e->arena_view[1], *p_act = e->arena_view[2];
    int *p_int = e->int_all;
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        long sz = SFX(pad)((long)v->rows * v->cols);
        SFX(sbo_nn_buf) *b = &e->v[i];
        if (v->role == SBO_NN_PARAM) {
            b->val = p_param; p_param += sz;
            if (v->group == SBO_NN_UPPER) {
                b->dot = p_upper; b->bar = p_upper + sz; b->bd = p_upper + 2 * sz;
                p_upper += 3 * sz;
            }
        } else if (v->role == SBO_NN_INPUT_INT) {
            b->ival = p_int; p_int += (long)v->rows * v->cols;
        } else if (v->role == SBO_NN_INPUT) {
            b->val = p_act; p_act += sz;
        }
    }
    if (SFX(build_acts)(e)) {
        snprintf(err, errlen, "out of memory allocating the activations of the network executor '%s'", name);
        SFX(destroy)(e);
        return NULL;
    }
    for (int k = 0; k < no; k++) e->nb[k].cache_version = -1;
    e->covers_Y = 1;
    for (int l = 0; l < e->lower.L; l++) {
        int found = 0;
        for (int i = 0; i < nv; i++) found |= SFX(is_lower)(&g->v[i]) && g->v[i].block == l;
        e->covers_Y &= found;
    }
    return e;
}

/* Full-mode derivative buffers of the lower parameters: the tangent Y' of those in dot (a full-space direction,
 * e.g. J[Z_k] with the full Z_k), the adjoints bar and bar' of those in grad (a full gradient or H[V]). A projected
 * block gets them only when some call uses it in full mode, so a reduced-only run never holds m x n derivatives. */
static int SFX(ensure_lower_full)(SFX(exec) *e, const unsigned char *dot, const unsigned char *grad) {
    int more = 0;
    for (int i = 0; i < e->g.n_values; i++) more |= (dot[i] && !e->alloc_dot[i]) || (grad[i] && !e->alloc_grad[i]);
    if (!more) return 0;
    /* grow: a new arena, the buffers already there copied over (a gradient of the last linearization survives),
     * then the old one freed */
    int nf = e->lower_full[e->lf].committed ? 1 - e->lf : e->lf;   /* the arena to fill */
    long n = 0;
    for (int i = 0; i < e->g.n_values; i++) {
        if (!SFX(is_lower)(&e->g.v[i])) continue;
        n += ((e->alloc_dot[i] | dot[i]) + 2 * (e->alloc_grad[i] | grad[i])) *
             SFX(pad)((long)e->g.v[i].rows * e->g.v[i].cols);
    }
    char an[64], sh[64];
    snprintf(an, sizeof an, "%s.lower_full", e->name);
    SFX(arena_init)(e, &e->lower_full[nf], an);
    snprintf(sh, sizeof sh, "m_l n_l per Y' and per bar, bar' = %ld", n);
    real **view = &e->arena_view[nf ? 6 : 3];
    SFX(arena_add)(&e->lower_full[nf], "lower param Y', bar, bar'", sh, n, view);
    if (sbo_arena_commit(&e->lower_full[nf])) return -1;
    real *p = *view;
    for (int i = 0; i < e->g.n_values; i++) {
        if (!SFX(is_lower)(&e->g.v[i])) continue;
        long sz = SFX(pad)((long)e->g.v[i].rows * e->g.v[i].cols);
        real *odot = e->v[i].dot, *obar = e->v[i].bar;
        if (e->alloc_dot[i] | dot[i]) {
            if (e->alloc_dot[i]) e->be->copy(p, odot, sizeof(real) * (size_t)sz);
            e->v[i].dot = p; p += sz;
        }
        if (e->alloc_grad[i] | grad[i]) {
            if (e->alloc_grad[i]) e->be->copy(p, obar, sizeof(real) * 2 * (size_t)sz);
            e->v[i].bar = p; e->v[i].bd = p + sz; p += 2 * sz;
        }
        e->alloc_dot[i] |= dot[i];
        e->alloc_grad[i] |= grad[i];
    }
    if (nf != e->lf) sbo_arena_free(&e->lower_full[e->lf]);
    e->lf = nf;
    return 0;
}

/* The rank of node k's projected input in the reduced buffers (0: none; its op's scratch is then the full-mode one). */
static int SFX(node_rank)(const SFX(exec) *e, int k) {
    const sbo_nn_node *o = &e->g.op[k];
    const sbo_nn_op_desc *d = sbo_nn_op_table[o->kind];
    int rank = 0;
    for (int j = 0; j < o->n_in; j++)
        if (o->in[j] >= 0 && ((d->projectable >> j) & 1) && SFX(is_lower)(&e->g.v[o->in[j]]))
            rank = e->reduced_rank[e->g.v[o->in[j]].block];
    return rank;
}

/* Reduced-mode buffers for a rank tuple (re-made when the ranks change): per projected parameter P, X, bar, bar',
 * P^T theta; per node the scratch its op asks for (linear: a P, a' P, y_bar X^T). */
static int SFX(ensure_reduced)(SFX(exec) *e, const int *rank_of_block) {
    int same = e->reduced.committed;
    for (int l = 0; l < e->lower.L; l++) same &= rank_of_block[l] == e->reduced_rank[l];
    if (same) return 0;
    sbo_arena_free(&e->reduced);
    char an[64], sh[64];
    snprintf(an, sizeof an, "%s.reduced", e->name);
    SFX(arena_init)(e, &e->reduced, an);
    for (int l = 0; l < e->lower.L; l++) e->reduced_rank[l] = rank_of_block[l];
    long n_par = 0, n_op = 0, sizes[4];
    for (int i = 0; i < e->g.n_values; i++) {
        const sbo_nn_value *v = &e->g.v[i];
        if (!SFX(is_lower)(v) || !e->reduced_rank[v->block]) continue;
        int r = e->reduced_rank[v->block];
        n_par += SFX(pad)((long)v->rows * r) + 4 * SFX(pad)((long)r * v->cols);
    }
    for (int k = 0; k < e->g.n_ops; k++) {
        const sbo_nn_node *o = &e->g.op[k];
        const sbo_nn_op_desc *d = sbo_nn_op_table[o->kind];
        if (!d->scratch) continue;
        memset(sizes, 0, sizeof sizes);
        d->scratch(&e->g, o, e->g.max_batch, SFX(node_rank)(e, k), sizes);
        for (int j = 0; j < 4; j++) n_op += sizes[j] ? SFX(pad)(sizes[j]) : 0;
    }
    snprintf(sh, sizeof sh, "m r + 4 r n per block = %ld", n_par);
    SFX(arena_add)(&e->reduced, "P, X, bar, bar', P^T Y", sh, n_par, &e->arena_view[4]);
    snprintf(sh, sizeof sh, "b r (data input) or 3 b r per linear = %ld", n_op);
    SFX(arena_add)(&e->reduced, "a P, a' P, y_bar X^T", sh, n_op, &e->arena_view[5]);
    if (sbo_arena_commit(&e->reduced)) return -1;
    real *pp = e->arena_view[4], *po = e->arena_view[5];
    for (int i = 0; i < e->g.n_values; i++) {
        const sbo_nn_value *v = &e->g.v[i];
        SFX(sbo_nn_buf) *b = &e->v[i];
        b->r = 0;
        b->P = b->dot_red = b->bar_red = b->bd_red = b->Ptheta = NULL;
        if (!SFX(is_lower)(v) || !e->reduced_rank[v->block]) continue;
        int r = e->reduced_rank[v->block];
        real **dst[5] = {&b->P, &b->dot_red, &b->bar_red, &b->bd_red, &b->Ptheta};
        long sz[5] = {(long)v->rows * r, (long)r * v->cols, (long)r * v->cols, (long)r * v->cols, (long)r * v->cols};
        for (int j = 0; j < 5; j++) { *dst[j] = pp; pp += SFX(pad)(sz[j]); }
    }
    for (int k = 0; k < e->g.n_ops; k++) {
        const sbo_nn_node *o = &e->g.op[k];
        const sbo_nn_op_desc *d = sbo_nn_op_table[o->kind];
        SFX(sbo_nn_nodebuf) *nb = &e->nb[k];
        memset(nb->s, 0, sizeof nb->s);
        nb->cache_version = -1;
        if (!d->scratch) continue;
        memset(sizes, 0, sizeof sizes);
        d->scratch(&e->g, o, e->g.max_batch, SFX(node_rank)(e, k), sizes);
        for (int j = 0; j < 4; j++)
            if (sizes[j]) { nb->s[j] = po; po += SFX(pad)(sizes[j]); }
    }
    return 0;
}

static int SFX(reserve_buffers)(SFX(exec) *e, const int *rank, unsigned long long full_dot,
                                unsigned long long full_grad);

static int SFX(reserve)(void *ve, const int *rank, unsigned long long full_dot, unsigned long long full_grad) {
    SFX(exec) *e = ve;
    e->lin_valid = 0;   /* arenas may be re-made: no linearization survives a reservation */
    int rc = SFX(reserve_buffers)(e, rank, full_dot, full_grad);
    if (rc) e->broken = 1;
    return rc;
}

static int SFX(reserve_buffers)(SFX(exec) *e, const int *rank, unsigned long long full_dot,
                                unsigned long long full_grad) {
    int nv = e->g.n_values;
    unsigned char *dot = calloc(2 * ((size_t)nv + 1), 1), *grad = dot ? dot + nv + 1 : NULL;
    if (!dot) return -1;
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &e->g.v[i];
        if (!SFX(is_lower)(v)) continue;
        dot[i] = (full_dot >> v->block) & 1;
        grad[i] = (full_grad >> v->block) & 1;
    }
    int rc = SFX(ensure_lower_full)(e, dot, grad);
    free(dot);
    if (rc) return -1;
    int rb[SBO_MAX_BLOCKS] = {0};
    int any = 0;
    for (int l = 0; rank && l < e->lower.L; l++) { rb[l] = rank[l] > 0 && rank[l] < e->lower.block[l].m ? rank[l] : 0; any |= rb[l]; }
    if (any && SFX(ensure_reduced)(e, rb)) return -1;
    /* the activation saving: blocks this reservation uses in full mode or with full tangents disqualify their
     * inputs, for good (several algorithms may share one task, as in bench_iter) */
    for (int l = 0; l < e->lower.L; l++) e->ever_full[l] |= !rb[l] || ((full_dot >> l) & 1);
    e->reserved = 1;
    int changed = 0;
    for (int i = 0; i < nv; i++) {
        int a = e->g.v[i].role == SBO_NN_ACT && !e->g.v[i].is_loss, consumers = 0;
        for (int k = 0; a && k < e->g.n_ops; k++) {
            const sbo_nn_node *o = &e->g.op[k];
            for (int j = 0; j < o->n_in; j++) {
                if (o->in[j] != i) continue;
                consumers++;
                int wid = SFX(projected_reader)(o, j);
                const sbo_nn_value *w = wid >= 0 ? &e->g.v[wid] : NULL;
                a &= w && SFX(is_lower)(w) && !e->ever_full[w->block];
            }
        }
        a &= consumers > 0;
        changed |= a != e->alias[i];
        e->alias[i] = (unsigned char)a;
    }
    return changed ? SFX(build_acts)(e) : 0;
}

/* 1 when the sweep about to run reads aliased activation i as a value: a consumer (every consumer reads it only
 * through P) with its weight in full mode, or with a full tangent on its weight (the full cross term) */
static int SFX(sweep_reads_value)(const SFX(exec) *e, int i) {
    for (int k = 0; k < e->g.n_ops; k++) {
        const sbo_nn_node *o = &e->g.op[k];
        for (int j = 0; j < o->n_in; j++) {
            int wid = o->in[j] == i ? SFX(projected_reader)(o, j) : -1;
            if (wid < 0) continue;
            const SFX(sbo_nn_buf) *w = &e->v[wid];
            if (!w->r || (e->has_dot[wid] && e->dot_full[wid])) return 1;
        }
    }
    return 0;
}

/* The context of node k in a phase (primal: adjoints of this linearization; tangent: adjoints' tangents). */
static void SFX(ctx)(const SFX(exec) *e, int k, int b, int phase, SFX(sbo_nn_ctx) *c) {
    const sbo_nn_node *o = &e->g.op[k];
    memset(c, 0, sizeof *c);
    c->g = &e->g;
    c->node = o;
    c->be = e->be;
    c->nb = &((SFX(exec) *)e)->nb[k];
    c->b = b;
    c->out = &e->v[o->out];
    c->out_dot = phase == PHASE_TANGENT && e->has_dot[o->out];
    for (int j = 0; j < o->n_in; j++) {
        int id = o->in[j];
        if (id < 0) continue;
        c->in[j] = &e->v[id];
        c->in_dot[j] = phase == PHASE_TANGENT && e->has_dot[id];
        c->in_dot_full[j] = c->in_dot[j] && e->dot_full[id];
        /* a parameter's own adjoint only when its gradient is wanted; values on an adjoint path always */
        c->in_bar[j] = phase == PHASE_TANGENT ? e->needs_bd[id]
                     : e->g.v[id].role == SBO_NN_PARAM ? e->grad_on[id] : e->needs_bar[id];
    }
}

/* flag[out] |= flag[in] over the nodes in order (a value depends on a flagged value) */
static void SFX(propagate)(const SFX(exec) *e, unsigned char *flag) {
    for (int k = 0; k < e->g.n_ops; k++) {
        const sbo_nn_node *o = &e->g.op[k];
        for (int j = 0; j < o->n_in; j++)
            if (o->in[j] >= 0) flag[o->out] |= flag[o->in[j]];
    }
}

/* per-block offsets in a tuple: reduced (r_l rows on projected blocks) or full */
static void SFX(offsets)(const SFX(exec) *e, int reduced, long *off) {
    off[0] = 0;
    for (int l = 0; l < e->lower.L; l++) {
        int rows = reduced && e->reduced_rank[l] ? e->reduced_rank[l] : e->lower.block[l].m;
        off[l + 1] = off[l] + (long)rows * e->lower.block[l].n;
    }
}

static void SFX(gradient)(const void *ve, double *grad_x, double *grad_Y);

static void SFX(linearize)(void *ve, const double *x, const double *Y, const sbo_nn_lin *c) {
    SFX(exec) *e = ve;
    const sbo_nn_graph *g = &e->g;
    const sbo_nn_backend *be = e->be;
    int b = c->b, nv = g->n_values > 0 ? g->n_values : 0;
    char msg[256];
    if (e->broken) exec_die(e->name, "an earlier reservation ran out of memory; the executor has no buffers");
    if (b < 1 || b > g->max_batch) {   /* a caller bug: the activation buffers hold max_batch rows */
        snprintf(msg, sizeof msg, "batch size %d outside 1..%d (the executor's max_batch)", b, g->max_batch);
        exec_die(e->name, msg);
    }
    int rb[SBO_MAX_BLOCKS] = {0}, any_P = 0;
    for (int l = 0; c->P && l < e->lower.L; l++) {
        if (!c->P[l]) continue;
        if (c->rank[l] < 1 || c->rank[l] > e->lower.block[l].m) {
            snprintf(msg, sizeof msg, "block %d has a subspace P but rank %d (need 1..%d)", l, c->rank[l],
                     e->lower.block[l].m);
            exec_die(e->name, msg);
        }
        rb[l] = c->rank[l];
        any_P = 1;
    }
    e->lin_valid = 0;
    /* buffers: full adjoints for the lower parameters a gradient will flow into in full mode */
    memset(e->has_dot, 0, (size_t)nv);
    memset(e->needs_bd, 0, (size_t)nv);
    for (int i = 0; i < nv; i++) e->needs_bd[i] = c->want_lower && SFX(is_lower)(&g->v[i]) && !rb[g->v[i].block];
    if (SFX(ensure_lower_full)(e, e->has_dot, e->needs_bd)) exec_die(e->name, "out of memory (full-mode buffers)");
    memset(e->needs_bd, 0, (size_t)nv);
    if (any_P && SFX(ensure_reduced)(e, rb)) exec_die(e->name, "out of memory (reduced-mode buffers)");
    /* the point: parameters (and P) rounded to the engine's precision */
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        SFX(sbo_nn_buf) *bf = &e->v[i];
        e->needs_bar[i] = e->grad_on[i] = 0;
        if (v->role != SBO_NN_PARAM) continue;
        long n = (long)v->rows * v->cols;
        if (v->group == SBO_NN_UPPER) {
            SFX(nn_put_real)(be, bf->val, x + v->offset, n);
            e->needs_bar[i] = c->want_upper;
            e->grad_on[i] = c->want_upper && c->grad_x;
        } else {
            SFX(nn_put_real)(be, bf->val, Y + e->lower.offset[v->block], n);
            e->needs_bar[i] = c->want_lower;
            e->grad_on[i] = c->want_lower && (c->grad_Y || c->keep_grad_Y);
            bf->r = rb[v->block];
            if (bf->r) bf->P_changed = SFX(nn_to_real)(be, bf->P, c->P[v->block], (long)v->rows * bf->r);
        }
    }
    for (int k = 0; any_P && k < g->n_ops; k++) {   /* a projected parameter may only feed a projectable input */
        const sbo_nn_node *o = &g->op[k];
        const sbo_nn_op_desc *d = sbo_nn_op_table[o->kind];
        for (int j = 0; j < o->n_in; j++) {
            int i = o->in[j];
            if (i < 0 || !SFX(is_lower)(&g->v[i]) || !e->v[i].r || ((d->projectable >> j) & 1)) continue;
            snprintf(msg, sizeof msg, "parameter '%s' has a subspace P but feeds %s (input %d), which cannot take a "
                     "projected parameter: pass P = NULL for this block (§3.1)", g->v[i].name, d->name, j);
            exec_die(e->name, msg);
        }
    }
    /* primal forward */
    SFX(sbo_nn_ctx) ctx;
    for (int k = 0; k < g->n_ops; k++) {
        SFX(ctx)(e, k, b, PHASE_PRIMAL, &ctx);
        SBO_NN_OP_FNS(sbo_nn_op_table[g->op[k].kind]).forward(&ctx);
    }
    for (int i = 0; i < nv; i++) e->val_ok[i] = 1;
    if (c->loss) {
        double L = 0;
        for (int i = 0; i < nv; i++) {
            if (!g->v[i].is_loss) continue;
            double li;
            SFX(nn_from_real)(be, &li, e->v[i].val, 1);   /* the value lives in backend memory */
            L += li;
        }
        *c->loss = L;
    }
    /* reverse pass */
    SFX(propagate)(e, e->needs_bar);
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        SFX(sbo_nn_buf) *bf = &e->v[i];
        if (!(v->role == SBO_NN_PARAM ? e->grad_on[i] : e->needs_bar[i])) continue;
        real *bar = bf->r ? bf->bar_red : bf->bar;
        long n = bf->r ? (long)bf->r * v->cols : sbo_nn_numel(v, b);
        SFX(nn_zero)(be, bar, n);
        if (v->is_loss) {
            const real one = 1;
            be->put(bar, &one, sizeof one);
        }
    }
    for (int k = g->n_ops - 1; k >= 0; k--) {
        if (!e->needs_bar[g->op[k].out]) continue;
        SFX(ctx)(e, k, b, PHASE_PRIMAL, &ctx);
        SBO_NN_OP_FNS(sbo_nn_op_table[g->op[k].kind]).vjp(&ctx);
    }
    e->lin_valid = 1;
    e->lin_b = b;
    e->lin_lower = c->want_lower;
    e->lin_upper = c->want_upper;
    for (int i = 0; i < nv; i++) e->lin_version[i] = e->v[i].version;
    e->lin_batch_version = c->batch_version;
    e->n_lin++;
    e->lin_P = any_P;
    if (c->grad_x || c->grad_Y) SFX(gradient)(e, c->grad_x, c->grad_Y);
    if (!any_P) for (int i = 0; i < nv; i++) e->v[i].r = 0;
}

static void SFX(gradient)(const void *ve, double *grad_x, double *grad_Y) {
    const SFX(exec) *e = ve;
    const sbo_nn_graph *g = &e->g;
    if (!e->lin_valid) exec_die(e->name, "gradients asked for before any linearization (forward pass)");
    long off[SBO_MAX_BLOCKS + 1];
    SFX(offsets)(e, e->lin_P, off);
    if (grad_x) memset(grad_x, 0, sizeof(double) * (size_t)e->d_upper);
    if (grad_Y && !e->covers_Y) memset(grad_Y, 0, sizeof(double) * (size_t)off[e->lower.L]);
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        const SFX(sbo_nn_buf) *bf = &e->v[i];
        if (v->role != SBO_NN_PARAM || !(v->group == SBO_NN_UPPER ? grad_x : grad_Y)) continue;
        if (!e->grad_on[i]) {
            char msg[200];
            snprintf(msg, sizeof msg, "the gradient of parameter '%s' was not accumulated by the last linearization "
                     "(%s)", v->name, v->group == SBO_NN_UPPER ? "pass grad_x" : "pass grad_Y or keep_grad_Y");
            exec_die(e->name, msg);
        }
        if (v->group == SBO_NN_UPPER) {
            SFX(nn_from_real)(e->be, grad_x + v->offset, bf->bar, (long)v->rows * v->cols);
        } else {
            long n = bf->r ? (long)bf->r * v->cols : (long)v->rows * v->cols;
            SFX(nn_from_real)(e->be, grad_Y + off[v->block], bf->r ? bf->bar_red : bf->bar, n);
        }
    }
}

static void SFX(tangent)(void *ve, const double *x, const double *Y, const sbo_nn_tan *t) {
    SFX(exec) *e = ve;
    const sbo_nn_graph *g = &e->g;
    const sbo_nn_backend *be = e->be;
    int nv = g->n_values > 0 ? g->n_values : 0, b = e->lin_b;
    char msg[320];
    if (!e->lin_valid) exec_die(e->name, "a tangent sweep (H[V], J[V]) before any linearization (forward pass)");
    /* the linearization contract (STYLE.md pattern 3): the same point, the same batch */
    if (t->batch_version != e->lin_batch_version) {
        snprintf(msg, sizeof msg, "a second-order call on another minibatch than the last forward pass's (batch "
                 "version %llu, linearized at version %llu): a new batch was drawn since; linearize again first",
                 (unsigned long long)t->batch_version, (unsigned long long)e->lin_batch_version);
        exec_die(e->name, msg);
    }
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        const SFX(sbo_nn_buf) *bf = &e->v[i];
        int same = 1;
        if (v->role == SBO_NN_PARAM)
            same = SFX(nn_same)(be, bf->val, v->group == SBO_NN_UPPER ? x + v->offset : Y + e->lower.offset[v->block],
                                (long)v->rows * v->cols);
        else if (v->role != SBO_NN_ACT)
            same = bf->version == e->lin_version[i];
        if (!same) {
            snprintf(msg, sizeof msg, "a second-order call at a point other than the last forward pass: %s '%s' "
                     "changed since the linearization; linearize again at this point first", v->role == SBO_NN_PARAM ?
                     "parameter" : "input", v->name);
            exec_die(e->name, msg);
        }
    }
    int any_P = 0;
    for (int i = 0; i < nv; i++) any_P |= SFX(is_lower)(&g->v[i]) && e->v[i].r;
    /* which values carry a tangent; full-mode tangent buffers */
    memset(e->needs_bd, 0, (size_t)nv);
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        e->has_dot[i] = v->role == SBO_NN_PARAM && (v->group == SBO_NN_UPPER ? t->dx != NULL : t->dY != NULL);
        e->dot_full[i] = SFX(is_lower)(v) && e->has_dot[i] && t->dY_full && e->v[i].r;
        e->needs_bd[i] = SFX(is_lower)(v) && e->has_dot[i] && (t->dY_full || !e->v[i].r);   /* needs a full Y' */
    }
    if (t->hess_Y && t->dY_full && any_P)
        exec_die(e->name, "H[V] with a full tangent on a projected block is not available (only J[V]); give the "
                          "tangent in reduced form");
    if (SFX(ensure_lower_full)(e, e->needs_bd, e->alloc_grad)) exec_die(e->name, "out of memory (full tangent)");
    long off_t[SBO_MAX_BLOCKS + 1], off_o[SBO_MAX_BLOCKS + 1];
    SFX(offsets)(e, any_P && !t->dY_full, off_t);
    SFX(offsets)(e, any_P, off_o);
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        SFX(sbo_nn_buf) *bf = &e->v[i];
        if (!e->has_dot[i]) continue;
        long n = (long)v->rows * v->cols;
        if (v->group == SBO_NN_UPPER) SFX(nn_put_real)(be, bf->dot, t->dx + v->offset, n);
        else if (bf->r && !t->dY_full) SFX(nn_put_real)(be, bf->dot_red, t->dY + off_t[v->block], (long)bf->r * v->cols);
        else SFX(nn_put_real)(be, bf->dot, t->dY + off_t[v->block], n);
    }
    SFX(propagate)(e, e->has_dot);
    /* which values get adjoint tangents: the requested groups, within what the linearization has adjoints for */
    if ((t->hess_Y && !e->lin_lower) || (t->hess_x && !e->lin_upper))
        exec_die(e->name, "a tangent output for a parameter group the linearization computed no adjoints for "
                          "(set want_lower / want_upper)");
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        e->needs_bd[i] = v->role == SBO_NN_PARAM && (v->group == SBO_NN_UPPER ? t->hess_x != NULL : t->hess_Y != NULL);
    }
    SFX(propagate)(e, e->needs_bd);
    for (int i = 0; i < nv; i++) e->needs_bd[i] &= e->needs_bar[i];
    /* an activation stored as a P only (its value shares bar''s storage) must not be read as a value after its
     * bar' has been written, nor while it is */
    for (int i = 0; i < nv; i++) {
        if (!e->alias[i] || !SFX(sweep_reads_value)(e, i) || (e->val_ok[i] && !e->needs_bd[i])) continue;
        snprintf(msg, sizeof msg, "activation '%s' is kept as a P only (the activation saving: every consumer "
                 "projected, reserved so); this sweep needs its full value (a full-mode weight or a full tangent)",
                 g->v[i].name);
        exec_die(e->name, msg);
    }
    SFX(sbo_nn_ctx) ctx;
    for (int k = 0; k < g->n_ops; k++) {
        if (!e->has_dot[g->op[k].out]) continue;
        SFX(ctx)(e, k, b, PHASE_TANGENT, &ctx);
        SBO_NN_OP_FNS(sbo_nn_op_table[g->op[k].kind]).jvp(&ctx);
    }
    /* tangent reverse */
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        SFX(sbo_nn_buf) *bf = &e->v[i];
        if (!e->needs_bd[i]) continue;
        if (e->alias[i]) e->val_ok[i] = 0;   /* bar' overwrites the value */
        SFX(nn_zero)(be, bf->r ? bf->bd_red : bf->bd, bf->r ? (long)bf->r * v->cols : sbo_nn_numel(v, b));
    }
    for (int k = g->n_ops - 1; k >= 0; k--) {
        if (!e->needs_bd[g->op[k].out]) continue;
        SFX(ctx)(e, k, b, PHASE_TANGENT, &ctx);
        SBO_NN_OP_FNS(sbo_nn_op_table[g->op[k].kind]).tvjp(&ctx);
    }
    e->n_sweeps++;
    if (t->hess_x) memset(t->hess_x, 0, sizeof(double) * (size_t)e->d_upper);
    if (t->hess_Y && !e->covers_Y) memset(t->hess_Y, 0, sizeof(double) * (size_t)off_o[e->lower.L]);
    for (int i = 0; i < nv; i++) {
        const sbo_nn_value *v = &g->v[i];
        const SFX(sbo_nn_buf) *bf = &e->v[i];
        if (v->role != SBO_NN_PARAM || !e->needs_bd[i]) continue;
        if (v->group == SBO_NN_UPPER) {
            if (t->hess_x) SFX(nn_from_real)(be, t->hess_x + v->offset, bf->bd, (long)v->rows * v->cols);
        } else if (t->hess_Y) {
            long n = bf->r ? (long)bf->r * v->cols : (long)v->rows * v->cols;
            SFX(nn_from_real)(be, t->hess_Y + off_o[v->block], bf->r ? bf->bd_red : bf->bd, n);
        }
    }
}

static void SFX(set_input_u8)(void *ve, int input, const unsigned char *base, const int *ids, int b, double scale,
                              double shift) {
    SFX(exec) *e = ve;
    int cols = e->g.v[input].cols;
    real *dst = e->v[input].val;   /* backend memory: written only by be->put */
    e->v[input].version++;
    real lut[256];   /* the same roundings as converting each byte, without a multiply per pixel */
    for (int v = 0; v < 256; v++) lut[v] = (real)(scale * v + shift);
    /* The rows are converted on the host into a small stack buffer and put to the backend a piece at a time: no
     * host buffer of a whole batch (the process's peak memory stays the arenas' sum). */
    real stage[SBO_NN_STAGE_BYTES / sizeof(real)];
    const long cap = (long)(sizeof stage / sizeof stage[0]);
    long done = 0, used = 0;
    for (int s = 0; s < b; s++) {
        const unsigned char *row = base + (long)ids[s] * cols;
        for (int j = 0; j < cols;) {
            long take = cols - j < cap - used ? cols - j : cap - used;
            for (long t = 0; t < take; t++) stage[used + t] = lut[row[j + t]];
            used += take;
            j += (int)take;
            if (used == cap || (s == b - 1 && j == cols)) {   /* full, or the last row's end */
                e->be->put(dst + done, stage, sizeof(real) * (size_t)used);
                done += used;
                used = 0;
            }
        }
    }
}

static void SFX(set_input)(void *ve, int input, const double *rows, int b) {
    SFX(exec) *e = ve;
    e->v[input].version++;
    SFX(nn_put_real)(e->be, e->v[input].val, rows, (long)b * e->g.v[input].cols);
}

static void SFX(set_input_int)(void *ve, int input, const int *vals, int b) {
    SFX(exec) *e = ve;
    check_int_input(e->name, &e->g, input, vals, (long)b * e->g.v[input].cols);
    e->v[input].version++;
    e->be->put(e->v[input].ival, vals, sizeof(int) * (size_t)b * (size_t)e->g.v[input].cols);   /* host -> backend */
}

static void SFX(set_default_int)(void *ve, int which, const int *vals, int b) {
    SFX(exec) *e = ve;
    int id = which == 0 ? e->g.labels_in : e->g.ids_in;
    if (id < 0) return;   /* the graph has no such input (e.g. no sample weights) */
    SFX(set_input_int)(ve, id, vals, b);
}

static void SFX(read_value)(const void *ve, int value, int b, double *out) {
    const SFX(exec) *e = ve;
    if (!e->lin_valid) exec_die(e->name, "reading a value before any forward pass (or after a reservation)");
    if (e->alias[value] && !e->val_ok[value])
        exec_die(e->name, "reading an activation kept as a P only after a tangent sweep overwrote it");
    SFX(nn_from_real)(e->be, out, e->v[value].val, sbo_nn_numel(&e->g.v[value], b));
}

static size_t SFX(bytes)(const void *ve) {
    const SFX(exec) *e = ve;
    return sbo_arena_bytes(&e->base) + sbo_arena_bytes(&e->acts) + sbo_arena_bytes(&e->lower_full[e->lf]) +
           sbo_arena_bytes(&e->reduced);
}

static void SFX(print)(const void *ve, FILE *out) {
    const SFX(exec) *e = ve;
    sbo_arena_print(&e->base, out);
    sbo_arena_print(&e->acts, out);
    if (e->lower_full[e->lf].committed) sbo_arena_print(&e->lower_full[e->lf], out);
    if (e->reduced.committed) sbo_arena_print(&e->reduced, out);
}

static void SFX(passes)(const void *ve, long *lin, long *sweeps) {
    const SFX(exec) *e = ve;
    if (lin) *lin = e->n_lin;
    if (sweeps) *sweeps = e->n_sweeps;
}
#endif
