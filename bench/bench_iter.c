/* bench/bench_iter.c: where the time of one iteration goes, on the network tasks, measured in one run.
 *
 *   bench_iter [--quick] [--steps S] [--repeats R]
 *              [--task data_cleaning|data_cleaning_mlp|hyper_rep|vit_reweight|data_mixture]
 *
 * For each task (data_cleaning with the linear model and with the MLP, hyper_rep: the tasks' defaults, n_train 5000,
 * batch 256; vit_reweight and data_mixture: their defaults, width 64; float32 engine) it prints
 *   1. the oracles: median time of one lower gradient, one HVP H[V], one cross term J[Z] and the two upper
 *      gradients on the same minibatch at the same point (SOBA's x_0, Y_0), in blocks taken in turn; the ratios
 *      HVP / gradient and J / gradient; the share of each oracle's time inside GEMM;
 *   2. the iterations: soba, ma_soba, and naive_projected and bros each with the default memory rule
 *      (algo.memory_rule=on, rank = half) and with algo.memory_rule=off at r = m/2 and m/8 of the largest block.
 *      All eight exist at once; after 5 warm-up steps each, R rounds run them in turn, each 1 untimed + S timed
 *      steps, so that load drift on a shared machine hits all alike. Per algorithm: median ms per iteration (wall,
 *      CLOCK_MONOTONIC, and process CPU time, which other processes cannot inflate at 1 thread), the ratios to
 *      SOBA, and where the time went: engine SGEMM, CBLAS DGEMM, the Haar frame draws (normals + QR), the pixel
 *      conversion of minibatches, the rest.
 * Where the time went comes from link-time wrapping (bench/CMakeLists.txt, -Wl,--wrap=...): the library's calls
 * of cblas_sgemm, cblas_dgemm, sbo_haar_sample_v and sbo_nn_set_input_u8 pass through the __wrap_* functions below,
 * which time them. The library is unchanged.
 * Threads come from the environment (OPENBLAS_NUM_THREADS or BLIS_NUM_THREADS, OMP_NUM_THREADS) and are printed
 * with the BLAS and its core kernels, and the load average before and after.
 * Timing discipline (STYLE.md pattern 11): only step calls are timed; no evaluation, no files.
 * Defaults S = 10, R = 5 (--quick: 5, 3). Exercised by: make bench (root Makefile); numbers in bench/README.md. */
#include "runners/sbo_run.h"        /* sbo_run_resolve_config; algorithm and task types */
#include "core/sbo_blas.h"          /* vendor, core name, OPENBLAS_CORETYPE as read */
#include "core/sbo_rng.h"           /* sbo_stream for the oracle minibatch and the tangent */
#include "core/sbo_haar.h"          /* sbo_haar_sample_v: wrapped, to time the subspace frames P */
#include "core/nn/nn.h"            /* sbo_nn_set_input_u8: wrapped, to time the minibatch's pixel conversion */
#include "tasks/neural.h"          /* sbo_neural_options: the image task's sizes for the header line */

#if defined(SBO_BLAS_BLIS)
#include <blis.h>                   /* bli_thread_get_num_threads */
#else
#include <cblas.h>                  /* openblas_get_num_threads */
#endif
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// --- the wrappers (linked with --wrap) -------------------------------------------------------------------------

/* The library calls these from the main thread only (its OpenMP loops are elementwise), so plain counters do. */
typedef struct {
    double time_s, flops;
    long calls;
} counter;
static counter g_sgemm, g_dgemm, g_haar, g_input;
static int g_in_haar;   /* a GEMM inside the Haar draw counts as the draw's (LAPACK's own dgemm_ is not wrapped) */

static double median(double *v, int n);
static void die(const char *what, const char *err);

/* The GEMM shapes of one step, recorded to be replayed alone: the GEMM bound of that step at this machine's rate.
 * A run of identical consecutive calls (a strided batched GEMM is a loop of them: b x heads products per attention
 * matmul) is one entry with its count. More distinct runs than MAX_RECORDED stop the program: a bound over part of
 * a step would be too small (the first version kept the first 8192 calls and understated the transformers' bound). */
typedef struct {
    int dbl, ta, tb, M, N, K, lda, ldb, ldc;
    long count;
} gemm_call;
#define MAX_RECORDED 65536
static gemm_call g_rec[MAX_RECORDED];
static int g_n_rec, g_recording;

