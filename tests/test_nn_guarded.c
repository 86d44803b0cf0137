/* tests/test_nn_guarded.c: the executor reaches its buffers only through its backend (core/nn/backend.h), the
 * property a device backend needs (its memory is not host-addressable). The proof runs on the host: a "guarded"
 * backend wraps the CPU backend, but its memory comes from mmap and is PROT_NONE at all times except during a call
 * into one of its members (each member unprotects every live allocation, calls the CPU member, protects them
 * again). Any host dereference of engine memory outside the backend then dies of SIGSEGV, and the test with it.
 * The CPU backend it wraps is the cpu-grid one (core/nn/backend.h): every kernel runs one index per thread of an
 * emulated grid in a scrambled order, as on a device, so the comparison with the plain CPU backend also holds every
 * kernel body of core/nn/kernels.h to its contract (any split of its range gives the same bits).
 * Nothing is exempt: the ops read and write scalars through the backend too (core/nn/typed.h nn_get1/nn_set1).
 *   - power check: a host read and a host write of engine memory outside the backend kill a forked child with
 *     SIGSEGV, while the same child without them exits cleanly;
 *   - whole small networks (an MLP with a SwiGLU gate and projected lower blocks; a causal transformer block:
 *     embedding with a tied head, layernorm, multi-head attention through permute, causal softmax, gelu, rmsnorm,
 *     softmax-gather mixture weights, L2), float32 and float64: every oracle of core/nn/nn.h (loss, gradients,
 *     H[V], J[V], the reduced forms, the full cross term on projected blocks, a value read back, the activation
 *     saving after a reservation) is bit-identical to the same graph on the plain CPU backend;
 *   - real tasks (data_cleaning mlp, hyper_rep, vit_reweight on a slice of Fashion-MNIST; skipped without it)
 *     created on the guarded backend through sbo_nn_set_default_backend: every task oracle, fused and separate,
 *     full and reduced, and the exact evaluation, bit-identical to the CPU backend;
 *   - the arenas of a device backend count as device bytes, apart from the host bytes;
 *   - suite device (runs only where a GPU exists, skips with the reason elsewhere): the same networks and tasks on
 *     the CUDA backend (core/nn/backend_cuda.h) against the CPU, to float tolerance (cuBLAS sums in another order;
 *     the device's float32 tanh and exp are tanhf and expf, core/nn/kernels_act.h).
 * Run: ctest -R test_nn_guarded, or build/test_nn_guarded --verbose. */
#define _GNU_SOURCE 1   /* mmap MAP_ANONYMOUS, open_memstream */
#include <criterion/criterion.h>
#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tests/nn_check.h"      /* nets, run, frames (Haar P), gaussian_fill */
#pragma GCC diagnostic pop
#include "core/nn/op.h"          /* the op table and the backend table the guard wraps */
#include "core/sbo_arena.h"      /* device and host bytes */
#include "core/sbo_cuda.h"       /* sbo_cuda_available: the device suite */
#include "core/nn/backend_cuda.h" /* sbo_nn_backend_cuda */
#include "runners/sbo_run.h"     /* sbo_run_resolve_config */
#include "tasks/neural.h"        /* sbo_neural_evaluate */

static void g_protect(int prot);
static int g_inside(const void *addr);

/* Any fault is fatal: the handler prints the faulting address and the call stack (addresses resolve with
 * addr2line -f -e build/test_nn_guarded) and returns with the default action restored, so the access repeats and
 * kills the process with SIGSEGV. */
static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &dfl, NULL);
    char msg[160];
    int n = snprintf(msg, sizeof msg, "test_nn_guarded: signal %d at address %p (%s); stack:\n", sig, si->si_addr,
                     g_inside(si->si_addr) ? "engine memory, outside the backend" : "not engine memory");
    if (write(2, msg, (size_t)n) < 0) _exit(2);
    void *frames[32];
    backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
}

static void install_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
}

TestSuite(guarded, .init = install_handler, .fini = free_nets);

// --- the guarded backend -------------------------------------------------------------------------------------

#define G_MAX 256   /* live allocations (the executors' arenas: a handful each) */

static struct { void *p; size_t len; } g_live[G_MAX];
static int g_n, g_depth;
static long g_members;   /* member calls so far (the wrapper is really in use) */
static const sbo_nn_backend *g_cpu;

static int g_inside(const void *addr) {
    const char *a = addr;
    for (int i = 0; i < g_n; i++)
        if (a >= (const char *)g_live[i].p && a < (const char *)g_live[i].p + g_live[i].len) return 1;
    return 0;
}

