/* tests/nn_check.h: the checks the engine's tests share (tests/test_nn.c, tests/test_nn_ops.c): small nets with
 * their lower layout and data, a run wrapper, derivatives against central differences in double (fd_test), reduced
 * mode against P^T of full mode and float32 against float64 (reduced_test, f32_test). Static functions: each test
 * program is one translation unit that includes this once; a test file declares its suite with
 * .fini = free_nets.
 *
 * Difference quotients use h = 1e-5: truncation h^2 |f'''| ~ 1e-10 and rounding eps |f| / h ~ 1e-11 on O(1)
 * values, so the relative tolerance is 1e-7 of the inf-norm of the difference quotient (FD_TOL). Identities that
 * are exact in arithmetic (reduced = P^T full, linearity in the tangent) are held to 1e-10 in float64; float32 is
 * held to 1e-4 of the float64 result.
 *
 * SBO_TEST_NN_BACKEND=cpu-grid in the environment runs every executor of these tests on the cpu-grid backend (every
 * kernel one index per emulated GPU thread, core/nn/backend.h): ctest runs test_nn and test_nn_ops a second time that
 * way (test_nn_grid, test_nn_ops_grid), so every op and edge shape of the op tests meets the device's launch pattern
 * too. Any other value is an error. */
#ifndef SBO_TESTS_NN_CHECK_H
#define SBO_TESTS_NN_CHECK_H
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_haar.h"   /* Haar P for reduced mode */
#include "core/nn/nn.h"      /* the code under test */
#include "core/nn/backend.h" /* the cpu-grid backend (SBO_TEST_NN_BACKEND) */
#include "core/sbo_rng.h"    /* fixed-seed data */

#define B_MAX 6        /* graph max_batch; the runs use b = 5 < B_MAX so per-batch sizes are exercised */
#define FD_H 1e-5
#define FD_TOL 1e-7    /* relative, central differences */
#define EXACT_TOL 1e-10 /* relative, float64 identities */
#define F32_TOL 1e-4   /* relative, float32 against float64 */
#define MAXD 512       /* room for x, Y and their directions in the small graphs */

typedef struct {
    sbo_nn_graph g;
    sbo_layout lower;
    int d;                          /* dimension of x */
    int b;                          /* batch size of every run */
    int n_in, in_id[2];
    double in_data[2][B_MAX * 16];
    int n_int, int_id[2];           /* integer inputs other than the default labels and ids (token ids, targets) */
    int int_data[2][B_MAX * 16];
    int labels[B_MAX], ids[B_MAX];
    int has_labels, has_ids;
} net;

/* Every net a test builds, so that its graph is freed on re-init and when the test ends (the nets are static
 * locals: each test runs in its own process). */
static net *live_nets[8];
static int n_live_nets;

static void net_init(net *N, int b) {
    for (int i = 0; i < n_live_nets; i++)
        if (live_nets[i] == N) {
            sbo_nn_graph_free(&N->g);
            live_nets[i] = live_nets[--n_live_nets];
            break;
        }
    memset(N, 0, sizeof *N);
    sbo_nn_graph_init(&N->g, B_MAX);
    N->b = b;
    cr_assert(n_live_nets < 8);
    live_nets[n_live_nets++] = N;
}

static void free_nets(void) {
    for (int i = 0; i < n_live_nets; i++) sbo_nn_graph_free(&live_nets[i]->g);
    n_live_nets = 0;
}

static int lower_param(net *N, const char *name, int m, int n) {
    int l = N->lower.L++;
    snprintf(N->lower.block[l].name, SBO_NAME_LEN, "%s", name);
    N->lower.block[l].m = m;
    N->lower.block[l].n = n;
    sbo_layout_finish(&N->lower, NULL);
    return sbo_nn_param_lower(&N->g, name, m, n, l);
}

static int upper_param(net *N, const char *name, int m, int n) {
    int id = sbo_nn_param_upper(&N->g, name, m, n, N->d);
    N->d += m * n;
    return id;
}

