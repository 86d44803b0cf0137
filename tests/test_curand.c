/* tests/test_curand.c: the project's Philox4x32-10 (core/sbo_rng.h) against NVIDIA cuRAND, bit for bit, without a GPU
 * (issue 9): cuRAND's host generator (curandCreateGeneratorHost, CURAND_RNG_PSEUDO_PHILOX4_32_10, runs on the CPU) and
 * cuRAND's device API (curand_init / curand4, compiled as host code by tests/curand_device_on_host.cu).
 * Built only when CUDA and CUDA::curand are found (CMakeLists.txt). Run: ctest -R test_curand, or
 * build/test_curand --verbose.
 *
 * --- the mapping (read from curand_kernel.h / curand_philox4x32_x.h, confirmed by the tests below) ---------------
 * The block function is the same: curand_Philox4x32_10(ctr, key) with ctr = (x, y, z, w), key = (x, y) is
 * sbo_philox4x32_10(ctr[4], key[2]) with ctr[i], key[i] in that order, and its words come out in the order x, y, z, w.
 * Device API, curand_init(seed, subsequence, offset):
 *   key = (seed low 32 bits, seed high 32 bits)               -- the project's sbo_stream_key, exactly
 *   ctr = (x, y) = offset / 4 as a 64-bit number (x low), (z, w) = subsequence as a 64-bit number (z low),
 *   and the first word returned is word offset % 4 of that block; curand4/curand then walk the 128-bit counter
 *   upward from x (a carry out of x goes into y, then z, then w).
 *   So the project's stream (seed, purpose, block, iteration), ctr = {draw, iteration, block, purpose}, IS the device
 *   stream curand_init(seed, subsequence = block + 2^32 purpose, offset = 2^34 iteration), exactly, for every block
 *   and purpose and for iteration < 2^30 (offset is 64 bits); larger iterations are reached by further
 *   skipahead(2^34 j) calls. Word d of the project stream = the d-th word curand returns.
 * Host generator (curandCreateGeneratorHost; the orderings PSEUDO_DEFAULT/BEST/LEGACY/SEEDED/DYNAMIC gave the same
 * words here, CUDA 13.0): it emulates T = 65536 device threads, thread t being curand_init(seed, t, 0), and
 * interleaves them four words at a time. With k = offset + (words drawn so far) the global word index (successive
 * curandGenerate calls continue the sequence), b = k / 4:
 *   output word k = word (k % 4) of Philox(ctr = {(b / T) low 32, (b / T) high 32, b % T, 0}, key = seed words).
 *   What it cannot express: ctr.w is always 0 and ctr.z < 65536 (the subsequence is the thread index; offset is the
 *   only other setting, and it moves ctr.x, ctr.y, ctr.z together), and the words of one (z, w) come at a stride of
 *   4T = 262144. Every stream the project draws has purpose >= 1 in ctr.w (enum sbo_rng_purpose), so no project
 *   stream is a contiguous run, or even a subsequence, of the host generator's output. What is compared instead:
 *   the host generator's raw words against sbo_philox4x32_10 at the mapped (counter, key), over 64-bit offsets that
 *   reach ctr.y; and the project's stream API itself at purpose 0 (not a real purpose, but the same code path),
 *   whose words the host generator does produce at that stride.
 * Whether a GPU run of the device generator (curandCreateGenerator) uses the same T and interleaving is not tested
 * here (no device); cuRAND documents only PSEUDO_LEGACY's order as fixed across releases. */
#include <criterion/criterion.h>
#include <curand.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/sbo_rng.h"   /* sbo_philox4x32_10, sbo_stream_*: the code under test */

enum { k_host_threads = 65536 };   /* T: the host generator's emulated threads (subsequences 0..T-1) */

/* word k of the host generator's output, per the mapping above */
static uint32_t host_generator_word(uint64_t seed, uint64_t k) {
    uint64_t b = k / 4, row = b / k_host_threads;
    uint32_t ctr[4] = {(uint32_t)row, (uint32_t)(row >> 32), (uint32_t)(b % k_host_threads), 0}, key[2], out[4];
    sbo_stream_key(seed, key);
    sbo_philox4x32_10(ctr, key, out);
    return out[k % 4];
}

/* A host generator with seed, offset and ordering set; skips the test (never fails it) when cuRAND cannot create one
 * (no driver or library at run time). */
static curandGenerator_t host_generator_or_skip(uint64_t seed, uint64_t offset, curandOrdering_t ordering) {
    curandGenerator_t g;
    curandStatus_t st = curandCreateGeneratorHost(&g, CURAND_RNG_PSEUDO_PHILOX4_32_10);
    if (st != CURAND_STATUS_SUCCESS)
        cr_skip_test("curandCreateGeneratorHost(PHILOX4_32_10) failed with status %d: skipped the comparison of "
                     "cuRAND's host Philox with sbo_philox4x32_10", (int)st);
    cr_assert_eq(curandSetPseudoRandomGeneratorSeed(g, seed), CURAND_STATUS_SUCCESS);
    cr_assert_eq(curandSetGeneratorOffset(g, offset), CURAND_STATUS_SUCCESS);
    cr_assert_eq(curandSetGeneratorOrdering(g, ordering), CURAND_STATUS_SUCCESS);
    return g;
}

