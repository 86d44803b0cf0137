/* core/cuda/sbo_nn_cuda.cu: float32 CUDA twin of the network engine's non-GEMM ops behind core/sbo_nn_cuda.h
 * (STYLE.md pattern 6). Kernels first, then launchers. Each thread runs the body the CPU executor runs
 * (core/nn/kernels_act.h and core/nn/kernels_xent.h, the _f32 instances): one element of an activation, one sample row of the cross-entropy.
 * Two kernels per op (forward+jvp, vjp+tvjp) take the bodies' optional outputs, so a future executor can fuse a
 * forward with its jvp as the CPU does; the launchers below run each of the four functions alone.
 * The cross-entropy body gets p = NULL: it recomputes softmax entries instead of keeping a C-entry row per thread
 * (same bits as the stored row; tests/test_cuda.c checks that on the host).
 * Built when WITH_CUDA=ON (nvcc found); runs only where a device exists (none on the project machines).
 * Exercised by: build/tests/test_cuda. */
#include "core/sbo_nn_cuda.h"               /* the seam (extern "C") */
#include "core/nn/nn.h"                     /* enum sbo_nn_kind */
#include "core/nn/kernels_act.h"            /* sbo_nn_<act>_*_thread_f32 */
#include "core/nn/kernels_xent.h"           /* sbo_nn_xent_*_row_f32 */
#include "core/cuda/sbo_cuda_common.cuh"    /* CUDA_CHECK, sbo_cuda_error_buf, k_block, grid_for */

// --- kernels -------------------------------------------------------------------------------------
/* two kernels per activation (forward+jvp, vjp+tvjp), stamped from its bodies */
#define ACT_KERNELS(act)                                                                                          \
    __global__ void sbo_nn_##act##_forward_kernel(long n, const float *u, const float *udot, float *y,             \
                                                  float *ydot) {                                                 \
        long t = (long)blockIdx.x * blockDim.x + threadIdx.x;                                                     \
        sbo_nn_##act##_forward_thread_f32(t, n, u, udot, y, ydot);                                                \
    }                                                                                                             \
    __global__ void sbo_nn_##act##_backward_kernel(long n, const float *u, const float *udot, const float *ybar,   \
                                                   const float *ybd, float *ubar, float *ubd) {                   \
        long t = (long)blockIdx.x * blockDim.x + threadIdx.x;                                                     \
        sbo_nn_##act##_backward_thread_f32(t, n, u, udot, ybar, ybd, ubar, ubd);                                  \
    }
ACT_KERNELS(relu)
ACT_KERNELS(tanh)
ACT_KERNELS(gelu)

typedef void (*act_fwd_kernel)(long, const float *, const float *, float *, float *);
typedef void (*act_bwd_kernel)(long, const float *, const float *, const float *, const float *, float *, float *);
/* indexed by op kind; NULL for kinds that are not activations */
static act_fwd_kernel act_fwd(int kind) {
    return kind == SBO_NN_RELU ? sbo_nn_relu_forward_kernel : kind == SBO_NN_TANH ? sbo_nn_tanh_forward_kernel
         : kind == SBO_NN_GELU ? sbo_nn_gelu_forward_kernel : NULL;
}
static act_bwd_kernel act_bwd(int kind) {
    return kind == SBO_NN_RELU ? sbo_nn_relu_backward_kernel : kind == SBO_NN_TANH ? sbo_nn_tanh_backward_kernel
         : kind == SBO_NN_GELU ? sbo_nn_gelu_backward_kernel : NULL;
}

__global__ void sbo_nn_xent_forward_kernel(long b, int C, const float *z, const int *labels, const float *zdot,
                                           float *y, float *ydot) {
    long s = (long)blockIdx.x * blockDim.x + threadIdx.x;
    sbo_nn_xent_forward_row_f32(s, b, C, z, labels, zdot, y, ydot, NULL);
}

__global__ void sbo_nn_xent_backward_kernel(long b, int C, const float *z, const int *labels, const float *zdot,
                                            const float *ybar, const float *ybd, float *zbar, float *zbd) {
    long s = (long)blockIdx.x * blockDim.x + threadIdx.x;
    sbo_nn_xent_backward_row_f32(s, b, C, z, labels, zdot, ybar, ybd, zbar, zbd, NULL);
}

