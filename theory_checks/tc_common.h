/* theory_checks/tc_common.h: shared harness of the theory checks TC-1..TC-8 (ALGORITHMS.md §8):
 * command line (--quick, --out FILE.h5, --seed S, --threads N), Monte Carlo accumulators with
 * z-scores, the PASS/FAIL table, and the HDF5 record of every check.
 * Each tc*.c is one executable: it prints a table, PASS/FAIL per check, and exits 0 only if all pass
 * (1 on a FAIL, 2 on bad usage). */
#ifndef SBO_TC_COMMON_H
#define SBO_TC_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include "runners/sbo_h5.h"   /* results file */

typedef struct {
    int quick;              /* --quick: §8.2 quick mode (keeps statistical power) */
    const char *out;        /* --out FILE.h5 (NULL: no file) */
    uint64_t seed;          /* --seed (default: the check's fixed seed) */
    int seed_given;
    int threads;            /* --threads (default: OMP default) */
} sbo_tc_args;

/* Parses the common flags; prints usage and exits 2 on anything unknown. */
void sbo_tc_parse(int argc, char **argv, const char *name, const char *summary, sbo_tc_args *a);

/* Welford accumulator over dim entries, double precision. */
typedef struct { long n; int dim; double *mean, *m2; } sbo_mc_acc;
void sbo_mc_init(sbo_mc_acc *acc, int dim);
void sbo_mc_add(sbo_mc_acc *acc, const double *x);
void sbo_mc_merge(sbo_mc_acc *into, const sbo_mc_acc *from);   /* Chan et al. parallel merge */
void sbo_mc_free(sbo_mc_acc *acc);
double sbo_mc_se(const sbo_mc_acc *acc, int i);                /* sqrt(var_i / n) */
/* max_i |mean_i - target_i| / se_i; entries with se = 0 count as |diff| > 1e-12 ? inf : 0. */
double sbo_mc_max_abs_z(const sbo_mc_acc *acc, const double *target);
/* §8.1 predicted noncentrality: max_i |pred_i - wrong_i| / se_i. */
double sbo_mc_noncentrality(const sbo_mc_acc *acc, const double *pred, const double *wrong);

/* Report: one row per check, printed as it is added; written to the results file at the end. */
typedef struct {
    const char *tc_name;
    int n, n_fail;
    FILE *out;
    sbo_h5 *h5;             /* open results file or NULL */
    sbo_h5_table *table;    /* /checks: value, threshold, pass */
} sbo_tc_report;

/* Opens args->out (if any) with provenance and a root attribute "theory_check" = name, "mode". */
void sbo_tc_report_begin(sbo_tc_report *r, const char *name, const sbo_tc_args *a, int argc, char **argv);
/* Adds a row: "  [PASS] what: value (<op> threshold)". pass is the caller's verdict. op "in": an interval
 * check whose interval is written in `what` (the row then omits the threshold). */
void sbo_tc_check(sbo_tc_report *r, int pass, const char *what, double value, const char *op, double threshold);
/* Free-form line in the table (and an attribute "note_i" in the file). */
void sbo_tc_note(sbo_tc_report *r, const char *fmt, ...);
/* Prints "TC-x: PASS (n checks)" or "TC-x: FAIL (k of n checks failed)", closes the file; returns the exit code. */
int sbo_tc_report_end(sbo_tc_report *r);
#endif
