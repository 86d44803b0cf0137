/* core/sbo_linalg.c: small dense double linear algebra through CBLAS, row-major throughout.
 * Closed-form references (quadratic tasks, theory checks) use these; hot loops on tiny matrices do
 * not (a CBLAS call costs more than a 3x3 product).
 * Exercised by: build/tests/test_linalg. */
#include "core/sbo_linalg.h"   /* the interface */

#if defined(SBO_BLAS_BLIS)
/* Debian's libblis-dev installs no blis/ directory: /usr/include/x86_64-linux-gnu/blis.h (an
 * alternatives link to blis-openmp/blis.h) declares BLIS and its CBLAS layer. */
#include <blis.h>
#else
#include <cblas.h>             /* OpenBLAS's, found through pkg-config openblas */
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sbo_dgemm(int transA, int transB, int m, int n, int k, double alpha, const double *A, const double *B,
               double beta, double *C) {
    /* Row-major leading dimensions: op(A) is m x k, so A is stored k x m when transposed. */
    int lda = transA ? m : k;
    int ldb = transB ? k : n;
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, A, lda, B, ldb, beta, C, n);
}

void sbo_dgemv(int transA, int rows, int cols, double alpha, const double *A, const double *x, double beta, double *y) {
    cblas_dgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, rows, cols, alpha, A, cols, x, 1, beta, y, 1);
}

int sbo_cholesky(int n, double *A) {
    /* Left-looking Cholesky on the lower triangle (row i uses rows < i, all contiguous in row-major).
     * Only the lower triangle is read or written, so the caller's upper triangle survives. */
    for (int i = 0; i < n; i++) {
        double *Li = A + (long)i * n;
        for (int j = 0; j <= i; j++) {
            const double *Lj = A + (long)j * n;
            double s = Li[j];
            for (int k = 0; k < j; k++) s -= Li[k] * Lj[k];
            if (j == i) {
                /* !(s > 0) also catches NaN: a non-finite input is "not positive definite" at this pivot. */
                if (!(s > 0.0)) return i + 1;
                Li[i] = sqrt(s);
            } else {
                Li[j] = s / Lj[j];
            }
        }
    }
    return 0;
}

void sbo_cholesky_solve(int n, const double *L, int nrhs, double *B) {
    /* L y = b, then L^T x = y. dtrsm reads only the lower triangle of L. */
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, nrhs, 1.0, L, n, B, nrhs);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, n, nrhs, 1.0, L, n, B, nrhs);
}

int sbo_spd_inverse(int n, const double *A, double *Ainv, double *work) {
    memcpy(work, A, sizeof(double) * (size_t)n * (size_t)n);
    int st = sbo_cholesky(n, work);
    if (st != 0) return st;
    memset(Ainv, 0, sizeof(double) * (size_t)n * (size_t)n);
    for (int i = 0; i < n; i++) Ainv[(long)i * n + i] = 1.0;
    sbo_cholesky_solve(n, work, n, Ainv);
    /* The two triangular solves leave a rounding-level asymmetry; the inverse of an SPD matrix is
     * symmetric, and callers (Z* = H^{-1} b, plateau formulas) rely on it. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            double s = 0.5 * (Ainv[(long)i * n + j] + Ainv[(long)j * n + i]);
            Ainv[(long)i * n + j] = s;
            Ainv[(long)j * n + i] = s;
        }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sbo_sym_eig_jacobi(int n, const double *A, double *eigenvalues, double *work) {
    /* Cyclic Jacobi on a copy (work: n*n doubles). Returns ALL eigenvalues, sorted ascending, so
     * eigenvalues[0] and eigenvalues[n-1] are the extreme ones (strong convexity and smoothness checks).
     * Jacobi is slow (O(n^3) per sweep) but accurate to a few ulps of ||A||, which is what the
     * conditioning checks of the quadratic tasks need. Only the lower triangle of A is used. */
    double *W = work;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            W[(long)i * n + j] = (j <= i) ? A[(long)i * n + j] : A[(long)j * n + i];
    double fro = 0.0;
    for (long i = 0; i < (long)n * n; i++) fro += W[i] * W[i];
    fro = sqrt(fro);
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++) off += W[(long)i * n + j] * W[(long)i * n + j];
        if (sqrt(2.0 * off) <= 1e-15 * fro || off == 0.0) break;
        for (int p = 0; p < n - 1; p++) {
            for (int q = p + 1; q < n; q++) {
                double apq = W[(long)p * n + q];
                if (apq == 0.0) continue;
                double app = W[(long)p * n + p], aqq = W[(long)q * n + q];
                /* Rutishauser's stable rotation: t = sign(theta) / (|theta| + sqrt(theta^2 + 1)). */
                double theta = (aqq - app) / (2.0 * apq);
                double t = (theta >= 0.0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < n; k++) {           /* columns p, q */
                    double wkp = W[(long)k * n + p], wkq = W[(long)k * n + q];
                    W[(long)k * n + p] = c * wkp - s * wkq;
                    W[(long)k * n + q] = s * wkp + c * wkq;
                }
                for (int k = 0; k < n; k++) {           /* rows p, q */
                    double wpk = W[(long)p * n + k], wqk = W[(long)q * n + k];
                    W[(long)p * n + k] = c * wpk - s * wqk;
                    W[(long)q * n + k] = s * wpk + c * wqk;
                }
                W[(long)p * n + q] = 0.0;
                W[(long)q * n + p] = 0.0;
            }
        }
    }
    for (int i = 0; i < n; i++) eigenvalues[i] = W[(long)i * n + i];
    qsort(eigenvalues, (size_t)n, sizeof(double), cmp_double);
}

/* Solve the d x d system K x = rhs by Gaussian elimination with partial pivoting on the augmented matrix
 * aug (d x (d+1), destroyed). K need not be symmetric (the naive K_n is not). Returns 0 or -1 if singular. */
int sbo_lu_solve(int d, double *aug, double *x) {
    int w = d + 1;
    for (int col = 0; col < d; col++) {
        int piv = col;
        for (int i = col + 1; i < d; i++)
            if (fabs(aug[(long)i * w + col]) > fabs(aug[(long)piv * w + col])) piv = i;
        if (!(fabs(aug[(long)piv * w + col]) > 0)) return -1;
        if (piv != col)
            for (int j = 0; j < w; j++) {
                double tmp = aug[(long)col * w + j];
                aug[(long)col * w + j] = aug[(long)piv * w + j];
                aug[(long)piv * w + j] = tmp;
            }
        for (int i = col + 1; i < d; i++) {
            double f = aug[(long)i * w + col] / aug[(long)col * w + col];
            for (int j = col; j < w; j++) aug[(long)i * w + j] -= f * aug[(long)col * w + j];
        }
    }
    for (int i = d - 1; i >= 0; i--) {
        double s = aug[(long)i * w + d];
        for (int j = i + 1; j < d; j++) s -= aug[(long)i * w + j] * x[j];
        x[i] = s / aug[(long)i * w + i];
    }
    return 0;
}