// --- the host generator ------------------------------------------------------------------------------------------
Test(curand_host, words_equal_sbo_philox_at_the_mapped_counter) {
    /* Offsets: 0 (two calls that continue each other, across rows b/T = 0, 1, 2), unaligned (7: words start inside a
     * block), one that carries into ctr.y (2^50 = 4 T 2^32), and one near 2^64. Two orderings: the default and
     * LEGACY (the one cuRAND keeps fixed across releases). */
    const uint64_t seed = 0x0123456789abcdefULL;
    const struct { uint64_t offset; size_t n; int calls; } cases[] = {
        {0, 4 * k_host_threads * 2 + 6, 2},
        {7, 300001, 1},
        {(1ULL << 50) - 4ULL * k_host_threads * 2 - 3, 4 * k_host_threads * 4, 1},
        {0xFFFFFFFFFFF00000ULL, 4096, 1},
    };
    const curandOrdering_t orderings[] = {CURAND_ORDERING_PSEUDO_DEFAULT, CURAND_ORDERING_PSEUDO_LEGACY};
    size_t max_n = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) max_n = cases[c].n > max_n ? cases[c].n : max_n;
    unsigned int *buf = malloc(sizeof(unsigned int) * max_n);
    long compared = 0;
    for (size_t o = 0; o < 2; o++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            curandGenerator_t g = host_generator_or_skip(seed, cases[c].offset, orderings[o]);
            uint64_t k = cases[c].offset;
            for (int call = 0; call < cases[c].calls; call++) {
                cr_assert_eq(curandGenerate(g, buf, cases[c].n), CURAND_STATUS_SUCCESS);
                for (size_t i = 0; i < cases[c].n; i++, k++, compared++)
                    if (buf[i] != host_generator_word(seed, k))
                        cr_assert_fail("ordering %d, offset %llu, call %d, word %zu (k = %llu): cuRAND %08x, "
                                 "sbo_philox4x32_10 %08x", (int)orderings[o], (unsigned long long)cases[c].offset,
                                 call, i, (unsigned long long)k, buf[i], host_generator_word(seed, k));
            }
            curandDestroyGenerator(g);
        }
    cr_log_info("cuRAND host generator = sbo_philox4x32_10 on %ld words", compared);
    free(buf);
}

Test(curand_host, purpose_zero_stream_equals_strided_host_words) {
    /* The project's stream API at purpose 0 (ctr = {draw, iteration, block, 0}) against the host generator: draw d,
     * word w is host word 4 ((d + 2^32 iteration) T + block) + w, read by setting the offset there. */
    const uint64_t seed = 0xfeedbeef12345678ULL;
    const uint32_t block = 12345, iteration = 3;
    sbo_stream s;
    sbo_stream_init(&s, seed, 0, block, iteration);
    curandGenerator_t g = host_generator_or_skip(seed, 0, CURAND_ORDERING_PSEUDO_LEGACY);
    for (uint64_t d = 0; d < 64; d++) {
        uint64_t offset = 4 * ((d + ((uint64_t)iteration << 32)) * k_host_threads + block);
        unsigned int words[4];
        cr_assert_eq(curandSetGeneratorOffset(g, offset), CURAND_STATUS_SUCCESS);
        cr_assert_eq(curandGenerate(g, words, 4), CURAND_STATUS_SUCCESS);
        for (int w = 0; w < 4; w++) {
            uint32_t ours = sbo_stream_u32(&s);
            cr_assert_eq(words[w], ours, "draw %llu word %d: cuRAND %08x, sbo_stream_u32 %08x",
                         (unsigned long long)d, w, words[w], ours);
        }
    }
    curandDestroyGenerator(g);
}

// --- the device API, run on the host ----------------------------------------------------------------------------
#ifdef SBO_CURAND_DEVICE_ON_HOST
/* tests/curand_device_on_host.cu */
void sbo_test_curand_device_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
void sbo_test_curand_device_words(uint64_t seed, uint64_t subsequence, uint64_t offset, uint64_t extra_hi, long n,
                                  uint32_t *out);
#define SKIP_WITHOUT_DEVICE_ON_HOST() ((void)0)
#else
#define SKIP_WITHOUT_DEVICE_ON_HOST()                                                                                \
    cr_skip_test("cuRAND's device API (curand_kernel.h) did not compile as host code with this nvcc (configure-time " \
                 "check SBO_CURAND_DEVICE_ON_HOST): skipped the comparison of curand_init/curand4 with sbo_philox4x32_10")
