/* tests/test_nn_ops.c: the transformer ops of the engine (core/nn/op_norm.c, op_softmax.c, op_embed.c, SiLU in
 * op_act.c, token-wise linear in op_linear.c): each op's forward against a direct computation; each op in a tiny
 * graph with a loss against central differences in double (gradient, H[V], J[V], the tangents along x: every
 * function of the descriptor, forward, jvp, vjp and tvjp, enters), float32 against float64; a causal
 * transformer block (embedding, layernorm, two attention heads, residual, rmsnorm, a head tied to the embedding
 * or not, per-token cross-entropy) against differences, reduced = P^T full on its projected linear weights; the
 * causal mask does not leak; permute (op_permute.c) against the index formula and differences, and the block's
 * attention written the standard way (reshape, permute to (b, H, T, dh), batched matmuls, permute back) against
 * differences, reduced = P^T full, and equal to the per-head form with the weights arranged to match; the ViT
 * pieces (op_vit.c: add_bcast, a positional embedding added over the batch, and mean_tokens) against a direct
 * computation and differences (P lower and upper), float32 against float64, reduced = P^T full; token ids outside
 * [0, V) abort when loaded (the value, the op and V named), ids 0 and V - 1 load and run; softmax_gather
 * (op_mixture.c, data-mixture weights coef softmax(x)[id_s]) against its formula and differences.
 * Tolerances: tests/nn_check.h (FD_TOL 1e-7 relative, EXACT_TOL 1e-10, F32_TOL 1e-4); forward values are held to
 * DIRECT_TOL (permute: exactly).
 * Run: ctest -R test_nn_ops, or build/test_nn_ops --verbose. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
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

/* ids (b x 3) -> embedding (V = 5 rows, or a tied C x V table) -> token-wise head -> per-token xent -> mean: the
 * smallest graph with token ids, for the range checks below. */
static sbo_nn_exec *embedding_exec(net *N, int tied, int *ids_out) {
    sbo_stream s;
    sbo_stream_init(&s, 61, SBO_RNG_TEST, 0, 0);
    net_init(N, 5);
    int T = 3, C = 4, Vt = 5;
    int ids = add_int_input(N, "ids", T, Vt, &s), tgt = add_int_input(N, "targets", T, Vt, &s);
    int E = tied ? lower_param(N, "Et", C, Vt) : lower_param(N, "E", Vt, C);
    int head = tied ? E : upper_param(N, "head", C, Vt);
    int e = sbo_nn_embedding(&N->g, "emb", ids, E, tied);
    int z = sbo_nn_linear(&N->g, "head", e, head, -1);
    sbo_nn_mark_loss(&N->g, sbo_nn_wmean(&N->g, "mean", sbo_nn_xent_labels(&N->g, "xent", z, tgt), -1));
    *ids_out = ids;
    return net_exec(N, 64);
}

/* Loads bad (15 ids with one out of range at element 7) in a child process and returns its stderr; the child must
 * die by SIGABRT. */
static void expect_id_abort(int tied, int bad, const char *want[3]) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork");
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        static net N;
        int ids;
        sbo_nn_exec *e = embedding_exec(&N, tied, &ids);
        int vals[15];
        for (int i = 0; i < 15; i++) vals[i] = i % 5;
        vals[7] = bad;
        sbo_nn_set_input_int(e, ids, vals, 5);
        _exit(0);   /* not reached when the check works */
    }
    close(fds[1]);
    char buf[2048] = "";
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
    buf[got] = '\0';
    close(fds[0]);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "id %d (tied %d) was loaded without an abort; stderr: %s",
              bad, tied, buf);
    for (int k = 0; k < 3 && want[k]; k++) cr_assert(strstr(buf, want[k]), "'%s' missing in: %s", want[k], buf);
}

/* Ids outside [0, V) read and wrote outside the table (the kernels index unchecked): the executor now refuses them
 * when they are loaded, naming the value, the op and V. */
Test(nn_ops, embedding_ids_outside_the_table_abort_when_loaded) {
    const char *w5[3] = {"holds 5 at element 7 (of 15), outside [0, 5)", "op embedding 'emb' (V = 5)", "'ids'"};
    expect_id_abort(0, 5, w5);
    const char *wneg[3] = {"holds -1 at element 7", "op embedding 'emb' (V = 5)", NULL};
    expect_id_abort(0, -1, wneg);
    const char *wtied[3] = {"holds 1000000 at element 7", "(V = 5)", NULL};
    expect_id_abort(1, 1000000, wtied);   /* a C x V (tied) table: V is its column count */
}

