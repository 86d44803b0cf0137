/* theory_checks/tc7_rate.c: TC-7 of ALGORITHMS.md §8, the empirical O(eps^-2) rate on the synthetic quadratic with
 * closed-form Phi (task `quadratic`, kron structure, m = 12, n = 3, d = 5, p = 6, lambda = 0.5, sigma = 0.3).
 * G(K) = (1/K) sum_{k<K} ||grad Phi(x_k)||^2, averaged over seeds, for SOBA, MA-SOBA, BROS (r = 4) and naive.
 * Convergent methods: log-log slope in [-0.65, -0.40] and sqrt(K) G(K) flat; naive: a plateau predicted in closed
 * form (sbo_quadratic_naive_point).
 *   build/tc7_rate [--quick] [--out results/tc7.h5]
 * Full: 32 seeds, K in {1e3, 3e3, 1e4, 3e4, 1e5}. Quick: 16 seeds, K in {1e3, 3e3, 1e4} (§8.2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tasks/quadratic.h"           /* closed-form grad Phi, naive plateau */
#include "theory_checks/tc_common.h"   /* harness */
#include "theory_checks/tc_runs.h"     /* task + algorithm from settings */

#define RANK 4

typedef struct { const char *algo, *label, *name; int projected; } method;
static const method methods[] = {{"soba", "SOBA", "soba", 0},
                                 {"ma_soba", "MA-SOBA", "ma_soba", 0},
                                 {"bros", "BROS (r = 4)", "bros", 1},
                                 {"naive_projected", "naive projected (r = 4)", "naive", 1}};

/* §8 TC-7 settings for one method and horizon K. */
static void settings_for(const method *me, long K, char buf[16][64], const char *out[17]) {
    double rk = sqrt((double)K);
    int i = 0;
    snprintf(buf[i++], 64, "task.structure=kron");
    snprintf(buf[i++], 64, "task.blocks=12x3");
    snprintf(buf[i++], 64, "task.d=5");
    snprintf(buf[i++], 64, "task.p=6");
    snprintf(buf[i++], 64, "task.lambda=0.5");
    snprintf(buf[i++], 64, "task.sigma=0.3");
    snprintf(buf[i++], 64, "task.instance_seed=1");
    snprintf(buf[i++], 64, "algo.alpha=%.17g", 2 / rk);
    snprintf(buf[i++], 64, "algo.beta=%.17g", 4 / rk);       /* projected: times r/m (beta_scaling) */
    snprintf(buf[i++], 64, "algo.gamma=%.17g", 4 / rk);      /* projected: times (r/m)^3 (gamma_scaling=cubic) */
    snprintf(buf[i++], 64, "algo.theta=%.17g", fmin(1.0, 10 / rk));
    snprintf(buf[i++], 64, "algo.R=50");
    snprintf(buf[i++], 64, "algo.rank=%d", RANK);
    snprintf(buf[i++], 64, "algo.memory_rule=off");
    snprintf(buf[i++], 64, "algo.gamma_scaling=%s", me->projected ? "cubic" : "none");
    snprintf(buf[i++], 64, "algo.cross_term=full");
    for (int j = 0; j < i; j++) out[j] = buf[j];
    out[i] = NULL;
}

