/* fuzz/fuzz_config.c: libFuzzer harness for the configuration layer: the INI parser (core/sbo_config.c over inih),
 * --set parsing, the known-key check, the typed getters, and the typed option structs of a task and an algorithm.
 * Input: byte 0 picks the task, byte 1 the algorithm (modulo the registries), the rest is the INI file's text.
 *   1. sbo_config_load_ini on the text alone (a failure must leave the config unchanged, with a message);
 *   2. each line of the text as a --set argument (sbo_config_set_arg);
 *   3. sbo_run_resolve_config(task, algo, the text): defaults, sbo_config_check_known; when it resolves, the typed
 *      parsers sbo_algo_options_parse and the task's sbo_<task>_options_parse, and sbo_config_dump.
 * Nothing is written (fuzz/fuzz_mem.h). Run: make fuzz, or build-fuzz/fuzz_config fuzz/corpus/fuzz_config. */
#define _GNU_SOURCE
#include "fuzz/fuzz_mem.h"              /* the input as /proc/self/fd/N */
#include "core/sbo_config.h"            /* the code under test */
#include "runners/sbo_run.h"            /* sbo_run_resolve_config */
#include "algorithms/algorithm.h"       /* sbo_algo_types, sbo_algo_options_parse */
#include "tasks/counterexample.h"       /* the tasks' typed option parsers */
#include "tasks/quadratic.h"
#include "tasks/data_cleaning.h"
#include "tasks/hyper_rep.h"
#include "tasks/data_mixture.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static fuzz_mem_file g_file;
static sbo_config *g_a, *g_b;   /* two configs (~0.5 MiB each), allocated once */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_mem_open(&g_file, "fuzz_config");
    g_a = malloc(sizeof *g_a);
    g_b = malloc(sizeof *g_b);
    if (!g_a || !g_b) abort();
    return 0;
}

static int count_of(const void *const *list) {
    int n = 0;
    while (list[n]) n++;
    return n;
}

/* The task's own typed parser (tasks/<task>.h), by name. */
static int parse_task_options(const char *task, const sbo_config *c, char *err, size_t errlen) {
    if (strcmp(task, "counterexample") == 0) {
        sbo_counterexample_options o;
        return sbo_counterexample_options_parse(c, &o, err, errlen);
    }
    if (strcmp(task, "quadratic") == 0) {
        sbo_quadratic_options o;
        return sbo_quadratic_options_parse(c, &o, err, errlen);
    }
    if (strcmp(task, "data_cleaning") == 0) {
        sbo_data_cleaning_options o;
        return sbo_data_cleaning_options_parse(c, &o, err, errlen);
    }
    if (strcmp(task, "hyper_rep") == 0) {
        sbo_hyper_rep_options o;
        return sbo_hyper_rep_options_parse(c, &o, err, errlen);
    }
    if (strcmp(task, "data_mixture") == 0) {
        sbo_data_mixture_options o;
        return sbo_data_mixture_options_parse(c, &o, err, errlen);
    }
    return 0;   /* a task added to the registry without a line here: its create() parses, not fuzzed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const sbo_task_type *const *tt = sbo_task_types();
    const sbo_algo_type *const *at = sbo_algo_types();
    const sbo_task_type *task = tt[data[0] % count_of((const void *const *)tt)];
    const sbo_algo_type *algo = at[data[1] % count_of((const void *const *)at)];
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    fuzz_mem_set(&g_file, text, n);
    char err[SBO_ERR_LEN * 2];

    /* 1. the INI parser alone: a failure leaves the config as it was and says why */
    sbo_config_init(g_a);
    err[0] = '\0';
    if (sbo_config_load_ini(g_a, g_file.path, err, sizeof err) != 0 && (g_a->n != 0 || !err[0])) abort();
    for (int i = 0; i < g_a->n; i++)
        if (strnlen(g_a->key[i], sizeof g_a->key[i]) == sizeof g_a->key[i] ||
            strnlen(g_a->value[i], sizeof g_a->value[i]) == sizeof g_a->value[i])
            abort();

    /* 2. every line as --set section.key=value */
    sbo_config_init(g_b);
    char line[SBO_CONFIG_VALUE_LEN + 128];
    for (size_t pos = 0; pos < n;) {
        const char *nl = memchr(text + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
        size_t cp = len < sizeof line - 1 ? len : sizeof line - 1;
        memcpy(line, text + pos, cp);
        line[cp] = '\0';   /* a NUL inside the line ends the argument early, as in argv */
        sbo_config_set_arg(g_b, line, err, sizeof err);
        pos += len + 1;
    }

    /* 3. resolution for the task and algorithm, then the typed parsers */
    if (sbo_run_resolve_config(task, algo, g_file.path, NULL, 0, g_a, err, sizeof err) == 0) {
        sbo_algo_options ao;
        sbo_algo_options_parse(g_a, &ao, err, sizeof err);
        parse_task_options(task->name, g_a, err, sizeof err);
        long iters;
        sbo_config_long(g_a, "run.iters", &iters, err, sizeof err);
        char small[64];
        size_t full = sbo_config_dump(g_a, NULL, 0);
        if (sbo_config_dump(g_a, small, sizeof small) != full) abort();
        if (strlen(small) >= sizeof small) abort();
    }
    return 0;
}
