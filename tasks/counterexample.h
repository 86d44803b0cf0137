/* tasks/counterexample.h: the paper's 19/39 counterexample (ALGORITHMS.md §5.3) as a typed task: its options parsed
 * and checked once (liblinear's check_parameter pattern), and a constructor that takes them, so that C code can create
 * the task without a configuration. Exercised by: tests/test_tasks.c. */
#ifndef SBO_COUNTEREXAMPLE_H
#define SBO_COUNTEREXAMPLE_H
#include "tasks/task.h"   /* sbo_task, sbo_config */

extern const sbo_task_type sbo_task_counterexample;

typedef struct {
    double h[3];   /* task.h: the diagonal of the lower Hessian, three positive numbers (§5.3: 1, 2, 3) */
    double x0;     /* task.x0: the initial upper variable (§5.3: 2) */
} sbo_counterexample_options;

/* Reads and checks every task.* key of the counterexample (unset keys take the option table's defaults). 0, or -1
 * with a one-line message. */
int sbo_counterexample_options_parse(const sbo_config *cfg, sbo_counterexample_options *o, char *err, size_t errlen);
/* 0, or -1 with a one-line message when a value is out of its domain (what the parser checks after reading). */
int sbo_counterexample_options_check(const sbo_counterexample_options *o, char *err, size_t errlen);
/* The task from checked options (checked again here); NULL with a one-line message. */
sbo_task *sbo_counterexample_create(const sbo_counterexample_options *o, char *err, size_t errlen);
#endif
