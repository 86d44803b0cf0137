/* runners/main.c: the `sbo` command: run, list, memory, oracle-dump, sweep, summarize, version, help. Parses the arguments and
 * dispatches: the run loop is runners/sbo_run.c, `sbo memory`'s measurements and report runners/memory_report.c,
 * `sbo oracle-dump` runners/oracle_dump.c, `sbo sweep` runners/sweep.c, `sbo summarize` runners/summarize.c.
 * Every bad input prints ONE line "sbo: error: <problem>; <fix>" on stderr and exits 2 (SBO_EXIT_USAGE).
 * Try: sbo --help;  sbo list;  sbo run --task counterexample --algo bros --seed 1 --out /tmp/x.h5;
 *      sbo memory --task counterexample;  sbo memory --task data_cleaning --set task.model=mlp;  sbo version.
 * main() is sbo_main (runners/sbo_main.h), which fuzz/fuzz_cli.c calls with sbo_main_validate_only set.
 * Exercised by: tests/test_cli.c, fuzz/fuzz_cli.c. */
#include "runners/sbo_main.h"       /* sbo_main, sbo_main_validate_only */
#include "runners/sbo_run.h"        /* sbo_run, configuration resolution, exit codes */
#include "runners/sbo_h5.h"         /* schema version */
#include "runners/oracle_dump.h"    /* sbo oracle-dump */
#include "runners/memory_report.h"  /* sbo memory */
#include "runners/sweep.h"          /* sbo sweep */
#include "runners/summarize.h"      /* sbo summarize */
#include "core/sbo_blas.h"          /* BLAS vendor and core name */
#include "core/sbo_log.h"           /* sbo_print_error: one escaped line on stderr */
#include "sbo_build_info.h"         /* version, commit, build flags (generated) */

#include <hdf5.h>
#include <zlib.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 256

int sbo_main_validate_only = 0;