Test(nn_ops, embedding_ids_at_the_table_edges_load_and_run) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    int ids;
    sbo_nn_exec *e = embedding_exec(&N, 0, &ids);
    int vals[15];
    for (int i = 0; i < 15; i++) vals[i] = i % 2 ? 4 : 0;   /* 0 and V - 1 only */
    sbo_nn_set_input_int(e, ids, vals, 5);
    double x[MAXD] = {0}, Y[MAXD] = {0}, loss = 0;
    sbo_stream s;
    sbo_stream_init(&s, 62, SBO_RNG_TEST, 0, 0);
    gaussian_fill(&s, 0.5, N.d, x);
    gaussian_fill(&s, 0.5, ydim(&N), Y);
    run(e, &N, x, Y, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
    cr_assert(isfinite(loss) && loss > 0, "loss %g", loss);
    sbo_nn_exec_destroy(e);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 3: a causal transformer block                                                                           */

/* ids (b x T) -> embedding E -> layernorm (gamma, beta upper) -> multi-head attention (attention_per_head or
 * attention_standard below) -> residual add -> rmsnorm (gamma lower) -> head -> per-token xent -> mean over the
 * tokens. tied: E lower, stored C x V, and the head is linear(., E); otherwise E upper (V x C) and a lower C x V
 * head. Lower blocks in order: [E], the attention's weights, rms gamma, [head]. causal = 0 builds the same block
 * with a plain softmax (the leak test's power check). standard = 1: the permute formulation (section 4). */
#define TB_T 3
#define TB_C 4
#define TB_V 5
#define TB_H 2
#define TB_DH 2

/* Attention by separate per-head projections: per head h, q, k, v = linear (lower C x dh) -> scores q k^T /
 * sqrt(dh) (b, T, T) -> causal softmax -> o = p v (b, T, dh) -> linear (lower dh x C); the heads add up (=
 * concatenation then one output projection). Lower blocks Wq0, Wk0, Wv0, Wo0, Wq1, ... */
static int attention_per_head(net *N, int a, int causal) {
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
    return attn;
}

/* The standard way (permute): Q, K, V = token-wise linear (lower C x C, C = H dh) -> reshape (b, T, H, dh) ->
 * permute to (b, H, T, dh) -> scores Q K^T / sqrt(dh) (b, H, T, T) -> causal softmax -> P V -> permute back to
 * (b, T, H, dh) -> reshape (b, T, C) -> output linear (lower C x C). Lower blocks Wq, Wk, Wv, Wo; head h's
 * Wq_h of the per-head form is columns h dh .. (h + 1) dh of Wq (the reshape splits C head major), its Wo_h the
 * same rows of Wo. */
static int attention_standard(net *N, int a, int causal) {
    int heads[3] = {TB_T, TB_H, TB_DH}, tokens[2] = {TB_T, TB_C}, qkv[3];
    for (int j = 0; j < 3; j++) {
        char nm[8];
        snprintf(nm, sizeof nm, "W%c", "qkv"[j]);
        int t = sbo_nn_linear(&N->g, nm, a, lower_param(N, nm, TB_C, TB_C), -1);              /* (b, T, C) */
        qkv[j] = sbo_nn_permute(&N->g, "by head", sbo_nn_reshape(&N->g, "split", t, 3, heads), 1, 2);
    }
    int Wo = lower_param(N, "Wo", TB_C, TB_C);
    int sc = sbo_nn_matmul(&N->g, "scores", qkv[0], qkv[1], 0, 1, 1 / sqrt((double)TB_DH));   /* (b, H, T, T) */
    int p = sbo_nn_softmax(&N->g, "attention", sc, causal);
    int o = sbo_nn_permute(&N->g, "by token", sbo_nn_matmul(&N->g, "mixed", p, qkv[2], 0, 0, 1.0), 1, 2);
    int attn = sbo_nn_linear(&N->g, "out", sbo_nn_reshape(&N->g, "merge", o, 2, tokens), Wo, -1);
    cr_assert(N->g.v[qkv[0]].ndim == 4 && N->g.v[qkv[0]].dim[1] == TB_H && N->g.v[qkv[0]].dim[2] == TB_T);
    cr_assert(N->g.v[attn].ndim == 3 && N->g.v[attn].dim[1] == TB_T && N->g.v[attn].dim[2] == TB_C);
    return attn;
}

static int build_block(net *N, int tied, int causal, int standard, uint64_t seed, int *logits) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(N, 3);
    int ids = add_int_input(N, "ids", TB_T, TB_V, &s), tgt = add_int_input(N, "targets", TB_T, TB_V, &s);
    int E = tied ? lower_param(N, "Et", TB_C, TB_V) : upper_param(N, "E", TB_V, TB_C);
    int g1 = upper_param(N, "ln_gamma", 1, TB_C), b1 = upper_param(N, "ln_beta", 1, TB_C);
    int h0 = sbo_nn_embedding(&N->g, "emb", ids, E, tied);
    int a = sbo_nn_layernorm(&N->g, "ln", h0, g1, b1, 1e-5);
    int attn = standard ? attention_standard(N, a, causal) : attention_per_head(N, a, causal);
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
    build_block(&N, tied, 1, 0, seed, &z);
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
    int z, ids = build_block(&N, 1, causal, 0, 63, &z);
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

/* ------------------------------------------------------------------------------------------------------ */
/* 4: permute (core/nn/op_permute.c) and a standard multi-head attention block                              */

/* u (b x 24) seen as (b, 2, 3, 4) and as (b, 4, 6); each swap against the index formula y[s, i'] = u[s, i] with
 * i' = i with the two axes traded; a swap undone is the identity bit for bit; a bad axis is a shape error. */
Test(nn_ops, permute_forward_matches_index_computation) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 71, SBO_RNG_TEST, 0, 0);
    net_init(&N, 4);
    int u = add_input(&N, "u", 24, &s, 1.0);
    int d4[3] = {2, 3, 4}, d3[2] = {4, 6};
    int U4 = sbo_nn_reshape(&N.g, "u4", u, 3, d4), U3 = sbo_nn_reshape(&N.g, "u3", u, 2, d3);
    int axes[4][3] = {{4, 1, 2}, {4, 2, 3}, {4, 1, 3}, {3, 1, 2}};   /* ndim, axis a, axis b */
    int out[4];
    for (int k = 0; k < 4; k++) out[k] = sbo_nn_permute(&N.g, "p", axes[k][0] == 4 ? U4 : U3, axes[k][1], axes[k][2]);
    int back = sbo_nn_permute(&N.g, "back", out[0], 2, 1);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_reshape(&N.g, "flat", back, 1, (int[]){24}), -1));
    cr_assert(N.g.v[out[0]].dim[1] == 3 && N.g.v[out[0]].dim[2] == 2 && N.g.v[out[0]].dim[3] == 4);
    cr_assert(N.g.v[out[3]].ndim == 3 && N.g.v[out[3]].dim[1] == 6 && N.g.v[out[3]].dim[2] == 4);
    sbo_nn_exec *e = net_exec(&N, 64);
    double loss;
    run(e, &N, NULL, NULL, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
    static double got[B_MAX * 64], want[B_MAX * 64];
    const double *ud = N.in_data[0];
    for (int k = 0; k < 4; k++) {
        int nd = axes[k][0], a = axes[k][1], bb = axes[k][2];
        int dim[4] = {N.b, 1, 1, 1}, od[4];
        for (int d = 1; d < nd; d++) dim[d] = nd == 4 ? d4[d - 1] : d3[d - 1];
        memcpy(od, dim, sizeof od);
        od[a] = dim[bb];
        od[bb] = dim[a];
        for (int i0 = 0; i0 < dim[0]; i0++)
            for (int i1 = 0; i1 < dim[1]; i1++)
                for (int i2 = 0; i2 < dim[2]; i2++)
                    for (int i3 = 0; i3 < dim[3]; i3++) {
                        int i[4] = {i0, i1, i2, i3}, j[4] = {i0, i1, i2, i3};
                        j[a] = i[bb];
                        j[bb] = i[a];
                        long src = ((long)(i[0] * dim[1] + i[1]) * dim[2] + i[2]) * dim[3] + i[3];
                        long dst = ((long)(j[0] * od[1] + j[1]) * od[2] + j[2]) * od[3] + j[3];
                        want[dst] = ud[src];
                    }
        sbo_nn_read_value(e, out[k], N.b, got);
        long n = (long)N.b * 24, wrong = 0;
        for (long t = 0; t < n; t++) wrong += got[t] != want[t];
        cr_log_info("permute %d-D, axes %d and %d: %ld of %ld elements differ from the index formula (must be 0)",
                    nd, a, bb, wrong, n);
        cr_expect_eq(wrong, 0, "permute %d-D axes %d, %d: %ld elements misplaced", nd, a, bb, wrong);
    }
    sbo_nn_read_value(e, back, N.b, got);
    cr_expect(memcmp(got, ud, sizeof(double) * N.b * 24) == 0, "a swap undone is not the identity");
    sbo_nn_exec_destroy(e);
    /* shape errors go to the graph's error, not an abort */
    int bad[4][2] = {{0, 1}, {1, 1}, {1, 3}, {2, 3}};   /* on the 3-D value: the batch, the same axis, no axis 3 */
    for (int k = 0; k < 4; k++) {
        sbo_nn_graph g;
        sbo_nn_graph_init(&g, B_MAX);
        int in = sbo_nn_input_nd(&g, "in", 2, d3);
        sbo_nn_permute(&g, "p", in, bad[k][0], bad[k][1]);
        cr_expect(strstr(g.err, "permute 'p'") != NULL, "permute of axes %d, %d: no shape error ('%s')", bad[k][0],
                  bad[k][1], g.err);
        if (k == 0) cr_log_info("a bad swap reports: %s", g.err);
        sbo_nn_graph_free(&g);
    }
}

