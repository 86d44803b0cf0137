/* tests/test_cuda.c: the CUDA seam (core/sbo_cuda.h, core/sbo_kernels.h; for the network ops core/sbo_nn_cuda.h,
 * core/nn/kernels_act.h, core/nn/kernels_xent.h) and the engine's CUDA backend (core/nn/backend_cuda.h, with its
 * bodies in core/nn/kernels_reduce.h and core/nn/kernels_convert.h). The kernels' per-thread bodies run here on the
 * host over an emulated grid and must equal the CPU references bit for bit (for the network ops: the float32
 * executor of core/nn/nn.h; for the backend's conversions and K = 0 GEMMs: the CPU backend); the backend's two-pass
 * dot product must give the same bits in any thread order and the CPU's sequential sum to rounding; the Philox
 * body must reproduce the Random123 known answer. The device tests run only where a GPU exists and otherwise skip
 * with the reason (no GPU on the project machines).
 * Run: ctest -R test_cuda, or build-core/test_cuda --verbose. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/sbo_cuda.h"        /* launchers and availability */
#include "core/sbo_kernels.h"     /* the per-thread bodies */
#include "core/nn/nn.h"          /* the network executor: the CPU reference of the network ops */
#include "core/sbo_nn_cuda.h"     /* the network-op launchers */
#include "core/nn/kernels_act.h"   /* the activation bodies (_f32 instance) */
#include "core/nn/kernels_xent.h"  /* the cross-entropy bodies (_f32 instance) */
#include "core/sbo_rng.h"         /* sbo_philox_uniform, streams: the CPU reference */
#include "core/sbo_tuple.h"       /* sbo_vec_axpy: the CPU reference */
#include "core/nn/backend.h"        /* sbo_nn_backend_cpu: the CPU reference of the CUDA backend */
#include "core/nn/backend_cuda.h"   /* sbo_nn_backend_cuda */
#include "core/nn/kernels_reduce.h"  /* the two-pass dot product's bodies */
#include "core/nn/kernels_convert.h" /* the conversion, comparison and K = 0 bodies */

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

/* --- the engine's CUDA backend: bodies on an emulated grid ----------------------------------------------- */

/* The per-thread body of the dot product by precision, behind one type. */
typedef double (*dot_thread_fn)(long t, long T, long n, const void *a, const void *b);
static double dot_thread_f32(long t, long T, long n, const void *a, const void *b) {
    return sbo_nn_dot_thread_f32(t, T, n, a, b);
}
static double dot_thread_f64(long t, long T, long n, const void *a, const void *b) {
    return sbo_nn_dot_thread_f64(t, T, n, a, b);
}

/* Block blk of a pass of G blocks: its threads' sums, then the tree, as dot_kernel of
 * core/cuda/sbo_nn_backend_cuda.cu; scramble != 0 runs the threads of each step in a permuted order. */
static double emulated_dot_block(dot_thread_fn body, long blk, long G, long n, const void *a, const void *b,
                                 int scramble) {
    const long B = SBO_NN_DOT_BLOCK;
    double s[SBO_NN_DOT_BLOCK];
    for (long q = 0; q < B; q++) {
        long thr = scramble ? q * 7 % B : q;
        s[thr] = body(blk * B + thr, G * B, n, a, b);
    }
    for (int half = SBO_NN_DOT_BLOCK / 2; half > 0; half /= 2)
        for (long q = 0; q < B; q++) sbo_nn_dot_tree_step((int)(scramble ? (B - 1 - q) * 7 % B : q), half, s);
    return s[0];
}

/* The backend's sdot / ddot on the host: pass 1 over the elements (blocks backwards when scrambled), pass 2 over
 * the partial sums. */
static double emulated_dot(dot_thread_fn body, long n, const void *a, const void *b, int scramble) {
    if (n <= 0) return 0;   /* the backend launches nothing */
    static double partial[SBO_NN_DOT_GRID_MAX];
    long G = sbo_nn_dot_grid(n);
    for (long q = 0; q < G; q++) {
        long blk = scramble ? G - 1 - q : q;
        partial[blk] = emulated_dot_block(body, blk, G, n, a, b, scramble);
    }
    return emulated_dot_block(dot_thread_f64, 0, 1, G, partial, NULL, scramble);
}

