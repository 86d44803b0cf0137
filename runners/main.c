/* runners/main.c: the `sbo` command: run, list, memory, version, help.
 * Every bad input prints ONE line "sbo: error: <problem>; <fix>" on stderr and exits 2 (SBO_EXIT_USAGE).
 * Try: sbo --help;  sbo list;  sbo run --task counterexample --algo bros --seed 1 --out /tmp/x.h5;
 *      sbo memory --task counterexample;  sbo memory --task data_cleaning --set task.model=mlp;  sbo version.
 * `sbo memory` measures each algorithm in its own child process (fork), so VmHWM is per algorithm. */
#include "runners/sbo_run.h"        /* sbo_run, configuration resolution, exit codes */
#include "runners/sbo_h5.h"         /* schema version */
#include "runners/oracle_dump.h"    /* sbo oracle-dump */
#include "core/sbo_arena.h"         /* measured bytes, VmHWM */
#include "core/sbo_blas.h"          /* BLAS vendor and core name */
#include "sbo_build_info.h"         /* version, commit, build flags (generated) */

#include <hdf5.h>
#include <zlib.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
        sbo_algo_names(names, sizeof names);
        usage_error("missing --algo; pass one of: %s", names);
        return NULL;
    }
    const sbo_algo_type *a = sbo_algo_find(name);
    if (!a) {
        sbo_algo_names(names, sizeof names);
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
    "  memory    analytic (§9) and measured memory of every algorithm on a task (one process each)\n"
    "  version   build information, BLAS vendor and core kernels\n"
    "  oracle-dump  one point and every oracle output there (HDF5), to check the engine against other autodiff\n"
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
    "  --data-dir DIR    the image data set's directory, e.g. /usr/share/datasets/fashion-mnist: the same as\n"
    "                    --set task.data_dir=DIR (image tasks only; a task that reads no data refuses it)\n"
    "  --quiet           no summary on stdout\n"
    "\n"
    "Configuration: defaults of the option tables, then --config, then --set; unknown keys are errors.\n"
    "The file's memory_* root attributes hold the memory after the last step (docs/SCHEMA.md).\n"
    "SIGINT/SIGTERM: the current step finishes, the file gets status \"interrupted\", exit code 130.\n"
    "A non-finite iterate: status \"diverged\", exit code 3. Progress is shown when stderr is a terminal.\n";

static const char *const help_list =
    "usage: sbo list\n"
    "\n"
    "Prints every task and algorithm with a description, and every option (section.key, default, help),\n"
    "including the runner's own run.iters and run.eval_every.\n";

static const char *const help_memory =
    "usage: sbo memory --task T [--config FILE.ini] [--set key=value ...] [--data-dir DIR] [--steps N]\n"
    "                  [--algos a,b,...] [--csv FILE.csv]\n"
    "\n"
    "Measures every algorithm (or those of --algos) on task T, each in its own child process: the child creates\n"
    "the task and the algorithm and runs N steps (buffers that the network engine allocates on first use then\n"
    "exist), and reports\n"
    "  * the analytic model of ALGORITHMS.md §9: persistent state + largest live set of work buffers;\n"
    "  * the algorithm's own arenas (state + work), measured;\n"
    "  * the arena peak over every arena of the child (task data, network engine, algorithm);\n"
    "  * the child's peak resident set VmHWM (runtime and libraries included);\n"
    "  * the bytes of every live arena by name after the steps.\n"
    "Ratios are against ma_soba (the paper's baseline). A first child creates only the task: its VmHWM is the\n"
    "baseline to subtract. algo.* options that an algorithm does not declare are ignored for that algorithm.\n"
    "\n"
    "options:\n"
    "  --task T          task name (sbo list)\n"
    "  --config FILE     INI file with sections [run], [task], [algo]\n"
    "  --set key=value   override one option (repeatable; wins over --config)\n"
    "  --data-dir DIR    the same as --set task.data_dir=DIR (image tasks only)\n"
    "  --steps N         steps per algorithm before measuring, N >= 0 (default 3)\n"
    "  --algos a,b,...   comma-separated algorithms, in the order to print (default: all, as in sbo list)\n"
    "  --csv FILE        also write the numbers (bytes, unformatted) as CSV with a header, one row per algorithm\n";

static const char *const help_oracle_dump =
    "usage: sbo oracle-dump --task T --seed S --out FILE.h5 [--config FILE.ini] [--set key=value ...] [--data-dir DIR]\n"
    "\n"
    "Writes a point (x, Y: the task's init for seed S plus a Gaussian perturbation), one lower and one upper\n"
    "minibatch (positions, and for image tasks the inputs as fed, labels and sample ids), directions V and Z, a\n"
    "Haar subspace P (r = ceil(m/2) on blocks with m > 1) with a reduced direction X, and every oracle there:\n"
    "grad_Y g, grad_Y f, grad_x f, H[V], J[Z], P^T grad_Y g, P^T H[P X], P^T grad_Y f. Image tasks also record\n"
    "their networks as text and the minibatch losses. Layout: docs/SCHEMA.md (oracle dumps);\n"
    "paper_figures/check_oracle_dump.py re-computes everything with an independent NumPy implementation.\n";

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
    else if (strcmp(cmd, "oracle-dump") == 0) fputs(help_oracle_dump, stdout);
    else if (strcmp(cmd, "help") == 0) fputs(help_main, stdout);
    else return usage_error("no help for unknown command '%s'; commands: run, list, memory, oracle-dump, version, help", cmd);
    return 0;
}

