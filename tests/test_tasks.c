/* tests/test_tasks.c: the task interface itself: the counterexample's oracles against central differences in
 * double (STYLE.md pattern 7), its exact metrics (§5.3), the row-symmetry declaration checked numerically (§6.2),
 * the subspace helpers (P^T V and P X are adjoint; full blocks copy), the generic reduced oracles equal to P^T of
 * the full ones, the oracle counters, the batch-version check of the generic fused oracles, and the typed task
 * options (a task from a struct without a configuration; the parsers' messages).
 * Run: ctest -R test_tasks */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_haar.h"     /* Haar P for the subspace tests */
#include "runners/sbo_run.h"     /* sbo_run_resolve_config */
#include "tasks/task.h"        /* the oracle table */
#include "tasks/counterexample.h"   /* typed options: sbo_counterexample_options */
#include "tasks/quadratic.h"   /* typed options: sbo_quadratic_options */

static sbo_task *make_task(const char *name, const char *const *settings) {
    sbo_config cfg;
    char err[SBO_ERR_LEN];
    const sbo_task_type *tt = sbo_task_find(name);
    cr_assert(tt, "task %s not registered", name);
    int n = 0;
    while (settings && settings[n]) n++;
    cr_assert_eq(sbo_run_resolve_config(tt, NULL, NULL, settings, n, &cfg, err, sizeof err), 0, "%s", err);
    sbo_task *t = sbo_task_create(tt, &cfg, err, sizeof err);
    cr_assert(t, "%s", err);
    cr_assert_eq(t->type, tt);
    return t;
}

/* counterexample: g = 1/2 y^T H y - x y_1, f = 1/2 x^2 + y_1 */
static double cx_g(const double *x, const double *y) {
    return 0.5 * (1 * y[0] * y[0] + 2 * y[1] * y[1] + 3 * y[2] * y[2]) - x[0] * y[0];
}

Test(tasks, counterexample_oracles_match_finite_differences) {
    sbo_task *t = make_task("counterexample", NULL);
    double x[1] = {0.7}, y[3] = {0.3, -1.1, 0.5}, g[3], hv[3], v[3] = {0.2, -0.4, 1.3}, j[1], z[3] = {1.5, 0.2, -0.3};
    const double h = 1e-5;
    sbo_task_grad_lower(t, x, y, NULL, g);
    double maxerr = 0;
    for (int i = 0; i < 3; i++) {
        double yp[3], ym[3];
        memcpy(yp, y, sizeof y); memcpy(ym, y, sizeof y);
        yp[i] += h; ym[i] -= h;
        maxerr = fmax(maxerr, fabs((cx_g(x, yp) - cx_g(x, ym)) / (2 * h) - g[i]));
    }
    cr_log_info("grad_Y g: max error %.2e (tolerance 1e-8)", maxerr);
    cr_expect(maxerr < 1e-8, "grad_Y g error %.3g", maxerr);
    /* H[v] against differences of grad_Y g */
    sbo_task_hvp(t, x, y, NULL, v, hv);
    double yp[3], ym[3], gp[3], gm[3];
    for (int i = 0; i < 3; i++) { yp[i] = y[i] + h * v[i]; ym[i] = y[i] - h * v[i]; }
    sbo_task_grad_lower(t, x, yp, NULL, gp);
    sbo_task_grad_lower(t, x, ym, NULL, gm);
    maxerr = 0;
    for (int i = 0; i < 3; i++) maxerr = fmax(maxerr, fabs((gp[i] - gm[i]) / (2 * h) - hv[i]));
    cr_expect(maxerr < 1e-8, "H[v] error %.3g", maxerr);
    /* J[z] = grad_x <grad_Y g, z> by differences in x */
    sbo_task_cross(t, x, y, NULL, z, j);
    double xp[1] = {x[0] + h}, xm[1] = {x[0] - h};
    sbo_task_grad_lower(t, xp, y, NULL, gp);
    sbo_task_grad_lower(t, xm, y, NULL, gm);
    double fd = 0;
    for (int i = 0; i < 3; i++) fd += (gp[i] - gm[i]) / (2 * h) * z[i];
    cr_expect(fabs(fd - j[0]) < 1e-8, "J[z] %.10f vs differences %.10f", j[0], fd);
    /* upper gradients: grad_Y f = e1, grad_x f = x */
    double gy[3], gx[1];
    sbo_task_grad_upper_Y(t, x, y, NULL, gy);
    sbo_task_grad_upper_x(t, x, y, NULL, gx);
    cr_expect(gy[0] == 1 && gy[1] == 0 && gy[2] == 0 && gx[0] == x[0]);
    cr_expect_eq(t->counts.grad_lower, 5);
    cr_expect_eq(t->counts.hvp, 1);
    cr_expect_eq(t->counts.cross, 1);
    sbo_task_destroy(t);
}

