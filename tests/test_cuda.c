/* tests/test_cuda.c: the CUDA seam (core/sbo_cuda.h, core/sbo_kernels.h; for the network ops core/sbo_nn_cuda.h,
 * core/nn/kernels_act.h, core/nn/kernels_xent.h). The kernels' per-thread bodies run here on the host over an emulated grid and must
 * equal the CPU references bit for bit (for the network ops: the float32 executor of core/nn/nn.h); the Philox
 * body must reproduce the Random123 known answer. The device tests run only where a GPU exists and otherwise skip
 * with the reason (no GPU on the project machines).
 * Run: ctest -R test_cuda, or build-core/test_cuda --verbose. */
#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_cuda.h"        /* launchers and availability */
#include "core/sbo_kernels.h"     /* the per-thread bodies */
#include "core/nn/nn.h"          /* the network executor: the CPU reference of the network ops */
#include "core/sbo_nn_cuda.h"     /* the network-op launchers */
#include "core/nn/kernels_act.h"   /* the activation bodies (_f32 instance) */
#include "core/nn/kernels_xent.h"  /* the cross-entropy bodies (_f32 instance) */
#include "core/sbo_rng.h"         /* sbo_philox_uniform, streams: the CPU reference */
#include "core/sbo_tuple.h"       /* sbo_vec_axpy: the CPU reference */

/* Runs body over gridDim x blockDim threads, in a scrambled order (a GPU gives no order guarantee). */
#define EMULATE_GRID(grid, block, t, body)                          \
    for (long blk_ = (grid) - 1; blk_ >= 0; blk_--)                 \
        for (long thr_ = 0; thr_ < (block); thr_++) {               \
            long t = blk_ * (block) + ((thr_ * 7) % (block));       \
            body;                                                   \
        }

Test(kernels, axpy_thread_on_emulated_grid_equals_cpu) {
    const long n = 1000, block = 256, grid = (n + block - 1) / block;   /* last block partly idle */
    double *x = malloc(sizeof(double) * n), *y_ref = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
    sbo_stream s;
    sbo_stream_init(&s, 1, SBO_RNG_TEST, 0, 0);
    sbo_stream_gaussian_fill(&s, x, n);
    sbo_stream_gaussian_fill(&s, y_ref, n);
    memcpy(y, y_ref, sizeof(double) * n);
    const double a = 0.3141592653589793;
    sbo_vec_axpy(n, a, x, y_ref);
    EMULATE_GRID(grid, block, t, sbo_axpy_thread(t, n, a, x, y));
    cr_assert(memcmp(y, y_ref, sizeof(double) * n) == 0, "kernel body differs from sbo_vec_axpy");
    free(x); free(y_ref); free(y);
}

Test(kernels, philox_thread_reproduces_known_answer) {
    /* Thread 0 of a stream with seed 0 and (purpose, block, iteration) = 0 computes Philox at counter 0,
     * key 0: words 6627e8d5 e169c58d bc57ac4c 9b00dbd8 (Random123 kat_vectors). */
    uint32_t key[2];
    sbo_stream_key(0, key);
    double out[2];
    sbo_philox_uniform_thread(0, 2, key, 0, 0, 0, out);
    cr_assert(out[0] == sbo_u32x2_to_uniform(0x6627e8d5u, 0xe169c58du));
    cr_assert(out[1] == sbo_u32x2_to_uniform(0xbc57ac4cu, 0x9b00dbd8u));
}

Test(kernels, philox_thread_on_emulated_grid_equals_stream) {
    const long n = 777, threads = (n + 1) / 2, block = 128, grid = (threads + block - 1) / block;
    const uint64_t seed = 0xfeedbeef12345678ULL;
    double *dev = malloc(sizeof(double) * n), *ref = malloc(sizeof(double) * n);
    uint32_t key[2];
    sbo_stream_key(seed, key);
    EMULATE_GRID(grid, block, t, sbo_philox_uniform_thread(t, n, key, 9, 3, SBO_RNG_PROBE, dev));
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_PROBE, 3, 9);
    for (long i = 0; i < n; i++) ref[i] = sbo_stream_uniform(&s);
    cr_assert(memcmp(dev, ref, sizeof(double) * n) == 0, "kernel body differs from sbo_stream_uniform");
    sbo_philox_uniform(seed, SBO_RNG_PROBE, 3, 9, n, ref);
    cr_assert(memcmp(dev, ref, sizeof(double) * n) == 0, "kernel body differs from sbo_philox_uniform");
    free(dev); free(ref);
}

