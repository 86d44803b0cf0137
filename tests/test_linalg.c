/* tests/test_linalg.c: CBLAS wrappers, Cholesky, solves, SPD inverse and Jacobi eigenvalues
 * (core/sbo_linalg.c), each against a naive loop or a constructed answer.
 * Run: ctest -R test_linalg, or build-core/test_linalg --verbose. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_linalg.h"   /* the code under test */
#include "core/sbo_rng.h"      /* random test matrices */
#include "core/sbo_haar.h"     /* a Haar orthogonal matrix for the eigenvalue test */

static void randn(double *x, int n, uint32_t block) {
    sbo_stream s;
    sbo_stream_init(&s, 31, SBO_RNG_TEST, block, 0);
    sbo_stream_gaussian_fill(&s, x, n);
}

/* SPD test matrix B B^T / n + shift I (n x n). */
static void spd(int n, double shift, double *A, uint32_t block) {
    double *B = malloc(sizeof(double) * n * n);
    randn(B, n * n, block);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
            A[i * n + j] = s / n + (i == j ? shift : 0.0);
        }
    free(B);
}

Test(blas, dgemm_all_transpose_combinations) {
    const int m = 5, n = 4, k = 3;
    double A[15], B[12], C[20], R[20], C0[20];
    randn(A, 15, 1); randn(B, 12, 2); randn(C0, 20, 3);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* op(A) is m x k: stored m x k, or k x m when transposed; likewise op(B) k x n */
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        double a = ta ? A[l * m + i] : A[i * k + l];
                        double b = tb ? B[j * k + l] : B[l * n + j];
                        s += a * b;
                    }
                    R[i * n + j] = 1.5 * s - 0.5 * C0[i * n + j];
                }
            memcpy(C, C0, sizeof C);
            sbo_dgemm(ta, tb, m, n, k, 1.5, A, B, -0.5, C);
            for (int i = 0; i < m * n; i++)
                cr_assert(fabs(C[i] - R[i]) < 1e-13, "transA=%d transB=%d entry %d: %g vs %g", ta, tb, i, C[i], R[i]);
        }
}

Test(blas, dgemv_both_orientations) {
    const int rows = 4, cols = 3;
    double A[12], x[4], y[4], y0[4];
    randn(A, 12, 4); randn(x, 4, 5); randn(y0, 4, 6);
    memcpy(y, y0, sizeof y);
    sbo_dgemv(0, rows, cols, 2.0, A, x, 1.0, y);          /* y (4) = 2 A x(3) + y */
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < cols; j++) s += A[i * cols + j] * x[j];
        cr_assert(fabs(y[i] - (2 * s + y0[i])) < 1e-13);
    }
    memcpy(y, y0, sizeof y);
    sbo_dgemv(1, rows, cols, 1.0, A, x, 0.0, y);          /* y (3) = A^T x(4) */
    for (int j = 0; j < cols; j++) {
        double s = 0;
        for (int i = 0; i < rows; i++) s += A[i * cols + j] * x[i];
        cr_assert(fabs(y[j] - s) < 1e-13);
    }
}

Test(cholesky, factor_reconstructs_and_keeps_upper_triangle) {
    const int n = 7;
    double A[49], L[49];
    spd(n, 0.5, A, 7);
    memcpy(L, A, sizeof A);
    cr_assert_eq(sbo_cholesky(n, L), 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (j > i) {
                cr_assert(L[i * n + j] == A[i * n + j], "upper triangle was modified at (%d,%d)", i, j);
                continue;
            }
            double s = 0;
            for (int k = 0; k <= j; k++) s += L[i * n + k] * L[j * n + k];
            cr_assert(fabs(s - A[i * n + j]) < 1e-13, "(L L^T)(%d,%d) = %g vs %g", i, j, s, A[i * n + j]);
        }
}

Test(cholesky, reports_failing_pivot) {
    double A[9] = {4, 0, 0, 0, 1, 0, 0, 0, -1};
    cr_assert_eq(sbo_cholesky(3, A), 3, "diag(4,1,-1) fails at pivot 3");
    double B[4] = {1, 2, 2, 1};                            /* eigenvalues 3, -1 */
    cr_assert_eq(sbo_cholesky(2, B), 2);
    double C[4] = {NAN, 0, 0, 1};
    cr_assert_eq(sbo_cholesky(2, C), 1, "NaN is not positive definite");
}

