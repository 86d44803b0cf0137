/* core/sbo_rng.h: Philox4x32-10 counter-based generator and keyed streams (STYLE.md pattern 13).
 * Exercised by: tests/test_rng.c (Random123 known-answer vectors), every theory check.
 *
 * A stream is keyed by (seed, purpose, block, iteration): seed -> the Philox key, and
 * (purpose, block, iteration) -> the upper three counter words; the lowest word counts draws.
 * So P_k^l, the probes of block l at iteration k, and the minibatches of iteration k are
 * independent by construction, and need no shared sequential state (ALGORITHMS.md §1, §3.2).
 * The round function is SBO_HD (host and device) so the CUDA twin uses the same code. */
#ifndef SBO_RNG_H
#define SBO_RNG_H
#include <stdint.h>

#if defined(__CUDACC__)
#define SBO_HD __host__ __device__
#else
#define SBO_HD
#endif

/* Philox4x32-10 (Salmon et al. 2011, Random123): out = philox(ctr, key). */
static inline SBO_HD void sbo_philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4]) {
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Stream purposes: one per kind of randomness (never share a stream between two purposes). */
enum sbo_rng_purpose {
    SBO_RNG_INIT = 1,       /* initialization of x_0, Y_0 */
    SBO_RNG_LOWER_BATCH,    /* lower minibatch phi_k */
    SBO_RNG_UPPER_BATCH,    /* upper minibatch psi_k */
    SBO_RNG_SUBSPACE,       /* Haar P_k^l */
    SBO_RNG_PROBE,          /* Rademacher xi, omega, eta, omega3, eps of block l */
    SBO_RNG_INSTANCE,       /* a task's fixed problem instance (matrices drawn once) */
    SBO_RNG_TEST,           /* Monte Carlo draws in theory checks and tests */
    SBO_RNG_DATA_SPLIT,     /* train / validation / test split of a data set (block = which split) */
    SBO_RNG_LABEL_NOISE     /* which training labels are corrupted, and to what */
};

typedef struct {
    uint32_t key[2];
    uint32_t ctr[4];    /* ctr[0] counts blocks of 4 outputs; ctr[1..3] = iteration, block, purpose */
    uint32_t buf[4];
    int pos;            /* next unused word of buf (4 = empty) */
    int has_spare;      /* Box-Muller produces pairs */
    double spare;
} sbo_stream;

/* iteration is 32 bits in the counter (4.3e9 iterations). */
void sbo_stream_init(sbo_stream *s, uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration);
uint32_t sbo_stream_u32(sbo_stream *s);
double sbo_stream_uniform(sbo_stream *s);        /* in (0,1), 52 random bits + 1/2 (see sbo_u32x2_to_uniform) */
double sbo_stream_gaussian(sbo_stream *s);       /* N(0,1), Box-Muller in double */
double sbo_stream_rademacher(sbo_stream *s);     /* +1 or -1, each with probability 1/2 */
void sbo_stream_gaussian_fill(sbo_stream *s, double *out, long n);
void sbo_stream_rademacher_fill(sbo_stream *s, double *out, long n);
/* Version 2 of the Gaussian fill (core/sbo_normal.h): the same Philox words as sbo_stream_gaussian_fill, Box-Muller
 * with our own log and sincos, vectorized; agrees with version 1 to a few ulps, not bit for bit. */
void sbo_stream_gaussian_fill_v2(sbo_stream *s, double *out, long n);
/* Whether the version-2 fill may use its AVX2 path (allow = 1, the default; 0 forces the portable lanes; -1 only
 * asks). Returns whether the AVX2 path was in use before the call. For tests: both paths give the same bits. */
int sbo_rng_simd(int allow);

/* --- shared by the host stream and the CUDA twin (core/sbo_kernels.h) ------------------------- */
/* Uniform in the OPEN interval (0,1) from two words: k = the top 52 bits of (hi, lo), u = (k + 1/2) 2^-52.
 * Every value is exact in double, u is never 0 or 1 (so Box-Muller's log(u) is finite), and the lattice is
 * symmetric (u and 1-u are both on it; the mean is exactly 1/2). A 53-bit version cannot be exact and
 * open: (k + 1/2) 2^-53 is not representable in [1/2, 1), where doubles are spaced 2^-53, and rounding
 * the largest value gives exactly 1. The same bits on host and device (pure integer + exact arithmetic). */
static inline SBO_HD double sbo_u32x2_to_uniform(uint32_t hi, uint32_t lo) {
    uint64_t k = ((uint64_t)hi << 20) | (uint64_t)(lo >> 12);
    return ((double)k + 0.5) * (1.0 / 4503599627370496.0);
}
/* Stream key and the upper counter words, exactly as sbo_stream_init sets them. */
static inline SBO_HD void sbo_stream_key(uint64_t seed, uint32_t key[2]) {
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
}
/* CPU reference of the CUDA launcher sbo_cuda_philox_uniform: out[i] = the i-th sbo_stream_uniform of
 * a FRESH stream sbo_stream_init(seed, purpose, block, iteration). Uniform i uses Philox block i/2,
 * words 2(i%2), 2(i%2)+1, so each element is computable independently (one GPU thread per block). */
void sbo_philox_uniform(uint64_t seed, uint32_t purpose, uint32_t block, uint64_t iteration, long n, double *out);
#endif
