/* tasks/task.c: counted oracle wrappers (STYLE.md pattern 9) and the generic reduced oracles (built on the
 * subspace helpers P^T V and P X of core/sbo_subspace.c).
 * Exercised by: tests/test_tasks.c, every algorithm. */
#include "tasks/task.h"         /* the oracle table */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- minibatches -------------------------------------------------------------------------------------------- */
/* One counter for the process, so that two batches never share a version (theory checks draw in threads). */
static _Atomic uint64_t g_batch_version;

void sbo_batch_touch(sbo_batch *b) { b->version = atomic_fetch_add(&g_batch_version, 1) + 1; }

static void batch_shape(sbo_batch *b, const sbo_task *t, int level) {
    memset(b, 0, sizeof *b);
    b->level = level;
    b->n_ids = t->batch_ids[level];
    b->n_values = t->batch_values[level];
}

long sbo_batch_doubles(const sbo_task *t, int level) { return t->batch_ids[level] + t->batch_values[level]; }

sbo_batch *sbo_batch_create(const sbo_task *t, int level) {
    sbo_batch *b = malloc(sizeof *b);
    if (!b) return NULL;
    batch_shape(b, t, level);
    b->ids = b->n_ids ? malloc(sizeof(long) * (size_t)b->n_ids) : NULL;
    b->values = b->n_values ? malloc(sizeof(double) * (size_t)b->n_values) : NULL;
    if ((b->n_ids && !b->ids) || (b->n_values && !b->values)) {
        sbo_batch_free(b);
        return NULL;
    }
    return b;
}

void sbo_batch_free(sbo_batch *b) {
    if (!b) return;
    free(b->ids);
    free(b->values);
    free(b);
}

void sbo_batch_declare(sbo_batch *b, const sbo_task *t, int level, sbo_arena *a, const char *name, const char *note) {
    char shape[64], vname[48];
    batch_shape(b, t, level);
    if (b->n_ids) {
        snprintf(shape, sizeof shape, "%ld%s", b->n_ids, note);
        sbo_arena_add_long(a, name, shape, b->n_ids, &b->ids);
    }
    if (b->n_values || !b->n_ids) {
        snprintf(vname, sizeof vname, b->n_ids ? "%s values" : "%s", name);
        snprintf(shape, sizeof shape, "%ld%s", b->n_values, note);
        sbo_arena_add(a, vname, shape, b->n_values, &b->values);
    }
}

void sbo_task_sample(sbo_task *t, int level, sbo_stream *s, sbo_batch *b) {
    if (b->level != level) {
        fprintf(stderr, "sbo: internal error: drawing a level-%d minibatch into a level-%d batch\n", level, b->level);
        abort();
    }
    if (level == 0) t->counts.lower_samples++; else t->counts.upper_samples++;
    t->ops->sample(t, s, b);
    sbo_batch_touch(b);
}
void sbo_task_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out) {
    t->counts.grad_lower++;
    t->ops->grad_lower_Y(t, x, Y, batch, out);
}
void sbo_task_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out) {
    t->counts.grad_upper_Y++;
    t->ops->grad_upper_Y(t, x, Y, batch, out);
}
void sbo_task_grad_upper_x(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out_d) {
    t->counts.grad_upper_x++;
    t->ops->grad_upper_x(t, x, Y, batch, out_d);
}
void sbo_task_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *V, double *out) {
    t->counts.hvp++;
    t->ops->hvp(t, x, Y, batch, V, out);
}
void sbo_task_cross(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *Z,
                    double *out_d) {
    t->counts.cross++;
    t->ops->cross(t, x, Y, batch, Z, out_d);
}

/* Generic reduced oracles (§9 "generic HVPs"): form the full tuple, call the full oracle, project.
 * Costs a transient m x n per block in and out; t->reduced_impl says so in every printout. */
void sbo_task_reduced_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                                 const sbo_subspace *S, double *out_red) {
    t->counts.grad_lower++;
    if (t->ops->reduced_grad_lower) {
        t->ops->reduced_grad_lower(t, x, Y, batch, S, out_red);
        return;
    }
    t->ops->grad_lower_Y(t, x, Y, batch, t->scratch_full_a);
    sbo_subspace_project(S, t->scratch_full_a, out_red);
}
void sbo_task_reduced_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                          const sbo_subspace *S, const double *X_red, double *out_red) {
    t->counts.reduced_hvp++;
    if (t->ops->reduced_hvp) {
        t->ops->reduced_hvp(t, x, Y, batch, S, X_red, out_red);
        return;
    }
    sbo_vec_zero(sbo_layout_total(&t->lower), t->scratch_full_a);
    sbo_subspace_lift_add(S, X_red, NULL, t->scratch_full_a);
    t->ops->hvp(t, x, Y, batch, t->scratch_full_a, t->scratch_full_b);
    sbo_subspace_project(S, t->scratch_full_b, out_red);
}

void sbo_task_reduced_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                                   const sbo_subspace *S, double *out_red) {
    t->counts.grad_upper_Y++;
    if (t->ops->reduced_grad_upper_Y) {
        t->ops->reduced_grad_upper_Y(t, x, Y, batch, S, out_red);
        return;
    }
    t->ops->grad_upper_Y(t, x, Y, batch, t->scratch_full_a);
    sbo_subspace_project(S, t->scratch_full_a, out_red);
}

