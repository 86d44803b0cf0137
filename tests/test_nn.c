/* tests/test_nn.c: the network engine of core/nn/nn.h against central differences in double, op by op and on
 * whole networks (loss gradient, H[V], J[V], and the tangents along x), in float64. Then reduced mode
 * (ALGORITHMS.md §3.1) equal to P^T of full mode with Haar P, float32 against float64, the row symmetry of a
 * first-layer Hessian block (§5.2) with a power check, the graph checker's messages, and the lazy allocation of
 * the full-mode derivative buffers. Run: ctest -R test_nn, or build/tests/test_nn --verbose.
 *
 * Difference quotients use h = 1e-5: truncation h^2 |f'''| ~ 1e-10 and rounding eps |f| / h ~ 1e-11 on O(1)
 * values, so the relative tolerance is 1e-7 of the inf-norm of the difference quotient (FD_TOL). Identities that
 * are exact in arithmetic (reduced = P^T full, linearity in the tangent, row symmetry) are held to 1e-10 in float64;
 * float32 is held to 1e-4 of the float64 result. */
#include <criterion/criterion.h>
#include <signal.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_haar.h"   /* Haar P for reduced mode */
#include "core/nn/nn.h"      /* the code under test */
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
TestSuite(nn, .fini = free_nets);

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

static long ydim(const net *N) { return sbo_layout_total(&N->lower); }