/* least-squares slope of log G against log K over entries [lo, hi) */
static double loglog_slope(const long *K, const double *G, int lo, int hi) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = hi - lo;
    for (int i = lo; i < hi; i++) {
        double x = log((double)K[i]), y = log(G[i]);
        sx += x; sy += y; sxx += x * x; sxy += x * y;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

int main(int argc, char **argv) {
    sbo_tc_args args;
    sbo_tc_parse(argc, argv, "tc7_rate", "TC-7: empirical O(eps^-2) rate on the closed-form quadratic (§8)", &args);
    static const long K_full[] = {1000, 3000, 10000, 30000, 100000};
    int nK = args.quick ? 3 : 5, seeds = args.quick ? 16 : 32;
    const long *Ks = K_full;
    uint64_t seed0 = args.seed_given ? args.seed : 7001;
    sbo_tc_report rep;
    sbo_tc_report_begin(&rep, "TC-7", &args, argc, argv);

    /* the fixed instance and naive's closed-form plateau */
    double plateau = NAN, xbar[64];
    {
        char buf[16][64];
        const char *set[17];
        settings_for(&methods[3], 1000, buf, set);
        tc_run r = tc_run_create("quadratic", "naive_projected", 1, set);
        int rank[SBO_MAX_BLOCKS] = {RANK};
        if (sbo_quadratic_naive_point(r.task, rank, xbar, &plateau)) {
            fprintf(stderr, "TC-7: cannot compute the naive plateau\n");
            return 2;
        }
        sbo_tc_note(&rep, "instance: m = 12, n = 3, d = 5, p = 6, lambda = 0.5, sigma = 0.3, mu = %.3f; "
                    "naive predicted plateau ||grad Phi(xbar)||^2 = %.6f", r.task->mu, plateau);
        tc_run_destroy(&r);
    }
    if (rep.h5) {
        sbo_h5_attr_double(rep.h5, "/", "plateau", plateau);
        sbo_h5_attr_long(rep.h5, "/", "m", 12);
        sbo_h5_attr_long(rep.h5, "/", "n", 3);
        sbo_h5_attr_long(rep.h5, "/", "r", RANK);
        sbo_h5_attr_long(rep.h5, "/", "d", 5);
        sbo_h5_attr_long(rep.h5, "/", "seeds", seeds);
    }

    printf("  %-26s", "G(K), mean over seeds");
    for (int i = 0; i < nK; i++) printf(" %11ld", Ks[i]);
    printf(" %8s\n", "slope");
    double Gmean[4][5], slope[4];
    for (int mi = 0; mi < 4; mi++) {
        double *G = calloc((size_t)nK * seeds, sizeof(double));
        int njobs = nK * seeds;
#pragma omp parallel for schedule(dynamic, 1)
        for (int job = 0; job < njobs; job++) {
            int ki = nK - 1 - job / seeds, s = job % seeds;      /* largest K first: load balance */
            long K = Ks[ki];
            char buf[16][64];
            const char *set[17];
            settings_for(&methods[mi], K, buf, set);
            tc_run r = tc_run_create("quadratic", methods[mi].algo, seed0 + (uint64_t)s, set);
            double acc = 0;
            for (long k = 0; k < K; k++) {
                acc += sbo_quadratic_grad_phi_sq(r.task, r.algo->x);     /* ||grad Phi(x_k)||^2, k < K */
                if (r.algo->type->step(r.algo, k)) { acc = INFINITY; break; }
            }
            G[(size_t)ki * seeds + s] = acc / K;
            tc_run_destroy(&r);
        }
        printf("  %-26s", methods[mi].label);
        for (int i = 0; i < nK; i++) {
            double m = 0;
            for (int s = 0; s < seeds; s++) m += G[(size_t)i * seeds + s];
            Gmean[mi][i] = m / seeds;
            printf(" %11.5g", Gmean[mi][i]);
        }
        slope[mi] = loglog_slope(Ks, Gmean[mi], 0, nK);
        printf(" %8.3f\n", slope[mi]);
        if (rep.h5) {
            char grp[64], path[128];
            snprintf(grp, sizeof grp, "/tc7/%s", methods[mi].name);
            double Kd[5];
            for (int i = 0; i < nK; i++) Kd[i] = (double)Ks[i];
            snprintf(path, sizeof path, "%s/K", grp);
            sbo_h5_write_matrix(rep.h5, path, Kd, nK, 1);
            snprintf(path, sizeof path, "%s/G", grp);
            sbo_h5_write_matrix(rep.h5, path, G, nK, seeds);
            sbo_h5_attr_double(rep.h5, grp, "slope", slope[mi]);
            sbo_h5_attr_str(rep.h5, grp, "label", methods[mi].label);
            sbo_h5_attr_str(rep.h5, grp, "algorithm", methods[mi].algo);
        }
        free(G);
    }
    printf("  %-26s", "sqrt(K) G(K)");
    printf("\n");
    for (int mi = 0; mi < 4; mi++) {
        printf("  %-26s", methods[mi].label);
        for (int i = 0; i < nK; i++) printf(" %11.4g", sqrt((double)Ks[i]) * Gmean[mi][i]);
        printf("\n");
    }
    /* PASS rules (§8 TC-7 full, §8.2 quick) */
    int last = nK - 1, ref = args.quick ? 0 : 2;    /* sqrt(K) G at the largest K against 1e3 (quick) / 1e4 (full) */
    for (int mi = 0; mi < 3; mi++) {
        const char *nm = methods[mi == 2 ? 2 : mi].label;
        char what[128];
        snprintf(what, sizeof what, "%s log-log slope in [-0.65, -0.40]", nm);
        sbo_tc_check(&rep, slope[mi] >= -0.65 && slope[mi] <= -0.40, what, slope[mi], "in", -0.40);
        double ratio = sqrt((double)Ks[last]) * Gmean[mi][last] / (sqrt((double)Ks[ref]) * Gmean[mi][ref]);
        snprintf(what, sizeof what, "%s sqrt(K)G(%ld) / sqrt(K)G(%ld)", nm, Ks[last], Ks[ref]);
        sbo_tc_check(&rep, ratio <= 1.3, what, ratio, "<=", 1.3);
    }
    double ratio = Gmean[3][last] / plateau;
    double tol = args.quick ? 0.15 : 0.10;
    char what[128];
    snprintf(what, sizeof what, "naive |G(%ld)/plateau - 1|", Ks[last]);
    sbo_tc_check(&rep, fabs(ratio - 1) < tol, what, fabs(ratio - 1), "<", tol);
    double sn = args.quick ? slope[3] : loglog_slope(Ks, Gmean[3], nK - 3, nK);
    double lo = args.quick ? -0.20 : -0.10;
    snprintf(what, sizeof what, "naive slope over the last 3 K in [%.2f, 0.05]", lo);
    sbo_tc_check(&rep, sn >= lo && sn <= 0.05, what, sn, "in", 0.05);
    if (rep.h5) sbo_h5_attr_double(rep.h5, "/tc7/naive", "G_over_plateau", ratio);
    return sbo_tc_report_end(&rep);
}
