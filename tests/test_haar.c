/* tests/test_haar.c: Haar sampler (§3.2), exact and double §4 constants, the §3.1 small-block rule, the
 * rationals, and the §6.6 variance factors (core/sbo_haar.c). TC-1 and TC-2 are the full checks; these
 * are the fast unit versions.
 * Run: ctest -R test_haar, or build-core/test_haar --verbose. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_haar.h"   /* the code under test */

static double max_orth_error(int m, int r, const double *P) {
    double e = 0;
    for (int a = 0; a < r; a++)
        for (int b = 0; b < r; b++) {
            double s = 0;
            for (int i = 0; i < m; i++) s += P[i * r + a] * P[i * r + b];
            e = fmax(e, fabs(s - (a == b)));
        }
    return e;
}

Test(haar, orthonormal_columns) {
    static const int shapes[][2] = {{2, 1}, {3, 2}, {5, 2}, {8, 3}, {16, 4}, {7, 7}, {100, 10}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int m = shapes[t][0], r = shapes[t][1];
        double *P = malloc(sizeof(double) * m * r), *W = malloc(sizeof(double) * sbo_haar_work_size(m, r));
        for (int k = 0; k < 50; k++) {
            sbo_stream s;
            sbo_stream_init(&s, 11, SBO_RNG_SUBSPACE, 0, k);
            sbo_haar_sample(&s, m, r, P, W);
            double e = max_orth_error(m, r, P);
            cr_assert(e < 1e-12, "(%d,%d) draw %d: max|P'P - I| = %g", m, r, k, e);
        }
        free(P); free(W);
    }
}

Test(haar, is_sign_fixed_q_factor_of_the_drawn_gaussian) {
    /* R = P^T G must be upper triangular with a positive diagonal (§3.2 step 3). */
    int m = 9, r = 4;
    double P[36], G[36], W[64];
    cr_assert(sbo_haar_work_size(m, r) <= 64);
    sbo_stream s, c;
    sbo_stream_init(&s, 3, SBO_RNG_SUBSPACE, 2, 1);
    c = s;
    sbo_haar_sample(&s, m, r, P, W);
    sbo_stream_gaussian_fill(&c, G, m * r);
    for (int a = 0; a < r; a++)
        for (int b = 0; b < r; b++) {
            double R = 0;
            for (int i = 0; i < m; i++) R += P[i * r + a] * G[i * r + b];
            if (a > b) cr_assert(fabs(R) < 1e-13, "R[%d][%d] = %g below the diagonal", a, b, R);
            if (a == b) cr_assert(R > 0, "R[%d][%d] = %g not positive", a, a, R);
        }
}

Test(haar, deterministic_and_stream_dependent) {
    int m = 6, r = 3;
    double P1[18], P2[18], P3[18], W[64];
    sbo_stream s;
    sbo_stream_init(&s, 5, SBO_RNG_SUBSPACE, 1, 7);
    sbo_haar_sample(&s, m, r, P1, W);
    sbo_stream_init(&s, 5, SBO_RNG_SUBSPACE, 1, 7);
    sbo_haar_sample(&s, m, r, P2, W);
    sbo_stream_init(&s, 5, SBO_RNG_SUBSPACE, 1, 8);
    sbo_haar_sample(&s, m, r, P3, W);
    cr_assert(memcmp(P1, P2, sizeof P1) == 0, "same stream, different P");
    cr_assert(memcmp(P1, P3, sizeof P1) != 0, "next iteration gave the same P");
}

Test(haar, mean_projection_is_r_over_m) {
    /* E[Q] = (r/m) I (§3.3), a fast version of the TC-2 null check: |z| < 5 on every entry. */
    const int m = 5, r = 2, N = 40000;
    double P[10], W[32], s1[25] = {0}, s2[25] = {0};
    for (int k = 0; k < N; k++) {
        sbo_stream s;
        sbo_stream_init(&s, 77, SBO_RNG_TEST, 0, k);
        sbo_haar_sample(&s, m, r, P, W);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                double q = 0;
                for (int a = 0; a < r; a++) q += P[i * r + a] * P[j * r + a];
                s1[i * m + j] += q;
                s2[i * m + j] += q * q;
            }
    }
    for (int e = 0; e < 25; e++) {
        double mean = s1[e] / N, var = s2[e] / N - mean * mean;
        double target = (e / m == e % m) ? (double)r / m : 0.0;
        double z = (mean - target) / sqrt(var / N);
        cr_assert(fabs(z) < 5.0, "entry %d: mean %g target %g z %.2f", e, mean, target, z);
    }
}

