/* algorithms/registry.c: the list of algorithms `sbo list` shows and `--algo` accepts. */
#include "algorithms/algorithm.h"
#include <string.h>

extern const sbo_algo_type sbo_algo_soba, sbo_algo_ma_soba, sbo_algo_naive_projected, sbo_algo_bros;

static const sbo_algo_type *const registry[] = {&sbo_algo_soba, &sbo_algo_ma_soba, &sbo_algo_naive_projected,
                                                &sbo_algo_bros, NULL};

const sbo_algo_type *const *sbo_algo_types(void) { return registry; }

const sbo_algo_type *sbo_algo_find(const char *name) {
    for (int i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}