static void record(int dbl, int ta, int tb, int M, int N, int K, int lda, int ldb, int ldc) {
    if (!g_recording) return;
    gemm_call c = {dbl, ta, tb, M, N, K, lda, ldb, ldc, 1};
    gemm_call *last = g_n_rec ? &g_rec[g_n_rec - 1] : NULL;
    if (last && last->dbl == dbl && last->ta == ta && last->tb == tb && last->M == M && last->N == N &&
        last->K == K && last->lda == lda && last->ldb == ldb && last->ldc == ldc) {
        last->count++;
        return;
    }
    if (g_n_rec >= MAX_RECORDED) die("GEMM recording", "more than MAX_RECORDED distinct runs of GEMM shapes in one step");
    g_rec[g_n_rec++] = c;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
/* CPU time of the whole process (all threads). With 1 thread it equals wall time on a quiet machine and is immune
 * to other processes taking the core; with 2 threads it adds both threads' time (spinning included). */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CBLAS: our own prototypes with int for the enums and the integer arguments, the ABI of both OpenBLAS (blasint)
 * and Debian's 32-bit-integer BLIS (f77_int); --wrap binds by name only. */
void __real_cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);
void __real_cblas_dgemm(int order, int ta, int tb, int M, int N, int K, double alpha, const double *A, int lda,
                        const double *B, int ldb, double beta, double *C, int ldc);
void __wrap_cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc);
void __wrap_cblas_dgemm(int order, int ta, int tb, int M, int N, int K, double alpha, const double *A, int lda,
                        const double *B, int ldb, double beta, double *C, int ldc);
/* the library's own functions: declared with the header's type, so a changed signature fails to compile here */
__typeof__(sbo_haar_sample_v) __real_sbo_haar_sample_v, __wrap_sbo_haar_sample_v;
__typeof__(sbo_nn_set_input_u8) __real_sbo_nn_set_input_u8, __wrap_sbo_nn_set_input_u8;

void __wrap_cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    double t0 = now_s();
    __real_cblas_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (g_in_haar) return;
    record(0, ta, tb, M, N, K, lda, ldb, ldc);
    g_sgemm.time_s += now_s() - t0;
    g_sgemm.flops += 2.0 * M * N * K;
    g_sgemm.calls++;
}
void __wrap_cblas_dgemm(int order, int ta, int tb, int M, int N, int K, double alpha, const double *A, int lda,
                        const double *B, int ldb, double beta, double *C, int ldc) {
    double t0 = now_s();
    __real_cblas_dgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (g_in_haar) return;
    record(1, ta, tb, M, N, K, lda, ldb, ldc);
    g_dgemm.time_s += now_s() - t0;
    g_dgemm.flops += 2.0 * M * N * K;
    g_dgemm.calls++;
}
void __wrap_sbo_haar_sample_v(int version, sbo_stream *s, int m, int r, double *P, double *work) {
    double t0 = now_s();
    g_in_haar = 1;
    __real_sbo_haar_sample_v(version, s, m, r, P, work);
    g_in_haar = 0;
    g_haar.time_s += now_s() - t0;
    g_haar.calls++;
}
void __wrap_sbo_nn_set_input_u8(sbo_nn_exec *e, int input, const unsigned char *base, const int *ids, int b,
                                double scale, double shift) {
    double t0 = now_s();
    __real_sbo_nn_set_input_u8(e, input, base, ids, b, scale, shift);
    g_input.time_s += now_s() - t0;
    g_input.calls++;
}

static void counters_reset(void) {
    memset(&g_sgemm, 0, sizeof g_sgemm);
    memset(&g_dgemm, 0, sizeof g_dgemm);
    memset(&g_haar, 0, sizeof g_haar);
    memset(&g_input, 0, sizeof g_input);
}

/* Replays the recorded GEMMs alone (same shapes, transposes and leading dimensions, on scratch operands), `reps`
 * times; returns the median seconds of one replay of the whole list and its GFLOP/s. This is the GEMM bound of
 * the recorded step: the time its matrix products take at this machine's rate for exactly those shapes. */
