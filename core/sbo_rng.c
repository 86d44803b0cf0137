/* core/sbo_rng.c: keyed Philox4x32-10 streams (STYLE.md pattern 13; ALGORITHMS.md §1 independence of
 * every draw, §3.2 Haar draws). The round function itself lives in core/sbo_rng.h (host + device).
 * Exercised by: build/tests/test_rng (Random123 known answers, determinism, Gaussian moments).
 *
 * Stream layout (fixed; changing it changes every result file):
 *   key    = (seed low 32 bits, seed high 32 bits)
 *   ctr[0] = draw counter: index of the Philox block (4 words) inside the stream
 *   ctr[1] = iteration (32 bits), ctr[2] = block l, ctr[3] = purpose
 * Two streams that differ in any of (seed, purpose, block, iteration) never share a Philox input, so
 * their outputs are independent by construction and no sequential state is shared across streams. */
#include "core/sbo_rng.h"   /* sbo_stream, sbo_philox4x32_10, sbo_u32x2_to_uniform */
#include "core/sbo_normal.h"   /* sbo_normal_pair_v2 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void sbo_stream_init(sbo_stream *s, uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration) {
    if (iteration > UINT32_MAX) {
        /* Folding would silently reuse counters of another iteration; no run gets near 4.3e9. */
        fprintf(stderr, "sbo_stream_init: iteration %llu does not fit the 32-bit counter word\n",
                (unsigned long long)iteration);
        abort();
    }
    sbo_stream_key(seed, s->key);
    s->ctr[0] = 0;
    s->ctr[1] = (uint32_t)iteration;
    s->ctr[2] = block;
    s->ctr[3] = purpose;
    s->pos = 4;
    s->has_spare = 0;
    s->spare = 0.0;
}

static void refill(sbo_stream *s) {
    /* The last counter value is never used, so a wrap (2^34 words in one stream) is detected
     * instead of silently repeating the stream from its start. */
    if (s->ctr[0] == UINT32_MAX) {
        fprintf(stderr, "sbo_stream: stream (purpose %u, block %u, iteration %u) exhausted after 2^34 words; "
                "split the draws over more stream indices\n", s->ctr[3], s->ctr[2], s->ctr[1]);
        abort();
    }
    sbo_philox4x32_10(s->ctr, s->key, s->buf);
    s->ctr[0]++;
    s->pos = 0;
}

uint32_t sbo_stream_u32(sbo_stream *s) {
    if (s->pos >= 4) refill(s);
    return s->buf[s->pos++];
}

double sbo_stream_uniform(sbo_stream *s) {
    /* Two consecutive words (52 bits used, see core/sbo_rng.h). From a fresh stream, uniform i is
     * Philox block i/2, words 2(i%2) and 2(i%2)+1: what the CUDA twin computes (sbo_philox_uniform). */
    uint32_t hi = sbo_stream_u32(s);
    uint32_t lo = sbo_stream_u32(s);
    return sbo_u32x2_to_uniform(hi, lo);
}

double sbo_stream_gaussian(sbo_stream *s) {
    /* Box-Muller in double: one pair of uniforms gives two independent N(0,1); the second is cached.
     * The cache belongs to the stream, so the Gaussian sequence of a stream is fixed whatever the
     * chunking of the calls (single calls and _fill give the same numbers). */
    if (s->has_spare) {
        s->has_spare = 0;
        return s->spare;
    }
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = sbo_stream_uniform(s);     /* in (0,1): log finite */
    double u2 = sbo_stream_uniform(s);
    double rad = sqrt(-2.0 * log(u1));
    double ang = two_pi * u2;
    s->spare = rad * sin(ang);
    s->has_spare = 1;
    return rad * cos(ang);
}

double sbo_stream_rademacher(sbo_stream *s) {
    /* One whole word per value (its top bit). Wasteful in bits, but then a probe vector is the same
     * whether drawn element by element or with _fill, and probes cost nothing next to an HVP. */
    return (sbo_stream_u32(s) >> 31) ? 1.0 : -1.0;
}

void sbo_stream_gaussian_fill(sbo_stream *s, double *out, long n) {
    for (long i = 0; i < n; i++) out[i] = sbo_stream_gaussian(s);
}

/* Version 2 (core/sbo_normal.h): the pairs of sbo_stream_gaussian_fill, same words, own log and sincos. Whole
 * Philox blocks are made SBO_NORMAL_LANES at a time in lanes the compiler vectorizes; a stream that is not at a
 * block boundary (or has a spare) is first brought to one pair by pair, so the numbers never depend on chunking. */
#define SBO_NORMAL_LANES 16

static void pair_v2_from_stream(sbo_stream *s, double *z0, double *z1) {
    uint32_t w0 = sbo_stream_u32(s), w1 = sbo_stream_u32(s), w2 = sbo_stream_u32(s), w3 = sbo_stream_u32(s);
    sbo_normal_pair_v2(w0, w1, w2, w3, z0, z1);
}

/* Philox blocks ctr[0] .. ctr[0] + LANES - 1 of one stream, word i of lane j in w[i][j]. Integer arithmetic, so the
 * AVX2 path and the portable one give the same words (tests/test_rng.c checks both against sbo_philox4x32_10). */
static void philox_lanes_portable(const uint32_t key[2], const uint32_t ctr[4], uint64_t w[4][SBO_NORMAL_LANES]) {
    for (int j = 0; j < SBO_NORMAL_LANES; j++) {
        uint32_t c[4] = {ctr[0] + (uint32_t)j, ctr[1], ctr[2], ctr[3]}, o[4];
        sbo_philox4x32_10(c, key, o);
        for (int i = 0; i < 4; i++) w[i][j] = o[i];
    }
}