/* Bytes from the user (paths, config text) are escaped: a binary config file must not reach the terminal raw. */
static int usage_error(const char *fmt, ...) {
    char msg[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sbo_print_error("sbo: error: ", msg);
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
    "  sweep     a grid of runs from a config's [sweep] section: locally N at a time, or as a Slurm job array\n"
    "  summarize tables of a directory of run files: median and 20-80% band over seeds, per configuration\n"
    "  help CMD  help for a command (or: sbo CMD --help)\n"
    "\n"
    "exit codes: 0 done, 1 results write failed, 2 bad input (nothing written), 3 diverged, 130 interrupted.\n"
    "bad inputs and their messages: docs/ERRORS.md\n"
    "results schema: docs/SCHEMA.md\n";

static const char *const help_run =
    "usage: sbo run --task T --algo A --seed S --out FILE.h5 [--config FILE.ini] [--set key=value ...]\n"
    "               [--data-dir DIR] [--device D]\n"
    "\n"
    "Runs algorithm A on task T for run.iters iterations, evaluating the task's metrics at k = 0, every\n"
    "run.eval_every iterations and at the end, and writes FILE.h5 (schema: docs/SCHEMA.md). Only the\n"
    "algorithm's steps are timed.\n"
    "\n"
    "options:\n"
    "  --task T          task name (sbo list)\n"
    "  --algo A          algorithm name (sbo list)\n"
    "  --seed S          integer seed in [0, 2^63-1]; same seed, same build, one thread: identical curves\n"
    "  --out FILE.h5     results file; parent directories are created, an existing regular file is replaced\n"
    "                    (a symlink to one: its target); anything else there, or one of the run's inputs, is\n"
    "                    refused (docs/ERRORS.md)\n"
    "  --config FILE     INI file with sections [run], [task], [algo], e.g.  [algo]\\n alpha = 0.01\n"
    "  --set key=value   override one option, e.g. --set algo.alpha=0.01 (repeatable; wins over --config)\n"
    "  --data-dir DIR    the image data set's directory, e.g. /usr/share/datasets/fashion-mnist: the same as\n"
    "                    --set task.data_dir=DIR (image tasks only; a task that reads no data refuses it)\n"
    "  --device D        where the network tasks run their network's oracles: cpu (default), cpu-grid (every\n"
    "                    kernel one index per emulated GPU thread: bit-identical to cpu, slower) or cuda (needs a\n"
    "                    CUDA build and a GPU; refused, exit 2, otherwise). The same as --set run.device=D; the\n"
    "                    file records device, backend (and device_info for cuda). Other tasks take only cpu\n"
    "  --quiet           no summary on stdout\n"
    "  --checkpoint-every N\n"
    "                    keep in FILE.h5 (/checkpoint) the state needed to continue, every N iterations\n"
    "  --resume FILE.h5  continue the run of FILE.h5 from its last checkpoint (from the start when it has none),\n"
    "                    with its task, algorithm, seed and configuration; it keeps its rows up to the checkpoint\n"
    "                    and writes to FILE.h5 (or --out). The curves equal an uninterrupted run's, time aside.\n"
    "                    A complete file is left as it is. Takes only --out, --checkpoint-every and --quiet.\n"
    "\n"
    "Configuration: defaults of the option tables, then --config, then --set; unknown keys are errors.\n"
    "The file's memory_* root attributes hold the memory after the last step (docs/SCHEMA.md).\n"
    "SIGINT/SIGTERM: the current step finishes, the file gets status \"interrupted\", exit code 130.\n"
    "A non-finite iterate: status \"diverged\", exit code 3. Progress is shown when stderr is a terminal.\n";

static const char *const help_list =
    "usage: sbo list\n"
    "\n"
    "Prints every task and algorithm with a description, and every option (section.key, default, help),\n"
    "including the runner's own run.iters, run.eval_every and run.device.\n";

static const char *const help_memory =
    "usage: sbo memory --task T [--config FILE.ini] [--set key=value ...] [--data-dir DIR] [--steps N]\n"
    "                  [--algos a,b,...] [--csv FILE.csv] [--device D]\n"
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
    "  --device D        cpu (default), cpu-grid or cuda: the same as --set run.device=D (network tasks only); a\n"
    "                    device backend adds the device arena peak, and cuda the device's used bytes\n"
    "                    (cudaMemGetInfo) before the task and after the steps\n"
    "  --steps N         steps per algorithm before measuring, N >= 0 (default 3)\n"
    "  --algos a,b,...   comma-separated algorithms, in the order to print (default: all, as in sbo list)\n"
    "  --csv FILE        also write the numbers (bytes, unformatted) as CSV with a header, one row per algorithm\n";

static const char *const help_oracle_dump =
    "usage: sbo oracle-dump --task T --seed S --out FILE.h5 [--config FILE.ini] [--set key=value ...] [--data-dir DIR]\n"
    "                       [--device D]\n"
    "\n"
    "Writes a point (x, Y: the task's init for seed S plus a Gaussian perturbation), one lower and one upper\n"
    "minibatch (positions, and for image tasks the inputs as fed, labels and sample ids), directions V and Z, a\n"
    "Haar subspace P (r = ceil(m/2) on blocks with m > 1) with a reduced direction X, and every oracle there:\n"
    "grad_Y g, grad_Y f, grad_x f, H[V], J[Z], P^T grad_Y g, P^T H[P X], P^T grad_Y f. Image tasks also record\n"
    "their networks as text and the minibatch losses. Layout: docs/SCHEMA.md (oracle dumps);\n"
    "paper_figures/check_oracle_dump.py re-computes everything with an independent NumPy implementation.\n"
    "--config may be a task's own experiment file: its algo.* keys are checked (a typo is an error) and ignored.\n"
    "--device D (cpu, cpu-grid, cuda; the same as --set run.device=D): the backend of the network's oracles; the\n"
    "dump records it (device, backend). A cpu-grid dump equals the cpu dump bit for bit.\n";

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
    else if (strcmp(cmd, "sweep") == 0) fputs(sbo_sweep_help, stdout);
    else if (strcmp(cmd, "summarize") == 0) fputs(sbo_summarize_help, stdout);
    else if (strcmp(cmd, "help") == 0) fputs(help_main, stdout);
    else return usage_error("no help for unknown command '%s'; commands: run, list, memory, oracle-dump, sweep, summarize, version, help", cmd);
    return 0;
}

static int wants_help(int argc, char **argv) {
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

// --- argument parsing (run, memory) -------------------------------------------------------------

typedef struct {
    const char *task, *algo, *seed, *out, *config, *data_dir, *steps, *algos, *csv, *checkpoint_every, *resume;
    const char *device;
    const char *sets[MAX_SETS + 2];   /* + 2: room for --data-dir's task.data_dir=DIR and --device's run.device=D */
    int n_sets, quiet;
    char data_dir_set[sizeof "task.data_dir=" + SBO_CONFIG_VALUE_LEN];
    char device_set[sizeof "run.device=" + 64];
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
        else if (strcmp(name, "checkpoint-every") == 0) a->checkpoint_every = val;
        else if (strcmp(name, "resume") == 0) a->resume = val;
        else if (strcmp(name, "device") == 0) a->device = val;
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

/* --device D: appended to the --set list as run.device=D (checked, with the task, where the backend is chosen:
 * sbo_run_select_device). */
static int apply_device(cli_args *a) {
    if (!a->device) return 0;
    for (int i = 0; i < a->n_sets; i++)
        if (strncmp(a->sets[i], "run.device=", 11) == 0)
            return usage_error("both --device and --set %s given; keep one", a->sets[i]);
    if (strlen(a->device) >= sizeof a->device_set - sizeof "run.device=")
        return usage_error("--device '%.64s...' is not a device; valid devices: cpu, cpu-grid, cuda", a->device);
    snprintf(a->device_set, sizeof a->device_set, "run.device=%s", a->device);
    a->sets[a->n_sets++] = a->device_set;
    return 0;
}

// --- run -----------------------------------------------------------------------------------------

/* --resume FILE: the task, algorithm, seed and configuration of FILE's run, as if given on the command line. The
 * sets point into lines (config lines "key = value" become "key=value"). 0, or an exit code. */
static int resume_args(cli_args *a, char *lines, size_t len, char *seed_buf, size_t seed_len, long *ckpt, int *done) {
    if (a->task || a->algo || a->seed || a->config || a->n_sets || a->data_dir || a->device)
        return usage_error("--resume takes the task, algorithm, seed and configuration from '%s'; drop --task, "
                           "--algo, --seed, --config, --set, --data-dir and --device", a->resume);
    static char task[64], algo[64], status[32], every[32];
    if (sbo_h5_read_attr_str(a->resume, "/", "task", task, sizeof task) != 0 ||
        sbo_h5_read_attr_str(a->resume, "/", "algorithm", algo, sizeof algo) != 0 ||
        sbo_h5_read_attr_str(a->resume, "/", "seed", seed_buf, seed_len) != 0 ||
        sbo_h5_read_attr_str(a->resume, "/", "status", status, sizeof status) != 0 ||
        sbo_h5_read_attr_str(a->resume, "/", "config", lines, len) != 0)
        return usage_error("'%s' is not a results file of 'sbo run' (see the message above); pass one to --resume",
                           a->resume);
    *done = strcmp(status, "done") == 0;
    *ckpt = 0;
    if (sbo_h5_read_attr_str(a->resume, "/", "checkpoint_every", every, sizeof every) == 0) *ckpt = atol(every);
    a->task = task;
    a->algo = algo;
    a->seed = seed_buf;
    for (char *p = lines; *p && a->n_sets < MAX_SETS;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        char *eq = strstr(p, " = ");
        if (eq) {
            memmove(eq + 1, eq + 3, strlen(eq + 3) + 1);   /* "key = value" -> "key=value" */
            *eq = '=';
            a->sets[a->n_sets++] = p;
        }
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

static int cmd_run(int argc, char **argv) {
    cli_args a;
    if (parse_args("run", argc, argv, "task,algo,seed,out,config,set,data-dir,device,quiet,checkpoint-every,resume",
                   &a))
        return SBO_EXIT_USAGE;
    long checkpoint_every = 0;
    int already_done = 0;
    /* room for the whole config attribute: every key with a value of the longest length */
    static char resume_lines[SBO_CONFIG_MAX * (64 + SBO_CONFIG_VALUE_LEN + 8)], resume_seed[32];
    if (a.resume) {
        int rc = resume_args(&a, resume_lines, sizeof resume_lines, resume_seed, sizeof resume_seed,
                             &checkpoint_every, &already_done);
        if (rc) return rc;
        if (!a.out) a.out = a.resume;
        if (already_done && strcmp(a.out, a.resume) == 0) {
            if (!a.quiet) printf("sbo run: '%s' is complete (status done); nothing to resume\n", a.resume);
            return SBO_EXIT_OK;
        }
    }
    if (a.checkpoint_every) {
        char *end;
        checkpoint_every = strtol(a.checkpoint_every, &end, 10);
        if (end == a.checkpoint_every || *end || checkpoint_every < 1)
            return usage_error("--checkpoint-every '%s' must be a positive number of iterations, e.g. "
                               "--checkpoint-every 100", a.checkpoint_every);
    }
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    if (apply_data_dir(tt, &a) || apply_device(&a)) return SBO_EXIT_USAGE;
    const sbo_algo_type *at = find_algo(a.algo);
    if (!at) return SBO_EXIT_USAGE;
    char err[SBO_ERR_LEN * 2];
    if (!a.seed) return usage_error("missing --seed; pass e.g. --seed 1 (runs are reproducible per seed)");
    uint64_t seed;
    if (sbo_parse_seed(a.seed, &seed, err, sizeof err)) return usage_error("%s", err);
    if (!a.out) return usage_error("missing --out; pass e.g. --out results/%s_%s_seed%s.h5", tt->name, at->name, a.seed);
    sbo_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return usage_error("out of memory");
    sbo_device dev;
    if (sbo_run_resolve_config(tt, at, a.config, a.sets, a.n_sets, cfg, err, sizeof err) ||
        sbo_run_parse_device(tt, cfg, &dev, err, sizeof err)) {
        free(cfg);
        return usage_error("%s", err);
    }
    if (sbo_main_validate_only) {
        free(cfg);
        return SBO_EXIT_OK;
    }
    /* Options the algorithm never reads: a warning, not an error, so one config can serve every method of a sweep */
    char unread[1024];
    if (sbo_run_unread_options(at, cfg, unread, sizeof unread) > 0) {
        char warn[1400];
        snprintf(warn, sizeof warn, "%s does not read %s: set but without effect on this run (recorded as "
                 "unread_options); drop it, or see 'sbo list' for what each method reads", at->name, unread);
        sbo_print_error("sbo: warning: ", warn);
    }
    sbo_run_spec spec = {.task_type = tt, .algo_type = at, .cfg = cfg, .seed = seed, .out_path = a.out,
                         .argc = argc, .argv = argv, .progress = -1, .handle_signals = 1,
                         .info = a.quiet ? NULL : stdout, .checkpoint_every = checkpoint_every,
                         .resume_from = a.resume};
    int code = sbo_run(&spec, NULL, err, sizeof err);
    free(cfg);
    if (code == SBO_EXIT_INTERRUPTED) sbo_print_error("sbo: ", err);
    else if (code != SBO_EXIT_OK) sbo_print_error("sbo: error: ", err);
    return code;
}

// --- oracle-dump -----------------------------------------------------------------------------------

static int cmd_oracle_dump(int argc, char **argv) {
    cli_args a;
    if (parse_args("oracle-dump", argc, argv, "task,seed,out,config,set,data-dir,device", &a)) return SBO_EXIT_USAGE;
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    if (apply_data_dir(tt, &a) || apply_device(&a)) return SBO_EXIT_USAGE;
    char err[SBO_ERR_LEN * 2];
    if (!a.seed) return usage_error("missing --seed; pass e.g. --seed 1");
    uint64_t seed;
    if (sbo_parse_seed(a.seed, &seed, err, sizeof err)) return usage_error("%s", err);
    if (!a.out) return usage_error("missing --out; pass e.g. --out %s_oracles.h5", tt->name);
    sbo_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return usage_error("out of memory");
    sbo_device dev;
    if (sbo_run_resolve_task_config(tt, a.config, a.sets, a.n_sets, cfg, err, sizeof err) ||
        sbo_run_parse_device(tt, cfg, &dev, err, sizeof err)) {
        free(cfg);
        return usage_error("%s", err);
    }
    if (sbo_main_validate_only) {
        free(cfg);
        return SBO_EXIT_OK;
    }
    int code = sbo_oracle_dump(tt, cfg, seed, a.out, argc, argv, err, sizeof err);
    free(cfg);
    if (code) sbo_print_error("sbo: error: ", err);
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

// --- memory (runners/memory_report.c) ------------------------------------------------------------

static int cmd_memory(int argc, char **argv) {
    cli_args a;
    if (parse_args("memory", argc, argv, "task,config,set,data-dir,device,steps,algos,csv", &a)) return SBO_EXIT_USAGE;
    const sbo_task_type *tt = find_task(a.task);
    if (!tt) return SBO_EXIT_USAGE;
    if (apply_data_dir(tt, &a) || apply_device(&a)) return SBO_EXIT_USAGE;
    long steps = 3;
    if (a.steps) {
        char *end = NULL;
        errno = 0;
        steps = strtol(a.steps, &end, 10);
        if (errno || !a.steps[0] || *end || steps < 0 || steps > 1000000)
            return usage_error("--steps '%s' is not an integer in [0, 1000000]; pass e.g. --steps 3", a.steps);
    }
    if (sbo_main_validate_only) {   /* the configuration sbo_memory_report resolves (algo.* checked per algorithm) */
        char err[SBO_ERR_LEN * 2];
        sbo_config *cfg = malloc(sizeof *cfg);
        if (!cfg) return usage_error("out of memory");
        sbo_device dev;
        int bad = sbo_run_resolve_config(tt, NULL, a.config, a.sets, a.n_sets, cfg, err, sizeof err) ||
                  sbo_run_parse_device(tt, cfg, &dev, err, sizeof err);
        free(cfg);
        return bad ? usage_error("%s", err) : SBO_EXIT_OK;
    }
    sbo_memory_report_opts o = {.task = tt, .config = a.config, .sets = a.sets, .n_sets = a.n_sets, .steps = steps,
                                .algos = a.algos, .csv = a.csv};
    static char err[SBO_MEMORY_REPORT_ERR_LEN];
    int code = sbo_memory_report(&o, err, sizeof err);
    if (code) sbo_print_error("sbo: error: ", err);
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

int sbo_main(int argc, char **argv) {
    if (argc < 2)
        return usage_error("missing command; run 'sbo --help' (commands: run, list, memory, oracle-dump, sweep, summarize, version, help)");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) return cmd_help(NULL);
    if (strcmp(cmd, "help") == 0) {
        if (argc > 3) return usage_error("'sbo help' takes at most one command; e.g. sbo help run");
        return cmd_help(argc > 2 ? argv[2] : NULL);
    }
    if (strcmp(cmd, "--version") == 0) return cmd_version();
    int known = strcmp(cmd, "run") == 0 || strcmp(cmd, "list") == 0 || strcmp(cmd, "memory") == 0 ||
                strcmp(cmd, "version") == 0 || strcmp(cmd, "oracle-dump") == 0 || strcmp(cmd, "sweep") == 0 ||
                strcmp(cmd, "summarize") == 0;
    if (!known) return usage_error("unknown command '%s'; commands: run, list, memory, oracle-dump, sweep, summarize, version, help", cmd);
    if (wants_help(argc, argv)) return cmd_help(cmd);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc, argv);
    if (strcmp(cmd, "memory") == 0) return cmd_memory(argc, argv);
    if (strcmp(cmd, "oracle-dump") == 0) return cmd_oracle_dump(argc, argv);
    if (strcmp(cmd, "sweep") == 0) return sbo_sweep_command(argc, argv, sbo_main_validate_only);
    if (strcmp(cmd, "summarize") == 0) return sbo_summarize_command(argc, argv, sbo_main_validate_only);
    if (argc > 2) return usage_error("'sbo %s' takes no arguments, got '%s'; see 'sbo %s --help'", cmd, argv[2], cmd);
    if (strcmp(cmd, "list") == 0) return cmd_list();
    return cmd_version();
}

#ifndef SBO_MAIN_NO_MAIN
int main(int argc, char **argv) { return sbo_main(argc, argv); }
#endif
