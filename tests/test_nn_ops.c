/* tests/test_nn_ops.c: the transformer ops of the engine (core/nn/op_norm.c, op_softmax.c, op_embed.c, SiLU in
 * op_act.c, token-wise linear in op_linear.c): each op's forward against a direct computation; each op in a tiny
 * graph with a loss against central differences in double (gradient, H[V], J[V], the tangents along x: every
 * function of the descriptor, forward, jvp, vjp and tvjp, enters), float32 against float64; a causal
 * transformer block (embedding, layernorm, two attention heads, residual, rmsnorm, a head tied to the embedding
 * or not, per-token cross-entropy) against differences, reduced = P^T full on its projected linear weights; and the
 * causal mask does not leak. Tolerances: tests/nn_check.h (FD_TOL 1e-7 relative, EXACT_TOL 1e-10, F32_TOL 1e-4);
 * forward values are held to DIRECT_TOL.
 * Run: ctest -R test_nn_ops, or build/test_nn_ops --verbose. */
#include <criterion/criterion.h>
#include "tests/nn_check.h"  /* nets, runs, fd_test, reduced_test, f32_test (and the engine, RNG, Haar P) */

#define DIRECT_TOL 1e-13     /* float64 forward values against the same formula computed here */

TestSuite(nn_ops, .fini = free_nets);

/* ------------------------------------------------------------------------------------------------------ */
/* 1: forward values against a direct computation                                                          */

static double sigm(double u) { return 1 / (1 + exp(-u)); }