static double replay_gemms(int reps, double *gflops) {
    size_t na = 1, nb = 1, nc = 1;
    double flops = 0;
    for (int i = 0; i < g_n_rec; i++) {
        const gemm_call *c = &g_rec[i];
        size_t a = (size_t)(c->ta ? c->K : c->M) * c->lda, b = (size_t)(c->tb ? c->N : c->K) * c->ldb,
               cc = (size_t)c->M * c->ldc;
        na = a > na ? a : na, nb = b > nb ? b : nb, nc = cc > nc ? cc : nc;
        flops += 2.0 * c->M * c->N * c->K * c->count;
    }
    double *A = calloc(na, sizeof(double)), *B = calloc(nb, sizeof(double)), *C = calloc(nc, sizeof(double));
    if (!A || !B || !C) die("GEMM replay", "out of memory");
    for (size_t i = 0; i < na; i++) A[i] = 1e-3 * (double)(i % 7);
    for (size_t i = 0; i < nb; i++) B[i] = 1e-3 * (double)(i % 5);
    double t[16];
    reps = reps > 16 ? 16 : reps;
    for (int r = 0; r <= reps; r++) {   /* r = 0: warm-up */
        double t0 = now_s();
        for (int i = 0; i < g_n_rec; i++) {
            const gemm_call *c = &g_rec[i];
            for (long j = 0; j < c->count; j++) {
                if (c->dbl)
                    __real_cblas_dgemm(101 /* CblasRowMajor */, c->ta, c->tb, c->M, c->N, c->K, 1.0, A, c->lda, B,
                                       c->ldb, 1.0, C, c->ldc);
                else
                    __real_cblas_sgemm(101 /* CblasRowMajor */, c->ta, c->tb, c->M, c->N, c->K, 1.0f,
                                       (const float *)A, c->lda, (const float *)B, c->ldb, 1.0f, (float *)C, c->ldc);
            }
        }
        if (r) t[r - 1] = now_s() - t0;
    }
    free(A), free(B), free(C);
    double med = median(t, reps);
    *gflops = med > 0 ? flops / med * 1e-9 : 0;
    return med;
}

// --- small helpers ------------------------------------------------------------------------------------------

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void loadavg(char *buf, size_t n) {
    FILE *f = fopen("/proc/loadavg", "r");
    buf[0] = '\0';
    if (f) {
        if (fgets(buf, (int)n, f)) buf[strcspn(buf, "\n")] = '\0';
        fclose(f);
    }
}

static int blas_threads(void) {
#if defined(SBO_BLAS_BLIS)
    return (int)bli_thread_get_num_threads();
#else
    return openblas_get_num_threads();
#endif
}

static void die(const char *what, const char *err) {
    fprintf(stderr, "bench_iter: %s: %s\n", what, err);
    exit(1);
}

// --- the tasks ---------------------------------------------------------------------------------------------------

typedef struct {
    const char *label;      /* what the tables call it */
    const char *task;       /* registry name */
    const char *sets[4];    /* task.* settings beyond the defaults */
    int n_sets;
} task_case;

static const task_case TASKS[] = {
    {"data_cleaning (linear)", "data_cleaning", {"task.model=linear"}, 1},
    {"data_cleaning (mlp 256)", "data_cleaning", {"task.model=mlp"}, 1},
    {"hyper_rep (256)", "hyper_rep", {NULL}, 0},
    {"vit_reweight (width 64)", "vit_reweight", {NULL}, 0},
    {"data_mixture (byte LM, width 64)", "data_mixture", {NULL}, 0},
};
#define N_TASKS ((int)(sizeof TASKS / sizeof TASKS[0]))

// --- 1. oracle costs at one point on one minibatch ---------------------------------------------------------------

/* the separate oracles (each its own engine pass), then the fused ones the algorithms call: one linearization of g
 * with its gradient, one tangent sweep at it giving H[V] and J[V] together, one pass of f for both gradients */
enum { OR_GRAD, OR_HVP, OR_CROSS, OR_GUY, OR_GUX, OR_LIN, OR_SWEEP, OR_UPPER, N_OR };
static const char *const OR_NAME[N_OR] = {"grad_Y g", "H[V]", "J[Z]", "grad_Y f", "grad_x f",
                                          "fused: g linearized + grad_Y g", "fused: sweep H[V] + J[V]",
                                          "fused: f pass, both gradients"};

