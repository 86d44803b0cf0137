/* tests/test_quadratic.c: the quadratic task (ALGORITHMS.md §8 TC-7, generalized; tasks/quadratic.c).
 * Every oracle against central finite differences in double (STYLE.md pattern 7), the closed forms
 * (Y*, Z*, grad Phi, x*), the row-symmetry declaration (§6.2 test, with power on the generic structure),
 * mean-zero noise, rejected configurations, the naive plateau formula (§5.2, §8 TC-7) against an
 * independent dense computation and against Monte Carlo, and determinism of the instance.
 * Central differences are exact for quadratics up to rounding, so every FD tolerance is a rounding bound.
 * Run: build/test_quadratic --verbose */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/quadratic.h"    /* the task and its closed-form extras */
#include "core/sbo_haar.h"      /* Haar frames for the Monte Carlo check of the naive operator */

/* --- helpers ------------------------------------------------------------------ */

static sbo_task *make_task(const char *const *kv, char *err) {
    sbo_config cfg;
    sbo_config_init(&cfg);
    err[0] = 0;
    for (int i = 0; kv && kv[i]; i++)
        if (sbo_config_set_arg(&cfg, kv[i], err, SBO_ERR_LEN)) return NULL;
    return sbo_task_create(&sbo_task_quadratic, &cfg, err, SBO_ERR_LEN);
}

static sbo_task *make_ok(const char *const *kv) {
    char err[SBO_ERR_LEN];
    sbo_task *t = make_task(kv, err);
    cr_assert(t, "create failed: %s", err);
    return t;
}

static double *dalloc(long n) {
    double *p = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    cr_assert(p);
    return p;
}

static void randn(uint32_t block, long n, double *out) {
    sbo_stream s;
    sbo_stream_init(&s, 777, SBO_RNG_TEST, block, 0);
    sbo_stream_gaussian_fill(&s, out, n);
}

static double max_abs(long n, const double *x) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static double max_abs_diff(long n, const double *a, const double *b) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* Solve A x = b (n x n dense, row-major, copied) by Gaussian elimination with partial pivoting: the test's
 * own solver, independent of the task's eigen-solves and Cholesky. nrhs columns in B (n x nrhs), in place. */
static void solve_dense(int n, const double *A_in, int nrhs, double *B) {
    double *A = dalloc((long)n * n);
    memcpy(A, A_in, sizeof(double) * (size_t)n * n);
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(A[(long)i * n + c]) > fabs(A[(long)piv * n + c])) piv = i;
        cr_assert(fabs(A[(long)piv * n + c]) > 0, "singular matrix in the test solver");
        if (piv != c) {
            for (int j = 0; j < n; j++) {
                double t = A[(long)c * n + j]; A[(long)c * n + j] = A[(long)piv * n + j]; A[(long)piv * n + j] = t;
            }
            for (int j = 0; j < nrhs; j++) {
                double t = B[(long)c * nrhs + j]; B[(long)c * nrhs + j] = B[(long)piv * nrhs + j]; B[(long)piv * nrhs + j] = t;
            }
        }
        for (int i = c + 1; i < n; i++) {
            double f = A[(long)i * n + c] / A[(long)c * n + c];
            for (int j = c; j < n; j++) A[(long)i * n + j] -= f * A[(long)c * n + j];
            for (int j = 0; j < nrhs; j++) B[(long)i * nrhs + j] -= f * B[(long)c * nrhs + j];
        }
    }
    for (int j = 0; j < nrhs; j++)
        for (int i = n - 1; i >= 0; i--) {
            double s = B[(long)i * nrhs + j];
            for (int k = i + 1; k < n; k++) s -= A[(long)i * n + k] * B[(long)k * nrhs + j];
            B[(long)i * nrhs + j] = s / A[(long)i * n + i];
        }
    free(A);
}

/* The configurations every structural test runs on. */
static const char *const cfg_default[] = {NULL};
static const char *const cfg_kron2[] = {"task.blocks=5x3,4x3", "task.d=4", "task.p=7", NULL};
static const char *const cfg_generic[] = {"task.structure=generic", "task.blocks=4x3,2x2", NULL};
static const char *const cfg_generic1[] = {"task.structure=generic", "task.blocks=5x3", "task.d=3", NULL};
static const char *const *const all_cfgs[] = {cfg_default, cfg_kron2, cfg_generic, cfg_generic1, NULL};
static const char *cfg_name(int i) {
    static const char *names[] = {"kron 12x3 (TC-7)", "kron 5x3,4x3", "generic 4x3,2x2", "generic 5x3"};
    return names[i];
}

/* Draws one lower and one upper minibatch for iteration k. */
static void draw_batches(sbo_task *t, long k, sbo_batch *bl, sbo_batch *bu) {
    sbo_stream s;
    sbo_stream_init(&s, 99, SBO_RNG_LOWER_BATCH, 0, (uint64_t)k);
    sbo_task_sample(t, 0, &s, bl);
    sbo_stream_init(&s, 99, SBO_RNG_UPPER_BATCH, 0, (uint64_t)k);
    sbo_task_sample(t, 1, &s, bu);
}

/* --- finite differences ---------------------------------------------------------- */

#define FD_H 1e-3
/* Relative to 1 + max|reference|. The third derivatives vanish, so central differences are exact up to rounding,
 * about eps |value| / FD_H ~ 1e-11 here; 1e-9 leaves two orders of margin and still catches any wrong term. */
#define FD_TOL 1e-9

static void check_fd(const char *what, const char *cfg, long n, const double *oracle, const double *fd) {
    double err = max_abs_diff(n, oracle, fd), tol = FD_TOL * (1 + max_abs(n, fd));
    cr_log_info("[%s] %s: max |oracle - FD| = %.3e (tol %.3e)", cfg, what, err, tol);
    cr_expect(err <= tol, "[%s] %s: max |oracle - FD| = %.3e > tol %.3e", cfg, what, err, tol);
}