Test(nn_ops, forward_values_match_direct_computation) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 1, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int T = 3, C = 4, V = 5, b = N.b;
    int u = add_input(&N, "u", T * C, &s, 1.5), w = add_input(&N, "w", T * T, &s, 2.0);
    int ids = add_int_input(&N, "ids", T, V, &s);
    int g = lower_param(&N, "gamma", 1, C), be = lower_param(&N, "beta", 1, C);
    int E = lower_param(&N, "E", V, C), Et = lower_param(&N, "Et", C, V);
    int d3[2] = {T, C}, d33[2] = {T, T};
    int U3 = sbo_nn_reshape(&N.g, "u3", u, 2, d3), W3 = sbo_nn_reshape(&N.g, "w3", w, 2, d33);
    int ln = sbo_nn_layernorm(&N.g, "ln", U3, g, be, 1e-3), ln0 = sbo_nn_layernorm(&N.g, "ln0", U3, -1, -1, 1e-3);
    int rms = sbo_nn_rmsnorm(&N.g, "rms", U3, g, 1e-3);
    int sm = sbo_nn_softmax(&N.g, "sm", U3, 0), smc = sbo_nn_softmax(&N.g, "smc", W3, 1);
    int si = sbo_nn_activation(&N.g, "silu", SBO_NN_SILU, u);
    int em = sbo_nn_embedding(&N.g, "emb", ids, E, 0), emt = sbo_nn_embedding(&N.g, "embT", ids, Et, 1);
    sbo_nn_mark_loss(&N.g, sbo_nn_l2(&N.g, "l2", g, 1.0));
    cr_assert_eq(N.g.v[em].ndim, 3);
    cr_assert(N.g.v[em].dim[1] == T && N.g.v[em].dim[2] == C && N.g.v[emt].dim[2] == C);
    static double Y[MAXD], got[B_MAX * 64], want[B_MAX * 64];
    gaussian_fill(&s, 1.0, ydim(&N), Y);
    const double *gm = Y + N.lower.offset[0], *bt = Y + N.lower.offset[1], *Ev = Y + N.lower.offset[2],
                 *Etv = Y + N.lower.offset[3];
    sbo_nn_exec *e = net_exec(&N, 64);
    double loss;
    run(e, &N, NULL, Y, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
    const double *ud = N.in_data[0], *wd = N.in_data[1];
    double err[8] = {0};
    const char *what[8] = {"layernorm", "layernorm (no affine)", "rmsnorm", "softmax", "causal softmax", "silu",
                           "embedding", "embedding (C x V table)"};
    int vals[8] = {ln, ln0, rms, sm, smc, si, em, emt};
    for (int k = 0; k < 8; k++) {
        long n = (long)b * N.g.v[vals[k]].cols;
        for (long r = 0; r < n / (k == 4 ? T : k >= 6 ? C : k == 5 ? 1 : C); r++) {
            int L = k == 4 ? T : k == 5 ? 1 : C;
            const double *row = (k == 4 ? wd : ud) + r * L;
            double *o = want + r * L;
            if (k <= 2) {   /* norms */
                double mu = 0, var = 0;
                for (int c = 0; c < L; c++) mu += row[c] / L;
                if (k == 2) mu = 0;
                for (int c = 0; c < L; c++) var += (row[c] - mu) * (row[c] - mu) / L;
                for (int c = 0; c < L; c++) {
                    double x = (row[c] - mu) / sqrt(var + 1e-3);
                    o[c] = k == 1 ? x : k == 0 ? gm[c] * x + bt[c] : gm[c] * x;
                }
            } else if (k <= 4) {   /* softmax; causal: keys j <= query i = r mod T */
                int n_open = k == 4 ? (int)(r % T) + 1 : L;
                double mx = -INFINITY, z = 0;
                for (int c = 0; c < n_open; c++) mx = fmax(mx, row[c]);
                for (int c = 0; c < n_open; c++) z += exp(row[c] - mx);
                for (int c = 0; c < L; c++) o[c] = c < n_open ? exp(row[c] - mx) / z : 0;
            } else if (k == 5) {
                o[0] = row[0] * sigm(row[0]);
            } else {   /* token r: its id's row of E, or column of Et */
                int id = N.int_data[0][r];
                for (int c = 0; c < C; c++) o[c] = k == 6 ? Ev[id * C + c] : Etv[c * V + id];
            }
        }
        sbo_nn_read_value(e, vals[k], b, got);
        double sc;
        err[k] = rel_err(n, got, want, &sc);
        cr_log_info("%s: forward relative error %.2e against the direct formula (tolerance %.0e; scale %.3g)",
                    what[k], err[k], DIRECT_TOL, sc);
        cr_expect(err[k] < DIRECT_TOL && sc > 0.1, "%s: forward error %.3g", what[k], err[k]);
        if (k == 4)   /* masked entries are exactly 0 */
            for (long r = 0; r < n / T; r++)
                for (int c = (int)(r % T) + 1; c < T; c++)
                    cr_expect(got[r * T + c] == 0, "causal softmax: row %ld key %d is %.3g, not 0", r, c, got[r * T + c]);
    }
    sbo_nn_exec_destroy(e);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 2: each op in a small graph against central differences; float32 against float64                      */

enum { NONE = 0, LOWER = 1, UPPER = 2 };

static int param_of(net *N, int role, const char *name, int m, int n) {
    return role == LOWER ? lower_param(N, name, m, n) : role == UPPER ? upper_param(N, name, m, n) : -1;
}

/* in (b x 6) -> fc0 (upper U 6x6) seen as (b, 2, 3) -> norm (gamma, beta as given) -> fc1 (lower W 6x4 + lower
 * bias) -> xent (4 classes) -> mean. */
static void norm_test(int kind, int gamma_role, int beta_role, const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 6, &s, 1.0);
    int U = upper_param(&N, "U", 6, 6);
    int g = param_of(&N, gamma_role, "gamma", 1, 3), bt = param_of(&N, beta_role, "beta", 1, 3);
    int W = lower_param(&N, "W", 6, 4), bW = lower_param(&N, "bW", 1, 4);
    int dims[2] = {2, 3};
    int h = sbo_nn_reshape(&N.g, "h", sbo_nn_linear(&N.g, "fc0", in, U, -1), 2, dims);
    int a = kind == SBO_NN_LAYERNORM ? sbo_nn_layernorm(&N.g, "norm", h, g, bt, 1e-3)
                                     : sbo_nn_rmsnorm(&N.g, "norm", h, g, 1e-3);
    int z = sbo_nn_linear(&N.g, "fc1", a, W, bW);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1));
    set_labels(&N, 4, &s);
    fd_test(&N, label, seed + 1, 0.7, NULL, 0, 0);
    f32_test(&N, label, seed + 2, 0.7);
}