/* in (b x 4) -> fc0 (upper U 4 x 24) seen as (b, 2, 3, 4) or (b, 4, 6) -> permute (axes a, b) -> tanh -> flat
 * (b x 24) -> fc1 (lower W 24 x 3 + lower bias) -> xent -> mean: the permutation decides which entry meets which
 * row of W, so a wrong index map or adjoint shows in every derivative. */
static void permute_test(int nd, int a, int bb, const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(&N, 4);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int U = upper_param(&N, "U", 4, 24);
    int W = lower_param(&N, "W", 24, 3), bW = lower_param(&N, "bW", 1, 3);
    int d4[3] = {2, 3, 4}, d3[2] = {4, 6}, flat = 24;
    int h = sbo_nn_reshape(&N.g, "h", sbo_nn_linear(&N.g, "fc0", in, U, -1), nd - 1, nd == 4 ? d4 : d3);
    int p = sbo_nn_activation(&N.g, "tanh", SBO_NN_TANH, sbo_nn_permute(&N.g, "permute", h, a, bb));
    int z = sbo_nn_linear(&N.g, "fc1", sbo_nn_reshape(&N.g, "flat", p, 1, &flat), W, bW);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1));
    set_labels(&N, 3, &s);
    fd_test(&N, label, seed + 1, 0.5, NULL, 0, 0);
    f32_test(&N, label, seed + 2, 0.5);
}