static void g_protect(int prot) {
    for (int i = 0; i < g_n; i++)
        if (mprotect(g_live[i].p, g_live[i].len, prot)) {
            perror("test_nn_guarded: mprotect");
            abort();
        }
}
/* Nested member calls (none today) keep the memory open until the outermost returns. */
static void g_enter(void) {
    g_members++;
    if (g_depth++ == 0) g_protect(PROT_READ | PROT_WRITE);
}
static void g_leave(void) {
    if (--g_depth == 0) g_protect(PROT_NONE);
}

static void *g_alloc(size_t bytes) {
    g_enter();
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (bytes ? bytes + page - 1 : page) / page * page;
    void *p = g_n < G_MAX ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    if (p == MAP_FAILED) p = NULL;
    else g_live[g_n].p = p, g_live[g_n++].len = len;
    g_leave();
    return p;
}

static void g_release(void *p) {
    g_enter();
    for (int i = 0; i < g_n; i++)
        if (g_live[i].p == p) {
            munmap(p, g_live[i].len);
            g_live[i] = g_live[--g_n];
            break;
        }
    g_leave();
}

/* Every other member: open, the CPU member, close. */
#define G_VOID(name, params, args) \
    static void g_##name params { g_enter(); g_cpu->name args; g_leave(); }
#define G_RET(type, name, params, args) \
    static type g_##name params { g_enter(); type r_ = g_cpu->name args; g_leave(); return r_; }
G_VOID(sgemm, (int tA, int tB, int M, int N, int K, float al, const float *A, int lda, const float *B, int ldb,
               float be, float *C, int ldc), (tA, tB, M, N, K, al, A, lda, B, ldb, be, C, ldc))
G_VOID(dgemm, (int tA, int tB, int M, int N, int K, double al, const double *A, int lda, const double *B, int ldb,
               double be, double *C, int ldc), (tA, tB, M, N, K, al, A, lda, B, ldb, be, C, ldc))
G_VOID(sgemm_batched, (int tA, int tB, int M, int N, int K, float al, const float *A, int lda, long sA,
                       const float *B, int ldb, long sB, float be, float *C, int ldc, long sC, int count),
       (tA, tB, M, N, K, al, A, lda, sA, B, ldb, sB, be, C, ldc, sC, count))
G_VOID(dgemm_batched, (int tA, int tB, int M, int N, int K, double al, const double *A, int lda, long sA,
                       const double *B, int ldb, long sB, double be, double *C, int ldc, long sC, int count),
       (tA, tB, M, N, K, al, A, lda, sA, B, ldb, sB, be, C, ldc, sC, count))
G_VOID(run, (long n, long work, int kernel, const void *arg), (n, work, kernel, arg))
G_RET(double, sdot, (long n, const float *a, const float *b), (n, a, b))
G_RET(double, ddot, (long n, const double *a, const double *b), (n, a, b))
G_VOID(put, (void *dst, const void *src, size_t bytes), (dst, src, bytes))
G_VOID(get, (void *dst, const void *src, size_t bytes), (dst, src, bytes))
G_VOID(zero, (void *p, size_t bytes), (p, bytes))
G_VOID(copy, (void *dst, const void *src, size_t bytes), (dst, src, bytes))
G_RET(int, to_f32, (float *dst, const double *src, long n), (dst, src, n))
G_RET(int, to_f64, (double *dst, const double *src, long n), (dst, src, n))
G_VOID(put_f32, (float *dst, const double *src, long n), (dst, src, n))
G_VOID(put_f64, (double *dst, const double *src, long n), (dst, src, n))
G_VOID(from_f32, (double *dst, const float *src, long n), (dst, src, n))
G_VOID(from_f64, (double *dst, const double *src, long n), (dst, src, n))
G_RET(int, same_f32, (const float *dst, const double *src, long n), (dst, src, n))
G_RET(int, same_f64, (const double *dst, const double *src, long n), (dst, src, n))

/* device = 1: like a GPU backend, its arenas count as device bytes */
static const sbo_nn_backend g_backend = {
    .name = "guarded (mprotect around the CPU backend)", .device = 1,
    .sgemm = g_sgemm, .dgemm = g_dgemm, .sgemm_batched = g_sgemm_batched, .dgemm_batched = g_dgemm_batched,
    .run = g_run, .sdot = g_sdot, .ddot = g_ddot, .alloc = g_alloc, .release = g_release, .put = g_put,
    .get = g_get, .zero = g_zero, .copy = g_copy, .to_f32 = g_to_f32, .to_f64 = g_to_f64, .put_f32 = g_put_f32,
    .put_f64 = g_put_f64, .from_f32 = g_from_f32, .from_f64 = g_from_f64, .same_f32 = g_same_f32,
    .same_f64 = g_same_f64};

static const sbo_nn_backend *guarded(void) {
    g_cpu = sbo_nn_backend_cpu_grid();   /* the kernels as a device runs them: one index per emulated thread */
    return &g_backend;
}

// --- small networks ------------------------------------------------------------------------------------------