Test(nn_ops, layernorm_matches_differences) {
    norm_test(SBO_NN_LAYERNORM, LOWER, UPPER, "layernorm, gamma lower, beta upper", 11);
    norm_test(SBO_NN_LAYERNORM, UPPER, LOWER, "layernorm, gamma upper, beta lower", 12);
    norm_test(SBO_NN_LAYERNORM, NONE, NONE, "layernorm, no affine", 13);
}

Test(nn_ops, rmsnorm_matches_differences) {
    norm_test(SBO_NN_RMSNORM, LOWER, NONE, "rmsnorm, gamma lower", 21);
    norm_test(SBO_NN_RMSNORM, UPPER, NONE, "rmsnorm, gamma upper", 22);
    norm_test(SBO_NN_RMSNORM, NONE, NONE, "rmsnorm, no gamma", 23);
}

/* in (b x 4) -> fc0 (upper U 4 x 18) seen as (b, 2, 3, 3) -> softmax (causal or not) -> fc1 (lower W 18x3 + lower
 * bias) -> xent -> mean */
static void softmax_test(int causal, const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int U = upper_param(&N, "U", 4, 18);
    int W = lower_param(&N, "W", 18, 3), bW = lower_param(&N, "bW", 1, 3);
    int dims[3] = {2, 3, 3};
    int h = sbo_nn_reshape(&N.g, "scores", sbo_nn_linear(&N.g, "fc0", in, U, -1), 3, dims);
    int p = sbo_nn_softmax(&N.g, "softmax", h, causal);
    int z = sbo_nn_linear(&N.g, "fc1", p, W, bW);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1));
    set_labels(&N, 3, &s);
    fd_test(&N, label, seed + 1, 1.0, NULL, 0, 0);
    f32_test(&N, label, seed + 2, 1.0);
}

Test(nn_ops, softmax_matches_differences) {
    softmax_test(0, "softmax", 31);
    softmax_test(1, "causal softmax", 32);
}

/* in (4) -> fc0 (upper 4x5) -> silu -> fc1 (lower 5x4 + lower bias) -> silu -> fc2 (upper 4x3) -> xent -> mean */
Test(nn_ops, silu_matches_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 41, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int U = upper_param(&N, "U", 4, 5), W = lower_param(&N, "W", 5, 4), bW = lower_param(&N, "bW", 1, 4);
    int V = upper_param(&N, "V", 4, 3);
    int a0 = sbo_nn_activation(&N.g, "act0", SBO_NN_SILU, sbo_nn_linear(&N.g, "fc0", in, U, -1));
    int a1 = sbo_nn_activation(&N.g, "act1", SBO_NN_SILU, sbo_nn_linear(&N.g, "fc1", a0, W, bW));
    int z = sbo_nn_linear(&N.g, "fc2", a1, V, -1);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1));
    set_labels(&N, 3, &s);
    fd_test(&N, "silu", 42, 0.7, NULL, 0, 0);
    f32_test(&N, "silu", 43, 0.7);
}

/* ids (b x 3, 5 tokens) -> embedding (table lower) -> tanh -> token-wise head -> per-token xent -> mean over the
 * b x 3 tokens. tied: the table is stored C x V and the head is linear(h, the same table) + an upper bias;
 * otherwise the table is V x C and the head an upper 4 x 5 weight. Repeated ids make the scatter accumulate. */
static void embedding_test(int tied, const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int T = 3, C = 4, Vt = 5;
    int ids = add_int_input(&N, "ids", T, Vt, &s), tgt = add_int_input(&N, "targets", T, Vt, &s);
    int E = tied ? lower_param(&N, "Et", C, Vt) : lower_param(&N, "E", Vt, C);
    int head = tied ? E : upper_param(&N, "head", C, Vt), hb = tied ? upper_param(&N, "head_bias", 1, Vt) : -1;
    int Ub = upper_param(&N, "shift", 1, C);   /* an upper parameter before the nonlinearity: J, H_xx non-zero */
    int e = sbo_nn_embedding(&N.g, "emb", ids, E, tied);
    int h = sbo_nn_activation(&N.g, "tanh", SBO_NN_TANH, sbo_nn_layernorm(&N.g, "shifted", e, -1, Ub, 1.0));
    int z = sbo_nn_linear(&N.g, "head", h, head, hb);
    cr_assert(N.g.v[z].ndim == 3 && N.g.v[z].dim[2] == Vt, "a token-wise head gives (b, T, V)");
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent_labels(&N.g, "xent", z, tgt), -1));
    int repeats = 0;
    for (int i = 1; i < N.b * T; i++) repeats += N.int_data[0][i] == N.int_data[0][0];
    cr_assert(repeats > 0, "%s: no repeated id: the scatter's accumulation is not exercised", label);
    fd_test(&N, label, seed + 1, 0.8, NULL, 0, 0);
    f32_test(&N, label, seed + 2, 0.8);
}

