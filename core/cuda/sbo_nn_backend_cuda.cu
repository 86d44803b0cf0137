/* core/cuda/sbo_nn_backend_cuda.cu: the CUDA backend of the network engine (core/nn/backend_cuda.h), the table of
 * core/nn/backend.h over device memory: cuBLAS for the GEMMs, kernels stamped from the SBO_HD bodies of
 * core/nn/kernels_reduce.h (the deterministic two-pass dot product) and core/nn/kernels_convert.h (conversions,
 * comparisons, K = 0 GEMMs), and sbo_nn_cuda_launch (core/cuda/sbo_nn_kernels.cuh) for the ops' bodies.
 * State: one cuBLAS handle and one stream, created on first use, plus a device staging buffer for the host
 * doubles of to_* / put_f32 / from_f32 / same_*, grown as needed and kept. Not thread-safe (the engine calls its
 * backend from one thread). Everything is queued on the stream; members whose result the host reads (sdot, ddot,
 * get, from_*, the flags of to_* and same_*) synchronize it.
 * Built when WITH_CUDA=ON (nvcc found); runs only where a device exists (none on the project machines).
 * Exercised by: build/tests/test_cuda (bodies on an emulated grid; the device tests skip without a GPU). */
#include "core/nn/backend_cuda.h"          /* sbo_nn_backend, sbo_nn_backend_cuda (extern "C") */
#include "core/sbo_cuda.h"                 /* sbo_cuda_last_error */
#include "core/nn/kernels_reduce.h"        /* sbo_nn_dot_*: the two-pass tree */
#include "core/nn/kernels_convert.h"       /* sbo_nn_{to,from,same,scale}_thread_{f32,f64} */
#include "core/cuda/sbo_cuda_common.cuh"   /* CUDA_CHECK_FATAL, CUBLAS_CHECK, sbo_cuda_fatal, k_block, grid_for */
#include "core/cuda/sbo_nn_kernels.cuh"    /* sbo_nn_cuda_launch */

// --- state ---------------------------------------------------------------------------------------
typedef struct {
    int ready;
    cudaStream_t stream;
    cublasHandle_t blas;
    double *d_sums;      /* SBO_NN_DOT_GRID_MAX partial sums of pass 1, then the result of pass 2 */
    int *d_flag;         /* the "changed" / "differs" flag of to_* and same_* */
    double *d_staging;   /* host doubles on the device */
    size_t staging_bytes;
} cuda_state;

static cuda_state g_state;

static cuda_state *state(void) {
    cuda_state *s = &g_state;
    if (s->ready) return s;
    CUDA_CHECK_FATAL(cudaStreamCreate(&s->stream));   /* a blocking stream: ordered with the legacy default stream */
    CUBLAS_CHECK(cublasCreate(&s->blas));
    CUBLAS_CHECK(cublasSetStream(s->blas, s->stream));
    /* CUBLAS_DEFAULT_MATH, set explicitly: compute and storage with at least the precision and range of the data
     * type in every phase, so FP32 GEMMs multiply and add in FP32 (FP64 in FP64), as the CPU's BLAS does. TF32 tensor
     * cores and the BF16x9 and fixed-point emulations each need their own mode flag, which this handle never gets.
     * PEDANTIC_MATH would further pin the internal storage format exactly, for no difference in FP32 / FP64 GEMMs
     * that we rely on, and can cost speed. */
    CUBLAS_CHECK(cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH));
    CUDA_CHECK_FATAL(cudaMalloc(&s->d_sums, sizeof(double) * (SBO_NN_DOT_GRID_MAX + 1)));
    CUDA_CHECK_FATAL(cudaMalloc(&s->d_flag, sizeof(int)));
    s->ready = 1;
    return s;
}

/* The staging buffer, at least n doubles. */
static double *staging(cuda_state *s, long n) {
    size_t bytes = sizeof(double) * (size_t)n;
    if (bytes > s->staging_bytes) {
        CUDA_CHECK_FATAL(cudaFree(s->d_staging));   /* waits for the work that still reads it */
        s->d_staging = NULL;
        s->staging_bytes = 0;
        CUDA_CHECK_FATAL(cudaMalloc(&s->d_staging, bytes));
        s->staging_bytes = bytes;
    }
    return s->d_staging;
}

/* Reads the flag of to_* / same_* once the stream is done. */
static int read_flag(cuda_state *s) {
    int flag = 0;
    CUDA_CHECK_FATAL(cudaMemcpyAsync(&flag, s->d_flag, sizeof flag, cudaMemcpyDeviceToHost, s->stream));
    CUDA_CHECK_FATAL(cudaStreamSynchronize(s->stream));
    return flag;
}

