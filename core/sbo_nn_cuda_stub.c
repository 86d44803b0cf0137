/* core/sbo_nn_cuda_stub.c: host stubs of the network-op CUDA seam (core/sbo_nn_cuda.h) for builds without CUDA,
 * in the manner of core/sbo_cuda_stub.c: each returns -1, and sbo_cuda_last_error (that file) gives the reason.
 * Compiled always; empty when SBO_WITH_CUDA is defined (core/cuda/sbo_nn_cuda.cu provides the functions).
 * Exercised by: build/tests/test_cuda (the device tests skip before calling these). */
#include "core/sbo_nn_cuda.h"   /* the interface */

#ifndef SBO_WITH_CUDA
int sbo_cuda_nn_act_forward(int kind, long n, const float *d_u, float *d_y) {
    (void)kind; (void)n; (void)d_u; (void)d_y;
    return -1;
}

int sbo_cuda_nn_act_jvp(int kind, long n, const float *d_u, const float *d_udot, float *d_ydot) {
    (void)kind; (void)n; (void)d_u; (void)d_udot; (void)d_ydot;
    return -1;
}

int sbo_cuda_nn_act_vjp(int kind, long n, const float *d_u, const float *d_ybar, float *d_ubar) {
    (void)kind; (void)n; (void)d_u; (void)d_ybar; (void)d_ubar;
    return -1;
}

int sbo_cuda_nn_act_tvjp(int kind, long n, const float *d_u, const float *d_udot, const float *d_ybar,
                         const float *d_ybd, float *d_ubd) {
    (void)kind; (void)n; (void)d_u; (void)d_udot; (void)d_ybar; (void)d_ybd; (void)d_ubd;
    return -1;
}

int sbo_cuda_nn_xent_forward(int b, int C, const float *d_z, const int *d_labels, float *d_y) {
    (void)b; (void)C; (void)d_z; (void)d_labels; (void)d_y;
    return -1;
}

int sbo_cuda_nn_xent_jvp(int b, int C, const float *d_z, const int *d_labels, const float *d_zdot, float *d_ydot) {
    (void)b; (void)C; (void)d_z; (void)d_labels; (void)d_zdot; (void)d_ydot;
    return -1;
}

int sbo_cuda_nn_xent_vjp(int b, int C, const float *d_z, const int *d_labels, const float *d_ybar, float *d_zbar) {
    (void)b; (void)C; (void)d_z; (void)d_labels; (void)d_ybar; (void)d_zbar;
    return -1;
}

int sbo_cuda_nn_xent_tvjp(int b, int C, const float *d_z, const int *d_labels, const float *d_zdot,
                          const float *d_ybar, const float *d_ybd, float *d_zbd) {
    (void)b; (void)C; (void)d_z; (void)d_labels; (void)d_zdot; (void)d_ybar; (void)d_ybd; (void)d_zbd;
    return -1;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int sbo_nn_cuda_stub_unused;
#endif
