/* core/nn/backend_cpu.c: the CPU backend of the network engine (core/nn/backend.h): CBLAS GEMMs (OpenBLAS or
 * BLIS), bodies over index ranges with OpenMP above a work threshold, sequential double reductions.
 * Exercised by: tests/test_nn.c, every image task. */
#include "core/nn/backend.h"   /* the interface */
#include "core/nn/kernels.h"   /* the kernel table: every body, by id */
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#if defined(SBO_BLAS_BLIS)
#include <blis.h>
#else
#include <cblas.h>
#endif

#define SBO_NN_PAR_WORK 65536L   /* below this many elements a range runs on one thread */

static void cpu_sgemm(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(long)i * ldc + j] = beta == 0 ? 0 : beta * C[(long)i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}

static void cpu_dgemm(int tA, int tB, int M, int N, int K, double alpha, const double *A, int lda, const double *B,
                      int ldb, double beta, double *C, int ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(long)i * ldc + j] = beta == 0 ? 0 : beta * C[(long)i * ldc + j];
        return;
    }
    cblas_dgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}

/* OpenBLAS 0.3.21 has no strided batched GEMM in its CBLAS interface: a loop of GEMMs (each threaded by BLAS). */
static void cpu_sgemm_batched(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, long sA,
                              const float *B, int ldb, long sB, float beta, float *C, int ldc, long sC, int count) {
    for (int i = 0; i < count; i++)
        cpu_sgemm(tA, tB, M, N, K, alpha, A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, ldc);
}

static void cpu_dgemm_batched(int tA, int tB, int M, int N, int K, double alpha, const double *A, int lda, long sA,
                              const double *B, int ldb, long sB, double beta, double *C, int ldc, long sC, int count) {
    for (int i = 0; i < count; i++)
        cpu_dgemm(tA, tB, M, N, K, alpha, A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, ldc);
}