Test(quadratic, oracles_match_finite_differences) {
    for (int ci = 0; all_cfgs[ci]; ci++) {
        sbo_task *t = make_ok(all_cfgs[ci]);
        const char *cn = cfg_name(ci);
        long D = sbo_layout_total(&t->lower);
        int d = t->d;
        double *x = dalloc(d), *Y = dalloc(D), *V = dalloc(D), *Z = dalloc(D);
        double *g = dalloc(D), *fd = dalloc(D), *gp = dalloc(D), *gm = dalloc(D), *hv = dalloc(D);
        double *gx = dalloc(d), *fdx = dalloc(d), *xp = dalloc(d), *Yp = dalloc(D);
        sbo_batch *bl = sbo_batch_create(t, 0), *bu = sbo_batch_create(t, 1);
        cr_assert(bl && bu && bl->n_values && bu->n_values, "default sigma 0.3 must give non-empty minibatches");
        randn(1, d, x);
        randn(2, D, Y);
        randn(3, D, V);
        randn(4, D, Z);
        draw_batches(t, 0, bl, bu);
        for (int pass = 0; pass < 2; pass++) {           /* exact oracles, then one sampled minibatch */
            const sbo_batch *lb = pass ? bl : NULL, *ub = pass ? bu : NULL;
            char tag[64];
            snprintf(tag, sizeof tag, "%s, %s", cn, pass ? "sampled batch" : "exact");
            /* grad_Y g against differences of g */
            sbo_task_grad_lower(t, x, Y, lb, g);
            for (long i = 0; i < D; i++) {
                memcpy(Yp, Y, sizeof(double) * D);
                Yp[i] = Y[i] + FD_H;
                double fp = sbo_quadratic_lower_value(t, x, Yp, lb);
                Yp[i] = Y[i] - FD_H;
                fd[i] = (fp - sbo_quadratic_lower_value(t, x, Yp, lb)) / (2 * FD_H);
            }
            check_fd("grad_Y g vs g", tag, D, g, fd);
            /* grad_Y f, grad_x f against differences of f */
            sbo_task_grad_upper_Y(t, x, Y, ub, g);
            for (long i = 0; i < D; i++) {
                memcpy(Yp, Y, sizeof(double) * D);
                Yp[i] = Y[i] + FD_H;
                double fp = sbo_quadratic_upper_value(t, x, Yp, ub);
                Yp[i] = Y[i] - FD_H;
                fd[i] = (fp - sbo_quadratic_upper_value(t, x, Yp, ub)) / (2 * FD_H);
            }
            check_fd("grad_Y f vs f", tag, D, g, fd);
            sbo_task_grad_upper_x(t, x, Y, ub, gx);
            for (int k = 0; k < d; k++) {
                memcpy(xp, x, sizeof(double) * d);
                xp[k] = x[k] + FD_H;
                double fp = sbo_quadratic_upper_value(t, xp, Y, ub);
                xp[k] = x[k] - FD_H;
                fdx[k] = (fp - sbo_quadratic_upper_value(t, xp, Y, ub)) / (2 * FD_H);
            }
            check_fd("grad_x f vs f", tag, d, gx, fdx);
            /* H[V] against differences of grad_Y g (the same A_xi / H_xi serves both, §8 TC-7) */
            sbo_task_hvp(t, x, Y, lb, V, hv);
            for (long i = 0; i < D; i++) Yp[i] = Y[i] + FD_H * V[i];
            sbo_task_grad_lower(t, x, Yp, lb, gp);
            for (long i = 0; i < D; i++) Yp[i] = Y[i] - FD_H * V[i];
            sbo_task_grad_lower(t, x, Yp, lb, gm);
            for (long i = 0; i < D; i++) fd[i] = (gp[i] - gm[i]) / (2 * FD_H);
            check_fd("H[V] vs grad_Y g", tag, D, hv, fd);
        }
        /* J[Z] = grad_x <grad_Y g(x,Y), Z>, exact oracles only: the sampled J uses B + sigma N/sqrt(D) while
         * the sampled grad_Y g keeps B (§8 TC-7), so they are consistent only in expectation (mean test below). */
        sbo_task_cross(t, x, Y, NULL, Z, gx);
        for (int k = 0; k < d; k++) {
            memcpy(xp, x, sizeof(double) * d);
            xp[k] = x[k] + FD_H;
            sbo_task_grad_lower(t, xp, Y, NULL, gp);
            xp[k] = x[k] - FD_H;
            sbo_task_grad_lower(t, xp, Y, NULL, gm);
            fdx[k] = (sbo_vec_dot(D, gp, Z) - sbo_vec_dot(D, gm, Z)) / (2 * FD_H);
        }
        check_fd("J[Z] vs grad_x <grad_Y g, Z>", cn, d, gx, fdx);
        free(x); free(Y); free(V); free(Z); free(g); free(fd); free(gp); free(gm); free(hv);
        free(gx); free(fdx); free(xp); free(Yp); sbo_batch_free(bl); sbo_batch_free(bu);
        sbo_task_destroy(t);
    }
}

/* --- closed forms ----------------------------------------------------------------- */

Test(quadratic, closed_forms) {
    static const char *names[] = {"grad_phi_sq", "dist_x_star", "phi", "upper_loss", "lower_loss", "dist_Y_star",
                                  "dist_Z_star"};
    for (int ci = 0; all_cfgs[ci]; ci++) {
        sbo_task *t = make_ok(all_cfgs[ci]);
        const char *cn = cfg_name(ci);
        long D = sbo_layout_total(&t->lower);
        int d = t->d;
        cr_assert_eq(t->n_metrics, 7);
        for (int i = 0; i < 7; i++) cr_expect_str_eq(t->metric_names[i], names[i]);
        cr_expect_eq(t->has_x_star, 1);
        double *x = dalloc(d), *Ys = dalloc(D), *Zs = dalloc(D), *g = dalloc(D), *h = dalloc(D), *fy = dalloc(D);
        double *gphi = dalloc(d), *fx = dalloc(d), *jz = dalloc(d), *fd = dalloc(d), *xs = dalloc(d), *xp = dalloc(d);
        randn(5, d, x);
        cr_assert_eq(sbo_quadratic_solution(t, x, Ys, Zs), 0);
        /* grad_Y g(x, Y*) = 0 */
        sbo_task_grad_lower(t, x, Ys, NULL, g);
        double sc = 1 + max_abs(D, Ys);
        cr_log_info("[%s] max|grad_Y g(x,Y*)| = %.3e (tol %.1e)", cn, max_abs(D, g), 1e-12 * sc);
        cr_expect(max_abs(D, g) <= 1e-12 * sc, "[%s] grad_Y g(x, Y*) = %.3e", cn, max_abs(D, g));
        /* H[Z*] = grad_Y f(x, Y*) */
        sbo_task_hvp(t, x, Ys, NULL, Zs, h);
        sbo_task_grad_upper_Y(t, x, Ys, NULL, fy);
        double e = max_abs_diff(D, h, fy);
        cr_log_info("[%s] max|H[Z*] - grad_Y f(x,Y*)| = %.3e (tol %.1e)", cn, e, 1e-12 * (1 + max_abs(D, fy)));
        cr_expect(e <= 1e-12 * (1 + max_abs(D, fy)), "[%s] H[Z*] - grad_Y f = %.3e", cn, e);
        /* grad Phi = grad_x f(x,Y*) - J[Z*] (§1 sign convention) */
        sbo_quadratic_grad_phi(t, x, gphi);
        sbo_task_grad_upper_x(t, x, Ys, NULL, fx);
        sbo_task_cross(t, x, Ys, NULL, Zs, jz);
        for (int k = 0; k < d; k++) fx[k] -= jz[k];
        e = max_abs_diff(d, gphi, fx);
        cr_log_info("[%s] max|grad Phi - (grad_x f - J[Z*])| = %.3e (tol %.1e)", cn, e, 1e-12 * (1 + max_abs(d, fx)));
        cr_expect(e <= 1e-12 * (1 + max_abs(d, fx)), "[%s] grad Phi vs oracles: %.3e", cn, e);
        /* grad Phi against differences of Phi */
        for (int k = 0; k < d; k++) {
            memcpy(xp, x, sizeof(double) * d);
            xp[k] = x[k] + FD_H;
            double pp = sbo_quadratic_phi(t, xp);
            xp[k] = x[k] - FD_H;
            fd[k] = (pp - sbo_quadratic_phi(t, xp)) / (2 * FD_H);
        }
        check_fd("grad Phi vs Phi", cn, d, gphi, fd);
        double s2 = sbo_vec_dot(d, gphi, gphi);
        cr_expect(fabs(sbo_quadratic_grad_phi_sq(t, x) - s2) <= 1e-13 * (1 + s2));
        /* Phi(x) = f(x, Y*(x)) */
        double ph = sbo_quadratic_phi(t, x), fu = sbo_quadratic_upper_value(t, x, Ys, NULL);
        cr_expect(fabs(ph - fu) <= 1e-12 * (1 + fabs(fu)), "[%s] Phi %.15g vs f(x,Y*) %.15g", cn, ph, fu);
        /* grad Phi(x*) = 0 */
        sbo_quadratic_x_star(t, xs);
        sbo_quadratic_grad_phi(t, xs, gphi);
        cr_log_info("[%s] ||x*|| = %.6f, max|grad Phi(x*)| = %.3e (tol 1e-12)", cn, sbo_vec_norm2(d, xs),
                    max_abs(d, gphi));
        cr_expect(max_abs(d, gphi) <= 1e-12, "[%s] grad Phi(x*) = %.3e", cn, max_abs(d, gphi));
        /* metrics: zero distances at (x*, Y*(x*), Z*(x*)); lower_loss = g(x,Y) - g(x,Y*) at another point */
        double m[SBO_MAX_METRICS];
        sbo_quadratic_solution(t, xs, Ys, Zs);
        t->ops->metrics(t, xs, Ys, Zs, m);
        cr_expect(m[0] <= 1e-24 && m[1] <= 1e-12 && m[4] <= 1e-24 && m[5] <= 1e-12 && m[6] <= 1e-12,
                  "[%s] metrics at the solution: %g %g %g %g %g", cn, m[0], m[1], m[4], m[5], m[6]);
        cr_expect(fabs(m[2] - m[3]) <= 1e-12 * (1 + fabs(m[2])), "[%s] phi = upper_loss at Y*", cn);
        randn(6, D, h);
        t->ops->metrics(t, x, h, NULL, m);
        sbo_quadratic_solution(t, x, Ys, NULL);
        double low = sbo_quadratic_lower_value(t, x, h, NULL) - sbo_quadratic_lower_value(t, x, Ys, NULL);
        cr_expect(fabs(m[4] - low) <= 1e-10 * (1 + fabs(low)), "[%s] lower_loss %.15g vs %.15g", cn, m[4], low);
        cr_expect(isnan(m[6]), "dist_Z_star must be NAN without Z");
        cr_expect(fabs(m[0] - sbo_quadratic_grad_phi_sq(t, x)) <= 1e-14 * (1 + m[0]));
        free(x); free(Ys); free(Zs); free(g); free(h); free(fy); free(gphi); free(fx); free(jz); free(fd);
        free(xs); free(xp);
        sbo_task_destroy(t);
    }
}