Test(nn_ops, embedding_matches_differences) {
    embedding_test(0, "embedding, V x C table, separate head", 51);
    embedding_test(1, "embedding, C x V table tied to the head", 52);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 3: a causal transformer block                                                                           */

/* ids (b x T) -> embedding E -> layernorm (gamma, beta upper) -> per head h: q, k, v = linear (lower C x dh) ->
 * scores = q k^T / sqrt(dh) (b, T, T) -> causal softmax -> o = p v (b, T, dh) -> linear (lower dh x C); the heads
 * add up (= concatenation then one output projection) -> residual add -> rmsnorm (gamma lower) -> head -> per-token
 * xent -> mean over the tokens. tied: E lower, stored C x V, and the head is linear(., E); otherwise E upper (V x C)
 * and a lower C x V head. Lower blocks in order: [E], Wq0, Wk0, Wv0, Wo0, Wq1, Wk1, Wv1, Wo1, rms gamma, [head].
 * The heads are separate projections because the engine has no transpose op for a (b, T, H, dh) -> (b, H, T, dh)
 * layout. causal = 0 builds the same block with a plain softmax (the leak test's power check). */
#define TB_T 3
#define TB_C 4
#define TB_V 5
#define TB_H 2
#define TB_DH 2

static int build_block(net *N, int tied, int causal, uint64_t seed, int *logits) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(N, 3);
    int ids = add_int_input(N, "ids", TB_T, TB_V, &s), tgt = add_int_input(N, "targets", TB_T, TB_V, &s);
    int E = tied ? lower_param(N, "Et", TB_C, TB_V) : upper_param(N, "E", TB_V, TB_C);
    int g1 = upper_param(N, "ln_gamma", 1, TB_C), b1 = upper_param(N, "ln_beta", 1, TB_C);
    int h0 = sbo_nn_embedding(&N->g, "emb", ids, E, tied);
    int a = sbo_nn_layernorm(&N->g, "ln", h0, g1, b1, 1e-5);
    int attn = -1;
    for (int h = 0; h < TB_H; h++) {
        char nm[4][16];
        for (int j = 0; j < 4; j++) snprintf(nm[j], sizeof nm[j], "W%c%d", "qkvo"[j], h);
        int Wq = lower_param(N, nm[0], TB_C, TB_DH), Wk = lower_param(N, nm[1], TB_C, TB_DH);
        int Wv = lower_param(N, nm[2], TB_C, TB_DH), Wo = lower_param(N, nm[3], TB_DH, TB_C);
        int q = sbo_nn_linear(&N->g, "q", a, Wq, -1), k = sbo_nn_linear(&N->g, "k", a, Wk, -1);
        int v = sbo_nn_linear(&N->g, "v", a, Wv, -1);
        int sc = sbo_nn_matmul(&N->g, "scores", q, k, 0, 1, 1 / sqrt((double)TB_DH));
        int p = sbo_nn_softmax(&N->g, "attention", sc, causal);
        int o = sbo_nn_linear(&N->g, "out", sbo_nn_matmul(&N->g, "mixed", p, v, 0, 0, 1.0), Wo, -1);
        attn = attn < 0 ? o : sbo_nn_add(&N->g, "heads", attn, o);
    }
    int g2 = lower_param(N, "rms_gamma", 1, TB_C);
    int r = sbo_nn_rmsnorm(&N->g, "rms", sbo_nn_add(&N->g, "residual", h0, attn), g2, 1e-5);
    int head = tied ? E : lower_param(N, "head", TB_C, TB_V);
    int z = sbo_nn_linear(&N->g, "logits", r, head, -1);
    sbo_nn_mark_loss(&N->g, sbo_nn_wmean(&N->g, "mean", sbo_nn_xent_labels(&N->g, "xent", z, tgt), -1));
    cr_assert(N->g.v[z].ndim == 3 && N->g.v[z].dim[1] == TB_T && N->g.v[z].dim[2] == TB_V);
    *logits = z;
    return ids;
}

