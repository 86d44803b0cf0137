/* core/sbo_subspace.c: P^T V and P X on block tuples (ALGORITHMS.md §3.1, §5.1 reduced form), plain loops for
 * small blocks and dgemm for large ones. Exercised by: tests/test_tasks.c, tests/test_matrix.c,
 * tests/test_neural.c. */
#include "core/sbo_subspace.h"   /* sbo_subspace */
#include <string.h>
#include "core/sbo_linalg.h"     /* sbo_dgemm for large blocks */

/* Small blocks: plain loops in double (faster than a BLAS call at 12 x 3); large ones: dgemm. */
#define SBO_GEMM_THRESHOLD 32768L

void sbo_subspace_project(const sbo_subspace *S, const double *V_full, double *out_red) {
    const sbo_layout *full = S->full;
    for (int l = 0; l < full->L; l++) {
        int m = full->block[l].m, n = full->block[l].n, r = S->red.block[l].m;
        const double *V = V_full + full->offset[l];
        double *O = out_red + S->red.offset[l];
        const double *P = S->P[l];
        if (!P) {
            memcpy(O, V, sizeof(double) * (size_t)m * n);
            continue;
        }
        if ((long)m * n * r >= SBO_GEMM_THRESHOLD) {
            sbo_dgemm(1, 0, r, n, m, 1.0, P, V, 0.0, O);     /* O = P^T V */
            continue;
        }
        memset(O, 0, sizeof(double) * (size_t)r * n);
        for (int i = 0; i < m; i++) {
            const double *Pi = P + (long)i * r, *Vi = V + (long)i * n;
            for (int j = 0; j < r; j++) {
                double pij = Pi[j];
                double *Oj = O + (long)j * n;
                for (int a = 0; a < n; a++) Oj[a] += pij * Vi[a];
            }
        }
    }
}

void sbo_subspace_lift_add(const sbo_subspace *S, const double *X_red, const double *scale, double *out_full) {
    const sbo_layout *full = S->full;
    for (int l = 0; l < full->L; l++) {
        int m = full->block[l].m, n = full->block[l].n, r = S->red.block[l].m;
        double sc = scale ? scale[l] : 1.0;
        const double *X = X_red + S->red.offset[l];
        double *O = out_full + full->offset[l];
        const double *P = S->P[l];
        if (!P) {
            sbo_vec_axpy((long)m * n, sc, X, O);
            continue;
        }
        if ((long)m * n * r >= SBO_GEMM_THRESHOLD) {
            sbo_dgemm(0, 0, m, n, r, sc, P, X, 1.0, O);      /* O += sc P X */
            continue;
        }
        for (int i = 0; i < m; i++) {
            const double *Pi = P + (long)i * r;
            double *Oi = O + (long)i * n;
            for (int j = 0; j < r; j++) {
                double pij = sc * Pi[j];
                const double *Xj = X + (long)j * n;
                for (int a = 0; a < n; a++) Oi[a] += pij * Xj[a];
            }
        }
    }
}