/* --- row symmetry (§6.2 test) --------------------------------------------------------- */

/* Largest relative gap |L - R| / (||u w^T|| ||H[v y^T]||) over 5 trials per block. */
static double row_symmetry_gap(sbo_task *t, int l, uint32_t seed) {
    long D = sbo_layout_total(&t->lower);
    int m = t->lower.block[l].m, n = t->lower.block[l].n;
    long off = t->lower.offset[l];
    double *in = dalloc(D), *h1 = dalloc(D), *h2 = dalloc(D), *x = dalloc(t->d), *Y = dalloc(D);
    double u[64], v[64], w[64], y[64];
    cr_assert(m <= 64 && n <= 64);
    double worst = 0;
    for (int trial = 0; trial < 5; trial++) {
        randn(seed + 10 * trial + 0, m, u);
        randn(seed + 10 * trial + 1, m, v);
        randn(seed + 10 * trial + 2, n, w);
        randn(seed + 10 * trial + 3, n, y);
        sbo_vec_zero(D, in);
        for (int i = 0; i < m; i++)
            for (int a = 0; a < n; a++) in[off + (long)i * n + a] = v[i] * y[a];
        sbo_task_hvp(t, x, Y, NULL, in, h1);
        sbo_vec_zero(D, in);
        for (int i = 0; i < m; i++)
            for (int a = 0; a < n; a++) in[off + (long)i * n + a] = u[i] * y[a];
        sbo_task_hvp(t, x, Y, NULL, in, h2);
        double Lv = 0, Rv = 0, nh = 0;
        for (int i = 0; i < m; i++)
            for (int a = 0; a < n; a++) {
                Lv += u[i] * w[a] * h1[off + (long)i * n + a];
                Rv += v[i] * w[a] * h2[off + (long)i * n + a];
                nh += h1[off + (long)i * n + a] * h1[off + (long)i * n + a];
            }
        double nuw = sqrt(sbo_vec_dot(m, u, u) * sbo_vec_dot(n, w, w));
        worst = fmax(worst, fabs(Lv - Rv) / (nuw * sqrt(nh)));
    }
    free(in); free(h1); free(h2); free(x); free(Y);
    return worst;
}

Test(quadratic, row_symmetry_declaration) {
    for (int ci = 0; all_cfgs[ci]; ci++) {
        sbo_task *t = make_ok(all_cfgs[ci]);
        for (int l = 0; l < t->lower.L; l++) {
            double gap = row_symmetry_gap(t, l, 100 + 50 * l);
            int decl = t->lower.block[l].row_symmetric;
            int m = t->lower.block[l].m, n = t->lower.block[l].n;
            cr_log_info("[%s] block %d (%dx%d): declared row_symmetric = %d, relative gap %.3e "
                        "(row-symmetric needs <= 1e-10; generic must show > 1e-3)", cfg_name(ci), l + 1, m, n, decl, gap);
            if (decl)
                cr_expect(gap <= 1e-10, "[%s] block %d declared row-symmetric but gap = %.3e", cfg_name(ci), l + 1, gap);
            else   /* power: a non-row-symmetric block must fail the identity clearly */
                cr_expect(gap > 1e-3, "[%s] block %d declared not row-symmetric but gap = %.3e", cfg_name(ci), l + 1, gap);
        }
        sbo_task_destroy(t);
    }
    /* the structures declare what the brief says: kron 1, generic 0 (for blocks with m, n >= 2) */
    sbo_task *t = make_ok(cfg_generic);
    cr_expect_eq(t->lower.block[0].row_symmetric, 0);
    cr_expect_eq(t->lower.block[1].row_symmetric, 0);
    sbo_task_destroy(t);
    t = make_ok(cfg_kron2);
    cr_expect_eq(t->lower.block[0].row_symmetric, 1);
    cr_expect_eq(t->lower.block[1].row_symmetric, 1);
    sbo_task_destroy(t);
    /* a 1 x n block of a generic H is row-symmetric (H^G = H when m = 1, §5.2): declared 1 and verified */
    const char *kv[] = {"task.structure=generic", "task.blocks=1x4,3x2", NULL};
    t = make_ok(kv);
    cr_expect_eq(t->lower.block[0].row_symmetric, 1);
    double gap = row_symmetry_gap(t, 0, 900);
    cr_expect(gap <= 1e-10, "1x4 generic block gap %.3e", gap);
    sbo_task_destroy(t);
}

