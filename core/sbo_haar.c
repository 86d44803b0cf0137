/* core/sbo_haar.c: Haar frames P (ALGORITHMS.md §3.2), the moment constants of §4 with the small-block
 * rule of §3.1, their exact rationals (TC-1, TC-5) and the H = I variance factors of §6.6.
 * Exercised by: build/tests/test_haar, build/tc1_haar_constants, build/tc2_qaq_moments. */
#include "core/sbo_haar.h"   /* sbo_haar_consts, sbo_rational, sbo_stream */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>             /* dsyrk, dtrsm for the version-2 sampler */

// --- Haar sampler (§3.2) -------------------------------------------------------------------------

/* Layout of work: A (m x r, row-major, becomes R above the diagonal and the Householder vectors on
 * and below it), then tau (r), rdiag (r), w (r). */
#define SBO_HAAR_LAPACK_MIN 200000L   /* m r^2 above which LAPACK's blocked QR wins over the loops below */

long sbo_haar_work_size(int m, int r) {
    /* A (m x r; on the LAPACK path its column-major copy), then tau, rdiag / signs, w (r each); the LAPACK path
     * adds its own work array (64 r). */
    return (long)m * r + ((long)m * r * r >= SBO_HAAR_LAPACK_MIN ? 67L : 3L) * r;
}

#if defined(SBO_BLAS_OPENBLAS)
/* Large frames use LAPACK's blocked QR (OpenBLAS ships it): dgeqrf + dorgqr on the column-major copy of G. The
 * sign fix below makes P the unique factor of G = P (D R) with a positive diagonal, so P equals the Householder
 * path's P up to rounding (same draws, same law). Small frames keep the loop code (faster than a LAPACK call). */
#define SBO_HAAR_LAPACK 1
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work, const int *lwork,
             int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau, double *work,
             const int *lwork, int *info);

static void haar_lapack(sbo_stream *s, int m, int r, double *C, double *P) {
    double *tau = C + (long)m * r, *sg = tau + r, *wk = sg + r;
    int lwork = 64 * r, info = 0;
    for (int i = 0; i < m; i++)          /* G drawn in the same row-major order, stored column-major */
        for (int j = 0; j < r; j++) C[(long)j * m + i] = sbo_stream_gaussian(s);
    dgeqrf_(&m, &r, C, &m, tau, wk, &lwork, &info);
    if (info != 0) {
        fprintf(stderr, "sbo_haar_sample: LAPACK dgeqrf failed (info = %d) for m = %d, r = %d\n", info, m, r);
        abort();
    }
    for (int j = 0; j < r; j++) sg[j] = C[(long)j * m + j] < 0.0 ? -1.0 : 1.0;  /* sign(R_jj), sign(0) = +1 */
    dorgqr_(&m, &r, &r, C, &m, tau, wk, &lwork, &info);
    if (info != 0) {
        fprintf(stderr, "sbo_haar_sample: LAPACK dorgqr failed (info = %d) for m = %d, r = %d\n", info, m, r);
        abort();
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < r; j++) P[(long)i * r + j] = sg[j] * C[(long)j * m + i];
}
#endif

/* Steps 2-3 of §3.2 on G, drawn into work's first m r doubles: Householder thin QR with the loops below. */
static void haar_householder(int m, int r, double *P, double *work);

void sbo_haar_sample(sbo_stream *s, int m, int r, double *P, double *work) {
    if (r < 1 || r > m) {
        fprintf(stderr, "sbo_haar_sample: need 1 <= r <= m, got m = %d, r = %d (full blocks take P = I, §3.1)\n", m, r);
        abort();
    }
    /* Step 1: G with iid N(0,1) entries, drawn row-major from the stream (fixes the draw order). */
#if defined(SBO_HAAR_LAPACK)
    if ((long)m * r * r >= SBO_HAAR_LAPACK_MIN) {
        haar_lapack(s, m, r, work, P);
        return;
    }
#endif
    sbo_stream_gaussian_fill(s, work, (long)m * r);
    haar_householder(m, r, P, work);
}

