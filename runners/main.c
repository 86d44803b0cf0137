/* runners/main.c: the `sbo` command: run, list, memory, version, help.
 * Every bad input prints ONE line "sbo: error: <problem>; <fix>" on stderr and exits 2 (SBO_EXIT_USAGE).
 * Try: sbo --help;  sbo list;  sbo run --task counterexample --algo bros --seed 1 --out /tmp/x.h5;
 *      sbo memory --task counterexample;  sbo version. */
#include "runners/sbo_run.h"        /* sbo_run, configuration resolution, exit codes */
#include "runners/sbo_h5.h"         /* schema version */
#include "core/sbo_arena.h"         /* measured bytes, VmHWM */
#include "core/sbo_blas.h"          /* BLAS vendor and core name */
#include "sbo_build_info.h"         /* version, commit, build flags (generated) */

#include <hdf5.h>
#include <zlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 256

static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sbo: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return SBO_EXIT_USAGE;
}

static void task_names(char *buf, size_t n) {
    buf[0] = '\0';
    const sbo_task_type *const *tt = sbo_task_types();
    for (int i = 0; tt[i]; i++) {
        size_t u = strlen(buf);
        snprintf(buf + u, n - u, "%s%s", i ? ", " : "", tt[i]->name);
    }
}

static void algo_names(char *buf, size_t n) {
    buf[0] = '\0';
    const sbo_algo_type *const *at = sbo_algo_types();
    for (int i = 0; at[i]; i++) {
        size_t u = strlen(buf);
        snprintf(buf + u, n - u, "%s%s", i ? ", " : "", at[i]->name);
    }
}

static const sbo_task_type *find_task(const char *name) {
    char names[512];
    if (!name) {
        task_names(names, sizeof names);
        usage_error("missing --task; pass one of: %s", names);
        return NULL;
    }
    const sbo_task_type *t = sbo_task_find(name);
    if (!t) {
        task_names(names, sizeof names);
        usage_error("unknown task '%s'; valid tasks: %s (see 'sbo list')", name, names);
    }
    return t;
}

static const sbo_algo_type *find_algo(const char *name) {
    char names[512];
    if (!name) {
        algo_names(names, sizeof names);
        usage_error("missing --algo; pass one of: %s", names);
        return NULL;
    }
    const sbo_algo_type *a = sbo_algo_find(name);
    if (!a) {
        algo_names(names, sizeof names);
        usage_error("unknown algorithm '%s'; valid algorithms: %s (see 'sbo list')", name, names);
    }
    return a;
}

// --- help ----------------------------------------------------------------------------------------

static const char *const help_main =
    "sbo: stochastic bilevel optimization (SOBA, MA-SOBA, naive projected, BROS) - a research artifact.\n"
    "\n"
    "usage: sbo <command> [options]\n"
    "\n"
    "commands:\n"
    "  run       run one algorithm on one task and write an HDF5 results file\n"
    "  list      tasks, algorithms and every option with its default\n"
    "  memory    analytic (§9) and measured memory of every algorithm on a task\n"
    "  version   build information, BLAS vendor and core kernels\n"
    "  help CMD  help for a command (or: sbo CMD --help)\n"
    "\n"
    "exit codes: 0 done, 1 results write failed, 2 bad input (nothing written), 3 diverged, 130 interrupted.\n"
    "results schema: docs/SCHEMA.md\n";