static sbo_nn_exec *net_exec(const net *N, int precision) {
    char err[256] = "";
    cr_assert_eq(sbo_nn_graph_check(&N->g, &N->lower, N->d, err, sizeof err), 0, "%s", err);
    sbo_nn_exec *e = sbo_nn_exec_create(&N->g, &N->lower, N->d, precision, "test_nn", err, sizeof err);
    cr_assert_not_null(e, "%s", err);
    for (int k = 0; k < N->n_in; k++) sbo_nn_set_input(e, N->in_id[k], N->in_data[k], N->b);
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

/* ------------------------------------------------------------------------------------------------------ */
/* 1, 2: the engine against central differences                                                           */

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

/* LINEAR: in (4) -> fc0 (upper U 4x4, no bias) -> fc1 (lower W 4x3 + lower bias 1x3) -> fc2 (lower W2 3x1, no
 * bias) -> mean. The loss is trilinear in (U, W, W2), so H has cross blocks and J is non-zero. */
static void build_linear(net *N, sbo_stream *s, int *W, int *bW, int *U) {
    net_init(N, 5);
    int in = add_input(N, "in", 4, s, 1.0);
    *U = upper_param(N, "U", 4, 4);
    *W = lower_param(N, "W", 4, 3);
    *bW = lower_param(N, "bW", 1, 3);
    int W2 = lower_param(N, "W2", 3, 1);
    int h0 = sbo_nn_linear(&N->g, "fc0", in, *U, -1);
    int h1 = sbo_nn_linear(&N->g, "fc1", h0, *W, *bW);
    int h2 = sbo_nn_linear(&N->g, "fc2", h1, W2, -1);
    sbo_nn_mark_loss(&N->g, sbo_nn_wmean(&N->g, "mean", h2, -1));
}

Test(nn, linear_op_matches_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    int W, bW, U;
    sbo_stream_init(&s, 11, SBO_RNG_TEST, 0, 0);
    build_linear(&N, &s, &W, &bW, &U);
    fd_test(&N, "linear", 101, 0.5, NULL, 0, 1);
}

/* RELU / TANH / GELU: in (4) -> fc0 (upper 4x5) -> act -> fc1 (lower 5x4 + lower bias) -> act -> fc2 (upper 4x3)
 * -> xent -> mean. Each activation appears after an upper and after a lower parameter. */
static void act_test(int kind, const char *label, uint64_t data_seed, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, data_seed, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int U = upper_param(&N, "U", 4, 5);
    int W = lower_param(&N, "W", 5, 4), bW = lower_param(&N, "bW", 1, 4);
    int V = upper_param(&N, "V", 4, 3);
    int h0 = sbo_nn_linear(&N.g, "fc0", in, U, -1);
    int a0 = sbo_nn_activation(&N.g, "act0", kind, h0);
    int h1 = sbo_nn_linear(&N.g, "fc1", a0, W, bW);
    int a1 = sbo_nn_activation(&N.g, "act1", kind, h1);
    int z = sbo_nn_linear(&N.g, "fc2", a1, V, -1);
    int l = sbo_nn_xent(&N.g, "xent", z);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", l, -1));
    set_labels(&N, 3, &s);
    int kink[2] = {h0, h1};
    fd_test(&N, label, seed, 0.7, kink, kind == SBO_NN_RELU ? 2 : 0, 0);
}

Test(nn, relu_op_matches_differences) { act_test(SBO_NN_RELU, "relu", 21, 201); }
Test(nn, tanh_op_matches_differences) { act_test(SBO_NN_TANH, "tanh", 22, 202); }
Test(nn, gelu_op_matches_differences) { act_test(SBO_NN_GELU, "gelu", 23, 203); }

/* XENT: in (4) -> fc0 (upper 4x4) -> fc1 (lower 4x3 + lower bias) -> xent (labels) -> mean. */
Test(nn, xent_op_matches_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 31, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int U = upper_param(&N, "U", 4, 4);
    int W = lower_param(&N, "W", 4, 3), bW = lower_param(&N, "bW", 1, 3);
    int h0 = sbo_nn_linear(&N.g, "fc0", in, U, -1);
    int z = sbo_nn_linear(&N.g, "fc1", h0, W, bW);
    int l = sbo_nn_xent(&N.g, "xent", z);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", l, -1));
    set_labels(&N, 3, &s);
    fd_test(&N, "xent", 301, 0.7, NULL, 0, 0);
}

/* SIGMOID_GATHER + weighted WMEAN: x = (U 4x4, s 1x6); weights sigmoid(s[id]) with repeated ids. */
Test(nn, sigmoid_gather_op_matches_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 41, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int U = upper_param(&N, "U", 4, 4);
    int sl = upper_param(&N, "sample_logits", 1, 6);
    int W = lower_param(&N, "W", 4, 3), bW = lower_param(&N, "bW", 1, 3);
    int h0 = sbo_nn_linear(&N.g, "fc0", in, U, -1);
    int z = sbo_nn_linear(&N.g, "fc1", h0, W, bW);
    int l = sbo_nn_xent(&N.g, "xent", z);
    int w = sbo_nn_sigmoid_gather(&N.g, "weights", sl);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "wmean", l, w));
    set_labels(&N, 3, &s);
    int ids[5] = {2, 0, 2, 5, 2};   /* repeats: the adjoints of s[2] accumulate three samples */
    memcpy(N.ids, ids, sizeof ids);
    N.has_ids = 1;
    fd_test(&N, "sigmoid_gather", 401, 0.7, NULL, 0, 0);
}

/* WMEAN: l = fc_l(tanh(in W1)) with an upper head V (3x1), w = in W2 + c (lower), loss = mean w_s l_s: the
 * weights carry a tangent from Y and the per-sample loss one from x and Y. And the plain mean of l. */
static void wmean_test(int weighted, const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 51, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int W1 = lower_param(&N, "W1", 4, 3);
    int V = upper_param(&N, "V", 3, 1);
    int a = sbo_nn_activation(&N.g, "tanh", SBO_NN_TANH, sbo_nn_linear(&N.g, "fc1", in, W1, -1));
    int l = sbo_nn_linear(&N.g, "per_sample", a, V, -1);
    int w = -1;
    if (weighted) {
        int W2 = lower_param(&N, "W2", 4, 1), c = lower_param(&N, "c", 1, 1);
        w = sbo_nn_linear(&N.g, "weights", in, W2, c);
    }
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "wmean", l, w));
    fd_test(&N, label, seed, 0.7, NULL, 0, 1);
}

Test(nn, wmean_weighted_matches_differences) { wmean_test(1, "wmean weighted", 501); }
Test(nn, wmean_plain_matches_differences) { wmean_test(0, "wmean plain", 502); }