/* --- network ops: activations and cross-entropy ----------------------------------------------------------
 * One chain exposes every body through the executor's outputs: U (NN_B x NN_C upper parameter) -> A = act(U) ->
 * l = xent(A) -> L = wmean(l, w), w (NN_B x 1) an upper parameter, loss L, tangent dx on U and w. Then A and l are
 * the forwards (sbo_nn_read_value); grad_x is (U_bar, w_bar) with U_bar = act vjp of A_bar = xent vjp of l_bar;
 * hess_x is (U_bar', w_bar') with U_bar' = act tvjp of A_bar' = xent tvjp, which reads the jvps A' and l'
 * (w_bar' = l'/NN_B). The host replays the chain as the device launchers do: each of the four functions alone
 * (NULL for the other outputs), over a scrambled grid, the cross-entropy with p = NULL (recomputed softmax, where
 * the executor keeps a row), and must give the executor's float32 numbers bit for bit. NN_B, NN_C leave the
 * last block of each grid partly idle. */
#define NN_B 37
#define NN_C 10
#define NN_N (NN_B * NN_C)

typedef struct {   /* floats only, no padding: copied to the device whole and addressed by offsetof */
    float U[NN_N], Ud[NN_N];                               /* inputs: U and U' */
    float lbar[NN_B], lbd[NN_B];                           /* the adjoints wmean hands to l: l_bar, l_bar' */
    float A[NN_N], Ad[NN_N], l[NN_B], ld[NN_B];            /* forwards and jvps */
    float Abar[NN_N], Abd[NN_N], Ubar[NN_N], Ubd[NN_N];    /* vjps and tvjps (accumulated from 0) */
} nn_chain;

typedef struct {
    nn_chain c;
    float w[NN_B], wd[NN_B];
    int labels[NN_B];
} nn_case;

/* Random U (every 13th entry exactly 0: RELU's kink), tangents, weights and labels; l_bar, l_bar' by the
 * WMEAN expressions of core/nn/op_loss.c: L_bar = 1 / b, L_bar' = 0 / b, accumulated into zeros. */
static void nn_case_init(nn_case *k, uint64_t seed) {
    memset(k, 0, sizeof *k);
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    for (int i = 0; i < NN_N; i++) {
        k->c.U[i] = i % 13 == 0 ? 0.0f : (float)(2.0 * sbo_stream_gaussian(&s));
        k->c.Ud[i] = (float)sbo_stream_gaussian(&s);
    }
    for (int i = 0; i < NN_B; i++) {
        k->w[i] = (float)sbo_stream_gaussian(&s);
        k->wd[i] = (float)sbo_stream_gaussian(&s);
        k->labels[i] = (int)(sbo_stream_u32(&s) % NN_C);
    }
    float Lb = 1.0f / NN_B, Lbd = 0.0f / NN_B;
    for (int i = 0; i < NN_B; i++) {
        k->c.lbar[i] = 0.0f + Lb * k->w[i];
        k->c.lbd[i] = 0.0f + (Lbd * k->w[i] + Lb * k->wd[i]);
    }
}

/* The activation bodies by op kind (the launchers of core/cuda/sbo_nn_cuda.cu index the same way). */
typedef void (*act_fwd_fn)(long, long, const float *, const float *, float *, float *);
typedef void (*act_bwd_fn)(long, long, const float *, const float *, const float *, const float *, float *, float *);
static const act_fwd_fn act_fwd[SBO_NN_N_KINDS] = {[SBO_NN_RELU] = sbo_nn_relu_forward_thread_f32,
                                                   [SBO_NN_TANH] = sbo_nn_tanh_forward_thread_f32,
                                                   [SBO_NN_GELU] = sbo_nn_gelu_forward_thread_f32};
static const act_bwd_fn act_bwd[SBO_NN_N_KINDS] = {[SBO_NN_RELU] = sbo_nn_relu_backward_thread_f32,
                                                   [SBO_NN_TANH] = sbo_nn_tanh_backward_thread_f32,
                                                   [SBO_NN_GELU] = sbo_nn_gelu_backward_thread_f32};