static const char *const help_run =
    "usage: sbo run --task T --algo A --seed S --out FILE.h5 [--config FILE.ini] [--set key=value ...]\n"
    "\n"
    "Runs algorithm A on task T for run.iters iterations, evaluating the task's metrics at k = 0, every\n"
    "run.eval_every iterations and at the end, and writes FILE.h5 (schema: docs/SCHEMA.md). Only the\n"
    "algorithm's steps are timed.\n"
    "\n"
    "options:\n"
    "  --task T          task name (sbo list)\n"
    "  --algo A          algorithm name (sbo list)\n"
    "  --seed S          integer seed in [0, 2^63-1]; same seed, same build, one thread: identical curves\n"
    "  --out FILE.h5     results file; parent directories are created, an existing file is replaced\n"
    "  --config FILE     INI file with sections [run], [task], [algo], e.g.  [algo]\\n alpha = 0.01\n"
    "  --set key=value   override one option, e.g. --set algo.alpha=0.01 (repeatable; wins over --config)\n"
    "  --quiet           no summary on stdout\n"
    "\n"
    "Configuration: defaults of the option tables, then --config, then --set; unknown keys are errors.\n"
    "SIGINT/SIGTERM: the current step finishes, the file gets status \"interrupted\", exit code 130.\n"
    "A non-finite iterate: status \"diverged\", exit code 3. Progress is shown when stderr is a terminal.\n";

static const char *const help_list =
    "usage: sbo list\n"
    "\n"
    "Prints every task and algorithm with a description, and every option (section.key, default, help),\n"
    "including the runner's own run.iters and run.eval_every.\n";

static const char *const help_memory =
    "usage: sbo memory --task T [--config FILE.ini] [--set key=value ...]\n"
    "\n"
    "For every algorithm: the analytic memory model of ALGORITHMS.md §9 (persistent state + largest live work\n"
    "set), the bytes its arenas actually hold after create, and the process peak resident set (VmHWM, which\n"
    "includes the runtime and libraries and never decreases). algo.* options that an algorithm does not\n"
    "declare are ignored for that algorithm.\n";

static const char *const help_version =
    "usage: sbo version\n"
    "\n"
    "Prints the version, git commit, build flags, BLAS vendor and core kernels, HDF5 and zlib versions\n"
    "(the same provenance every results file records).\n";

static int cmd_help(const char *cmd) {
    if (!cmd) { fputs(help_main, stdout); return 0; }
    if (strcmp(cmd, "run") == 0) fputs(help_run, stdout);
    else if (strcmp(cmd, "list") == 0) fputs(help_list, stdout);
    else if (strcmp(cmd, "memory") == 0) fputs(help_memory, stdout);
    else if (strcmp(cmd, "version") == 0) fputs(help_version, stdout);
    else if (strcmp(cmd, "help") == 0) fputs(help_main, stdout);
    else return usage_error("no help for unknown command '%s'; commands: run, list, memory, version, help", cmd);
    return 0;
}

static int wants_help(int argc, char **argv) {
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

// --- argument parsing (run, memory) -------------------------------------------------------------

typedef struct {
    const char *task, *algo, *seed, *out, *config;
    const char *sets[MAX_SETS];
    int n_sets, quiet;
} cli_args;

/* Accepts "--opt value" and "--opt=value". allowed: the flags this command takes, e.g. "task,algo". */
static int parse_args(const char *cmd, int argc, char **argv, const char *allowed, cli_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return usage_error("'sbo %s' takes no positional argument '%s'; see 'sbo %s --help'", cmd, arg, cmd);
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        /* is it allowed for this command? match whole words in the comma list */
        int ok = 0;
        for (const char *p = allowed; *p;) {
            const char *c = strchr(p, ',');
            size_t l = c ? (size_t)(c - p) : strlen(p);
            if (l == strlen(name) && strncmp(p, name, l) == 0) ok = 1;
            p += l + (c ? 1 : 0);
        }
        if (!ok) {
            char list[256] = "";
            for (const char *p = allowed; *p;) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t)(c - p) : strlen(p);
                size_t u = strlen(list);
                snprintf(list + u, sizeof list - u, "%s--%.*s", u ? ", " : "", (int)l, p);
                p += l + (c ? 1 : 0);
            }
            return usage_error("unknown option '%s' for 'sbo %s'; valid options: %s", arg, cmd, list);
        }
        if (strcmp(name, "quiet") == 0) {
            if (eq) return usage_error("--quiet takes no value; write just --quiet");
            a->quiet = 1;
            continue;
        }
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else return usage_error("option --%s needs a value; see 'sbo %s --help'", name, cmd);
        if (strcmp(name, "task") == 0) a->task = val;
        else if (strcmp(name, "algo") == 0) a->algo = val;
        else if (strcmp(name, "seed") == 0) a->seed = val;
        else if (strcmp(name, "out") == 0) a->out = val;
        else if (strcmp(name, "config") == 0) a->config = val;
        else if (strcmp(name, "set") == 0) {
            if (a->n_sets >= MAX_SETS) return usage_error("more than %d --set options; use a --config file", MAX_SETS);
            a->sets[a->n_sets++] = val;
        }
    }
    return 0;
}

