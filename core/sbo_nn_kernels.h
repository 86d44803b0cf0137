/* core/sbo_nn_kernels.h: the per-element and per-row bodies of the non-GEMM ops of the network engine
 * (core/sbo_nn.h) as __host__ __device__ functions (STYLE.md pattern 6). The CPU executor (core/sbo_nn_exec.h)
 * calls them in its loops; core/cuda/sbo_nn_cuda.cu launches them on a grid, one thread per element (activations)
 * or per sample row (cross-entropy); tests/test_cuda.c runs them over an emulated grid on the host and holds the
 * result to the executor's numbers bit for bit. The GEMMs of the linear op are not here (cuBLAS on the device).
 *
 * Every body comes in two precisions, name_f32 and name_f64: this header instantiates its own template section
 * twice (it includes itself with nnk_real = float, then double), so it is self-contained and the executor's
 * template picks its instance with SFX(name). Arguments follow core/sbo_nn_exec.h: u input, y output, *dot the
 * forward tangent ', *bar the adjoint, *bd = bar'. A thread body takes its index t (s for a row) and the count,
 * and does nothing outside [0, count), so a grid rounded up to whole blocks is safe.
 *
 * Numerics. On the host every body is the CPU executor's arithmetic, expression for expression: tanh and exp are
 * evaluated in double and rounded, GELU is evaluated in double, softmax sums in double. The device's float32
 * instance uses tanhf and expf for the per-element transcendentals (the GPU's double rate is 1/2 to 1/64 of its
 * float rate) and keeps double for GELU (its d1 = Phi + u phi cancels for u < 0) and for the per-row softmax sum
 * and logsumexp; so device results agree with the CPU to a few float ulps, not bit for bit.
 * Exercised by: build/tests/test_cuda (emulated grid = executor), build/tests/test_nn, build/tests/test_neural. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_H
#define SBO_NN_KERNELS_H
#include <math.h>
#include "core/sbo_rng.h"   /* SBO_HD */
#include "core/sbo_nn.h"    /* enum sbo_nn_kind: SBO_NN_RELU, SBO_NN_TANH, SBO_NN_GELU */

#define SBO_NN_KERNELS_TEMPLATE 1
#define nnk_real float
#define NNK(name) name##_f32
#define NNK_IS_FLOAT 1
#include "core/sbo_nn_kernels.h"
#undef nnk_real
#undef NNK
#undef NNK_IS_FLOAT
#define nnk_real double
#define NNK(name) name##_f64
#define NNK_IS_FLOAT 0
#include "core/sbo_nn_kernels.h"
#undef nnk_real
#undef NNK
#undef NNK_IS_FLOAT
#undef SBO_NN_KERNELS_TEMPLATE
#endif /* SBO_NN_KERNELS_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

/* exp and tanh of one element: double then rounded on the host (the executor's numbers), float on the device's
 * float32 instance. */
static inline SBO_HD nnk_real NNK(sbo_nn_exp)(nnk_real x) {
#if defined(__CUDA_ARCH__) && NNK_IS_FLOAT
    return expf(x);
#else
    return (nnk_real)exp((double)x);
#endif
}

static inline SBO_HD nnk_real NNK(sbo_nn_tanh)(nnk_real x) {
#if defined(__CUDA_ARCH__) && NNK_IS_FLOAT
    return tanhf(x);
#else
    return (nnk_real)tanh((double)x);
#endif
}

/* --- activations: y = f(u) with f' and f'' ----------------------------------------------------------------- */

/* f(u), f'(u), f''(u) for kind SBO_NN_RELU, SBO_NN_TANH, else GELU (exact: u Phi(u); Phi' = phi, phi' = -u phi). */
static inline SBO_HD void NNK(sbo_nn_act_eval)(int kind, nnk_real u, nnk_real *y, nnk_real *d1, nnk_real *d2) {
    if (kind == SBO_NN_RELU) {
        *y = u > 0 ? u : 0; *d1 = u > 0 ? 1 : 0; *d2 = 0;
    } else if (kind == SBO_NN_TANH) {
        nnk_real t = NNK(sbo_nn_tanh)(u);
        *y = t; *d1 = 1 - t * t; *d2 = -2 * t * (1 - t * t);
    } else {   /* in double on host and device alike */
        double ud = u, Phi = 0.5 * erfc(-ud / sqrt(2.0)), phi = exp(-0.5 * ud * ud) * 0.3989422804014327  /* 1/sqrt(2 pi) */;
        *y = (nnk_real)(ud * Phi); *d1 = (nnk_real)(Phi + ud * phi); *d2 = (nnk_real)(phi * (2 - ud * ud));
    }
}

/* Forward and jvp, element t of n (n = b x cols):
 *   y[t] = f(u[t]);   ydot[t] = f'(u[t]) udot[t]   (0 when udot is NULL: the input carries no tangent).
 * y or ydot may be NULL (not computed): the forward alone is (y, NULL), the jvp alone (NULL, ydot). */
static inline SBO_HD void NNK(sbo_nn_act_forward_thread)(long t, long n, int kind, const nnk_real *u,
                                                        const nnk_real *udot, nnk_real *y, nnk_real *ydot) {
    if (t < 0 || t >= n) return;
    nnk_real yv, d1, d2;
    NNK(sbo_nn_act_eval)(kind, u[t], &yv, &d1, &d2);
    if (y) y[t] = yv;
    if (ydot) ydot[t] = udot ? d1 * udot[t] : 0;
}

