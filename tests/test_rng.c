/* tests/test_rng.c: the Philox4x32-10 generator and the keyed streams (core/sbo_rng.h, core/sbo_rng.c).
 * Known answers: the three "philox4x32 10" lines of Random123's kat_vectors (counter, key -> output).
 * Statistical checks are z-tests with |z| < 5 on fixed seeds (a chance failure would have probability
 * about 5.7e-7 per statistic; with fixed seeds the outcome is deterministic anyway).
 * Run: ctest -R test_rng, or build-core/test_rng --verbose. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_rng.h"   /* the code under test */

// --- known answers ---------------------------------------------------------------------------------
typedef struct { uint32_t ctr[4], key[2], out[4]; } kat;
static const kat k_kat[3] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

Test(philox, random123_known_answers) {
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        sbo_philox4x32_10(k_kat[t].ctr, k_kat[t].key, out);
        for (int i = 0; i < 4; i++)
            cr_assert_eq(out[i], k_kat[t].out[i], "KAT %d word %d: got %08x, expected %08x", t, i, out[i], k_kat[t].out[i]);
    }
}

// --- stream layout ---------------------------------------------------------------------------------
Test(stream, layout_is_key_seed_and_counter_purpose_block_iteration) {
    /* key = (seed lo, seed hi), ctr = {draw, iteration, block, purpose}: the contract of core/sbo_rng.c. */
    uint64_t seed = 0x0123456789abcdefULL;
    sbo_stream s;
    sbo_stream_init(&s, seed, 5, 7, 11);
    uint32_t key[2] = {0x89abcdefu, 0x01234567u};
    for (uint32_t blk = 0; blk < 3; blk++) {
        uint32_t ctr[4] = {blk, 11, 7, 5}, out[4];
        sbo_philox4x32_10(ctr, key, out);
        for (int i = 0; i < 4; i++) cr_assert_eq(sbo_stream_u32(&s), out[i], "block %u word %d", blk, i);
    }
}

Test(stream, deterministic) {
    sbo_stream a, b;
    sbo_stream_init(&a, 42, SBO_RNG_SUBSPACE, 3, 1000);
    sbo_stream_init(&b, 42, SBO_RNG_SUBSPACE, 3, 1000);
    for (int i = 0; i < 1000; i++) {
        double x = sbo_stream_gaussian(&a), y = sbo_stream_gaussian(&b);
        cr_assert(memcmp(&x, &y, sizeof x) == 0, "draw %d differs", i);
    }
}

static int same_prefix(uint64_t s1, uint32_t p1, uint32_t b1, uint64_t i1, uint64_t s2, uint32_t p2, uint32_t b2, uint64_t i2) {
    sbo_stream a, b;
    sbo_stream_init(&a, s1, p1, b1, i1);
    sbo_stream_init(&b, s2, p2, b2, i2);
    int same = 0;
    for (int i = 0; i < 8; i++) same += sbo_stream_u32(&a) == sbo_stream_u32(&b);
    return same;
}

Test(stream, every_key_field_separates_streams) {
    /* 8 words equal by chance: probability 2^-32 per word. */
    cr_assert_eq(same_prefix(1, 1, 0, 0, 2, 1, 0, 0), 0, "seed");
    cr_assert_eq(same_prefix(1, 1, 0, 0, 1 + (1ULL << 32), 1, 0, 0), 0, "seed high 32 bits");
    cr_assert_eq(same_prefix(1, 1, 0, 0, 1, 2, 0, 0), 0, "purpose");
    cr_assert_eq(same_prefix(1, 1, 0, 0, 1, 1, 1, 0), 0, "block");
    cr_assert_eq(same_prefix(1, 1, 0, 0, 1, 1, 0, 1), 0, "iteration");
    cr_assert_eq(same_prefix(9, 4, 2, 77, 9, 4, 2, 77), 8, "identical keys");
}

Test(stream, streams_uncorrelated) {
    /* Neighbouring iterations (the usual case: P_k and P_{k+1}) give uncorrelated Gaussians:
     * sample correlation * sqrt(N) ~ N(0,1). */
    const long N = 200000;
    sbo_stream a, b;
    sbo_stream_init(&a, 7, SBO_RNG_PROBE, 0, 5);
    sbo_stream_init(&b, 7, SBO_RNG_PROBE, 0, 6);
    double sab = 0;
    for (long i = 0; i < N; i++) sab += sbo_stream_gaussian(&a) * sbo_stream_gaussian(&b);
    double z = sab / sqrt((double)N);
    cr_assert(fabs(z) < 5.0, "correlation z = %.2f", z);
}

Test(stream, iteration_beyond_32_bits_aborts, .signal = SIGABRT) {
    sbo_stream s;
    sbo_stream_init(&s, 1, 1, 0, 1ULL << 32);
}

// --- conversions -----------------------------------------------------------------------------------
Test(uniform, open_interval_exact_lattice) {
    /* u = (k + 1/2) 2^-52 with k the top 52 bits: extremes 2^-53 and 1 - 2^-53, both exact, never 0 or 1. */
    double lo = sbo_u32x2_to_uniform(0, 0), hi = sbo_u32x2_to_uniform(0xffffffffu, 0xffffffffu);
    cr_assert(lo > 0.0 && lo == ldexp(1.0, -53), "smallest uniform %g", lo);
    cr_assert(hi < 1.0 && hi == 1.0 - ldexp(1.0, -53), "largest uniform %.17g", hi);
    cr_assert(lo + hi == 1.0, "the lattice is symmetric about 1/2");
    /* one unit of k moves the result by exactly 2^-52; the low 12 bits of lo are unused */
    double a = sbo_u32x2_to_uniform(0, 1u << 12), b = sbo_u32x2_to_uniform(0, 0xfffu);
    cr_assert(a - b == ldexp(1.0, -52) && b == lo);
}