// --- run -----------------------------------------------------------------------------------------

static int cmd_run(int argc, char **argv) {
    cli_args a;
    if (parse_args("run", argc, argv, "task,algo,seed,out,config,set,quiet", &a)) return SBO_EXIT_USAGE;
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    const sbo_algo_type *at = find_algo(a.algo);
    if (!at) return SBO_EXIT_USAGE;
    char err[SBO_ERR_LEN * 2];
    if (!a.seed) return usage_error("missing --seed; pass e.g. --seed 1 (runs are reproducible per seed)");
    uint64_t seed;
    if (sbo_parse_seed(a.seed, &seed, err, sizeof err)) return usage_error("%s", err);
    if (!a.out) return usage_error("missing --out; pass e.g. --out results/%s_%s_seed%s.h5", tt->name, at->name, a.seed);
    sbo_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return usage_error("out of memory");
    if (sbo_run_resolve_config(tt, at, a.config, a.sets, a.n_sets, cfg, err, sizeof err)) {
        free(cfg);
        return usage_error("%s", err);
    }
    sbo_run_spec spec = {.task_type = tt, .algo_type = at, .cfg = cfg, .seed = seed, .out_path = a.out,
                         .argc = argc, .argv = argv, .progress = -1, .handle_signals = 1,
                         .info = a.quiet ? NULL : stdout};
    int code = sbo_run(&spec, NULL, err, sizeof err);
    free(cfg);
    if (code == SBO_EXIT_INTERRUPTED) fprintf(stderr, "sbo: %s\n", err);
    else if (code != SBO_EXIT_OK) fprintf(stderr, "sbo: error: %s\n", err);
    return code;
}

// --- list ----------------------------------------------------------------------------------------

static void print_options(const sbo_option *o, const char *indent) {
    for (; o && o->key; o++)
        printf("%s%-24s %-12s %s\n", indent, o->key, o->def && o->def[0] ? o->def : "(computed)", o->help);
}

static int cmd_list(void) {
    printf("runner options (every run):\n");
    print_options(sbo_run_options, "  ");
    printf("\ntasks (--task):\n");
    const sbo_task_type *const *tt = sbo_task_types();
    for (int i = 0; tt[i]; i++) {
        printf("  %s: %s\n", tt[i]->name, tt[i]->description);
        print_options(tt[i]->options, "    ");
    }
    printf("\nalgorithms (--algo):\n");
    const sbo_algo_type *const *at = sbo_algo_types();
    for (int i = 0; at[i]; i++) printf("  %-16s %s\n", at[i]->name, at[i]->description);
    /* options: each distinct table once, with the algorithms that accept it */
    for (int i = 0; at[i]; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= at[j]->options == at[i]->options;
        if (seen) continue;
        printf("\n  options of");
        for (int j = i; at[j]; j++)
            if (at[j]->options == at[i]->options) printf(" %s", at[j]->name);
        printf(":\n");
        print_options(at[i]->options, "    ");
    }
    printf("\nSet options with --set section.key=value or an INI file (--config) with [run], [task], [algo].\n");
    return 0;
}

// --- memory --------------------------------------------------------------------------------------

static int option_in(const sbo_option *o, const char *key) {
    for (; o && o->key; o++)
        if (strcmp(o->key, key) == 0) return 1;
    return 0;
}

