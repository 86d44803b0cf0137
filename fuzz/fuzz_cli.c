/* fuzz/fuzz_cli.c: libFuzzer harness for the `sbo` command line (runners/main.c through sbo_main): command dispatch,
 * help, option parsing (--opt value, --opt=value, --quiet, --set ..., --data-dir), task and algorithm lookup, seeds,
 * --steps, and configuration resolution with --config and --set, in validate-only mode (sbo_main_validate_only:
 * run, oracle-dump and memory return once their configuration resolves; nothing is run or written).
 * Input: text. Lines before a line "%%" are the arguments after "sbo", one per line; the text after "%%" is the
 * content of a config file, and "@cfg" inside an argument stands for its path (e.g. "--config=@cfg"). Anything after a
 * NUL in a line is dropped, as argv cannot hold it. Run: make fuzz (sbo's stdout and stderr are closed there:
 * -close_fd_mask=3), or build-fuzz/fuzz_cli fuzz/corpus/fuzz_cli. */
#define _GNU_SOURCE
#include "fuzz/fuzz_mem.h"       /* the config text as /proc/self/fd/N */
#include "runners/sbo_main.h"    /* the code under test */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_ARGS 300        /* above MAX_SETS (256) of main.c, so its "more than 256 --set" path is reachable */

static fuzz_mem_file g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_mem_open(&g_file, "fuzz_cli_config");
    sbo_main_validate_only = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    size_t args_len = size;
    /* the config part: after the first line "%%" */
    for (size_t pos = 0; pos < size;) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
        if (len == 2 && text[pos] == '%' && text[pos + 1] == '%') {
            args_len = pos;
            size_t start = pos + len + (nl ? 1 : 0);
            fuzz_mem_set(&g_file, text + start, size - start);
            break;
        }
        pos += len + 1;
    }
    if (args_len == size) fuzz_mem_set(&g_file, "", 0);

    char *argv[FUZZ_MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = strdup("sbo");
    for (size_t pos = 0; pos < args_len && argc <= FUZZ_MAX_ARGS;) {
        const char *nl = memchr(text + pos, '\n', args_len - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : args_len - pos;
        char *arg = strndup(text + pos, len);                 /* stops at a NUL, as argv would */
        char *at = arg ? strstr(arg, "@cfg") : NULL;
        if (at) {                                             /* "@cfg" -> the config file's path */
            size_t head = (size_t)(at - arg), plen = strlen(g_file.path), tail = strlen(at + 4);
            char *sub = malloc(head + plen + tail + 1);
            if (sub) {
                memcpy(sub, arg, head);
                memcpy(sub + head, g_file.path, plen);
                memcpy(sub + head + plen, at + 4, tail + 1);
            }
            free(arg);
            arg = sub;
        }
        if (!arg) break;
        argv[argc++] = arg;
        pos += len + 1;
    }
    char *copy[FUZZ_MAX_ARGS + 2];   /* sbo_main may not change argv, but the harness frees its own pointers */
    memcpy(copy, argv, sizeof(char *) * (size_t)argc);
    argv[argc] = NULL;
    int code = sbo_main(argc, argv);
    if (code != 0 && code != 2) abort();   /* validate-only: done (0) or bad input (2); nothing else can happen */
    for (int i = 0; i < argc; i++) free(copy[i]);
    return 0;
}