// --- constants -------------------------------------------------------------------------------------
static void expect_q(sbo_rational got, int64_t n, int64_t d, const char *what) {
    cr_assert(got.num == n && got.den == d, "%s = %lld/%lld, expected %lld/%lld", what, (long long)got.num,
              (long long)got.den, (long long)n, (long long)d);
}

Test(consts, exact_rows_of_the_section4_table) {
    sbo_haar_consts_exact e;
    cr_assert_eq(sbo_haar_consts_exact_compute(3, 2, &e), 0);
    expect_q(e.c1, 2, 5, "c1"); expect_q(e.c2, 1, 15, "c2"); expect_q(e.a, 21, 20, "a");
    expect_q(e.rho, 3, 20, "rho"); expect_q(e.rho_over_a, 1, 7, "rho/a");
    expect_q(e.A1, 8, 7, "A1"); expect_q(e.A3, -4, 21, "A3");
    cr_assert_eq(sbo_haar_consts_exact_compute(784, 64, &e), 0);
    expect_q(e.c1, 11164, 1675359, "c1"); expect_q(e.c2, 160, 1675359, "c2");
    expect_q(e.a, 138719, 136764, "a"); expect_q(e.rho, 490, 34191, "rho");
    expect_q(e.rho_over_a, 40, 2831, "rho/a"); expect_q(e.A1, 971268, 971033, "A1");
    expect_q(e.A3, -13920, 971033, "A3");
    cr_assert_eq(sbo_haar_consts_exact_compute(6, 1, &e), 0);
    expect_q(e.c1, 1, 48, "c1"); expect_q(e.a, 3, 2, "a");
    cr_assert_eq(e.has_A, 0, "A1, A3 are n/a for r = 1");
}

Test(consts, double_matches_rationals) {
    static const int shapes[][2] = {{3, 2}, {5, 2}, {8, 3}, {12, 4}, {16, 4}, {64, 8}, {784, 64}, {784, 392}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        sbo_haar_consts c;
        sbo_haar_consts_exact e;
        sbo_haar_consts_compute(shapes[t][0], shapes[t][1], &c);
        cr_assert_eq(sbo_haar_consts_exact_compute(shapes[t][0], shapes[t][1], &e), 0);
        double d[7] = {c.c1, c.c2, c.a, c.rho, c.rho_over_a, c.A1, c.A3};
        sbo_rational q[7] = {e.c1, e.c2, e.a, e.rho, e.rho_over_a, e.A1, e.A3};
        for (int j = 0; j < 7; j++) {
            double ref = sbo_rational_to_double(q[j]);
            cr_assert(fabs(d[j] - ref) <= 1e-14 * fabs(ref), "(%d,%d) constant %d: %.17g vs %.17g", shapes[t][0],
                      shapes[t][1], j, d[j], ref);
        }
        cr_assert(fabs(c.kappa * shapes[t][0] - c.rho) <= 1e-15 * c.rho, "rho = m kappa");
    }
}

Test(consts, small_block_rule_never_nan) {
    static const int shapes[][2] = {{1, 1}, {2, 2}, {5, 7}, {1, 3}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int m = shapes[t][0], r = shapes[t][1];
        sbo_haar_consts c;
        sbo_haar_consts_compute(m, r, &c);
        cr_assert(c.full == 1 && c.r == m, "(%d,%d) must be a full block with r = m", m, r);
        cr_assert(c.c1 == 1 && c.c2 == 0 && c.a == 1 && c.rho == 0 && c.rho_over_a == 0 && c.A1 == 1 && c.A3 == 0 &&
                  c.kappa == 0, "(%d,%d) constants", m, r);
        cr_assert_eq(sbo_variance_VI(m, 4, r), 0.0);
        cr_assert_eq(sbo_variance_VI_gen(m, 4, r), 0.0);
        sbo_haar_consts_exact e;
        cr_assert_eq(sbo_haar_consts_exact_compute(m, r, &e), 0);
        expect_q(e.c1, 1, 1, "c1"); expect_q(e.c2, 0, 1, "c2"); expect_q(e.A1, 1, 1, "A1"); expect_q(e.A3, 0, 1, "A3");
    }
}

