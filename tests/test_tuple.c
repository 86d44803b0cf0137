/* tests/test_tuple.c: block-tuple layouts, flat vector operations and the joint-norm ball projection
 * Pi_R of §2.2 (core/sbo_tuple.c), including the zero vector.
 * Run: ctest -R test_tuple, or build-core/test_tuple --verbose. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "core/sbo_tuple.h"   /* the code under test */

Test(layout, offsets_full_and_reduced) {
    sbo_layout lay;
    memset(&lay, 0, sizeof lay);
    lay.L = 3;
    lay.block[0].m = 5; lay.block[0].n = 3;
    lay.block[1].m = 4; lay.block[1].n = 2;
    lay.block[2].m = 1; lay.block[2].n = 4;
    sbo_layout_finish(&lay, NULL);
    cr_assert(lay.offset[0] == 0 && lay.offset[1] == 15 && lay.offset[2] == 23 && lay.offset[3] == 27);
    cr_assert_eq(sbo_layout_total(&lay), 27);
    int rows[3] = {2, 2, 1};                       /* reduced layout: r_l rows */
    sbo_layout_finish(&lay, rows);
    cr_assert(lay.offset[1] == 6 && lay.offset[2] == 10 && sbo_layout_total(&lay) == 14);
}

Test(vec, basic_operations) {
    double x[5] = {1, 2, 3, 4, 5}, y[5];
    sbo_vec_copy(5, x, y);
    cr_assert(memcmp(x, y, sizeof x) == 0);
    sbo_vec_axpy(5, -2.0, x, y);                   /* y = x - 2x = -x */
    for (int i = 0; i < 5; i++) cr_assert(y[i] == -x[i]);
    sbo_vec_scale(5, -0.5, y);
    for (int i = 0; i < 5; i++) cr_assert(y[i] == 0.5 * x[i]);
    cr_assert(sbo_vec_dot(5, x, x) == 55.0);
    cr_assert(fabs(sbo_vec_norm2(5, x) - sqrt(55.0)) < 1e-15);
    sbo_vec_zero(5, y);
    for (int i = 0; i < 5; i++) cr_assert(y[i] == 0.0);
    cr_assert(sbo_vec_norm2(0, y) == 0.0);
}

Test(vec, norm_does_not_overflow_and_finite_check) {
    double x[3] = {3e200, 4e200, 0};
    double n = sbo_vec_norm2(3, x);
    cr_assert(isfinite(n) && fabs(n / 5e200 - 1) < 1e-15, "norm = %g", n);
    cr_assert(sbo_vec_all_finite(3, x));
    x[2] = NAN;
    cr_assert(!sbo_vec_all_finite(3, x));
    cr_assert(isnan(sbo_vec_norm2(3, x)));
    x[2] = INFINITY;
    cr_assert(!sbo_vec_all_finite(3, x));
    cr_assert(isinf(sbo_vec_norm2(3, x)));
}

Test(ball, zero_vector_is_left_alone) {
    double v[4] = {0, 0, 0, 0};
    cr_assert_eq(sbo_ball_project(4, 1.0, v), 0, "the zero vector is inside every ball: no clip");
    for (int i = 0; i < 4; i++) cr_assert(v[i] == 0.0 && !signbit(v[i]), "entry %d became %g", i, v[i]);
    cr_assert_eq(sbo_ball_project(4, 0.0, v), 0, "R = 0 and v = 0: still no 0/0");
    for (int i = 0; i < 4; i++) cr_assert(v[i] == 0.0);
}

Test(ball, inside_unchanged_outside_clipped_to_radius) {
    double v[3] = {0.1, -0.2, 0.2}, w[3];
    memcpy(w, v, sizeof v);
    cr_assert_eq(sbo_ball_project(3, 1.0, v), 0);
    cr_assert(memcmp(v, w, sizeof v) == 0, "a vector inside the ball must not change");
    double u[3] = {3, 4, 12};                      /* norm 13 */
    cr_assert_eq(sbo_ball_project(3, 2.0, u), 1);
    cr_assert(fabs(sbo_vec_norm2(3, u) - 2.0) < 1e-15, "clipped norm %g", sbo_vec_norm2(3, u));
    cr_assert(fabs(u[0] - 6.0 / 13) < 1e-15 && fabs(u[1] - 8.0 / 13) < 1e-15 && fabs(u[2] - 24.0 / 13) < 1e-15,
              "direction must be kept");
    double b[2] = {3, 4};                          /* exactly on the sphere: no clip */
    cr_assert_eq(sbo_ball_project(2, 5.0, b), 0);
    cr_assert(b[0] == 3 && b[1] == 4);
}

Test(ball, joint_norm_over_blocks) {
    /* Pi_R uses the joint product norm over all blocks (§2.2), not a per-block norm. */
    double z[4] = {3, 0, 0, 4};                    /* block 1 = (3,0), block 2 = (0,4): joint norm 5 */
    cr_assert_eq(sbo_ball_project(4, 4.0, z), 1);
    cr_assert(fabs(z[0] - 2.4) < 1e-15 && fabs(z[3] - 3.2) < 1e-15);
}