/* --- noise ------------------------------------------------------------------------- */

typedef struct { long n; double *mean, *m2; } acc_t;
static void acc_init(acc_t *a, long dim) { a->n = 0; a->mean = dalloc(dim); a->m2 = dalloc(dim); }
static void acc_add(acc_t *a, long dim, const double *x) {
    a->n++;
    for (long i = 0; i < dim; i++) {
        double dl = x[i] - a->mean[i];
        a->mean[i] += dl / a->n;
        a->m2[i] += dl * (x[i] - a->mean[i]);
    }
}
/* max |mean - target| / SE, and the mean per-entry standard deviation */
static double acc_maxz(const acc_t *a, long dim, const double *target, double *mean_sd) {
    double z = 0, sd = 0;
    for (long i = 0; i < dim; i++) {
        double var = a->m2[i] / (a->n - 1), se = sqrt(var / a->n);
        sd += sqrt(var);
        z = fmax(z, se > 0 ? fabs(a->mean[i] - target[i]) / se : (fabs(a->mean[i] - target[i]) > 1e-12 ? INFINITY : 0));
    }
    if (mean_sd) *mean_sd = sd / dim;
    return z;
}
static void acc_free(acc_t *a) { free(a->mean); free(a->m2); }

Test(quadratic, noise_is_mean_zero) {
    const char *const *cfgs[] = {cfg_default, cfg_generic, NULL};
    const char *cnames[] = {"kron 12x3", "generic 4x3,2x2"};
    for (int ci = 0; cfgs[ci]; ci++) {
        sbo_task *t = make_ok(cfgs[ci]);
        long D = sbo_layout_total(&t->lower);
        int d = t->d;
        const long N = 20000;
        double *x = dalloc(d), *Y = dalloc(D), *V = dalloc(D), *Z = dalloc(D), *o = dalloc(D), *ex = dalloc(D);
        double *od = dalloc(d), *exd = dalloc(d);
        sbo_batch *bl = sbo_batch_create(t, 0), *bu = sbo_batch_create(t, 1);
        randn(11, d, x);
        randn(12, D, Y);
        randn(13, D, V);
        randn(14, D, Z);
        acc_t ag, ah, aj, afy, afx;
        acc_init(&ag, D); acc_init(&ah, D); acc_init(&aj, d); acc_init(&afy, D); acc_init(&afx, d);
        double asym = 0, off2 = 0, diag2 = 0, batch_asym = 0;
        const double *A = NULL;
        int M = 0;
        sbo_quadratic_kron_factors(t, &A, NULL, &M, NULL);   /* kron only: A_xi is the first M x M of the batch */
        for (long k = 0; k < N; k++) {
            draw_batches(t, k, bl, bu);
            const double *Axi = bl->values;
            for (int i = 0; A && i < M; i++) {
                double e = Axi[i * M + i] - A[i * M + i];
                diag2 += e * e;
                for (int j = i + 1; j < M; j++) {
                    e = Axi[i * M + j] - A[i * M + j];
                    off2 += e * e;
                    batch_asym = fmax(batch_asym, fabs(Axi[i * M + j] - Axi[j * M + i]));
                }
            }
            sbo_task_grad_lower(t, x, Y, bl, o);   acc_add(&ag, D, o);
            sbo_task_hvp(t, x, Y, bl, V, o);       acc_add(&ah, D, o);
            if (k < 50) {   /* the sampled Hessian is self-adjoint: <Z, H_phi V> = <V, H_phi Z> */
                double a1 = sbo_vec_dot(D, Z, o);
                sbo_task_hvp(t, x, Y, bl, Z, ex);
                asym = fmax(asym, fabs(a1 - sbo_vec_dot(D, V, ex)) / (1 + fabs(a1)));
            }
            sbo_task_cross(t, x, Y, bl, Z, od);    acc_add(&aj, d, od);
            sbo_task_grad_upper_Y(t, x, Y, bu, o); acc_add(&afy, D, o);
            sbo_task_grad_upper_x(t, x, Y, bu, od); acc_add(&afx, d, od);
        }
        cr_expect(asym <= 1e-13, "[%s] sampled H not self-adjoint: %.3e", cnames[ci], asym);
        if (A) {   /* A_xi - A = sigma (G + G^T)/sqrt(2M): off-diagonal variance sigma^2/M, diagonal 2 sigma^2/M */
            double v_off = off2 / (N * M * (M - 1) / 2.0), v_diag = diag2 / ((double)N * M);
            double t_off = 0.09 / M, t_diag = 0.18 / M;
            cr_log_info("[%s] A_xi - A: off-diagonal variance %.5f (sigma^2/M = %.5f), diagonal %.5f (2 sigma^2/M = "
                        "%.5f), tol 2%%", cnames[ci], v_off, t_off, v_diag, t_diag);
            cr_expect(fabs(v_off / t_off - 1) < 0.02 && fabs(v_diag / t_diag - 1) < 0.02);
            cr_expect(batch_asym == 0, "A_xi must be exactly symmetric");
        }
        struct { const char *name; acc_t *a; long dim; } rows[5] = {
            {"grad_Y g", &ag, D}, {"H[V]", &ah, D}, {"J[Z]", &aj, d}, {"grad_Y f", &afy, D}, {"grad_x f", &afx, d}};
        for (int r = 0; r < 5; r++) {
            double *target = rows[r].dim == D ? ex : exd;
            switch (r) {
            case 0: sbo_task_grad_lower(t, x, Y, NULL, target); break;
            case 1: sbo_task_hvp(t, x, Y, NULL, V, target); break;
            case 2: sbo_task_cross(t, x, Y, NULL, Z, target); break;
            case 3: sbo_task_grad_upper_Y(t, x, Y, NULL, target); break;
            case 4: sbo_task_grad_upper_x(t, x, Y, NULL, target); break;
            }
            double sd, z = acc_maxz(rows[r].a, rows[r].dim, target, &sd);
            cr_log_info("[%s] %s: N = %ld, max|z| = %.2f (< 5), mean noise sd %.4f", cnames[ci], rows[r].name, N, z, sd);
            cr_expect(z < 5, "[%s] %s: sampled mean differs from the exact oracle, max|z| = %.2f", cnames[ci],
                      rows[r].name, z);
            cr_expect(sd > 1e-3, "[%s] %s: no noise at sigma = 0.3 (sd %.3g)", cnames[ci], rows[r].name, sd);
            if (r == 3 || r == 4)   /* additive N(0, sigma^2): the sd is sigma itself */
                cr_expect(fabs(sd - 0.3) < 0.01, "[%s] %s: noise sd %.4f, expected sigma = 0.3", cnames[ci],
                          rows[r].name, sd);
        }
        acc_free(&ag); acc_free(&ah); acc_free(&aj); acc_free(&afy); acc_free(&afx);
        free(x); free(Y); free(V); free(Z); free(o); free(ex); free(od); free(exd);
        sbo_batch_free(bl); sbo_batch_free(bu);
        sbo_task_destroy(t);
    }
}

