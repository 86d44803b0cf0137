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
#include "core/sbo_normal.h"   /* sbo_normal_log, sbo_normal_pair_v2 */

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

// --- version-2 Gaussians (core/sbo_normal.h) ------------------------------------------------------------
Test(gaussian_v2, log_and_sincos_bodies_match_libm) {
    /* Over the uniform lattice, including both ends and the octant edges of 2 pi u. Tolerances: 2 ulps relative for
     * log (libm's is within 1 ulp); 8e-16 absolute for sin and cos, because the reference's angle 2 pi u is off by
     * up to 2.4e-16 (2 pi as a double) + 4.4e-16 (rounding the product) near 2 pi, while version 2 reduces exactly. */
    sbo_stream s;
    sbo_stream_init(&s, 17, SBO_RNG_TEST, 9, 0);
    for (long i = 0; i < 200000; i++) {
        double u = i < 4 ? sbo_u32x2_to_uniform(i < 2 ? 0u : 0xFFFFFFFFu, i % 2 ? 0xFFFFFFFFu : 0u)
                         : sbo_stream_uniform(&s);
        if (i >= 4 && i < 68) u = ((double)(i - 4) / 8.0) + (i % 2 ? 1 : -1) * 0x1p-40;   /* near k / 8 */
        if (!(u > 0 && u < 1)) continue;
        double l = sbo_normal_log(u), ref = log(u);
        cr_assert(fabs(l - ref) <= 4.5e-16 * fabs(ref), "log(%a) = %.17g, libm %.17g", u, l, ref);
        double z0, z1;
        uint32_t w[4];
        uint64_t k = (uint64_t)((u - 0x1p-53) * 0x1p52);           /* the lattice point: u = (k + 1/2) 2^-52 */
        if (((double)k + 0.5) * 0x1p-52 != u) continue;             /* the near-k/8 points are not on it */
        w[2] = (uint32_t)(k >> 20);
        w[3] = (uint32_t)(k << 12);
        w[0] = 0x80000000u; w[1] = 0;                               /* u1 = 1/2 + 2^-53: rad = sqrt(2 ln 2) */
        sbo_normal_pair_v2(w[0], w[1], w[2], w[3], &z0, &z1);
        double rad = sqrt(-2.0 * log(sbo_u32x2_to_uniform(w[0], w[1])));
        cr_assert(fabs(z0 / rad - cos(6.283185307179586 * u)) < 8e-16, "cos(2 pi %a)", u);
        cr_assert(fabs(z1 / rad - sin(6.283185307179586 * u)) < 8e-16, "sin(2 pi %a)", u);
    }
}

