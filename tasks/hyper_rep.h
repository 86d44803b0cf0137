/* tasks/hyper_rep.h: hyper-representation learning (tasks/hyper_rep.c) as a typed task: its options (the image
 * tasks' keys, sbo_neural_options) parsed and checked once, and a constructor that takes them.
 * Exercised by: tests/test_neural.c. */
#ifndef SBO_HYPER_REP_H
#define SBO_HYPER_REP_H
#include "tasks/neural.h"   /* sbo_neural_options, sbo_task */

extern const sbo_task_type sbo_task_hyper_rep;

typedef struct {
    sbo_neural_options nn;   /* every key of hyper_rep: the image tasks' keys with task.hidden (the feature width),
                              * task.activation, task.noise, task.lambda (the head's ridge) */
} sbo_hyper_rep_options;

/* Reads and checks every task.* key of hyper_rep from a resolved configuration. 0, or -1 with a message. */
int sbo_hyper_rep_options_parse(const sbo_config *cfg, sbo_hyper_rep_options *o, char *err, size_t errlen);
/* The task from options (checked here; loads the data set). NULL with a one-line message. */
sbo_task *sbo_hyper_rep_create(const sbo_hyper_rep_options *o, char *err, size_t errlen);
#endif