/* L2 on lower and upper parameters added to the LINEAR graph (several loss values are summed); and alone, where
 * the result is known exactly: grad = coef theta, H[V] = coef V, J = 0. */
Test(nn, l2_op_matches_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    int W, bW, U;
    sbo_stream_init(&s, 61, SBO_RNG_TEST, 0, 0);
    build_linear(&N, &s, &W, &bW, &U);
    sbo_nn_mark_loss(&N.g, sbo_nn_l2(&N.g, "l2_W", W, 0.3));
    sbo_nn_mark_loss(&N.g, sbo_nn_l2(&N.g, "l2_bW", bW, 0.7));
    sbo_nn_mark_loss(&N.g, sbo_nn_l2(&N.g, "l2_U", U, 0.2));
    fd_test(&N, "linear + l2", 601, 0.5, NULL, 0, 0);

    static net M;   /* static: freed by the suite's fini (free_nets) */
    net_init(&M, 5);
    int Wl = lower_param(&M, "W", 3, 2), Uu = upper_param(&M, "U", 2, 2);
    sbo_nn_mark_loss(&M.g, sbo_nn_l2(&M.g, "l2_W", Wl, 0.3));
    sbo_nn_mark_loss(&M.g, sbo_nn_l2(&M.g, "l2_U", Uu, 0.2));
    double x[4], Y[6], V[6], gx[4], gY[6], hx[4], hY[6], loss, want = 0, err = 0;
    sbo_stream_init(&s, 62, SBO_RNG_TEST, 0, 0);
    gaussian_fill(&s, 1, 4, x);
    gaussian_fill(&s, 1, 6, Y);
    gaussian_fill(&s, 1, 6, V);
    sbo_nn_exec *e = net_exec(&M, 64);
    run(e, &M, x, Y, NULL, V, NULL, NULL, &loss, gx, gY, hx, hY);
    for (int i = 0; i < 6; i++) {
        want += 0.15 * Y[i] * Y[i];
        err = fmax(err, fmax(fabs(gY[i] - 0.3 * Y[i]), fabs(hY[i] - 0.3 * V[i])));
    }
    for (int i = 0; i < 4; i++) {
        want += 0.1 * x[i] * x[i];
        err = fmax(err, fmax(fabs(gx[i] - 0.2 * x[i]), fabs(hx[i])));
    }
    err = fmax(err, fabs(loss - want));
    cr_log_info("l2 alone: max error of loss, coef theta, coef V, J = 0: %.2e (tolerance 1e-14)", err);
    cr_expect(err < 1e-14, "l2 alone: error %.3g", err);
    sbo_nn_exec_destroy(e);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 2: whole networks                                                                                      */

/* input (12) -> fc1 (W1 12x8 + b1) -> act -> fc2 (lower W2 8x3 + b2) -> xent -> mean + L2 on W1 and W2.
 * upper_first = 0: W1, b1 lower (blocks 0..3 = W1, b1, W2, b2); the mean is weighted by sigmoid_gather of an
 *   upper 1x10 vector of per-sample logits (data reweighting: x = the sample logits).
 * upper_first = 1: W1, b1 upper (hyper-representation: x = the feature extractor, Y = the head; blocks 0, 1 =
 *   W2, b2); plain mean. */
static void build_whole(net *N, int act, int upper_first, uint64_t seed) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(N, 5);
    int in = add_input(N, "images", 12, &s, 1.0);
    int W1, b1;
    if (upper_first) {
        W1 = upper_param(N, "W1", 12, 8);
        b1 = upper_param(N, "b1", 1, 8);
    } else {
        W1 = lower_param(N, "W1", 12, 8);
        b1 = lower_param(N, "b1", 1, 8);
    }
    int h = sbo_nn_linear(&N->g, "fc1", in, W1, b1);
    int a = sbo_nn_activation(&N->g, "act1", act, h);
    int W2 = lower_param(N, "W2", 8, 3), b2 = lower_param(N, "b2", 1, 3);
    int z = sbo_nn_linear(&N->g, "fc2", a, W2, b2);
    int l = sbo_nn_xent(&N->g, "xent", z);
    int w = -1;
    if (!upper_first) {
        int sl = upper_param(N, "sample_logits", 1, 10);
        w = sbo_nn_sigmoid_gather(&N->g, "weights", sl);
        int ids[5] = {7, 3, 7, 0, 3};
        memcpy(N->ids, ids, sizeof ids);
        N->has_ids = 1;
    }
    sbo_nn_mark_loss(&N->g, sbo_nn_wmean(&N->g, "data_loss", l, w));
    sbo_nn_mark_loss(&N->g, sbo_nn_l2(&N->g, "l2_W1", W1, 0.05));
    sbo_nn_mark_loss(&N->g, sbo_nn_l2(&N->g, "l2_W2", W2, 0.05));
    set_labels(N, 3, &s);
}

