/* tasks/counterexample.c: the paper's 19/39 counterexample (ALGORITHMS.md §5.3).
 *   y in R^3 (one 3 x 1 block), H = diag(h1, h2, h3) = diag(1, 2, 3) by default,
 *   g(x, y) = 1/2 y^T H y - x y_1,   f(x, y) = 1/2 x^2 + y_1.
 *   y*(x) = (x/h1, 0, 0), grad_y f = e1, grad_x f = x, J[z] = -z_1, Z* = H^{-1} e1,
 *   grad Phi(x) = x + 1/h1 (= x + 1), x* = -1/h1.
 * Noiseless oracles (empty batches). Exercised by: theory_checks/tc6_counterexample.c, tests/test_tasks.c. */
#include "tasks/counterexample.h"   /* the typed options, the oracle table */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef sbo_counterexample_options cx_ctx;   /* the task's whole state */

static const sbo_option cx_options[] = {
    {"task.h", "1,2,3", "diagonal of the lower Hessian H (three positive numbers; §5.3 uses 1,2,3)"},
    {"task.x0", "2", "initial upper variable x_0 (§5.3 uses 2); y_0 = 0"},
    {NULL, NULL, NULL}};

static void cx_init(sbo_task *t, sbo_stream *s, double *x0, double *Y0) {
    cx_ctx *c = t->ctx;
    x0[0] = c->x0;
    Y0[0] = Y0[1] = Y0[2] = 0;
}
static void cx_sample(sbo_task *t, sbo_stream *s, sbo_batch *batch) { /* noiseless: nothing to draw */ }
static void cx_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *b, double *out) {
    cx_ctx *c = t->ctx;
    for (int i = 0; i < 3; i++) out[i] = c->h[i] * Y[i];
    out[0] -= x[0];
}
static void cx_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *b, double *out) {
    out[0] = 1; out[1] = 0; out[2] = 0;
}
static void cx_grad_upper_x(sbo_task *t, const double *x, const double *Y, const sbo_batch *b, double *out) {
    out[0] = x[0];
}
static void cx_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *b, const double *V, double *out) {
    cx_ctx *c = t->ctx;
    for (int i = 0; i < 3; i++) out[i] = c->h[i] * V[i];
}
static void cx_cross(sbo_task *t, const double *x, const double *Y, const sbo_batch *b, const double *Z, double *out) {
    out[0] = -Z[0];    /* J[z] = grad_x <grad_y g, z> = -z_1 */
}
static void cx_metrics(sbo_task *t, const double *x, const double *Y, const double *Z, double *out) {
    cx_ctx *c = t->ctx;
    double xs = -1.0 / c->h[0];
    double gphi = x[0] - xs;
    double ystar[3] = {x[0] / c->h[0], 0, 0}, zstar[3] = {1.0 / c->h[0], 0, 0};
    double low = 0, dy = 0, dz = 0;
    for (int i = 0; i < 3; i++) {
        double e = Y[i] - ystar[i];
        low += 0.5 * c->h[i] * e * e;
        dy += e * e;
        if (Z) dz += (Z[i] - zstar[i]) * (Z[i] - zstar[i]);
    }
    out[0] = gphi * gphi;                                   /* grad_phi_sq */
    out[1] = fabs(gphi);                                    /* dist_x_star */
    out[2] = 0.5 * x[0] * x[0] + x[0] / c->h[0];            /* phi */
    out[3] = 0.5 * x[0] * x[0] + Y[0];                      /* upper_loss */
    out[4] = low;                                           /* lower_loss - min */
    out[5] = sqrt(dy);                                      /* dist_Y_star */
    out[6] = Z ? sqrt(dz) : NAN;                            /* dist_Z_star */
}
static void cx_destroy(sbo_task *t) {
    sbo_arena_free(&t->arena);
    free(t->ctx);
    free(t);
}

static const sbo_task_ops cx_ops = {
    .init = cx_init, .sample = cx_sample, .grad_lower_Y = cx_grad_lower, .grad_upper_Y = cx_grad_upper_Y,
    .grad_upper_x = cx_grad_upper_x, .hvp = cx_hvp, .cross = cx_cross, .metrics = cx_metrics,
    .destroy = cx_destroy};