/* The chain on the host: the launchers' calls (core/cuda/sbo_nn_cuda.cu), each body over an emulated grid. */
static void nn_chain_emulated(int kind, const int *labels, nn_chain *c) {
    const long n = NN_N, blk = 64, grid = (n + blk - 1) / blk, rblk = 16, rgrid = (NN_B + rblk - 1) / rblk;
    EMULATE_GRID(grid, blk, t, act_fwd[kind](t, n, c->U, NULL, c->A, NULL));
    EMULATE_GRID(grid, blk, t, act_fwd[kind](t, n, c->U, c->Ud, NULL, c->Ad));
    EMULATE_GRID(rgrid, rblk, s, sbo_nn_xent_forward_row_f32(s, NN_B, NN_C, c->A, labels, NULL, c->l, NULL, NULL));
    EMULATE_GRID(rgrid, rblk, s, sbo_nn_xent_forward_row_f32(s, NN_B, NN_C, c->A, labels, c->Ad, NULL, c->ld, NULL));
    EMULATE_GRID(rgrid, rblk, s,
                 sbo_nn_xent_backward_row_f32(s, NN_B, NN_C, c->A, labels, NULL, c->lbar, NULL, c->Abar, NULL, NULL));
    EMULATE_GRID(rgrid, rblk, s,
                 sbo_nn_xent_backward_row_f32(s, NN_B, NN_C, c->A, labels, c->Ad, c->lbar, c->lbd, NULL, c->Abd, NULL));
    EMULATE_GRID(grid, blk, t, act_bwd[kind](t, n, c->U, NULL, c->Abar, NULL, c->Ubar, NULL));
    EMULATE_GRID(grid, blk, t, act_bwd[kind](t, n, c->U, c->Ud, c->Abar, c->Abd, NULL, c->Ubd));
}

/* Index of the first entry whose float bits differ from the executor's (float-valued) double, or -1. */
static long nn_first_diff(long n, const float *host, const double *exec) {
    for (long i = 0; i < n; i++) {
        float e = (float)exec[i];
        if ((double)e != exec[i] || memcmp(&e, &host[i], sizeof e) != 0) return i;
    }
    return -1;
}

#define NN_SAME(what, n, host, exec)                                                                          \
    do {                                                                                                      \
        long i_ = nn_first_diff((n), (host), (exec));                                                         \
        cr_assert(i_ < 0, "%s, %s: entry %ld: body on emulated grid %.9g, executor %.9g",                     \
                  sbo_nn_kind_name(kind), (what), i_, i_ < 0 ? 0.0 : (double)(host)[i_], i_ < 0 ? 0.0 : (exec)[i_]); \
    } while (0)

Test(kernels, nn_act_xent_bodies_on_emulated_grid_equal_executor) {
    const int kinds[3] = {SBO_NN_RELU, SBO_NN_TANH, SBO_NN_GELU};
    for (int q = 0; q < 3; q++) {
        int kind = kinds[q];
        static nn_case k;
        nn_case_init(&k, 11 + q);
        nn_chain_emulated(kind, k.labels, &k.c);

        sbo_nn_graph g;
        sbo_nn_graph_init(&g, NN_B);
        int U = sbo_nn_param_upper(&g, "U", NN_B, NN_C, 0);
        int w = sbo_nn_param_upper(&g, "w", NN_B, 1, NN_N);
        int A = sbo_nn_activation(&g, "A", kind, U);
        int l = sbo_nn_xent(&g, "l", A);
        sbo_nn_mark_loss(&g, sbo_nn_wmean(&g, "L", l, w));
        const int d = NN_N + NN_B;
        char err[256] = "";
        sbo_nn_exec *e = sbo_nn_exec_create(&g, NULL, d, 32, "test_cuda", err, sizeof err);
        cr_assert_not_null(e, "%s", err);
        sbo_nn_set_labels(e, k.labels, NN_B);
        double x[NN_N + NN_B], dx[NN_N + NN_B], gx[NN_N + NN_B], gx_t[NN_N + NN_B], hx[NN_N + NN_B];
        double A_ex[NN_N], l_ex[NN_B], loss;
        for (int i = 0; i < NN_N; i++) { x[i] = k.c.U[i]; dx[i] = k.c.Ud[i]; }
        for (int i = 0; i < NN_B; i++) { x[NN_N + i] = k.w[i]; dx[NN_N + i] = k.wd[i]; }
        sbo_nn_call c;
        memset(&c, 0, sizeof c);   /* the gradient alone: vjps without tangents */
        c.b = NN_B; c.loss = &loss; c.grad_x = gx;
        sbo_nn_run(e, x, NULL, &c);
        c.dx = dx; c.grad_x = gx_t; c.hess_x = hx;   /* forward-over-reverse: jvps and tvjps too */
        sbo_nn_run(e, x, NULL, &c);
        sbo_nn_read_value(e, A, NN_B, A_ex);
        sbo_nn_read_value(e, l, NN_B, l_ex);

        float wbar[NN_B], wbd[NN_B];   /* WMEAN's adjoints of w, the executor's expressions (see nn_case_init) */
        float Lb = 1.0f / NN_B, Lbd = 0.0f / NN_B;
        for (int i = 0; i < NN_B; i++) {
            wbar[i] = 0.0f + Lb * k.c.l[i];
            wbd[i] = 0.0f + (Lbd * k.c.l[i] + Lb * k.c.ld[i]);
        }
        NN_SAME("forward A = act(U)", NN_N, k.c.A, A_ex);
        NN_SAME("forward l = xent(A)", NN_B, k.c.l, l_ex);
        NN_SAME("U_bar (gradient run)", NN_N, k.c.Ubar, gx);
        NN_SAME("U_bar (tangent run)", NN_N, k.c.Ubar, gx_t);
        NN_SAME("w_bar = l / b", NN_B, wbar, gx + NN_N);
        NN_SAME("U_bar' (act tvjp of xent tvjp of the jvps)", NN_N, k.c.Ubd, hx);
        NN_SAME("w_bar' = l' / b (xent jvp)", NN_B, wbd, hx + NN_N);
        cr_log_info("%s: forward, jvp, vjp, tvjp of act and xent on emulated grids equal the float32 executor "
                    "bit for bit (%d x %d)", sbo_nn_kind_name(kind), NN_B, NN_C);
        sbo_nn_exec_destroy(e);
        sbo_nn_graph_free(&g);
    }
}