Test(cholesky, solve_multiple_right_hand_sides) {
    const int n = 6, nrhs = 3;
    double A[36], L[36], B[18], X[18];
    spd(n, 0.3, A, 8);
    randn(B, n * nrhs, 9);
    memcpy(L, A, sizeof A);
    cr_assert_eq(sbo_cholesky(n, L), 0);
    memcpy(X, B, sizeof B);
    sbo_cholesky_solve(n, L, nrhs, X);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < nrhs; c++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += A[i * n + k] * X[k * nrhs + c];
            cr_assert(fabs(s - B[i * nrhs + c]) < 1e-12, "residual (%d,%d) = %g", i, c, s - B[i * nrhs + c]);
        }
}

Test(cholesky, spd_inverse_is_symmetric_inverse) {
    const int n = 8;
    double A[64], Ai[64], W[64];
    spd(n, 0.2, A, 10);
    cr_assert_eq(sbo_spd_inverse(n, A, Ai, W), 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            cr_assert(Ai[i * n + j] == Ai[j * n + i], "inverse not exactly symmetric");
            double s = 0;
            for (int k = 0; k < n; k++) s += A[i * n + k] * Ai[k * n + j];
            cr_assert(fabs(s - (i == j)) < 1e-11, "(A A^-1)(%d,%d) = %g", i, j, s);
        }
    double N[4] = {1, 2, 2, 1};
    cr_assert_eq(sbo_spd_inverse(2, N, Ai, W), 2, "indefinite input reports its pivot");
}

Test(eig, jacobi_recovers_constructed_spectrum) {
    /* A = U diag(lambda) U^T with U Haar orthogonal: eigenvalues known exactly. */
    const int n = 12;
    double U[144], W[144 + 64], A[144], ev[12], lam[12];
    sbo_stream s;
    sbo_stream_init(&s, 4, SBO_RNG_TEST, 0, 0);
    cr_assert(sbo_haar_work_size(n, n) <= 144 + 64);
    sbo_haar_sample(&s, n, n, U, W);
    for (int i = 0; i < n; i++) lam[i] = 1.0 + 3.0 * i / (n - 1);      /* linspace(1, 4, 12), as in TC-7 */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double t = 0;
            for (int k = 0; k < n; k++) t += U[i * n + k] * lam[k] * U[j * n + k];
            A[i * n + j] = t;
        }
    sbo_sym_eig_jacobi(n, A, ev, W);
    for (int i = 0; i < n; i++) cr_assert(fabs(ev[i] - lam[i]) < 1e-12, "eigenvalue %d: %.15g vs %.15g", i, ev[i], lam[i]);
}

Test(eig, jacobi_two_by_two_and_indefinite) {
    double A[4] = {2, 1, 1, 2}, ev[2], W[4];
    sbo_sym_eig_jacobi(2, A, ev, W);
    cr_assert(fabs(ev[0] - 1) < 1e-15 && fabs(ev[1] - 3) < 1e-15, "got %g %g", ev[0], ev[1]);
    double B[9] = {0, 0, 0, 5, -1, 0, 0, 0, 2};   /* lower triangle only: [[0,5,0],[5,-1,0],[0,0,2]] */
    double e3[3], W3[9];
    sbo_sym_eig_jacobi(3, B, e3, W3);
    double d = sqrt(1 + 100.0);                    /* eigenvalues of [[0,5],[5,-1]]: (-1 +- sqrt(101))/2 */
    cr_assert(fabs(e3[0] - (-1 - d) / 2) < 1e-14 && fabs(e3[1] - 2) < 1e-14 && fabs(e3[2] - (-1 + d) / 2) < 1e-14,
              "got %.16g %.16g %.16g", e3[0], e3[1], e3[2]);
}

/* sbo_lu_solve: a non-symmetric system that needs pivoting (zero leading entry), exact answer; singular -> -1. */
Test(linalg, lu_solve_nonsymmetric_with_pivoting_and_singular) {
    /* K = [[0, 2, 1], [1, 1, 0], [3, 0, 1]], x = (1, -2, 3) -> rhs = K x = (-1, -1, 6) */
    double aug[12] = {0, 2, 1, -1, 1, 1, 0, -1, 3, 0, 1, 6}, x[3];
    cr_assert_eq(sbo_lu_solve(3, aug, x), 0);
    const double want[3] = {1, -2, 3};
    for (int i = 0; i < 3; i++) cr_expect(fabs(x[i] - want[i]) < 1e-14, "x[%d] = %.17g, expected %g", i, x[i], want[i]);
    double sing[6] = {1, 2, 3, 2, 4, 6};   /* rows proportional */
    cr_expect_eq(sbo_lu_solve(2, sing, x), -1, "a singular K must be reported");
}