/* --- fused oracles ------------------------------------------------------------------------------------------ */
/* FNV-1a over the bytes of x and Y: the generic check that a second-order call is at the linearization's point */
static uint64_t point_hash(const sbo_task *t, const double *x, const double *Y) {
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p[2] = {(const unsigned char *)x, (const unsigned char *)Y};
    size_t n[2] = {sizeof(double) * (size_t)t->d, sizeof(double) * (size_t)sbo_layout_total(&t->lower)};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; p[k] && i < n[k]; i++) h = (h ^ p[k][i]) * 1099511628211ULL;
    return h;
}

int sbo_task_reserve(sbo_task *t, const int *rank, int full_tangents, char *err, size_t errlen) {
    if (!t->ops->reserve || t->ops->reserve(t, rank, full_tangents) == 0) return 0;
    snprintf(err, errlen, "out of memory allocating the %s task's derivative buffers", t->type ? t->type->name : "");
    return -1;
}

void sbo_task_lower_at(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S) {
    t->lin = (sbo_linearization){.x = x, .Y = Y, .batch = batch, .S = S, .valid = 1,
                                 .batch_version = batch ? batch->version : 0};
    if (t->ops->lower_at) {
        t->ops->lower_at(t, x, Y, batch, S);
        return;
    }
    t->lin.hash = point_hash(t, x, Y);
}

static void check_point(const sbo_task *t, const double *x, const double *Y) {
    if (!t->lin.valid) {
        fprintf(stderr, "sbo: internal error: a lower oracle at a linearization before sbo_task_lower_at\n");
        abort();
    }
    if (t->ops->lower_at) return;   /* a native implementation checks the point itself */
    if (x != t->lin.x || Y != t->lin.Y || point_hash(t, x, Y) != t->lin.hash) {
        fprintf(stderr, "sbo: internal error: a second-order oracle at a point other than the last linearization "
                "(x or Y changed since sbo_task_lower_at)\n");
        abort();
    }
    if (t->lin.batch && t->lin.batch->version != t->lin.batch_version) {
        fprintf(stderr, "sbo: internal error: a second-order oracle after a new minibatch was drawn into the "
                "linearization's batch (version %llu at sbo_task_lower_at, now %llu); linearize again first\n",
                (unsigned long long)t->lin.batch_version, (unsigned long long)t->lin.batch->version);
        abort();
    }
}

void sbo_task_lower_grad(sbo_task *t, double *out) {
    const sbo_linearization *L = &t->lin;
    check_point(t, L->x, L->Y);
    if (t->ops->lower_at) {
        t->counts.grad_lower++;
        t->ops->lower_grad(t, out);
    } else if (L->S) {
        sbo_task_reduced_grad_lower(t, L->x, L->Y, L->batch, L->S, out);
    } else {
        sbo_task_grad_lower(t, L->x, L->Y, L->batch, out);
    }
}

void sbo_task_lower_tangent(sbo_task *t, const double *x, const double *Y, const sbo_tangent *tan) {
    const sbo_linearization *L = &t->lin;
    check_point(t, x, Y);
    if (tan->hvp && tan->V_full && L->S) {
        fprintf(stderr, "sbo: internal error: H[V] of a full direction in a reduced linearization\n");
        abort();
    }
    if (t->ops->lower_at) {
        if (tan->hvp) { if (L->S) t->counts.reduced_hvp++; else t->counts.hvp++; }
        if (tan->cross) t->counts.cross++;
        t->ops->lower_tangent(t, x, Y, tan);
        return;
    }
    if (tan->hvp && L->S) sbo_task_reduced_hvp(t, x, Y, L->batch, L->S, tan->V, tan->hvp);
    else if (tan->hvp) sbo_task_hvp(t, x, Y, L->batch, tan->V, tan->hvp);
    if (tan->cross && L->S && !tan->V_full) {   /* a reduced direction: J[P X], P X formed in the task's scratch */
        sbo_vec_zero(sbo_layout_total(&t->lower), t->scratch_full_a);
        sbo_subspace_lift_add(L->S, tan->V, NULL, t->scratch_full_a);
        sbo_task_cross(t, x, Y, L->batch, t->scratch_full_a, tan->cross);
    } else if (tan->cross) {
        sbo_task_cross(t, x, Y, L->batch, tan->V, tan->cross);
    }
}

void sbo_task_upper(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S,
                    double *grad_Y_out, double *grad_x_out) {
    if (t->ops->upper) {
        if (grad_Y_out) t->counts.grad_upper_Y++;
        if (grad_x_out) t->counts.grad_upper_x++;
        t->ops->upper(t, x, Y, batch, S, grad_Y_out, grad_x_out);
        return;
    }
    if (grad_Y_out && S) sbo_task_reduced_grad_upper_Y(t, x, Y, batch, S, grad_Y_out);
    else if (grad_Y_out) sbo_task_grad_upper_Y(t, x, Y, batch, grad_Y_out);
    if (grad_x_out) sbo_task_grad_upper_x(t, x, Y, batch, grad_x_out);
}

sbo_task *sbo_task_create(const sbo_task_type *type, const sbo_config *cfg, char *err, size_t errlen) {
    sbo_task *t = type->create(cfg, err, errlen);
    if (t) {
        t->type = type;
        memset(&t->counts, 0, sizeof t->counts);
    }
    return t;
}

void sbo_task_destroy(sbo_task *t) {
    if (!t) return;
    if (t->ops && t->ops->destroy) t->ops->destroy(t);
}

void sbo_task_declare_scratch(sbo_task *t) {
    long D = sbo_layout_total(&t->lower);
    sbo_arena_add(&t->arena, "generic-reduced scratch a", "D (one lower tuple)", D, &t->scratch_full_a);
    sbo_arena_add(&t->arena, "generic-reduced scratch b", "D (one lower tuple)", D, &t->scratch_full_b);
}