// --- kernels -------------------------------------------------------------------------------------
/* The bodies by precision, so one template kernel serves float and double. The kernels are static: the op
 * kernels of sbo_nn_cuda_launch live in other translation units. */
static __device__ __forceinline__ double dot_thread(long t, long T, long n, const float *a, const float *b) {
    return sbo_nn_dot_thread_f32(t, T, n, a, b);
}
static __device__ __forceinline__ double dot_thread(long t, long T, long n, const double *a, const double *b) {
    return sbo_nn_dot_thread_f64(t, T, n, a, b);
}
static __device__ __forceinline__ void to_thread(long t, long n, float *dst, const double *src, int *changed) {
    sbo_nn_to_thread_f32(t, n, dst, src, changed);
}
static __device__ __forceinline__ void to_thread(long t, long n, double *dst, const double *src, int *changed) {
    sbo_nn_to_thread_f64(t, n, dst, src, changed);
}
static __device__ __forceinline__ void same_thread(long t, long n, const float *dst, const double *src, int *differs) {
    sbo_nn_same_thread_f32(t, n, dst, src, differs);
}
static __device__ __forceinline__ void same_thread(long t, long n, const double *dst, const double *src,
                                                   int *differs) {
    sbo_nn_same_thread_f64(t, n, dst, src, differs);
}
static __device__ __forceinline__ void scale_thread(long t, int M, int N, int count, float beta, float *C, int ldc,
                                                    long sC) {
    sbo_nn_scale_thread_f32(t, M, N, count, beta, C, ldc, sC);
}
static __device__ __forceinline__ void scale_thread(long t, int M, int N, int count, double beta, double *C, int ldc,
                                                    long sC) {
    sbo_nn_scale_thread_f64(t, M, N, count, beta, C, ldc, sC);
}

static __device__ __forceinline__ long thread_index(void) { return (long)blockIdx.x * blockDim.x + threadIdx.x; }

/* One pass of the dot product (kernels_reduce.h): out[blk] = the block's tree over its threads' sums. */
template <typename real>
static __global__ void sbo_nn_backend_dot_kernel(long n, const real *a, const real *b, double *out) {
    __shared__ double s[SBO_NN_DOT_BLOCK];
    s[threadIdx.x] = dot_thread(thread_index(), (long)gridDim.x * SBO_NN_DOT_BLOCK, n, a, b);
    __syncthreads();
    for (int half = SBO_NN_DOT_BLOCK / 2; half > 0; half /= 2) {
        sbo_nn_dot_tree_step((int)threadIdx.x, half, s);
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

template <typename real>
static __global__ void sbo_nn_backend_to_kernel(long n, real *dst, const double *src, int *changed) {
    to_thread(thread_index(), n, dst, src, changed);
}

static __global__ void sbo_nn_backend_from_f32_kernel(long n, double *dst, const float *src) {
    sbo_nn_from_thread_f32(thread_index(), n, dst, src);
}

template <typename real>
static __global__ void sbo_nn_backend_same_kernel(long n, const real *dst, const double *src, int *differs) {
    same_thread(thread_index(), n, dst, src, differs);
}

template <typename real>
static __global__ void sbo_nn_backend_scale_kernel(int M, int N, int count, real beta, real *C, int ldc, long sC) {
    scale_thread(thread_index(), M, N, count, beta, C, ldc, sC);
}

#define LAUNCHED() CUDA_CHECK_FATAL(cudaGetLastError())

// --- GEMM ----------------------------------------------------------------------------------------
static cublasOperation_t blas_op(int t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

/* cuBLAS by precision; count 1 is a plain GEMM. */
static cublasStatus_t blas_gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const float *alpha, const float *A, int lda, long sA, const float *B, int ldb,
                                long sB, const float *beta, float *C, int ldc, long sC, int count) {
    if (count == 1) return cublasSgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, count);
}
static cublasStatus_t blas_gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const double *alpha, const double *A, int lda, long sA, const double *B, int ldb,
                                long sB, const double *beta, double *C, int ldc, long sC, int count) {
    if (count == 1) return cublasDgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, count);
}

/* C_i (M x N, ldc, row-major) = alpha op(A_i) op(B_i) + beta C_i for i < count. cuBLAS is column-major, where a
 * row-major matrix reads as its transpose: so it computes C^T = op(B)^T op(A)^T, B first, with N and M swapped and
 * each operand keeping its own transpose flag. K = 0 is C = beta C (beta 0: zeros, C not read). */