Test(tasks, counterexample_exact_metrics) {
    sbo_task *t = make_task("counterexample", NULL);
    double out[SBO_MAX_METRICS];
    double x[1] = {-20.0 / 39.0}, y[3] = {-20.0 / 39.0, 0, 0}, z[3] = {20.0 / 39.0, 0, 0};
    t->ops->metrics(t, x, y, z, out);
    cr_expect_str_eq(t->metric_names[0], "grad_phi_sq");
    cr_expect_float_eq(out[0], 361.0 / 1521.0, 1e-15, "grad Phi(-20/39)^2 = %.17g, expected 361/1521", out[0]);
    cr_expect_float_eq(out[1], 19.0 / 39.0, 1e-15);
    cr_expect_float_eq(out[4], 0.0, 1e-15, "y = y*(x): lower loss gap must be 0");
    x[0] = -1; y[0] = -1; z[0] = 1;
    t->ops->metrics(t, x, y, z, out);
    cr_expect_eq(out[0], 0.0);
    cr_expect_eq(out[6], 0.0, "Z* = e1 at any x");
    sbo_task_destroy(t);
}

Test(tasks, counterexample_rejects_bad_h) {
    sbo_config cfg;
    char err[SBO_ERR_LEN] = "";
    sbo_config_init(&cfg);
    sbo_config_set_arg(&cfg, "task.h=1,-2,3", err, sizeof err);
    sbo_task *t = sbo_task_create(sbo_task_find("counterexample"), &cfg, err, sizeof err);
    cr_expect_null(t);
    cr_expect(strstr(err, "task.h") != NULL, "message: %s", err);
}

/* §6.2 row-symmetry test on the declared blocks: <u w^T, H[v y^T]> = <v w^T, H[u y^T]>. */
Test(tasks, declared_row_symmetry_holds_numerically) {
    const char *names[] = {"counterexample", "quadratic"};
    for (int ti = 0; ti < 2; ti++) {
        sbo_task *t = make_task(names[ti], NULL);
        long D = sbo_layout_total(&t->lower);
        double *Y = calloc(D, sizeof(double)), *A = calloc(D, sizeof(double)), *B = calloc(D, sizeof(double)),
               *HA = calloc(D, sizeof(double)), *HB = calloc(D, sizeof(double)), x[64] = {0};
        sbo_stream s;
        sbo_stream_init(&s, 3, SBO_RNG_TEST, 0, 0);
        for (int l = 0; l < t->lower.L; l++) {
            if (!t->lower.block[l].row_symmetric) continue;
            int m = t->lower.block[l].m, n = t->lower.block[l].n;
            for (int trial = 0; trial < 5; trial++) {
                double u[64], v[64], w[64], yv[64];
                for (int i = 0; i < m; i++) { u[i] = sbo_stream_gaussian(&s); v[i] = sbo_stream_gaussian(&s); }
                for (int a = 0; a < n; a++) { w[a] = sbo_stream_gaussian(&s); yv[a] = sbo_stream_gaussian(&s); }
                sbo_vec_zero(D, A); sbo_vec_zero(D, B);
                double *Al = A + t->lower.offset[l], *Bl = B + t->lower.offset[l];
                for (int i = 0; i < m; i++)
                    for (int a = 0; a < n; a++) { Al[i * n + a] = v[i] * yv[a]; Bl[i * n + a] = u[i] * yv[a]; }
                t->ops->hvp(t, x, Y, NULL, A, HA);   /* H[v y^T] */
                t->ops->hvp(t, x, Y, NULL, B, HB);   /* H[u y^T] */
                double lhs = 0, rhs = 0, nuw = 0;
                const double *HAl = HA + t->lower.offset[l], *HBl = HB + t->lower.offset[l];
                for (int i = 0; i < m; i++)
                    for (int a = 0; a < n; a++) {
                        lhs += u[i] * w[a] * HAl[i * n + a];
                        rhs += v[i] * w[a] * HBl[i * n + a];
                        nuw += u[i] * u[i] * w[a] * w[a];
                    }
                double scale = sqrt(nuw) * sbo_vec_norm2(D, HA);
                cr_expect(fabs(lhs - rhs) <= 1e-10 * scale, "%s block %d: gap %.3g (scale %.3g)", names[ti], l,
                          fabs(lhs - rhs), scale);
            }
        }
        free(Y); free(A); free(B); free(HA); free(HB);
        sbo_task_destroy(t);
    }
}