/* sum_i |a_i b_i| (b NULL: |a_i|): the scale of the rounding errors of any order of summation. */
static double dot_abs_scale(long n, const double *a, const double *b) {
    double s = 0;
    for (long i = 0; i < n; i++) s += fabs(a[i] * (b ? b[i] : 1.0));
    return s;
}

static const long k_dot_sizes[6] = {0, 1, 255, 256, 257, 100003};
/* Tolerance of the two-pass sum against the CPU's sequential one, relative to sum |a_i b_i| (both are within
 * about n eps of it; at n = 10^5 that bound is 2e-11, the measured error is far below). */
#define DOT_TOL 1e-12

Test(kernels, dot_bodies_on_emulated_grid_equal_cpu_sum_and_are_order_free) {
    const sbo_nn_backend *cpu = sbo_nn_backend_cpu();
    const long nmax = 100003;
    double *a = malloc(sizeof(double) * nmax), *b = malloc(sizeof(double) * nmax);
    float *af = malloc(sizeof(float) * nmax), *bf = malloc(sizeof(float) * nmax);
    double *ar = malloc(sizeof(double) * nmax), *br = malloc(sizeof(double) * nmax);   /* af, bf widened */
    sbo_stream s;
    sbo_stream_init(&s, 5, SBO_RNG_TEST, 0, 0);
    sbo_stream_gaussian_fill(&s, a, nmax);
    sbo_stream_gaussian_fill(&s, b, nmax);
    for (long i = 0; i < nmax; i++) {
        af[i] = (float)a[i]; bf[i] = (float)b[i];
        ar[i] = af[i]; br[i] = bf[i];
    }
    double worst = 0;
    for (int k = 0; k < 6; k++)
        for (int f32 = 0; f32 < 2; f32++)
            for (int with_b = 0; with_b < 2; with_b++) {
                long n = k_dot_sizes[k];
                const void *x = f32 ? (const void *)af : (const void *)a;
                const void *y = with_b ? (f32 ? (const void *)bf : (const void *)b) : NULL;
                dot_thread_fn body = f32 ? dot_thread_f32 : dot_thread_f64;
                double in_order = emulated_dot(body, n, x, y, 0), scrambled = emulated_dot(body, n, x, y, 1);
                double again = emulated_dot(body, n, x, y, 1);
                double ref = f32 ? cpu->sdot(n, af, with_b ? bf : NULL) : cpu->ddot(n, a, with_b ? b : NULL);
                double scale = f32 ? dot_abs_scale(n, ar, with_b ? br : NULL) : dot_abs_scale(n, a, with_b ? b : NULL);
                double err = fabs(in_order - ref) / (scale > 0 ? scale : 1);
                worst = fmax(worst, err);
                cr_assert(memcmp(&in_order, &scrambled, sizeof in_order) == 0 &&
                              memcmp(&scrambled, &again, sizeof again) == 0,
                          "n %ld %s %s: the two-pass sum depends on the thread order (%.17g, %.17g, %.17g)", n,
                          f32 ? "f32" : "f64", with_b ? "a.b" : "sum a", in_order, scrambled, again);
                cr_assert(err <= DOT_TOL, "n %ld %s %s: two-pass %.17g, CPU %.17g: error %.2e of sum|terms| > %.0e",
                          n, f32 ? "f32" : "f64", with_b ? "a.b" : "sum a", in_order, ref, err, DOT_TOL);
                if (n == 0) cr_assert(in_order == 0 && ref == 0);
            }
    cr_log_info("two-pass dot on the emulated grid: order-free bits; worst error vs the CPU %.2e of sum|terms| "
                "(tolerance %.0e)", worst, DOT_TOL);
    free(a); free(b); free(af); free(bf); free(ar); free(br);
}

