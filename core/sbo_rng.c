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

void sbo_stream_rademacher_fill(sbo_stream *s, double *out, long n) {
    for (long i = 0; i < n; i++) out[i] = sbo_stream_rademacher(s);
}

void sbo_philox_uniform(uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration, long n, double *out) {
    sbo_stream s;
    sbo_stream_init(&s, seed, purpose, block, iteration);
    for (long i = 0; i < n; i++) out[i] = sbo_stream_uniform(&s);
}
