/* bench/bench_gemm.c: SGEMM and DGEMM GFLOP/s at the shapes the neural engine runs, with 1 and 2 BLAS threads,
 * and which BLAS and which core kernels ran (docs/PLATFORM.md "BLAS warning": OpenBLAS 0.3.21 may silently run
 * its oldest kernels on a CPU it does not recognise).
 *
 *   bench_gemm                      one table for the BLAS this binary is linked with
 *   bench_gemm --compare [--blis B] the same measurements in child processes, interleaved over 2 rounds (best per
 *                                   cell): this BLAS as configured; then, ONLY when OPENBLAS_CORETYPE is unset here,
 *                                   OpenBLAS with OPENBLAS_CORETYPE=Haswell, Zen, SkylakeX set in the child's
 *                                   environment (never in this process; a core type whose instructions the CPU lacks
 *                                   is not run); then the bench_gemm binary B of a BLIS build
 *                                   (-DSBO_BLAS_VENDOR=BLIS). Prints one comparison table, the peak estimate (FMA
 *                                   units from /proc/cpuinfo flags x a measured clock, checked by an FMA loop), the
 *                                   load average, and a recommendation: the setup with the best geometric mean of
 *                                   1-thread SGEMM GFLOP/s over the engine's shapes, a change only when >= 15% faster.
 *   --quick                         one round, shorter timings (noisier)
 *   --machine                       (internal) the child mode: RESULT lines on stderr for --compare
 *
 * Every result is the best of many ~2 ms timed samples after one warm-up call (GEMM time is noise-free from
 * below: the minimum is the kernel's speed, anything above it is interference from other processes). Correctness
 * is checked on the way: 64 sampled entries of each C against a loop in double, because a kernel forced by
 * OPENBLAS_CORETYPE could be fast and wrong (a child that dies, e.g. of SIGILL, is reported as such).
 * Exercised by: make bench (root Makefile); bench/README.md has the numbers of this machine. */
#include "core/sbo_blas.h"   /* vendor, core name, OPENBLAS_CORETYPE as read, thread setter */

#if defined(SBO_BLAS_BLIS)
#include <blis.h>            /* BLIS's CBLAS compatibility layer */
#else
#include <cblas.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <immintrin.h>        /* the FMA loop that checks the peak estimate */
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// --- shapes ----------------------------------------------------------------------------------------------

/* Row-major C (M x N) = op(A) op(B); tA = 1: A is stored K x M and used transposed (the weight gradient a^T y_bar). */
typedef struct {
    const char *label;
    int M, N, K, tA;
} shape;

static const shape SHAPES[] = {
    {"1024^3 square", 1024, 1024, 1024, 0},
    {"fwd b x 784 -> 256", 256, 256, 784, 0},        /* out (b x 256) = a (b x 784) Y (784 x 256)          */
    {"wgrad a^T y_bar 784x256", 784, 256, 256, 1},   /* Y_bar (784 x 256) = a^T (784 x b) y_bar (b x 256)  */
    {"fwd b x 256 -> 10", 256, 10, 784, 0},          /* the brief's 256 x 784 x 10 (head or linear model)  */
    {"wgrad a^T y_bar 784x10", 784, 10, 256, 1},     /* 784 x 10 x 256                                     */
    {"reduced a P 256x392x784", 256, 392, 784, 0},   /* P^T a (b x r) at r = 392 = m/2                      */
};
#define N_SHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void load_average(char *buf, size_t n) {
    FILE *f = fopen("/proc/loadavg", "r");
    snprintf(buf, n, "unknown");
    if (f) {
        if (fgets(buf, (int)n, f)) buf[strcspn(buf, "\n")] = '\0';
        fclose(f);
    }
}

static double rnd(unsigned *s) {   /* small LCG, values in [-1, 1): the data only needs to be non-trivial */
    *s = *s * 1664525u + 1013904223u;
    return (double)(*s >> 8) / (1u << 23) - 1.0;
}

// --- one shape, one precision: best GFLOP/s of a few repeats, and the max relative error on sampled entries ---

