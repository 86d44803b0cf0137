/* core/nn/backend.h: the backend interface of the network engine: everything that touches tensor elements.
 * Ops and the executor call only this (core/nn/op.h); the CPU backend (core/nn/backend_cpu.c) implements it with
 * BLAS and OpenMP, and a CUDA backend implements the same table with cuBLAS and kernels launched from the bodies
 * of core/nn/kernels_*.h. Matrices are row-major with explicit leading dimensions; "body" functions are the
 * per-element or per-row work of an op, run for every index of a range (the CPU splits the range over threads
 * when the work is large enough; the order of the results does not depend on the split).
 * Exercised by: tests/test_nn.c (every op runs through it), bench/bench_gemm.c. */
#ifndef SBO_NN_BACKEND_H
#define SBO_NN_BACKEND_H
#include <stddef.h>

/* A body does the work of indices [begin, end) of a range, each index independently of the others (so any split
 * of the range gives the same numbers, one index per GPU thread included). Bodies are named by an id of the kernel
 * table (enum sbo_nn_kernel, core/nn/kernels.h), never by a host function pointer, so that a device backend can
 * launch the same SBO_HD body as a __global__ kernel. */
typedef void (*sbo_nn_body_fn)(long begin, long end, const void *arg);

typedef struct sbo_nn_backend {
    const char *name;
    /* 1: the memory of alloc is device memory, which the host never dereferences: the executor reaches it only
     * through this table (put, get, the conversions, sdot), and its arenas count it as device bytes. 0: host. */
    int device;
    /* C (M x N, ldc) = alpha op(A) op(B) + beta C; K = 0 scales C by beta (0: zeroes it). */
    void (*sgemm)(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                  float beta, float *C, int ldc);
    void (*dgemm)(int tA, int tB, int M, int N, int K, double alpha, const double *A, int lda, const double *B,
                  int ldb, double beta, double *C, int ldc);
    /* count independent products, A_i = A + i strideA, and so on (strided batched GEMM). */
    void (*sgemm_batched)(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, long strideA,
                          const float *B, int ldb, long strideB, float beta, float *C, int ldc, long strideC, int count);
    void (*dgemm_batched)(int tA, int tB, int M, int N, int K, double alpha, const double *A, int lda, long strideA,
                          const double *B, int ldb, long strideB, double beta, double *C, int ldc, long strideC,
                          int count);
    /* The range [0, n) through kernel (an enum sbo_nn_kernel id) with its argument struct arg, split over threads
     * or not; work = elements touched per index (decides whether to use threads). A device backend copies *arg
     * by value into the launch: it holds only scalars and pointers into this backend's memory. */
    void (*run)(long n, long work, int kernel, const void *arg);
    /* sum_i a_i b_i (b NULL: sum_i a_i), accumulated in double in index order (deterministic). */
    double (*sdot)(long n, const float *a, const float *b);
    double (*ddot)(long n, const double *a, const double *b);
    /* Memory of the backend (host memory on the CPU, device memory on a GPU): alloc gives bytes aligned to 64 (NULL
     * when there is not enough), release frees them; put and get copy between the host and backend memory. */
    void *(*alloc)(size_t bytes);
    void (*release)(void *p);
    void (*put)(void *dst, const void *host_src, size_t bytes);
    void (*get)(void *host_dst, const void *src, size_t bytes);
    /* Zero, copy (both in backend memory), and conversion from/to the algorithm's doubles
     * (rounding to nearest). to_*: dst[i] = (real)src[i], returns 1 when some dst[i] changed (0: same values). */
    void (*zero)(void *p, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    int (*to_f32)(float *dst, const double *src, long n);
    int (*to_f64)(double *dst, const double *src, long n);
    void (*put_f32)(float *dst, const double *src, long n);     /* the same without the comparison */
    void (*put_f64)(double *dst, const double *src, long n);
    void (*from_f32)(double *dst, const float *src, long n);
    void (*from_f64)(double *dst, const double *src, long n);
    /* 1 when (real)src[i] == dst[i] for every i: the engine's copy of a point equals this point as it rounds it. */
    int (*same_f32)(const float *dst, const double *src, long n);
    int (*same_f64)(const double *dst, const double *src, long n);
} sbo_nn_backend;

const sbo_nn_backend *sbo_nn_backend_cpu(void);
/* The CPU backend with run emulating a device's launch: every kernel one index per thread of an emulated grid, in a
 * scrambled order, on one host thread. Its numbers equal the CPU backend's bit for bit when every body keeps the
 * contract above; the check that the kernels are ready for a device without one (build/test_nn_guarded). */
const sbo_nn_backend *sbo_nn_backend_cpu_grid(void);
#endif
