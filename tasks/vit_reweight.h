/* tasks/vit_reweight.h: ViT sample reweighting (tasks/vit_reweight.c) as a typed task: its options parsed and checked
 * once, and a constructor that takes them. Exercised by: tests/test_vit.c. */
#ifndef SBO_VIT_REWEIGHT_H
#define SBO_VIT_REWEIGHT_H
#include "tasks/data_cleaning.h"   /* SBO_DC_LEARNED / UNIFORM / CLEAN, the shared reweighting metrics */

extern const sbo_task_type sbo_task_vit_reweight;

#define SBO_VIT_MAX_DEPTH 4        /* 7 + 12 depth lower blocks must fit in SBO_MAX_BLOCKS (64) */

typedef struct {
    sbo_neural_options nn;   /* the image tasks' keys; task.hidden = the feed-forward width, task.activation its
                              * activation, task.noise, task.lambda */
    int patch;               /* task.patch: side of a square patch (divides the image's rows and columns) */
    int width;               /* task.width: token width C */
    int depth;               /* task.depth: transformer blocks, 1..SBO_VIT_MAX_DEPTH */
    int heads;               /* task.heads: attention heads (divides C) */
    int weights;             /* task.weights: SBO_DC_LEARNED, SBO_DC_UNIFORM or SBO_DC_CLEAN */
    double x0;               /* task.x0: the initial per-sample logit */
} sbo_vit_reweight_options;

int sbo_vit_reweight_options_parse(const sbo_config *cfg, sbo_vit_reweight_options *o, char *err, size_t errlen);
int sbo_vit_reweight_options_check(const sbo_vit_reweight_options *o, char *err, size_t errlen);
/* The task from options (loads the image set and reorders every image's pixels patch by patch). NULL with a message. */
sbo_task *sbo_vit_reweight_create(const sbo_vit_reweight_options *o, char *err, size_t errlen);
#endif