static void bench_oracles(sbo_task *t, const double *x, const double *Y, int quick) {
    long nY = sbo_layout_total(&t->lower);
    sbo_batch *bl = sbo_batch_create(t, 0), *bu = sbo_batch_create(t, 1);
    double *V = malloc(sizeof(double) * (size_t)nY), *out = malloc(sizeof(double) * (size_t)nY);
    double *outx = malloc(sizeof(double) * (size_t)t->d);
    if (!bl || !bu || !V || !out || !outx) die("oracles", "out of memory");
    sbo_stream s;
    sbo_stream_init(&s, 7, SBO_RNG_TEST, 0, 0);
    sbo_task_sample(t, 0, &s, bl);
    sbo_task_sample(t, 1, &s, bu);
    sbo_stream_gaussian_fill(&s, V, nY);

    /* blocks of `per` calls of each oracle in turn, so that a load change hits all five alike */
    int blocks = quick ? 5 : 9, per = quick ? 3 : 5;
    double tm[N_OR][16], tc[N_OR][16], gshare_t[N_OR] = {0}, tot_t[N_OR] = {0};
    double *out2 = malloc(sizeof(double) * (size_t)nY), *outx2 = malloc(sizeof(double) * (size_t)t->d);
    if (!out2 || !outx2) die("oracles", "out of memory");
    sbo_tangent along = {.V = V, .hvp = out2, .cross = outx2};
    for (int w = 0; w < 2; w++) {   /* warm-up: first-use allocations of the executors (full-mode buffers) */
        sbo_task_grad_lower(t, x, Y, bl, out);
        sbo_task_hvp(t, x, Y, bl, V, out);
        sbo_task_cross(t, x, Y, bl, V, outx);
        sbo_task_grad_upper_Y(t, x, Y, bu, out);
        sbo_task_grad_upper_x(t, x, Y, bu, outx);
        sbo_task_lower_at(t, x, Y, bl, NULL);
        sbo_task_lower_grad(t, out);
        sbo_task_lower_tangent(t, x, Y, &along);
        sbo_task_upper(t, x, Y, bu, NULL, out, outx);
    }
    for (int k = 0; k < blocks; k++) {
        for (int o = 0; o < N_OR; o++) {
            counters_reset();
            double t0 = now_s(), c0 = cpu_s();
            for (int c = 0; c < per; c++) {
                switch (o) {
                case OR_GRAD: sbo_task_grad_lower(t, x, Y, bl, out); break;
                case OR_HVP: sbo_task_hvp(t, x, Y, bl, V, out); break;
                case OR_CROSS: sbo_task_cross(t, x, Y, bl, V, outx); break;
                case OR_GUY: sbo_task_grad_upper_Y(t, x, Y, bu, out); break;
                case OR_GUX: sbo_task_grad_upper_x(t, x, Y, bu, outx); break;
                case OR_LIN: sbo_task_lower_at(t, x, Y, bl, NULL); sbo_task_lower_grad(t, out); break;
                case OR_SWEEP: sbo_task_lower_tangent(t, x, Y, &along); break;   /* at the OR_LIN linearization */
                default: sbo_task_upper(t, x, Y, bu, NULL, out, outx); break;
                }
            }
            double dt = now_s() - t0;
            tm[o][k] = dt / per;
            tc[o][k] = (cpu_s() - c0) / per;
            tot_t[o] += dt;
            gshare_t[o] += g_sgemm.time_s + g_dgemm.time_s;
        }
    }
    double med[N_OR], medc[N_OR];
    for (int o = 0; o < N_OR; o++) med[o] = median(tm[o], blocks), medc[o] = median(tc[o], blocks);
    printf("  oracles at one point, one minibatch (median of %d blocks of %d calls, the eight in turn; wall and\n"
           "  process CPU time; GEMM %% = share of wall time inside CBLAS GEMM):\n", blocks, per);
    printf("    %-31s %9s %9s %10s %10s %8s\n", "oracle", "wall ms", "cpu ms", "/grad wall", "/grad cpu", "GEMM %");
    for (int o = 0; o < N_OR; o++)
        printf("    %-31s %9.3f %9.3f %10.2f %10.2f %7.0f%%\n", OR_NAME[o], 1e3 * med[o], 1e3 * medc[o],
               med[o] / med[OR_GRAD], medc[o] / medc[OR_GRAD], 100 * gshare_t[o] / tot_t[o]);
    printf("    separate calls: HVP / gradient = %.2f (wall) %.2f (cpu), J / gradient = %.2f (wall) %.2f (cpu)\n",
           med[OR_HVP] / med[OR_GRAD], medc[OR_HVP] / medc[OR_GRAD], med[OR_CROSS] / med[OR_GRAD],
           medc[OR_CROSS] / medc[OR_GRAD]);
    printf("    fused: H[V] and J[V] together cost %.2f (wall) %.2f (cpu) of the linearization with its gradient;\n"
           "    the lower oracles of one full-space iteration take %.2f ms fused against %.2f ms separately (%.2fx)\n",
           med[OR_SWEEP] / med[OR_LIN], medc[OR_SWEEP] / medc[OR_LIN], 1e3 * (med[OR_LIN] + med[OR_SWEEP]),
           1e3 * (med[OR_GRAD] + med[OR_HVP] + med[OR_CROSS]),
           (med[OR_GRAD] + med[OR_HVP] + med[OR_CROSS]) / (med[OR_LIN] + med[OR_SWEEP]));
    sbo_batch_free(bl), sbo_batch_free(bu), free(V), free(out), free(outx), free(out2), free(outx2);
}