static int add_input(net *N, const char *name, int cols, sbo_stream *s, double scale) {
    cr_assert(N->n_in < 2 && N->b * cols <= B_MAX * 16);
    int k = N->n_in++;
    N->in_id[k] = sbo_nn_input(&N->g, name, cols);
    for (int i = 0; i < N->b * cols; i++) N->in_data[k][i] = scale * sbo_stream_gaussian(s);
    return N->in_id[k];
}

static void set_labels(net *N, int classes, sbo_stream *s) {
    for (int i = 0; i < N->b; i++) N->labels[i] = (int)(sbo_stream_u32(s) % (unsigned)classes);
    N->has_labels = 1;
}

/* an integer input of cols entries per sample, drawn uniformly from [0, range) */
__attribute__((unused)) static int add_int_input(net *N, const char *name, int cols, int range, sbo_stream *s) {
    cr_assert(N->n_int < 2 && N->b * cols <= B_MAX * 16);
    int k = N->n_int++;
    N->int_id[k] = sbo_nn_input_int(&N->g, name, cols);
    for (int i = 0; i < N->b * cols; i++) N->int_data[k][i] = (int)(sbo_stream_u32(s) % (unsigned)range);
    return N->int_id[k];
}

static long ydim(const net *N) { return sbo_layout_total(&N->lower); }

/* The backend the tests' executors run on: the cpu-grid one when SBO_TEST_NN_BACKEND=cpu-grid, else NULL (the
 * process default, which tests/test_nn_guarded.c sets). */
static const sbo_nn_backend *test_backend(void) {
    const char *v = getenv("SBO_TEST_NN_BACKEND");
    if (!v || !*v || strcmp(v, "cpu") == 0) return NULL;
    cr_assert(strcmp(v, "cpu-grid") == 0, "SBO_TEST_NN_BACKEND=%s: use cpu or cpu-grid", v);
    return sbo_nn_backend_cpu_grid();
}

static sbo_nn_exec *net_exec(const net *N, int precision) {
    char err[256] = "";
    cr_assert_eq(sbo_nn_graph_check(&N->g, &N->lower, N->d, err, sizeof err), 0, "%s", err);
    sbo_nn_exec *e = sbo_nn_exec_create_on(test_backend(), &N->g, &N->lower, N->d, precision, "test_nn", err,
                                           sizeof err);
    cr_assert_not_null(e, "%s", err);
    for (int k = 0; k < N->n_in; k++) sbo_nn_set_input(e, N->in_id[k], N->in_data[k], N->b);
    for (int k = 0; k < N->n_int; k++) sbo_nn_set_input_int(e, N->int_id[k], N->int_data[k], N->b);
    if (N->has_labels) sbo_nn_set_labels(e, N->labels, N->b);
    if (N->has_ids) sbo_nn_set_ids(e, N->ids, N->b);
    return e;
}

static void run(sbo_nn_exec *e, const net *N, const double *x, const double *Y, const double *dx, const double *dY,
                const double *const *P, const int *rank, double *loss, double *gx, double *gY, double *hx,
                double *hY) {
    sbo_nn_call c;
    memset(&c, 0, sizeof c);
    c.b = N->b;
    c.dx = dx;
    c.dY = dY;
    c.P = P;
    c.rank = rank;
    c.loss = loss;
    c.grad_x = gx;
    c.grad_Y = gY;
    c.hess_x = hx;
    c.hess_Y = hY;
    sbo_nn_run(e, x, Y, &c);
}

static double inf_norm(long n, const double *a) {
    double s = 0;
    for (long i = 0; i < n; i++) s = fmax(s, fabs(a[i]));
    return s;
}

/* max_i |a_i - ref_i| / max_i |ref_i| (0 when both are 0); *scale = max_i |ref_i| */
static double rel_err(long n, const double *a, const double *ref, double *scale) {
    double e = 0, s = inf_norm(n, ref);
    for (long i = 0; i < n; i++) e = fmax(e, fabs(a[i] - ref[i]));
    if (scale) *scale = s;
    return e == 0 ? 0 : e / s;
}

static void gaussian_fill(sbo_stream *s, double scale, long n, double *out) {
    for (long i = 0; i < n; i++) out[i] = scale * sbo_stream_gaussian(s);
}