static inline void pairs_v2(uint64_t w[4][SBO_NORMAL_LANES], double *out) {
    for (int j = 0; j < SBO_NORMAL_LANES; j++)
        sbo_normal_pair_v2((uint32_t)w[0][j], (uint32_t)w[1][j], (uint32_t)w[2][j], (uint32_t)w[3][j], out + 2 * j,
                           out + 2 * j + 1);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SBO_NORMAL_AVX2 1
/* Four 64-bit lanes per register, each holding a 32-bit word: _mm256_mul_epu32 is Philox's 32 x 32 -> 64 product. */
__attribute__((target("avx2"))) static void blocks_v2_avx2(const uint32_t key[2], const uint32_t ctr[4], double *out) {
    enum { V = SBO_NORMAL_LANES / 4 };
    __m256i c0[V], c1[V], c2[V], c3[V];
    const __m256i m32 = _mm256_set1_epi64x(0xFFFFFFFFLL);
    const __m256i M0 = _mm256_set1_epi64x(0xD2511F53LL), M1 = _mm256_set1_epi64x(0xCD9E8D57LL);
    for (int v = 0; v < V; v++) {
        uint32_t b = ctr[0] + 4u * (uint32_t)v;
        c0[v] = _mm256_set_epi64x((uint32_t)(b + 3), (uint32_t)(b + 2), (uint32_t)(b + 1), b);
        c1[v] = _mm256_set1_epi64x(ctr[1]);
        c2[v] = _mm256_set1_epi64x(ctr[2]);
        c3[v] = _mm256_set1_epi64x(ctr[3]);
    }
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        const __m256i K0 = _mm256_set1_epi64x(k0), K1 = _mm256_set1_epi64x(k1);
        for (int v = 0; v < V; v++) {
            __m256i p0 = _mm256_mul_epu32(M0, c0[v]), p1 = _mm256_mul_epu32(M1, c2[v]);
            __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[v]), K0);
            __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[v]), K1);
            c1[v] = _mm256_and_si256(p1, m32);
            c3[v] = _mm256_and_si256(p0, m32);
            c0[v] = n0;
            c2[v] = n2;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    uint64_t w[4][SBO_NORMAL_LANES];
    for (int v = 0; v < V; v++) {
        _mm256_storeu_si256((__m256i *)(w[0] + 4 * v), c0[v]);
        _mm256_storeu_si256((__m256i *)(w[1] + 4 * v), c1[v]);
        _mm256_storeu_si256((__m256i *)(w[2] + 4 * v), c2[v]);
        _mm256_storeu_si256((__m256i *)(w[3] + 4 * v), c3[v]);
    }
    pairs_v2(w, out);       /* inlined and vectorized for AVX2 here; the same operations, so the same bits */
}
#endif

static int simd_allowed = 1;

int sbo_rng_simd(int allow) {
    int was = simd_allowed;
    if (allow >= 0) simd_allowed = allow;
#if defined(SBO_NORMAL_AVX2)
    return was && __builtin_cpu_supports("avx2");
#else
    (void)was;
    return 0;
#endif
}

static void blocks_v2(const uint32_t key[2], const uint32_t ctr[4], double *out) {
#if defined(SBO_NORMAL_AVX2)
    if (simd_allowed && __builtin_cpu_supports("avx2")) {
        blocks_v2_avx2(key, ctr, out);
        return;
    }
#endif
    uint64_t w[4][SBO_NORMAL_LANES];
    philox_lanes_portable(key, ctr, w);
    pairs_v2(w, out);
}

void sbo_stream_gaussian_fill_v2(sbo_stream *s, double *out, long n) {
    long i = 0;
    if (i < n && s->has_spare) {
        out[i++] = s->spare;
        s->has_spare = 0;
    }
    while (i < n && s->pos != 4) {     /* not at a block boundary: pair by pair until it is */
        double z0, z1;
        pair_v2_from_stream(s, &z0, &z1);
        out[i++] = z0;
        if (i < n) out[i++] = z1;
        else { s->spare = z1; s->has_spare = 1; }
    }
    long chunks = (n - i) / (2 * SBO_NORMAL_LANES);
    if (chunks > 0 && (uint64_t)s->ctr[0] + (uint64_t)chunks * SBO_NORMAL_LANES >= UINT32_MAX) {
        fprintf(stderr, "sbo_stream: stream (purpose %u, block %u, iteration %u) exhausted after 2^34 words; "
                "split the draws over more stream indices\n", s->ctr[3], s->ctr[2], s->ctr[1]);
        abort();
    }
    for (long c = 0; c < chunks; c++) {
        blocks_v2(s->key, s->ctr, out + i);
        s->ctr[0] += SBO_NORMAL_LANES;
        i += 2 * SBO_NORMAL_LANES;
    }
    while (i < n) {
        double z0, z1;
        pair_v2_from_stream(s, &z0, &z1);
        out[i++] = z0;
        if (i < n) out[i++] = z1;
        else { s->spare = z1; s->has_spare = 1; }
    }
}

void sbo_stream_rademacher_fill(sbo_stream *s, double *out, long n) {
    for (long i = 0; i < n; i++) out[i] = sbo_stream_rademacher(s);
}

void sbo_philox_uniform(uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration, long n, double *out) {
    sbo_stream s;
    sbo_stream_init(&s, seed, purpose, block, iteration);
    for (long i = 0; i < n; i++) out[i] = sbo_stream_uniform(&s);
}