/* An MLP: in (6) -> fc0 (upper 6x5) -> tanh -> fc1 (lower 5x6 + lower bias) -> relu -> times silu(gate (upper
 * 6x6)) -> fc2 (lower 6x4) -> xent -> mean, + L2 on fc1. Lower blocks W1, b1, W2; ranks project W1 and W2. */
static int build_mlp(net *N, uint64_t seed) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(N, 5);
    int in = add_input(N, "in", 6, &s, 1.0);
    int U = upper_param(N, "U", 6, 5);
    int W1 = lower_param(N, "W1", 5, 6), b1 = lower_param(N, "b1", 1, 6), W2 = lower_param(N, "W2", 6, 4);
    int h = sbo_nn_activation(&N->g, "tanh", SBO_NN_TANH, sbo_nn_linear(&N->g, "fc0", in, U, -1));
    h = sbo_nn_activation(&N->g, "relu", SBO_NN_RELU, sbo_nn_linear(&N->g, "fc1", h, W1, b1));
    int gate = sbo_nn_linear(&N->g, "gate", h, upper_param(N, "G", 6, 6), -1);
    h = sbo_nn_mul(&N->g, "gated", sbo_nn_activation(&N->g, "silu", SBO_NN_SILU, gate), h);   /* a SwiGLU gate */
    int z = sbo_nn_linear(&N->g, "fc2", h, W2, -1);
    sbo_nn_mark_loss(&N->g, sbo_nn_wmean(&N->g, "mean", sbo_nn_xent(&N->g, "xent", z), -1));
    sbo_nn_mark_loss(&N->g, sbo_nn_l2(&N->g, "L2", W1, 0.1));
    set_labels(N, 4, &s);
    return z;
}

/* A causal transformer block of a language model on T = 3 tokens, width C = 4, 2 heads, vocabulary V = 5:
 * ids -> embedding (tied: lower C x V, also the head) + positions (upper T x C) -> layernorm (upper gamma, beta)
 * -> Q, K, V (lower C x C each) -> split heads, permute -> scores -> causal softmax -> mix -> permute back, merge
 * -> output (lower C x C) -> residual -> rmsnorm (lower gamma) -> gelu feed-forward (lower C x 6, 6 x C) ->
 * residual -> head (E) -> per-token xent -> mean over the tokens -> wmean with mixture weights softmax(x)[domain]
 * (x upper, K = 2 domains) + L2 on the feed-forward. Lower blocks: E, Wq, Wk, Wv, Wo, rms gamma, F1, F2. */
#define GB_T 3
#define GB_C 4
#define GB_V 5
static int build_block(net *N, uint64_t seed) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    net_init(N, 4);
    sbo_nn_graph *g = &N->g;
    int ids = add_int_input(N, "tokens", GB_T, GB_V, &s), tgt = add_int_input(N, "targets", GB_T, GB_V, &s);
    int E = lower_param(N, "E", GB_C, GB_V);
    int h = sbo_nn_embedding(g, "embed", ids, E, 1);
    h = sbo_nn_add_bcast(g, "positions", h, upper_param(N, "pos", GB_T, GB_C));
    int a = sbo_nn_layernorm(g, "ln", h, upper_param(N, "ln_g", 1, GB_C), upper_param(N, "ln_b", 1, GB_C), 1e-5);
    int heads[3] = {GB_T, 2, GB_C / 2}, tokens[2] = {GB_T, GB_C}, qkv[3];
    for (int j = 0; j < 3; j++) {
        char nm[4] = {'W', "qkv"[j], 0, 0};
        int t = sbo_nn_linear(g, nm, a, lower_param(N, nm, GB_C, GB_C), -1);
        qkv[j] = sbo_nn_permute(g, "by head", sbo_nn_reshape(g, "split", t, 3, heads), 1, 2);
    }
    int p = sbo_nn_softmax(g, "attention", sbo_nn_matmul(g, "scores", qkv[0], qkv[1], 0, 1, 1 / sqrt(2.0)), 1);
    int o = sbo_nn_permute(g, "by token", sbo_nn_matmul(g, "mixed", p, qkv[2], 0, 0, 1.0), 1, 2);
    o = sbo_nn_linear(g, "out", sbo_nn_reshape(g, "merge", o, 2, tokens), lower_param(N, "Wo", GB_C, GB_C), -1);
    h = sbo_nn_add(g, "residual", h, o);
    a = sbo_nn_rmsnorm(g, "rms", h, lower_param(N, "rms_g", 1, GB_C), 1e-5);
    int F1 = lower_param(N, "F1", GB_C, 6);
    int f = sbo_nn_activation(g, "gelu", SBO_NN_GELU, sbo_nn_linear(g, "ffn1", a, F1, -1));
    h = sbo_nn_add(g, "residual", h, sbo_nn_linear(g, "ffn2", f, lower_param(N, "F2", 6, GB_C), -1));
    int z = sbo_nn_linear(g, "logits", h, E, -1);
    int seq = sbo_nn_mean_tokens(g, "sequence loss", sbo_nn_xent_labels(g, "xent", z, tgt));
    int w = sbo_nn_softmax_gather(g, "mixture", upper_param(N, "x", 1, 2), 2);
    sbo_nn_mark_loss(g, sbo_nn_wmean(g, "mixture loss", seq, w));
    sbo_nn_mark_loss(g, sbo_nn_l2(g, "L2", F1, 0.05));
    for (int i = 0; i < N->b; i++) N->ids[i] = i % 2;
    N->has_ids = 1;
    return z;
}

