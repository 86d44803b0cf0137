/* theory_checks/tc1_haar_constants.c: TC-1 of ALGORITHMS.md §8: the Haar sampler of §3.2 (orthonormal
 * columns, and P is the sign-fixed Q factor of the drawn Gaussian matrix), the exact §4 constants against
 * the §4 table (integer rationals, compared for equality), the double constants against the rationals,
 * the §4 identities in exact arithmetic, the §3.1 small-block rule, the rejection of BROS-general with a
 * projected rank-1 block, and the §6.6 / §3.1 example values of V_I and V_I^gen.
 * Everything is exact or deterministic, so quick mode (§8.2) equals full mode except for fewer P draws.
 * Run: build-core/tc1_haar_constants [--quick] [--out FILE.h5] */
#include "theory_checks/tc_common.h"   /* harness: args, report */
#include "core/sbo_haar.h"             /* sampler, constants, rationals, V_I */
#include "core/sbo_rng.h"              /* streams */
#include "core/sbo_tuple.h"            /* sbo_layout for the zdir plan */
#include "algorithms/zdir.h"           /* sbo_zdir_plan_init: the rank-1 rejection of §3.1 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TC1_SEED 0x7c1a5eedULL

// --- the §4 table, typed in from ALGORITHMS.md (independent of the code under test) ----------------
typedef struct {
    int m, r;
    int64_t v[7][2];      /* c1, c2, a, rho, rho/a, A1, A3 as num/den; A1, A3 = {0,0} when n/a */
} table_row;

static const table_row k_table[] = {
    {3, 2, {{2, 5}, {1, 15}, {21, 20}, {3, 20}, {1, 7}, {8, 7}, {-4, 21}}},
    {5, 2, {{1, 7}, {3, 70}, {65, 56}, {15, 56}, {3, 13}, {16, 13}, {-24, 65}}},
    {6, 1, {{1, 48}, {1, 48}, {3, 2}, {3, 4}, {1, 2}, {0, 0}, {0, 0}}},
    {8, 3, {{15, 112}, {3, 112}, {8, 7}, {4, 21}, {1, 6}, {35, 32}, {-7, 32}}},
    {12, 4, {{25, 231}, {4, 231}, {87, 77}, {12, 77}, {4, 29}, {275, 261}, {-44, 261}}},
    {16, 4, {{11, 180}, {1, 90}, {52, 45}, {8, 45}, {2, 13}, {55, 52}, {-5, 26}}},
    {64, 8, {{37, 2376}, {1, 594}, {328, 297}, {32, 297}, {4, 41}, {333, 328}, {-9, 82}}},
    {784, 64, {{11164, 1675359}, {160, 1675359}, {138719, 136764}, {490, 34191}, {40, 2831},
               {971268, 971033}, {-13920, 971033}}},
};
#define N_TABLE ((int)(sizeof k_table / sizeof k_table[0]))
static const char *const k_names[7] = {"c1", "c2", "a", "rho", "rho/a", "A1", "A3"};

static void exact_fields(const sbo_haar_consts_exact *e, sbo_rational out[7]) {
    out[0] = e->c1; out[1] = e->c2; out[2] = e->a; out[3] = e->rho; out[4] = e->rho_over_a;
    out[5] = e->A1; out[6] = e->A3;
}

static void double_fields(const sbo_haar_consts *c, double out[7]) {
    out[0] = c->c1; out[1] = c->c2; out[2] = c->a; out[3] = c->rho; out[4] = c->rho_over_a;
    out[5] = c->A1; out[6] = c->A3;
}

// --- exact-arithmetic helpers (abort on overflow: the table sizes are far from int64 limits) --------
static sbo_rational Q(int64_t n, int64_t d) { return sbo_rational_make(n, d); }
static sbo_rational add(sbo_rational a, sbo_rational b) { sbo_rational o; if (sbo_rational_add(a, b, &o)) abort(); return o; }
static sbo_rational sub(sbo_rational a, sbo_rational b) { sbo_rational o; if (sbo_rational_sub(a, b, &o)) abort(); return o; }
static sbo_rational mul(sbo_rational a, sbo_rational b) { sbo_rational o; if (sbo_rational_mul(a, b, &o)) abort(); return o; }
static sbo_rational dvd(sbo_rational a, sbo_rational b) { sbo_rational o; if (sbo_rational_div(a, b, &o)) abort(); return o; }

typedef struct { const char *what; sbo_rational lhs, rhs; } ident;