/* Host doubles that exercise rounding to float: exact floats, ties, 0 and -0, float subnormals, beyond FLT_MAX. */
static void convert_src(long n, double *src, uint64_t seed) {
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    sbo_stream_gaussian_fill(&s, src, n);
    for (long i = 0; i < n; i++) switch (i % 9) {
        case 1: src[i] = (float)src[i]; break;                       /* exactly a float */
        case 2: src[i] = 1.0 + ldexp(1.0, -24) * (double)(i % 3); break; /* halfway and beyond between floats */
        case 3: src[i] = i % 2 ? 0.0 : -0.0; break;
        case 4: src[i] = ldexp(src[i], -140); break;                  /* float subnormal range */
        case 5: src[i] = ldexp(src[i], 130); break;                   /* beyond FLT_MAX: inf as a float */
        default: break;
    }
}

#define CONV_N 1000L   /* the last block of 256 partly idle */

Test(kernels, convert_bodies_on_emulated_grid_equal_cpu_backend) {
    const sbo_nn_backend *cpu = sbo_nn_backend_cpu();
    const long n = CONV_N, block = 256, grid = (n + block - 1) / block;
    static double src[CONV_N], d_cpu[CONV_N], d_emu[CONV_N], back_cpu[CONV_N], back_emu[CONV_N];
    static float f_cpu[CONV_N], f_emu[CONV_N];
    convert_src(n, src, 21);
    for (int round = 0; round < 3; round++) {
        /* round 0: dst from another point; 1: only the last entry differs; 2: dst already equal (nothing changes) */
        for (long i = 0; i < n; i++) {
            if (round == 0) { f_cpu[i] = (float)(0.5 * src[i]); d_cpu[i] = 0.5 * src[i]; }
            if (round == 1 && i == n - 1) { f_cpu[i] = -f_cpu[i] - 1; d_cpu[i] = -d_cpu[i] - 1; }
        }
        memcpy(f_emu, f_cpu, sizeof f_cpu);
        memcpy(d_emu, d_cpu, sizeof d_cpu);
        int same32_cpu = cpu->same_f32(f_cpu, src, n), same64_cpu = cpu->same_f64(d_cpu, src, n);
        int differs32 = 0, differs64 = 0;
        EMULATE_GRID(grid, block, t, sbo_nn_same_thread_f32(t, n, f_emu, src, &differs32));
        EMULATE_GRID(grid, block, t, sbo_nn_same_thread_f64(t, n, d_emu, src, &differs64));
        cr_assert_eq(!differs32, same32_cpu, "round %d: same_f32", round);
        cr_assert_eq(!differs64, same64_cpu, "round %d: same_f64", round);
        int ch32_cpu = cpu->to_f32(f_cpu, src, n), ch64_cpu = cpu->to_f64(d_cpu, src, n), ch32 = 0, ch64 = 0;
        EMULATE_GRID(grid, block, t, sbo_nn_to_thread_f32(t, n, f_emu, src, &ch32));
        EMULATE_GRID(grid, block, t, sbo_nn_to_thread_f64(t, n, d_emu, src, &ch64));
        cr_assert_eq(ch32, ch32_cpu, "round %d: to_f32 changed flag", round);
        cr_assert_eq(ch64, ch64_cpu, "round %d: to_f64 changed flag", round);
        cr_assert_eq(ch32_cpu, round != 2, "round %d: the case does not test what it should", round);
        cr_assert(memcmp(f_emu, f_cpu, sizeof f_cpu) == 0, "round %d: to_f32 values", round);
        cr_assert(memcmp(d_emu, d_cpu, sizeof d_cpu) == 0, "round %d: to_f64 values", round);
        cr_assert_eq(cpu->same_f32(f_cpu, src, n), 1);
    }
    /* put_* (no flag) from a zeroed dst, and from_* back to doubles */
    memset(f_emu, 0, sizeof f_emu);
    memset(d_emu, 0, sizeof d_emu);
    cpu->put_f32(f_cpu, src, n);
    cpu->put_f64(d_cpu, src, n);
    EMULATE_GRID(grid, block, t, sbo_nn_to_thread_f32(t, n, f_emu, src, NULL));
    EMULATE_GRID(grid, block, t, sbo_nn_to_thread_f64(t, n, d_emu, src, NULL));
    cr_assert(memcmp(f_emu, f_cpu, sizeof f_cpu) == 0, "put_f32 values");
    cr_assert(memcmp(d_emu, d_cpu, sizeof d_cpu) == 0, "put_f64 values");
    cpu->from_f32(back_cpu, f_cpu, n);
    EMULATE_GRID(grid, block, t, sbo_nn_from_thread_f32(t, n, back_emu, f_emu));
    cr_assert(memcmp(back_emu, back_cpu, sizeof back_cpu) == 0, "from_f32 values");
    cpu->from_f64(back_cpu, d_cpu, n);
    EMULATE_GRID(grid, block, t, sbo_nn_from_thread_f64(t, n, back_emu, d_emu));
    cr_assert(memcmp(back_emu, back_cpu, sizeof back_cpu) == 0, "from_f64 values");
}

