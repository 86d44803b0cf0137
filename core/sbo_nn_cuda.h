/* core/sbo_nn_cuda.h: the CUDA seam of the network engine's non-GEMM ops (STYLE.md pattern 6), float32. Each op
 * of core/nn/nn.h has four functions (forward, jvp, vjp, tvjp); here the activations (RELU, TANH, GELU) and the
 * softmax cross-entropy get one launcher each. A launcher runs the per-thread body of core/nn/kernels_act.h and kernels_xent.h that
 * the CPU ops (core/nn/op_act.c, op_loss.c) runs in its loop, with the body's arguments minus the thread index; the
 * GEMMs of the linear op are meant for cuBLAS and are not here. vjp and tvjp accumulate (+=), like the executor.
 * Pointers named d_* are device memory (sbo_cuda_alloc, core/sbo_cuda.h); labels are b ints in [0, C).
 * Built with CUDA (SBO_WITH_CUDA): core/cuda/sbo_nn_cuda.cu; otherwise core/sbo_nn_cuda_stub.c, whose functions
 * return -1 (sbo_cuda_last_error says "built without CUDA"). Every function returns 0 on success and -1 on
 * failure with the reason in sbo_cuda_last_error(). Device numbers equal the CPU's to a few float ulps (tanhf,
 * expf and FMA contraction on the device; core/nn/kernels_act.h and kernels_xent.h), not bit for bit.
 * Exercised by: build/tests/test_cuda (device tests skip when sbo_cuda_available says no). */
#ifndef SBO_NN_CUDA_H
#define SBO_NN_CUDA_H

#ifdef __cplusplus
extern "C" {
#endif

/* Activation of kind SBO_NN_RELU, SBO_NN_TANH or SBO_NN_GELU over n elements (n = b x cols):
 *   forward  y = f(u)                          jvp   y' = f'(u) u'
 *   vjp      u_bar += f'(u) y_bar              tvjp  u_bar' += f'(u) y_bar' + f''(u) u' y_bar
 * CPU: SBO_NN_RELU/TANH/GELU in core/nn/op_act.c (sbo_nn_<act>_*_thread_f32). */
int sbo_cuda_nn_act_forward(int kind, long n, const float *d_u, float *d_y);
int sbo_cuda_nn_act_jvp(int kind, long n, const float *d_u, const float *d_udot, float *d_ydot);
int sbo_cuda_nn_act_vjp(int kind, long n, const float *d_u, const float *d_ybar, float *d_ubar);
int sbo_cuda_nn_act_tvjp(int kind, long n, const float *d_u, const float *d_udot, const float *d_ybar,
                         const float *d_ybd, float *d_ubd);

/* Softmax cross-entropy of b rows of C logits z (b x C), one thread per row (q = softmax(z_s), e = label):
 *   forward  y_s = logsumexp(z_s) - z_s[label]   jvp   y'_s = <q, z'_s> - z'_s[label]
 *   vjp      z_bar_s += y_bar_s (q - e)          tvjp  z_bar'_s += y_bar'_s (q - e) + y_bar_s q .* (z'_s - <q, z'_s>)
 * CPU: SBO_NN_XENT in core/nn/op_loss.c (sbo_nn_xent_*_row_f32). */
int sbo_cuda_nn_xent_forward(int b, int C, const float *d_z, const int *d_labels, float *d_y);
int sbo_cuda_nn_xent_jvp(int b, int C, const float *d_z, const int *d_labels, const float *d_zdot, float *d_ydot);
int sbo_cuda_nn_xent_vjp(int b, int C, const float *d_z, const int *d_labels, const float *d_ybar, float *d_zbar);
int sbo_cuda_nn_xent_tvjp(int b, int C, const float *d_z, const int *d_labels, const float *d_zdot,
                          const float *d_ybar, const float *d_ybd, float *d_zbd);

#ifdef __cplusplus
}
#endif
#endif