#define DEFINE_RUN(SFX, real, GEMM)                                                                             \
    static double run_##SFX(const shape *s, double min_time, double *max_err) {                                 \
        long na = (long)s->M * s->K, nb = (long)s->K * s->N, nc = (long)s->M * s->N;                            \
        real *A = malloc(sizeof(real) * na), *B = malloc(sizeof(real) * nb), *C = malloc(sizeof(real) * nc);    \
        if (!A || !B || !C) {                                                                                   \
            fprintf(stderr, "bench_gemm: out of memory\n");                                                     \
            exit(1);                                                                                            \
        }                                                                                                       \
        unsigned seed = 12345;                                                                                  \
        for (long i = 0; i < na; i++) A[i] = (real)rnd(&seed);                                                  \
        for (long i = 0; i < nb; i++) B[i] = (real)rnd(&seed);                                                  \
        int lda = s->tA ? s->M : s->K;                                                                          \
        GEMM(CblasRowMajor, s->tA ? CblasTrans : CblasNoTrans, CblasNoTrans, s->M, s->N, s->K, 1, A, lda, B,    \
             s->N, 0, C, s->N); /* warm-up: thread pool, page faults, packing buffers */                         \
        double err = 0;                                                                                         \
        for (int q = 0; q < 64; q++) {                                                                          \
            int i = (int)((unsigned)(q * 2654435761u) % (unsigned)s->M), j = (q * 40503) % s->N;                \
            double ref = 0, mag = 0;                                                                            \
            for (int k = 0; k < s->K; k++) {                                                                    \
                double a = s->tA ? A[(long)k * s->M + i] : A[(long)i * s->K + k];                               \
                ref += a * B[(long)k * s->N + j];                                                               \
                mag += fabs(a * B[(long)k * s->N + j]);                                                         \
            }                                                                                                   \
            double e = fabs(C[(long)i * s->N + j] - ref) / (mag > 0 ? mag : 1);                                 \
            if (!(e <= err)) err = e; /* NaN propagates */                                                      \
        }                                                                                                       \
        *max_err = err;                                                                                         \
        double best = INFINITY, spent = 0;                                                                      \
        int reps = 0;                                                                                           \
        while (reps < 3 || spent < min_time) {                                                                  \
            /* one timed sample: enough calls to last >= 2 ms, so the clock's resolution does not matter */     \
            int calls = 0;                                                                                      \
            double t0 = now_s(), t1;                                                                            \
            do {                                                                                                \
                GEMM(CblasRowMajor, s->tA ? CblasTrans : CblasNoTrans, CblasNoTrans, s->M, s->N, s->K, 1, A,    \
                     lda, B, s->N, 0, C, s->N);                                                                 \
                calls++;                                                                                        \
                t1 = now_s();                                                                                   \
            } while (t1 - t0 < 2e-3);                                                                           \
            double per = (t1 - t0) / calls;                                                                     \
            if (per < best) best = per;                                                                         \
            spent += t1 - t0;                                                                                   \
            reps++;                                                                                             \
        }                                                                                                       \
        free(A);                                                                                                \
        free(B);                                                                                                \
        free(C);                                                                                                \
        return 2.0 * s->M * s->N * s->K / best * 1e-9;                                                          \
    }
DEFINE_RUN(s, float, cblas_sgemm)
DEFINE_RUN(d, double, cblas_dgemm)

// --- peak estimate: FMA units from /proc/cpuinfo flags x a measured clock, checked by an FMA loop -----------

typedef struct {
    char model[128];
    int avx2, fma, avx512f, amd;
    int cores;
    double sp_per_cycle;   /* single-precision FLOP per cycle per core: the assumption printed beside it */
    char assumption[256];
    double ghz;            /* measured: a chain of dependent integer adds (1 cycle each on every x86 core) */
    double fma_gflops;     /* measured: SP FMA throughput of one core, 12 independent accumulators */
} cpu_info;