// --- every executor oracle, recorded ------------------------------------------------------------------------

typedef struct {
    double v[1 << 15];
    long n;
} trace;

static void tr_add(trace *t, const double *a, long n) {
    cr_assert(t->n + n <= (long)(sizeof t->v / sizeof t->v[0]));
    memcpy(t->v + t->n, a, sizeof(double) * (size_t)n);
    t->n += n;
}

static sbo_nn_exec *exec_on(const sbo_nn_backend *be, const net *N, int precision) {
    const sbo_nn_backend *old = sbo_nn_set_default_backend(be);   /* net_exec creates on the default backend */
    sbo_nn_exec *e = net_exec(N, precision);
    sbo_nn_set_default_backend(old);
    return e;
}

/* The oracles of core/nn/nn.h on net N at a fixed random point, on backend be, into tr: full mode (loss, both
 * gradients, sbo_nn_gradient, a value read back, H[V] and J[V] with tangents on x, Y and both), reduced mode with
 * frames of the given ranks (P^T gradients, reduced H and J, the full cross term J[Z] on projected blocks), and on a
 * second executor reserved for those ranks (the activation saving) the reduced oracles again. */
static void oracles(const sbo_nn_backend *be, const net *N, int out, const int *rank, int precision, trace *tr) {
    static double x[MAXD], Y[MAXD], V[MAXD], dx[MAXD], X[MAXD], Z[MAXD], o1[MAXD], o2[MAXD], o3[MAXD];
    static double val[B_MAX * 64];
    sbo_stream s;
    sbo_stream_init(&s, 4242, SBO_RNG_TEST, 0, 0);
    int d = N->d;
    long D = ydim(N);
    gaussian_fill(&s, 0.5, d, x);
    gaussian_fill(&s, 0.5, D, Y);
    gaussian_fill(&s, 1.0, D, V);
    gaussian_fill(&s, 1.0, d, dx);
    gaussian_fill(&s, 1.0, D, Z);
    frames F;
    draw_frames(N, rank, &s, &F);
    long R = sbo_layout_total(&F.red);
    gaussian_fill(&s, 1.0, R, X);
    sbo_nn_exec *e = exec_on(be, N, precision);
    double loss = 0;
    /* full mode */
    sbo_nn_lin l = {.b = N->b, .want_lower = 1, .want_upper = 1, .loss = &loss, .grad_x = o1, .grad_Y = o2};
    sbo_nn_linearize(e, x, Y, &l);
    tr_add(tr, &loss, 1), tr_add(tr, o1, d), tr_add(tr, o2, D);
    sbo_nn_gradient(e, o1, o2);
    tr_add(tr, o1, d), tr_add(tr, o2, D);
    long nval = (long)N->b * N->g.v[out].cols;
    cr_assert(nval <= (long)(sizeof val / sizeof val[0]));
    sbo_nn_read_value(e, out, N->b, val);
    tr_add(tr, val, nval);
    const double *tdx[3] = {dx, NULL, dx}, *tdY[3] = {V, V, NULL};
    for (int k = 0; k < 3; k++) {
        sbo_nn_tan t = {.dx = tdx[k], .dY = tdY[k], .hess_x = o1, .hess_Y = o2};
        sbo_nn_tangent(e, x, Y, &t);
        tr_add(tr, o1, d), tr_add(tr, o2, D);
    }
    /* reduced mode, then the full cross term on the projected blocks */
    sbo_nn_lin lr = {.b = N->b, .P = (const double *const *)F.P, .rank = F.rank, .want_lower = 1, .want_upper = 1,
                     .loss = &loss, .grad_x = o1, .grad_Y = o3};
    sbo_nn_linearize(e, x, Y, &lr);
    tr_add(tr, &loss, 1), tr_add(tr, o1, d), tr_add(tr, o3, R);
    sbo_nn_tan tr1 = {.dx = dx, .dY = X, .hess_x = o1, .hess_Y = o3};
    sbo_nn_tangent(e, x, Y, &tr1);
    tr_add(tr, o1, d), tr_add(tr, o3, R);
    sbo_nn_tan tf = {.dY = Z, .dY_full = 1, .hess_x = o1};
    sbo_nn_tangent(e, x, Y, &tf);
    tr_add(tr, o1, d);
    sbo_nn_gradient(e, o1, o3);
    tr_add(tr, o1, d), tr_add(tr, o3, R);
    sbo_nn_exec_destroy(e);
    /* reserved for the ranks: the inputs of projected layers kept as P^T a only */
    e = exec_on(be, N, precision);
    cr_assert_eq(sbo_nn_exec_reserve(e, rank, 0, 0), 0);
    sbo_nn_lin lq = {.b = N->b, .P = (const double *const *)F.P, .rank = F.rank, .want_lower = 1, .want_upper = 1,
                     .loss = &loss, .grad_Y = o3};
    sbo_nn_linearize(e, x, Y, &lq);
    tr_add(tr, &loss, 1), tr_add(tr, o3, R);
    sbo_nn_tan tq = {.dY = X, .hess_x = o1, .hess_Y = o3};
    sbo_nn_tangent(e, x, Y, &tq);
    tr_add(tr, o1, d), tr_add(tr, o3, R);
    sbo_nn_exec_destroy(e);
    free_frames(&F);
}