/* vjp and tvjp, element t of n (accumulating, as every backward of the engine):
 *   ubar[t] += f'(u) ybar[t];   ubd[t] += f'(u) ybd[t] + f''(u) udot[t] ybar[t]   (last term only with udot).
 * ubar or ubd may be NULL (not computed): the vjp alone is (ubar, NULL), the tvjp alone (NULL, ubd); the tvjp
 * reads ybar as well as ybd. */
static inline SBO_HD void NNK(sbo_nn_act_backward_thread)(long t, long n, int kind, const nnk_real *u,
                                                         const nnk_real *udot, const nnk_real *ybar,
                                                         const nnk_real *ybd, nnk_real *ubar, nnk_real *ubd) {
    if (t < 0 || t >= n) return;
    nnk_real yv, d1, d2;
    NNK(sbo_nn_act_eval)(kind, u[t], &yv, &d1, &d2);
    if (ubar) ubar[t] += d1 * ybar[t];
    if (ubd) ubd[t] += d1 * ybd[t] + (udot ? d2 * udot[t] * ybar[t] : 0);
}

/* --- softmax cross-entropy, one sample row: y = logsumexp(z) - z[label] ------------------------------------ */

/* Row statistics: *mx = max_c z[c], *sum = sum_c e_c with e_c = exp(z[c] - mx) rounded to nnk_real, summed in
 * double. With p given (C entries) also p[c] = e_c / sum rounded, the softmax row. */
static inline SBO_HD void NNK(sbo_nn_softmax_stats)(const nnk_real *z, int C, nnk_real *p, nnk_real *mx,
                                                    double *sum) {
    nnk_real m = z[0];
    for (int c = 1; c < C; c++) if (z[c] > m) m = z[c];
    double s = 0;
    if (p) {
        for (int c = 0; c < C; c++) { p[c] = NNK(sbo_nn_exp)(z[c] - m); s += p[c]; }
        for (int c = 0; c < C; c++) p[c] = (nnk_real)(p[c] / s);
    } else {
        for (int c = 0; c < C; c++) s += NNK(sbo_nn_exp)(z[c] - m);
    }
    *mx = m;
    *sum = s;
}

/* Softmax entry c: the stored row when p is given, else recomputed with the same two roundings (same bits). */
static inline SBO_HD nnk_real NNK(sbo_nn_softmax_p)(const nnk_real *z, int c, nnk_real mx, double sum,
                                                    const nnk_real *p) {
    return p ? p[c] : (nnk_real)(NNK(sbo_nn_exp)(z[c] - mx) / sum);
}

/* Forward and jvp of row s of b (z, zdot: b x C row-major; labels[s] in [0, C)):
 *   y[s] = logsumexp(z_s) - z_s[label];   ydot[s] = <softmax(z_s), zdot_s> - zdot_s[label]  (0 when zdot is NULL).
 * y or ydot may be NULL (not computed). p: scratch of C entries for the softmax row (the CPU executor: a stack
 * array), or NULL to recompute each entry where it is used (the device: no per-thread array); same bits. */
static inline SBO_HD void NNK(sbo_nn_xent_forward_row)(long s, long b, int C, const nnk_real *z, const int *labels,
                                                      const nnk_real *zdot, nnk_real *y, nnk_real *ydot,
                                                      nnk_real *p) {
    if (s < 0 || s >= b) return;
    const nnk_real *zs = z + s * C;
    nnk_real mx;
    double sum;
    NNK(sbo_nn_softmax_stats)(zs, C, p, &mx, &sum);
    int lab = labels[s];
    if (y) {
        nnk_real lse = (nnk_real)(mx + log(sum));
        y[s] = lse - zs[lab];
    }
    if (ydot) {
        nnk_real t = 0;
        if (zdot) {
            const nnk_real *zd = zdot + s * C;
            for (int c = 0; c < C; c++) t += NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) * zd[c];
            t -= zd[lab];
        }
        ydot[s] = t;
    }
}

/* vjp and tvjp of row s of b (accumulating; q = softmax(z_s), e = the label's indicator):
 *   zbar_s += ybar[s] (q - e);
 *   zbd_s  += ybd[s] (q - e) + ybar[s] q .* (zdot_s - <q, zdot_s>)   (last term only with zdot).
 * zbar or zbd may be NULL (not computed); the tvjp reads ybar as well as ybd. p as in the forward. */
static inline SBO_HD void NNK(sbo_nn_xent_backward_row)(long s, long b, int C, const nnk_real *z, const int *labels,
                                                       const nnk_real *zdot, const nnk_real *ybar,
                                                       const nnk_real *ybd, nnk_real *zbar, nnk_real *zbd,
                                                       nnk_real *p) {
    if (s < 0 || s >= b) return;
    const nnk_real *zs = z + s * C;
    nnk_real mx;
    double sum;
    NNK(sbo_nn_softmax_stats)(zs, C, p, &mx, &sum);
    int lab = labels[s];
    nnk_real lb = ybar[s];
    if (zbar) {
        nnk_real *zb = zbar + s * C;
        for (int c = 0; c < C; c++) zb[c] += lb * (NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) - (c == lab));
    }
    if (!zbd) return;
    nnk_real *zr = zbd + s * C, lbd = ybd[s], pz = 0;
    if (zdot) {
        const nnk_real *zd = zdot + s * C;
        for (int c = 0; c < C; c++) pz += NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) * zd[c];
        for (int c = 0; c < C; c++) {
            nnk_real q = NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p);
            zr[c] += lbd * (q - (c == lab)) + lb * q * (zd[c] - pz);
        }
    } else {
        for (int c = 0; c < C; c++) zr[c] += lbd * (NNK(sbo_nn_softmax_p)(zs, c, mx, sum, p) - (c == lab));
    }
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
