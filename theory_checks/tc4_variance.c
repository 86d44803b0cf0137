/* theory_checks/tc4_variance.c: TC-4 (ALGORITHMS.md §8, §6.6): with H = I, the Monte Carlo relative variance
 * E||Ĥ[Z] - Z||^2 / ||Z||^2 of the production sbo_zdir (F = 0) must match the exact V_I(m,n,r) of BROS-basic
 * (sbo_variance_VI) and, in full mode, V_I^gen of BROS-general (sbo_variance_VI_gen).
 * Tolerance: full mode within 2%; quick mode within 2% or 7 SE, whichever is larger (§8.2). The SE is that of
 * the mean of the per-draw squared errors (their sample standard deviation / sqrt N). Naive is reported
 * against (m/r)^3 (1 - r/m) around its own mean (§6.6), without a verdict.
 * Run: build/tc4_variance [--quick] [--out FILE.h5] [--threads N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "theory_checks/tc_common.h"    /* harness: args, Welford, report */
#include "theory_checks/tc_ops.h"  /* explicit operator (H = I), the draw loop */
#include "algorithms/zdir.h"            /* the function under test */
#include "core/sbo_haar.h"              /* sbo_variance_VI, sbo_variance_VI_gen */
#include "runners/sbo_h5.h"             /* per-case numbers under /tc4/<case> */

static const int tc4_shape[][3] = {{5, 3, 2}, {8, 1, 3}, {16, 2, 4}, {32, 2, 4}, {32, 2, 8}};
#define TC4_N ((int)(sizeof tc4_shape / sizeof tc4_shape[0]))
#define TC4_CASE_ID0 100   /* instance streams 100.. (disjoint from the TC-3 case ids) */

typedef struct {
    int ran;
    double V, se, ref, tol, seconds;
} cell;

