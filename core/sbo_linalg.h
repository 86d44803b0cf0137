/* core/sbo_linalg.h: small dense double linear algebra for closed-form references (quadratic tasks,
 * theory checks): Cholesky, triangular solves, matrix products through CBLAS. Row-major throughout.
 * Exercised by: tests/test_linalg.c, tasks/quadratic.c. */
#ifndef SBO_LINALG_H
#define SBO_LINALG_H

/* C (m x n) = alpha * op(A) op(B) + beta * C, op = transpose when the flag is 1. Thin CBLAS wrapper. */
void sbo_dgemm(int transA, int transB, int m, int n, int k, double alpha, const double *A, const double *B,
               double beta, double *C);
/* y = alpha * op(A) x + beta * y, A is rows x cols. */
void sbo_dgemv(int transA, int rows, int cols, double alpha, const double *A, const double *x, double beta, double *y);

/* In-place Cholesky of an SPD n x n matrix: lower factor L in the lower triangle (upper left untouched).
 * Returns 0, or the 1-based index of the failing pivot when A is not positive definite. */
int sbo_cholesky(int n, double *A);
/* Solve (L L^T) X = B for nrhs right-hand sides stored as columns of B (n x nrhs, row-major), in place. */
void sbo_cholesky_solve(int n, const double *L, int nrhs, double *B);
/* Inverse of an SPD matrix (n x n) into Ainv; returns the Cholesky status. work: n*n doubles. */
int sbo_spd_inverse(int n, const double *A, double *Ainv, double *work);
/* All eigenvalues of a symmetric matrix (lower triangle read), sorted ascending, by cyclic Jacobi
 * rotations (n <= a few hundred): eigenvalues[0] is the smallest, eigenvalues[n-1] the largest.
 * eigenvalues: n doubles; work: n*n doubles. */
void sbo_sym_eig_jacobi(int n, const double *A, double *eigenvalues, double *work);
/* Solve the d x d system K x = rhs by Gaussian elimination with partial pivoting on the augmented matrix
 * aug = [K | rhs] (d x (d+1), destroyed); K need not be symmetric. Returns 0, or -1 when K is singular. */
int sbo_lu_solve(int d, double *aug, double *x);
#endif
