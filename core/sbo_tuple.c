/* core/sbo_tuple.c: block tuples as one flat array (ALGORITHMS.md §1) and the joint-norm ball
 * projection Pi_R of MA-SOBA (§2.2). Plain loops: the vectors are short and the operations are
 * memory-bound, and a loop keeps results identical across BLAS vendors.
 * Exercised by: build/tests/test_tuple. */
#include "core/sbo_tuple.h"   /* the interface */

#include <math.h>

void sbo_layout_finish(sbo_layout *lay, const int *rows) {
    long off = 0;
    for (int l = 0; l < lay->L; l++) {
        lay->offset[l] = off;
        if (rows) lay->block[l].m = rows[l];   /* a reduced layout has r_l rows */
        int m = lay->block[l].m;
        off += (long)m * lay->block[l].n;
    }
    lay->offset[lay->L] = off;
}

void sbo_vec_zero(long n, double *x) {
    for (long i = 0; i < n; i++) x[i] = 0.0;
}

void sbo_vec_copy(long n, const double *x, double *y) {
    for (long i = 0; i < n; i++) y[i] = x[i];
}

void sbo_vec_axpy(long n, double a, const double *x, double *y) {
    /* CPU reference of the CUDA kernel body sbo_axpy_thread (core/sbo_kernels.h); tests/test_cuda.c
     * holds the two equal bit for bit. */
    for (long i = 0; i < n; i++) y[i] += a * x[i];
}

void sbo_vec_scale(long n, double a, double *x) {
    for (long i = 0; i < n; i++) x[i] *= a;
}

double sbo_vec_dot(long n, const double *x, const double *y) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

double sbo_vec_norm2(long n, const double *x) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += x[i] * x[i];
    if (isfinite(s)) return sqrt(s);
    /* Overflow of the plain sum of squares (entries beyond ~1e154): rescale by the largest magnitude.
     * A genuine inf/NaN entry still gives inf/NaN. */
    double big = 0.0;
    for (long i = 0; i < n; i++) {
        double a = fabs(x[i]);
        if (!(a <= big)) big = a;       /* NaN propagates */
    }
    if (!isfinite(big)) return big;
    s = 0.0;
    for (long i = 0; i < n; i++) {
        double t = x[i] / big;
        s += t * t;
    }
    return big * sqrt(s);
}

int sbo_vec_all_finite(long n, const double *x) {
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int sbo_ball_project(long n, double R, double *v) {
    /* §2.2: Pi_R(V) = V min(1, R/||V||), with Pi_R(0) = 0 (no 0/0). */
    double nrm = sbo_vec_norm2(n, v);
    if (!(nrm > R) || nrm == 0.0) return 0;
    sbo_vec_scale(n, R / nrm, v);
    return 1;
}