/* the causal block against differences, then reduced mode (ranks per lower block) = P^T full mode */
static void block_test(int tied, const int *rank, const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    int z;
    build_block(&N, tied, 1, seed, &z);
    fd_test(&N, label, seed + 1, 0.8, NULL, 0, 0);
    reduced_test(&N, rank, label, seed + 2);
}

Test(nn_ops, transformer_block_tied_head_matches_differences) {
    /* blocks: Et, Wq0, Wk0, Wv0, Wo0, Wq1, Wk1, Wv1, Wo1, rms_gamma: project Wq0 (4x2 -> 2, its input an
     * activation), Wo0 (2 x 4 -> 1, its input the attention output, token-wise) and Wv1 (4 x 2 -> 3) */
    int rank[10] = {0, 2, 0, 0, 1, 0, 0, 3, 0, 0};
    block_test(1, rank, "transformer block, tied head (Wq0, Wo0, Wv1 projected)", 61);
}

Test(nn_ops, transformer_block_untied_head_matches_differences) {
    /* blocks: Wq0, Wk0, Wv0, Wo0, Wq1, Wk1, Wv1, Wo1, rms_gamma, head: project Wk0 and the head (4 x 5 -> 2) */
    int rank[10] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 2};
    block_test(0, rank, "transformer block, separate head, E upper (Wk0, head projected)", 62);
}

/* The causal mask: changing the token at position j changes no logit at a position i < j (bit for bit), and does
 * change those at j. Power check: the same block with a plain softmax leaks (an earlier logit moves). */
static void leak_scan(int causal, int *leaks, int *moves) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    int z, ids = build_block(&N, 1, causal, 63, &z);
    sbo_stream s;
    sbo_stream_init(&s, 631, SBO_RNG_TEST, 0, 0);
    static double x[MAXD], Y[MAXD], base[B_MAX * TB_T * TB_V], now[B_MAX * TB_T * TB_V];
    gaussian_fill(&s, 0.8, N.d, x);
    gaussian_fill(&s, 0.8, ydim(&N), Y);
    sbo_nn_exec *e = net_exec(&N, 64);
    double loss;
    run(e, &N, x, Y, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
    sbo_nn_read_value(e, z, N.b, base);
    *leaks = *moves = 0;
    for (int j = 0; j < TB_T; j++) {
        int tok[B_MAX * TB_T];
        memcpy(tok, N.int_data[0], sizeof(int) * N.b * TB_T);
        for (int smp = 0; smp < N.b; smp++) tok[smp * TB_T + j] = (tok[smp * TB_T + j] + 1) % TB_V;
        sbo_nn_set_input_int(e, ids, tok, N.b);
        run(e, &N, x, Y, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
        sbo_nn_read_value(e, z, N.b, now);
        for (int smp = 0; smp < N.b; smp++)
            for (int i = 0; i < TB_T; i++)
                for (int c = 0; c < TB_V; c++) {
                    long at = ((long)smp * TB_T + i) * TB_V + c;
                    if (i < j) *leaks += now[at] != base[at];
                    if (i == j) *moves += now[at] != base[at];
                }
    }
    sbo_nn_exec_destroy(e);
}

Test(nn_ops, causal_mask_does_not_leak) {
    int leaks, moves, leaks_open, moves_open;
    leak_scan(1, &leaks, &moves);
    leak_scan(0, &leaks_open, &moves_open);
    cr_log_info("causal block: %d earlier logits moved when a later token changed (must be 0), %d at the changed "
                "position (must be > 0); without the mask %d earlier logits moved (must be > 0)", leaks, moves,
                leaks_open);
    cr_expect_eq(leaks, 0, "the causal mask leaks: %d logits at earlier positions depend on later tokens", leaks);
    cr_expect(moves > 0, "changing a token moved no logit at its own position: the scan is vacuous");
    cr_expect(leaks_open > 0, "without the mask no earlier logit moved: the scan cannot see a leak");
}