int sbo_counterexample_options_check(const sbo_counterexample_options *o, char *err, size_t errlen) {
    if (!(o->h[0] > 0 && o->h[1] > 0 && o->h[2] > 0) || !isfinite(o->h[0] + o->h[1] + o->h[2])) {
        snprintf(err, errlen, "task.h = '%g,%g,%g' must be three positive numbers separated by commas, e.g. "
                 "task.h=1,2,3", o->h[0], o->h[1], o->h[2]);
        return -1;
    }
    return 0;
}

int sbo_counterexample_options_parse(const sbo_config *cfg, sbo_counterexample_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    const char *hs = sbo_config_get(cfg, "task.h");
    if (!hs) hs = "1,2,3";
    char tail;
    if (sscanf(hs, "%lf,%lf,%lf%c", &o->h[0], &o->h[1], &o->h[2], &tail) != 3 ||
        sbo_counterexample_options_check(o, err, errlen)) {
        snprintf(err, errlen, "task.h = '%s' must be three positive numbers separated by commas, e.g. task.h=1,2,3", hs);
        return -1;
    }
    o->x0 = 2;
    if (sbo_config_get(cfg, "task.x0") && sbo_config_double(cfg, "task.x0", &o->x0, err, errlen)) return -1;
    return 0;
}

sbo_task *sbo_counterexample_create(const sbo_counterexample_options *o, char *err, size_t errlen) {
    if (sbo_counterexample_options_check(o, err, errlen)) return NULL;
    const sbo_counterexample_options c = *o;
    sbo_task *t = calloc(1, sizeof *t);
    cx_ctx *ctx = malloc(sizeof *ctx);
    if (!t || !ctx) {
        free(t); free(ctx);
        snprintf(err, errlen, "out of memory creating the counterexample task");
        return NULL;
    }
    *ctx = c;
    t->type = &sbo_task_counterexample;
    t->ops = &cx_ops;
    t->ctx = ctx;
    t->d = 1;
    t->lower.L = 1;
    snprintf(t->lower.block[0].name, SBO_NAME_LEN, "y");
    t->lower.block[0].m = 3;
    t->lower.block[0].n = 1;
    t->lower.block[0].row_symmetric = 1;     /* vector block: every symmetric H is row-symmetric (§5.2) */
    sbo_layout_finish(&t->lower, NULL);
    t->mu = fmin(c.h[0], fmin(c.h[1], c.h[2]));
    static const char *names[] = {"grad_phi_sq", "dist_x_star", "phi", "upper_loss", "lower_loss", "dist_Y_star",
                                  "dist_Z_star"};
    static const char *help[] = {"||grad Phi(x)||^2 = (x + 1/h1)^2 (exact)", "|x - x*|, x* = -1/h1",
                                 "Phi(x) = f(x, y*(x))", "f(x, y)", "g(x, y) - g(x, y*(x))", "||y - y*(x)||",
                                 "||z - Z*(x)||, Z* = H^{-1} e1"};
    t->n_metrics = 7;
    for (int i = 0; i < 7; i++) { t->metric_names[i] = names[i]; t->metric_help[i] = help[i]; }
    t->has_x_star = 1;
    t->reduced_impl = "generic (forms P X and projects: +2mn transient per block, §9)";
    sbo_arena_init(&t->arena, "task.counterexample");
    sbo_task_declare_scratch(t);
    if (sbo_arena_commit(&t->arena)) {
        cx_destroy(t);
        snprintf(err, errlen, "out of memory creating the counterexample task");
        return NULL;
    }
    return t;
}

static sbo_task *cx_create(const sbo_config *cfg, char *err, size_t errlen) {
    sbo_counterexample_options o;
    return sbo_counterexample_options_parse(cfg, &o, err, errlen) ? NULL : sbo_counterexample_create(&o, err, errlen);
}

const sbo_task_type sbo_task_counterexample = {
    .name = "counterexample",
    .description = "the paper's 3-d quadratic (§5.3): naive projected stalls where grad Phi = 19/39; x* = -1",
    .options = cx_options,
    .create = cx_create};
