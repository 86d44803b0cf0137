/* core/sbo_haar.h: Haar-distributed orthonormal frames P in R^{m x r} (ALGORITHMS.md §3.2) and the
 * exact moment constants of §4 with the small-block rule of §3.1.
 * Exercised by: theory_checks/tc1_haar_constants.c, tc2_qaq_moments.c, tests/test_haar.c. */
#ifndef SBO_HAAR_H
#define SBO_HAAR_H
#include <stddef.h>
#include <stdint.h>
#include "core/sbo_rng.h"   /* sbo_stream */

/* P (m x r, row-major) = Q~ diag(sign(diag R)) from the thin QR of an iid N(0,1) m x r matrix
 * (Householder, double; LAPACK's blocked dgeqrf/dorgqr for large frames with OpenBLAS). work needs sbo_haar_work_size(m, r) doubles. Requires 1 <= r <= m. */
long sbo_haar_work_size(int m, int r);
void sbo_haar_sample(sbo_stream *s, int m, int r, double *P, double *work);

/* Versions of the frame sampler (the option algo.haar; the version is part of a result's identity, docs/SCHEMA.md):
 *   1  the sampler above (libm Box-Muller, Householder): every result before 2026-12-03;
 *   2  the same Philox words with a vectorized Box-Muller (core/sbo_normal.h) and CholeskyQR2 (shifted CholeskyQR3
 *      when G may be ill-conditioned): the same law, about 4x faster on the image tasks' frames (bench/README.md).
 * work needs sbo_haar_work_size_v(version, m, r) doubles (version 2: r x r). */
enum { SBO_HAAR_V1 = 1, SBO_HAAR_V2 = 2 };
long sbo_haar_work_size_v(int version, int m, int r);
void sbo_haar_sample_v(int version, sbo_stream *s, int m, int r, double *P, double *work);
/* G (m x r, row-major, full column rank) <- its Q factor with R's diagonal positive, by CholeskyQR2; work: r x r.
 * Returns 0, 1 when the shifted pass was needed, -1 when G is numerically rank deficient. */
int sbo_haar_orthonormalize(int m, int r, double *G, double *work);

/* §4 constants for one block. full = 1 when r >= m (§3.1 rule: P = I, c1 = 1, c2 = 0, a = 1,
 * rho = 0, A1 = 1, A3 = 0, never evaluating the closed forms). A1, A3 are NAN when r == 1 < m. */
typedef struct {
    int m, r, full;
    double c1, c2, a, rho, rho_over_a, A1, A3, kappa;
} sbo_haar_consts;
void sbo_haar_consts_compute(int m, int r, sbo_haar_consts *c);

/* Exact rationals (numerator / denominator, reduced, den > 0) of the same constants, for TC-1. */
typedef struct { int64_t num, den; } sbo_rational;
typedef struct {
    sbo_rational c1, c2, a, rho, rho_over_a, A1, A3;
    int has_A; /* 0 when r == 1 < m */
} sbo_haar_consts_exact;
int sbo_haar_consts_exact_compute(int m, int r, sbo_haar_consts_exact *c); /* 0 ok, -1 overflow/invalid */
sbo_rational sbo_rational_make(int64_t num, int64_t den);  /* reduces; den != 0 */
double sbo_rational_to_double(sbo_rational q);
/* Exact arithmetic on reduced rationals with __int128 intermediates: 0 ok, -1 when the reduced result
 * does not fit int64 (or division by zero); *out is untouched then. Used by TC-1 and TC-5. */
int sbo_rational_add(sbo_rational a, sbo_rational b, sbo_rational *out);
int sbo_rational_sub(sbo_rational a, sbo_rational b, sbo_rational *out);
int sbo_rational_mul(sbo_rational a, sbo_rational b, sbo_rational *out);
int sbo_rational_div(sbo_rational a, sbo_rational b, sbo_rational *out);
int sbo_rational_eq(sbo_rational a, sbo_rational b);        /* both reduced: componentwise */
/* "num/den", or "num" when den == 1; returns buf. */
const char *sbo_rational_str(sbo_rational q, char *buf, size_t buflen);

/* §6.6 variance factors for H = I: V_I (BROS-basic) and V_I^gen (BROS-general, r >= 2).
 * Full blocks (r >= m) return 0. */
double sbo_variance_VI(int m, int n, int r);
double sbo_variance_VI_gen(int m, int n, int r);
#endif