typedef struct {
    double grad_x, grad_Y, H, J, hxx, hYx, lin, same_grad;   /* relative errors */
    double min_scale;           /* smallest reference inf-norm but H_xx's (non-vacuity) */
    double hxx_scale, hxx_out;  /* inf-norms of the H_xx[dx] reference and of the engine's H_xx[dx] */
} fd_errs;

/* At (x, Y) with tangents V (on Y) and dx (on x):
 *   grad_x, grad_Y     against differences of the loss, coordinate by coordinate;
 *   H[V]  = hess_Y(dY = V)  against (grad_Y(Y + hV) - grad_Y(Y - hV)) / 2h;
 *   J[V]  = hess_x(dY = V)  against (grad_x(Y + hV) - grad_x(Y - hV)) / 2h (mixed partials commute);
 *   hxx   = hess_x(dx)      against (grad_x(x + h dx) - grad_x(x - h dx)) / 2h;
 *   hYx   = hess_Y(dx)      against (grad_Y(x + h dx) - grad_Y(x - h dx)) / 2h (the cross term);
 *   lin:  both tangents at once give the sum (exact); same_grad: a tangent run returns the plain gradient. */
static fd_errs check_differences(const net *N, sbo_nn_exec *e, const double *x, const double *Y, const double *V,
                                 const double *dx) {
    const double h = FD_H;
    int d = N->d;
    long D = ydim(N);
    cr_assert(d <= MAXD && D <= MAXD);
    static double gx[MAXD], gY[MAXD], fx[MAXD], fY[MAXD], xp[MAXD], Yp[MAXD], gxp[MAXD], gYp[MAXD], gxm[MAXD],
        gYm[MAXD], hxV[MAXD], hYV[MAXD], hxd[MAXD], hYd[MAXD], hxb[MAXD], hYb[MAXD], gx2[MAXD], gY2[MAXD],
        q1[MAXD], q2[MAXD];
    fd_errs r;
    memset(&r, 0, sizeof r);
    r.min_scale = INFINITY;
    double loss, lp, lm, s;
    run(e, N, x, Y, NULL, NULL, NULL, NULL, &loss, gx, gY, NULL, NULL);
    cr_assert(isfinite(loss));
    /* gradient */
    memcpy(xp, x, sizeof(double) * d);
    for (int i = 0; i < d; i++) {
        xp[i] = x[i] + h;
        run(e, N, xp, Y, NULL, NULL, NULL, NULL, &lp, NULL, NULL, NULL, NULL);
        xp[i] = x[i] - h;
        run(e, N, xp, Y, NULL, NULL, NULL, NULL, &lm, NULL, NULL, NULL, NULL);
        xp[i] = x[i];
        fx[i] = (lp - lm) / (2 * h);
    }
    memcpy(Yp, Y, sizeof(double) * D);
    for (long i = 0; i < D; i++) {
        Yp[i] = Y[i] + h;
        run(e, N, x, Yp, NULL, NULL, NULL, NULL, &lp, NULL, NULL, NULL, NULL);
        Yp[i] = Y[i] - h;
        run(e, N, x, Yp, NULL, NULL, NULL, NULL, &lm, NULL, NULL, NULL, NULL);
        Yp[i] = Y[i];
        fY[i] = (lp - lm) / (2 * h);
    }
    r.grad_x = rel_err(d, gx, fx, &s);
    r.min_scale = fmin(r.min_scale, s);
    r.grad_Y = rel_err(D, gY, fY, &s);
    r.min_scale = fmin(r.min_scale, s);
    /* tangent V on Y: H[V] and J[V] */
    run(e, N, x, Y, NULL, V, NULL, NULL, NULL, gx2, gY2, hxV, hYV);
    r.same_grad = fmax(rel_err(d, gx2, gx, NULL), rel_err(D, gY2, gY, NULL));
    for (long i = 0; i < D; i++) Yp[i] = Y[i] + h * V[i];
    run(e, N, x, Yp, NULL, NULL, NULL, NULL, NULL, gxp, gYp, NULL, NULL);
    for (long i = 0; i < D; i++) Yp[i] = Y[i] - h * V[i];
    run(e, N, x, Yp, NULL, NULL, NULL, NULL, NULL, gxm, gYm, NULL, NULL);
    for (long i = 0; i < D; i++) q1[i] = (gYp[i] - gYm[i]) / (2 * h);
    for (int i = 0; i < d; i++) q2[i] = (gxp[i] - gxm[i]) / (2 * h);
    r.H = rel_err(D, hYV, q1, &s);
    r.min_scale = fmin(r.min_scale, s);
    r.J = rel_err(d, hxV, q2, &s);
    r.min_scale = fmin(r.min_scale, s);
    /* tangent dx on x: H_xx[dx] and the cross term grad_Y' */
    run(e, N, x, Y, dx, NULL, NULL, NULL, NULL, NULL, NULL, hxd, hYd);
    for (int i = 0; i < d; i++) xp[i] = x[i] + h * dx[i];
    run(e, N, xp, Y, NULL, NULL, NULL, NULL, NULL, gxp, gYp, NULL, NULL);
    for (int i = 0; i < d; i++) xp[i] = x[i] - h * dx[i];
    run(e, N, xp, Y, NULL, NULL, NULL, NULL, NULL, gxm, gYm, NULL, NULL);
    for (int i = 0; i < d; i++) q2[i] = (gxp[i] - gxm[i]) / (2 * h);
    for (long i = 0; i < D; i++) q1[i] = (gYp[i] - gYm[i]) / (2 * h);
    r.hxx = rel_err(d, hxd, q2, &r.hxx_scale);
    r.hxx_out = inf_norm(d, hxd);
    r.hYx = rel_err(D, hYd, q1, &s);
    r.min_scale = fmin(r.min_scale, s);
    /* both tangents: the sum of the two (the tangent pass is linear) */
    run(e, N, x, Y, dx, V, NULL, NULL, NULL, NULL, NULL, hxb, hYb);
    for (int i = 0; i < d; i++) q2[i] = hxV[i] + hxd[i];
    for (long i = 0; i < D; i++) q1[i] = hYV[i] + hYd[i];
    r.lin = fmax(rel_err(d, hxb, q2, NULL), rel_err(D, hYb, q1, NULL));
    return r;
}