Test(device, availability_reports_a_reason) {
    char why[256] = "";
    int ok = sbo_cuda_available(why, sizeof why);
    cr_assert(ok == 0 || ok == 1);
    cr_assert(why[0] != '\0', "availability must explain itself");
    cr_log_info("CUDA: %s (%s)", ok ? "available" : "unavailable", why);
}

Test(device, axpy_matches_cpu) {
    char why[256];
    if (!sbo_cuda_available(why, sizeof why)) cr_skip_test("no CUDA device: %s", why);
    const long n = 100003;
    size_t bytes = sizeof(double) * n;
    double *x = malloc(bytes), *y = malloc(bytes), *ref = malloc(bytes);
    sbo_stream s;
    sbo_stream_init(&s, 2, SBO_RNG_TEST, 0, 0);
    sbo_stream_gaussian_fill(&s, x, n);
    sbo_stream_gaussian_fill(&s, ref, n);
    memcpy(y, ref, bytes);
    sbo_vec_axpy(n, -1.25, x, ref);
    double *dx = sbo_cuda_alloc(bytes), *dy = sbo_cuda_alloc(bytes);
    cr_assert(dx && dy, "%s", sbo_cuda_last_error());
    cr_assert_eq(sbo_cuda_to_device(dx, x, bytes), 0, "%s", sbo_cuda_last_error());
    cr_assert_eq(sbo_cuda_to_device(dy, y, bytes), 0, "%s", sbo_cuda_last_error());
    cr_assert_eq(sbo_cuda_axpy(n, -1.25, dx, dy), 0, "%s", sbo_cuda_last_error());
    cr_assert_eq(sbo_cuda_to_host(y, dy, bytes), 0, "%s", sbo_cuda_last_error());
    cr_assert(memcmp(y, ref, bytes) == 0, "device axpy differs from sbo_vec_axpy");
    sbo_cuda_free(dx); sbo_cuda_free(dy);
    free(x); free(y); free(ref);
}

Test(device, philox_uniform_matches_cpu) {
    char why[256];
    if (!sbo_cuda_available(why, sizeof why)) cr_skip_test("no CUDA device: %s", why);
    const long n = 4097;
    size_t bytes = sizeof(double) * n;
    double *got = malloc(bytes), *ref = malloc(bytes);
    sbo_philox_uniform(77, SBO_RNG_SUBSPACE, 1, 12, n, ref);
    double *d = sbo_cuda_alloc(bytes);
    cr_assert_not_null(d, "%s", sbo_cuda_last_error());
    cr_assert_eq(sbo_cuda_philox_uniform(77, SBO_RNG_SUBSPACE, 1, 12, n, d), 0, "%s", sbo_cuda_last_error());
    cr_assert_eq(sbo_cuda_to_host(got, d, bytes), 0, "%s", sbo_cuda_last_error());
    cr_assert(memcmp(got, ref, bytes) == 0, "device Philox differs from the host stream");
    sbo_cuda_free(d);
    free(got); free(ref);
}