/* P^T and P are adjoint, full blocks copy, and the generic reduced HVP equals P^T H[P X]. */
Test(tasks, subspace_helpers_and_generic_reduced_hvp) {
    const char *set[] = {"task.blocks=6x2,3x2", "task.sigma=0", NULL};
    sbo_task *t = make_task("quadratic", set);
    long D = sbo_layout_total(&t->lower);
    double P0[6 * 2], work[256];
    sbo_stream s;
    sbo_stream_init(&s, 5, SBO_RNG_SUBSPACE, 0, 0);
    sbo_haar_sample(&s, 6, 2, P0, work);
    sbo_subspace S;
    memset(&S, 0, sizeof S);
    S.full = &t->lower;
    S.red = t->lower;
    S.red.block[0].m = 2;
    int rows[2] = {2, 3};
    sbo_layout_finish(&S.red, rows);
    S.P[0] = P0;
    S.P[1] = NULL;                       /* full block */
    long R = sbo_layout_total(&S.red);
    cr_assert_eq(R, 2 * 2 + 3 * 2);
    double V[64], X[64], PtV[64], PX[64], HPX[64], red[64], ref[64], x[8] = {0}, Y[64] = {0};
    for (long i = 0; i < D; i++) V[i] = sbo_stream_gaussian(&s);
    for (long i = 0; i < R; i++) X[i] = sbo_stream_gaussian(&s);
    sbo_subspace_project(&S, V, PtV);
    sbo_vec_zero(D, PX);
    sbo_subspace_lift_add(&S, X, NULL, PX);
    double lhs = sbo_vec_dot(R, PtV, X), rhs = sbo_vec_dot(D, V, PX);
    cr_expect(fabs(lhs - rhs) < 1e-12 * (1 + fabs(lhs)), "<P^T V, X> = %.15g but <V, P X> = %.15g", lhs, rhs);
    cr_expect_eq(memcmp(PtV + S.red.offset[1], V + t->lower.offset[1], sizeof(double) * 6), 0, "full block must copy");
    t->ops->hvp(t, x, Y, NULL, PX, HPX);
    sbo_subspace_project(&S, HPX, ref);
    sbo_task_reduced_hvp(t, x, Y, NULL, &S, X, red);
    for (long i = 0; i < R; i++) cr_expect(fabs(red[i] - ref[i]) < 1e-12, "entry %ld: %.15g vs %.15g", i, red[i], ref[i]);
    cr_expect_eq(t->counts.reduced_hvp, 1);
    sbo_task_destroy(t);
}

/* --- the linearization contract on the minibatch (generic fused oracles, tasks/task.c) --------------------------
 * The quadratic (sigma > 0) has no native fused oracles: the wrappers compose the separate ones and record the
 * batch's version at sbo_task_lower_at. A tangent sweep after a new draw into that batch must abort; after a new
 * linearization it runs (the control: the same calls with lower_at in between). */