Test(nn, whole_network_tanh_lower_first_layer) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    build_whole(&N, SBO_NN_TANH, 0, 71);
    fd_test(&N, "whole tanh, W1 lower", 701, 0.4, NULL, 0, 0);
}

Test(nn, whole_network_gelu_lower_first_layer) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    build_whole(&N, SBO_NN_GELU, 0, 72);
    fd_test(&N, "whole gelu, W1 lower", 702, 0.4, NULL, 0, 0);
}

Test(nn, whole_network_hyper_representation) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    build_whole(&N, SBO_NN_GELU, 1, 73);
    fd_test(&N, "hyper-representation gelu, W1 upper", 703, 0.4, NULL, 0, 0);
    build_whole(&N, SBO_NN_TANH, 1, 74);
    fd_test(&N, "hyper-representation tanh, W1 upper", 704, 0.4, NULL, 0, 0);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 3: reduced mode = P^T full mode; float32 against float64                                               */

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

Test(nn, reduced_mode_is_projected_full_mode) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    build_whole(&N, SBO_NN_TANH, 0, 81);
    int rank_a[4] = {4, 0, 5, 0};   /* W1 12x8 -> r 4, W2 8x3 -> r 5, biases full (P = NULL) */
    reduced_test(&N, rank_a, "W1 lower, P on W1 and W2", 801);
    int rank_b[4] = {3, 0, 0, 0};   /* only the first layer projected */
    reduced_test(&N, rank_b, "W1 lower, P on W1 only", 802);
    build_whole(&N, SBO_NN_GELU, 1, 82);
    int rank_c[2] = {2, 0};         /* hyper-representation: the head W2 8x3 -> r 2 */
    reduced_test(&N, rank_c, "hyper-representation, P on W2", 803);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 4: row symmetry of a first-layer block (§5.2) with power checks                                        */

/* The diagonal block l of H as an (mn) x (mn) matrix: column (j,b) = block l of H[E_jb]. */
static void hessian_block(const net *N, sbo_nn_exec *e, const double *x, const double *Y, int l, double *Hm) {
    int m = N->lower.block[l].m, n = N->lower.block[l].n, mn = m * n;
    long D = ydim(N), off = N->lower.offset[l];
    static double E[MAXD], hY[MAXD];
    memset(E, 0, sizeof(double) * D);
    for (int jb = 0; jb < mn; jb++) {
        E[off + jb] = 1;
        run(e, N, x, Y, NULL, E, NULL, NULL, NULL, NULL, NULL, NULL, hY);
        E[off + jb] = 0;
        for (int ia = 0; ia < mn; ia++) Hm[(long)ia * mn + jb] = hY[off + ia];
    }
}

enum { PAIR_ROW, PAIR_TRANSPOSE, PAIR_WRONG };
/* max over (i, a, j, b) of |H_{ia,jb} - H_{pair}| / max |H|, with pair = (ja, ib) (row partial transpose, §5.2),
 * (jb, ia) (self-adjointness), or (ja, jb) (a wrong pairing: only the row index of one side moved). */