Test(consts, rank_one_general_constants_are_nan) {
    sbo_haar_consts c;
    sbo_haar_consts_compute(6, 1, &c);
    cr_assert(c.full == 0 && isnan(c.A1) && isnan(c.A3));
    cr_assert(isfinite(c.c1) && isfinite(c.a) && isfinite(c.rho));
    cr_assert(isnan(sbo_variance_VI_gen(6, 2, 1)));
    cr_assert(isfinite(sbo_variance_VI(6, 2, 1)));
}

Test(consts, variance_examples_of_section_6_6) {
    struct { int m, n, r, gen; double ref, tol; } v[] = {
        {16, 2, 4, 0, 42.0, 0.05}, {32, 2, 4, 0, 343.7, 0.05}, {12, 3, 4, 0, 19.6, 0.05}, {784, 10, 64, 0, 2745, 0.5},
        {784, 10, 392, 0, 12.94, 0.005}, {10, 784, 5, 0, 585, 0.5}, {16, 2, 4, 1, 49.1, 0.05}, {32, 2, 4, 1, 424.1, 0.05},
        {12, 3, 4, 1, 25.7, 0.05}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double x = v[i].gen ? sbo_variance_VI_gen(v[i].m, v[i].n, v[i].r) : sbo_variance_VI(v[i].m, v[i].n, v[i].r);
        cr_assert(fabs(x - v[i].ref) <= v[i].tol, "%s(%d,%d,%d) = %.6g, spec %g", v[i].gen ? "V_I^gen" : "V_I", v[i].m,
                  v[i].n, v[i].r, x, v[i].ref);
    }
    /* H = I_m o S-like sanity: for n = 1 the probe term vanishes, V_I = q(1-q)/(c1+c2)^2 */
    sbo_haar_consts c;
    sbo_haar_consts_compute(8, 3, &c);
    double q = 3.0 / 8.0;
    cr_assert(fabs(sbo_variance_VI(8, 1, 3) - q * (1 - q) / ((c.c1 + c.c2) * (c.c1 + c.c2))) < 1e-12);
}

// --- rationals -------------------------------------------------------------------------------------
Test(rational, reduce_sign_and_arithmetic) {
    sbo_rational a = sbo_rational_make(6, -4);
    expect_q(a, -3, 2, "6/-4");
    expect_q(sbo_rational_make(0, -7), 0, 1, "0/-7");
    sbo_rational o;
    cr_assert_eq(sbo_rational_add(sbo_rational_make(1, 6), sbo_rational_make(1, 3), &o), 0);
    expect_q(o, 1, 2, "1/6 + 1/3");
    cr_assert_eq(sbo_rational_sub(sbo_rational_make(1, 6), sbo_rational_make(1, 3), &o), 0);
    expect_q(o, -1, 6, "1/6 - 1/3");
    cr_assert_eq(sbo_rational_mul(sbo_rational_make(2, 3), sbo_rational_make(9, 4), &o), 0);
    expect_q(o, 3, 2, "2/3 * 9/4");
    cr_assert_eq(sbo_rational_div(sbo_rational_make(2, 3), sbo_rational_make(-4, 9), &o), 0);
    expect_q(o, -3, 2, "2/3 / (-4/9)");
    cr_assert_eq(sbo_rational_div(o, sbo_rational_make(0, 1), &o), -1, "division by zero");
    /* int128 intermediates: a product that reduces back into int64 succeeds, a true overflow fails */
    sbo_rational big = sbo_rational_make(INT64_MAX / 3, 1);
    cr_assert_eq(sbo_rational_mul(big, sbo_rational_make(3, 3), &o), 0);
    cr_assert_eq(sbo_rational_mul(big, sbo_rational_make(5, 1), &o), -1);
    char buf[32];
    cr_assert_str_eq(sbo_rational_str(sbo_rational_make(-20, 39), buf, sizeof buf), "-20/39");
    cr_assert_str_eq(sbo_rational_str(sbo_rational_make(3, 1), buf, sizeof buf), "3");
}

