/* core/nn/typed.h: the backend calls at one precision (real, SFX from core/nn/template.h), so that an op's typed
 * code reads the same at float and double. Included from template sections; no include guard. */
static inline void SFX(nn_gemm)(const sbo_nn_backend *be, int tA, int tB, int M, int N, int K, real alpha,
                                const real *A, const real *B, real beta, real *C) {
#if SBO_NN_IS_F32
    be->sgemm(tA, tB, M, N, K, alpha, A, tA ? M : K, B, tB ? K : N, beta, C, N);
#else
    be->dgemm(tA, tB, M, N, K, alpha, A, tA ? M : K, B, tB ? K : N, beta, C, N);
#endif
}

static inline void SFX(nn_gemm_batched)(const sbo_nn_backend *be, int tA, int tB, int M, int N, int K, real alpha,
                                        const real *A, long sA, const real *B, long sB, real beta, real *C, long sC,
                                        int count) {
#if SBO_NN_IS_F32
    be->sgemm_batched(tA, tB, M, N, K, alpha, A, tA ? M : K, sA, B, tB ? K : N, sB, beta, C, N, sC, count);
#else
    be->dgemm_batched(tA, tB, M, N, K, alpha, A, tA ? M : K, sA, B, tB ? K : N, sB, beta, C, N, sC, count);
#endif
}

static inline double SFX(nn_dot)(const sbo_nn_backend *be, long n, const real *a, const real *b) {
#if SBO_NN_IS_F32
    return be->sdot(n, a, b);
#else
    return be->ddot(n, a, b);
#endif
}

static inline int SFX(nn_to_real)(const sbo_nn_backend *be, real *dst, const double *src, long n) {
#if SBO_NN_IS_F32
    return be->to_f32(dst, src, n);
#else
    return be->to_f64(dst, src, n);
#endif
}

static inline void SFX(nn_put_real)(const sbo_nn_backend *be, real *dst, const double *src, long n) {
#if SBO_NN_IS_F32
    be->put_f32(dst, src, n);
#else
    be->put_f64(dst, src, n);
#endif
}

static inline void SFX(nn_from_real)(const sbo_nn_backend *be, double *dst, const real *src, long n) {
#if SBO_NN_IS_F32
    be->from_f32(dst, src, n);
#else
    be->from_f64(dst, src, n);
#endif
}

static inline int SFX(nn_same)(const sbo_nn_backend *be, const real *dst, const double *src, long n) {
#if SBO_NN_IS_F32
    return be->same_f32(dst, src, n);
#else
    return be->same_f64(dst, src, n);
#endif
}

/* One element of backend memory: read (the loss, a scalar adjoint) and written (a scalar output) through the
 * backend, never dereferenced on the host (the memory may be a device's). */
static inline real SFX(nn_get1)(const sbo_nn_backend *be, const real *p) {
    real v;
    be->get(&v, p, sizeof v);
    return v;
}
static inline void SFX(nn_set1)(const sbo_nn_backend *be, real *p, real v) { be->put(p, &v, sizeof v); }

static inline void SFX(nn_zero)(const sbo_nn_backend *be, real *p, long n) { be->zero(p, sizeof(real) * (size_t)n); }

/* The kernel id of the body sbo_nn_<name>_body of the current precision (core/nn/kernels.h). */
#undef NN_K
#define NN_K(name) SFX(SBO_NNK_##name)

/* The op's typed function table entry of the current precision. */
#undef SBO_NN_OP_FNS
#if SBO_NN_IS_F32
#define SBO_NN_OP_FNS(desc) ((desc)->f32)
#else
#define SBO_NN_OP_FNS(desc) ((desc)->f64)
#endif