/* Draws (x, Y, V, dx), checks the engine (float64) against differences, logs and asserts. kink lists values
 * that feed a ReLU: their entries must stay 1e-3 away from 0 so the differences never cross the kink.
 * x_linear: the loss is linear in x, so H_xx[dx] must be 0 (held absolutely: the engine's to 1e-12, the
 * difference quotient's to 1e-8) instead of relatively. */
static void fd_test(const net *N, const char *label, uint64_t seed, double yscale, const int *kink, int n_kink,
                    int x_linear) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 1, 0);
    static double x[MAXD], Y[MAXD], V[MAXD], dx[MAXD], vals[B_MAX * 64];
    long D = ydim(N);
    gaussian_fill(&s, yscale, N->d, x);
    gaussian_fill(&s, yscale, D, Y);
    gaussian_fill(&s, 1.0, D, V);
    gaussian_fill(&s, 1.0, N->d, dx);
    sbo_nn_exec *e = net_exec(N, 64);
    if (n_kink) {
        double loss, margin = INFINITY;
        run(e, N, x, Y, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
        for (int k = 0; k < n_kink; k++) {
            int cols = N->g.v[kink[k]].cols;
            cr_assert(N->b * cols <= B_MAX * 64);
            sbo_nn_read_value(e, kink[k], N->b, vals);
            for (int i = 0; i < N->b * cols; i++) margin = fmin(margin, fabs(vals[i]));
        }
        cr_log_info("%s: smallest |ReLU input| %.3g (must exceed 1e-3)", label, margin);
        cr_assert(margin > 1e-3, "%s: a ReLU input is %.3g from the kink; change the seed", label, margin);
    }
    fd_errs r = check_differences(N, e, x, Y, V, dx);
    cr_log_info("%s: relative errors grad_x %.2e grad_Y %.2e H[V] %.2e J[V] %.2e H_xx[dx] %.2e cross[dx] %.2e "
                "(tolerance %.0e, h = %.0e); linearity %.2e, tangent-run gradient %.2e (tolerance %.0e); "
                "smallest reference norm %.3g",
                label, r.grad_x, r.grad_Y, r.H, r.J, r.hxx, r.hYx, FD_TOL, FD_H, r.lin, r.same_grad, EXACT_TOL,
                r.min_scale);
    cr_expect(r.grad_x < FD_TOL, "%s: grad_x error %.3g", label, r.grad_x);
    cr_expect(r.grad_Y < FD_TOL, "%s: grad_Y error %.3g", label, r.grad_Y);
    cr_expect(r.H < FD_TOL, "%s: H[V] error %.3g", label, r.H);
    cr_expect(r.J < FD_TOL, "%s: J[V] error %.3g", label, r.J);
    if (x_linear) {
        cr_log_info("%s: loss linear in x: |H_xx[dx]| %.2e (tolerance 1e-12), its difference quotient %.2e "
                    "(tolerance 1e-8)", label, r.hxx_out, r.hxx_scale);
        cr_expect(r.hxx_out < 1e-12 && r.hxx_scale < 1e-8, "%s: H_xx[dx] should be 0: %.3g, differences %.3g",
                  label, r.hxx_out, r.hxx_scale);
    } else {
        cr_expect(r.hxx < FD_TOL, "%s: H_xx[dx] error %.3g", label, r.hxx);
        r.min_scale = fmin(r.min_scale, r.hxx_scale);
    }
    cr_expect(r.hYx < FD_TOL, "%s: cross term along dx error %.3g", label, r.hYx);
    cr_expect(r.lin < EXACT_TOL, "%s: tangent (dx, V) differs from the sum of the two by %.3g", label, r.lin);
    cr_expect(r.same_grad < EXACT_TOL, "%s: a tangent run changed the gradient by %.3g", label, r.same_grad);
    /* every compared quantity is non-trivial, so the relative errors mean something */
    cr_expect(r.min_scale > 1e-3, "%s: a reference derivative is nearly 0 (%.3g): the check would be vacuous", label,
              r.min_scale);
    sbo_nn_exec_destroy(e);
}