static void fmt_b(double b, char *out, size_t n) {
    if (b < 10 * 1024) snprintf(out, n, "%.0f B", b);
    else if (b < 10.0 * 1024 * 1024) snprintf(out, n, "%.1f KiB", b / 1024);
    else if (b < 10.0 * 1024 * 1024 * 1024) snprintf(out, n, "%.1f MiB", b / (1024.0 * 1024));
    else snprintf(out, n, "%.1f GiB", b / (1024.0 * 1024 * 1024));
}

static int cmd_memory(int argc, char **argv) {
    cli_args a;
    if (parse_args("memory", argc, argv, "task,config,set", &a)) return SBO_EXIT_USAGE;
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    char err[SBO_ERR_LEN * 2];
    /* raw = file + --set, checked against the union of every table */
    static sbo_config raw, cfg;
    sbo_config_init(&raw);
    if (a.config && sbo_config_load_ini(&raw, a.config, err, sizeof err)) return usage_error("%s", err);
    for (int i = 0; i < a.n_sets; i++)
        if (sbo_config_set_arg(&raw, a.sets[i], err, sizeof err)) return usage_error("%s", err);
    const sbo_algo_type *const *at = sbo_algo_types();
    const sbo_option *tables[64];
    int nt = 0;
    tables[nt++] = sbo_run_options;
    tables[nt++] = tt->options;
    for (int i = 0; at[i] && nt < 63; i++) tables[nt++] = at[i]->options;
    tables[nt] = NULL;
    if (sbo_config_check_known(&raw, tables, err, sizeof err)) return usage_error("%s", err);

    /* the task once, with the runner and task options */
    sbo_config_init(&cfg);
    for (int i = 0; i < raw.n; i++)
        if (option_in(sbo_run_options, raw.key[i]) || option_in(tt->options, raw.key[i]))
            sbo_config_set(&cfg, raw.key[i], raw.value[i], raw.origin[i], NULL, 0);
    sbo_config_apply_defaults(&cfg, sbo_run_options);
    sbo_config_apply_defaults(&cfg, tt->options);
    size_t hwm0 = sbo_process_peak_rss();
    sbo_task *t = sbo_task_create(tt, &cfg, err, sizeof err);
    if (!t) return usage_error("%s", err);
    size_t task_bytes = sbo_arena_bytes(&t->arena);

    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32];
    /* every algorithm first, so a bad option prints one error line and no partial table */
    char rows[16][320], notes[16][640];
    int n_rows = 0, code = 0;
    for (int i = 0; at[i] && n_rows < 16; i++) {
        sbo_config_init(&cfg);
        for (int k = 0; k < raw.n; k++)
            if (option_in(sbo_run_options, raw.key[k]) || option_in(tt->options, raw.key[k]) ||
                option_in(at[i]->options, raw.key[k]))
                sbo_config_set(&cfg, raw.key[k], raw.value[k], raw.origin[k], NULL, 0);
        sbo_config_apply_defaults(&cfg, sbo_run_options);
        sbo_config_apply_defaults(&cfg, tt->options);
        sbo_config_apply_defaults(&cfg, at[i]->options);
        sbo_memory_model mm;
        memset(&mm, 0, sizeof mm);
        if (!at[i]->memory_model || at[i]->memory_model(t, &cfg, &mm, err, sizeof err)) {
            if (!at[i]->memory_model) snprintf(err, sizeof err, "no memory model in its descriptor");
            code = usage_error("%s: %s", at[i]->name, err);
            break;
        }
        sbo_algo *alg = at[i]->create(t, &cfg, 1, err, sizeof err);
        if (!alg) {
            code = usage_error("%s: %s", at[i]->name, err);
            break;
        }
        size_t st = sbo_arena_bytes(&alg->state), wk = sbo_arena_bytes(&alg->work), hwm = sbo_process_peak_rss();
        fmt_b(mm.persistent * 8, b1, sizeof b1);
        fmt_b(mm.work * 8, b2, sizeof b2);
        fmt_b((mm.persistent + mm.work) * 8, b3, sizeof b3);
        fmt_b((double)st, b4, sizeof b4);
        fmt_b((double)wk, b5, sizeof b5);
        fmt_b((double)(st + wk), b6, sizeof b6);
        fmt_b((double)hwm, b7, sizeof b7);
        snprintf(rows[n_rows], sizeof rows[0], "%-16s %12s %12s %12s | %12s %12s %12s | %12s", at[i]->name, b1, b2,
                 b3, b4, b5, b6, b7);
        snprintf(notes[n_rows], sizeof notes[0], "%s: %s", at[i]->name, mm.note);
        n_rows++;
        at[i]->destroy(alg);
    }
    if (code == 0) {
        printf("sbo memory: task %s, d = %d, lower blocks:", tt->name, t->d);
        for (int l = 0; l < t->lower.L; l++)
            printf("%s %s %dx%d", l ? "," : "", t->lower.block[l].name, t->lower.block[l].m, t->lower.block[l].n);
        fmt_b((double)task_bytes, b1, sizeof b1);
        fmt_b((double)hwm0, b2, sizeof b2);
        printf("\n  doubles (8 B); the task's own arena holds %s; process VmHWM before any algorithm %s\n\n", b1, b2);
        printf("%-16s %12s %12s %12s | %12s %12s %12s | %12s\n", "algorithm", "model state", "model work",
               "model total", "arena state", "arena work", "arena total", "VmHWM");
        printf("%-16s %12s %12s %12s | %12s %12s %12s | %12s\n", "", "(§9)", "(§9)", "(§9)", "(measured)",
               "(measured)", "(measured)", "(process)");
        for (int i = 0; i < n_rows; i++) printf("%s\n", rows[i]);
        printf("\nnotes:\n");
        for (int i = 0; i < n_rows; i++) printf("  %s\n", notes[i]);
        printf("  arena bytes include < 64 B alignment padding per buffer; VmHWM is the process high-water mark so\n"
               "  far (runtime and libraries included; it never decreases, so later rows bound the earlier ones).\n");
    }
    sbo_task_destroy(t);
    return code;
}