// --- 2. time per iteration ---------------------------------------------------------------------------------------

typedef struct {
    const char *algo;
    int rule_off;       /* 1: algo.memory_rule=off and algo.rank = m_max / divisor */
    int divisor;
} algo_case;

static const algo_case ALGOS[] = {
    {"soba", 0, 0},          {"ma_soba", 0, 0},
    {"naive_projected", 0, 0}, {"naive_projected", 1, 2}, {"naive_projected", 1, 8},
    {"bros", 0, 0},          {"bros", 1, 2},          {"bros", 1, 8},
};
#define N_ALGOS ((int)(sizeof ALGOS / sizeof ALGOS[0]))

/* "784:392 10:full" style summary of the ranks create decided (blocks of one row, biases, are skipped). */
static void rank_summary(const sbo_algo *a, const sbo_task *t, char *buf, size_t n) {
    buf[0] = '\0';
    for (int l = 0; l < t->lower.L; l++) {
        int m = t->lower.block[l].m;
        if (m <= 1) continue;
        size_t u = strlen(buf);
        if (a->rank[l] >= m) snprintf(buf + u, n - u, "%s%d:full", u ? " " : "", m);
        else snprintf(buf + u, n - u, "%s%d:%d", u ? " " : "", m, a->rank[l]);
    }
}