static void haar_householder(int m, int r, double *P, double *work) {
    double *A = work;
    double *tau = A + (long)m * r;
    double *rdiag = tau + r;
    double *w = rdiag + r;

    /* Step 2: Householder thin QR, G = Q R, Q = H_0 ... H_{r-1} [I_r; 0]. H_k = I - tau_k v_k v_k^T acts
     * on rows k..m-1. Row-oriented updates keep the inner loops contiguous in the row-major A. */
    for (int k = 0; k < r; k++) {
        double nrm2 = 0.0;
        for (int i = k; i < m; i++) nrm2 += A[(long)i * r + k] * A[(long)i * r + k];
        double nrm = sqrt(nrm2);
        double x0 = A[(long)k * r + k];
        if (nrm == 0.0) {              /* probability zero; H_k = I and R_kk = 0 (sign(0) = +1 below) */
            tau[k] = 0.0;
            rdiag[k] = 0.0;
            continue;
        }
        /* alpha has the sign opposite to x0, so v0 = x0 - alpha never cancels. */
        double alpha = (x0 >= 0.0) ? -nrm : nrm;
        double v0 = x0 - alpha;
        A[(long)k * r + k] = v0;        /* v_k = (v0, x_{k+1}, ..., x_{m-1}) stored in column k */
        double vtv = v0 * v0 + (nrm2 - x0 * x0);
        tau[k] = 2.0 / vtv;
        rdiag[k] = alpha;
        int nc = r - k - 1;             /* trailing columns k+1..r-1: A -= tau v (v^T A) */
        if (nc > 0) {
            for (int j = 0; j < nc; j++) w[j] = 0.0;
            for (int i = k; i < m; i++) {
                double vi = A[(long)i * r + k];
                const double *row = A + (long)i * r + k + 1;
                for (int j = 0; j < nc; j++) w[j] += vi * row[j];
            }
            for (int i = k; i < m; i++) {
                double c = tau[k] * A[(long)i * r + k];
                double *row = A + (long)i * r + k + 1;
                for (int j = 0; j < nc; j++) row[j] -= c * w[j];
            }
        }
    }

    /* Backward accumulation of Q into P. When H_k is applied, columns < k of P are still e_j with zero
     * rows >= k, so only columns k..r-1 change. */
    memset(P, 0, sizeof(double) * (size_t)m * (size_t)r);
    for (int j = 0; j < r; j++) P[(long)j * r + j] = 1.0;
    for (int k = r - 1; k >= 0; k--) {
        if (tau[k] == 0.0) continue;
        int nc = r - k;
        for (int j = 0; j < nc; j++) w[j] = 0.0;
        for (int i = k; i < m; i++) {
            double vi = A[(long)i * r + k];
            const double *row = P + (long)i * r + k;
            for (int j = 0; j < nc; j++) w[j] += vi * row[j];
        }
        for (int i = k; i < m; i++) {
            double c = tau[k] * A[(long)i * r + k];
            double *row = P + (long)i * r + k;
            for (int j = 0; j < nc; j++) row[j] -= c * w[j];
        }
    }

    /* Step 3: P = Q diag(sign(diag R)), sign(0) = +1. Then G = P (D R) with D R having a positive
     * diagonal: P is the unique such factor, whatever sign convention the QR used, hence exactly Haar. */
    for (int j = 0; j < r; j++) {
        if (rdiag[j] < 0.0)
            for (int i = 0; i < m; i++) P[(long)i * r + j] = -P[(long)i * r + j];
    }
}

// --- version 2: fast normals and CholeskyQR2 ---------------------------------------------------------
/* The same law as version 1 (P is the unique Q factor of G = Q R with R's diagonal positive, G iid N(0,1)), drawn in
 * a fraction of the time: G's entries come from sbo_stream_gaussian_fill_v2 (core/sbo_normal.h: the same Philox words
 * as version 1, our own vectorized log and sincos), written straight into P, and the orthonormalization is BLAS-3:
 * CholeskyQR2 (Fukaya, Nakatsukasa, Yanagisawa, Yamamoto 2014): C = G^T G, C = R1^T R1, G <- G R1^{-1}, then once
 * more. Each R has a positive diagonal, so G = P (R2 R1) is that unique factorization: the same P as Householder up
 * to rounding. CholeskyQR2 is accurate while cond(G) stays below about u^{-1/2} = 6.7e7; a Gaussian m x r frame with
 * r < m has cond(G) of order m / (m - r + 1) at most, but where the first Cholesky fails or its pivots say cond(G)
 * may be large, one shifted Cholesky pass comes first (shifted CholeskyQR3, Fukaya et al. 2020), whose shift
 * 11 (m r + r (r + 1)) u ||G||_F^2 makes the Cholesky succeed for any cond(G) < 1/u. Workspace: C (r x r).
 * Small frames (m r^2 below SBO_HAAR_LAPACK_MIN) keep version 1's Householder loops, on version-2 normals. */