static double pair_gap(int m, int n, const double *Hm, int pairing) {
    int mn = m * n;
    double gap = 0, scale = inf_norm((long)mn * mn, Hm);
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++)
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++) {
                    double h = Hm[(long)(i * n + a) * mn + j * n + b], o;
                    if (pairing == PAIR_ROW) o = Hm[(long)(j * n + a) * mn + i * n + b];
                    else if (pairing == PAIR_TRANSPOSE) o = Hm[(long)(j * n + b) * mn + i * n + a];
                    else o = Hm[(long)(j * n + a) * mn + j * n + b];
                    gap = fmax(gap, fabs(h - o));
                }
    return gap / scale;
}

static void row_symmetry_test(const net *N, int l, const char *label, uint64_t seed) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    static double x[MAXD], Y[MAXD];
    long D = ydim(N);
    gaussian_fill(&s, 0.4, N->d, x);
    gaussian_fill(&s, 0.4, D, Y);
    int m = N->lower.block[l].m, n = N->lower.block[l].n, mn = m * n;
    double *Hm = calloc((size_t)mn * mn, sizeof(double)), *K = calloc((size_t)mn * mn, sizeof(double));
    double A[16 * 16], S[16 * 16];
    cr_assert(m <= 16 && n <= 16);
    sbo_nn_exec *e = net_exec(N, 64);
    hessian_block(N, e, x, Y, l, Hm);
    double row = pair_gap(m, n, Hm, PAIR_ROW), tr = pair_gap(m, n, Hm, PAIR_TRANSPOSE);
    double wrong = pair_gap(m, n, Hm, PAIR_WRONG);
    /* Power check: H + K with K = A (x) S, A (m x m) and S (n x n) antisymmetric: K_{ia,jb} = A_ij S_ab is
     * self-adjoint (a valid Hessian block) but purely Anti (x) Anti, so it is not row-symmetric. */
    for (int i = 0; i < m; i++)
        for (int j = 0; j <= i; j++) {
            double t = i == j ? 0 : sbo_stream_gaussian(&s);
            A[i * m + j] = t;
            A[j * m + i] = -t;
        }
    for (int a = 0; a < n; a++)
        for (int b = 0; b <= a; b++) {
            double t = a == b ? 0 : sbo_stream_gaussian(&s);
            S[a * n + b] = t;
            S[b * n + a] = -t;
        }
    double kmax = 0, hmax = inf_norm((long)mn * mn, Hm);
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++)
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++) kmax = fmax(kmax, fabs(A[i * m + j] * S[a * n + b]));
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++)
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++)
                    K[(long)(i * n + a) * mn + j * n + b] =
                        Hm[(long)(i * n + a) * mn + j * n + b] + 0.1 * hmax / kmax * A[i * m + j] * S[a * n + b];
    double row_K = pair_gap(m, n, K, PAIR_ROW), tr_K = pair_gap(m, n, K, PAIR_TRANSPOSE);
    cr_log_info("%s (%d x %d): row-symmetry gap %.2e, self-adjointness gap %.2e (tolerance %.0e); power: wrong "
                "pairing %.2e, H + 0.1 |H| A(x)S row gap %.2e (self-adjoint gap %.2e); both must exceed 1e-2",
                label, m, n, row, tr, EXACT_TOL, wrong, row_K, tr_K);
    cr_expect(hmax > 1e-3, "%s: the Hessian block is nearly 0 (%.3g)", label, hmax);
    cr_expect(row < EXACT_TOL, "%s: H_{ia,jb} != H_{ja,ib}: gap %.3g", label, row);
    cr_expect(tr < EXACT_TOL, "%s: H is not self-adjoint: gap %.3g", label, tr);
    cr_expect(wrong > 1e-2, "%s: the wrong pairing passes (gap %.3g): the statistic is vacuous", label, wrong);
    cr_expect(row_K > 1e-2, "%s: a non-row-symmetric operator passes (gap %.3g)", label, row_K);
    cr_expect(tr_K < EXACT_TOL, "%s: the power-check operator is not self-adjoint (%.3g)", label, tr_K);
    sbo_nn_exec_destroy(e);
    free(Hm);
    free(K);
}

