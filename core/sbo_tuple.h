/* core/sbo_tuple.h: block tuples (ALGORITHMS.md §1). A tuple Y = (Y^1..Y^L) is ONE flat double array;
 * block l is the m_l x n_l row-major matrix at offset[l]. Reduced tuples use r_l rows instead of m_l.
 * Exercised by: tests/test_tuple.c and every algorithm. */
#ifndef SBO_TUPLE_H
#define SBO_TUPLE_H
#include <stddef.h>

#define SBO_MAX_BLOCKS 32
#define SBO_NAME_LEN 32

typedef struct {
    char name[SBO_NAME_LEN];
    int m, n;             /* stored block shape: m = projected (row) side, n = columns (§3.1) */
    int row_symmetric;    /* task's declaration for its diagonal Hessian block (§5.2) */
    int keep_full;        /* the task cannot take a subspace on this block (its network feeds it to an op without a
                           * reduced mode: an embedding table, a broadcast parameter): projected methods keep it full */
} sbo_block;

typedef struct {
    int L;
    sbo_block block[SBO_MAX_BLOCKS];
    long offset[SBO_MAX_BLOCKS + 1];    /* offset[L] = total */
} sbo_layout;

/* Fill offsets from the block shapes. When rows is non-NULL it is a reduced layout: block[l].m = rows[l]
 * (sbo_subspace_* read r_l from block[l].m) and the offsets follow. */
void sbo_layout_finish(sbo_layout *lay, const int *rows);
static inline long sbo_layout_total(const sbo_layout *lay) { return lay->offset[lay->L]; }

/* Flat vector operations (n entries), double accumulators. */
void sbo_vec_zero(long n, double *x);
void sbo_vec_copy(long n, const double *x, double *y);
void sbo_vec_axpy(long n, double a, const double *x, double *y);     /* y += a x */
void sbo_vec_scale(long n, double a, double *x);
double sbo_vec_dot(long n, const double *x, const double *y);
double sbo_vec_norm2(long n, const double *x);                        /* Euclidean (product Frobenius) */
int sbo_vec_all_finite(long n, const double *x);
/* Joint-norm ball projection Pi_R (§2.2): v *= min(1, R/||v||), v unchanged when ||v|| = 0.
 * Returns 1 when it clipped. */
int sbo_ball_project(long n, double R, double *v);
#endif