/* Upper Cholesky in place, C = R^T R (row-major, upper triangle read and written): recursive, BLAS-3 above 32.
 * Returns 0, or -1 when a pivot is not positive. */
static int chol_upper(int n, double *C, int ldc) {
    if (n <= 32) {
        for (int k = 0; k < n; k++) {
            double d = C[(long)k * ldc + k];
            if (!(d > 0.0)) return -1;
            d = sqrt(d);
            C[(long)k * ldc + k] = d;
            for (int j = k + 1; j < n; j++) C[(long)k * ldc + j] /= d;
            for (int i = k + 1; i < n; i++) {
                double a = C[(long)k * ldc + i];
                for (int j = i; j < n; j++) C[(long)i * ldc + j] -= a * C[(long)k * ldc + j];
            }
        }
        return 0;
    }
    int n1 = n / 2, n2 = n - n1;
    double *C11 = C, *C12 = C + n1, *C22 = C + (long)n1 * ldc + n1;
    if (chol_upper(n1, C11, ldc)) return -1;
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, n1, n2, 1.0, C11, ldc, C12, ldc);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n2, n1, -1.0, C12, ldc, 1.0, C22, ldc);
    return chol_upper(n2, C22, ldc);
}

/* Upper triangular R (row-major) <- R^{-1} in place: inv([A B; 0 D]) = [A^{-1}, -A^{-1} B D^{-1}; 0, D^{-1}]. Then
 * G R^{-1} is one dtrmm, which OpenBLAS runs 1.5x faster than the dtrsm it replaces at these shapes. */
static void inv_upper(int n, double *R, int ldr) {
    if (n <= 16) {
        for (int j = 0; j < n; j++) R[(long)j * ldr + j] = 1.0 / R[(long)j * ldr + j];
        /* column j of the inverse, rows j-1 .. 0, needs R's columns < j still unchanged: j descending */
        for (int j = n - 1; j >= 1; j--)
            for (int i = j - 1; i >= 0; i--) {
                double acc = 0.0;
                for (int k = i + 1; k <= j; k++) acc += R[(long)i * ldr + k] * R[(long)k * ldr + j];
                R[(long)i * ldr + j] = -acc * R[(long)i * ldr + i];
            }
        return;
    }
    int n1 = n / 2, n2 = n - n1;
    double *A = R, *B = R + n1, *D = R + (long)n1 * ldr + n1;
    /* B <- -A^{-1} B D^{-1} with A, D still uninverted: two triangular solves */
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, n1, n2, -1.0, A, ldr, B, ldr);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, n1, n2, 1.0, D, ldr, B, ldr);
    inv_upper(n1, A, ldr);
    inv_upper(n2, D, ldr);
}

/* One CholeskyQR pass on G (m x r, in place): C = G^T G + shift I, C = R^T R, G <- G R^{-1}. Returns -1 when the
 * Cholesky fails, else 0, with *ratio = max R_ii / min R_ii (a lower bound of cond(R)). */
static int cholqr_pass(int m, int r, double *G, double *C, double shift, double *ratio) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, r, m, 1.0, G, r, 0.0, C, r);
    for (int j = 0; j < r; j++) C[(long)j * r + j] += shift;
    if (chol_upper(r, C, r)) return -1;
    double lo = C[0], hi = C[0];
    for (int j = 1; j < r; j++) {
        double d = C[(long)j * r + j];
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    *ratio = hi / lo;
    inv_upper(r, C, r);
    cblas_dtrmm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, m, r, 1.0, C, r, G, r);
    return 0;
}

#define SBO_CHOLQR_RATIO_MAX 1e5    /* cond(R1) bound above which CholeskyQR2 alone is not trusted */

int sbo_haar_orthonormalize(int m, int r, double *G, double *work) {
    double ratio = 0.0;
    int shifted = 0;
    /* cholqr_pass overwrites G only when its Cholesky succeeds, so a failed first pass leaves G intact. After a
     * pass with large pivot ratios G holds G R1^{-1}, R1 upper triangular with a positive diagonal, which has the
     * same Q factor: the shifted pass goes on from there. */
    if (cholqr_pass(m, r, G, work, 0.0, &ratio) || ratio > SBO_CHOLQR_RATIO_MAX) {
        double fro2 = 0.0;
        for (long i = 0; i < (long)m * r; i++) fro2 += G[i] * G[i];
        double shift = 11.0 * ((double)m * r + (double)r * (r + 1)) * 1.1102230246251565e-16 * fro2;
        if (cholqr_pass(m, r, G, work, shift, &ratio)) return -1;   /* cannot happen for finite G of full rank */
        shifted = 1;
        if (cholqr_pass(m, r, G, work, 0.0, &ratio)) return -1;
    }
    if (cholqr_pass(m, r, G, work, 0.0, &ratio)) return -1;
    return shifted;
}

