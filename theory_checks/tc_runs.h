/* theory_checks/tc_runs.h: creating a task and an algorithm from "key=value" settings, for the theory checks that
 * run the production algorithms (TC-6, TC-7, TC-8). Definitions in tc_runs.c. */
#ifndef SBO_TC_RUNS_H
#define SBO_TC_RUNS_H
#include <stdint.h>
#include "algorithms/algorithm.h"   /* registry, descriptors */

typedef struct {
    sbo_task *task;
    sbo_algo *algo;
} tc_run;

/* settings: NULL-terminated list of "section.key=value". Exits 2 with the message on any error (a theory
 * check with a broken configuration must not report PASS or FAIL). */
tc_run tc_run_create(const char *task_name, const char *algo_name, uint64_t seed, const char *const *settings);
void tc_run_destroy(tc_run *r);
/* mean and standard error of v[0..n-1] */
void tc_mean_se(const double *v, int n, double *mean, double *se);
#endif