Test(quadratic, sigma_zero_gives_exact_empty_batches) {
    const char *kv[] = {"task.sigma=0", NULL};
    sbo_task *t = make_ok(kv);
    cr_expect_eq(sbo_batch_doubles(t, 0), 0);
    cr_expect_eq(sbo_batch_doubles(t, 1), 0);
    sbo_task_destroy(t);
}

/* --- configuration ---------------------------------------------------------------------- */

Test(quadratic, bad_configs_rejected) {
    struct { const char *kv[4]; const char *must_contain; } cases[] = {
        {{"task.blocks=5x3,4x2", NULL}, "task.structure = kron"},
        {{"task.blocks=5x3,4x2", NULL}, "same n"},
        {{"task.blocks=12x", NULL}, "task.blocks"},
        {{"task.blocks=12x3,", NULL}, "malformed"},
        {{"task.blocks=abc", NULL}, "malformed"},
        {{"task.blocks=12x3x2", NULL}, "malformed"},
        {{"task.blocks=", NULL}, "task.blocks"},
        {{"task.blocks=0x3", NULL}, "task.blocks"},
        {{"task.blocks=3x0", NULL}, "m and n"},
        {{"task.blocks=-2x3", NULL}, "m and n"},
        {{"task.d=0", NULL}, "task.d"},
        {{"task.p=0", NULL}, "task.p"},
        {{"task.d=abc", NULL}, "task.d"},
        {{"task.structure=diagonal", NULL}, "task.structure"},
        {{"task.init=ones", NULL}, "task.init"},
        {{"task.sigma=-0.1", NULL}, "task.sigma"},
        {{"task.lambda=-1", NULL}, "task.lambda"},
        {{"task.a_min=0", "task.s_min=0", NULL}, "task.a_min"},
        {{"task.structure=generic", "task.h_min=0", NULL}, "task.h_min"},
        {{"task.structure=generic", "task.blocks=100x100", NULL}, "too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[SBO_ERR_LEN];
        sbo_task *t = make_task(cases[i].kv, err);
        cr_expect_null(t, "case %zu (%s) must be rejected", i, cases[i].kv[0]);
        if (t) sbo_task_destroy(t);
        cr_log_info("rejected %s: %s", cases[i].kv[0], err);
        cr_expect(strstr(err, cases[i].must_contain) != NULL, "case %zu (%s): message '%s' lacks '%s'", i,
                  cases[i].kv[0], err, cases[i].must_contain);
    }
    /* generic accepts unequal n; kron with equal n and several blocks is fine */
    const char *ok1[] = {"task.structure=generic", "task.blocks=5x3,4x2", NULL};
    sbo_task *t = make_ok(ok1);
    sbo_task_destroy(t);
    const char *ok2[] = {"task.blocks= 5x3 , 4x3 ", NULL};
    t = make_ok(ok2);
    cr_expect_eq(t->lower.L, 2);
    cr_expect_eq(sbo_layout_total(&t->lower), 27);
    sbo_task_destroy(t);
}

Test(quadratic, registry_and_options) {
    cr_expect_eq(sbo_task_find("quadratic"), &sbo_task_quadratic);
    cr_expect_str_eq(sbo_task_quadratic.name, "quadratic");
    cr_expect(sbo_task_quadratic.description && strlen(sbo_task_quadratic.description) > 10);
    int found_blocks = 0;
    for (const sbo_option *o = sbo_task_quadratic.options; o->key; o++) {
        cr_expect(strncmp(o->key, "task.", 5) == 0, "option %s must start with task.", o->key);
        cr_expect(o->def && o->help && strlen(o->help) > 5);
        if (strcmp(o->key, "task.blocks") == 0) found_blocks = !strcmp(o->def, "12x3");
    }
    cr_expect(found_blocks);
}

/* --- structure, mu, log ----------------------------------------------------------------------- */

Test(quadratic, spectrum_and_creation_log) {
    sbo_task *t = make_ok(cfg_default);
    long D = sbo_layout_total(&t->lower);
    cr_expect_eq(D, 36);
    cr_expect_eq(t->d, 5);
    cr_expect(fabs(t->mu - 1.0) < 1e-12, "kron mu = a_min + s_min = 1, got %.15g", t->mu);
    cr_expect(fabs(sbo_quadratic_condition(t) - 5.0) < 1e-11, "condition %.15g", sbo_quadratic_condition(t));
    const char *log = sbo_quadratic_log(t);
    cr_assert(log);
    cr_log_info("creation log (default instance):\n%s", log);
    cr_expect(strstr(log, "mu = 1") && strstr(log, "condition number 5"), "log: %s", log);
    /* the dense H is symmetric with eigenvalues in [mu, L_g]: Rayleigh quotients of random directions */
    double *H = dalloc(D * D), *v = dalloc(D), *hv = dalloc(D), *x = dalloc(5), *Y = dalloc(D);
    sbo_quadratic_dense_H(t, H);
    double asym = 0;
    for (long i = 0; i < D; i++)
        for (long j = 0; j < D; j++) asym = fmax(asym, fabs(H[i * D + j] - H[j * D + i]));
    cr_expect(asym < 1e-14, "dense H asymmetry %.3e", asym);
    for (int k = 0; k < 20; k++) {
        randn(200 + k, D, v);
        sbo_task_hvp(t, x, Y, NULL, v, hv);
        double rq = sbo_vec_dot(D, v, hv) / sbo_vec_dot(D, v, v);
        cr_expect(rq >= 1 - 1e-12 && rq <= 5 + 1e-12, "Rayleigh quotient %.6f outside [1, 5]", rq);
        /* the dense matrix is the operator */
        for (long i = 0; i < D; i++) {
            double acc = sbo_vec_dot(D, H + i * D, v);
            cr_expect(fabs(acc - hv[i]) < 1e-12 * (1 + fabs(hv[i])));
        }
    }
    free(H); free(v); free(hv); free(x); free(Y);
    sbo_task_destroy(t);
    const char *kv[] = {"task.structure=generic", NULL};
    t = make_ok(kv);
    cr_expect(fabs(t->mu - 1.0) < 1e-12 && fabs(sbo_quadratic_condition(t) - 4.0) < 1e-11, "generic mu %.15g cond %.15g",
              t->mu, sbo_quadratic_condition(t));
    sbo_task_destroy(t);
}

Test(quadratic, init_modes) {
    sbo_task *t = make_ok(cfg_default);
    long D = sbo_layout_total(&t->lower);
    double *x = dalloc(5), *Y = dalloc(D), *x2 = dalloc(5), *Y2 = dalloc(D);
    sbo_stream s;
    for (int i = 0; i < 5; i++) x[i] = 7;
    for (long i = 0; i < D; i++) Y[i] = 7;
    sbo_stream_init(&s, 3, SBO_RNG_INIT, 0, 0);
    t->ops->init(t, &s, x, Y);
    cr_expect(max_abs(5, x) == 0 && max_abs(D, Y) == 0, "TC-7 starts at zero");
    sbo_task_destroy(t);
    const char *kv[] = {"task.init=normal", NULL};
    t = make_ok(kv);
    sbo_stream_init(&s, 3, SBO_RNG_INIT, 0, 0);
    t->ops->init(t, &s, x, Y);
    sbo_stream_init(&s, 3, SBO_RNG_INIT, 0, 0);
    t->ops->init(t, &s, x2, Y2);
    cr_expect(max_abs(5, x) > 0.1 && max_abs(D, Y) > 0.1);
    cr_expect(memcmp(x, x2, sizeof(double) * 5) == 0 && memcmp(Y, Y2, sizeof(double) * D) == 0);
    free(x); free(Y); free(x2); free(Y2);
    sbo_task_destroy(t);
}

/* --- determinism of the instance ------------------------------------------------------------------ */

/* Fingerprint: dense H, J applied to basis vectors (= -B^T), grad_Y f at Y = 0 (= -C^T c), x*. */
static void fingerprint(sbo_task *t, double *out) {
    long D = sbo_layout_total(&t->lower);
    int d = t->d;
    double *e = dalloc(D), *x = dalloc(d), *Y = dalloc(D);
    sbo_quadratic_dense_H(t, out);
    out += D * D;
    for (long i = 0; i < D; i++) {
        sbo_vec_zero(D, e);
        e[i] = 1;
        sbo_task_cross(t, x, Y, NULL, e, out);
        out += d;
    }
    sbo_task_grad_upper_Y(t, x, Y, NULL, out);
    out += D;
    sbo_quadratic_x_star(t, out);
    free(e); free(x); free(Y);
}

Test(quadratic, instance_is_deterministic) {
    const char *const *cfgs[] = {cfg_default, cfg_generic, NULL};
    for (int ci = 0; cfgs[ci]; ci++) {
        sbo_task *t1 = make_ok(cfgs[ci]), *t2 = make_ok(cfgs[ci]);
        long D = sbo_layout_total(&t1->lower), len = D * D + D * t1->d + D + t1->d;
        double *f1 = dalloc(len), *f2 = dalloc(len), *f3 = dalloc(len);
        fingerprint(t1, f1);
        fingerprint(t2, f2);
        cr_expect(memcmp(f1, f2, sizeof(double) * len) == 0, "same instance_seed must give the same instance");
        /* the minibatch is a function of the stream alone */
        sbo_batch *b1 = sbo_batch_create(t1, 0), *b2 = sbo_batch_create(t1, 0);
        sbo_stream s;
        sbo_stream_init(&s, 5, SBO_RNG_LOWER_BATCH, 0, 17);
        sbo_task_sample(t1, 0, &s, b1);
        sbo_stream_init(&s, 5, SBO_RNG_LOWER_BATCH, 0, 17);
        sbo_task_sample(t2, 0, &s, b2);
        cr_expect(memcmp(b1->values, b2->values, sizeof(double) * (size_t)b1->n_values) == 0);
        cr_expect(b1->version != b2->version, "every draw gets its own version");
        sbo_task_destroy(t2);
        const char *kv_gen[] = {"task.structure=generic", "task.blocks=4x3,2x2", "task.instance_seed=2", NULL};
        const char *kv_kron[] = {"task.instance_seed=2", NULL};
        sbo_task *t3 = make_ok(ci == 0 ? kv_kron : kv_gen);
        fingerprint(t3, f3);
        cr_expect(max_abs_diff(len, f1, f3) > 1e-3, "another instance_seed must give another instance");
        sbo_task_destroy(t3);
        free(f1); free(f2); free(f3); sbo_batch_free(b1); sbo_batch_free(b2);
        sbo_task_destroy(t1);
    }
}

/* --- naive plateau (§5.2, §8 TC-7) ----------------------------------------------------------------- */

/* Independent computation for kron with L = 1, from the oracles and the §8 formula:
 *   M = (m/r)^2 [(c1+c2) H + c2 (I_m (x) T)], T = tr(A) I_n + m S, c1 = 25/231, c2 = 4/231 for (12, 4) (§4 table);
 *   B^T = -J[e_i], C^T C = grad_Y f(e_i) - grad_Y f(0), C^T c = -grad_Y f(0), lambda e_1 = grad_x f(e_1);
 *   x_bar = K_n^{-1} B^T M^{-1} C^T c, K_n = lambda I + B^T M^{-1} C^T C H^{-1} B. */
Test(quadratic, naive_point_matches_tc7_formula) {
    sbo_task *t = make_ok(cfg_default);
    const double *A, *S;
    int M, n;
    cr_assert_eq(sbo_quadratic_kron_factors(t, &A, &S, &M, &n), 0);
    cr_assert(M == 12 && n == 3);
    const int m = 12, r = 4, d = t->d;
    long D = (long)m * n;
    const double c1 = 25.0 / 231.0, c2 = 4.0 / 231.0, s = (double)(m * m) / (r * r);
    double *H = dalloc(D * D), *Hk = dalloc(D * D), *Mt = dalloc(D * D), *Mq = dalloc(D * D);
    /* H = A (x) I_n + I_m (x) S in the row-major vec: (ia, jb) -> A_ij d_ab + d_ij S_ab */
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++)
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++)
                    Hk[((long)i * n + a) * D + (long)j * n + b] = A[i * m + j] * (a == b) + (i == j) * S[a * n + b];
    sbo_quadratic_dense_H(t, H);
    cr_expect(max_abs_diff(D * D, H, Hk) < 1e-14, "dense H vs A (x) I + I (x) S");
    double trA = 0;
    for (int i = 0; i < m; i++) trA += A[i * m + i];
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++)
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++) {
                    long idx = ((long)i * n + a) * D + (long)j * n + b;
                    double T = (i == j) ? trA * (a == b) + m * S[a * n + b] : 0;
                    Mt[idx] = s * ((c1 + c2) * Hk[idx] + c2 * T);
                }
    int rank[1] = {r};
    cr_assert_eq(sbo_quadratic_naive_operator(t, rank, Mq), 0);
    double eM = max_abs_diff(D * D, Mq, Mt);
    cr_log_info("naive operator vs §8 formula (m/r)^2[(c1+c2)H + c2 (I (x) T)]: max diff %.3e (tol 1e-13)", eM);
    cr_expect(eM < 1e-13);
    /* oracles -> B^T, C^T C, C^T c, lambda */
    double *x = dalloc(d), *Y = dalloc(D), *e = dalloc(D), *Bt = dalloc((long)d * D), *CtC = dalloc(D * D);
    double *Ctc = dalloc(D), *f0 = dalloc(D), *fe = dalloc(D), *gx = dalloc(d);
    for (long i = 0; i < D; i++) {
        sbo_vec_zero(D, e);
        e[i] = 1;
        sbo_task_cross(t, x, Y, NULL, e, gx);
        for (int k = 0; k < d; k++) Bt[(long)k * D + i] = -gx[k];
    }
    sbo_task_grad_upper_Y(t, x, Y, NULL, f0);
    for (long i = 0; i < D; i++) Ctc[i] = -f0[i];
    for (long i = 0; i < D; i++) {
        sbo_vec_zero(D, e);
        e[i] = 1;
        sbo_task_grad_upper_Y(t, x, e, NULL, fe);
        for (long j = 0; j < D; j++) CtC[j * D + i] = fe[j] - f0[j];
    }
    x[0] = 1;
    sbo_task_grad_upper_x(t, x, Y, NULL, gx);
    double lambda = gx[0];
    x[0] = 0;
    cr_expect(fabs(lambda - 0.5) < 1e-15);
    /* HiB = H^{-1} B (D x d); W = C^T C HiB; R = M^{-1} [W | C^T c]; K = lambda I + B^T R[:, :d]; rhs = B^T R[:, d] */
    double *HiB = dalloc(D * d), *R = dalloc(D * (d + 1)), *K = dalloc((long)d * d), *rhs = dalloc(d);
    for (long i = 0; i < D; i++)
        for (int k = 0; k < d; k++) HiB[i * d + k] = Bt[(long)k * D + i];
    solve_dense((int)D, Hk, d, HiB);
    for (long i = 0; i < D; i++) {
        for (int k = 0; k < d; k++) {
            double acc = 0;
            for (long j = 0; j < D; j++) acc += CtC[i * D + j] * HiB[j * d + k];
            R[i * (d + 1) + k] = acc;
        }
        R[i * (d + 1) + d] = Ctc[i];
    }
    solve_dense((int)D, Mt, d + 1, R);
    for (int k = 0; k < d; k++) {
        for (int l = 0; l < d; l++) {
            double acc = 0;
            for (long i = 0; i < D; i++) acc += Bt[(long)k * D + i] * R[i * (d + 1) + l];
            K[k * d + l] = acc + lambda * (k == l);
        }
        double acc = 0;
        for (long i = 0; i < D; i++) acc += Bt[(long)k * D + i] * R[i * (d + 1) + d];
        rhs[k] = acc;
    }
    solve_dense(d, K, 1, rhs);   /* rhs = x_bar */
    /* grad Phi(x_bar) = lambda x + B^T Z*, Z* = H^{-1}(C^T C H^{-1} B x - C^T c), independently of the task */
    double *ys = dalloc(D), *zs = dalloc(D), plateau_ref = 0;
    for (long i = 0; i < D; i++) {
        double acc = 0;
        for (int k = 0; k < d; k++) acc += HiB[i * d + k] * rhs[k];
        ys[i] = acc;
    }
    for (long i = 0; i < D; i++) zs[i] = sbo_vec_dot(D, CtC + i * D, ys) - Ctc[i];
    solve_dense((int)D, Hk, 1, zs);
    for (int k = 0; k < d; k++) {
        double gk = lambda * rhs[k] + sbo_vec_dot(D, Bt + (long)k * D, zs);
        plateau_ref += gk * gk;
    }
    double xbar[8], plateau;
    cr_assert_eq(sbo_quadratic_naive_point(t, rank, xbar, &plateau), 0);
    double ex = max_abs_diff(d, xbar, rhs);
    cr_log_info("naive point vs independent §8 computation: max|x_bar diff| = %.3e (tol 1e-10), plateau %.9f vs %.9f",
                ex, plateau, plateau_ref);
    cr_expect(ex < 1e-10 * (1 + max_abs(d, rhs)));
    cr_expect(fabs(plateau - plateau_ref) < 1e-10 * (1 + plateau_ref));
    /* full rank: the naive update is exact, so x_bar = x* and the plateau vanishes */
    int full[1] = {12};
    double xs[8];
    sbo_quadratic_naive_point(t, full, xbar, &plateau);
    sbo_quadratic_x_star(t, xs);
    cr_expect(max_abs_diff(d, xbar, xs) < 1e-12 && plateau < 1e-24, "r = m must give x* (plateau %.3e)", plateau);
    int bad[1] = {0};
    cr_expect_eq(sbo_quadratic_naive_point(t, bad, xbar, &plateau), -1);
    free(H); free(Hk); free(Mt); free(Mq); free(x); free(Y); free(e); free(Bt); free(CtC); free(Ctc); free(f0);
    free(fe); free(gx); free(HiB); free(R); free(K); free(rhs); free(ys); free(zs);
    sbo_task_destroy(t);
}