Test(nn, first_layer_block_is_row_symmetric) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    build_whole(&N, SBO_NN_TANH, 0, 91);
    row_symmetry_test(&N, 0, "W1 block, tanh network", 901);
    build_whole(&N, SBO_NN_GELU, 0, 92);
    row_symmetry_test(&N, 0, "W1 block, gelu network", 902);
    build_whole(&N, SBO_NN_GELU, 1, 93);
    row_symmetry_test(&N, 0, "W2 head block, hyper-representation", 903);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 5: the graph checker                                                                                   */

Test(nn, graph_check_rejects_shape_mismatch_and_missing_loss) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    char err[256] = "";
    sbo_stream_init(&s, 3, SBO_RNG_TEST, 0, 0);
    /* weight rows (5) do not match the input columns (4) */
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int W = lower_param(&N, "Wbad", 5, 3);
    int z = sbo_nn_linear(&N.g, "fc", in, W, -1);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1));
    cr_expect_eq(sbo_nn_graph_check(&N.g, &N.lower, 0, err, sizeof err), -1);
    cr_log_info("shape mismatch: %s", err);
    cr_expect(strstr(err, "Wbad") && strstr(err, "5 x 3") && strstr(err, "4 columns"), "message: %s", err);
    err[0] = 0;
    cr_expect_null(sbo_nn_exec_create(&N.g, &N.lower, 0, 64, "bad", err, sizeof err));
    cr_expect(strstr(err, "4 columns") != NULL, "exec_create message: %s", err);
    /* a valid graph without a loss value */
    net_init(&N, 5);
    in = add_input(&N, "in", 4, &s, 1.0);
    W = lower_param(&N, "W", 4, 3);
    z = sbo_nn_linear(&N.g, "fc", in, W, -1);
    sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1);
    err[0] = 0;
    cr_expect_eq(sbo_nn_graph_check(&N.g, &N.lower, 0, err, sizeof err), -1);
    cr_log_info("no loss: %s", err);
    cr_expect(strstr(err, "no loss") != NULL, "message: %s", err);
    err[0] = 0;
    cr_expect_null(sbo_nn_exec_create(&N.g, &N.lower, 0, 64, "noloss", err, sizeof err));
    cr_expect(strstr(err, "no loss") != NULL, "exec_create message: %s", err);
    /* and the same graph with the loss marked passes */
    sbo_nn_mark_loss(&N.g, N.g.n_values - 1);
    cr_expect_eq(sbo_nn_graph_check(&N.g, &N.lower, 0, err, sizeof err), 0, "%s", err);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 6: the full m x n derivative buffers are allocated only when a call uses full mode                      */

static void arena_test(int precision) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    build_whole(&N, SBO_NN_TANH, 0, 95);
    sbo_stream s;
    sbo_stream_init(&s, 905, SBO_RNG_SUBSPACE, 0, 0);
    frames F;
    int rank[4] = {4, 0, 5, 0};
    draw_frames(&N, rank, &s, &F);
    static double x[MAXD], Y[MAXD], X[MAXD], gY[MAXD];
    static outs first, again;
    long D = ydim(&N), R = sbo_layout_total(&F.red);
    sbo_stream_init(&s, 905, SBO_RNG_TEST, 0, 0);
    gaussian_fill(&s, 0.4, N.d, x);
    gaussian_fill(&s, 0.4, D, Y);
    gaussian_fill(&s, 1.0, R, X);
    sbo_nn_exec *e = net_exec(&N, precision);
    size_t b0 = sbo_nn_exec_bytes(e);
    run_outs(e, &N, x, Y, NULL, X, &F, &first);   /* reduced only: grad_Y, H, J */
    size_t b1 = sbo_nn_exec_bytes(e);
    run(e, &N, x, Y, NULL, NULL, NULL, NULL, NULL, NULL, gY, NULL, NULL);   /* a full-mode gradient */
    size_t b2 = sbo_nn_exec_bytes(e);
    run_outs(e, &N, x, Y, NULL, X, &F, &again);   /* reduced again: nothing new, the same numbers */
    size_t b3 = sbo_nn_exec_bytes(e);
    /* a full gradient allocates bar and bar' of W1 and W2 (Y' only comes with a full tangent) */
    size_t full_blocks = 2 * (size_t)(12 * 8 + 8 * 3) * (precision == 32 ? 4 : 8);
    cr_log_info("float%d arena bytes: created %zu, after a reduced run %zu, after a full gradient %zu (+%zu, at "
                "least %zu expected), after another reduced run %zu",
                precision, b0, b1, b2, b2 - b1, full_blocks, b3);
    cr_expect(b1 > b0, "the reduced run allocated nothing");
    cr_expect(b2 > b1 && b2 - b1 >= full_blocks, "full mode added %zu bytes, expected at least %zu", b2 - b1,
              full_blocks);
    cr_expect_eq(b3, b2, "a second reduced run reallocated");
    double err = outs_err(&again, &first, N.d, R);
    cr_expect(err == 0, "the reduced run changed after the full buffers were allocated (%.3g)", err);
    sbo_nn_exec_destroy(e);
    free_frames(&F);
}