static int bench_task(const task_case *tc, int steps, int repeats, int quick) {
    const sbo_task_type *tt = sbo_task_find(tc->task);
    if (!tt) die(tc->task, "no such task in the registry");
    char err[SBO_ERR_LEN];
    sbo_config cfg_task;
    if (sbo_run_resolve_config(tt, NULL, NULL, tc->sets, tc->n_sets, &cfg_task, err, sizeof err)) die(tc->label, err);
    double t0 = now_s();
    sbo_task *t = sbo_task_create(tt, &cfg_task, err, sizeof err);
    if (!t) die(tc->label, err);
    int m_max = 0;
    char blocks[256] = "";
    for (int l = 0; l < t->lower.L; l++) {
        if (t->lower.block[l].m > m_max) m_max = t->lower.block[l].m;
        size_t u = strlen(blocks);
        snprintf(blocks + u, sizeof blocks - u, "%s%s %dx%d", l ? ", " : "", t->lower.block[l].name,
                 t->lower.block[l].m, t->lower.block[l].n);
    }
    sbo_neural_options no;   /* the image tasks' options, as the task parsed them (data_mixture has its own) */
    if (!sbo_neural_options_parse(&cfg_task, &no, err, sizeof err))
        printf("\n== %s: d = %d, lower blocks %s; n_train %ld, batch %ld, precision float%d (created in %.1f s)\n",
               tc->label, t->d, blocks, no.n_train, no.batch, no.precision, now_s() - t0);
    else
        printf("\n== %s: d = %d, lower blocks %s; task defaults (created in %.1f s)\n", tc->label, t->d, blocks,
               now_s() - t0);

    // every algorithm exists at once, so that the repeats can be interleaved (below)
    sbo_algo *algos[N_ALGOS];
    const sbo_algo_type *types[N_ALGOS];
    for (int ai = 0; ai < N_ALGOS; ai++) {
        const algo_case *ac = &ALGOS[ai];
        const sbo_algo_type *at = types[ai] = sbo_algo_find(ac->algo);
        if (!at) die(ac->algo, "no such algorithm in the registry");
        const char *sets[8];
        char rank_set[64];
        int ns = 0;
        for (int i = 0; i < tc->n_sets; i++) sets[ns++] = tc->sets[i];
        if (ac->rule_off) {
            snprintf(rank_set, sizeof rank_set, "algo.rank=%d", (m_max + ac->divisor - 1) / ac->divisor);
            sets[ns++] = "algo.memory_rule=off";
            sets[ns++] = rank_set;
        }
        sbo_config cfg;
        if (sbo_run_resolve_config(tt, at, NULL, sets, ns, &cfg, err, sizeof err)) die(ac->algo, err);
        algos[ai] = at->create(t, &cfg, 1, err, sizeof err);
        if (!algos[ai]) die(ac->algo, err);
    }
    bench_oracles(t, algos[0]->x, algos[0]->Y, quick);   /* at SOBA's x_0, Y_0 */

    /* Rounds: each algorithm in turn runs one untimed step (it absorbs the engine's buffer resizing when the rank
     * changes between algorithms) and then `steps` timed steps. Interleaving gives every algorithm the same
     * exposure to the load drift of a shared machine, so the ratios to SOBA compare like with like. */
    const int warmup = 5;
    long k[N_ALGOS];
    int diverged[N_ALGOS];
    double per[N_ALGOS][64], perc[N_ALGOS][64], total[N_ALGOS];
    counter acc[N_ALGOS][4];
    memset(acc, 0, sizeof acc);
    for (int ai = 0; ai < N_ALGOS; ai++) {
        diverged[ai] = 0, total[ai] = 0;
        for (k[ai] = 0; k[ai] < warmup; k[ai]++) diverged[ai] |= types[ai]->step(algos[ai], k[ai]);
    }
    for (int r = 0; r < repeats; r++) {
        for (int ai = 0; ai < N_ALGOS; ai++) {
            sbo_algo *a = algos[ai];
            diverged[ai] |= types[ai]->step(a, k[ai]++);
            counters_reset();
            double s0 = now_s(), c0 = cpu_s();
            for (int i = 0; i < steps; i++) diverged[ai] |= types[ai]->step(a, k[ai]++);
            double dt = now_s() - s0;
            per[ai][r] = dt / steps;
            perc[ai][r] = (cpu_s() - c0) / steps;
            total[ai] += dt;
            const counter *c[4] = {&g_sgemm, &g_dgemm, &g_haar, &g_input};
            for (int q = 0; q < 4; q++) {
                acc[ai][q].time_s += c[q]->time_s;
                acc[ai][q].flops += c[q]->flops;
                acc[ai][q].calls += c[q]->calls;
            }
        }
    }

    printf("  iterations (%d warm-up steps, then %d rounds over the algorithms in turn, each 1 untimed + %d timed "
           "steps;\n  wall / cpu = median ms per iteration over the rounds (cpu: process CPU time), spread = (max-min)/median "
           "of wall;\n  shares of all timed wall time: sgemm = the engine, dgemm = projections (CBLAS), GFLOP/s = their"
           " rate,\n  P draw = Haar frames incl. their QR, input = pixel conversion of minibatches, other = the rest):\n",
           warmup, repeats, steps);
    /* the GEMM bound of each algorithm's step: its GEMM calls recorded over one more step, replayed alone */
    double bound[N_ALGOS], bound_rate[N_ALGOS], bound_mflop[N_ALGOS];
    for (int ai = 0; ai < N_ALGOS; ai++) {
        g_n_rec = 0;
        g_recording = 1;
        diverged[ai] |= types[ai]->step(algos[ai], k[ai]++);
        g_recording = 0;
        bound_mflop[ai] = 0;
        for (int i = 0; i < g_n_rec; i++)
            bound_mflop[ai] += 2e-6 * g_rec[i].M * g_rec[i].N * g_rec[i].K * g_rec[i].count;
        bound[ai] = replay_gemms(quick ? 5 : 9, &bound_rate[ai]);
    }
    printf("  GEMM bound = the step's own GEMM calls (shapes recorded over one step) replayed alone, median of %d:\n"
           "  MFLOP per step, their GFLOP/s alone, the bound in ms, and wall / bound.\n", quick ? 5 : 9);
    printf("    %-16s %-18s %-16s %7s %7s %6s %6s %6s | %7s %7s %7s %6s | %6s %6s %7s %6s %6s %6s\n", "algorithm",
           "setting", "ranks m:r", "wall", "cpu", "/SOBA", "(cpu)", "spread", "MFLOP", "GFLOP/s", "bound", "/bound",
           "sgemm", "dgemm", "GFLOP/s", "P draw", "input", "other");
    double soba_med = 0, soba_medc = 0;
    for (int ai = 0; ai < N_ALGOS; ai++) {
        const algo_case *ac = &ALGOS[ai];
        double lo = per[ai][0], hi = per[ai][0];
        for (int r = 1; r < repeats; r++) lo = fmin(lo, per[ai][r]), hi = fmax(hi, per[ai][r]);
        double med = median(per[ai], repeats), medc = median(perc[ai], repeats);
        if (ai == 0) soba_med = med, soba_medc = medc;
        char setting[48], ranks[96];
        if (ac->rule_off) snprintf(setting, sizeof setting, "rule off, r=m/%d", ac->divisor);
        else snprintf(setting, sizeof setting, "%s", strcmp(ac->algo, "soba") && strcmp(ac->algo, "ma_soba")
                                                           ? "default (rule on)" : "full space");
        rank_summary(algos[ai], t, ranks, sizeof ranks);
        double tot = total[ai], gt = acc[ai][0].time_s + acc[ai][1].time_s;
        double other = tot - gt - acc[ai][2].time_s - acc[ai][3].time_s;
        printf("    %-16s %-18s %-16s %7.2f %7.2f %6.2f %6.2f %5.0f%% | %7.1f %7.1f %7.2f %6.2f | %5.0f%% %5.0f%% %7.1f "
               "%5.0f%% %5.0f%% %5.0f%%%s\n",
               ac->algo, setting, ranks[0] ? ranks : "-", 1e3 * med, 1e3 * medc, med / soba_med, medc / soba_medc,
               100 * (hi - lo) / med, bound_mflop[ai], bound_rate[ai], 1e3 * bound[ai], med / bound[ai],
               100 * acc[ai][0].time_s / tot, 100 * acc[ai][1].time_s / tot,
               gt > 0 ? (acc[ai][0].flops + acc[ai][1].flops) / gt * 1e-9 : 0, 100 * acc[ai][2].time_s / tot,
               100 * acc[ai][3].time_s / tot, 100 * other / tot,
               diverged[ai] ? "  (a non-finite iterate: timing of NaN arithmetic)" : "");
    }
    fflush(stdout);
    for (int ai = 0; ai < N_ALGOS; ai++) types[ai]->destroy(algos[ai]);
    sbo_task_destroy(t);
    return 0;
}