/* The generalized operator (several blocks, generic H) against Monte Carlo of the naive tuple form (§5.1):
 * E[Qs H Qs] with Qs = blockdiag((m_l/r_l) P_l P_l^T), P_l Haar, independent across blocks. */
static void naive_operator_mc(const char *const *kv, const int *rank, const char *name) {
    sbo_task *t = make_ok(kv);
    long D = sbo_layout_total(&t->lower);
    int L = t->lower.L;
    double *H = dalloc(D * D), *Mq = dalloc(D * D), *Qs = dalloc(D * D), *T1 = dalloc(D * D), *O = dalloc(D * D);
    double *P = dalloc(D * D), *work = dalloc(sbo_haar_work_size((int)D, (int)D) + 16);
    sbo_quadratic_dense_H(t, H);
    cr_assert_eq(sbo_quadratic_naive_operator(t, rank, Mq), 0);
    acc_t acc;
    acc_init(&acc, D * D);
    const long N = 100000;
    sbo_stream s;
    for (long k = 0; k < N; k++) {
        sbo_vec_zero(D * D, Qs);
        for (int l = 0; l < L; l++) {
            int m = t->lower.block[l].m, n = t->lower.block[l].n, r = rank[l] < m ? rank[l] : m;
            long off = t->lower.offset[l];
            if (r == m) {
                for (long i = 0; i < (long)m * n; i++) Qs[(off + i) * D + off + i] = 1;
                continue;
            }
            sbo_stream_init(&s, 4242, SBO_RNG_SUBSPACE, (uint32_t)l, (uint64_t)k);
            sbo_haar_sample(&s, m, r, P, work);
            double sc = (double)m / r;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) {
                    double qij = 0;
                    for (int c = 0; c < r; c++) qij += P[i * r + c] * P[j * r + c];
                    for (int a = 0; a < n; a++) Qs[(off + (long)i * n + a) * D + off + (long)j * n + a] = sc * qij;
                }
        }
        /* O = Qs H Qs */
        for (long i = 0; i < D; i++)
            for (long j = 0; j < D; j++) {
                double a2 = 0;
                for (long q = 0; q < D; q++) a2 += Qs[i * D + q] * H[q * D + j];
                T1[i * D + j] = a2;
            }
        for (long i = 0; i < D; i++)
            for (long j = 0; j < D; j++) {
                double a2 = 0;
                for (long q = 0; q < D; q++) a2 += T1[i * D + q] * Qs[q * D + j];
                O[i * D + j] = a2;
            }
        acc_add(&acc, D * D, O);
    }
    double z = acc_maxz(&acc, D * D, Mq, NULL), zH = acc_maxz(&acc, D * D, H, NULL);
    cr_log_info("[%s] naive operator vs Monte Carlo (N = %ld, %ld entries): max|z| = %.2f (< 5); against H "
                "(power): %.1f (> 20)", name, N, D * D, z, zH);
    cr_expect(z < 5, "[%s] naive operator formula: max|z| = %.2f", name, z);
    cr_expect(zH > 20, "[%s] the test cannot tell the naive mean from H: max|z| = %.1f", name, zH);
    acc_free(&acc);
    free(H); free(Mq); free(Qs); free(T1); free(O); free(P); free(work);
    sbo_task_destroy(t);
}