/* The §4 identities and definitions, in exact arithmetic. Returns the number that fail. */
static int identities(int m, int r, const sbo_haar_consts_exact *e, char *first_bad, size_t n) {
    sbo_rational M = Q(m, 1), R = Q(r, 1), one = Q(1, 1), two = Q(2, 1);
    sbo_rational mr2 = mul(Q(m, r), Q(m, r)), rm2 = mul(Q(r, m), Q(r, m));
    sbo_rational s = add(e->c1, e->c2), d = sub(e->c1, e->c2);
    ident eq[12];
    int k = 0;
    eq[k++] = (ident){"c1 + (m+1) c2 = r/m", add(e->c1, mul(add(M, one), e->c2)), Q(r, m)};
    eq[k++] = (ident){"m^2 c1 + 2m c2 = r^2", add(mul(mul(M, M), e->c1), mul(mul(two, M), e->c2)), mul(R, R)};
    eq[k++] = (ident){"c1 + 2 c2 = r(r+2)/(m(m+2))", add(e->c1, mul(two, e->c2)), Q((int64_t)r * (r + 2), (int64_t)m * (m + 2))};
    eq[k++] = (ident){"c1 - c2 = r(r-1)/(m(m-1))", d, Q((int64_t)r * (r - 1), (int64_t)m * (m - 1))};
    eq[k++] = (ident){"a = (m/r)^2 (c1+c2)", e->a, mul(mr2, s)};
    eq[k++] = (ident){"rho = (m/r)^2 c2", e->rho, mul(mr2, e->c2)};
    eq[k++] = (ident){"rho/a = c2/(c1+c2)", e->rho_over_a, dvd(e->c2, s)};
    eq[k++] = (ident){"(m/r)^2 c1 = 1 - 2 rho/m", mul(mr2, e->c1), sub(one, dvd(mul(two, e->rho), M))};
    eq[k++] = (ident){"a - 1 = rho (m-2)/m", sub(e->a, one), mul(e->rho, Q(m - 2, m))};
    eq[k++] = (ident){"rho = m kappa", e->rho, mul(M, Q(m - r, (int64_t)r * (m - 1) * (m + 2)))};
    if (e->has_A) {
        eq[k++] = (ident){"A1 = (r/m)^2 c1 / ((c1-c2)(c1+c2))", e->A1, dvd(mul(rm2, e->c1), mul(d, s))};
        eq[k++] = (ident){"A3 = -(r/m)^2 c2 / ((c1-c2)(c1+c2))", e->A3, dvd(mul(Q(-1, 1), mul(rm2, e->c2)), mul(d, s))};
    }
    int bad = 0;
    for (int i = 0; i < k; i++)
        if (!sbo_rational_eq(eq[i].lhs, eq[i].rhs)) {
            if (!bad) snprintf(first_bad, n, "%s", eq[i].what);
            bad++;
        }
    return bad;
}

// --- the Haar sampler ----------------------------------------------------------------------------
/* Over ndraw draws: max |P^T P - I|, max |lower part of R = P^T G| / max|G|, min diag R / max|G|. */
static void sampler_stats(int version, int m, int r, int ndraw, uint64_t seed, double *orth, double *lower,
                          double *mindiag) {
    long wsz = sbo_haar_work_size_v(version, m, r);
    double *P = malloc(sizeof(double) * (size_t)m * r), *G = malloc(sizeof(double) * (size_t)m * r);
    double *W = malloc(sizeof(double) * (size_t)wsz);
    if (!P || !G || !W) { fprintf(stderr, "tc1: out of memory\n"); exit(2); }
    *orth = 0.0; *lower = 0.0; *mindiag = INFINITY;
    for (int k = 0; k < ndraw; k++) {
        sbo_stream s, s_copy;
        sbo_stream_init(&s, seed, SBO_RNG_TEST, (uint32_t)(m * 1000 + r), (uint64_t)k);
        s_copy = s;                                 /* the same G the sampler draws (§3.2 step 1) */
        sbo_haar_sample_v(version, &s, m, r, P, W);
        if (version == SBO_HAAR_V1) sbo_stream_gaussian_fill(&s_copy, G, (long)m * r);
        else sbo_stream_gaussian_fill_v2(&s_copy, G, (long)m * r);
        double gmax = 0.0;
        for (long i = 0; i < (long)m * r; i++) gmax = fmax(gmax, fabs(G[i]));
        for (int a = 0; a < r; a++)
            for (int b = 0; b < r; b++) {
                double pp = 0.0, pg = 0.0;
                for (int i = 0; i < m; i++) {
                    pp += P[(long)i * r + a] * P[(long)i * r + b];
                    pg += P[(long)i * r + a] * G[(long)i * r + b];
                }
                *orth = fmax(*orth, fabs(pp - (a == b ? 1.0 : 0.0)));
                if (a > b) *lower = fmax(*lower, fabs(pg) / gmax);
                if (a == b) *mindiag = fmin(*mindiag, pg / gmax);
            }
    }
    free(P); free(G); free(W);
}