/* The same oracles on the CPU and on the guarded backend: equal bits, nothing vacuous, the guard in use. */
static void same_on_both(const net *N, int out, const int *rank, int precision, const char *label) {
    static trace cpu, grd;
    cpu.n = grd.n = 0;
    oracles(sbo_nn_backend_cpu(), N, out, rank, precision, &cpu);
    long calls0 = g_members;
    oracles(guarded(), N, out, rank, precision, &grd);
    cr_assert_eq(g_n, 0, "%s: %d guarded allocations outlive their executors", label, g_n);
    cr_assert(g_members - calls0 > 100, "%s: the guarded backend saw only %ld member calls", label,
              g_members - calls0);
    cr_assert_eq(cpu.n, grd.n);
    long first = -1;
    for (long i = 0; i < cpu.n && first < 0; i++)
        if (memcmp(&cpu.v[i], &grd.v[i], sizeof(double))) first = i;
    cr_expect(first < 0, "%s (float%d): guarded differs from the CPU at output %ld: %.17g vs %.17g", label, precision,
              first, first < 0 ? 0 : grd.v[first], first < 0 ? 0 : cpu.v[first]);
    cr_expect(inf_norm(cpu.n, cpu.v) > 0, "%s: every output is 0 (vacuous)", label);
    cr_log_info("%s (float%d): %ld outputs bit-identical on the guarded backend (%ld member calls)", label, precision,
                cpu.n, g_members - calls0);
}

Test(guarded, mlp_oracles_are_bit_identical_to_the_cpu) {
    static net N;   /* static: freed by the suite's fini (free_nets) */
    int z = build_mlp(&N, 7);
    int rank[3] = {3, 0, 2};   /* W1 (5 x 6) at rank 3, b1 full, W2 (6 x 4) at rank 2 */
    same_on_both(&N, z, rank, 32, "MLP");
    same_on_both(&N, z, rank, 64, "MLP");
}

Test(guarded, transformer_block_oracles_are_bit_identical_to_the_cpu) {
    static net N;
    int z = build_block(&N, 8);
    int rank[8] = {0, 2, 0, 3, 0, 0, 2, 0};   /* Wq, Wv (4 x 4) and F1 (4 x 6) projected */
    same_on_both(&N, z, rank, 32, "transformer block");
    same_on_both(&N, z, rank, 64, "transformer block");
}

// --- the guard catches a host access (power check) ------------------------------------------------------------

/* In a child: an executor on the guarded backend, one linearization, then (access 1) a host read or (access 2) a
 * host write of its first buffer, as a stray `val[0]` in the executor would do; access 0 touches nothing. Returns
 * the child's wait status. */
static int child_status(int access) {
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        static net N;
        build_mlp(&N, 9);
        double x[MAXD] = {0}, Y[MAXD] = {0}, loss = 0;
        char err[256];
        sbo_nn_exec *e = sbo_nn_exec_create_on(guarded(), &N.g, &N.lower, N.d, 32, "power", err, sizeof err);
        if (!e) _exit(3);
        sbo_nn_set_input(e, N.in_id[0], N.in_data[0], N.b);
        sbo_nn_set_labels(e, N.labels, N.b);
        sbo_nn_lin l = {.b = N.b, .want_lower = 1, .loss = &loss};
        sbo_nn_linearize(e, x, Y, &l);
        if (g_n < 1 || !(loss > 0)) _exit(4);
        volatile float *p = g_live[0].p;
        if (access == 1 && p[0] == 12345.0f) _exit(5);
        if (access == 2) p[0] = 1;
        sbo_nn_exec_destroy(e);
        _exit(0);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

Test(guarded, a_host_access_to_engine_memory_outside_the_backend_segfaults) {
    int st = child_status(0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "without a stray access the child must exit 0 (status %d)", st);
    for (int access = 1; access <= 2; access++) {
        st = child_status(access);
        cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "a host %s of engine memory outside the backend: "
                  "status %d, expected death by SIGSEGV", access == 1 ? "read" : "write", st);
    }
}

