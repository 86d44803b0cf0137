/* core/nn/backend_cuda_stub.c: sbo_nn_backend_cuda() for builds without CUDA: there is no CUDA backend (NULL).
 * Compiled always; empty when SBO_WITH_CUDA is defined (core/cuda/sbo_nn_backend_cuda.cu provides it).
 * Exercised by: build/tests/test_cuda (the device tests skip). */
#include "core/nn/backend_cuda.h"   /* the interface */

#ifndef SBO_WITH_CUDA
#include <stddef.h>

const sbo_nn_backend *sbo_nn_backend_cuda(void) { return NULL; }
#else
/* ISO C forbids an empty translation unit. */
typedef int sbo_nn_backend_cuda_stub_unused;
#endif