/* A GEMM with K = 0 (C = beta C over a batch with padding): the body against the CPU backend, bit for bit; beta 0
 * must write zeros over NaN without reading it. */
Test(kernels, gemm_k0_body_on_emulated_grid_equals_cpu_backend) {
    const sbo_nn_backend *cpu = sbo_nn_backend_cpu();
    enum { M = 5, N = 7, LDC = 9, COUNT = 3, STRIDE = 50, LEN = STRIDE * COUNT };
    const long total = (long)M * N * COUNT, block = 16, grid = (total + block - 1) / block;
    static float fc[LEN], fe[LEN];
    static double dc[LEN], de[LEN];
    const double betas[3] = {0.0, -1.5, 1.0 / 3.0};
    for (int q = 0; q < 3; q++) {
        sbo_stream s;
        sbo_stream_init(&s, 31 + q, SBO_RNG_TEST, 0, 0);
        sbo_stream_gaussian_fill(&s, dc, LEN);
        for (long i = 0; i < LEN; i++) {
            if (q == 0 && i % 4 == 0) dc[i] = NAN;
            fc[i] = (float)dc[i];
        }
        memcpy(fe, fc, sizeof fc);
        memcpy(de, dc, sizeof dc);
        cpu->sgemm_batched(0, 1, M, N, 0, 1.0f, NULL, 1, 0, NULL, 1, 0, (float)betas[q], fc, LDC, STRIDE, COUNT);
        cpu->dgemm_batched(1, 0, M, N, 0, 1.0, NULL, 1, 0, NULL, 1, 0, betas[q], dc, LDC, STRIDE, COUNT);
        EMULATE_GRID(grid, block, t, sbo_nn_scale_thread_f32(t, M, N, COUNT, (float)betas[q], fe, LDC, STRIDE));
        EMULATE_GRID(grid, block, t, sbo_nn_scale_thread_f64(t, M, N, COUNT, betas[q], de, LDC, STRIDE));
        cr_assert(memcmp(fe, fc, sizeof fc) == 0, "beta %g: float K = 0 differs from the CPU backend", betas[q]);
        cr_assert(memcmp(de, dc, sizeof dc) == 0, "beta %g: double K = 0 differs from the CPU backend", betas[q]);
    }
}

/* --- the engine's CUDA backend on a device --------------------------------------------------------------- */

Test(device, backend_table_versions_and_memory) {
    const sbo_nn_backend *be = sbo_nn_backend_cuda();
    char why[256] = "", line[512] = "";
    int ok = sbo_cuda_available(why, sizeof why);
#ifdef SBO_WITH_CUDA
    cr_assert_not_null(be, "a CUDA build must have the CUDA backend");
    cr_assert(strncmp(be->name, "cuda", 4) == 0, "name %s", be->name);
    const void *members[] = {(const void *)be->sgemm, (const void *)be->dgemm, (const void *)be->sgemm_batched,
                             (const void *)be->dgemm_batched, (const void *)be->run, (const void *)be->sdot,
                             (const void *)be->ddot, (const void *)be->alloc, (const void *)be->release,
                             (const void *)be->put, (const void *)be->get, (const void *)be->zero,
                             (const void *)be->copy, (const void *)be->to_f32, (const void *)be->to_f64,
                             (const void *)be->put_f32, (const void *)be->put_f64, (const void *)be->from_f32,
                             (const void *)be->from_f64, (const void *)be->same_f32, (const void *)be->same_f64};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) cr_assert_not_null(members[i], "member %zu", i);