// --- version -------------------------------------------------------------------------------------

static int cmd_version(void) {
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    printf("sbo %s (git %s)\n", SBO_VERSION, SBO_GIT_COMMIT);
    printf("build: %s\n", SBO_BUILD_FLAGS);
    printf("BLAS: %s, core kernels %s, OPENBLAS_CORETYPE=%s\n", sbo_blas_vendor(), sbo_blas_corename(),
           sbo_blas_coretype_env());
    printf("HDF5 %u.%u.%u, zlib %s, results schema v%d\n", maj, min, rel, zlibVersion(), SBO_SCHEMA_VERSION);
    return 0;
}

// --- main ----------------------------------------------------------------------------------------

int main(int argc, char **argv) {
    if (argc < 2)
        return usage_error("missing command; run 'sbo --help' (commands: run, list, memory, version, help)");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) return cmd_help(NULL);
    if (strcmp(cmd, "help") == 0) {
        if (argc > 3) return usage_error("'sbo help' takes at most one command; e.g. sbo help run");
        return cmd_help(argc > 2 ? argv[2] : NULL);
    }
    if (strcmp(cmd, "--version") == 0) return cmd_version();
    int known = strcmp(cmd, "run") == 0 || strcmp(cmd, "list") == 0 || strcmp(cmd, "memory") == 0 ||
                strcmp(cmd, "version") == 0;
    if (!known) return usage_error("unknown command '%s'; commands: run, list, memory, version, help", cmd);
    if (wants_help(argc, argv)) return cmd_help(cmd);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc, argv);
    if (strcmp(cmd, "memory") == 0) return cmd_memory(argc, argv);
    if (argc > 2) return usage_error("'sbo %s' takes no arguments, got '%s'; see 'sbo %s --help'", cmd, argv[2], cmd);
    if (strcmp(cmd, "list") == 0) return cmd_list();
    return cmd_version();
}
