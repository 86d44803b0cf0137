/* tasks/data_cleaning.h: hyper-data cleaning (tasks/data_cleaning.c) as a typed task: its options parsed and checked
 * once (liblinear's check_parameter pattern) and a constructor that takes them, so that C code can create the task
 * without a configuration. Exercised by: tests/test_neural.c. */
#ifndef SBO_DATA_CLEANING_H
#define SBO_DATA_CLEANING_H
#include "tasks/neural.h"   /* sbo_neural_options, sbo_task */

extern const sbo_task_type sbo_task_data_cleaning;

enum { SBO_DC_LINEAR = 0, SBO_DC_MLP = 1 };                                   /* task.model */
enum { SBO_DC_LEARNED = 0, SBO_DC_UNIFORM = 1, SBO_DC_CLEAN = 2 };           /* task.weights */

typedef struct {
    sbo_neural_options nn;   /* the image tasks' keys, with task.hidden, task.activation, task.noise, task.lambda */
    int model;               /* task.model: SBO_DC_LINEAR or SBO_DC_MLP */
    int weights;             /* task.weights: SBO_DC_LEARNED (the bilevel problem), SBO_DC_UNIFORM or SBO_DC_CLEAN */
    double x0;               /* task.x0: the initial per-sample logit */
} sbo_data_cleaning_options;

/* Reads and checks every task.* key of data_cleaning from a resolved configuration. 0, or -1 with a message. */
int sbo_data_cleaning_options_parse(const sbo_config *cfg, sbo_data_cleaning_options *o, char *err, size_t errlen);
/* 0, or -1 with a one-line message when a value is out of its domain. */
int sbo_data_cleaning_options_check(const sbo_data_cleaning_options *o, char *err, size_t errlen);
/* The task from options (checked again here; loads the data set). NULL with a one-line message. */
sbo_task *sbo_data_cleaning_create(const sbo_data_cleaning_options *o, char *err, size_t errlen);

/* What every sample-reweighting task shares (data_cleaning here, vit_reweight in tasks/vit_reweight.c): the upper
 * variable is one logit x_i per training position, the lower loss weighs sample i by sigma(x_i).
 *   sbo_reweight_weights_node   in the lower graph (level 0) with weights = SBO_DC_LEARNED: the node sigma(x[id_s])
 *                               (x a 1 x n_train upper parameter at offset 0); otherwise -1 (plain mean)
 *   sbo_reweight_clean_pool     the clean baseline: lower minibatches draw from the uncorrupted positions only
 *                               (0, or -1 with a message when every label is corrupted)
 *   sbo_reweight_set_metrics    the 8 metric names (test accuracy, F1 / precision / recall of flagging corrupted
 *                               samples by sigma(x_i) < 1/2, fraction flagged, f, g, validation accuracy)
 *   sbo_reweight_metrics        their values at (x, Y); the flags are NaN for the baselines */
int sbo_reweight_weights_node(sbo_nn_graph *g, int level, int weights, int n_train);
int sbo_reweight_clean_pool(sbo_neural *nn, double noise, char *err, size_t errlen);
void sbo_reweight_set_metrics(sbo_task *t);
void sbo_reweight_metrics(sbo_task *t, int weights, const double *x, const double *Y, double *out);
#endif