Test(gaussian_v2, equals_version_1_to_rounding) {
    /* The same Philox words and the same Box-Muller: only the rounding of log and sincos differs. Version 1 rounds
     * 2 pi u before sin and cos (up to 4.4e-16 in the angle), times rad <= 8.5 here: 4e-15 absolute. */
    const long N = 1000000;
    double *a = malloc(sizeof(double) * N), *b = malloc(sizeof(double) * N);
    sbo_stream s1, s2;
    sbo_stream_init(&s1, 3, SBO_RNG_SUBSPACE, 1, 7);
    sbo_stream_init(&s2, 3, SBO_RNG_SUBSPACE, 1, 7);
    sbo_stream_gaussian_fill(&s1, a, N);
    sbo_stream_gaussian_fill_v2(&s2, b, N);
    double worst = 0;
    for (long i = 0; i < N; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    cr_assert(worst < 4e-15, "max |v2 - v1| = %g", worst);
    free(a); free(b);
}

Test(gaussian_v2, any_chunking_and_any_start_give_the_same_numbers) {
    const long N = 5000;
    double ref[5000], got[5000];
    sbo_stream s;
    sbo_stream_init(&s, 8, SBO_RNG_TEST, 4, 2);
    sbo_stream_gaussian_fill_v2(&s, ref, N);
    sbo_stream_init(&s, 8, SBO_RNG_TEST, 4, 2);
    unsigned k = 1;
    for (long i = 0; i < N;) {             /* chunks of 0..36, odd ones leaving a spare in the stream */
        long c = k % 37;
        if (i + c > N) c = N - i;
        sbo_stream_gaussian_fill_v2(&s, got + i, c);
        i += c;
        k = k * 7 + 3;
    }
    cr_assert(memcmp(ref, got, sizeof ref) == 0, "chunked fill differs");
    /* a stream that is not at a block boundary: after one word, pairs come from words 1-4, 5-8, ... */
    sbo_stream a, b;
    sbo_stream_init(&a, 8, SBO_RNG_TEST, 5, 0);
    sbo_stream_init(&b, 8, SBO_RNG_TEST, 5, 0);
    (void)sbo_stream_u32(&a);
    (void)sbo_stream_u32(&b);
    sbo_stream_gaussian_fill_v2(&a, got, 101);
    for (int i = 0; i < 50; i++) {
        uint32_t w0 = sbo_stream_u32(&b), w1 = sbo_stream_u32(&b), w2 = sbo_stream_u32(&b), w3 = sbo_stream_u32(&b);
        double z0, z1;
        sbo_normal_pair_v2(w0, w1, w2, w3, &z0, &z1);
        cr_assert(got[2 * i] == z0 && got[2 * i + 1] == z1, "unaligned pair %d", i);
    }
}

Test(gaussian_v2, avx2_and_portable_paths_give_the_same_bits) {
    const long N = 100003;
    double *a = malloc(sizeof(double) * N), *b = malloc(sizeof(double) * N);
    sbo_stream s;
    int had = sbo_rng_simd(1);
    sbo_stream_init(&s, 21, SBO_RNG_SUBSPACE, 0, 3);
    sbo_stream_gaussian_fill_v2(&s, a, N);
    sbo_rng_simd(0);
    sbo_stream_init(&s, 21, SBO_RNG_SUBSPACE, 0, 3);
    sbo_stream_gaussian_fill_v2(&s, b, N);
    sbo_rng_simd(1);
    if (!had) cr_log_warn("this CPU has no AVX2: the portable path was compared with itself");
    cr_assert(memcmp(a, b, sizeof(double) * N) == 0, "the AVX2 and portable version-2 normals differ");
    free(a); free(b);
}

Test(gaussian_v2, moments_z_tests_with_power) {
    /* As gaussian.mean_variance_kurtosis_z_tests (|z| < 5), on version 2. Power: the same statistics reject a
     * scale error of 1% (variance 1.0201: expected z = 14) and a mean shift of 0.01 (expected z = 10). */
    const long N = 1000000;
    double *x = malloc(sizeof(double) * N);
    sbo_stream s;
    sbo_stream_init(&s, 99, SBO_RNG_TEST, 1, 0);
    sbo_stream_gaussian_fill_v2(&s, x, N);
    for (int pass = 0; pass < 3; pass++) {
        double scale = pass == 1 ? 1.01 : 1.0, shift = pass == 2 ? 0.01 : 0.0;
        double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
        for (long i = 0; i < N; i++) {
            double v = scale * x[i] + shift, v2 = v * v;
            s1 += v; s2 += v2; s3 += v2 * v; s4 += v2 * v2;
        }
        double zm = (s1 / N) / sqrt(1.0 / N), zv = (s2 / N - 1.0) / sqrt(2.0 / N);
        double zs = (s3 / N) / sqrt(15.0 / N), zk = (s4 / N - 3.0) / sqrt(96.0 / N);
        if (pass == 0) {
            cr_assert(fabs(zm) < 5.0 && fabs(zv) < 5.0 && fabs(zs) < 5.0 && fabs(zk) < 5.0,
                      "v2 moments: z = %.2f %.2f %.2f %.2f", zm, zv, zs, zk);
        } else if (pass == 1) {
            cr_assert(fabs(zv) > 5.0, "power: a 1%% scale error gives only z = %.2f", zv);
        } else {
            cr_assert(fabs(zm) > 5.0, "power: a mean shift of 0.01 gives only z = %.2f", zm);
        }
    }
    /* tail P(|x| > 3), as gaussian.tail_probability */
    const double p = 0.00269979606326019;
    long k = 0;
    for (long i = 0; i < N; i++) k += fabs(x[i]) > 3.0;
    double z = (k - N * p) / sqrt(N * p * (1 - p));
    cr_assert(fabs(z) < 5.0, "v2 tail count %ld, z = %.2f", k, z);
    free(x);
}