void sbo_haar_sample_v(int version, sbo_stream *s, int m, int r, double *P, double *work) {
    if (version == SBO_HAAR_V1) {
        sbo_haar_sample(s, m, r, P, work);
        return;
    }
    if (version != SBO_HAAR_V2 || r < 1 || r > m) {
        fprintf(stderr, "sbo_haar_sample_v: need version 1 or 2 and 1 <= r <= m, got version %d, m = %d, r = %d\n",
                version, m, r);
        abort();
    }
    if ((long)m * r * r < SBO_HAAR_LAPACK_MIN) {        /* small frames: a BLAS call costs more than the loops */
        sbo_stream_gaussian_fill_v2(s, work, (long)m * r);
        haar_householder(m, r, P, work);
        return;
    }
    sbo_stream_gaussian_fill_v2(s, P, (long)m * r);    /* G, row-major, in P: the draw order of version 1 */
    if (sbo_haar_orthonormalize(m, r, P, work) < 0) {
        fprintf(stderr, "sbo_haar_sample_v: the Gaussian frame (m = %d, r = %d) is rank deficient\n", m, r);
        abort();
    }
}

long sbo_haar_work_size_v(int version, int m, int r) {
    if (version == SBO_HAAR_V1) return sbo_haar_work_size(m, r);
    return (long)m * r * r < SBO_HAAR_LAPACK_MIN ? (long)m * r + 3L * r : (long)r * r;
}

// --- §4 constants in double -----------------------------------------------------------------------

void sbo_haar_consts_compute(int m, int r, sbo_haar_consts *c) {
    memset(c, 0, sizeof *c);
    c->m = m;
    c->r = r;
    if (r >= m) {
        /* §3.1 small/full-block rule: set directly, never evaluate the closed forms (0/0 at m = 1,
         * division by r - 1 in A1, A3). */
        c->r = m;
        c->full = 1;
        c->c1 = 1.0; c->c2 = 0.0; c->a = 1.0; c->rho = 0.0; c->rho_over_a = 0.0;
        c->A1 = 1.0; c->A3 = 0.0; c->kappa = 0.0;
        return;
    }
    /* Integer products in double are exact below 2^53 (m up to ~2e5), so each constant has one rounding. */
    double M = m, R = r;
    double den = M * (M - 1.0) * (M + 2.0);
    c->c1 = R * (R * (M + 1.0) - 2.0) / den;
    c->c2 = R * (M - R) / den;
    c->a = M * (M * R + M - 2.0) / (R * (M - 1.0) * (M + 2.0));
    c->rho = M * (M - R) / (R * (M - 1.0) * (M + 2.0));
    c->rho_over_a = (M - R) / (M * R + M - 2.0);
    c->kappa = (M - R) / (R * (M - 1.0) * (M + 2.0));
    if (r >= 2) {
        double dA = M * (R - 1.0) * (M * R + M - 2.0);
        c->A1 = R * (M - 1.0) * (M * R + R - 2.0) / dA;
        c->A3 = -R * (M - R) * (M - 1.0) / dA;
    } else {
        c->A1 = NAN;     /* BROS-general is undefined for a projected rank-1 block (§3.1) */
        c->A3 = NAN;
    }
}

// --- exact rationals -------------------------------------------------------------------------------

typedef __int128 i128;