static void read_cpuinfo(cpu_info *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->model, sizeof c->model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "processor", 9)) c->cores++;
        else if (!strncmp(line, "model name", 10) && c->cores == 1) {
            char *p = strchr(line, ':');
            if (p) {
                snprintf(c->model, sizeof c->model, "%s", p + 2);
                c->model[strcspn(c->model, "\n")] = '\0';
            }
        } else if (!strncmp(line, "vendor_id", 9) && strstr(line, "AuthenticAMD")) {
            c->amd = 1;
        } else if (!strncmp(line, "flags", 5) && c->cores == 1) {
            c->avx2 = strstr(line, " avx2") != NULL;
            c->fma = strstr(line, " fma") != NULL;
            c->avx512f = strstr(line, " avx512f") != NULL;
        }
    }
    if (f) fclose(f);
    if (c->cores < 1) c->cores = 1;
    /* Two FMA pipes per core on the AVX2 cores of the last decade (Haswell and later; Zen 2/3/4 natively 256-bit,
     * Zen 1 splits 256-bit FMAs in halves and gets half of this). Intel server cores with AVX-512 have two 512-bit
     * FMA units (some SKUs one). The FMA loop below checks the assumption. */
    if (c->avx512f && c->fma) {
        c->sp_per_cycle = 2 * 16 * 2;
        snprintf(c->assumption, sizeof c->assumption, "avx512f+fma: 2 FMA units x 16 floats x 2 FLOP = 64 SP FLOP/cycle");
    } else if (c->avx2 && c->fma) {
        c->sp_per_cycle = 2 * 8 * 2;
        snprintf(c->assumption, sizeof c->assumption, "avx2+fma, no avx512f: 2 FMA units x 8 floats x 2 FLOP = 32 SP FLOP/cycle");
    } else {
        c->sp_per_cycle = 8;
        snprintf(c->assumption, sizeof c->assumption, "no FMA: 1 add + 1 mul of 4 floats = 8 SP FLOP/cycle");
    }
}

/* Both loops below run many ~1 ms samples and keep the fastest: on a shared machine most samples are preempted
 * somewhere, the fastest one is not (the same best-of-samples rule as the GEMM timings). */
static double measure_ghz(void) {
    double best = 0;
    for (int rep = 0; rep < 300; rep++) {
        long x = 0, iters = 20000;
        double t0 = now_s();
        for (long i = 0; i < iters; i++)
            __asm__ volatile(".rept 100\n\taddq $1, %0\n\t.endr" : "+r"(x));   /* 100 dependent adds */
        double ghz = 100.0 * iters / (now_s() - t0) * 1e-9;
        if (ghz > best) best = ghz;
    }
    return best;
}

