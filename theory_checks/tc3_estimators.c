/* theory_checks/tc3_estimators.c: TC-3 (ALGORITHMS.md §8): the Hessian-action estimators on explicit
 * operators, the §6.5 cases. Every estimate is the production sbo_zdir with F = 0 (so the direction is
 * Ĥ[Z]) on the production draws sbo_zdir_draw(seed, k): naive, BROS-basic (with D1 when L > 1),
 * BROS-general, and the blockwise-without-D1 pitfall (§6.4). The means are compared with H[Z] and with the
 * closed-form predicted means of §8 TC-3; POWER uses the fixed thresholds of §8 / §8.2 and also prints the
 * §8.1 noncentrality. Instances (H, Z) come from fixed seeds; --seed changes only the Monte Carlo draws.
 * Run: build/tc3_estimators [--quick] [--out FILE.h5] [--threads N]   (full mode about a minute on 2 cores) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "theory_checks/tc_common.h"    /* harness: args, Welford, report */
#include "theory_checks/tc_ops.h"  /* explicit operators, predicted means, the draw loop */
#include "algorithms/zdir.h"            /* the function under test */
#include "runners/sbo_h5.h"             /* per-case numbers under /tc3/<case> */

#define N_EST 4
static const int est_variant[N_EST] = {SBO_ZDIR_NAIVE, SBO_ZDIR_BASIC, SBO_ZDIR_GENERAL, SBO_ZDIR_BASIC_NO_D1};
static const char *est_key[N_EST] = {"naive", "basic", "general", "basic_no_d1"};
static const char *est_label[N_EST] = {"naive", "BROS-basic", "BROS-general", "without D1"};

typedef tc_cell cell;

#define TC3_N_CASES 7   /* the §6.5 rows: tc_cases[0..6] */

static void h5_case_arrays(sbo_h5 *f, const char *grp, const tc_case *cs) {
    double m[3], n[3], r[3];
    for (int l = 0; l < cs->L; l++) { m[l] = cs->m[l]; n[l] = cs->n[l]; r[l] = cs->r[l]; }
    sbo_h5_attr_str(f, grp, "label", cs->label);
    sbo_h5_attr_doubles(f, grp, "m", m, cs->L);
    sbo_h5_attr_doubles(f, grp, "n", n, cs->L);
    sbo_h5_attr_doubles(f, grp, "r", r, cs->L);
}

enum { TABLE_Z, TABLE_RELVAR, TABLE_LAMBDA, TABLE_TIME };

/* One row per case, one column per estimator. */
static void print_table(cell tab[][N_EST], int kind, long N) {
    printf("%-48s", "case (m,n,r)");
    for (int e = 0; e < N_EST; e++) printf(" | %-20s", est_label[e]);
    printf("\n");
    for (int ci = 0; ci < TC3_N_CASES; ci++) {
        char lab[140];
        tc_case_name(&tc_cases[ci], lab, sizeof lab);
        printf("%-48s", lab);
        for (int e = 0; e < N_EST; e++) {
            const cell *c = &tab[ci][e];
            char buf[64];
            if (!c->ran) snprintf(buf, sizeof buf, "n/a");
            else if (kind == TABLE_Z && c->unbiased) snprintf(buf, sizeof buf, "%.2f*", c->z_target);
            else if (kind == TABLE_Z) snprintf(buf, sizeof buf, "%.1f (%.2f)", c->z_target, c->z_pred);
            else if (kind == TABLE_RELVAR) snprintf(buf, sizeof buf, "%.2f", c->relvar);
            else if (kind == TABLE_LAMBDA && c->unbiased) snprintf(buf, sizeof buf, "-");
            else if (kind == TABLE_LAMBDA) snprintf(buf, sizeof buf, "%.1f (thr %.0f)", c->lambda, c->thr);
            else snprintf(buf, sizeof buf, "%.2f (%.2f us)", c->seconds, 1e6 * c->seconds / N);
            printf(" | %-20s", buf);
        }
        printf("\n");
    }
}