Test(nn, full_mode_buffers_are_allocated_lazily) {
    arena_test(64);
    arena_test(32);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 6: a 4-D product of two activations and a tied parameter; the linearization contract                   */

/* q = X W + bq (W lower 12 x 12, bq upper), seen as (b, 2 heads, 3 tokens, 2 channels): Q = q, K = tanh(q);
 * S = 0.5 Q K^T (b, 2, 3, 3), A = tanh(S), O = A Q (b, 2, 3, 2), both products of activations; then z = O W
 * with the SAME W (tied: its derivatives accumulate from both uses), 12 classes, cross-entropy, mean, L2 on W. */
static void build_attention(net *N, uint64_t seed) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(N, 5);
    int in = add_input(N, "tokens", 12, &s, 1.0);
    int W = lower_param(N, "W", 12, 12);
    int bq = upper_param(N, "bq", 1, 12);
    int dims[3] = {2, 3, 2};
    int q = sbo_nn_linear(&N->g, "q", in, W, bq);
    int Q = sbo_nn_reshape(&N->g, "Q", q, 3, dims);
    int K = sbo_nn_activation(&N->g, "K", SBO_NN_TANH, Q);
    int S = sbo_nn_matmul(&N->g, "scores", Q, K, 0, 1, 0.5);
    int A = sbo_nn_activation(&N->g, "weights", SBO_NN_TANH, S);
    int O = sbo_nn_matmul(&N->g, "mixed", A, Q, 0, 0, 1.0);
    int z = sbo_nn_linear(&N->g, "head", O, W, -1);   /* O flattened per sample: 12 = 2 x 3 x 2 */
    sbo_nn_mark_loss(&N->g, sbo_nn_wmean(&N->g, "data_loss", sbo_nn_xent(&N->g, "xent", z), -1));
    sbo_nn_mark_loss(&N->g, sbo_nn_l2(&N->g, "l2_W", W, 0.05));
    set_labels(N, 12, &s);
    cr_assert_eq(N->g.v[S].ndim, 4, "the scores are 4-D");
    cr_assert_eq(N->g.v[S].dim[3], 3);
}

Test(nn, four_d_activation_product_and_tied_weight_match_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    build_attention(&N, 61);
    fd_test(&N, "4-D Q K^T, A V and a tied W", 601, 0.5, NULL, 0, 0);
    int rank[1] = {5};   /* the tied W projected: both of its linear ops keep a P, their P^T derivatives add up */
    reduced_test(&N, rank, "4-D attention, tied W projected at r = 5", 602);
}

/* A tangent sweep at a point other than the linearization's must abort (STYLE.md pattern 3). */
static void contract_setup(sbo_nn_exec **e, net *N, double *x, double *Y, double *V) {
    build_whole(N, SBO_NN_TANH, 0, 97);
    sbo_stream s;
    sbo_stream_init(&s, 907, SBO_RNG_TEST, 0, 0);
    gaussian_fill(&s, 0.4, N->d, x);
    gaussian_fill(&s, 0.4, ydim(N), Y);
    gaussian_fill(&s, 1.0, ydim(N), V);
    *e = net_exec(N, 32);
    sbo_nn_lin l = {.b = N->b, .want_lower = 1, .want_upper = 1};
    sbo_nn_linearize(*e, x, Y, &l);
}

