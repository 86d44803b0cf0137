/* core/sbo_normal.h: the version-2 Gaussian pair (Box-Muller with our own log and sincos), host and device.
 * Exercised by: tests/test_rng.c (against libm's Box-Muller, moments), build/tc1_haar_constants, tc2_qaq_moments.
 *
 * Version 1 (sbo_stream_gaussian) calls libm's log, sin and cos: about 33 ns a normal here, 60% of drawing a Haar
 * frame. Version 2 uses the same words of the same Philox blocks (pair k of a fresh stream = block k: u1 from words
 * 0-1, u2 from words 2-3, z0 = rad cos, z1 = rad sin), so the two versions differ only by the rounding of log and
 * sincos (a few ulps; tests/test_rng.c bounds it). What makes version 2 fast and portable:
 *   - u lies on the 2^-52 lattice (sbo_u32x2_to_uniform), so the reduction of 2 pi u to an octant is exact:
 *     8u = q + f with q = 0..7 and f in [0, 1) both exact, and the angle in the octant is (pi/4) f or (pi/4)(1 - f).
 *   - sin and cos on [0, pi/4] are their Taylor polynomials to degree 17 and 18 (truncation below 2e-18), log is
 *     2 atanh(s) on [sqrt(1/2), sqrt(2)) to degree 21 (truncation below 1e-18) plus e ln 2 in two parts.
 *   - Only +, -, *, / and sqrt, no table, no branch the compiler cannot turn into a blend: the loops over many pairs
 *     vectorize, and the same bits come out wherever IEEE double arithmetic runs without contraction (C11 mode
 *     keeps GCC from fusing multiply-adds; a CUDA build must pass -fmad=false for these bodies).
 * Changing anything here changes every BROS and naive result drawn with algo.haar = 2 (docs/SCHEMA.md). */
#ifndef SBO_NORMAL_H
#define SBO_NORMAL_H
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "core/sbo_rng.h"   /* SBO_HD, sbo_u32x2_to_uniform */

/* sin(p), cos(p) for p in [0, pi/4 + tiny]: Horner in p^2 over the Taylor coefficients 1/n!. */
static inline SBO_HD void sbo_normal_sincos_octant(double p, double *s, double *c) {
    double p2 = p * p;
    double sp = 1.0 / 355687428096000.0;                 /* 1/17! */
    sp = sp * p2 - 1.0 / 1307674368000.0;                /* 1/15! */
    sp = sp * p2 + 1.0 / 6227020800.0;                   /* 1/13! */
    sp = sp * p2 - 1.0 / 39916800.0;                     /* 1/11! */
    sp = sp * p2 + 1.0 / 362880.0;                       /* 1/9!  */
    sp = sp * p2 - 1.0 / 5040.0;                         /* 1/7!  */
    sp = sp * p2 + 1.0 / 120.0;                          /* 1/5!  */
    sp = sp * p2 - 1.0 / 6.0;                            /* 1/3!  */
    *s = p + (p * p2) * sp;
    double cp = 1.0 / 6402373705728000.0;                /* 1/18! */
    cp = cp * p2 - 1.0 / 20922789888000.0;               /* 1/16! */
    cp = cp * p2 + 1.0 / 87178291200.0;                  /* 1/14! */
    cp = cp * p2 - 1.0 / 479001600.0;                    /* 1/12! */
    cp = cp * p2 + 1.0 / 3628800.0;                      /* 1/10! */
    cp = cp * p2 - 1.0 / 40320.0;                        /* 1/8!  */
    cp = cp * p2 + 1.0 / 720.0;                          /* 1/6!  */
    cp = cp * p2 - 1.0 / 24.0;                           /* 1/4!  */
    cp = cp * p2 + 0.5;                                  /* 1/2!  */
    *c = 1.0 - p2 * cp;
}

static inline SBO_HD double sbo_normal_from_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}
static inline SBO_HD uint64_t sbo_normal_to_bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* log(u) for u in (0, 1) normal (u >= 2^-53 on the lattice). u = 2^e w, w in [sqrt(1/2), sqrt(2)). Bit operations
 * instead of frexp and integer conversions, so a loop over many u vectorizes. */