int main(int argc, char **argv) {
    sbo_tc_args a;
    sbo_tc_parse(argc, argv, "tc3_estimators",
                 "TC-3: naive / BROS-basic / BROS-general / without-D1 estimators of H[Z] (ALGORITHMS.md §6.5, §8)", &a);
    const uint64_t seed = a.seed_given ? a.seed : 0x7C3ULL;
    const long N = a.quick ? 200000L : 1000000L;
    const double thr_naive = 50.0, thr_basic = a.quick ? 12.0 : 20.0, thr_nod1 = a.quick ? 12.0 : 20.0;

    sbo_tc_report r;
    sbo_tc_report_begin(&r, "TC-3", &a, argc, argv);
    sbo_tc_note(&r, "%s mode: N = %ld draws per estimator, Monte Carlo seed %llu, instance seed 0x%llx (fixed), "
                "%d threads, chunks of %ld draws", a.quick ? "quick" : "full", N, (unsigned long long)seed,
                (unsigned long long)TC_INSTANCE_SEED, omp_get_max_threads(), TC_CHUNK);
    sbo_tc_note(&r, "POWER thresholds (max|z| vs H[Z]): naive > %.0f, BROS-basic on generic H > %.0f, "
                "without D1 > %.0f (%s)", thr_naive, thr_basic, thr_nod1, a.quick ? "§8.2 quick" : "§8 full");
    if (r.h5) {
        sbo_h5_attr_long(r.h5, "/tc3", "N", N);
        sbo_h5_attr_long(r.h5, "/tc3", "mc_seed", (long)seed);
        sbo_h5_attr_long(r.h5, "/tc3", "instance_seed", (long)TC_INSTANCE_SEED);
    }
    double t_all = omp_get_wtime();

    /* --- §3.1: BROS-general must reject a projected rank-1 block; naive and basic accept it --- */
    {
        const tc_case *cs = &tc_cases[4];   /* (6,2,1) */
        sbo_layout lay;
        tc_layout_make(&lay, cs->L, cs->m, cs->n);
        sbo_zdir_plan p;
        char err[256] = "";
        int rc = sbo_zdir_plan_init(&p, SBO_ZDIR_GENERAL, &lay, cs->r, err, sizeof err);
        int named = strstr(err, lay.block[0].name) != NULL;
        sbo_tc_check(&r, rc != 0 && named, "plan_init rejects BROS-general with a projected rank-1 block (6,2,1), "
                     "message names the block", rc != 0 && named ? 1.0 : 0.0, "==", 1.0);
        if (rc != 0) sbo_tc_note(&r, "  message: %s", err);
        char err2[256] = "";
        int ok_naive = sbo_zdir_plan_init(&p, SBO_ZDIR_NAIVE, &lay, cs->r, err2, sizeof err2) == 0;
        int ok_basic = sbo_zdir_plan_init(&p, SBO_ZDIR_BASIC, &lay, cs->r, err2, sizeof err2) == 0;
        sbo_tc_check(&r, ok_naive && ok_basic, "plan_init accepts naive and BROS-basic with r = 1 (6,2,1)",
                     (double)(ok_naive + ok_basic), "==", 2.0);
    }

    cell tab[TC3_N_CASES][N_EST];
    memset(tab, 0, sizeof tab);
    for (int ci = 0; ci < TC3_N_CASES; ci++) {
        const tc_case *cs = &tc_cases[ci];
        tc_op op;
        double *Z;
        tc_case_instance(cs, ci, &op, &Z, NULL);
        const long D = op.D;
        double *HZ = malloc(sizeof(double) * (size_t)D), *pred = malloc(sizeof(double) * (size_t)D);
        tc_apply(&op, Z, HZ);
        const double nHZ2 = sbo_vec_dot(D, HZ, HZ);
        double asym = 0;
        for (int l = 0; l < cs->L; l++) {
            double s = tc_row_asymmetry(&op, l);
            if (s > asym) asym = s;
            op.lay.block[l].row_symmetric = s < 1e-12;
        }
        const int rowsym = asym < 1e-12;
        char name[140];
        tc_case_name(cs, name, sizeof name);
        sbo_tc_note(&r, "case %s: D = %ld, max row asymmetry |H - H^Γ|/|H| = %.3g (%s)", name, D,
                    asym, rowsym ? "row-symmetric" : "H^Γ != H");
        char grp[96];
        snprintf(grp, sizeof grp, "/tc3/%s", cs->key);
        if (r.h5) {
            h5_case_arrays(r.h5, grp, cs);
            sbo_h5_attr_double(r.h5, grp, "row_asymmetry", asym);
            char path[160];
            snprintf(path, sizeof path, "%s/H", grp);  sbo_h5_write_matrix(r.h5, path, op.H, D, D);
            snprintf(path, sizeof path, "%s/Z", grp);  sbo_h5_write_matrix(r.h5, path, Z, D, 1);
            snprintf(path, sizeof path, "%s/HZ", grp); sbo_h5_write_matrix(r.h5, path, HZ, D, 1);
        }

        for (int e = 0; e < N_EST; e++) {
            int v = est_variant[e];
            if (v == SBO_ZDIR_GENERAL && !tc_case_general_ok(cs)) continue;   /* n/a at r = 1 (§3.1) */
            if (v == SBO_ZDIR_BASIC_NO_D1 && cs->L == 1) continue;            /* identical to basic at L = 1 */
            sbo_zdir_plan p;
            char what[256];
            tc_mc_result res;
            snprintf(what, sizeof what, "%s %s", name, est_label[e]);
            cell *c = &tab[ci][e];
            if (tc_mc_variant(&r, what, &op, cs->r, v, rowsym, Z, NULL, HZ, seed + 16ULL * (uint64_t)ci + (uint64_t)v, N,
                              &p, &res, pred, c))
                continue;
            c->relvar = tc_mc_total_var(&res.mean) / nHZ2;
            if (c->unbiased) {
                snprintf(what, sizeof what, "%s %s: max|z| vs H[Z]", name, est_label[e]);
                sbo_tc_check(&r, c->z_target < 5.0, what, c->z_target, "<", 5.0);
                if (!(c->z_target < 5.0)) tc_note_largest_z(&r, &op, &res.mean, HZ);
            } else {
                snprintf(what, sizeof what, "%s %s: max|z| vs predicted mean", name, est_label[e]);
                sbo_tc_check(&r, c->z_pred < 5.0, what, c->z_pred, "<", 5.0);
                if (!(c->z_pred < 5.0)) tc_note_largest_z(&r, &op, &res.mean, pred);
                c->thr = v == SBO_ZDIR_NAIVE ? thr_naive : v == SBO_ZDIR_BASIC ? thr_basic : thr_nod1;
                snprintf(what, sizeof what, "%s %s: POWER max|z| vs H[Z]", name, est_label[e]);
                sbo_tc_check(&r, c->z_target > c->thr, what, c->z_target, ">", c->thr);
                sbo_tc_note(&r, "  §8.1 noncentrality lambda = %.1f (informative if >= 10: %s; observed >= lambda/2: %s)",
                            c->lambda, c->lambda >= 10 ? "yes" : "NO", c->z_target >= c->lambda / 2 ? "yes" : "NO");
                if (v == SBO_ZDIR_NAIVE && cs->gen == TC_GEN_KRON) {
                    /* §5.2: on I_m ⊗ S the naive mean is (m/r) H[Z], a pure rescaling (§6.5: ratio m/r - 1) */
                    double num = 0;
                    for (long i = 0; i < D; i++) num += (res.mean.mean[i] - HZ[i]) * HZ[i];
                    sbo_tc_note(&r, "  naive bias ratio <mean - H[Z], H[Z]>/||H[Z]||^2 = %.4f (m/r - 1 = %.4f)",
                                num / nHZ2, (double)cs->m[0] / cs->r[0] - 1.0);
                }
            }
            if (r.h5) {
                char sub[160], path[200];
                snprintf(sub, sizeof sub, "%s/%s", grp, est_key[e]);
                sbo_h5_attr_double(r.h5, sub, "max_z_vs_HZ", c->z_target);
                sbo_h5_attr_double(r.h5, sub, "max_z_vs_predicted", c->z_pred);
                sbo_h5_attr_double(r.h5, sub, "noncentrality", c->lambda);
                sbo_h5_attr_double(r.h5, sub, "relative_variance", c->relvar);
                sbo_h5_attr_double(r.h5, sub, "seconds", c->seconds);
                sbo_h5_attr_long(r.h5, sub, "hvp_calls", res.hvp_calls);
                sbo_h5_attr_long(r.h5, sub, "expected_unbiased", c->unbiased);
                double *se = malloc(sizeof(double) * (size_t)D);
                for (long i = 0; i < D; i++) se[i] = sbo_mc_se(&res.mean, (int)i);
                snprintf(path, sizeof path, "%s/mean", sub);      sbo_h5_write_matrix(r.h5, path, res.mean.mean, D, 1);
                snprintf(path, sizeof path, "%s/se", sub);        sbo_h5_write_matrix(r.h5, path, se, D, 1);
                snprintf(path, sizeof path, "%s/predicted", sub); sbo_h5_write_matrix(r.h5, path, pred, D, 1);
                free(se);
            }
            tc_mc_result_free(&res);
        }
        free(HZ); free(pred); free(Z);
        tc_op_free(&op);
    }
    double t_tot = omp_get_wtime() - t_all;

    /* --- the §6.5-style tables ---------------------------------------------------------------- */
    printf("\nTC-3 table (N = %ld): max|z| vs H[Z]  (max|z| vs predicted mean); * = expected unbiased\n", N);
    print_table(tab, TABLE_Z, N);
    printf("\nRelative variance sum_i Var(d_i)/||H[Z]||^2 (around each estimator's own mean):\n");
    print_table(tab, TABLE_RELVAR, N);
    printf("\n§8.1 noncentrality lambda = max_i |predicted_i - H[Z]_i| / SE_i for the POWER rows:\n");
    print_table(tab, TABLE_LAMBDA, N);
    printf("\nWall time per estimator, s (wall microseconds per draw), %d threads:\n", omp_get_max_threads());
    print_table(tab, TABLE_TIME, N);
    printf("total %.1f s\n\n", t_tot);
    fflush(stdout);
    sbo_tc_note(&r, "total Monte Carlo time %.1f s (%d threads)", t_tot, omp_get_max_threads());
    if (r.h5) sbo_h5_attr_double(r.h5, "/tc3", "seconds", t_tot);
    return sbo_tc_report_end(&r);
}