#else
    cr_assert_null(be, "a build without CUDA has no CUDA backend");
#endif
    int rc = sbo_cuda_versions(line, sizeof line);
    size_t fr = 1, tot = 1;
    int mrc = sbo_cuda_mem_info(&fr, &tot);
    cr_assert_eq(rc, ok ? 0 : -1, "sbo_cuda_versions: %s", line);
    cr_assert_eq(mrc, ok ? 0 : -1, "sbo_cuda_mem_info");
    cr_assert(line[0] != '\0', "sbo_cuda_versions must say something");
    if (ok) cr_assert(tot > 0 && fr <= tot, "free %zu of %zu bytes", fr, tot);
    else cr_assert(fr == 0 && tot == 0);
    cr_log_info("CUDA: %s; memory %zu of %zu bytes free", line, fr, tot);
}

/* Without a device, the first member call fails inside a void member: the process must print one line
 * "sbo: cuda backend: FILE:LINE: CALL: MESSAGE" and exit with status 1 (run in a child, stderr into a pipe). */
Test(device, backend_failure_without_device_is_one_line_and_exit_1) {
    char why[256];
    const sbo_nn_backend *be = sbo_nn_backend_cuda();
    if (!be) cr_skip_test("built without CUDA: no CUDA backend");
    if (sbo_cuda_available(why, sizeof why)) cr_skip_test("a device exists (%s): nothing fails", why);
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        be->zero((void *)64, 8);   /* the first call creates the stream: fails without a device */
        _exit(0);
    }
    close(fd[1]);
    char out[1024] = "";
    size_t len = 0;
    ssize_t r;
    while (len + 1 < sizeof out && (r = read(fd[0], out + len, sizeof out - 1 - len)) > 0) len += (size_t)r;
    out[len] = '\0';
    close(fd[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "exit status %d, stderr: %s", status, out);
    char *nl = strchr(out, '\n');
    cr_assert(nl && nl[1] == '\0', "stderr must be one line: %s", out);
    cr_assert(strncmp(out, "sbo: cuda backend: ", 19) == 0 && strstr(out, "sbo_nn_backend_cuda.cu:") &&
                  strstr(out, "cudaStreamCreate"), "stderr: %s", out);
    cr_log_info("without a device: %s", out);
}

/* A copy of n elements of host data in the backend's memory (NULL data: uninitialized). */
static void *dev_copy(const sbo_nn_backend *be, const void *host, size_t bytes) {
    void *d = be->alloc(bytes);
    cr_assert_not_null(d, "alloc(%zu): %s", bytes, sbo_cuda_last_error());
    if (host) be->put(d, host, bytes);
    return d;
}

/* One GEMM case on the device against the CPU backend, in float (f32) or double, count 1 through sgemm/dgemm
 * else through the batched members, with padded leading dimensions and strides. Both results are within
 * gamma = 2 (K + 2) eps of the bound |alpha| |op(A)| |op(B)| + |beta| |C| of the exact product, entry by entry. */
