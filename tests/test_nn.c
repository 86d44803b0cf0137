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
#include "tests/nn_check.h"  /* nets, runs, fd_test, reduced_test (and the engine, RNG, Haar P) */

TestSuite(nn, .fini = free_nets);

/* ------------------------------------------------------------------------------------------------------ */
/* 1, 2: the engine against central differences                                                           */

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
