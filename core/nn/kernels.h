/* core/nn/kernels.h: the kernel table of the network engine: every range body an op runs through the backend
 * (core/nn/backend.h run), named by an id instead of a function pointer so that a device can launch it.
 *
 * SBO_NN_KERNEL_LIST(X) calls X(name, args) once per body: the body is sbo_nn_<name>_body_{f32,f64}, a
 * static inline SBO_HD function (long i0, long i1, const void *p) of a core/nn/kernels_*.h header, and p points to
 * its argument struct sbo_nn_<args>_args_{f32,f64}, which holds only scalars and pointers into backend memory.
 * Every body does indices [i0, i1) of its range, each independently of the others, so that one index per
 * GPU thread (i1 = i0 + 1) gives the numbers of the CPU's one contiguous chunk per thread, bit for bit.
 * Ids: SBO_NNK_<name>_f32 and SBO_NNK_<name>_f64 (enum sbo_nn_kernel); an op names them with NN_K(name)
 * (core/nn/typed.h), which picks its precision.
 *
 * The CPU backend (core/nn/backend_cpu.c) calls the bodies through a table of host pointers built from this list;
 * the CUDA backend (core/cuda/sbo_nn_kernels.cu) stamps one __global__ wrapper per entry from the same list;
 * tests/test_nn_guarded.c runs every graph of the op tests with a backend that calls each body one index at a time
 * over a scrambled emulated grid and holds it to the CPU backend bit for bit.
 * Adding an op's body: write it in its kernels_*.h header and add one line here.
 * Exercised by: every graph (build/test_nn, build/test_nn_guarded). */
#ifndef SBO_NN_KERNELS_H
#define SBO_NN_KERNELS_H
#include "core/nn/nn.h"                /* SBO_NN_MAX_CLASSES (the softmax rows on the stack) */
#include "core/nn/kernels_act.h"       /* relu, tanh, gelu, silu; add */
#include "core/nn/kernels_mul.h"       /* mul */
#include "core/nn/kernels_linear.h"    /* the linear op's bias */
#include "core/nn/kernels_xent.h"      /* cross-entropy */
#include "core/nn/kernels_loss.h"      /* sigmoid_gather, wmean */
#include "core/nn/kernels_reg.h"       /* l2 */
#include "core/nn/kernels_embed.h"     /* embedding */
#include "core/nn/kernels_mixture.h"   /* softmax_gather */
#include "core/nn/kernels_norm.h"      /* layernorm, rmsnorm */
#include "core/nn/kernels_permute.h"   /* permute */
#include "core/nn/kernels_softmax.h"   /* softmax */
#include "core/nn/kernels_vit.h"       /* add_bcast, mean_tokens */

#define SBO_NN_KERNEL_LIST(X)                                                                                   \
    X(relu_fwd, act) X(relu_bwd, act) X(tanh_fwd, act) X(tanh_bwd, act)                                         \
    X(gelu_fwd, act) X(gelu_bwd, act) X(silu_fwd, act) X(silu_bwd, act)                                         \
    X(add, add) X(acc, add)                                                                                     \
    X(mul_fwd, mul) X(mul_jvp, mul) X(mul_bwd, mul)                                                             \
    X(bias_rows, bias) X(colsum, colsum)                                                                        \
    X(xent_fwd, xent) X(xent_bwd, xent)                                                                         \
    X(sgather_fwd, sgather) X(sgather_bwd, sgather)                                                             \
    X(wmean_tan, wmean) X(wmean_bwd, wmean) X(wmean_tbwd, wmean)                                                \
    X(l2_acc, l2)                                                                                               \
    X(embed_gather, embed) X(embed_scatter, embed)                                                              \
    X(smg_fwd, smgather) X(smg_bwd, smgather)                                                                   \
    X(norm_fwd, norm) X(norm_bwd, norm) X(norm_param, norm)                                                     \
    X(permute_gather, permute) X(permute_scatter, permute)                                                      \
    X(softmax_fwd, softmax) X(softmax_bwd, softmax)                                                             \
    X(bcast_add, bcast) X(bcast_acc, bcast) X(bcast_sum, bcast)                                                 \
    X(meantok_mean, meantok) X(meantok_spread, meantok)

#define SBO_NN_KERNEL_ENUM_(name, args) SBO_NNK_##name##_f32, SBO_NNK_##name##_f64,
enum sbo_nn_kernel { SBO_NN_KERNEL_LIST(SBO_NN_KERNEL_ENUM_) SBO_NN_N_KERNELS };
#undef SBO_NN_KERNEL_ENUM_

#ifdef __cplusplus
extern "C" {
#endif
/* The name of kernel id k ("relu_fwd_f32"), "?" outside the table. */
const char *sbo_nn_kernel_name(int k);
#ifdef __cplusplus
}
#endif
#endif
