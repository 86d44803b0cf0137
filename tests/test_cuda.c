/* tests/test_cuda.c: the CUDA seam (core/sbo_cuda.h, core/sbo_kernels.h). The kernels' per-thread bodies
 * run here on the host over an emulated grid and must equal the CPU references bit for bit; the Philox
 * body must reproduce the Random123 known answer. The device tests run only where a GPU exists and
 * otherwise skip with the reason (no GPU on the project machines).
 * Run: ctest -R test_cuda, or build-core/test_cuda --verbose. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_cuda.h"     /* launchers and availability */
#include "core/sbo_kernels.h"  /* the per-thread bodies */
#include "core/sbo_rng.h"      /* sbo_philox_uniform, streams: the CPU reference */
#include "core/sbo_tuple.h"    /* sbo_vec_axpy: the CPU reference */

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
