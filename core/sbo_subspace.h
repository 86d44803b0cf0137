/* core/sbo_subspace.h: the subspace of one iteration (ALGORITHMS.md §3.1) and the two maps between a block
 * tuple and its reduced form (§5.1): P^T V (project) and P X (lift). Pure linear algebra on tuples; the
 * generic reduced oracles (tasks/task.c), zdir (algorithms/zdir.c) and the projected loop build on them.
 * Exercised by: tests/test_tasks.c, tests/test_matrix.c, tests/test_neural.c (against explicit P^T V, P X). */
#ifndef SBO_SUBSPACE_H
#define SBO_SUBSPACE_H
#include "core/sbo_tuple.h"   /* sbo_layout, SBO_MAX_BLOCKS */

/* The subspace of one iteration: P[l] is m_l x r_l row-major with orthonormal columns, or NULL for a
 * full block (r_l = m_l, P = I, §3.1). red is the reduced layout (r_l rows). */
typedef struct {
    const sbo_layout *full;
    sbo_layout red;
    const double *P[SBO_MAX_BLOCKS];
} sbo_subspace;

/* out_red^l = P_l^T V^l (full blocks copy). */
void sbo_subspace_project(const sbo_subspace *S, const double *V_full, double *out_red);
/* out_full^l += scale_l * P_l X^l, with scale_l = scale[l] (NULL: 1). */
void sbo_subspace_lift_add(const sbo_subspace *S, const double *X_red, const double *scale, double *out_full);
#endif