// --- launchers -----------------------------------------------------------------------------------
static int check_act(const char *fn, int kind) {
    if (act_fwd(kind)) return 0;
    snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "%s: kind %d is not an activation (RELU, TANH, GELU)",
             fn, kind);
    return -1;
}

static int check_xent(const char *fn, int C) {
    if (C >= 1) return 0;
    snprintf(sbo_cuda_error_buf, sizeof sbo_cuda_error_buf, "%s: C = %d classes; need C >= 1", fn, C);
    return -1;
}

static int finish_launch(void) {
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}

extern "C" int sbo_cuda_nn_act_forward(int kind, long n, const float *d_u, float *d_y) {
    if (check_act(__func__, kind)) return -1;
    if (n <= 0) return 0;
    act_fwd(kind)<<<grid_for(n), k_block>>>(n, d_u, NULL, d_y, NULL);
    return finish_launch();
}

extern "C" int sbo_cuda_nn_act_jvp(int kind, long n, const float *d_u, const float *d_udot, float *d_ydot) {
    if (check_act(__func__, kind)) return -1;
    if (n <= 0) return 0;
    act_fwd(kind)<<<grid_for(n), k_block>>>(n, d_u, d_udot, NULL, d_ydot);
    return finish_launch();
}

extern "C" int sbo_cuda_nn_act_vjp(int kind, long n, const float *d_u, const float *d_ybar, float *d_ubar) {
    if (check_act(__func__, kind)) return -1;
    if (n <= 0) return 0;
    act_bwd(kind)<<<grid_for(n), k_block>>>(n, d_u, NULL, d_ybar, NULL, d_ubar, NULL);
    return finish_launch();
}

extern "C" int sbo_cuda_nn_act_tvjp(int kind, long n, const float *d_u, const float *d_udot, const float *d_ybar,
                                    const float *d_ybd, float *d_ubd) {
    if (check_act(__func__, kind)) return -1;
    if (n <= 0) return 0;
    act_bwd(kind)<<<grid_for(n), k_block>>>(n, d_u, d_udot, d_ybar, d_ybd, NULL, d_ubd);
    return finish_launch();
}

extern "C" int sbo_cuda_nn_xent_forward(int b, int C, const float *d_z, const int *d_labels, float *d_y) {
    if (check_xent(__func__, C)) return -1;
    if (b <= 0) return 0;
    sbo_nn_xent_forward_kernel<<<grid_for(b), k_block>>>(b, C, d_z, d_labels, NULL, d_y, NULL);
    return finish_launch();
}

extern "C" int sbo_cuda_nn_xent_jvp(int b, int C, const float *d_z, const int *d_labels, const float *d_zdot,
                                    float *d_ydot) {
    if (check_xent(__func__, C)) return -1;
    if (b <= 0) return 0;
    sbo_nn_xent_forward_kernel<<<grid_for(b), k_block>>>(b, C, d_z, d_labels, d_zdot, NULL, d_ydot);
    return finish_launch();
}

extern "C" int sbo_cuda_nn_xent_vjp(int b, int C, const float *d_z, const int *d_labels, const float *d_ybar,
                                    float *d_zbar) {
    if (check_xent(__func__, C)) return -1;
    if (b <= 0) return 0;
    sbo_nn_xent_backward_kernel<<<grid_for(b), k_block>>>(b, C, d_z, d_labels, NULL, d_ybar, NULL, d_zbar, NULL);
    return finish_launch();
}

extern "C" int sbo_cuda_nn_xent_tvjp(int b, int C, const float *d_z, const int *d_labels, const float *d_zdot,
                                     const float *d_ybar, const float *d_ybd, float *d_zbd) {
    if (check_xent(__func__, C)) return -1;
    if (b <= 0) return 0;
    sbo_nn_xent_backward_kernel<<<grid_for(b), k_block>>>(b, C, d_z, d_labels, d_zdot, d_ybar, d_ybd, NULL, d_zbd);
    return finish_launch();
}