Test(quadratic, naive_operator_multiblock_monte_carlo, .timeout = 120) {
    const char *kron[] = {"task.blocks=3x2,2x2", NULL};
    const char *gen[] = {"task.structure=generic", "task.blocks=3x2,2x3,1x2", NULL};
    int rk[2] = {2, 1}, rg[3] = {2, 1, 1};
    naive_operator_mc(kron, rk, "kron 3x2,2x2, r = (2,1)");
    naive_operator_mc(gen, rg, "generic 3x2,2x3,1x2, r = (2,1,1)");
}

/* The generic reduced HVP of tasks/task.c on this task: P^T H[P X] against the dense H. */
Test(quadratic, generic_reduced_hvp) {
    sbo_task *t = make_ok(cfg_kron2);
    long D = sbo_layout_total(&t->lower);
    int rk[2] = {2, 4};
    sbo_subspace S;
    memset(&S, 0, sizeof S);
    S.full = &t->lower;
    S.red = t->lower;
    for (int l = 0; l < 2; l++) S.red.block[l].m = rk[l];   /* the reduced layout carries r_l as its row count */
    sbo_layout_finish(&S.red, rk);
    double *P0 = dalloc(5 * 2), *work = dalloc(sbo_haar_work_size(5, 2) + 8);
    sbo_stream s;
    sbo_stream_init(&s, 1, SBO_RNG_SUBSPACE, 0, 0);
    sbo_haar_sample(&s, 5, 2, P0, work);
    S.P[0] = P0;
    S.P[1] = NULL;   /* full block: r = m = 4 */
    long Dr = sbo_layout_total(&S.red);
    double *X = dalloc(Dr), *out = dalloc(Dr), *full = dalloc(D), *hf = dalloc(D), *ref = dalloc(Dr);
    double *x = dalloc(t->d), *Y = dalloc(D), *H = dalloc(D * D);
    randn(300, Dr, X);
    sbo_task_reduced_hvp(t, x, Y, NULL, &S, X, out);
    sbo_subspace_lift_add(&S, X, NULL, full);
    sbo_quadratic_dense_H(t, H);
    for (long i = 0; i < D; i++) hf[i] = sbo_vec_dot(D, H + i * D, full);
    sbo_subspace_project(&S, hf, ref);
    double e = max_abs_diff(Dr, out, ref);
    cr_log_info("reduced HVP (generic path) vs P^T H_dense P X: %.3e (tol 1e-13)", e);
    cr_expect(e < 1e-13 * (1 + max_abs(Dr, ref)));
    cr_expect(strstr(t->reduced_impl, "generic") != NULL);
    free(P0); free(work); free(X); free(out); free(full); free(hf); free(ref); free(x); free(Y); free(H);
    sbo_task_destroy(t);
}