static int wants_help(int argc, char **argv) {
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

// --- argument parsing (run, memory) -------------------------------------------------------------

typedef struct {
    const char *task, *algo, *seed, *out, *config, *data_dir, *steps, *algos, *csv;
    const char *sets[MAX_SETS + 1];   /* + 1: room for --data-dir's task.data_dir=DIR */
    int n_sets, quiet;
    char data_dir_set[sizeof "task.data_dir=" + 128];
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
        else if (strcmp(name, "data-dir") == 0) a->data_dir = val;
        else if (strcmp(name, "steps") == 0) a->steps = val;
        else if (strcmp(name, "algos") == 0) a->algos = val;
        else if (strcmp(name, "csv") == 0) a->csv = val;
        else if (strcmp(name, "set") == 0) {
            if (a->n_sets >= MAX_SETS) return usage_error("more than %d --set options; use a --config file", MAX_SETS);
            a->sets[a->n_sets++] = val;
        }
    }
    return 0;
}

/* --data-dir DIR: appended to the --set list as task.data_dir=DIR, for a task that has that option. */
static int apply_data_dir(const sbo_task_type *tt, cli_args *a) {
    if (!a->data_dir) return 0;
    int has = 0;
    for (const sbo_option *o = tt->options; o && o->key; o++) has |= strcmp(o->key, "task.data_dir") == 0;
    if (!has) return usage_error("task '%s' reads no data; drop --data-dir", tt->name);
    if (!a->data_dir[0]) return usage_error("--data-dir is empty; pass the data set's directory, e.g. "
                                            "--data-dir /usr/share/datasets/fashion-mnist");
    for (int i = 0; i < a->n_sets; i++)
        if (strncmp(a->sets[i], "task.data_dir=", 14) == 0)
            return usage_error("both --data-dir and --set %s given; keep one", a->sets[i]);
    size_t len = strlen(a->data_dir);
    if (len >= sizeof a->data_dir_set - sizeof "task.data_dir=")
        return usage_error("--data-dir path is %zu characters long (max %zu); use a shorter path or a symlink", len,
                           sizeof a->data_dir_set - sizeof "task.data_dir=");
    snprintf(a->data_dir_set, sizeof a->data_dir_set, "task.data_dir=%s", a->data_dir);
    a->sets[a->n_sets++] = a->data_dir_set;
    return 0;
}

// --- run -----------------------------------------------------------------------------------------

