/* algorithms/registry.c: the list of algorithms `sbo list` shows and `--algo` accepts. */
#include "algorithms/algorithm.h"   /* sbo_algo_type */
#include <stdio.h>
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

void sbo_algo_names(char *buf, size_t n) {
    buf[0] = '\0';
    for (int i = 0; registry[i]; i++) {
        size_t u = strlen(buf);
        snprintf(buf + u, n - u, "%s%s", i ? ", " : "", registry[i]->name);
    }
}