/* The values of the default instance (printed for the record). */
Test(quadratic, default_instance_values) {
    sbo_task *t = make_ok(cfg_default);
    double xs[5], xbar[5], plateau;
    int r4[1] = {4};
    sbo_quadratic_x_star(t, xs);
    cr_assert_eq(sbo_quadratic_naive_point(t, r4, xbar, &plateau), 0);
    double g0[5] = {0};
    cr_log_info("default instance: mu = %.6g, condition number = %.6g, ||x*|| = %.6f, Phi(x*) = %.6f, "
                "||grad Phi(0)||^2 = %.6f, naive plateau (r = 4) = %.6f, ||x_bar|| = %.6f",
                t->mu, sbo_quadratic_condition(t), sbo_vec_norm2(5, xs), sbo_quadratic_phi(t, xs),
                sbo_quadratic_grad_phi_sq(t, g0), plateau, sbo_vec_norm2(5, xbar));
    cr_expect(plateau > 1e-3, "the naive plateau should be visibly positive (TC-7 reference instance: 0.263)");
    sbo_task_destroy(t);
}

/* Edge shapes and conditioning: 1 x 1 blocks, the largest L, a generic H above the Jacobi limit (D > 400),
 * an ill-conditioned H. Each must build, pass its own self-checks and keep the closed forms consistent. */
Test(quadratic, edge_configs_build_and_stay_consistent) {
    const char *c1[] = {"task.blocks=1x1", NULL};
    const char *c2[] = {"task.structure=generic", "task.blocks=1x1", "task.d=1", "task.p=1", NULL};
    const char *c3[] = {"task.structure=generic", "task.blocks=3x2", "task.h_min=1e-3", "task.h_max=1e3", NULL};
    const char *c4[] = {"task.structure=generic", "task.blocks=30x15", NULL};
    const char *c5[] = {"task.blocks=1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,1x2,2x2", NULL};
    const char *c6[] = {"task.blocks=3x1", "task.sigma=0", "task.s_min=0.5", "task.s_max=2", NULL};
    const char *const *cfgs[] = {c1, c2, c3, c4, c5, c6, NULL};
    for (int ci = 0; cfgs[ci]; ci++) {
        sbo_task *t = make_ok(cfgs[ci]);
        long D = sbo_layout_total(&t->lower);
        int d = t->d;
        double *xs = dalloc(d), *g = dalloc(d), *Ys = dalloc(D), *Zs = dalloc(D), *h = dalloc(D), *fy = dalloc(D);
        sbo_quadratic_x_star(t, xs);
        sbo_quadratic_grad_phi(t, xs, g);
        sbo_quadratic_solution(t, xs, Ys, Zs);
        sbo_task_hvp(t, xs, Ys, NULL, Zs, h);
        sbo_task_grad_upper_Y(t, xs, Ys, NULL, fy);
        double kappa = sbo_quadratic_condition(t), e = max_abs_diff(D, h, fy);
        cr_log_info("[%s] D = %ld, mu = %.4g, kappa = %.4g, max|grad Phi(x*)| = %.2e, max|H[Z*] - grad f| = %.2e",
                    cfgs[ci][ci == 0 || ci == 4 || ci == 5 ? 0 : 1], D, t->mu, kappa, max_abs(d, g), e);
        cr_expect(max_abs(d, g) <= 1e-12 * kappa * (1 + max_abs(d, xs)));
        cr_expect(e <= 1e-12 * kappa * (1 + max_abs(D, fy)));
        free(xs); free(g); free(Ys); free(Zs); free(h); free(fy);
        sbo_task_destroy(t);
    }
    const char *c6b[] = {"task.blocks=3x1", "task.s_min=0.5", "task.s_max=2", NULL};
    sbo_task *t = make_ok(c6b);   /* n = 1: S = s_min only, so L_g = a_max + s_min */
    cr_expect(fabs(t->mu - 1.5) < 1e-12 && fabs(sbo_quadratic_condition(t) - 4.5 / 1.5) < 1e-11);
    sbo_task_destroy(t);
    char err[SBO_ERR_LEN];
    static char many[16 + 4 * (SBO_MAX_BLOCKS + 1)];   /* SBO_MAX_BLOCKS + 1 blocks: one too many */
    int k = snprintf(many, sizeof many, "task.blocks=1x2");
    for (int l = 1; l <= SBO_MAX_BLOCKS; l++) k += snprintf(many + k, sizeof many - (size_t)k, ",1x2");
    const char *c7[] = {many, NULL};
    cr_expect_null(make_task(c7, err));
    cr_expect(strstr(err, "task.blocks") != NULL, "%s", err);
}