// --- version 2: vectorized normals, CholeskyQR2 (core/sbo_haar.c) -----------------------------------------
Test(haar_v2, same_frame_as_version_1_to_rounding_and_orthonormal) {
    /* The same Philox words, the same law: P_v2 - P_v1 is rounding only, on the loop path (small frames) and on
     * the CholeskyQR2 path (m r^2 >= 200000), and version 2 needs no more workspace. */
    static const int shapes[][2] = {{3, 2}, {16, 4}, {100, 10}, {100, 50}, {300, 30}, {784, 64}, {256, 255}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int m = shapes[t][0], r = shapes[t][1];
        long w1 = sbo_haar_work_size_v(SBO_HAAR_V1, m, r), w2 = sbo_haar_work_size_v(SBO_HAAR_V2, m, r);
        cr_assert(w2 <= w1, "(%d,%d): version 2 workspace %ld > version 1's %ld", m, r, w2, w1);
        double *P1 = malloc(sizeof(double) * m * r), *P2 = malloc(sizeof(double) * m * r);
        double *W = malloc(sizeof(double) * w1);
        for (int k = 0; k < 3; k++) {
            sbo_stream a, b;
            sbo_stream_init(&a, 5, SBO_RNG_SUBSPACE, 1, k);
            b = a;
            sbo_haar_sample_v(SBO_HAAR_V1, &a, m, r, P1, W);
            sbo_haar_sample_v(SBO_HAAR_V2, &b, m, r, P2, W);
            double d = 0;
            for (long i = 0; i < (long)m * r; i++) d = fmax(d, fabs(P1[i] - P2[i]));
            double e = max_orth_error(m, r, P2);
            cr_assert(d < 1e-12, "(%d,%d) draw %d: max|P_v2 - P_v1| = %g", m, r, k, d);
            cr_assert(e < 1e-14, "(%d,%d) draw %d: max|P'P - I| = %g", m, r, k, e);
        }
        free(P1); free(P2); free(W);
    }
}

Test(haar_v2, shifted_path_orthonormalizes_an_ill_conditioned_matrix) {
    /* G = U diag(1, 1e-5, ..., 1e-10) V^T-like: columns scaled over ten orders of magnitude after mixing, cond(G)
     * about 1e10, beyond CholeskyQR2 (u^{-1/2} = 6.7e7). sbo_haar_orthonormalize must take the shifted path and still
     * return the Q factor: Q'Q = I and Q'G upper triangular with a positive diagonal. Power: without the shift the
     * plain Cholesky of G'G fails here, which the return value 1 (shifted) shows. */
    int m = 400, r = 40;
    double *G = malloc(sizeof(double) * m * r), *G0 = malloc(sizeof(double) * m * r), *W = malloc(sizeof(double) * r * r);
    sbo_stream s;
    sbo_stream_init(&s, 1, SBO_RNG_TEST, 0, 0);
    sbo_stream_gaussian_fill(&s, G, (long)m * r);
    for (int i = 0; i < m; i++) {                   /* column j scaled by 10^(-10 j / (r - 1)), then mixed forward */
        for (int j = 0; j < r; j++) G[(long)i * r + j] *= pow(10.0, -10.0 * j / (r - 1));
        for (int j = 1; j < r; j++) G[(long)i * r + j] += 0.5 * G[(long)i * r + j - 1];
    }
    memcpy(G0, G, sizeof(double) * m * r);
    int rc = sbo_haar_orthonormalize(m, r, G, W);
    cr_assert(rc == 1, "expected the shifted path (1), got %d", rc);
    double e = max_orth_error(m, r, G);
    cr_assert(e < 1e-14, "max|Q'Q - I| = %g", e);
    for (int a = 0; a < r; a++)
        for (int b = 0; b <= a; b++) {
            double R = 0, nb = 0;
            for (int i = 0; i < m; i++) {
                R += G[(long)i * r + a] * G0[(long)i * r + b];
                nb += G0[(long)i * r + b] * G0[(long)i * r + b];
            }
            if (a > b) cr_assert(fabs(R) < 1e-6 * sqrt(nb), "R[%d][%d] = %g below the diagonal (|g_b| = %g)", a, b, R, sqrt(nb));
            else cr_assert(R > 0, "R[%d][%d] = %g not positive", a, a, R);
        }
    free(G); free(G0); free(W);
}