int main(int argc, char **argv) {
    int quick = 0, steps = 10, repeats = 5;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--task") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--steps S] [--repeats R] [--task data_cleaning|data_cleaning_mlp|"
                            "hyper_rep|vit_reweight|data_mixture]\n", argv[0]);
            return 2;
        }
    }
    if (quick) steps = 5, repeats = 3;
    if (steps < 1 || repeats < 1 || repeats > 64) {
        fprintf(stderr, "bench_iter: --steps must be >= 1 and --repeats in 1..64\n");
        return 2;
    }
    const char *eo = getenv("OPENBLAS_NUM_THREADS"), *eb = getenv("BLIS_NUM_THREADS"), *ep = getenv("OMP_NUM_THREADS");
    char la[128];
    loadavg(la, sizeof la);
    printf("# bench_iter: BLAS %s, core kernels %s, OPENBLAS_CORETYPE=%s\n", sbo_blas_vendor(), sbo_blas_corename(),
           sbo_blas_coretype_env());
    printf("# threads that ran: BLAS %d, OpenMP %d (env OPENBLAS_NUM_THREADS=%s BLIS_NUM_THREADS=%s "
           "OMP_NUM_THREADS=%s)\n", blas_threads(), omp_get_max_threads(), eo ? eo : "(unset)",
           eb ? eb : "(unset)", ep ? ep : "(unset)");
    printf("# load average at start: %s\n", la);
    for (int i = 0; i < N_TASKS; i++) {
        const task_case *tc = &TASKS[i];
        if (only) {
            int mlp = tc->n_sets && tc->sets[0] && !strcmp(tc->sets[0], "task.model=mlp");
            char name[64];
            snprintf(name, sizeof name, "%s%s", tc->task, mlp ? "_mlp" : "");
            if (strcmp(only, name)) continue;
        }
        bench_task(tc, steps, repeats, quick);
    }
    loadavg(la, sizeof la);
    printf("\n# load average at end: %s\n", la);
    return 0;
}