Test(nn_ops, permute_matches_differences) {
    permute_test(4, 1, 2, "permute (b, 2, 3, 4) axes 1, 2", 81);
    permute_test(4, 2, 3, "permute (b, 2, 3, 4) axes 2, 3", 82);
    permute_test(4, 3, 1, "permute (b, 2, 3, 4) axes 3, 1", 83);
    permute_test(3, 1, 2, "permute (b, 4, 6) axes 1, 2", 84);
}

/* the causal block with standard attention (tied head) against differences; reduced = P^T full */
Test(nn_ops, standard_attention_block_matches_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    int z;
    build_block(&N, 1, 1, 1, 91, &z);
    fd_test(&N, "standard attention block (permute), tied head", 92, 0.8, NULL, 0, 0);
    /* blocks: Et, Wq, Wk, Wv, Wo, rms_gamma: project Wq (4 x 4 -> 2) and Wo (4 x 4 -> 3, its input the merged
     * heads) */
    int rank[6] = {0, 2, 0, 0, 3, 0};
    reduced_test(&N, rank, "standard attention block, Wq and Wo projected", 93);
}

/* Y of the per-head block from Y of the standard one (build_block, standard = 0 and 1): head h's Wq_h, Wk_h, Wv_h are columns
 * h dh .. (h + 1) dh of Wq, Wk, Wv (the reshape splits C into (H, dh), head major) and its Wo_h the same rows of
 * Wo; Et and rms_gamma as they are. A selection of coordinates, so gradients and Hessian actions map the same way. */
static void mha_to_heads(const net *S, const net *P, const double *ys, double *yp) {
    memcpy(yp + P->lower.offset[0], ys + S->lower.offset[0], sizeof(double) * TB_C * TB_V);
    memcpy(yp + P->lower.offset[1 + 4 * TB_H], ys + S->lower.offset[5], sizeof(double) * TB_C);
    for (int h = 0; h < TB_H; h++)
        for (int j = 0; j < 3; j++) {   /* Wq, Wk, Wv: C x C -> C x dh */
            const double *src = ys + S->lower.offset[1 + j];
            double *dst = yp + P->lower.offset[1 + 4 * h + j];
            for (int i = 0; i < TB_C; i++)
                for (int c = 0; c < TB_DH; c++) dst[i * TB_DH + c] = src[i * TB_C + h * TB_DH + c];
        }
    for (int h = 0; h < TB_H; h++)   /* Wo: C x C -> dh x C (rows) */
        memcpy(yp + P->lower.offset[4 + 4 * h], ys + S->lower.offset[4] + h * TB_DH * TB_C,
               sizeof(double) * TB_DH * TB_C);
}