/* The bodies by kernel id (core/nn/kernels.h). */
#define CPU_KERNEL_(name, args) [SBO_NNK_##name##_f32] = sbo_nn_##name##_body_f32, \
                                [SBO_NNK_##name##_f64] = sbo_nn_##name##_body_f64,
static const sbo_nn_body_fn cpu_kernels[SBO_NN_N_KERNELS] = {SBO_NN_KERNEL_LIST(CPU_KERNEL_)};
#undef CPU_KERNEL_

#define KERNEL_NAME_(name, args) [SBO_NNK_##name##_f32] = #name "_f32", [SBO_NNK_##name##_f64] = #name "_f64",
static const char *const kernel_names[SBO_NN_N_KERNELS] = {SBO_NN_KERNEL_LIST(KERNEL_NAME_)};
#undef KERNEL_NAME_

const char *sbo_nn_kernel_name(int k) { return k >= 0 && k < SBO_NN_N_KERNELS ? kernel_names[k] : "?"; }

static void cpu_run(long n, long work, int kernel, const void *arg) {
    if (n <= 0) return;
    sbo_nn_body_fn body = cpu_kernels[kernel];
    if (n * (work > 0 ? work : 1) <= SBO_NN_PAR_WORK || n < 2 || omp_get_max_threads() < 2) {
        body(0, n, arg);
        return;
    }
#pragma omp parallel
    {   /* one contiguous chunk per thread */
        long T = omp_get_num_threads(), t = omp_get_thread_num();
        body(n * t / T, n * (t + 1) / T, arg);
    }
}

static double cpu_sdot(long n, const float *a, const float *b) {
    double s = 0;
    if (b) for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    else for (long i = 0; i < n; i++) s += a[i];
    return s;
}

static double cpu_ddot(long n, const double *a, const double *b) {
    double s = 0;
    if (b) for (long i = 0; i < n; i++) s += a[i] * b[i];
    else for (long i = 0; i < n; i++) s += a[i];
    return s;
}

/* Backend memory is host memory: 64-byte aligned (the arenas' alignment, core/sbo_arena.c). */
static void *cpu_alloc(size_t bytes) {
    size_t rounded = bytes ? (bytes + 63) / 64 * 64 : 64;   /* aligned_alloc wants a multiple of the alignment */
    return aligned_alloc(64, rounded);
}
static void cpu_release(void *p) { free(p); }
static void cpu_put(void *dst, const void *src, size_t bytes) { if (bytes) memcpy(dst, src, bytes); }

static void cpu_zero(void *p, size_t bytes) { if (bytes) memset(p, 0, bytes); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { if (bytes) memcpy(dst, src, bytes); }

static int cpu_to_f32(float *dst, const double *src, long n) {
    int changed = 0;
    for (long i = 0; i < n; i++) {
        float v = (float)src[i];
        changed |= v != dst[i];
        dst[i] = v;
    }
    return changed;
}
static int cpu_to_f64(double *dst, const double *src, long n) {
    int changed = 0;
    for (long i = 0; i < n; i++) {
        changed |= src[i] != dst[i];
        dst[i] = src[i];
    }
    return changed;
}
static void cpu_put_f32(float *dst, const double *src, long n) { for (long i = 0; i < n; i++) dst[i] = (float)src[i]; }
static void cpu_put_f64(double *dst, const double *src, long n) { if (n) memcpy(dst, src, sizeof(double) * (size_t)n); }
static void cpu_from_f32(double *dst, const float *src, long n) { for (long i = 0; i < n; i++) dst[i] = src[i]; }
static void cpu_from_f64(double *dst, const double *src, long n) { if (n) memcpy(dst, src, sizeof(double) * (size_t)n); }
static int cpu_same_f32(const float *dst, const double *src, long n) {
    for (long i = 0; i < n; i++) if ((float)src[i] != dst[i]) return 0;
    return 1;
}
static int cpu_same_f64(const double *dst, const double *src, long n) {
    for (long i = 0; i < n; i++) if (src[i] != dst[i]) return 0;
    return 1;
}

/* The cpu-grid backend's run: a device's launch emulated on the host. Index t of [0, n) is thread t of a grid of
 * SBO_NN_GRID_BLOCK-thread blocks, and each thread calls the body on [t, t + 1) alone, the blocks from last to
 * first and the threads of a block in a scrambled order (a GPU promises no order). A body that reads another
 * index's result, or that does not give the same numbers on any split of its range, then differs from the CPU
 * backend. */
#define SBO_NN_GRID_BLOCK 256L
static void grid_run(long n, long work, int kernel, const void *arg) {
    (void)work;
    if (n <= 0) return;
    sbo_nn_body_fn body = cpu_kernels[kernel];
    for (long blk = (n - 1) / SBO_NN_GRID_BLOCK; blk >= 0; blk--)
        for (long thr = 0; thr < SBO_NN_GRID_BLOCK; thr++) {
            long t = blk * SBO_NN_GRID_BLOCK + (thr * 37) % SBO_NN_GRID_BLOCK;   /* 37 is prime to the block */
            if (t < n) body(t, t + 1, arg);
        }
}

static const sbo_nn_backend cpu_backend = {
    .name = "cpu (CBLAS + OpenMP)", .device = 0,
    .sgemm = cpu_sgemm, .dgemm = cpu_dgemm, .sgemm_batched = cpu_sgemm_batched, .dgemm_batched = cpu_dgemm_batched,
    .run = cpu_run, .alloc = cpu_alloc, .release = cpu_release, .put = cpu_put, .get = cpu_put,
    .sdot = cpu_sdot, .ddot = cpu_ddot, .zero = cpu_zero, .copy = cpu_copy,
    .to_f32 = cpu_to_f32, .to_f64 = cpu_to_f64, .put_f32 = cpu_put_f32, .put_f64 = cpu_put_f64, .from_f32 = cpu_from_f32, .from_f64 = cpu_from_f64,
    .same_f32 = cpu_same_f32, .same_f64 = cpu_same_f64};

const sbo_nn_backend *sbo_nn_backend_cpu(void) { return &cpu_backend; }

const sbo_nn_backend *sbo_nn_backend_cpu_grid(void) {
    static sbo_nn_backend grid;
    if (!grid.run) {   /* the CPU backend but for run */
        grid = cpu_backend;
        grid.name = "cpu-grid (CBLAS; every kernel one index per emulated GPU thread, scrambled order)";
        grid.run = grid_run;
    }
    return &grid;
}