typedef struct {
    double *P[SBO_MAX_BLOCKS];
    int rank[SBO_MAX_BLOCKS];
    sbo_layout red;   /* the reduced layout: r_l rows for projected blocks */
} frames;

static void draw_frames(const net *N, const int *rank, sbo_stream *s, frames *F) {
    memset(F, 0, sizeof *F);
    int rows[SBO_MAX_BLOCKS];
    for (int l = 0; l < N->lower.L; l++) {
        int m = N->lower.block[l].m;
        F->rank[l] = rank[l];
        rows[l] = rank[l] ? rank[l] : m;
        if (!rank[l]) continue;
        cr_assert(rank[l] < m);
        F->P[l] = malloc(sizeof(double) * (size_t)m * rank[l]);
        double *work = malloc(sizeof(double) * (size_t)sbo_haar_work_size(m, rank[l]));
        sbo_haar_sample(s, m, rank[l], F->P[l], work);
        free(work);
    }
    F->red = N->lower;
    sbo_layout_finish(&F->red, rows);
}

static void free_frames(frames *F) {
    for (int l = 0; l < SBO_MAX_BLOCKS; l++) free(F->P[l]);
}

/* full = P X (projected blocks), X (full blocks) */
static void lift(const net *N, const frames *F, const double *X, double *full) {
    for (int l = 0; l < N->lower.L; l++) {
        int m = N->lower.block[l].m, n = N->lower.block[l].n, r = F->rank[l];
        const double *Xl = X + F->red.offset[l];
        double *Fl = full + N->lower.offset[l];
        if (!r) {
            memcpy(Fl, Xl, sizeof(double) * (size_t)m * n);
            continue;
        }
        for (int i = 0; i < m; i++)
            for (int a = 0; a < n; a++) {
                double t = 0;
                for (int k = 0; k < r; k++) t += F->P[l][i * r + k] * Xl[k * n + a];
                Fl[i * n + a] = t;
            }
    }
}

