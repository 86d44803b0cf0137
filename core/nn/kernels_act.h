/* core/nn/kernels_act.h: the per-element bodies of the elementwise activations (ReLU, tanh, GELU, SiLU) as
 * __host__ __device__ functions (STYLE.md pattern 6): the CPU ops of core/nn/op_act.c run them through the
 * backend, core/cuda/sbo_nn_cuda.cu launches them one thread per element, and tests/test_cuda.c runs them over an
 * emulated grid on the host and holds them to the CPU executor bit for bit.
 *
 * Each activation is one eval function giving f(u), f'(u), f''(u); SBO_NN_ACT_BODIES stamps its two bodies,
 * sbo_nn_<act>_forward_thread (forward and jvp) and sbo_nn_<act>_backward_thread (vjp and tvjp). Every body
 * comes in two precisions, name_f32 and name_f64 (core/nn/kernels_template.h instantiates the section below for float, then double).
 * A thread body takes its index t and the count n and does nothing outside [0, n), so a grid rounded up to whole
 * blocks is safe. Arguments: u input, y output, *dot the forward tangent ', *bar the adjoint, *bd = bar'.
 *
 * Numerics. On the host tanh and exp are evaluated in double and rounded, GELU and SiLU in double. The device's float32
 * instance uses tanhf for tanh (the GPU's double rate is 1/2 to 1/64 of its float rate) and keeps double for GELU
 * (its d1 = Phi + u phi cancels for u < 0); so device results agree with the CPU to a few float ulps.
 * Exercised by: build/tests/test_cuda (emulated grid = executor), build/tests/test_nn. */
#ifndef SBO_NN_KERNELS_TEMPLATE
#ifndef SBO_NN_KERNELS_ACT_H
#define SBO_NN_KERNELS_ACT_H
#include <math.h>
#include "core/sbo_rng.h"              /* SBO_HD */
#define SBO_NN_KERNELS_FILE "core/nn/kernels_act.h"
#include "core/nn/kernels_template.h"  /* the _f32 and _f64 instances of the section below */
#endif /* SBO_NN_KERNELS_ACT_H */

#else
/* --- the template: one instance per (nnk_real, NNK) -------------------------------------------------------- */

static inline SBO_HD nnk_real NNK(sbo_nn_tanh1)(nnk_real x) {
#if defined(__CUDA_ARCH__) && NNK_IS_FLOAT
    return tanhf(x);
#else
    return (nnk_real)tanh((double)x);
#endif
}

/* f(u), f'(u), f''(u) of each activation. */
static inline SBO_HD void NNK(sbo_nn_relu_eval)(nnk_real u, nnk_real *y, nnk_real *d1, nnk_real *d2) {
    *y = u > 0 ? u : 0; *d1 = u > 0 ? 1 : 0; *d2 = 0;
}
static inline SBO_HD void NNK(sbo_nn_tanh_eval)(nnk_real u, nnk_real *y, nnk_real *d1, nnk_real *d2) {
    nnk_real t = NNK(sbo_nn_tanh1)(u);
    *y = t; *d1 = 1 - t * t; *d2 = -2 * t * (1 - t * t);
}
/* exact GELU u Phi(u): Phi' = phi, phi' = -u phi; in double on host and device alike */
static inline SBO_HD void NNK(sbo_nn_gelu_eval)(nnk_real u, nnk_real *y, nnk_real *d1, nnk_real *d2) {
    double ud = u, Phi = 0.5 * erfc(-ud / sqrt(2.0)), phi = exp(-0.5 * ud * ud) * 0.3989422804014327 /* 1/sqrt(2 pi) */;
    *y = (nnk_real)(ud * Phi); *d1 = (nnk_real)(Phi + ud * phi); *d2 = (nnk_real)(phi * (2 - ud * ud));
}

/* GELU's value alone, the forward's only need: erfc without the exp of phi (the same y, bit for bit) */
static inline SBO_HD nnk_real NNK(sbo_nn_gelu_y)(nnk_real u) {
    double ud = u, Phi = 0.5 * erfc(-ud / sqrt(2.0));
    return (nnk_real)(ud * Phi);
}

/* SiLU u s(u), s the logistic sigmoid: s' = s (1 - s); in double on host and device alike (exp(-u) overflows to
 * inf for u < -709, giving s = 0, the limit) */