static void gemm_case_check(const sbo_nn_backend *cpu, const sbo_nn_backend *dev, int f32, int tA, int tB, int M,
                            int N, int K, int count, double alpha, double beta) {
    int ar = tA ? K : M, ac = tA ? M : K, br = tB ? N : K, bc = tB ? K : N;
    int lda = ac + 3, ldb = bc + 2, ldc = N + 1;
    long sA = (long)ar * lda + 5, sB = (long)br * ldb + 4, sC = (long)M * ldc + 3;
    long nA = sA * count, nB = sB * count, nC = sC * count;
    size_t es = f32 ? sizeof(float) : sizeof(double);
    double *A = malloc(sizeof(double) * nA), *B = malloc(sizeof(double) * nB), *C0 = malloc(sizeof(double) * nC);
    double *Cc = malloc(sizeof(double) * nC), *Cd = malloc(sizeof(double) * nC);
    void *hA = malloc(es * nA), *hB = malloc(es * nB), *hC = malloc(es * nC), *hD = malloc(es * nC);
    sbo_stream s;
    sbo_stream_init(&s, 100 + 8 * tA + 4 * tB + f32, SBO_RNG_TEST, (uint32_t)K, (uint64_t)count);
    sbo_stream_gaussian_fill(&s, A, nA);
    sbo_stream_gaussian_fill(&s, B, nB);
    sbo_stream_gaussian_fill(&s, C0, nC);
    if (beta == 0) for (long i = 0; i < nC; i += 3) C0[i] = NAN;   /* beta 0 must not read C */
    if (f32) {   /* round to float, then hold the bound to the rounded inputs */
        cpu->put_f32(hA, A, nA); cpu->put_f32(hB, B, nB); cpu->put_f32(hC, C0, nC);
        cpu->from_f32(A, hA, nA); cpu->from_f32(B, hB, nB); cpu->from_f32(C0, hC, nC);
    } else {
        memcpy(hA, A, es * nA); memcpy(hB, B, es * nB); memcpy(hC, C0, es * nC);
    }
    void *dA = dev_copy(dev, hA, es * nA), *dB = dev_copy(dev, hB, es * nB), *dC = dev_copy(dev, hC, es * nC);
    if (f32 && count == 1) {
        cpu->sgemm(tA, tB, M, N, K, (float)alpha, hA, lda, hB, ldb, (float)beta, hC, ldc);
        dev->sgemm(tA, tB, M, N, K, (float)alpha, dA, lda, dB, ldb, (float)beta, dC, ldc);
    } else if (f32) {
        cpu->sgemm_batched(tA, tB, M, N, K, (float)alpha, hA, lda, sA, hB, ldb, sB, (float)beta, hC, ldc, sC, count);
        dev->sgemm_batched(tA, tB, M, N, K, (float)alpha, dA, lda, sA, dB, ldb, sB, (float)beta, dC, ldc, sC, count);
    } else if (count == 1) {
        cpu->dgemm(tA, tB, M, N, K, alpha, hA, lda, hB, ldb, beta, hC, ldc);
        dev->dgemm(tA, tB, M, N, K, alpha, dA, lda, dB, ldb, beta, dC, ldc);
    } else {
        cpu->dgemm_batched(tA, tB, M, N, K, alpha, hA, lda, sA, hB, ldb, sB, beta, hC, ldc, sC, count);
        dev->dgemm_batched(tA, tB, M, N, K, alpha, dA, lda, sA, dB, ldb, sB, beta, dC, ldc, sC, count);
    }
    dev->get(hD, dC, es * nC);
    if (f32) { cpu->from_f32(Cc, hC, nC); cpu->from_f32(Cd, hD, nC); }
    else { memcpy(Cc, hC, es * nC); memcpy(Cd, hD, es * nC); }
    const double gamma = 2.0 * (K + 2) * (f32 ? FLT_EPSILON : DBL_EPSILON);
    double worst = 0;
    for (int c = 0; c < count; c++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                long at = c * sC + (long)i * ldc + j;
                double bound = beta == 0 ? 0 : fabs(beta * C0[at]);
                for (int k = 0; k < K; k++) {
                    double a = A[c * sA + (tA ? (long)k * lda + i : (long)i * lda + k)];
                    double b = B[c * sB + (tB ? (long)j * ldb + k : (long)k * ldb + j)];
                    bound += fabs(alpha * a * b);
                }
                double err = fabs(Cd[at] - Cc[at]);
                cr_assert(err <= gamma * bound, "%s tA %d tB %d M %d N %d K %d count %d: C_%d(%d, %d) device %.17g, "
                          "CPU %.17g (error %.2e > %.2e)", f32 ? "sgemm" : "dgemm", tA, tB, M, N, K, count, c, i, j,
                          Cd[at], Cc[at], err, gamma * bound);
                if (bound > 0) worst = fmax(worst, err / bound);
            }
    /* entries outside the M x N blocks (padding) stay as they were, NaN included */
    for (long at = 0; at < nC; at++) {
        long c = at / sC, r = at % sC, i = r / ldc, j = r % ldc;
        if (c < count && i < M && j < N) continue;
        cr_assert(memcmp((char *)hD + es * at, (char *)hC + es * at, es) == 0, "padding entry %ld was written", at);
    }
    cr_log_info("%s tA %d tB %d (%d x %d x %d, count %d, beta %g): device vs CPU %.2e of the bound (gamma %.1e)",
                f32 ? "sgemm" : "dgemm", tA, tB, M, N, K, count, beta, worst, gamma);
    dev->release(dA); dev->release(dB); dev->release(dC);
    free(A); free(B); free(C0); free(Cc); free(Cd); free(hA); free(hB); free(hC); free(hD);
}