Test(nn_ops, standard_attention_equals_per_head_projections) {
    static net S, P;   /* static: freed by the suite's fini (free_nets) */
    int zs, zp;
    build_block(&S, 1, 1, 1, 94, &zs);
    build_block(&P, 1, 1, 0, 94, &zp);
    cr_assert(ydim(&S) == ydim(&P) && S.d == P.d);
    cr_assert(memcmp(S.int_data, P.int_data, sizeof S.int_data) == 0, "the two blocks saw different tokens");
    sbo_stream s;
    sbo_stream_init(&s, 95, SBO_RNG_TEST, 0, 0);
    long D = ydim(&S);
    int d = S.d;
    static double x[MAXD], Ys[MAXD], Yp[MAXD], Vs[MAXD], Vp[MAXD], dx[MAXD], gYm[MAXD], hYm[MAXD];
    static outs os, op, osx, opx;
    gaussian_fill(&s, 0.8, d, x);
    gaussian_fill(&s, 0.8, D, Ys);
    gaussian_fill(&s, 1.0, D, Vs);
    gaussian_fill(&s, 1.0, d, dx);
    mha_to_heads(&S, &P, Ys, Yp);
    mha_to_heads(&S, &P, Vs, Vp);
    sbo_nn_exec *es = net_exec(&S, 64), *ep = net_exec(&P, 64);
    run_outs(es, &S, x, Ys, NULL, Vs, NULL, &os);
    run_outs(ep, &P, x, Yp, NULL, Vp, NULL, &op);
    run_outs(es, &S, x, Ys, dx, NULL, NULL, &osx);
    run_outs(ep, &P, x, Yp, dx, NULL, NULL, &opx);
    static double zsv[B_MAX * TB_T * TB_V], zpv[B_MAX * TB_T * TB_V];
    sbo_nn_read_value(es, zs, S.b, zsv);
    sbo_nn_read_value(ep, zp, P.b, zpv);
    mha_to_heads(&S, &P, os.gY, gYm);
    mha_to_heads(&S, &P, os.hY, hYm);
    double s1, s2, s3, s4;
    double el = rel_err((long)S.b * TB_T * TB_V, zsv, zpv, &s1);
    double eg = fmax(rel_err(D, gYm, op.gY, &s2), rel_err(d, os.gx, op.gx, NULL));
    double eH = rel_err(D, hYm, op.hY, &s3), eJ = rel_err(d, os.hx, op.hx, &s4);
    mha_to_heads(&S, &P, osx.hY, hYm);
    double ex = fmax(rel_err(D, hYm, opx.hY, NULL), rel_err(d, osx.hx, opx.hx, NULL));
    double eloss = fabs(os.loss - op.loss) / fabs(op.loss);
    cr_log_info("standard (permute) vs per-head attention, float64: logits %.2e, loss %.2e, gradients %.2e, H[V] "
                "%.2e, J[V] %.2e, along dx %.2e (tolerance %.0e)", el, eloss, eg, eH, eJ, ex, EXACT_TOL);
    cr_expect(el < EXACT_TOL && eloss < EXACT_TOL, "logits or loss differ: %.3g, %.3g", el, eloss);
    cr_expect(eg < EXACT_TOL, "gradients differ by %.3g", eg);
    cr_expect(eH < EXACT_TOL && eJ < EXACT_TOL && ex < EXACT_TOL, "Hessian actions differ: %.3g %.3g %.3g", eH, eJ,
              ex);
    cr_expect(s1 > 1e-3 && s2 > 1e-3 && s3 > 1e-3 && s4 > 1e-3, "vacuous comparison (norms %.3g %.3g %.3g %.3g)", s1,
              s2, s3, s4);
    sbo_nn_exec_destroy(es);
    sbo_nn_exec_destroy(ep);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 5: the ViT pieces (core/nn/op_vit.c): add_bcast (a learned positional embedding) and mean_tokens        */

/* u (b x 12) seen as (b, 3, 4) and (b, 3, 2, 2): add_bcast with P (3 x 4, lower) against u[s, i, c] + P[i, c];
 * mean_tokens of both against (1/3) sum_i u[s, i, ...]; bad shapes are errors in g->err. */
Test(nn_ops, vit_forward_matches_direct_computation) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 101, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int T = 3, C = 4, b = N.b;
    int u = add_input(&N, "u", T * C, &s, 1.5);
    int P = lower_param(&N, "P", T, C);
    int d3[2] = {T, C}, d4[3] = {T, 2, 2};
    int U3 = sbo_nn_reshape(&N.g, "u3", u, 2, d3), U4 = sbo_nn_reshape(&N.g, "u4", u, 3, d4);
    int pe = sbo_nn_add_bcast(&N.g, "pos", U3, P);
    int m3 = sbo_nn_mean_tokens(&N.g, "pool", U3), m4 = sbo_nn_mean_tokens(&N.g, "pool4", U4);
    sbo_nn_mark_loss(&N.g, sbo_nn_l2(&N.g, "l2", P, 1.0));
    cr_assert(N.g.v[pe].ndim == 3 && N.g.v[pe].dim[1] == T && N.g.v[pe].dim[2] == C);
    cr_assert(N.g.v[m3].ndim == 2 && N.g.v[m3].dim[1] == C && N.g.v[m3].cols == C);
    cr_assert(N.g.v[m4].ndim == 3 && N.g.v[m4].dim[1] == 2 && N.g.v[m4].dim[2] == 2);
    static double Y[MAXD], got[B_MAX * 64], want[B_MAX * 64];
    gaussian_fill(&s, 1.0, ydim(&N), Y);
    sbo_nn_exec *e = net_exec(&N, 64);
    double loss;
    run(e, &N, NULL, Y, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
    const double *ud = N.in_data[0], *Pv = Y + N.lower.offset[0];
    const char *what[2] = {"add_bcast", "mean_tokens"};
    for (int k = 0; k < 2; k++) {
        long n = (long)b * (k == 0 ? T * C : C);
        for (int r = 0; r < b; r++)
            for (int c = 0; c < C; c++) {
                if (k == 0)
                    for (int i = 0; i < T; i++) want[(r * T + i) * C + c] = ud[(r * T + i) * C + c] + Pv[i * C + c];
                else {
                    double sum = 0;
                    for (int i = 0; i < T; i++) sum += ud[(r * T + i) * C + c];
                    want[r * C + c] = sum / T;
                }
            }
        for (int pass = 0; pass < (k == 1 ? 2 : 1); pass++) {   /* mean_tokens of (b, 3, 4) and of (b, 3, 2, 2) */
            sbo_nn_read_value(e, k == 0 ? pe : pass ? m4 : m3, b, got);
            double sc, err = rel_err(n, got, want, &sc);
            cr_log_info("%s%s: forward relative error %.2e against the direct formula (tolerance %.0e; scale %.3g)",
                        what[k], pass ? " (4-D input)" : "", err, DIRECT_TOL, sc);
            cr_expect(err < DIRECT_TOL && sc > 0.1, "%s: forward error %.3g", what[k], err);
        }
    }
    sbo_nn_exec_destroy(e);
    /* shape errors go to the graph's error, not an abort */
    for (int k = 0; k < 4; k++) {
        sbo_nn_graph g;
        sbo_nn_graph_init(&g, B_MAX);
        int flat = sbo_nn_input(&g, "flat", T * C), in = sbo_nn_input_nd(&g, "in", 2, d3);
        int Pw = sbo_nn_param_upper(&g, "P", k == 0 ? C : T, k == 0 ? T : C, 0);
        const char *want_err = k < 2 ? "add_bcast 'op'" : "mean_tokens 'op'";
        if (k < 2) sbo_nn_add_bcast(&g, "op", k == 0 ? in : flat, Pw);   /* P transposed; u not (b, T, C) */
        else sbo_nn_mean_tokens(&g, "op", k == 2 ? flat : Pw);           /* no token axis; not batched */
        cr_expect(strstr(g.err, want_err) != NULL, "case %d: no shape error ('%s')", k, g.err);
        cr_log_info("a bad shape reports: %s", g.err);
        sbo_nn_graph_free(&g);
    }
}

/* in (b x 4) -> fc0 (upper U 4 x 12) seen as (b, 3, 4) -> add_bcast (P 3 x 4, lower or upper) -> tanh ->
 * mean_tokens (b, 4) -> fc1 (lower W 4 x 3 + lower bias) -> xent -> mean: P's gradient sums over the batch, its
 * second derivatives pass through tanh, and the pooled row decides the logits. */
static void vit_test(int p_role, const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int U = upper_param(&N, "U", 4, 12);
    int P = param_of(&N, p_role, "P", 3, 4);
    int W = lower_param(&N, "W", 4, 3), bW = lower_param(&N, "bW", 1, 3);
    int d3[2] = {3, 4};
    int h = sbo_nn_reshape(&N.g, "h", sbo_nn_linear(&N.g, "fc0", in, U, -1), 2, d3);
    int a = sbo_nn_activation(&N.g, "tanh", SBO_NN_TANH, sbo_nn_add_bcast(&N.g, "pos", h, P));
    int z = sbo_nn_linear(&N.g, "fc1", sbo_nn_mean_tokens(&N.g, "pool", a), W, bW);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1));
    set_labels(&N, 3, &s);
    fd_test(&N, label, seed + 1, 0.7, NULL, 0, 0);
    f32_test(&N, label, seed + 2, 0.7);
    if (p_role == LOWER) {   /* W projected (4 -> 2), P and the bias full: reduced = P^T full */
        int rank[3] = {0, 2, 0};
        reduced_test(&N, rank, label, seed + 3);
    }
}