template <typename real>
static void gemm_row_major(int tA, int tB, int M, int N, int K, real alpha, const real *A, int lda, long sA,
                           const real *B, int ldb, long sB, real beta, real *C, int ldc, long sC, int count) {
    if (M <= 0 || N <= 0 || count <= 0) return;
    cuda_state *s = state();
    if (K == 0) {
        sbo_nn_backend_scale_kernel<real><<<grid_for((long)M * N * count), k_block, 0, s->stream>>>(M, N, count, beta,
                                                                                                     C, ldc, sC);
        LAUNCHED();
        return;
    }
    CUBLAS_CHECK(blas_gemm(s->blas, blas_op(tB), blas_op(tA), N, M, K, &alpha, B, ldb, sB, A, lda, sA, &beta, C, ldc,
                           sC, count));
}

static void cuda_sgemm(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, float *C, int ldc) {
    gemm_row_major(tA, tB, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
static void cuda_dgemm(int tA, int tB, int M, int N, int K, double alpha, const double *A, int lda, const double *B,
                       int ldb, double beta, double *C, int ldc) {
    gemm_row_major(tA, tB, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
static void cuda_sgemm_batched(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, long sA,
                               const float *B, int ldb, long sB, float beta, float *C, int ldc, long sC, int count) {
    gemm_row_major(tA, tB, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, count);
}
static void cuda_dgemm_batched(int tA, int tB, int M, int N, int K, double alpha, const double *A, int lda, long sA,
                               const double *B, int ldb, long sB, double beta, double *C, int ldc, long sC,
                               int count) {
    gemm_row_major(tA, tB, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, count);
}

// --- run -----------------------------------------------------------------------------------------
/* The ops' bodies: one launch of kernel's __global__ wrapper over [0, n) (core/cuda/sbo_nn_kernels.cu; work only
 * steers the CPU's threads). */
static void cuda_run(long n, long work, int kernel, const void *arg) {
    (void)work;
    if (n <= 0) return;
    if (sbo_nn_cuda_launch(kernel, n, arg, state()->stream) != 0)
        sbo_cuda_fatal(__FILE__, __LINE__, "sbo_nn_cuda_launch(kernel, n, arg, stream)", sbo_cuda_last_error());
}

// --- reductions ----------------------------------------------------------------------------------
/* The two passes of kernels_reduce.h; the result is read back (synchronizes). */
template <typename real>
static double dot(long n, const real *a, const real *b) {
    if (n <= 0) return 0;
    cuda_state *s = state();
    long grid = sbo_nn_dot_grid(n);
    sbo_nn_backend_dot_kernel<real><<<(unsigned)grid, SBO_NN_DOT_BLOCK, 0, s->stream>>>(n, a, b, s->d_sums);
    LAUNCHED();
    double *result = s->d_sums + SBO_NN_DOT_GRID_MAX;
    sbo_nn_backend_dot_kernel<double><<<1, SBO_NN_DOT_BLOCK, 0, s->stream>>>(grid, s->d_sums, NULL, result);
    LAUNCHED();
    double sum = 0;
    CUDA_CHECK_FATAL(cudaMemcpyAsync(&sum, result, sizeof sum, cudaMemcpyDeviceToHost, s->stream));
    CUDA_CHECK_FATAL(cudaStreamSynchronize(s->stream));
    return sum;
}

static double cuda_sdot(long n, const float *a, const float *b) { return dot(n, a, b); }
static double cuda_ddot(long n, const double *a, const double *b) { return dot(n, a, b); }

// --- memory --------------------------------------------------------------------------------------
/* cudaMalloc's pointers are aligned to 256 bytes (the table asks 64). NULL on failure, reason in
 * sbo_cuda_last_error(); an out-of-memory error is not sticky, so the backend stays usable. */
static void *cuda_alloc(size_t bytes) {
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes ? bytes : 64);   /* a real pointer for 0 bytes, as the CPU gives */
    if (err != cudaSuccess) {
        snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "cudaMalloc(%zu): %s", bytes,
                 cudaGetErrorString(err));
        cudaGetLastError();
        return NULL;
    }
    return p;
}

static void cuda_release(void *p) {
    if (p) CUDA_CHECK_FATAL(cudaFree(p));
}

/* From pageable host memory cudaMemcpyAsync returns once src has been staged, so the caller may reuse it. */
static void cuda_put(void *dst, const void *host_src, size_t bytes) {
    if (bytes) CUDA_CHECK_FATAL(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, state()->stream));
}

static void cuda_get(void *host_dst, const void *src, size_t bytes) {
    if (!bytes) return;
    cuda_state *s = state();
    CUDA_CHECK_FATAL(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, s->stream));
    CUDA_CHECK_FATAL(cudaStreamSynchronize(s->stream));
}