Test(device, backend_gemm_matches_cpu) {
    char why[256];
    if (!sbo_cuda_available(why, sizeof why)) cr_skip_test("no CUDA device: %s", why);
    const sbo_nn_backend *cpu = sbo_nn_backend_cpu(), *dev = sbo_nn_backend_cuda();
    cr_assert_not_null(dev);
    for (int f32 = 0; f32 < 2; f32++) {
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++) {
                gemm_case_check(cpu, dev, f32, tA, tB, 33, 17, 45, 1, 0.75, -0.5);
                gemm_case_check(cpu, dev, f32, tA, tB, 9, 31, 20, 3, -1.25, 0.0);   /* batched */
            }
        gemm_case_check(cpu, dev, f32, 0, 1, 6, 5, 0, 1, 1.0, 0.0);    /* K = 0: zeros over NaN */
        gemm_case_check(cpu, dev, f32, 1, 0, 6, 5, 0, 2, 1.0, 2.5);    /* K = 0: C = beta C, batched */
        gemm_case_check(cpu, dev, f32, 0, 0, 0, 5, 4, 1, 1.0, 1.0);    /* M = 0: nothing */
    }
}

Test(device, backend_dot_memory_and_conversions_match_cpu) {
    char why[256];
    if (!sbo_cuda_available(why, sizeof why)) cr_skip_test("no CUDA device: %s", why);
    const sbo_nn_backend *cpu = sbo_nn_backend_cpu(), *dev = sbo_nn_backend_cuda();
    cr_assert_not_null(dev);
    const long nmax = 100003;
    double *a = malloc(sizeof(double) * nmax), *b = malloc(sizeof(double) * nmax);
    double *back = malloc(sizeof(double) * nmax), *back_cpu = malloc(sizeof(double) * nmax);
    float *af = malloc(sizeof(float) * nmax), *bf = malloc(sizeof(float) * nmax), *fback = malloc(sizeof(float) * nmax);
    sbo_stream s;
    sbo_stream_init(&s, 5, SBO_RNG_TEST, 0, 0);
    sbo_stream_gaussian_fill(&s, a, nmax);
    sbo_stream_gaussian_fill(&s, b, nmax);
    for (long i = 0; i < nmax; i++) { af[i] = (float)a[i]; bf[i] = (float)b[i]; }
    double *da = dev_copy(dev, a, sizeof(double) * nmax), *db = dev_copy(dev, b, sizeof(double) * nmax);
    float *daf = dev_copy(dev, af, sizeof(float) * nmax), *dbf = dev_copy(dev, bf, sizeof(float) * nmax);
    /* put / get round trip, zero, copy */
    dev->get(back, da, sizeof(double) * nmax);
    cr_assert(memcmp(back, a, sizeof(double) * nmax) == 0, "put/get round trip");
    dev->copy(da, db, sizeof(double) * 1000);
    dev->zero(db, sizeof(double) * 10);
    dev->get(back, da, sizeof(double) * 1000);
    cr_assert(memcmp(back, b, sizeof(double) * 1000) == 0, "copy");
    dev->get(back, db, sizeof(double) * 20);
    for (int i = 0; i < 20; i++) cr_assert(back[i] == (i < 10 ? 0.0 : b[i]), "zero: entry %d", i);
    dev->put(da, a, sizeof(double) * nmax);
    dev->put(db, b, sizeof(double) * nmax);
    /* sdot, ddot: the emulated grid's bits, the CPU's sum to rounding */
    for (int k = 0; k < 6; k++)
        for (int with_b = 0; with_b < 2; with_b++) {
            long n = k_dot_sizes[k];
            double got32 = dev->sdot(n, daf, with_b ? dbf : NULL), got64 = dev->ddot(n, da, with_b ? db : NULL);
            double emu32 = emulated_dot(dot_thread_f32, n, af, with_b ? bf : NULL, 0);
            double emu64 = emulated_dot(dot_thread_f64, n, a, with_b ? b : NULL, 0);
            cr_assert(memcmp(&got32, &emu32, sizeof got32) == 0, "sdot n %ld: device %.17g, emulated grid %.17g", n,
                      got32, emu32);
            cr_assert(memcmp(&got64, &emu64, sizeof got64) == 0, "ddot n %ld: device %.17g, emulated grid %.17g", n,
                      got64, emu64);
            double ref = cpu->ddot(n, a, with_b ? b : NULL), scale = dot_abs_scale(n, a, with_b ? b : NULL);
            cr_assert(fabs(got64 - ref) <= DOT_TOL * (scale > 0 ? scale : 1), "ddot n %ld: device %.17g, CPU %.17g",
                      n, got64, ref);
        }
    /* conversions against the CPU backend, bit for bit (host arrays play the CPU's backend memory) */
    static double src[CONV_N], h64[CONV_N];
    static float h32[CONV_N];
    convert_src(CONV_N, src, 21);
    for (long i = 0; i < CONV_N; i++) { h32[i] = (float)(0.5 * src[i]); h64[i] = 0.5 * src[i]; }
    float *d32 = dev_copy(dev, h32, sizeof h32);
    double *d64 = dev_copy(dev, h64, sizeof h64);
    cr_assert_eq(dev->same_f32(d32, src, CONV_N), cpu->same_f32(h32, src, CONV_N));
    cr_assert_eq(dev->same_f64(d64, src, CONV_N), cpu->same_f64(h64, src, CONV_N));
    cr_assert_eq(dev->to_f32(d32, src, CONV_N), cpu->to_f32(h32, src, CONV_N));
    cr_assert_eq(dev->to_f64(d64, src, CONV_N), cpu->to_f64(h64, src, CONV_N));
    cr_assert_eq(dev->to_f32(d32, src, CONV_N), 0, "to_f32 twice: nothing changes");
    cr_assert_eq(dev->to_f64(d64, src, CONV_N), 0, "to_f64 twice: nothing changes");
    cr_assert_eq(dev->same_f32(d32, src, CONV_N), 1);
    cr_assert_eq(dev->same_f64(d64, src, CONV_N), 1);
    dev->get(fback, d32, sizeof h32);
    cr_assert(memcmp(fback, h32, sizeof h32) == 0, "to_f32 values");
    dev->get(back, d64, sizeof h64);
    cr_assert(memcmp(back, h64, sizeof h64) == 0, "to_f64 values");
    dev->zero(d32, sizeof h32);
    dev->put_f32(d32, src, CONV_N);
    dev->from_f32(back, d32, CONV_N);
    cpu->from_f32(back_cpu, h32, CONV_N);
    cr_assert(memcmp(back, back_cpu, sizeof(double) * CONV_N) == 0, "put_f32 then from_f32");
    dev->put_f64(d64, src, CONV_N);
    dev->from_f64(back, d64, CONV_N);
    cr_assert(memcmp(back, src, sizeof src) == 0, "put_f64 then from_f64");
    /* alloc fails without aborting */
    cr_assert_null(dev->alloc((size_t)1 << 62), "alloc of 4 EiB must fail");
    cr_log_info("alloc of 4 EiB: NULL (%s)", sbo_cuda_last_error());
    dev->release(d32); dev->release(d64);
    dev->release(da); dev->release(db); dev->release(daf); dev->release(dbf);
    free(a); free(b); free(back); free(back_cpu); free(af); free(bf); free(fback);
}