// --- device bytes ---------------------------------------------------------------------------------------------

Test(guarded, engine_arenas_on_a_device_backend_count_as_device_bytes) {
    static net N;
    build_mlp(&N, 10);
    size_t host0 = sbo_arena_live_bytes(), dev0 = sbo_arena_device_live_bytes();
    sbo_nn_exec *e = exec_on(guarded(), &N, 32);
    size_t host1 = sbo_arena_live_bytes(), dev1 = sbo_arena_device_live_bytes();
    cr_expect_eq(host1, host0, "the guarded executor's arenas added %zu host bytes", host1 - host0);
    cr_expect_eq(dev1 - dev0, sbo_nn_exec_bytes(e), "device bytes %zu, executor bytes %zu", dev1 - dev0,
                 sbo_nn_exec_bytes(e));
    cr_expect(sbo_arena_device_peak_bytes() >= dev1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sbo_nn_exec_print(e, f);
    fclose(f);
    cr_expect(strstr(buf, "(device memory)") != NULL, "the arena table does not mark device arenas:\n%s", buf);
    free(buf);
    sbo_nn_exec_destroy(e);
    cr_expect_eq(sbo_arena_device_live_bytes(), dev0);
    e = exec_on(sbo_nn_backend_cpu(), &N, 32);
    cr_expect_eq(sbo_arena_device_live_bytes(), dev0, "the CPU backend's arenas are host bytes");
    cr_expect_eq(sbo_arena_live_bytes(), host0 + sbo_nn_exec_bytes(e));
    sbo_nn_exec_destroy(e);
}

// --- real tasks on the guarded backend ----------------------------------------------------------------------

static sbo_task *task_on(const sbo_nn_backend *be, const char *name, const char *const *extra) {
    const char *sets[24] = {"task.n_train=60", "task.n_val=40", "task.n_test=50", "task.batch=16",
                            "task.upper_batch=24", "task.hidden=6", "task.precision=float32"};
    int n = 7;
    for (int i = 0; extra[i]; i++) sets[n++] = extra[i];
    const sbo_task_type *tt = sbo_task_find(name);
    cr_assert(tt);
    sbo_config cfg;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_run_resolve_config(tt, NULL, NULL, sets, n, &cfg, err, sizeof err), 0, "%s", err);
    const sbo_nn_backend *old = sbo_nn_set_default_backend(be);   /* the task creates its executors now */
    sbo_task *t = sbo_task_create(tt, &cfg, err, sizeof err);
    sbo_nn_set_default_backend(old);
    cr_assert(t, "%s", err);
    return t;
}

/* Every oracle of task t at a random point near its init, into tr: the separate ones (full and reduced), the fused
 * ones (lower linearization, gradient, H[V] and J[V], the full cross term in a subspace, the upper pass) and the
 * exact evaluation of both levels (which reads the logits back for the accuracy). ranks: the subspace's. */