/* red = P^T full (projected blocks), full (full blocks) */
static void project(const net *N, const frames *F, const double *full, double *red) {
    for (int l = 0; l < N->lower.L; l++) {
        int m = N->lower.block[l].m, n = N->lower.block[l].n, r = F->rank[l];
        const double *Fl = full + N->lower.offset[l];
        double *Rl = red + F->red.offset[l];
        if (!r) {
            memcpy(Rl, Fl, sizeof(double) * (size_t)m * n);
            continue;
        }
        for (int k = 0; k < r; k++)
            for (int a = 0; a < n; a++) {
                double t = 0;
                for (int i = 0; i < m; i++) t += F->P[l][i * r + k] * Fl[i * n + a];
                Rl[k * n + a] = t;
            }
    }
}

/* The outputs of one call: loss, grad_x, grad_Y, hess_x, hess_Y. */
typedef struct {
    double loss, gx[MAXD], gY[MAXD], hx[MAXD], hY[MAXD];
} outs;

static void run_outs(sbo_nn_exec *e, const net *N, const double *x, const double *Y, const double *dx,
                     const double *dY, const frames *F, outs *o) {
    run(e, N, x, Y, dx, dY, F ? (const double *const *)F->P : NULL, F ? F->rank : NULL, &o->loss, o->gx, o->gY,
        o->hx, o->hY);
}

/* max relative error over the five outputs of a against ref (Y-sized ones have n_Y entries) */
static double outs_err(const outs *a, const outs *ref, int d, long nY) {
    double e = fabs(a->loss - ref->loss) / fmax(fabs(ref->loss), 1e-300);
    e = fmax(e, rel_err(d, a->gx, ref->gx, NULL));
    e = fmax(e, rel_err(nY, a->gY, ref->gY, NULL));
    e = fmax(e, rel_err(d, a->hx, ref->hx, NULL));
    e = fmax(e, rel_err(nY, a->hY, ref->hY, NULL));
    return e;
}