Test(nn_ops, vit_pieces_match_differences) {
    vit_test(LOWER, "add_bcast (P lower) + mean_tokens", 111);
    vit_test(UPPER, "add_bcast (P upper) + mean_tokens", 112);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 6: softmax_gather (core/nn/op_mixture.c): data-mixture weights coef softmax(x)[id_s]                    */

/* in (b x 4) -> fc (lower W 4 x 3 + lower bias) -> tanh -> fc2 (lower 3 x 3) -> xent (b x 1) -> wmean with the
 * weights K softmax(x)[id_s], x upper 1 x K (K = 4; ids 0, 2, 1, 2, 3: a repeated domain). The loss is
 * sum_k softmax(x)_k (weighted mean loss of domain k): its gradient in x, J[V] (softmax' times the gradient of
 * the per-sample losses), H_xx[dx] (the second derivative of the softmax) and the cross term along dx all enter. */
static void smgather_net(net *N, uint64_t seed, int *w_out) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(N, 5);
    int K = 4;
    int in = add_input(N, "in", 4, &s, 1.0);
    int W = lower_param(N, "W", 4, 3), bW = lower_param(N, "bW", 1, 3), W2 = lower_param(N, "W2", 3, 3);
    int xp = upper_param(N, "x", 1, K);
    int h = sbo_nn_activation(&N->g, "tanh", SBO_NN_TANH, sbo_nn_linear(&N->g, "fc", in, W, bW));
    int ce = sbo_nn_xent(&N->g, "ce", sbo_nn_linear(&N->g, "fc2", h, W2, -1));
    int w = sbo_nn_softmax_gather(&N->g, "weights", xp, K);
    sbo_nn_mark_loss(&N->g, sbo_nn_wmean(&N->g, "mixture", ce, w));
    set_labels(N, 3, &s);
    int ids[5] = {0, 2, 1, 2, 3};
    memcpy(N->ids, ids, sizeof ids);
    N->has_ids = 1;
    *w_out = w;
}