int main(int argc, char **argv) {
    sbo_tc_args args;
    sbo_tc_parse(argc, argv, "tc1_haar_constants",
                 "TC-1: Haar sampler, exact §4 constants, §3.1 small-block rule, §6.6 variance factors", &args);
    sbo_tc_report rep;
    sbo_tc_report_begin(&rep, "TC-1", &args, argc, argv);
    uint64_t seed = args.seed_given ? args.seed : TC1_SEED;
    char buf[7][48], what[256];

    // --- 1. sampler (§3.2) ---
    static const int shapes[][2] = {{3, 2}, {5, 2}, {6, 1}, {8, 3}, {16, 4}, {64, 8}, {784, 64}, {784, 392}, {4, 4}};
    int ndraw = args.quick ? 20 : 200;
    sbo_tc_note(&rep, "Haar sampler (§3.2), seed 0x%llx:", (unsigned long long)seed);
    sbo_tc_note(&rep, "  %-14s %14s %18s %18s", "sampler (m,r)", "max|P'P - I|", "max|tril(P'G)|/|G|", "min diag(P'G)/|G|");
    /* version 2 (algo.haar = 2, the default: CholeskyQR2 where m r^2 >= 200000) and version 1 (Householder) */
    double worst_orth = 0.0, worst_lower = 0.0, worst_diag = INFINITY;
    for (size_t i = 0; i < 2 * (sizeof shapes / sizeof shapes[0]); i++) {
        int version = i < sizeof shapes / sizeof shapes[0] ? SBO_HAAR_V2 : SBO_HAAR_V1;
        int m = shapes[i % (sizeof shapes / sizeof shapes[0])][0], r = shapes[i % (sizeof shapes / sizeof shapes[0])][1];
        double o, lo, md;
        /* The O(m r^2) Gram checks dominate at m = 784; a few draws there suffice for rounding-level checks. */
        int nd = m >= 784 ? (args.quick ? 2 : 5) : ndraw;
        sampler_stats(version, m, r, nd, seed, &o, &lo, &md);
        char sh[24];
        snprintf(sh, sizeof sh, "v%d (%d,%d)", version, m, r);
        sbo_tc_note(&rep, "  %-14s %14.3g %18.3g %18.3g  (%d draws)", sh, o, lo, md, nd);
        worst_orth = fmax(worst_orth, o);
        worst_lower = fmax(worst_lower, lo);
        worst_diag = fmin(worst_diag, md);
    }
    sbo_tc_check(&rep, worst_orth < 1e-12, "sampler: max|P^T P - I| over all shapes", worst_orth, "<", 1e-12);
    sbo_tc_check(&rep, worst_lower < 1e-12, "sampler: P^T G is upper triangular (P is the Q factor of G)", worst_lower, "<", 1e-12);
    sbo_tc_check(&rep, worst_diag > 0.0, "sampler: sign fix, min diag(P^T G)/max|G| (R has a positive diagonal)", worst_diag, ">", 0.0);

    // --- 2. exact constants against the §4 table, doubles against the rationals, identities ---
    sbo_tc_note(&rep, "§4 table, exact (computed by sbo_haar_consts_exact_compute; every entry equal to the typed-in table):");
    sbo_tc_note(&rep, "  %-9s %-15s %-15s %-15s %-11s %-9s %-15s %-15s", "(m,r)", k_names[0], k_names[1], k_names[2],
                k_names[3], k_names[4], k_names[5], k_names[6]);
    for (int t = 0; t < N_TABLE; t++) {
        const table_row *row = &k_table[t];
        sbo_haar_consts_exact e;
        int rc = sbo_haar_consts_exact_compute(row->m, row->r, &e);
        sbo_rational got[7];
        exact_fields(&e, got);
        int mismatches = rc != 0 ? 7 : 0;
        if (rc == 0) {
            for (int j = 0; j < 7; j++) {
                int na = row->v[j][1] == 0;
                if (na) {
                    if (e.has_A) mismatches++;       /* the table says n/a (r = 1): the code must agree */
                    snprintf(buf[j], sizeof buf[j], "n/a");
                } else {
                    if (!sbo_rational_eq(got[j], sbo_rational_make(row->v[j][0], row->v[j][1]))) mismatches++;
                    sbo_rational_str(got[j], buf[j], sizeof buf[j]);
                }
            }
        }
        char sh[16];
        snprintf(sh, sizeof sh, "(%d,%d)", row->m, row->r);
        sbo_tc_note(&rep, "  %-9s %-15s %-15s %-15s %-11s %-9s %-15s %-15s", sh, buf[0], buf[1], buf[2], buf[3], buf[4],
                    buf[5], buf[6]);
        snprintf(what, sizeof what, "%s exact c1, c2, a, rho, rho/a, A1, A3 equal the §4 table (mismatches)", sh);
        sbo_tc_check(&rep, mismatches == 0, what, mismatches, "==", 0);

        /* double constants (closed forms in double) against the double value of the rationals */
        sbo_haar_consts c;
        sbo_haar_consts_compute(row->m, row->r, &c);
        double dv[7];
        double_fields(&c, dv);
        double worst = 0.0;
        int nan_ok = 1;
        for (int j = 0; j < 7; j++) {
            if (row->v[j][1] == 0) { nan_ok &= isnan(dv[j]); continue; }   /* A1, A3 are NAN for r = 1 < m */
            double ref = (double)row->v[j][0] / (double)row->v[j][1];
            worst = fmax(worst, fabs(dv[j] - ref) / fabs(ref));
        }
        snprintf(what, sizeof what, "%s double constants vs rationals, max relative error%s", sh,
                 row->r == 1 ? " (A1, A3 = NAN for r = 1)" : "");
        sbo_tc_check(&rep, worst < 1e-14 && nan_ok, what, worst, "<", 1e-14);

        char first_bad[96] = "";
        int bad = identities(row->m, row->r, &e, first_bad, sizeof first_bad);
        snprintf(what, sizeof what, "%s §4 identities and definitions hold exactly (failures%s%s)", sh,
                 bad ? "; first: " : "", first_bad);
        sbo_tc_check(&rep, bad == 0, what, bad, "==", 0);
    }
    {
        /* The (784,64) decimals of §4, as printed (illustration; rounded to the digits shown). */
        sbo_haar_consts c;
        sbo_haar_consts_compute(784, 64, &c);
        sbo_tc_note(&rep, "(784,64) in double: c1 %.8g, c2 %.8g, a %.8g, rho %.8g, rho/a %.8g, A1 %.8g, A3 %.8g, kappa %.8g",
                    c.c1, c.c2, c.a, c.rho, c.rho_over_a, c.A1, c.A3, c.kappa);
    }

    // --- 3. §3.1 small-block rule ---
    static const int small[][2] = {{1, 1}, {2, 2}, {3, 5}, {784, 784}};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        int m = small[i][0], r = small[i][1];
        sbo_haar_consts c;
        sbo_haar_consts_compute(m, r, &c);
        double dv[7];
        double_fields(&c, dv);
        int ok = c.full == 1 && c.r == m && c.c1 == 1.0 && c.c2 == 0.0 && c.a == 1.0 && c.rho == 0.0 &&
                 c.rho_over_a == 0.0 && c.A1 == 1.0 && c.A3 == 0.0 && c.kappa == 0.0;
        for (int j = 0; j < 7; j++) ok &= !isnan(dv[j]);
        sbo_haar_consts_exact e;
        int ok_exact = sbo_haar_consts_exact_compute(m, r, &e) == 0 && e.has_A && sbo_rational_eq(e.c1, Q(1, 1)) &&
                       sbo_rational_eq(e.c2, Q(0, 1)) && sbo_rational_eq(e.a, Q(1, 1)) &&
                       sbo_rational_eq(e.rho, Q(0, 1)) && sbo_rational_eq(e.A1, Q(1, 1)) && sbo_rational_eq(e.A3, Q(0, 1));
        ok_exact &= sbo_variance_VI(m, 3, r) == 0.0 && sbo_variance_VI_gen(m, 3, r) == 0.0;
        snprintf(what, sizeof what, "(%d,%d) small-block rule: full, c1=1 c2=0 a=1 rho=0 A1=1 A3=0, no NaN, V = 0", m, r);
        sbo_tc_check(&rep, ok && ok_exact, what, ok && ok_exact, "==", 1);
    }

    // --- 4. BROS-general rejects a projected rank-1 block (§3.1); naive and basic accept it ---
    {
        sbo_layout lay;
        memset(&lay, 0, sizeof lay);
        lay.L = 2;
        snprintf(lay.block[0].name, SBO_NAME_LEN, "fc1");
        lay.block[0].m = 784; lay.block[0].n = 10; lay.block[0].row_symmetric = 1;
        snprintf(lay.block[1].name, SBO_NAME_LEN, "bias");
        lay.block[1].m = 1; lay.block[1].n = 10; lay.block[1].row_symmetric = 1;
        sbo_layout_finish(&lay, NULL);
        int rank[SBO_MAX_BLOCKS] = {1, 1};
        char err[512] = "";
        sbo_zdir_plan plan;
        int rc = sbo_zdir_plan_init(&plan, SBO_ZDIR_GENERAL, &lay, rank, err, sizeof err);
        int named = strstr(err, "'fc1'") != NULL && strstr(err, "bias") == NULL;
        sbo_tc_check(&rep, rc != 0 && named, "BROS-general with a projected rank-1 block (784,10,1) is rejected, naming it",
                     rc != 0 && named, "==", 1);
        if (rc != 0) sbo_tc_note(&rep, "  message: %s", err);
        char e2[512];
        int ok_basic = sbo_zdir_plan_init(&plan, SBO_ZDIR_BASIC, &lay, rank, e2, sizeof e2) == 0;
        int ok_naive = sbo_zdir_plan_init(&plan, SBO_ZDIR_NAIVE, &lay, rank, e2, sizeof e2) == 0;
        sbo_tc_check(&rep, ok_basic && ok_naive, "naive and BROS-basic accept r = 1 (the 1 x 10 block is full by §3.1)",
                     ok_basic && ok_naive, "==", 1);
    }

    // --- 5. §6.6 and §3.1 example values of V_I, V_I^gen (to the digits printed there) ---
    struct { int m, n, r, gen; double ref, half_ulp; const char *src; } vex[] = {
        {16, 2, 4, 0, 42.0, 0.05, "§6.6"},   {32, 2, 4, 0, 343.7, 0.05, "§6.6"}, {12, 3, 4, 0, 19.6, 0.05, "§6.6"},
        {784, 10, 64, 0, 2745, 0.5, "§6.6"}, {784, 10, 196, 0, 127.8, 0.05, "§6.6"},
        {784, 10, 392, 0, 12.94, 0.005, "§6.6"}, {10, 784, 5, 0, 585, 0.5, "§3.1"},
        {16, 2, 4, 1, 49.1, 0.05, "§6.6"},   {32, 2, 4, 1, 424.1, 0.05, "§6.6"}, {12, 3, 4, 1, 25.7, 0.05, "§6.6"},
    };
    sbo_tc_note(&rep, "variance factors for H = I (§6.6), exact bracket evaluated in double:");
    for (size_t i = 0; i < sizeof vex / sizeof vex[0]; i++) {
        double v = vex[i].gen ? sbo_variance_VI_gen(vex[i].m, vex[i].n, vex[i].r) : sbo_variance_VI(vex[i].m, vex[i].n, vex[i].r);
        snprintf(what, sizeof what, "%s(%d,%d,%d) = %.6g vs %s value %g, |diff|", vex[i].gen ? "V_I^gen" : "V_I", vex[i].m,
                 vex[i].n, vex[i].r, v, vex[i].src, vex[i].ref);
        double diff = fabs(v - vex[i].ref);
        sbo_tc_check(&rep, diff <= vex[i].half_ulp, what, diff, "<=", vex[i].half_ulp);
    }
    {
        double v = sbo_variance_VI_gen(6, 2, 1);
        sbo_tc_check(&rep, isnan(v), "V_I^gen(6,2,1) is NAN (BROS-general undefined for r = 1)", isnan(v), "==", 1);
    }
    if (rep.h5) {
        /* The exact table as computed, for the record: rows (m, r, c1..A3 as doubles of the rationals). */
        double tab[N_TABLE * 9];
        for (int t = 0; t < N_TABLE; t++) {
            sbo_haar_consts_exact e;
            sbo_haar_consts_exact_compute(k_table[t].m, k_table[t].r, &e);
            sbo_rational f[7];
            exact_fields(&e, f);
            tab[t * 9] = k_table[t].m;
            tab[t * 9 + 1] = k_table[t].r;
            for (int j = 0; j < 7; j++) tab[t * 9 + 2 + j] = (j >= 5 && !e.has_A) ? NAN : sbo_rational_to_double(f[j]);
        }
        sbo_h5_write_matrix(rep.h5, "/tc1/constants", tab, N_TABLE, 9);
        sbo_h5_attr_str(rep.h5, "/tc1/constants", "columns", "m,r,c1,c2,a,rho,rho_over_a,A1,A3");
    }
    return sbo_tc_report_end(&rep);
}