static void reduced_test(const net *N, const int *rank, const char *label, uint64_t seed) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_SUBSPACE, 0, 0);
    frames F;
    draw_frames(N, rank, &s, &F);
    long D = ydim(N), R = sbo_layout_total(&F.red);
    int d = N->d;
    static double x[MAXD], Y[MAXD], X[MAXD], PX[MAXD], dx[MAXD], tmp[MAXD];
    static outs full_V, full_dx, red_X, red_dx, red32_X, red32_dx, full32_V, full32_dx;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    gaussian_fill(&s, 0.4, d, x);
    gaussian_fill(&s, 0.4, D, Y);
    gaussian_fill(&s, 1.0, R, X);
    gaussian_fill(&s, 1.0, d, dx);
    lift(N, &F, X, PX);
    sbo_nn_exec *e64 = net_exec(N, 64), *e32 = net_exec(N, 32);
    /* float64: full mode with dY = P X, and along dx; reduced mode with dY = X, and along dx */
    run_outs(e64, N, x, Y, NULL, PX, NULL, &full_V);
    run_outs(e64, N, x, Y, dx, NULL, NULL, &full_dx);
    run_outs(e64, N, x, Y, NULL, X, &F, &red_X);
    run_outs(e64, N, x, Y, dx, NULL, &F, &red_dx);
    double eg, eH, eJ, ecx, exx, eloss, s1, s2, s3;
    project(N, &F, full_V.gY, tmp);
    eg = rel_err(R, red_X.gY, tmp, &s1);
    project(N, &F, full_V.hY, tmp);
    eH = rel_err(R, red_X.hY, tmp, &s2);
    eJ = rel_err(d, red_X.hx, full_V.hx, &s3);
    project(N, &F, full_dx.hY, tmp);
    ecx = rel_err(R, red_dx.hY, tmp, NULL);
    exx = fmax(rel_err(d, red_dx.hx, full_dx.hx, NULL), rel_err(d, red_X.gx, full_V.gx, NULL));
    eloss = fabs(red_X.loss - full_V.loss) / fabs(full_V.loss);
    cr_log_info("%s, float64 reduced vs P^T full: grad_Y %.2e, H[PX] %.2e, J[PX] %.2e, cross[dx] %.2e, "
                "H_xx[dx] and grad_x %.2e, loss %.2e (tolerance %.0e)",
                label, eg, eH, eJ, ecx, exx, eloss, EXACT_TOL);
    cr_expect(eg < EXACT_TOL, "%s: reduced grad_Y differs from P^T grad_Y by %.3g", label, eg);
    cr_expect(eH < EXACT_TOL, "%s: reduced H differs from P^T H[P X] by %.3g", label, eH);
    cr_expect(eJ < EXACT_TOL, "%s: reduced J differs from J[P X] by %.3g", label, eJ);
    cr_expect(ecx < EXACT_TOL, "%s: reduced cross term along dx differs by %.3g", label, ecx);
    cr_expect(exx < EXACT_TOL, "%s: x outputs differ in reduced mode by %.3g", label, exx);
    cr_expect(eloss < EXACT_TOL, "%s: loss differs in reduced mode by %.3g", label, eloss);
    cr_expect(s1 > 1e-3 && s2 > 1e-3 && s3 > 1e-3, "%s: vacuous comparison (norms %.3g %.3g %.3g)", label, s1, s2, s3);
    /* float32 against float64, reduced and full */
    run_outs(e32, N, x, Y, NULL, X, &F, &red32_X);
    run_outs(e32, N, x, Y, dx, NULL, &F, &red32_dx);
    run_outs(e32, N, x, Y, NULL, PX, NULL, &full32_V);
    run_outs(e32, N, x, Y, dx, NULL, NULL, &full32_dx);
    double r1 = fmax(outs_err(&red32_X, &red_X, d, R), outs_err(&red32_dx, &red_dx, d, R));
    double r2 = fmax(outs_err(&full32_V, &full_V, d, D), outs_err(&full32_dx, &full_dx, d, D));
    cr_log_info("%s, float32 vs float64: reduced %.2e, full %.2e (tolerance %.0e)", label, r1, r2, F32_TOL);
    cr_expect(r1 < F32_TOL, "%s: float32 reduced mode differs from float64 by %.3g", label, r1);
    cr_expect(r2 < F32_TOL, "%s: float32 full mode differs from float64 by %.3g", label, r2);
    /* and float32 is really float32: not bit-equal to float64 */
    cr_expect(r2 > 0, "%s: float32 results equal float64 exactly", label);
    sbo_nn_exec_destroy(e64);
    sbo_nn_exec_destroy(e32);
    free_frames(&F);
}

/* float32 against float64 in full mode: loss, gradients, H[V], J[V] and the tangents along dx, all within F32_TOL
 * relative, and not bit-equal (float32 really ran) */
__attribute__((unused)) static void f32_test(const net *N, const char *label, uint64_t seed, double yscale) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    static double x[MAXD], Y[MAXD], V[MAXD], dx[MAXD];
    static outs o64, o32, d64, d32;
    long D = ydim(N);
    gaussian_fill(&s, yscale, N->d, x);
    gaussian_fill(&s, yscale, D, Y);
    gaussian_fill(&s, 1.0, D, V);
    gaussian_fill(&s, 1.0, N->d, dx);
    sbo_nn_exec *e64 = net_exec(N, 64), *e32 = net_exec(N, 32);
    run_outs(e64, N, x, Y, NULL, V, NULL, &o64);
    run_outs(e32, N, x, Y, NULL, V, NULL, &o32);
    run_outs(e64, N, x, Y, dx, NULL, NULL, &d64);
    run_outs(e32, N, x, Y, dx, NULL, NULL, &d32);
    double r = fmax(outs_err(&o32, &o64, N->d, D), outs_err(&d32, &d64, N->d, D));
    cr_log_info("%s, float32 vs float64 (loss, gradients, H[V], J[V], along dx): %.2e (tolerance %.0e)", label, r,
                F32_TOL);
    cr_expect(r < F32_TOL, "%s: float32 differs from float64 by %.3g", label, r);
    cr_expect(r > 0, "%s: float32 results equal float64 exactly", label);
    sbo_nn_exec_destroy(e64);
    sbo_nn_exec_destroy(e32);
}
#endif