static i128 gcd128(i128 a, i128 b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b != 0) {
        i128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Reduce num/den (den != 0) and store if it fits int64. */
static int make128(i128 num, i128 den, sbo_rational *out) {
    if (den == 0) return -1;
    if (den < 0) { num = -num; den = -den; }
    i128 g = gcd128(num, den);
    if (g > 1) { num /= g; den /= g; }
    if (num == 0) den = 1;
    if (num > INT64_MAX || num < -INT64_MAX || den > INT64_MAX) return -1;
    out->num = (int64_t)num;
    out->den = (int64_t)den;
    return 0;
}

sbo_rational sbo_rational_make(int64_t num, int64_t den) {
    sbo_rational q;
    if (make128(num, den, &q) != 0) {
        fprintf(stderr, "sbo_rational_make: invalid rational %" PRId64 "/%" PRId64 "\n", num, den);
        abort();
    }
    return q;
}

double sbo_rational_to_double(sbo_rational q) {
    return (double)q.num / (double)q.den;
}

int sbo_rational_add(sbo_rational a, sbo_rational b, sbo_rational *out) {
    return make128((i128)a.num * b.den + (i128)b.num * a.den, (i128)a.den * b.den, out);
}

int sbo_rational_sub(sbo_rational a, sbo_rational b, sbo_rational *out) {
    return make128((i128)a.num * b.den - (i128)b.num * a.den, (i128)a.den * b.den, out);
}

int sbo_rational_mul(sbo_rational a, sbo_rational b, sbo_rational *out) {
    return make128((i128)a.num * b.num, (i128)a.den * b.den, out);
}

int sbo_rational_div(sbo_rational a, sbo_rational b, sbo_rational *out) {
    if (b.num == 0) return -1;
    return make128((i128)a.num * b.den, (i128)a.den * b.num, out);
}

int sbo_rational_eq(sbo_rational a, sbo_rational b) {
    return a.num == b.num && a.den == b.den;
}

const char *sbo_rational_str(sbo_rational q, char *buf, size_t buflen) {
    if (q.den == 1) snprintf(buf, buflen, "%" PRId64, q.num);
    else snprintf(buf, buflen, "%" PRId64 "/%" PRId64, q.num, q.den);
    return buf;
}

int sbo_haar_consts_exact_compute(int m, int r, sbo_haar_consts_exact *c) {
    memset(c, 0, sizeof *c);
    if (m < 1 || r < 1) return -1;
    if (r >= m) {                       /* §3.1 rule, exactly as in the double version */
        sbo_rational one = {1, 1}, zero = {0, 1};
        c->c1 = one; c->c2 = zero; c->a = one; c->rho = zero; c->rho_over_a = zero;
        c->A1 = one; c->A3 = zero;
        c->has_A = 1;
        return 0;
    }
    /* The §4 closed forms, each as one integer fraction (int128 products, then reduced). */
    i128 M = m, R = r;
    i128 den = M * (M - 1) * (M + 2);
    int bad = 0;
    bad |= make128(R * (R * (M + 1) - 2), den, &c->c1);
    bad |= make128(R * (M - R), den, &c->c2);
    bad |= make128(M * (M * R + M - 2), R * (M - 1) * (M + 2), &c->a);
    bad |= make128(M * (M - R), R * (M - 1) * (M + 2), &c->rho);
    bad |= make128(M - R, M * R + M - 2, &c->rho_over_a);
    if (r >= 2) {
        i128 dA = M * (R - 1) * (M * R + M - 2);
        bad |= make128(R * (M - 1) * (M * R + R - 2), dA, &c->A1);
        bad |= make128(-R * (M - R) * (M - 1), dA, &c->A3);
        c->has_A = 1;
    } else {
        c->A1 = (sbo_rational){0, 1};   /* n/a: has_A = 0 */
        c->A3 = (sbo_rational){0, 1};
        c->has_A = 0;
    }
    return bad ? -1 : 0;
}

// --- §6.6 variance factors for H = I ---------------------------------------------------------------

double sbo_variance_VI(int m, int n, int r) {
    if (r >= m) return 0.0;            /* full block: exact H[Z], no variance */
    sbo_haar_consts c;
    sbo_haar_consts_compute(m, r, &c);
    /* §6.6: V_I is defined by the bracket; evaluate the bracket, not its m >> 1 approximation. */
    double q = (double)r / (double)m;
    double s = c.c1 + c.c2;
    double probe = c.c2 * c.c2 * (double)m * (double)m * (double)(n - 1);
    return (q * (1.0 - q) + probe) / (s * s);
}

double sbo_variance_VI_gen(int m, int n, int r) {
    if (r >= m) return 0.0;
    if (r < 2) return NAN;             /* BROS-general needs r >= 2 (§3.1) */
    sbo_haar_consts c;
    sbo_haar_consts_compute(m, r, &c);
    double mr = (double)m / (double)r;
    double nn = (double)n;
    return sbo_variance_VI(m, n, r) + mr * mr * mr * (nn * nn - 1.0) * c.A3 * c.A3;
}