int main(int argc, char **argv) {
    sbo_tc_args a;
    sbo_tc_parse(argc, argv, "tc4_variance",
                 "TC-4: relative variance of BROS-basic / BROS-general for H = I against V_I, V_I^gen (ALGORITHMS.md §6.6, §8)", &a);
    const uint64_t seed = a.seed_given ? a.seed : 0x7C4ULL;
    const long N = a.quick ? 20000L : 400000L;

    sbo_tc_report r;
    sbo_tc_report_begin(&r, "TC-4", &a, argc, argv);
    sbo_tc_note(&r, "%s mode: N = %ld draws, Monte Carlo seed %llu, tolerance %s; BROS-general is %s", a.quick ? "quick" : "full",
                N, (unsigned long long)seed, a.quick ? "max(2%, 7 SE)" : "2%",
                a.quick ? "reported only (a check in full mode)" : "checked");
    if (r.h5) {
        sbo_h5_attr_long(r.h5, "/tc4", "N", N);
        sbo_h5_attr_long(r.h5, "/tc4", "mc_seed", (long)seed);
    }
    double t_all = omp_get_wtime();
    cell basic[TC4_N], gen[TC4_N], naive[TC4_N];
    memset(basic, 0, sizeof basic); memset(gen, 0, sizeof gen); memset(naive, 0, sizeof naive);

    for (int ci = 0; ci < TC4_N; ci++) {
        int m = tc4_shape[ci][0], n = tc4_shape[ci][1], rk = tc4_shape[ci][2];
        sbo_layout lay;
        tc_layout_make(&lay, 1, &m, &n);
        lay.block[0].row_symmetric = 1;
        tc_op op;
        tc_op_alloc(&op, &lay);
        tc_gen_identity(&op);
        const long D = op.D;
        double *Z = malloc(sizeof(double) * (size_t)D);
        sbo_stream s;
        sbo_stream_init(&s, TC_INSTANCE_SEED, SBO_RNG_INSTANCE, (uint32_t)(TC4_CASE_ID0 + ci), 0);
        sbo_stream_gaussian_fill(&s, Z, D);
        const double nZ2 = sbo_vec_dot(D, Z, Z);
        char grp[64], what[200];
        snprintf(grp, sizeof grp, "/tc4/m%d_n%d_r%d", m, n, rk);
        const int variants[3] = {SBO_ZDIR_BASIC, SBO_ZDIR_GENERAL, SBO_ZDIR_NAIVE};
        for (int vi = 0; vi < 3; vi++) {
            int v = variants[vi];
            sbo_zdir_plan p;
            char err[256] = "";
            if (sbo_zdir_plan_init(&p, v, &op.lay, &rk, err, sizeof err) != 0) {
                snprintf(what, sizeof what, "(%d,%d,%d) %s: plan_init", m, n, rk, sbo_zdir_variant_name(v));
                sbo_tc_check(&r, 0, what, -1.0, "==", 0.0);
                sbo_tc_note(&r, "  plan_init failed: %s", err);
                continue;
            }
            tc_mc_job job = {&p, &op, Z, NULL, Z, seed + 16ULL * (uint64_t)ci + (uint64_t)vi, N};
            tc_mc_result res;
            tc_mc_run(&job, &res);
            cell *c = v == SBO_ZDIR_BASIC ? &basic[ci] : v == SBO_ZDIR_GENERAL ? &gen[ci] : &naive[ci];
            c->ran = 1;
            c->seconds = res.seconds;
            if (v == SBO_ZDIR_NAIVE) {
                /* around its own mean (m/r) Z: the trace of the covariance */
                double q = (double)rk / m, mr = (double)m / rk;
                c->V = tc_mc_total_var(&res.mean) / nZ2;
                c->se = NAN;
                c->ref = mr * mr * mr * (1.0 - q);
            } else {
                c->V = res.err.mean[0] / nZ2;
                c->se = sbo_mc_se(&res.err, 0) / nZ2;
                c->ref = v == SBO_ZDIR_BASIC ? sbo_variance_VI(m, n, rk) : sbo_variance_VI_gen(m, n, rk);
                c->tol = 0.02 * c->ref;
                if (a.quick && 7.0 * c->se > c->tol) c->tol = 7.0 * c->se;
                double dev = fabs(c->V - c->ref);
                if (v == SBO_ZDIR_BASIC || !a.quick) {
                    snprintf(what, sizeof what, "(%d,%d,%d) %s: |V_MC - %s| (V_MC = %.4g +- %.2g, %s = %.4g)", m, n, rk,
                             v == SBO_ZDIR_BASIC ? "BROS-basic" : "BROS-general", v == SBO_ZDIR_BASIC ? "V_I" : "V_I^gen",
                             c->V, c->se, v == SBO_ZDIR_BASIC ? "V_I" : "V_I^gen", c->ref);
                    sbo_tc_check(&r, dev <= c->tol, what, dev, "<=", c->tol);
                } else {
                    sbo_tc_note(&r, "(%d,%d,%d) BROS-general: V_MC = %.4g +- %.2g vs V_I^gen = %.4g (%.1f SE; checked in full mode)",
                                m, n, rk, c->V, c->se, c->ref, dev / c->se);
                }
            }
            if (r.h5) {
                char sub[128];
                snprintf(sub, sizeof sub, "%s/%s", grp, sbo_zdir_variant_name(v));
                sbo_h5_attr_double(r.h5, sub, "V_mc", c->V);
                sbo_h5_attr_double(r.h5, sub, "V_mc_se", c->se);
                sbo_h5_attr_double(r.h5, sub, "V_formula", c->ref);
                sbo_h5_attr_double(r.h5, sub, "tolerance", c->tol);
                sbo_h5_attr_double(r.h5, sub, "seconds", c->seconds);
            }
            tc_mc_result_free(&res);
        }
        free(Z);
        tc_op_free(&op);
    }
    double t_tot = omp_get_wtime() - t_all;

    printf("\nTC-4 table (H = I, N = %ld): relative variance E||Ĥ[Z] - Z||^2/||Z||^2, MC +- SE vs formula\n", N);
    printf("%-12s | %-9s %-18s %-8s %-7s | %-9s %-18s %-8s %-7s | %-8s %-8s\n", "(m,n,r)", "V_I", "basic MC",
           "rel.dev", "dev/SE", "V_I^gen", "general MC", "rel.dev", "dev/SE", "naive", "(m/r)^3(1-q)");
    for (int ci = 0; ci < TC4_N; ci++) {
        char shp[32];
        snprintf(shp, sizeof shp, "(%d,%d,%d)", tc4_shape[ci][0], tc4_shape[ci][1], tc4_shape[ci][2]);
        cell *b = &basic[ci], *g = &gen[ci], *nv = &naive[ci];
        char bm[40], gm[40];
        snprintf(bm, sizeof bm, "%.4g +- %.2g", b->V, b->se);
        snprintf(gm, sizeof gm, "%.4g +- %.2g", g->V, g->se);
        printf("%-12s | %-9.4g %-18s %+7.2f%% %7.2f | %-9.4g %-18s %+7.2f%% %7.2f | %-8.4g %-8.4g\n", shp, b->ref, bm,
               100 * (b->V / b->ref - 1), fabs(b->V - b->ref) / b->se, g->ref, gm, 100 * (g->V / g->ref - 1),
               fabs(g->V - g->ref) / g->se, nv->V, nv->ref);
    }
    printf("total %.1f s (%d threads)\n\n", t_tot, omp_get_max_threads());
    fflush(stdout);
    sbo_tc_note(&r, "total Monte Carlo time %.1f s (%d threads)", t_tot, omp_get_max_threads());
    if (r.h5) sbo_h5_attr_double(r.h5, "/tc4", "seconds", t_tot);
    return sbo_tc_report_end(&r);
}
