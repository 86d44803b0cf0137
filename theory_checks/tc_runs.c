/* theory_checks/tc_runs.c: creating a task and an algorithm from "key=value" settings, for the theory checks that
 * run the production algorithms (TC-6, TC-7, TC-8). */
#include "theory_checks/tc_runs.h"
#include "runners/sbo_run.h"   /* sbo_run_resolve_config: the same resolution as `sbo run` */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

tc_run tc_run_create(const char *task_name, const char *algo_name, uint64_t seed, const char *const *settings) {
    char err[SBO_ERR_LEN];
    sbo_config cfg;
    const sbo_task_type *tt = sbo_task_find(task_name);
    const sbo_algo_type *at = sbo_algo_find(algo_name);
    if (!tt || !at) {
        fprintf(stderr, "internal error: unknown task '%s' or algorithm '%s'\n", task_name, algo_name);
        exit(2);
    }
    int n = 0;
    while (settings && settings[n]) n++;
    if (sbo_run_resolve_config(tt, at, NULL, settings, n, &cfg, err, sizeof err)) {   /* as `sbo run` does */
        fprintf(stderr, "internal error: %s\n", err);
        exit(2);
    }
    tc_run r;
    r.task = sbo_task_create(tt, &cfg, err, sizeof err);
    if (!r.task) {
        fprintf(stderr, "error creating task %s: %s\n", task_name, err);
        exit(2);
    }
    r.algo = at->create(r.task, &cfg, seed, err, sizeof err);
    if (!r.algo) {
        fprintf(stderr, "error creating %s: %s\n", algo_name, err);
        exit(2);
    }
    return r;
}

void tc_run_destroy(tc_run *r) {
    r->algo->type->destroy(r->algo);
    sbo_task_destroy(r->task);
}

void tc_mean_se(const double *v, int n, double *mean, double *se) {
    double m = 0, s2 = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) s2 += (v[i] - m) * (v[i] - m);
    *mean = m;
    *se = n > 1 ? sqrt(s2 / (n - 1) / n) : 0;
}