Test(nn_ops, softmax_gather_forward_matches_direct_computation) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    int w;
    smgather_net(&N, 121, &w);
    static double x[MAXD], Y[MAXD], got[B_MAX];
    sbo_stream s;
    sbo_stream_init(&s, 122, SBO_RNG_TEST, 0, 0);
    gaussian_fill(&s, 2.0, N.d, x);
    gaussian_fill(&s, 1.0, ydim(&N), Y);
    x[1] += 700;   /* a large logit: the max subtraction keeps the softmax finite */
    for (int prec = 64; prec >= 32; prec -= 32) {
        sbo_nn_exec *e = net_exec(&N, prec);
        double loss;
        run(e, &N, x, Y, NULL, NULL, NULL, NULL, &loss, NULL, NULL, NULL, NULL);
        sbo_nn_read_value(e, w, N.b, got);
        double xr[4], mx = -INFINITY, Z = 0, err = 0;   /* x as the engine rounds it */
        for (int k = 0; k < 4; k++) xr[k] = prec == 64 ? x[k] : (double)(float)x[k];
        for (int k = 0; k < 4; k++) mx = fmax(mx, xr[k]);
        for (int k = 0; k < 4; k++) Z += exp(xr[k] - mx);
        for (int i = 0; i < N.b; i++) err = fmax(err, fabs(got[i] - 4 * exp(xr[N.ids[i]] - mx) / Z));
        double tol = prec == 64 ? DIRECT_TOL : 1e-6;
        cr_log_info("softmax_gather float%d: max abs error %.2e against 4 softmax(x)[id] (tolerance %.0e)", prec, err,
                    tol);
        cr_expect(err < tol && isfinite(loss), "softmax_gather float%d: forward error %.3g", prec, err);
        sbo_nn_exec_destroy(e);
    }
    /* a parameter that is not 1 x K is a shape error */
    sbo_nn_graph g;
    sbo_nn_graph_init(&g, B_MAX);
    sbo_nn_softmax_gather(&g, "op", sbo_nn_param_upper(&g, "x", 2, 3, 0), 1.0);
    cr_expect(strstr(g.err, "softmax_gather 'op'") != NULL, "no shape error ('%s')", g.err);
    sbo_nn_graph_free(&g);
}

