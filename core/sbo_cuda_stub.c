/* core/sbo_cuda_stub.c: host stubs of the CUDA seam (core/sbo_cuda.h) for builds without CUDA.
 * Compiled always; empty when SBO_WITH_CUDA is defined (core/cuda/sbo_cuda.cu provides the functions).
 * Exercised by: build/tests/test_cuda (the device tests skip with this reason). */
#include "core/sbo_cuda.h"   /* the interface */

#ifndef SBO_WITH_CUDA
#include <stdio.h>

static const char *const k_reason = "built without CUDA (configure with -DWITH_CUDA=ON and nvcc on PATH)";

int sbo_cuda_available(char *why, size_t n) {
    if (why && n) snprintf(why, n, "%s", k_reason);
    return 0;
}

const char *sbo_cuda_last_error(void) { return k_reason; }

int sbo_cuda_versions(char *buf, size_t n) {
    if (buf && n) snprintf(buf, n, "%s", k_reason);
    return -1;
}

int sbo_cuda_mem_info(size_t *free_bytes, size_t *total_bytes) {
    if (free_bytes) *free_bytes = 0;
    if (total_bytes) *total_bytes = 0;
    return -1;
}

void *sbo_cuda_alloc(size_t bytes) { (void)bytes; return NULL; }
void sbo_cuda_free(void *d_ptr) { (void)d_ptr; }
int sbo_cuda_to_device(void *d_dst, const void *src, size_t bytes) { (void)d_dst; (void)src; (void)bytes; return -1; }
int sbo_cuda_to_host(void *dst, const void *d_src, size_t bytes) { (void)dst; (void)d_src; (void)bytes; return -1; }

int sbo_cuda_axpy(long n, double a, const double *d_x, double *d_y) {
    (void)n; (void)a; (void)d_x; (void)d_y;
    return -1;
}

int sbo_cuda_philox_uniform(uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration, long n,
                            double *d_out) {
    (void)seed; (void)purpose; (void)block; (void)iteration; (void)n; (void)d_out;
    return -1;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int sbo_cuda_stub_unused;
#endif