Test(nn, tangent_at_the_linearization_point_runs) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    static double x[MAXD], Y[MAXD], V[MAXD], h1[MAXD], h2[MAXD], g1[MAXD], g2[MAXD];
    sbo_nn_exec *e;
    contract_setup(&e, &N, x, Y, V);
    sbo_nn_tan t = {.dY = V, .hess_Y = h1};
    sbo_nn_tangent(e, x, Y, &t);
    /* the same point in a different array, and a change below float32's resolution, are the same point */
    static double Yc[MAXD];
    memcpy(Yc, Y, sizeof(double) * (size_t)ydim(&N));
    Yc[0] = Y[0] * (1 + 1e-12);
    t.hess_Y = h2;
    sbo_nn_tangent(e, x, Yc, &t);
    cr_expect(memcmp(h1, h2, sizeof(double) * (size_t)ydim(&N)) == 0, "two sweeps at one point differ");
    /* the gradient read after the sweeps equals the one a linearization returns */
    sbo_nn_lin l = {.b = N.b, .want_lower = 1, .keep_grad_Y = 1, .grad_Y = g1};
    sbo_nn_linearize(e, x, Y, &l);
    sbo_nn_tangent(e, x, Y, &t);
    sbo_nn_gradient(e, NULL, g2);
    cr_expect(memcmp(g1, g2, sizeof(double) * (size_t)ydim(&N)) == 0, "a sweep changed the stored gradient");
    long nl, ns;
    sbo_nn_exec_passes(e, &nl, &ns);
    cr_expect(nl == 2 && ns == 3, "passes counted: %ld linearizations, %ld sweeps (2, 3 expected)", nl, ns);
    sbo_nn_exec_destroy(e);
}

Test(nn, tangent_at_another_point_aborts, .signal = SIGABRT) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    static double x[MAXD], Y[MAXD], V[MAXD], h[MAXD];
    sbo_nn_exec *e;
    contract_setup(&e, &N, x, Y, V);
    Y[3] += 0.01;   /* the caller moved Y after the forward pass */
    sbo_nn_tan t = {.dY = V, .hess_Y = h};
    sbo_nn_tangent(e, x, Y, &t);
    cr_log_error("a tangent sweep ran at a point other than the linearization's");
}

Test(nn, tangent_after_a_new_batch_aborts, .signal = SIGABRT) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    static double x[MAXD], Y[MAXD], V[MAXD], h[MAXD];
    sbo_nn_exec *e;
    contract_setup(&e, &N, x, Y, V);
    sbo_nn_set_labels(e, N.labels, N.b);   /* a new minibatch (the same values: the version is what counts) */
    sbo_nn_tan t = {.dY = V, .hess_Y = h};
    sbo_nn_tangent(e, x, Y, &t);
    cr_log_error("a tangent sweep ran after the batch changed");
}

Test(nn, tangent_before_any_linearization_aborts, .signal = SIGABRT) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    static double x[MAXD], Y[MAXD], V[MAXD], h[MAXD];
    build_whole(&N, SBO_NN_TANH, 0, 98);
    sbo_nn_exec *e = net_exec(&N, 32);
    sbo_nn_tan t = {.dY = V, .hess_Y = h};
    sbo_nn_tangent(e, x, Y, &t);
    cr_log_error("a tangent sweep ran before any forward pass");
}

Test(nn, tangent_after_a_reservation_aborts, .signal = SIGABRT) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    static double x[MAXD], Y[MAXD], V[MAXD], h[MAXD];
    sbo_nn_exec *e;
    contract_setup(&e, &N, x, Y, V);
    cr_assert_eq(sbo_nn_exec_reserve(e, NULL, ~0ULL, ~0ULL), 0);   /* may re-make the arenas the sweep would read */
    sbo_nn_tan t = {.dY = V, .hess_Y = h};
    sbo_nn_tangent(e, x, Y, &t);
    cr_log_error("a tangent sweep ran on a linearization made before a reservation");
}