static void task_oracles(sbo_task *t, const int *ranks, trace *tr) {
    const sbo_layout *lay = &t->lower;
    long D = sbo_layout_total(lay);
    int d = t->d;
    sbo_stream s;
    sbo_stream_init(&s, 77, SBO_RNG_INIT, 0, 0);
    double *x = calloc((size_t)d + 1, sizeof *x), *Y = calloc((size_t)D, sizeof *Y), *V = calloc((size_t)D, sizeof *V);
    double *o = calloc((size_t)D + d, sizeof *o), *ox = calloc((size_t)d + 1, sizeof *ox);
    cr_assert(x && Y && V && o && ox);
    t->ops->init(t, &s, x, Y);
    gaussian_fill(&s, 0.05, D, V);
    for (long i = 0; i < D; i++) Y[i] += V[i];
    gaussian_fill(&s, 0.3, d, x);
    gaussian_fill(&s, 1.0, D, V);
    sbo_subspace S = {.full = lay, .red = *lay};
    int rows[SBO_MAX_BLOCKS], auto_ranks[SBO_MAX_BLOCKS] = {0};
    for (int l = 0, k = 0; !ranks && l < lay->L && k < 3; l++)   /* NULL: half the rows of 3 projectable blocks */
        if (!lay->block[l].not_projectable && lay->block[l].m >= 4) auto_ranks[l] = lay->block[l].m / 2, k++;
    if (!ranks) ranks = auto_ranks;
    for (int l = 0; l < lay->L; l++) {
        int m = lay->block[l].m;
        rows[l] = ranks[l] ? ranks[l] : m;
        if (!ranks[l]) continue;
        double *P = calloc((size_t)m * ranks[l], sizeof *P), *work = calloc((size_t)sbo_haar_work_size(m, ranks[l]), 8);
        cr_assert(P && work);
        sbo_haar_sample(&s, m, ranks[l], P, work);
        free(work);
        S.P[l] = P;
    }
    sbo_layout_finish(&S.red, rows);
    long R = sbo_layout_total(&S.red);
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_task_reserve(t, ranks, 1, err, sizeof err), 0, "%s", err);
    double *X = calloc((size_t)R, sizeof *X);
    cr_assert(X);
    gaussian_fill(&s, 1.0, R, X);
    sbo_batch *bl = sbo_batch_create(t, SBO_LEVEL_LOWER), *bu = sbo_batch_create(t, SBO_LEVEL_UPPER);
    sbo_task_sample(t, SBO_LEVEL_LOWER, &s, bl);
    sbo_task_sample(t, SBO_LEVEL_UPPER, &s, bu);
    /* separate */
    sbo_task_grad_lower(t, x, Y, bl, o), tr_add(tr, o, D);
    sbo_task_hvp(t, x, Y, bl, V, o), tr_add(tr, o, D);
    sbo_task_cross(t, x, Y, bl, V, ox), tr_add(tr, ox, d);
    sbo_task_grad_upper_Y(t, x, Y, bu, o), tr_add(tr, o, D);
    sbo_task_grad_upper_x(t, x, Y, bu, ox), tr_add(tr, ox, d);
    sbo_task_reduced_grad_lower(t, x, Y, bl, &S, o), tr_add(tr, o, R);
    sbo_task_reduced_hvp(t, x, Y, bl, &S, X, o), tr_add(tr, o, R);
    sbo_task_reduced_grad_upper_Y(t, x, Y, bu, &S, o), tr_add(tr, o, R);
    /* fused */
    sbo_task_lower_at(t, x, Y, bl, NULL);
    sbo_task_lower_grad(t, o), tr_add(tr, o, D);
    sbo_tangent tz = {.V = V, .hvp = o, .cross = ox};
    sbo_task_lower_tangent(t, x, Y, &tz);
    tr_add(tr, o, D), tr_add(tr, ox, d);
    sbo_task_lower_at(t, x, Y, bl, &S);
    sbo_tangent t1 = {.V = X, .hvp = o, .cross = ox};
    sbo_task_lower_tangent(t, x, Y, &t1);
    tr_add(tr, o, R), tr_add(tr, ox, d);
    sbo_tangent tc = {.V = V, .V_full = 1, .cross = ox};
    sbo_task_lower_tangent(t, x, Y, &tc), tr_add(tr, ox, d);
    sbo_task_lower_grad(t, o), tr_add(tr, o, R);
    sbo_task_upper(t, x, Y, bu, &S, o, ox), tr_add(tr, o, R), tr_add(tr, ox, d);
    /* exact evaluation: loss and accuracy of both levels */
    for (int level = 0; level < 2; level++) {
        double acc = 0, loss = sbo_neural_evaluate(t, level, x, Y, &acc);
        tr_add(tr, &loss, 1), tr_add(tr, &acc, 1);
    }
    sbo_batch_free(bl), sbo_batch_free(bu);
    for (int l = 0; l < lay->L; l++) free((double *)S.P[l]);
    free(x), free(Y), free(V), free(o), free(ox), free(X);
}

static void task_same_on_both(const char *name, const char *const *extra, const int *ranks, const char *label) {
    struct stat st;
    if (stat(SBO_FASHION_MNIST_DIR, &st) != 0)
        cr_skip_test("%s not installed (sudo apt-get install dataset-fashion-mnist)", SBO_FASHION_MNIST_DIR);
    static trace cpu, grd;
    cpu.n = grd.n = 0;
    sbo_task *t = task_on(sbo_nn_backend_cpu(), name, extra);
    task_oracles(t, ranks, &cpu);
    sbo_task_destroy(t);
    long calls0 = g_members;
    t = task_on(guarded(), name, extra);
    cr_assert(g_n > 0, "%s: the task's executors are not on the guarded backend", label);
    task_oracles(t, ranks, &grd);
    sbo_task_destroy(t);
    cr_assert_eq(g_n, 0, "%s: guarded allocations outlive the task", label);
    cr_assert_eq(cpu.n, grd.n);
    long first = -1;
    for (long i = 0; i < cpu.n && first < 0; i++)
        if (memcmp(&cpu.v[i], &grd.v[i], sizeof(double))) first = i;
    cr_expect(first < 0, "%s: guarded differs from the CPU at output %ld of %ld", label, first, cpu.n);
    cr_expect(inf_norm(cpu.n, cpu.v) > 0, "%s: every output is 0 (vacuous)", label);
    cr_log_info("%s: %ld task outputs bit-identical on the guarded backend (%ld member calls)", label, cpu.n,
                g_members - calls0);
}