static int cmd_run(int argc, char **argv) {
    cli_args a;
    if (parse_args("run", argc, argv, "task,algo,seed,out,config,set,data-dir,quiet", &a)) return SBO_EXIT_USAGE;
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    if (apply_data_dir(tt, &a)) return SBO_EXIT_USAGE;
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

// --- oracle-dump -----------------------------------------------------------------------------------

static int cmd_oracle_dump(int argc, char **argv) {
    cli_args a;
    if (parse_args("oracle-dump", argc, argv, "task,seed,out,config,set,data-dir", &a)) return SBO_EXIT_USAGE;
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    if (apply_data_dir(tt, &a)) return SBO_EXIT_USAGE;
    char err[SBO_ERR_LEN * 2];
    if (!a.seed) return usage_error("missing --seed; pass e.g. --seed 1");
    uint64_t seed;
    if (sbo_parse_seed(a.seed, &seed, err, sizeof err)) return usage_error("%s", err);
    if (!a.out) return usage_error("missing --out; pass e.g. --out %s_oracles.h5", tt->name);
    sbo_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return usage_error("out of memory");
    if (sbo_run_resolve_config(tt, NULL, a.config, a.sets, a.n_sets, cfg, err, sizeof err)) {
        free(cfg);
        return usage_error("%s", err);
    }
    int code = sbo_oracle_dump(tt, cfg, seed, a.out, argc, argv, err, sizeof err);
    free(cfg);
    if (code) fprintf(stderr, "sbo: error: %s\n", err);
    else printf("sbo oracle-dump: task %s, seed %s -> %s\n", tt->name, a.seed, a.out);
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
/* Each measurement runs in a forked child, so that VmHWM (which never decreases) belongs to one algorithm. The
 * parent creates nothing big (a child starts with the parent's resident set as its VmHWM). A child writes one
 * mem_report into a pipe and exits; the parent prints nothing until every child has reported, so a bad option
 * prints one error line and no partial table. */

#define MEM_MAX_ALGOS 16
#define MEM_MAX_ARENAS 40

typedef struct {
    int ok;                          /* 1 measured; 0: err holds the one-line message */
    char err[SBO_ERR_LEN * 2];
    /* the task (every child) */
    int d, L;
    char blocks[400];                /* "W1 784x256, b1 1x256" */
    /* the algorithm (not in the task-only child) */
    int have_model;
    double model_persistent, model_work;   /* bytes */
    char note[512];
    char log[1024];
    char cross_term[16];
    int n_full_by_rule;
    long steps_done;
    long diverged_at;                /* -1, or the step whose iterate became non-finite */
    double algo_state, algo_work;    /* bytes of the algorithm's own arenas */
    /* the whole child */
    double arena_peak, arena_live;   /* every arena (task, engine, algorithm) */
    double hwm_create, hwm;          /* VmHWM after creation, after the steps */
    int n_arenas;
    sbo_arena_total arena[MEM_MAX_ARENAS];   /* live arenas by name after the steps; algo.state, algo.work */
} mem_report;

typedef struct {
    const sbo_task_type *tt;
    const sbo_algo_type *at;         /* NULL: create the task only */
    const sbo_config *cfg;
    long steps;
} mem_job;

static void fmt_b(double b, char *out, size_t n) {
    if (b < 10 * 1024) snprintf(out, n, "%.0f B", b);
    else if (b < 10.0 * 1024 * 1024) snprintf(out, n, "%.1f KiB", b / 1024);
    else if (b < 10.0 * 1024 * 1024 * 1024) snprintf(out, n, "%.1f MiB", b / (1024.0 * 1024));
    else snprintf(out, n, "%.1f GiB", b / (1024.0 * 1024 * 1024));
}

static int option_in(const sbo_option *o, const char *key) {
    for (; o && o->key; o++)
        if (strcmp(o->key, key) == 0) return 1;
    return 0;
}

/* The body of a child: fills r. */
static void mem_measure(const mem_job *j, mem_report *r) {
    sbo_task *t = sbo_task_create(j->tt, j->cfg, r->err, sizeof r->err);
    if (!t) return;
    r->d = t->d;
    r->L = t->lower.L;
    for (int l = 0; l < t->lower.L; l++) {
        size_t u = strlen(r->blocks);
        snprintf(r->blocks + u, sizeof r->blocks - u, "%s%s %dx%d", l ? ", " : "", t->lower.block[l].name,
                 t->lower.block[l].m, t->lower.block[l].n);
    }
    sbo_algo *a = NULL;
    r->diverged_at = -1;
    if (j->at) {
        sbo_memory_model mm;
        memset(&mm, 0, sizeof mm);
        char err[SBO_ERR_LEN];
        if (!j->at->memory_model) {
            snprintf(r->note, sizeof r->note, "no §9 model: the descriptor has no memory_model");
        } else if (j->at->memory_model(t, j->cfg, &mm, err, sizeof err) != 0) {
            snprintf(r->err, sizeof r->err, "%s: %s", j->at->name, err);
            sbo_task_destroy(t);
            return;
        } else {
            r->have_model = 1;
            r->model_persistent = mm.persistent * sizeof(double);
            r->model_work = mm.work * sizeof(double);
            snprintf(r->note, sizeof r->note, "%s", mm.note);
        }
        a = j->at->create(t, j->cfg, 1, err, sizeof err);
        if (!a) {
            snprintf(r->err, sizeof r->err, "%s: %s", j->at->name, err);
            sbo_task_destroy(t);
            return;
        }
        snprintf(r->log, sizeof r->log, "%s", a->log);
        snprintf(r->cross_term, sizeof r->cross_term, "%s", a->cross_term == SBO_CROSS_PROJECTED ? "projected" : "full");
        r->n_full_by_rule = a->n_full_by_rule;
        r->hwm_create = (double)sbo_process_peak_rss();
        for (long k = 0; k < j->steps; k++) {
            r->steps_done = k + 1;
            if (j->at->step(a, k)) {
                r->diverged_at = k;
                break;
            }
        }
        r->algo_state = (double)sbo_arena_bytes(&a->state);
        r->algo_work = (double)sbo_arena_bytes(&a->work);
    }
    r->hwm = (double)sbo_process_peak_rss();
    if (!j->at) r->hwm_create = r->hwm;
    r->arena_peak = (double)sbo_arena_peak_bytes();
    r->arena_live = (double)sbo_arena_live_bytes();
    r->n_arenas = sbo_run_arena_totals(r->arena, MEM_MAX_ARENAS);
    for (int i = 0; a && i < r->n_arenas; i++) {   /* the same row for every algorithm */
        if (strcmp(r->arena[i].name, a->state.name) == 0) snprintf(r->arena[i].name, sizeof r->arena[i].name, "algo.state");
        else if (strcmp(r->arena[i].name, a->work.name) == 0) snprintf(r->arena[i].name, sizeof r->arena[i].name, "algo.work");
    }
    r->ok = 1;
    if (a) j->at->destroy(a);
    sbo_task_destroy(t);
}

/* Runs mem_measure in a child. Returns 0 (r filled; r->ok says whether the measurement succeeded), or -1 when
 * the child could not be started or died (message in r->err). */
static int mem_fork(const mem_job *j, mem_report *r) {
    memset(r, 0, sizeof *r);
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(r->err, sizeof r->err, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->err, sizeof r->err, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        mem_report *mine = calloc(1, sizeof *mine);
        if (mine) mem_measure(j, mine);
        const char *p = (const char *)mine;
        size_t left = mine ? sizeof *mine : 0;
        while (left > 0) {
            ssize_t w = write(fd[1], p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            p += w;
            left -= (size_t)w;
        }
        _exit(left == 0 && mine ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    char *p = (char *)r;
    while (got < sizeof *r) {
        ssize_t n = read(fd[0], p + got, sizeof *r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (got != sizeof *r) {
        memset(r, 0, sizeof *r);
        const char *what = j->at ? j->at->name : "the task-only measurement";
        if (WIFSIGNALED(st))
            snprintf(r->err, sizeof r->err, "%s: the measuring child process died of signal %d (%s)", what,
                     WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
            snprintf(r->err, sizeof r->err, "%s: the measuring child process exited %d without a report", what,
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -1;
    }
    return 0;
}

/* Bytes in a unit chosen for the largest value of a column group. */
typedef struct {
    const char *name;
    double div;
} mem_unit;

static mem_unit unit_for(double max) {
    if (max >= 10.0 * 1024 * 1024 * 1024) return (mem_unit){"GiB", 1024.0 * 1024 * 1024};
    if (max >= 10.0 * 1024 * 1024) return (mem_unit){"MiB", 1024.0 * 1024};
    if (max >= 10.0 * 1024) return (mem_unit){"KiB", 1024.0};
    return (mem_unit){"B", 1.0};
}

static void fmt_u(double b, mem_unit u, char *out, size_t n) {
    if (u.div == 1.0) snprintf(out, n, "%.0f", b);
    else snprintf(out, n, "%.2f", b / u.div);
}

static void fmt_ratio(double num, double den, char *out, size_t n) {
    if (den > 0) snprintf(out, n, "%.3f", num / den);
    else snprintf(out, n, "-");
}

/* --algos a,b,c -> algorithm types, in that order; NULL list: all. Returns the count or -1 (error printed). */
static int parse_algos(const char *list, const sbo_algo_type **out, int max) {
    const sbo_algo_type *const *all = sbo_algo_types();
    int n = 0;
    if (!list) {
        for (int i = 0; all[i] && n < max; i++) out[n++] = all[i];
        return n;
    }
    char names[512];
    sbo_algo_names(names, sizeof names);
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        char name[64];
        if (l == 0 || l >= sizeof name) {
            usage_error("--algos '%s' has an empty or overlong name; pass a comma-separated list of: %s", list, names);
            return -1;
        }
        memcpy(name, p, l);
        name[l] = '\0';
        const sbo_algo_type *at = sbo_algo_find(name);
        if (!at) {
            usage_error("unknown algorithm '%s' in --algos; valid algorithms: %s (see 'sbo list')", name, names);
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (out[i] == at) {
                usage_error("algorithm '%s' appears twice in --algos '%s'; list each once", name, list);
                return -1;
            }
        if (n >= max) {
            usage_error("--algos lists more than %d algorithms", max);
            return -1;
        }
        out[n++] = at;
        if (!c) break;
        p = c + 1;
    }
    return n;
}

/* The CSV's directory must exist and be writable before any child runs; the file is written at the end. */
static int check_csv_path(const char *path) {
    if (!path[0]) return usage_error("--csv is empty; pass a file name, e.g. --csv memory.csv");
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return usage_error("--csv '%s' is a directory; pass a file name, e.g. --csv %s/memory.csv", path, path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    const char *d = dirname(dir);
    if (access(d, W_OK) != 0)
        return usage_error("--csv '%s': directory '%s' is not writable (%s); create it or choose another path", path, d,
                           strerror(errno));
    return 0;
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

static void csv_ratio(FILE *f, double num, double den) {
    if (den > 0) fprintf(f, ",%.6g", num / den);
    else fputc(',', f);
}

static int write_memory_csv(const char *path, const sbo_task_type *tt, long steps, int n,
                            const sbo_algo_type *const *algos, const mem_report *rep, const mem_report *base,
                            const mem_report *ref) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sbo: error: cannot write --csv '%s': %s; choose another path\n", path, strerror(errno));
        return SBO_EXIT_FAILURE;
    }
    fprintf(f, "task,steps,algorithm,model_persistent_bytes,model_work_bytes,model_total_bytes,algo_state_bytes,"
               "algo_work_bytes,algo_total_bytes,algo_total_vs_ma_soba,arena_peak_bytes,arena_peak_vs_ma_soba,"
               "arena_live_bytes,vmhwm_after_create_bytes,vmhwm_bytes,task_only_arena_peak_bytes,"
               "task_only_vmhwm_bytes,cross_term,n_full_by_rule,steps_done,diverged_at_step,arenas\n");
    for (int i = 0; i < n; i++) {
        const mem_report *r = &rep[i];
        csv_field(f, tt->name);
        fprintf(f, ",%ld,", steps);
        csv_field(f, algos[i]->name);
        if (r->have_model)
            fprintf(f, ",%.0f,%.0f,%.0f", r->model_persistent, r->model_work, r->model_persistent + r->model_work);
        else
            fprintf(f, ",,,");
        fprintf(f, ",%.0f,%.0f,%.0f", r->algo_state, r->algo_work, r->algo_state + r->algo_work);
        csv_ratio(f, r->algo_state + r->algo_work, ref ? ref->algo_state + ref->algo_work : 0);
        fprintf(f, ",%.0f", r->arena_peak);
        csv_ratio(f, r->arena_peak, ref ? ref->arena_peak : 0);
        fprintf(f, ",%.0f,%.0f,%.0f,%.0f,%.0f,%s,%d,%ld,", r->arena_live, r->hwm_create, r->hwm, base->arena_peak,
                base->hwm, r->cross_term, r->n_full_by_rule, r->steps_done);
        if (r->diverged_at >= 0) fprintf(f, "%ld", r->diverged_at);
        fputc(',', f);
        char arenas[4096] = "";
        for (int k = 0; k < r->n_arenas; k++) {
            size_t u = strlen(arenas);
            snprintf(arenas + u, sizeof arenas - u, "%s%s=%zu", k ? ";" : "", r->arena[k].name, r->arena[k].bytes);
        }
        csv_field(f, arenas);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "sbo: error: writing --csv '%s' failed: %s; free disk space or choose another path\n", path,
                strerror(errno));
        return SBO_EXIT_FAILURE;
    }
    return 0;
}

static double arena_of(const mem_report *r, const char *name) {
    for (int i = 0; i < r->n_arenas; i++)
        if (strcmp(r->arena[i].name, name) == 0) return (double)r->arena[i].bytes;
    return -1;
}

/* Prints the lines of a creation log that say which blocks are full and which cross_term mode runs. */
static void print_log_lines(const char *log) {
    for (const char *p = log; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", len, p);
        if (strstr(line, "full") || strstr(line, "cross_term") || strstr(line, "WARNING")) printf("      %s\n", line);
        p += len + (nl ? 1 : 0);
    }
}

static int cmd_memory(int argc, char **argv) {
    cli_args a;
    if (parse_args("memory", argc, argv, "task,config,set,data-dir,steps,algos,csv", &a)) return SBO_EXIT_USAGE;
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    if (apply_data_dir(tt, &a)) return SBO_EXIT_USAGE;
    long steps = 3;
    if (a.steps) {
        char *end = NULL;
        errno = 0;
        steps = strtol(a.steps, &end, 10);
        if (errno || !a.steps[0] || *end || steps < 0 || steps > 1000000)
            return usage_error("--steps '%s' is not an integer in [0, 1000000]; pass e.g. --steps 3", a.steps);
    }
    const sbo_algo_type *algos[MEM_MAX_ALGOS];
    int n_algos = parse_algos(a.algos, algos, MEM_MAX_ALGOS);
    if (n_algos < 0) return SBO_EXIT_USAGE;
    if (a.csv && check_csv_path(a.csv)) return SBO_EXIT_USAGE;

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

    /* the task-only child: runner and task options */
    sbo_config_init(&cfg);
    for (int i = 0; i < raw.n; i++)
        if (option_in(sbo_run_options, raw.key[i]) || option_in(tt->options, raw.key[i]))
            sbo_config_set(&cfg, raw.key[i], raw.value[i], raw.origin[i], NULL, 0);
    sbo_config_apply_defaults(&cfg, sbo_run_options);
    sbo_config_apply_defaults(&cfg, tt->options);
    static mem_report base, rep[MEM_MAX_ALGOS];
    mem_job job = {.tt = tt, .at = NULL, .cfg = &cfg, .steps = 0};
    if (mem_fork(&job, &base) != 0) {
        fprintf(stderr, "sbo: error: %s\n", base.err);
        return SBO_EXIT_FAILURE;
    }
    if (!base.ok) return usage_error("%s", base.err);

    /* one child per algorithm, with the options it declares (others are ignored for it) */
    for (int i = 0; i < n_algos; i++) {
        sbo_config_init(&cfg);
        for (int k = 0; k < raw.n; k++)
            if (option_in(sbo_run_options, raw.key[k]) || option_in(tt->options, raw.key[k]) ||
                option_in(algos[i]->options, raw.key[k]))
                sbo_config_set(&cfg, raw.key[k], raw.value[k], raw.origin[k], NULL, 0);
        sbo_config_apply_defaults(&cfg, sbo_run_options);
        sbo_config_apply_defaults(&cfg, tt->options);
        sbo_config_apply_defaults(&cfg, algos[i]->options);
        job = (mem_job){.tt = tt, .at = algos[i], .cfg = &cfg, .steps = steps};
        if (mem_fork(&job, &rep[i]) != 0) {
            fprintf(stderr, "sbo: error: %s\n", rep[i].err);
            return SBO_EXIT_FAILURE;
        }
        if (!rep[i].ok) return usage_error("%s", rep[i].err);
    }

    const mem_report *ref = NULL;
    for (int i = 0; i < n_algos; i++)
        if (strcmp(algos[i]->name, "ma_soba") == 0) ref = &rep[i];

    // --- the table
    double max_b = 0;
    for (int i = 0; i < n_algos; i++) {
        double v[] = {rep[i].model_persistent + rep[i].model_work, rep[i].algo_state + rep[i].algo_work,
                      rep[i].arena_peak};
        for (int k = 0; k < 3; k++) if (v[k] > max_b) max_b = v[k];
    }
    mem_unit u = unit_for(max_b), mib = {"MiB", 1024.0 * 1024};
    char b1[32], b2[32], b3[32];
    printf("sbo memory: task %s, d = %d, lower blocks: %s\n", tt->name, base.d, base.blocks);
    printf("  one child process per algorithm: create the task and the algorithm, run %ld step%s, measure\n", steps,
           steps == 1 ? "" : "s");
    fmt_b(base.arena_peak, b1, sizeof b1);
    fmt_b(base.hwm, b2, sizeof b2);
    printf("  task only (a child that creates the task and nothing else): arena peak %s, VmHWM %s\n\n", b1, b2);
    printf("%-16s %-30s | %-38s | %-19s | %s\n", "", "§9 model", "algorithm arenas (measured)",   /* § is 2 bytes */
           "all arenas", "process (MiB)");
    printf("%-16s %9s %9s %9s | %9s %9s %9s %8s | %9s %9s | %9s %9s\n", "algorithm", "state", "work", "total",
           "state", "work", "total", "vs", "peak", "vs", "VmHWM", "- task");
    printf("%-16s %9s %9s %9s | %9s %9s %9s %8s | %9s %9s | %9s %9s\n", "", u.name, u.name, u.name, u.name, u.name,
           u.name, "ma_soba", u.name, "ma_soba", "", "only");
    for (int i = 0; i < n_algos; i++) {
        const mem_report *r = &rep[i];
        char c[12][32];
        if (r->have_model) {
            fmt_u(r->model_persistent, u, c[0], sizeof c[0]);
            fmt_u(r->model_work, u, c[1], sizeof c[1]);
            fmt_u(r->model_persistent + r->model_work, u, c[2], sizeof c[2]);
        } else {
            for (int k = 0; k < 3; k++) snprintf(c[k], sizeof c[k], "-");
        }
        fmt_u(r->algo_state, u, c[3], sizeof c[3]);
        fmt_u(r->algo_work, u, c[4], sizeof c[4]);
        fmt_u(r->algo_state + r->algo_work, u, c[5], sizeof c[5]);
        fmt_ratio(r->algo_state + r->algo_work, ref ? ref->algo_state + ref->algo_work : 0, c[6], sizeof c[6]);
        fmt_u(r->arena_peak, u, c[7], sizeof c[7]);
        fmt_ratio(r->arena_peak, ref ? ref->arena_peak : 0, c[8], sizeof c[8]);
        fmt_u(r->hwm, mib, c[9], sizeof c[9]);
        fmt_u(r->hwm - base.hwm, mib, c[10], sizeof c[10]);
        printf("%-16s %9s %9s %9s | %9s %9s %9s %8s | %9s %9s | %9s %9s\n", algos[i]->name, c[0], c[1], c[2], c[3],
               c[4], c[5], c[6], c[7], c[8], c[9], c[10]);
    }

    // --- arenas by name: one row per arena name, one column per child
    const char *names[MEM_MAX_ARENAS * 2];
    int n_names = 0;
    for (int i = -1; i < n_algos; i++) {
        const mem_report *r = i < 0 ? &base : &rep[i];
        for (int k = 0; k < r->n_arenas; k++) {
            int seen = 0;
            for (int m = 0; m < n_names; m++) seen |= strcmp(names[m], r->arena[k].name) == 0;
            if (!seen && n_names < MEM_MAX_ARENAS * 2) names[n_names++] = r->arena[k].name;
        }
    }
    double max_a = 0;
    for (int i = 0; i < n_algos; i++)
        for (int k = 0; k < rep[i].n_arenas; k++)
            if ((double)rep[i].arena[k].bytes > max_a) max_a = (double)rep[i].arena[k].bytes;
    mem_unit ua = unit_for(max_a);
    int w = 10;
    for (int i = 0; i < n_algos; i++)
        if ((int)strlen(algos[i]->name) + 1 > w) w = (int)strlen(algos[i]->name) + 1;
    printf("\narenas after the steps, by name (%s; algo.* = the algorithm's own arenas; * = differs between "
           "algorithms):\n", ua.name);
    printf("  %-30s %*s", "arena", w, "task only");
    for (int i = 0; i < n_algos; i++) printf(" %*s", w, algos[i]->name);
    printf("\n");
    for (int m = 0; m < n_names; m++) {
        double first = arena_of(&rep[0], names[m]);
        int differs = 0;
        for (int i = 1; i < n_algos; i++) differs |= arena_of(&rep[i], names[m]) != first;
        printf("%c %-30s", differs ? '*' : ' ', names[m]);
        for (int i = -1; i < n_algos; i++) {
            double v = arena_of(i < 0 ? &base : &rep[i], names[m]);
            if (v < 0) snprintf(b3, sizeof b3, "-");
            else fmt_u(v, ua, b3, sizeof b3);
            printf(" %*s", w, b3);
        }
        printf("\n");
    }

    // --- notes
    printf("\nnotes:\n");
    for (int i = 0; i < n_algos; i++) {
        const mem_report *r = &rep[i];
        printf("  %s: %s\n", algos[i]->name, r->note);
        print_log_lines(r->log);
        if (r->diverged_at >= 0)
            printf("      the iterate became non-finite at step %ld (memory measured all the same)\n", r->diverged_at);
    }
    if (!ref) printf("  ma_soba was not measured (--algos), so the 'vs ma_soba' columns are empty\n");
    printf("  model: §9 state + largest live work set. algorithm arenas: its state and work arenas after the steps.\n"
           "  all arenas: the peak of every arena of the child (task data, network engine incl. buffers allocated on\n"
           "  first use, algorithm). VmHWM: the child's peak resident set (runtime and libraries included); '- task\n"
           "  only' subtracts the VmHWM of the task-only child. Arena bytes include < 64 B padding per buffer.\n");
    if (a.csv) {
        int code = write_memory_csv(a.csv, tt, steps, n_algos, algos, rep, &base, ref);
        if (code) return code;
        printf("  numbers (bytes) also in %s\n", a.csv);
    }
    return 0;
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
        return usage_error("missing command; run 'sbo --help' (commands: run, list, memory, oracle-dump, version, help)");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) return cmd_help(NULL);
    if (strcmp(cmd, "help") == 0) {
        if (argc > 3) return usage_error("'sbo help' takes at most one command; e.g. sbo help run");
        return cmd_help(argc > 2 ? argv[2] : NULL);
    }
    if (strcmp(cmd, "--version") == 0) return cmd_version();
    int known = strcmp(cmd, "run") == 0 || strcmp(cmd, "list") == 0 || strcmp(cmd, "memory") == 0 ||
                strcmp(cmd, "version") == 0 || strcmp(cmd, "oracle-dump") == 0;
    if (!known) return usage_error("unknown command '%s'; commands: run, list, memory, oracle-dump, version, help", cmd);
    if (wants_help(argc, argv)) return cmd_help(cmd);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc, argv);
    if (strcmp(cmd, "memory") == 0) return cmd_memory(argc, argv);
    if (strcmp(cmd, "oracle-dump") == 0) return cmd_oracle_dump(argc, argv);
    if (argc > 2) return usage_error("'sbo %s' takes no arguments, got '%s'; see 'sbo %s --help'", cmd, argv[2], cmd);
    if (strcmp(cmd, "list") == 0) return cmd_list();
    return cmd_version();
}