#endif

Test(curand_device, block_function_equals_sbo_philox) {
    /* Random123's three known answers, then 4096 (counter, key) pairs drawn from a test stream. */
    SKIP_WITHOUT_DEVICE_ON_HOST();
#ifdef SBO_CURAND_DEVICE_ON_HOST
    uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {0, 0}, ours[4], theirs[4];
    sbo_test_curand_device_philox(ctr, key, theirs);
    cr_assert(theirs[0] == 0x6627e8d5u && theirs[1] == 0xe169c58du && theirs[2] == 0xbc57ac4cu &&
              theirs[3] == 0x9b00dbd8u, "curand_Philox4x32_10 misses the Random123 known answer at zero");
    sbo_stream s;
    sbo_stream_init(&s, 2024, SBO_RNG_TEST, 0, 0);
    for (int t = 0; t < 4096; t++) {
        for (int i = 0; i < 4; i++) ctr[i] = sbo_stream_u32(&s);
        for (int i = 0; i < 2; i++) key[i] = sbo_stream_u32(&s);
        sbo_philox4x32_10(ctr, key, ours);
        sbo_test_curand_device_philox(ctr, key, theirs);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(theirs[i], ours[i], "pair %d word %d: curand_Philox4x32_10 %08x, sbo_philox4x32_10 %08x", t,
                         i, theirs[i], ours[i]);
    }
#endif
}

Test(curand_device, curand_init_stream_equals_project_stream) {
    /* curand_init(seed, block + 2^32 purpose, 2^34 iteration) + curand4 = sbo_stream(seed, purpose, block, iteration),
     * 4000 words each; the largest iteration goes through skipahead (2^34 iteration does not fit the offset). */
    SKIP_WITHOUT_DEVICE_ON_HOST();
#ifdef SBO_CURAND_DEVICE_ON_HOST
    const struct { uint64_t seed; uint32_t purpose, block; uint64_t iteration; } streams[] = {
        {0, SBO_RNG_INIT, 0, 0},
        {0x0123456789abcdefULL, SBO_RNG_PROBE, 7, 11},
        {0xfeedbeef12345678ULL, SBO_RNG_SUBSPACE, 0xffffffffu, (1u << 30) - 1},
        {42, SBO_RNG_LABEL_NOISE, 3, 0xfffffff0u},
    };
    enum { n = 4000 };
    uint32_t *theirs = malloc(sizeof(uint32_t) * n);
    for (size_t c = 0; c < sizeof streams / sizeof streams[0]; c++) {
        uint64_t subsequence = streams[c].block + ((uint64_t)streams[c].purpose << 32);
        int fits = streams[c].iteration < (1u << 30);
        sbo_test_curand_device_words(streams[c].seed, subsequence, fits ? streams[c].iteration << 34 : 0,
                                     fits ? 0 : streams[c].iteration, n, theirs);
        sbo_stream s;
        sbo_stream_init(&s, streams[c].seed, streams[c].purpose, streams[c].block, streams[c].iteration);
        for (long i = 0; i < n; i++) {
            uint32_t ours = sbo_stream_u32(&s);
            cr_assert_eq(theirs[i], ours, "stream %zu word %ld: curand4 %08x, sbo_stream_u32 %08x", c, i, theirs[i],
                         ours);
        }
    }
    free(theirs);
#endif
}

Test(curand_device, threads_interleaved_equal_host_generator) {
    /* The claim in cuRAND's own terms: thread t = curand_init(seed, t, 0), rows 0 and 1, is what the host
     * generator writes at words 4t..4t+3 and 4(T + t)..4(T + t)+3, for all T threads. */
    SKIP_WITHOUT_DEVICE_ON_HOST();
#ifdef SBO_CURAND_DEVICE_ON_HOST
    const uint64_t seed = 0x5eed5eed00c0ffeeULL;
    const size_t n = 4 * k_host_threads * 2;
    unsigned int *host = malloc(sizeof(unsigned int) * n);
    curandGenerator_t g = host_generator_or_skip(seed, 0, CURAND_ORDERING_PSEUDO_LEGACY);
    cr_assert_eq(curandGenerate(g, host, n), CURAND_STATUS_SUCCESS);
    curandDestroyGenerator(g);
    for (uint64_t t = 0; t < k_host_threads; t++) {
        uint32_t dev[8];
        sbo_test_curand_device_words(seed, t, 0, 0, 8, dev);
        for (int r = 0; r < 2; r++)
            for (int w = 0; w < 4; w++)
                cr_assert_eq(dev[4 * r + w], host[4 * (r * k_host_threads + t) + w],
                             "thread %llu row %d word %d: device API %08x, host generator %08x",
                             (unsigned long long)t, r, w, dev[4 * r + w], host[4 * (r * k_host_threads + t) + w]);
    }
    free(host);
#endif
}
