/* runners/memory_report.h: `sbo memory` (runners/memory_report.c): the §9 model, the arenas and the VmHWM of each
 * algorithm on one task, each measured in its own child process. runners/main.c parses the command line into
 * sbo_memory_report_opts. Exercised by: tests/test_cli.c, `sbo memory --task counterexample`. */
#ifndef SBO_MEMORY_REPORT_H
#define SBO_MEMORY_REPORT_H
#include <stddef.h>
#include "algorithms/algorithm.h"   /* sbo_algo_type, sbo_task_type */

/* Room for a message that names the --csv path and its directory. */
#define SBO_MEMORY_REPORT_ERR_LEN 16384

typedef struct {
    const sbo_task_type *task;
    const char *config;               /* --config INI file, or NULL */
    const char *const *sets;          /* n_sets "section.key=value" (--set, and --data-dir as task.data_dir=DIR) */
    int n_sets;
    long steps;                       /* steps per algorithm before measuring (--steps, >= 0) */
    const char *algos;                /* --algos "a,b,...": which algorithms, in print order; NULL: all */
    const char *csv;                  /* --csv FILE, or NULL */
} sbo_memory_report_opts;

/* Checks --algos, --csv and the configuration, measures the task alone and then each algorithm in a child
 * process, prints the report on stdout and writes the CSV. Prints nothing until every child has reported.
 * Returns 0, SBO_EXIT_USAGE (bad input: nothing printed) or SBO_EXIT_FAILURE (a child could not run or died, or
 * the CSV could not be written), with a one-line message in err. */
int sbo_memory_report(const sbo_memory_report_opts *o, char *err, size_t errlen);
/* One configuration (cfg resolved for tt and at) measured as `sbo memory` measures it, in a child process: its VmHWM
 * after `steps` steps and the mean wall time of one step. `sbo sweep --slurm` sizes --mem and --time with it.
 * 0, or SBO_EXIT_USAGE / SBO_EXIT_FAILURE with a one-line message in err. */
int sbo_memory_estimate(const sbo_task_type *tt, const sbo_algo_type *at, const sbo_config *cfg, long steps,
                        double *vmhwm_bytes, double *step_s, char *err, size_t errlen);
#endif