static void cuda_zero(void *p, size_t bytes) {
    if (bytes) CUDA_CHECK_FATAL(cudaMemsetAsync(p, 0, bytes, state()->stream));
}

static void cuda_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK_FATAL(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, state()->stream));
}

// --- conversions ---------------------------------------------------------------------------------
/* dst = (real)src on the device through the staging buffer; compare: returns the "changed" flag (synchronizes). */
template <typename real>
static int to_device(real *dst, const double *src, long n, int compare) {
    if (n <= 0) return 0;
    cuda_state *s = state();
    double *d_src = staging(s, n);
    CUDA_CHECK_FATAL(cudaMemcpyAsync(d_src, src, sizeof(double) * (size_t)n, cudaMemcpyHostToDevice, s->stream));
    if (compare) CUDA_CHECK_FATAL(cudaMemsetAsync(s->d_flag, 0, sizeof(int), s->stream));
    int *changed = compare ? s->d_flag : NULL;
    sbo_nn_backend_to_kernel<real><<<grid_for(n), k_block, 0, s->stream>>>(n, dst, d_src, changed);
    LAUNCHED();
    return compare ? read_flag(s) : 0;
}

static int cuda_to_f32(float *dst, const double *src, long n) { return to_device(dst, src, n, 1); }
static int cuda_to_f64(double *dst, const double *src, long n) { return to_device(dst, src, n, 1); }
static void cuda_put_f32(float *dst, const double *src, long n) { to_device(dst, src, n, 0); }
static void cuda_put_f64(double *dst, const double *src, long n) {
    if (n > 0) cuda_put(dst, src, sizeof(double) * (size_t)n);
}

static void cuda_from_f32(double *dst, const float *src, long n) {
    if (n <= 0) return;
    cuda_state *s = state();
    double *d_dst = staging(s, n);
    sbo_nn_backend_from_f32_kernel<<<grid_for(n), k_block, 0, s->stream>>>(n, d_dst, src);
    LAUNCHED();
    cuda_get(dst, d_dst, sizeof(double) * (size_t)n);
}
static void cuda_from_f64(double *dst, const double *src, long n) {
    if (n > 0) cuda_get(dst, src, sizeof(double) * (size_t)n);
}

/* 1 when (real)src[i] == dst[i] for every i (synchronizes). */
template <typename real>
static int same(const real *dst, const double *src, long n) {
    if (n <= 0) return 1;
    cuda_state *s = state();
    double *d_src = staging(s, n);
    CUDA_CHECK_FATAL(cudaMemcpyAsync(d_src, src, sizeof(double) * (size_t)n, cudaMemcpyHostToDevice, s->stream));
    CUDA_CHECK_FATAL(cudaMemsetAsync(s->d_flag, 0, sizeof(int), s->stream));
    sbo_nn_backend_same_kernel<real><<<grid_for(n), k_block, 0, s->stream>>>(n, dst, d_src, s->d_flag);
    LAUNCHED();
    return !read_flag(s);
}

static int cuda_same_f32(const float *dst, const double *src, long n) { return same(dst, src, n); }
static int cuda_same_f64(const double *dst, const double *src, long n) { return same(dst, src, n); }

// --- the table -----------------------------------------------------------------------------------
static const sbo_nn_backend cuda_backend = {
    .name = "cuda (cuBLAS + kernels of core/nn/kernels_*.h)", .device = 1,
    .sgemm = cuda_sgemm, .dgemm = cuda_dgemm, .sgemm_batched = cuda_sgemm_batched, .dgemm_batched = cuda_dgemm_batched,
    .run = cuda_run,
    .sdot = cuda_sdot, .ddot = cuda_ddot, .alloc = cuda_alloc, .release = cuda_release, .put = cuda_put,
    .get = cuda_get, .zero = cuda_zero, .copy = cuda_copy, .to_f32 = cuda_to_f32, .to_f64 = cuda_to_f64,
    .put_f32 = cuda_put_f32, .put_f64 = cuda_put_f64, .from_f32 = cuda_from_f32, .from_f64 = cuda_from_f64,
    .same_f32 = cuda_same_f32, .same_f64 = cuda_same_f64};

extern "C" const sbo_nn_backend *sbo_nn_backend_cuda(void) { return &cuda_backend; }