Test(guarded, data_cleaning_mlp_oracles_are_bit_identical_to_the_cpu) {
    const char *extra[] = {"task.model=mlp", "task.activation=gelu", NULL};
    int ranks[4] = {5, 0, 3, 0};
    task_same_on_both("data_cleaning", extra, ranks, "data_cleaning mlp");
}

Test(guarded, hyper_rep_oracles_are_bit_identical_to_the_cpu) {
    const char *extra[] = {"task.activation=tanh", NULL};
    int ranks[2] = {3, 0};
    task_same_on_both("hyper_rep", extra, ranks, "hyper_rep");
}

Test(guarded, vit_reweight_oracles_are_bit_identical_to_the_cpu) {
    const char *extra[] = {"task.patch=14", "task.width=4", "task.heads=2", "task.depth=1", NULL};
    task_same_on_both("vit_reweight", extra, NULL, "vit_reweight");   /* 3 projectable blocks at half rank */
}

// --- the same on a GPU (suite device; skipped without one) --------------------------------------------------------

TestSuite(device, .fini = free_nets);

/* The CUDA backend, or a skip naming why there is none. */
static const sbo_nn_backend *cuda_or_skip(void) {
    char why[256];
    if (!sbo_cuda_available(why, sizeof why)) cr_skip_test("no CUDA device: %s", why);
    const sbo_nn_backend *be = sbo_nn_backend_cuda();
    if (!be) cr_skip_test("this build has no CUDA backend (configure with -DWITH_CUDA=ON)");
    return be;
}

/* Largest |cpu - dev| over the trace, relative to the largest |cpu|; it must be within tol, and nothing vacuous. */
static void close_enough(const trace *cpu, const trace *dev, double tol, const char *label) {
    cr_assert_eq(cpu->n, dev->n);
    double scale = inf_norm(cpu->n, cpu->v), worst = 0;
    long at = -1;
    for (long i = 0; i < cpu->n; i++) {
        double e = fabs(cpu->v[i] - dev->v[i]);
        if (!(e <= worst)) worst = e, at = i;   /* a NaN counts as the worst */
    }
    cr_expect(scale > 0, "%s: every output is 0 (vacuous)", label);
    cr_expect(worst <= tol * scale, "%s: the device differs from the CPU by %.3g (relative %.3g > %.1g) at output %ld "
              "of %ld", label, worst, worst / scale, tol, at, cpu->n);
    cr_log_info("%s: %ld outputs, largest device - CPU difference %.3g of the largest output", label, cpu->n,
                worst / scale);
}

/* float32: 1e-4 of the largest output (a few float ulps over the GEMM sums); float64: 1e-10. */
static void net_on_device(const net *N, int out, const int *rank, int precision, const char *label) {
    const sbo_nn_backend *be = cuda_or_skip();
    static trace cpu, dev;
    cpu.n = dev.n = 0;
    oracles(sbo_nn_backend_cpu(), N, out, rank, precision, &cpu);
    oracles(be, N, out, rank, precision, &dev);
    close_enough(&cpu, &dev, precision == 32 ? 1e-4 : 1e-10, label);
}

Test(device, mlp_oracles_match_the_cpu) {
    static net N;
    int z = build_mlp(&N, 7);
    int rank[3] = {3, 0, 2};
    net_on_device(&N, z, rank, 32, "MLP on the device");
    net_on_device(&N, z, rank, 64, "MLP on the device");
}

Test(device, transformer_block_oracles_match_the_cpu) {
    static net N;
    int z = build_block(&N, 8);
    int rank[8] = {0, 2, 0, 3, 0, 0, 2, 0};
    net_on_device(&N, z, rank, 32, "transformer block on the device");
    net_on_device(&N, z, rank, 64, "transformer block on the device");
}

Test(device, vit_reweight_task_oracles_match_the_cpu) {
    const sbo_nn_backend *be = cuda_or_skip();
    struct stat st;
    if (stat(SBO_FASHION_MNIST_DIR, &st) != 0)
        cr_skip_test("%s not installed (sudo apt-get install dataset-fashion-mnist)", SBO_FASHION_MNIST_DIR);
    const char *extra[] = {"task.patch=7", "task.width=16", "task.heads=2", "task.depth=1", NULL};
    static trace cpu, dev;
    cpu.n = dev.n = 0;
    sbo_task *t = task_on(sbo_nn_backend_cpu(), "vit_reweight", extra);
    task_oracles(t, NULL, &cpu);
    sbo_task_destroy(t);
    t = task_on(be, "vit_reweight", extra);
    task_oracles(t, NULL, &dev);
    sbo_task_destroy(t);
    close_enough(&cpu, &dev, 1e-3, "vit_reweight on the device");   /* float32 through a whole ViT */
}