/* 12 independent accumulators (2 FMA pipes x 4-5 cycles latency need at least 10 in flight), in registers. */
#define FMA_LOOP(VEC, SET1, FMADD, WIDTH)                                                                       \
    VEC m = SET1(0.999999f), a = SET1(1e-6f);                                                                   \
    VEC c0 = SET1(0), c1 = SET1(1), c2 = SET1(2), c3 = SET1(3), c4 = SET1(4), c5 = SET1(5);                     \
    VEC c6 = SET1(6), c7 = SET1(7), c8 = SET1(8), c9 = SET1(9), c10 = SET1(10), c11 = SET1(11);                 \
    double best = 0;                                                                                            \
    for (int rep = 0; rep < 300; rep++) {                                                                       \
        long iters = 20000;                                                                                     \
        double t0 = now_s();                                                                                    \
        for (long i = 0; i < iters; i++) {                                                                      \
            c0 = FMADD(c0, m, a), c1 = FMADD(c1, m, a), c2 = FMADD(c2, m, a), c3 = FMADD(c3, m, a);             \
            c4 = FMADD(c4, m, a), c5 = FMADD(c5, m, a), c6 = FMADD(c6, m, a), c7 = FMADD(c7, m, a);             \
            c8 = FMADD(c8, m, a), c9 = FMADD(c9, m, a), c10 = FMADD(c10, m, a), c11 = FMADD(c11, m, a);         \
            __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5));                  \
            __asm__ volatile("" : "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));                \
        }                                                                                                       \
        double g = 2.0 * WIDTH * 12 * iters / (now_s() - t0) * 1e-9;                                           \
        if (g > best) best = g;                                                                                 \
    }                                                                                                           \
    return best;

__attribute__((target("avx2,fma"))) static double fma_peak_avx2(void) {
    FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}
__attribute__((target("avx512f"))) static double fma_peak_avx512(void) {
    FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}

static void measure_cpu(cpu_info *c) {
    c->ghz = measure_ghz();
    if (c->avx512f) c->fma_gflops = fma_peak_avx512();
    else if (c->avx2 && c->fma) c->fma_gflops = fma_peak_avx2();
}

static int has_cpu_flag(const cpu_info *c, const char *core) {
    /* which forced core types this CPU can execute at all (a child with a missing instruction dies of SIGILL) */
    if (!strcmp(core, "SkylakeX")) return c->avx512f;
    if (!strcmp(core, "Haswell") || !strcmp(core, "Zen")) return c->avx2 && c->fma;
    return 1;
}

// --- the single-BLAS table --------------------------------------------------------------------------------

static int run_table(int quick, int machine) {
    double min_time = quick ? 0.05 : 0.25;
    const char *env_ob = getenv("OPENBLAS_NUM_THREADS"), *env_omp = getenv("OMP_NUM_THREADS");
    printf("# BLAS: %s, core kernels: %s, OPENBLAS_CORETYPE=%s, OPENBLAS_NUM_THREADS=%s, OMP_NUM_THREADS=%s\n",
           sbo_blas_vendor(), sbo_blas_corename(), sbo_blas_coretype_env(), env_ob ? env_ob : "(unset)",
           env_omp ? env_omp : "(unset)");
    char la[128];
    load_average(la, sizeof la);
    printf("# load average: %s\n", la);
    printf("# threads set per column with sbo_blas_set_threads; GFLOP/s = 2MNK / best time; err = max relative "
           "error of 64 sampled entries vs a double loop\n");
    printf("%-26s %5s %5s %5s | %9s %9s | %9s %9s | %8s %8s\n", "shape (C = op(A) B)", "M", "N", "K", "S 1thr",
           "S 2thr", "D 1thr", "D 2thr", "S err", "D err");
    int bad = 0;
    for (int i = 0; i < N_SHAPES; i++) {
        const shape *s = &SHAPES[i];
        double g[2][2], e[2][2];
        for (int th = 1; th <= 2; th++) {
            sbo_blas_set_threads(th);
            g[0][th - 1] = run_s(s, min_time, &e[0][th - 1]);
            g[1][th - 1] = run_d(s, min_time, &e[1][th - 1]);
        }
        double es = fmax(e[0][0], e[0][1]), ed = fmax(e[1][0], e[1][1]);
        if (!(es < 1e-4) || !(ed < 1e-12)) bad = 1;
        printf("%-26s %5d %5d %5d | %9.1f %9.1f | %9.1f %9.1f | %8.1e %8.1e\n", s->label, s->M, s->N, s->K,
               g[0][0], g[0][1], g[1][0], g[1][1], es, ed);
        if (machine)   /* the line the --compare parent reads */
            fprintf(stderr, "RESULT %d %.3f %.3f %.3f %.3f %.3g %.3g\n", i, g[0][0], g[0][1], g[1][0], g[1][1], es, ed);
    }
    if (machine) fprintf(stderr, "CORE %s|%s\n", sbo_blas_vendor(), sbo_blas_corename());
    if (bad) printf("# WARNING: a GEMM result is wrong (error above 1e-4 single / 1e-12 double): do not use this setup\n");
    return bad;
}

// --- --compare: each setup in a child process -------------------------------------------------------------

typedef struct {
    char name[64];
    char core[96];
    int ok;                      /* the child ran and its results were correct */
    char why[128];               /* why not, when !ok */
    double g[N_SHAPES][4];       /* S1 S2 D1 D2 */
    double es[N_SHAPES], ed[N_SHAPES];
} setup_result;

/* Runs `exe --machine [--quick]` with OPENBLAS_CORETYPE=coretype in the child only (NULL: the environment as is),
 * reads its RESULT lines from a pipe on its stderr and lets its table pass through to our stdout. */
static void run_child(const char *exe, const char *coretype, int quick, setup_result *r) {
    int fd[2];
    r->ok = 0;
    if (pipe(fd) != 0) {
        snprintf(r->why, sizeof r->why, "pipe: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->why, sizeof r->why, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        close(fd[1]);
        int devnull = open("/dev/null", O_WRONLY);   /* the parent prints the merged table */
        if (devnull >= 0) dup2(devnull, 1);
        if (coretype) setenv("OPENBLAS_CORETYPE", coretype, 1);   /* the child's environment only */
        execl(exe, exe, "--machine", quick ? "--quick" : "--full", (char *)NULL);
        fprintf(stderr, "EXECFAIL %s\n", strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    FILE *in = fdopen(fd[0], "r");
    char line[512];
    int n = 0;
    while (in && fgets(line, sizeof line, in)) {
        int i;
        double g0, g1, g2, g3, es, ed;
        if (sscanf(line, "RESULT %d %lf %lf %lf %lf %lf %lf", &i, &g0, &g1, &g2, &g3, &es, &ed) == 7 && i >= 0 &&
            i < N_SHAPES) {
            r->g[i][0] = g0, r->g[i][1] = g1, r->g[i][2] = g2, r->g[i][3] = g3;
            r->es[i] = es, r->ed[i] = ed;
            n++;
        } else if (!strncmp(line, "CORE ", 5)) {
            snprintf(r->core, sizeof r->core, "%.90s", line + 5);
            r->core[strcspn(r->core, "\n")] = '\0';
        } else if (!strncmp(line, "EXECFAIL", 8)) {
            snprintf(r->why, sizeof r->why, "cannot run %.40s: %.60s", exe, line + 9);
            r->why[strcspn(r->why, "\n")] = '\0';
        } else {
            fputs(line, stderr);
        }
    }
    if (in) fclose(in);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) {
        snprintf(r->why, sizeof r->why, "child died of signal %d%s", WTERMSIG(st),
                 WTERMSIG(st) == SIGILL ? " (SIGILL: this CPU lacks the kernels' instructions)" : "");
        return;
    }
    if (n != N_SHAPES) {
        if (!r->why[0]) snprintf(r->why, sizeof r->why, "child exited %d with %d of %d results", WEXITSTATUS(st), n, N_SHAPES);
        return;
    }
    if (WEXITSTATUS(st) != 0) {
        snprintf(r->why, sizeof r->why, "wrong results (GEMM error above tolerance)");
        return;
    }
    r->ok = 1;
}

static int run_compare(const char *blis_exe, int quick) {
    cpu_info cpu;
    char la0[128];
    load_average(la0, sizeof la0);
    printf("## bench_gemm --compare: load average at start: %s\n", la0);
    read_cpuinfo(&cpu);
    measure_cpu(&cpu);
    const char *preset = getenv("OPENBLAS_CORETYPE");
    setup_result res[6];
    const char *exe[6], *coretype[6];
    int n = 0;
    memset(res, 0, sizeof res);

    /* the setups: this binary as configured, forced OpenBLAS core types (only when none is preset), BLIS */
    snprintf(res[n].name, sizeof res[n].name, "%s default", sbo_blas_vendor());
    exe[n] = "/proc/self/exe", coretype[n++] = NULL;
#if !defined(SBO_BLAS_BLIS)
    if (preset) {
        printf("## OPENBLAS_CORETYPE=%s is preset on this machine: it is respected, no other core type is tried\n",
               preset);
    } else {
        static const char *const cores[] = {"Haswell", "Zen", "SkylakeX"};
        for (int c = 0; c < 3; c++) {
            snprintf(res[n].name, sizeof res[n].name, "OpenBLAS CORETYPE=%s", cores[c]);
            exe[n] = "/proc/self/exe", coretype[n] = cores[c];
            if (!has_cpu_flag(&cpu, cores[c]))
                snprintf(res[n].why, sizeof res[n].why, "not run: CPU lacks %s", !strcmp(cores[c], "SkylakeX") ? "avx512f" : "avx2/fma");
            n++;
        }
    }
#else
    (void)has_cpu_flag;
#endif
    if (blis_exe) {
        snprintf(res[n].name, sizeof res[n].name, "BLIS build");
        exe[n] = blis_exe, coretype[n] = NULL;
        if (access(blis_exe, X_OK) != 0) snprintf(res[n].why, sizeof res[n].why, "not run: %.60s not built", blis_exe);
        n++;
    }
    /* Rounds: every runnable setup once per round, in turn, keeping the best value per cell. On a shared machine
     * the load drifts during the run; interleaving gives every setup the same chance at a quiet moment. */
    int rounds = quick ? 1 : 2;
    for (int i = 0; i < n; i++)
        printf("## setup %d: %s%s%s%s\n", i + 1, res[i].name, coretype[i] ? " (in a child process only)" : "",
               res[i].why[0] ? ": " : "", res[i].why);
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < n; i++) {
            if (res[i].why[0] && !res[i].ok) continue;   /* not runnable, or failed in an earlier round */
            setup_result r;
            memset(&r, 0, sizeof r);
            run_child(exe[i], coretype[i], quick, &r);
            fprintf(stderr, "bench_gemm: round %d/%d, setup %d/%d (%s) %s\n", round + 1, rounds, i + 1, n,
                    res[i].name, r.ok ? "done" : r.why);
            if (!r.ok) {
                res[i].ok = 0;
                snprintf(res[i].why, sizeof res[i].why, "%s", r.why);
                continue;
            }
            snprintf(res[i].core, sizeof res[i].core, "%s", r.core);
            for (int s = 0; s < N_SHAPES; s++) {
                for (int k = 0; k < 4; k++)
                    if (!res[i].ok || r.g[s][k] > res[i].g[s][k]) res[i].g[s][k] = r.g[s][k];
                res[i].es[s] = fmax(res[i].es[s], r.es[s]), res[i].ed[s] = fmax(res[i].ed[s], r.ed[s]);
            }
            res[i].ok = 1;
        }
    }

    double peak1 = cpu.sp_per_cycle * cpu.ghz;   /* GFLOP/s per core, single precision */
    printf("\n## CPU: %s, %d cores, avx2=%d fma=%d avx512f=%d; clock measured by a dependent-add chain: %.2f GHz\n",
           cpu.model, cpu.cores, cpu.avx2, cpu.fma, cpu.avx512f, cpu.ghz);
    printf("## peak estimate: %s x %.2f GHz = %.0f SP / %.0f DP GFLOP/s per core, %.0f SP / %.0f DP on %d cores\n",
           cpu.assumption, cpu.ghz, peak1, peak1 / 2, peak1 * cpu.cores, peak1 * cpu.cores / 2, cpu.cores);
    if (cpu.fma_gflops > 0)
        printf("## check: a register-only SP FMA loop ran at %.0f GFLOP/s on one core = %.1f FLOP/cycle (%s)\n",
               cpu.fma_gflops, cpu.fma_gflops / cpu.ghz,
               fabs(cpu.fma_gflops / cpu.ghz / cpu.sp_per_cycle - 1) < 0.15 ? "assumption confirmed"
                                                                             : "assumption NOT confirmed");
    printf("\n## comparison (GFLOP/s; S/D = single/double, 1t/2t = BLAS threads; %% = of the SP/DP peak estimate for "
           "the thread count)\n");
    printf("%-26s", "shape");
    for (int i = 0; i < n; i++) printf(" | %-27.27s", res[i].name);
    printf("\n%-26s", "core kernels that ran");
    for (int i = 0; i < n; i++) printf(" | %-27.27s", res[i].ok ? res[i].core : res[i].why);
    printf("\n%-26s", "");
    for (int i = 0; i < n; i++) printf(" | %6s %6s %6s %6s", "S 1t", "S 2t", "D 1t", "D 2t");
    printf("\n");
    for (int s = 0; s < N_SHAPES; s++) {
        printf("%-26s", SHAPES[s].label);
        for (int i = 0; i < n; i++) {
            if (res[i].ok)
                printf(" | %6.1f %6.1f %6.1f %6.1f", res[i].g[s][0], res[i].g[s][1], res[i].g[s][2], res[i].g[s][3]);
            else
                printf(" | %27s", "-");
        }
        printf("\n");
    }
    printf("%-26s", "1024^3 % of peak");
    for (int i = 0; i < n; i++) {
        if (res[i].ok)
            printf(" | %5.0f%% %5.0f%% %5.0f%% %5.0f%%", 100 * res[i].g[0][0] / peak1, 50 * res[i].g[0][1] / peak1,
                   200 * res[i].g[0][2] / peak1, 100 * res[i].g[0][3] / peak1);
        else
            printf(" | %27s", "-");
    }
    printf("\n");
    for (int i = 0; i < n; i++)
        if (!res[i].ok && res[i].why[0]) printf("# %s: %s\n", res[i].name, res[i].why);

    /* recommendation: the fastest correct setup by the geometric mean of single-precision GFLOP/s (the engine's
     * default precision) over the engine's shapes (all but the square one) at 1 BLAS thread. The 2-thread score is
     * printed too but does not decide: on a machine whose other load exceeds a core, 2-thread timings measure the
     * scheduler (see the load average printed below). */
    int best = -1;
    double best_score = 0, score[6][2] = {{0}};
    for (int i = 0; i < n; i++) {
        if (!res[i].ok) continue;
        for (int t = 0; t < 2; t++) {
            double lg = 0;
            for (int s = 1; s < N_SHAPES; s++) lg += log(res[i].g[s][t]);
            score[i][t] = exp(lg / (N_SHAPES - 1));
        }
        if (score[i][0] > best_score) best_score = score[i][0], best = i;
    }
    char la[128];
    load_average(la, sizeof la);
    printf("\n## engine score = geometric mean of SGEMM GFLOP/s over the 5 engine shapes (load average now: %s)\n", la);
    printf("#   %-27s %8s %8s %12s\n", "setup", "1 thread", "2 threads", "1t vs setup 1");
    for (int i = 0; i < n; i++)
        if (res[i].ok)
            printf("#   %-27s %8.1f %8.1f %11.2fx\n", res[i].name, score[i][0], score[i][1],
                   score[0][0] > 0 ? score[i][0] / score[0][0] : 0);
    if (atof(la) > 0.5 * cpu.cores)
        printf("# WARNING: load average %.1f on %d cores: other processes ran during this benchmark; the 2-thread "
               "columns are not reliable, the 1-thread ones (best of many short samples) mostly are\n", atof(la),
               cpu.cores);
    if (best >= 0 && res[0].ok) {
        /* the per-shape ratio of the fastest setup to the default: is the gain broad or one shape? */
        if (best != 0) {
            printf("## %s vs the default, per engine shape (SGEMM, 1 thread):", res[best].name);
            for (int s = 1; s < N_SHAPES; s++) printf(" %.2fx", res[best].g[s][0] / res[0].g[s][0]);
            printf("\n");
        }
        double gain = best_score / score[0][0];
        /* below 5%: noise; 5-15%: real perhaps, but not worth a configuration change without an end-to-end gain */
        const char *verdict = gain < 1.05 ? "keep" : gain < 1.15 ? "marginal" : "change";
        printf("## recommendation: ");
        if (!strcmp(verdict, "keep") || best == 0)
            printf("keep the default (%s, core %s): no other setup is 5%% faster on the engine's shapes at 1 thread; "
                   "SGEMM 1024^3 runs at %.0f%% of the estimated 1-core peak\n", res[0].name, res[0].core,
                   100 * res[0].g[0][0] / peak1);
        else if (!strcmp(verdict, "marginal"))
            printf("keep the default (%s, core %s) unless bench_iter confirms a gain: %s is only %.2fx on the "
                   "engine's shapes at 1 thread (see the per-shape ratios); the default's SGEMM 1024^3 runs at %.0f%% "
                   "of the estimated 1-core peak\n", res[0].name, res[0].core, res[best].name, gain,
                   100 * res[0].g[0][0] / peak1);
        else if (strstr(res[best].name, "CORETYPE"))
            printf("%s (%.2fx the default on the engine's shapes at 1 thread): export OPENBLAS_CORETYPE=%s in the run "
                   "scripts ONLY when it is unset (never override a preset value, never in tests or CI)\n",
                   res[best].name, gain, strchr(res[best].name, '=') + 1);
        else
            printf("%s (%.2fx the default on the engine's shapes at 1 thread): configure with "
                   "-DSBO_BLAS_VENDOR=BLIS\n", res[best].name, gain);
    }
    return 0;
}

int main(int argc, char **argv) {
    int quick = 0, machine = 0, compare = 0;
    const char *blis = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--full")) quick = 0;
        else if (!strcmp(argv[i], "--machine")) machine = 1;
        else if (!strcmp(argv[i], "--compare")) compare = 1;
        else if (!strcmp(argv[i], "--blis") && i + 1 < argc) blis = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--compare [--blis PATH/TO/BLIS/bench_gemm]]\n", argv[0]);
            return 2;
        }
    }
    if (compare) return run_compare(blis, quick);
    return run_table(quick, machine);
}