Test(uniform, fill_helper_equals_sequential_stream) {
    enum { n = 1001 };
    static double out[n];
    sbo_philox_uniform(123, SBO_RNG_TEST, 4, 9, n, out);
    sbo_stream s;
    sbo_stream_init(&s, 123, SBO_RNG_TEST, 4, 9);
    for (int i = 0; i < n; i++) cr_assert(out[i] == sbo_stream_uniform(&s), "element %d", i);
}

Test(uniform, moments) {
    const long N = 1000000;
    sbo_stream s;
    sbo_stream_init(&s, 2024, SBO_RNG_TEST, 0, 0);
    double sum = 0, sum2 = 0, mn = 1, mx = 0;
    for (long i = 0; i < N; i++) {
        double u = sbo_stream_uniform(&s);
        sum += u; sum2 += u * u;
        mn = fmin(mn, u); mx = fmax(mx, u);
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    cr_assert(mn > 0.0 && mx < 1.0);
    double zm = (mean - 0.5) / sqrt(1.0 / 12.0 / N);
    double zv = (var - 1.0 / 12.0) / sqrt(1.0 / 180.0 / N);   /* Var(U^2-ish): Var((U-1/2)^2) = 1/180 */
    cr_assert(fabs(zm) < 5.0, "uniform mean z = %.2f (|z| < 5)", zm);
    cr_assert(fabs(zv) < 5.0, "uniform variance z = %.2f (|z| < 5)", zv);
}

// --- Gaussians -------------------------------------------------------------------------------------
Test(gaussian, mean_variance_kurtosis_z_tests) {
    /* For N(0,1): Var(x) = 1, Var(x^2) = 2, Var(x^4) = E x^8 - 9 = 96. Tolerance |z| < 5 each. */
    const long N = 1000000;
    sbo_stream s;
    sbo_stream_init(&s, 99, SBO_RNG_TEST, 1, 0);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (long i = 0; i < N; i++) {
        double x = sbo_stream_gaussian(&s), x2 = x * x;
        s1 += x; s2 += x2; s3 += x2 * x; s4 += x2 * x2;
    }
    double zm = (s1 / N) / sqrt(1.0 / N);
    double zv = (s2 / N - 1.0) / sqrt(2.0 / N);
    double zs = (s3 / N) / sqrt(15.0 / N);                      /* Var(x^3) = E x^6 = 15 */
    double zk = (s4 / N - 3.0) / sqrt(96.0 / N);
    cr_assert(fabs(zm) < 5.0, "mean z = %.2f", zm);
    cr_assert(fabs(zv) < 5.0, "variance z = %.2f", zv);
    cr_assert(fabs(zs) < 5.0, "third moment z = %.2f", zs);
    cr_assert(fabs(zk) < 5.0, "fourth moment z = %.2f", zk);
}

Test(gaussian, tail_probability) {
    /* P(|x| > 3) = 0.0026998; binomial z-test. Catches a wrong Box-Muller radius. */
    const long N = 1000000;
    const double p = 0.00269979606326019;
    sbo_stream s;
    sbo_stream_init(&s, 5, SBO_RNG_TEST, 2, 0);
    long k = 0;
    for (long i = 0; i < N; i++) k += fabs(sbo_stream_gaussian(&s)) > 3.0;
    double z = (k - N * p) / sqrt(N * p * (1 - p));
    cr_assert(fabs(z) < 5.0, "tail count %ld, z = %.2f", k, z);
}

Test(gaussian, fill_equals_single_calls_including_the_cached_spare) {
    sbo_stream a, b;
    sbo_stream_init(&a, 1, SBO_RNG_INIT, 0, 0);
    sbo_stream_init(&b, 1, SBO_RNG_INIT, 0, 0);
    double buf[7];
    sbo_stream_gaussian_fill(&a, buf, 7);            /* odd: leaves a spare in the stream */
    for (int i = 0; i < 7; i++) cr_assert(buf[i] == sbo_stream_gaussian(&b));
    for (int i = 0; i < 5; i++) cr_assert(sbo_stream_gaussian(&a) == sbo_stream_gaussian(&b));
}

// --- Rademacher ------------------------------------------------------------------------------------
Test(rademacher, values_and_balance) {
    const long N = 1000000;
    sbo_stream s;
    sbo_stream_init(&s, 3, SBO_RNG_PROBE, 0, 0);
    double sum = 0;
    for (long i = 0; i < N; i++) {
        double v = sbo_stream_rademacher(&s);
        cr_assert(v == 1.0 || v == -1.0);
        sum += v;
    }
    double z = sum / sqrt((double)N);
    cr_assert(fabs(z) < 5.0, "Rademacher mean z = %.2f", z);
    /* fill and single calls agree (one word per value) */
    sbo_stream a, b;
    sbo_stream_init(&a, 3, SBO_RNG_PROBE, 1, 2);
    sbo_stream_init(&b, 3, SBO_RNG_PROBE, 1, 2);
    double buf[9];
    sbo_stream_rademacher_fill(&a, buf, 9);
    for (int i = 0; i < 9; i++) cr_assert(buf[i] == sbo_stream_rademacher(&b));
}