static inline SBO_HD double sbo_normal_log(double u) {
    uint64_t bits = sbo_normal_to_bits(u);
    uint64_t wbits = (bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL;   /* w in [1, 2) */
    uint64_t big = wbits > 0x3FF6A09E667F3BCCULL ? 1 : 0;                     /* w > sqrt(2) (rounded down) */
    wbits -= big << 52;                                                         /* w / 2, exact */
    /* exponent field + big, as a double, exactly: (2^52 + field + big) - 2^52 */
    double e = sbo_normal_from_bits(((bits >> 52) + big) | 0x4330000000000000ULL) - 4503599627370496.0 - 1023.0;
    double w = sbo_normal_from_bits(wbits);
    double sv = (w - 1.0) / (w + 1.0), s2 = sv * sv;   /* |s| < 0.1716, s^2 < 0.0295 */
    double t = 1.0 / 21.0;
    t = t * s2 + 1.0 / 19.0;
    t = t * s2 + 1.0 / 17.0;
    t = t * s2 + 1.0 / 15.0;
    t = t * s2 + 1.0 / 13.0;
    t = t * s2 + 1.0 / 11.0;
    t = t * s2 + 1.0 / 9.0;
    t = t * s2 + 1.0 / 7.0;
    t = t * s2 + 1.0 / 5.0;
    t = t * s2 + 1.0 / 3.0;
    double logw = 2.0 * sv + (2.0 * sv) * (s2 * t);
    /* ln 2 = LN2_HI + LN2_LO with LN2_HI's low 32 bits zero, so e * LN2_HI is exact for |e| < 2^20 */
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    return e * LN2_HI + (e * LN2_LO + logw);
}

/* One version-2 pair from the four words of one Philox block: u1 = sbo_u32x2_to_uniform(w0, w1), u2 likewise from
 * (w2, w3), z0 = sqrt(-2 log u1) cos(2 pi u2), z1 = sqrt(-2 log u1) sin(2 pi u2). u = (k + 1/2) 2^-52 with k the top
 * 52 bits, so 8 u2 = q + f with q = the top 3 bits of k2 and f = (k2 mod 2^49 + 1/2) 2^-49: integer operations. */
static inline SBO_HD void sbo_normal_pair_v2(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3, double *z0,
                                             double *z1) {
    const uint64_t two52 = 0x4330000000000000ULL;             /* bits of 2^52: (2^52 + k) - 2^52 = k exactly */
    uint64_t k1 = ((uint64_t)w0 << 20) | (uint64_t)(w1 >> 12);
    uint64_t k2 = ((uint64_t)w2 << 20) | (uint64_t)(w3 >> 12);
    double u1 = (sbo_normal_from_bits(k1 | two52) - 4503599627370496.0 + 0.5) * (1.0 / 4503599627370496.0);
    double rad = sqrt(-2.0 * sbo_normal_log(u1));
    uint64_t q = k2 >> 49;                                     /* octant 0..7 */
    const uint64_t low49 = (1ULL << 49) - 1;
    uint64_t kf = (k2 & low49) ^ (low49 & (0 - (q & 1)));      /* odd octant: 1 - f, i.e. 2^49 - 1 - kf */
    double g = (sbo_normal_from_bits(kf | two52) - 4503599627370496.0 + 0.5) * (1.0 / 562949953421312.0);
    double s, c;
    sbo_normal_sincos_octant(0.78539816339744830962 * g, &s, &c);
    /* 2 pi u2 = q pi/4 + (pi/4) f: sin and cos from the octant's (s, c) by a swap and signs, as bit operations */
    uint64_t sb = sbo_normal_to_bits(s), cb = sbo_normal_to_bits(c);
    uint64_t swap = 0 - (((q + 1) >> 1) & 1);                  /* q = 1, 2, 5, 6 */
    uint64_t snb = (sb & ~swap) | (cb & swap), csb = (cb & ~swap) | (sb & swap);
    snb ^= (q >> 2) << 63;                                     /* q = 4..7: sin < 0 */
    csb ^= (((q + 2) >> 2) & 1) << 63;                         /* q = 2..5: cos < 0 */
    *z0 = rad * sbo_normal_from_bits(csb);
    *z1 = rad * sbo_normal_from_bits(snb);
}
#endif