Test(nn_ops, softmax_gather_matches_differences) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    int w;
    smgather_net(&N, 131, &w);
    fd_test(&N, "softmax_gather mixture weights", 132, 0.8, NULL, 0, 0);
    f32_test(&N, "softmax_gather mixture weights", 133, 0.8);
    int rank[3] = {2, 0, 0};   /* W projected (4 -> 2): reduced = P^T full with the weights in the loss */
    reduced_test(&N, rank, "softmax_gather mixture weights, W projected", 134);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 7: mul (core/nn/op_act.c, bodies in kernels_mul.h): a SwiGLU feed-forward                                */

/* in (b x 4) -> g = in W_gate (lower 4 x 6), u = in W_up (upper 4 x 6, so J[V] runs through the product)
 * -> silu(g) * u -> W_down (lower 6 x 3) -> xent -> mean; the product's four functions against differences,
 * float32 against float64, and reduced = P^T full with W_gate and W_down projected. */
static void swiglu_test(const char *label, uint64_t seed) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(&N, 5);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int Wg = lower_param(&N, "W_gate", 4, 6), Wu = upper_param(&N, "W_up", 4, 6), Wd = lower_param(&N, "W_down", 6, 3);
    int g = sbo_nn_activation(&N.g, "silu", SBO_NN_SILU, sbo_nn_linear(&N.g, "gate", in, Wg, -1));
    int h = sbo_nn_mul(&N.g, "gated", g, sbo_nn_linear(&N.g, "up", in, Wu, -1));
    int z = sbo_nn_linear(&N.g, "down", h, Wd, -1);
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", z), -1));
    set_labels(&N, 3, &s);
    fd_test(&N, label, seed + 1, 0.7, NULL, 0, 0);
    f32_test(&N, label, seed + 2, 0.7);
    int rank[2] = {2, 3};
    reduced_test(&N, rank, label, seed + 3);
}

Test(nn_ops, mul_in_a_swiglu_block_matches_differences) { swiglu_test("SwiGLU (mul)", 131); }

/* u * u (both inputs one value: the adjoints add, 2 u y_bar) against differences, and a shape error. */
Test(nn_ops, mul_forward_and_a_squared_value) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    sbo_stream s;
    sbo_stream_init(&s, 141, SBO_RNG_TEST, 0, 0);
    net_init(&N, 3);
    int in = add_input(&N, "in", 4, &s, 1.0);
    int W = lower_param(&N, "W", 4, 5);
    int u = sbo_nn_linear(&N.g, "u", in, W, -1);
    int sq = sbo_nn_mul(&N.g, "u*u", u, u);
    int tl = sbo_nn_activation(&N.g, "tanh", SBO_NN_TANH, sq);
    int W2 = upper_param(&N, "W2", 5, 3);   /* upper: the x-side derivatives are not vacuous */
    sbo_nn_mark_loss(&N.g, sbo_nn_wmean(&N.g, "mean", sbo_nn_xent(&N.g, "xent", sbo_nn_linear(&N.g, "z", tl, W2, -1)), -1));
    set_labels(&N, 3, &s);
    fd_test(&N, "mul u * u", 142, 0.7, NULL, 0, 0);
    sbo_nn_graph g;
    sbo_nn_graph_init(&g, 2);
    int a = sbo_nn_input(&g, "a", 3), b = sbo_nn_input(&g, "b", 4);
    sbo_nn_mul(&g, "bad", a, b);
    cr_expect(strstr(g.err, "differ in shape") != NULL, "mul of 3 and 4 columns: no shape error ('%s')", g.err);
    sbo_nn_graph_free(&g);
}
