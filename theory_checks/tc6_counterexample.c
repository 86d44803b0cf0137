/* theory_checks/tc6_counterexample.c: TC-6 of ALGORITHMS.md §8, the paper's counterexample simulated with the
 * production algorithms (§5.3): naive projected stalls at x = -20/39 (grad Phi = 19/39), BROS and MA-SOBA reach
 * x* = -1. Tail averages over the last half of each run, standard errors across seeds.
 *   build/tc6_counterexample [--quick] [--out results/tc6.h5]
 * Full: 64 seeds, K = 120000, tail 60000. Quick: 16 seeds, K = 60000, tail 30000 (§8.2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "theory_checks/tc_common.h"   /* harness */
#include "theory_checks/tc_runs.h"     /* task + algorithm from settings */

#define N_POINTS 600

static const char *const settings[] = {
    /* §5.3 simulation settings, identical for the three methods: no step scaling, R = 10 (never clipped) */
    "algo.alpha=0.002", "algo.beta=0.05", "algo.gamma=0.02", "algo.theta=0.05", "algo.R=10",
    "algo.rank=2", "algo.memory_rule=off", "algo.beta_scaling=none", "algo.gamma_scaling=none",
    "algo.cross_term=full", "task.x0=2", NULL};

typedef struct { const char *algo, *label; } method;
static const method methods[] = {{"naive_projected", "naive"}, {"bros", "bros"}, {"ma_soba", "ma_soba"}};

int main(int argc, char **argv) {
    sbo_tc_args args;
    sbo_tc_parse(argc, argv, "tc6_counterexample",
                 "TC-6: the 19/39 counterexample (§5.3) simulated with naive projected, BROS and MA-SOBA", &args);
    int seeds = args.quick ? 16 : 64;
    long K = args.quick ? 60000 : 120000, tail = K / 2;
    uint64_t seed0 = args.seed_given ? args.seed : 20260522;
    sbo_tc_report rep;
    sbo_tc_report_begin(&rep, "TC-6", &args, argc, argv);
    if (rep.h5) {
        sbo_h5_attr_double(rep.h5, "/", "target_naive", -20.0 / 39.0);
        sbo_h5_attr_double(rep.h5, "/", "x_star", -1.0);
        sbo_h5_attr_long(rep.h5, "/", "K", K);
        sbo_h5_attr_long(rep.h5, "/", "tail", tail);
        sbo_h5_attr_long(rep.h5, "/", "seeds", seeds);
        sbo_h5_attr_str(rep.h5, "/", "settings", "alpha=0.002 beta=0.05 gamma=0.02 theta=0.05 R=10 r=2 x0=2 y0=z0=0 h0=0");
    }
    sbo_tc_note(&rep, "%d seeds, K = %ld, tail = last %ld iterations; alpha=0.002 beta=0.05 gamma=0.02 theta=0.05 R=10, r = 2",
                seeds, K, tail);
    long stride = K / N_POINTS;
    double xbar[3], se[3];
    printf("  %-16s %14s %12s %12s %10s\n", "method", "tail mean x", "SE", "target", "clips");
    for (int mi = 0; mi < 3; mi++) {
        double *tail_mean = calloc(seeds, sizeof(double));
        double *trace = calloc((size_t)seeds * N_POINTS, sizeof(double));
        double *iters = calloc(N_POINTS, sizeof(double));
        long clips = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : clips)
        for (int s = 0; s < seeds; s++) {
            tc_run r = tc_run_create("counterexample", methods[mi].algo, seed0 + (uint64_t)s, settings);
            double acc = 0;
            for (long k = 0; k < K; k++) {
                /* x_k is the iterate before step k; the tail is k in [K - tail, K) */
                if (k >= K - tail) acc += r.algo->x[0];
                if (k % stride == 0 && k / stride < N_POINTS) {
                    trace[(size_t)s * N_POINTS + k / stride] = r.algo->x[0];
                    if (s == 0) iters[k / stride] = (double)k;
                }
                if (r.algo->type->step(r.algo, k)) {
                    fprintf(stderr, "TC-6: %s diverged at iteration %ld (seed %d)\n", methods[mi].label, k, s);
                    acc = NAN;
                    break;
                }
            }
            tail_mean[s] = acc / tail;
            clips += r.algo->n_clips;
            tc_run_destroy(&r);
        }
        tc_mean_se(tail_mean, seeds, &xbar[mi], &se[mi]);
        double target = mi == 0 ? -20.0 / 39.0 : -1.0;
        printf("  %-16s %14.6f %12.6f %12.6f %10ld\n", methods[mi].label, xbar[mi], se[mi], target, clips);
        if (rep.h5) {
            char path[128], grp[64];
            snprintf(grp, sizeof grp, "/tc6/%s", methods[mi].label);
            snprintf(path, sizeof path, "%s/iteration", grp);
            sbo_h5_write_matrix(rep.h5, path, iters, N_POINTS, 1);
            snprintf(path, sizeof path, "%s/x", grp);
            sbo_h5_write_matrix(rep.h5, path, trace, seeds, N_POINTS);
            snprintf(path, sizeof path, "%s/tail_mean", grp);
            sbo_h5_write_matrix(rep.h5, path, tail_mean, seeds, 1);
            sbo_h5_attr_double(rep.h5, grp, "mean", xbar[mi]);
            sbo_h5_attr_double(rep.h5, grp, "se", se[mi]);
            sbo_h5_attr_long(rep.h5, grp, "clips", clips);
            sbo_h5_attr_str(rep.h5, grp, "label", mi == 0 ? "naive projected" : mi == 1 ? "BROS" : "MA-SOBA");
            sbo_h5_attr_str(rep.h5, grp, "algorithm", methods[mi].algo);
        }
        free(tail_mean); free(trace); free(iters);
    }
    double tol_n = fmax(5 * se[0], 2e-3), tol_b = fmax(5 * se[1], 3e-3);
    sbo_tc_check(&rep, fabs(xbar[0] + 20.0 / 39.0) <= tol_n, "naive |xbar + 20/39|", fabs(xbar[0] + 20.0 / 39.0), "<=", tol_n);
    sbo_tc_check(&rep, fabs(xbar[0] + 1) > 0.4, "naive |xbar + 1| (stalls away from x*)", fabs(xbar[0] + 1), ">", 0.4);
    sbo_tc_check(&rep, fabs(xbar[1] + 1) <= tol_b, "BROS |xbar + 1|", fabs(xbar[1] + 1), "<=", tol_b);
    sbo_tc_check(&rep, fabs(xbar[2] + 1) < 1e-6, "MA-SOBA |xbar + 1|", fabs(xbar[2] + 1), "<", 1e-6);
    sbo_tc_note(&rep, "naive: grad Phi(xbar) = xbar + 1 = %.5f (19/39 = %.5f)", xbar[0] + 1, 19.0 / 39.0);
    return sbo_tc_report_end(&rep);
}