/* The network-op launchers against the bodies on the host (= the executor, test above). Not bit for bit: the
 * device's float32 instance uses tanhf and expf and contracts to FMA (core/nn/kernels_act.h, core/nn/kernels_xent.h), each within a few
 * float ulps; over the chain (act, xent, their vjps and tvjps) we allow 1e-5 of each array's inf-norm (about
 * 80 ulps of float at that scale). */
#define NN_DEVICE_TOL 1e-5

static double nn_rel_err(long n, const float *dev, const float *host) {
    double e = 0, s = 0;
    for (long i = 0; i < n; i++) {
        e = fmax(e, fabs((double)dev[i] - host[i]));
        s = fmax(s, fabs((double)host[i]));
    }
    return s == 0 ? e : e / s;
}

Test(device, nn_act_xent_match_cpu) {
    char why[256];
    if (!sbo_cuda_available(why, sizeof why)) cr_skip_test("no CUDA device: %s", why);
    const int kinds[3] = {SBO_NN_RELU, SBO_NN_TANH, SBO_NN_GELU};
    for (int q = 0; q < 3; q++) {
        int kind = kinds[q];
        static nn_case k;
        static nn_chain inputs, dev;
        nn_case_init(&k, 11 + q);
        inputs = k.c;   /* the device starts from the inputs and zeroed outputs */
        nn_chain_emulated(kind, k.labels, &k.c);
        float *d = sbo_cuda_alloc(sizeof(nn_chain));
        int *d_lab = sbo_cuda_alloc(sizeof k.labels);
        cr_assert(d && d_lab, "%s", sbo_cuda_last_error());
#define DEV(field) ((float *)((char *)d + offsetof(nn_chain, field)))
        cr_assert_eq(sbo_cuda_to_device(d, &inputs, sizeof inputs), 0, "%s", sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_to_device(d_lab, k.labels, sizeof k.labels), 0, "%s", sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_act_forward(kind, NN_N, DEV(U), DEV(A)), 0, "%s", sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_act_jvp(kind, NN_N, DEV(U), DEV(Ud), DEV(Ad)), 0, "%s", sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_xent_forward(NN_B, NN_C, DEV(A), d_lab, DEV(l)), 0, "%s", sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_xent_jvp(NN_B, NN_C, DEV(A), d_lab, DEV(Ad), DEV(ld)), 0, "%s",
                     sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_xent_vjp(NN_B, NN_C, DEV(A), d_lab, DEV(lbar), DEV(Abar)), 0, "%s",
                     sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_xent_tvjp(NN_B, NN_C, DEV(A), d_lab, DEV(Ad), DEV(lbar), DEV(lbd), DEV(Abd)), 0,
                     "%s", sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_act_vjp(kind, NN_N, DEV(U), DEV(Abar), DEV(Ubar)), 0, "%s", sbo_cuda_last_error());
        cr_assert_eq(sbo_cuda_nn_act_tvjp(kind, NN_N, DEV(U), DEV(Ud), DEV(Abar), DEV(Abd), DEV(Ubd)), 0, "%s",
                     sbo_cuda_last_error());
#undef DEV
        cr_assert_eq(sbo_cuda_to_host(&dev, d, sizeof dev), 0, "%s", sbo_cuda_last_error());
        sbo_cuda_free(d);
        sbo_cuda_free(d_lab);
        const struct { const char *name; long n; const float *dev, *host; } cmp[8] = {
            {"A", NN_N, dev.A, k.c.A}, {"A'", NN_N, dev.Ad, k.c.Ad}, {"l", NN_B, dev.l, k.c.l},
            {"l'", NN_B, dev.ld, k.c.ld}, {"A_bar", NN_N, dev.Abar, k.c.Abar}, {"A_bar'", NN_N, dev.Abd, k.c.Abd},
            {"U_bar", NN_N, dev.Ubar, k.c.Ubar}, {"U_bar'", NN_N, dev.Ubd, k.c.Ubd}};
        for (int j = 0; j < 8; j++) {
            double err = nn_rel_err(cmp[j].n, cmp[j].dev, cmp[j].host);
            cr_log_info("%s %s: device vs CPU relative error %.2e (tolerance %.0e)", sbo_nn_kind_name(kind),
                        cmp[j].name, err, NN_DEVICE_TOL);
            cr_expect(err <= NN_DEVICE_TOL, "%s %s: device differs from the CPU by %.2e > %.0e",
                      sbo_nn_kind_name(kind), cmp[j].name, err, NN_DEVICE_TOL);
        }
    }
}