static inline SBO_HD void NNK(sbo_nn_silu_eval)(nnk_real u, nnk_real *y, nnk_real *d1, nnk_real *d2) {
    double ud = u, s = 1.0 / (1.0 + exp(-ud)), ds = s * (1 - s);
    *y = (nnk_real)(ud * s); *d1 = (nnk_real)(s + ud * ds); *d2 = (nnk_real)(ds * (2 + ud * (1 - 2 * s)));
}

/* f(u) alone where that needs less than the eval (GELU: no phi); the others take it from their eval */
#define SBO_NN_ACT_Y_FROM_EVAL(act)                                                                              \
    static inline SBO_HD nnk_real NNK(sbo_nn_##act##_y)(nnk_real u) {                                            \
        nnk_real y, d1, d2;                                                                                      \
        NNK(sbo_nn_##act##_eval)(u, &y, &d1, &d2);                                                               \
        return y;                                                                                                \
    }
SBO_NN_ACT_Y_FROM_EVAL(relu)
SBO_NN_ACT_Y_FROM_EVAL(tanh)
SBO_NN_ACT_Y_FROM_EVAL(silu)
#undef SBO_NN_ACT_Y_FROM_EVAL

/* Forward and jvp, element t of n:  y[t] = f(u[t]);  ydot[t] = f'(u[t]) udot[t]  (0 when udot is NULL).
 * y or ydot may be NULL (not computed).
 * vjp and tvjp (accumulating):  ubar[t] += f'(u) ybar[t];  ubd[t] += f'(u) ybd[t] + f''(u) udot[t] ybar[t]
 * (last term only with udot). ubar or ubd may be NULL; the tvjp reads ybar as well as ybd. */
#define SBO_NN_ACT_BODIES(act)                                                                                   \
    static inline SBO_HD void NNK(sbo_nn_##act##_forward_thread)(long t, long n, const nnk_real *u,              \
                                                                 const nnk_real *udot, nnk_real *y,              \
                                                                 nnk_real *ydot) {                               \
        if (t < 0 || t >= n) return;                                                                             \
        nnk_real yv, d1, d2;                                                                                     \
        NNK(sbo_nn_##act##_eval)(u[t], &yv, &d1, &d2);                                                           \
        if (y) y[t] = yv;                                                                                        \
        if (ydot) ydot[t] = udot ? d1 * udot[t] : 0;                                                             \
    }                                                                                                            \
    static inline SBO_HD void NNK(sbo_nn_##act##_backward_thread)(long t, long n, const nnk_real *u,             \
                                                                  const nnk_real *udot, const nnk_real *ybar,    \
                                                                  const nnk_real *ybd, nnk_real *ubar,           \
                                                                  nnk_real *ubd) {                               \
        if (t < 0 || t >= n) return;                                                                             \
        nnk_real yv, d1, d2;                                                                                     \
        NNK(sbo_nn_##act##_eval)(u[t], &yv, &d1, &d2);                                                           \
        if (ubar) ubar[t] += d1 * ybar[t];                                                                       \
        if (ubd) ubd[t] += d1 * ybd[t] + (udot ? d2 * udot[t] * ybar[t] : 0);                                    \
    }
SBO_NN_ACT_BODIES(relu)
SBO_NN_ACT_BODIES(tanh)
SBO_NN_ACT_BODIES(gelu)
SBO_NN_ACT_BODIES(silu)
#undef SBO_NN_ACT_BODIES
/* --- range bodies (the kernel table's entries, core/nn/kernels.h): indices [i0, i1) of the b x cols elements ----
 * The element loops call the activation's eval (f, f', f'') directly, one loop per case of the optional outputs,
 * so that they vectorize on the CPU; the forward's y loop calls f alone (sbo_nn_<act>_y: GELU's forward skips the
 * exp that only f' and f'' need). The arithmetic is that of the thread bodies above. */
typedef struct {
    long n;
    const nnk_real *u, *ud, *ybar, *ybd;
    nnk_real *y, *yd, *ubar, *ubd;
} NNK(sbo_nn_act_args);

/* forward (y) and jvp (yd: f'(u) ud, 0 without ud) */
#define SBO_NN_ACT_RANGE_BODIES(act)                                                                             \
    static inline SBO_HD void NNK(sbo_nn_##act##_fwd_body)(long i0, long i1, const void *p) {                    \
        const NNK(sbo_nn_act_args) *a = (const NNK(sbo_nn_act_args) *)p;                                         \
        const nnk_real *u = a->u, *ud = a->ud;                                                                   \
        nnk_real *y = a->y, *yd = a->yd;                                                                         \
        if (y)                                                                                                   \
            for (long i = i0; i < i1; i++) y[i] = NNK(sbo_nn_##act##_y)(u[i]);                                   \
        if (yd && ud)                                                                                            \
            for (long i = i0; i < i1; i++) {                                                                     \
                nnk_real v, d1, d2;                                                                              \
                NNK(sbo_nn_##act##_eval)(u[i], &v, &d1, &d2);                                                    \
                yd[i] = d1 * ud[i];                                                                              \
            }                                                                                                    \
        else if (yd)                                                                                             \
            for (long i = i0; i < i1; i++) yd[i] = 0;                                                            \
    }                                                                                                            \
    /* vjp (ubar += f'(u) ybar) and tvjp (ubd += f'(u) ybd + f''(u) ud ybar) */                                  \
    static inline SBO_HD void NNK(sbo_nn_##act##_bwd_body)(long i0, long i1, const void *p) {                    \
        const NNK(sbo_nn_act_args) *a = (const NNK(sbo_nn_act_args) *)p;                                         \
        const nnk_real *u = a->u, *ud = a->ud, *yb = a->ybar, *ybd = a->ybd;                                     \
        nnk_real *ub = a->ubar, *ubd = a->ubd;                                                                   \
        if (ub)                                                                                                  \
            for (long i = i0; i < i1; i++) {                                                                     \
                nnk_real v, d1, d2;                                                                              \
                NNK(sbo_nn_##act##_eval)(u[i], &v, &d1, &d2);                                                    \
                ub[i] += d1 * yb[i];                                                                             \
            }                                                                                                    \
        if (ubd && ud)                                                                                           \
            for (long i = i0; i < i1; i++) {                                                                     \
                nnk_real v, d1, d2;                                                                              \
                NNK(sbo_nn_##act##_eval)(u[i], &v, &d1, &d2);                                                    \
                ubd[i] += d1 * ybd[i] + d2 * ud[i] * yb[i];                                                      \
            }                                                                                                    \
        else if (ubd)                                                                                            \
            for (long i = i0; i < i1; i++) {                                                                     \
                nnk_real v, d1, d2;                                                                              \
                NNK(sbo_nn_##act##_eval)(u[i], &v, &d1, &d2);                                                    \
                ubd[i] += d1 * ybd[i] + 0;                                                                       \
            }                                                                                                    \
    }
SBO_NN_ACT_RANGE_BODIES(relu)
SBO_NN_ACT_RANGE_BODIES(tanh)
SBO_NN_ACT_RANGE_BODIES(gelu)
SBO_NN_ACT_RANGE_BODIES(silu)
#undef SBO_NN_ACT_RANGE_BODIES

/* --- add (and reshape, a copy): y = a + b (a or b NULL: 0); the adjoint sum y += a -------------------------- */
typedef struct {
    const nnk_real *a, *b;
    nnk_real *y;
} NNK(sbo_nn_add_args);

/* one loop per case of the absent addends, so that each vectorizes; an absent addend is still added as 0 (the
 * sum of -0 and 0 is +0) */
static inline SBO_HD void NNK(sbo_nn_add_body)(long i0, long i1, const void *p) {
    const NNK(sbo_nn_add_args) *a = (const NNK(sbo_nn_add_args) *)p;
    const nnk_real *x = a->a, *z = a->b, zero = 0;
    nnk_real *y = a->y;
    if (x && z) for (long i = i0; i < i1; i++) y[i] = x[i] + z[i];
    else if (x) for (long i = i0; i < i1; i++) y[i] = x[i] + zero;
    else if (z) for (long i = i0; i < i1; i++) y[i] = zero + z[i];
    else for (long i = i0; i < i1; i++) y[i] = 0;
}
static inline SBO_HD void NNK(sbo_nn_acc_body)(long i0, long i1, const void *p) {
    const NNK(sbo_nn_add_args) *a = (const NNK(sbo_nn_add_args) *)p;
    const nnk_real *x = a->a;
    nnk_real *y = a->y;
    for (long i = i0; i < i1; i++) y[i] += x[i];
}
#endif /* SBO_NN_KERNELS_TEMPLATE */