static void lower_tangent_after_redraw(int relinearize) {
    sbo_task *t = make_task("quadratic", NULL);
    long D = sbo_layout_total(&t->lower);
    double *x = calloc((size_t)t->d, sizeof(double)), *Y = calloc((size_t)D, sizeof(double));
    double *V = calloc((size_t)D, sizeof(double)), *HV = calloc((size_t)D, sizeof(double));
    sbo_batch *b = sbo_batch_create(t, 0);
    cr_assert(x && Y && V && HV && b && b->n_values > 0);
    V[0] = 1;
    sbo_stream s;
    sbo_stream_init(&s, 5, SBO_RNG_LOWER_BATCH, 0, 0);
    sbo_task_sample(t, 0, &s, b);
    sbo_task_lower_at(t, x, Y, b, NULL);
    sbo_tangent tan = {.V = V, .hvp = HV};
    sbo_task_lower_tangent(t, x, Y, &tan);          /* at the linearization: runs */
    sbo_stream_init(&s, 5, SBO_RNG_LOWER_BATCH, 0, 1);
    sbo_task_sample(t, 0, &s, b);                   /* phi_{k+1} into the same batch */
    if (relinearize) sbo_task_lower_at(t, x, Y, b, NULL);
    sbo_task_lower_tangent(t, x, Y, &tan);
    sbo_batch_free(b);
    free(x); free(Y); free(V); free(HV);
    sbo_task_destroy(t);
}

Test(tasks, generic_tangent_after_a_new_draw_aborts, .signal = SIGABRT) {
    lower_tangent_after_redraw(0);
    cr_log_error("a tangent sweep ran on a minibatch drawn after the linearization");
}

Test(tasks, generic_tangent_after_a_new_draw_and_linearization_runs) {
    lower_tangent_after_redraw(1);
}

/* --- typed task options (liblinear's check_parameter pattern): a task from a struct, no configuration ----------- */
Test(tasks, counterexample_from_typed_options_without_a_config) {
    sbo_counterexample_options o = {.h = {1, 2, 3}, .x0 = 2};
    char err[SBO_ERR_LEN] = "";
    sbo_task *t = sbo_counterexample_create(&o, err, sizeof err);
    cr_assert(t, "%s", err);
    cr_expect_eq(t->type, &sbo_task_counterexample);
    cr_expect_eq(t->d, 1);
    cr_expect_eq(t->mu, 1.0);
    /* the same task as the registry's from its defaults: the same oracle at a point */
    sbo_task *r = make_task("counterexample", NULL);
    double x[1] = {0.7}, y[3] = {0.3, -1.1, 0.5}, g1[3], g2[3], x0a[1], x0b[1], y0[3];
    sbo_task_grad_lower(t, x, y, NULL, g1);
    sbo_task_grad_lower(r, x, y, NULL, g2);
    cr_expect(memcmp(g1, g2, sizeof g1) == 0);
    t->ops->init(t, NULL, x0a, y0);
    r->ops->init(r, NULL, x0b, y0);
    cr_expect_eq(x0a[0], x0b[0]);
    sbo_task_destroy(r);
    sbo_task_destroy(t);
    /* a struct with a bad value is refused by the constructor, with the parser's wording */
    o.h[1] = -2;
    cr_expect_null(sbo_counterexample_create(&o, err, sizeof err));
    cr_expect(strstr(err, "task.h = '1,-2,3' must be three positive numbers") != NULL, "message: %s", err);
}

Test(tasks, options_parsers_reject_bad_values_with_their_message) {
    sbo_config cfg;
    char err[SBO_ERR_LEN] = "";
    sbo_config_init(&cfg);
    cr_assert_eq(sbo_config_set_arg(&cfg, "task.lambda=-1", err, sizeof err), 0, "%s", err);
    sbo_quadratic_options q;
    cr_expect_eq(sbo_quadratic_options_parse(&cfg, &q, err, sizeof err), -1);
    cr_expect_str_eq(err, "task.lambda = -1 must be non-negative");
    /* the defaults of the option table fill what the configuration leaves unset */
    sbo_config_init(&cfg);
    cr_assert_eq(sbo_quadratic_options_parse(&cfg, &q, err, sizeof err), 0, "%s", err);
    cr_expect(q.structure == SBO_QUAD_KRON && q.L == 1 && q.m[0] == 12 && q.n[0] == 3 && q.d == 5 && q.sigma == 0.3);
    sbo_counterexample_options c;
    cr_assert_eq(sbo_config_set_arg(&cfg, "task.h=1,2", err, sizeof err), 0, "%s", err);
    cr_expect_eq(sbo_counterexample_options_parse(&cfg, &c, err, sizeof err), -1);
    cr_expect_str_eq(err, "task.h = '1,2' must be three positive numbers separated by commas, e.g. task.h=1,2,3");
}
