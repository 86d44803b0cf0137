/* tasks/registry.c: the list of tasks `sbo list` shows and `--task` accepts. Add a task here. */
#include "tasks/task.h"
#include <string.h>
#include "tasks/counterexample.h"   /* sbo_task_counterexample, §5.3 */
#include "tasks/quadratic.h"        /* sbo_task_quadratic, §8 TC-7 */
#include "tasks/data_cleaning.h"    /* sbo_task_data_cleaning, hyper-data cleaning */
#include "tasks/hyper_rep.h"        /* sbo_task_hyper_rep, hyper-representation learning */
#include "tasks/vit_reweight.h"     /* sbo_task_vit_reweight, ViT sample reweighting */
#include "tasks/data_mixture.h"     /* sbo_task_data_mixture, data-mixture learning for a byte-level LM */

static const sbo_task_type *const registry[] = {&sbo_task_counterexample, &sbo_task_quadratic, &sbo_task_data_cleaning,
                                                  &sbo_task_hyper_rep, &sbo_task_vit_reweight,
                                                  &sbo_task_data_mixture, NULL};

const sbo_task_type *const *sbo_task_types(void) { return registry; }

const sbo_task_type *sbo_task_find(const char *name) {
    for (int i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}
