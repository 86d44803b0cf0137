/* runners/sbo_run.h: the run loop behind `sbo run` (STYLE.md patterns 2, 5, 9, 11, 14): configuration
 * resolution, task + algorithm creation, the results file (docs/SCHEMA.md), timed steps, evaluation
 * outside the timed region, divergence and signal handling. Reusable by tests and drivers.
 * Exercised by: tests/test_cli.c (through the `sbo` binary), `sbo run`. */
#ifndef SBO_RUN_H
#define SBO_RUN_H
#include <stdint.h>
#include <stdio.h>
#include "core/sbo_config.h"        /* sbo_config, sbo_option */
#include "algorithms/algorithm.h"   /* sbo_algo_type, sbo_task_type (through tasks/task.h) */

/* Exit codes of `sbo` (and return values of sbo_run). */
enum {
    SBO_EXIT_OK = 0,             /* status "done" */
    SBO_EXIT_FAILURE = 1,        /* a results write failed mid-run (disk full, ...) */
    SBO_EXIT_USAGE = 2,          /* bad input: nothing was written */
    SBO_EXIT_DIVERGED = 3,       /* status "diverged": a non-finite iterate */
    SBO_EXIT_INTERRUPTED = 130   /* status "interrupted": SIGINT or SIGTERM */
};

/* The runner's own options: run.iters, run.eval_every, run.device. */
extern const sbo_option sbo_run_options[];

/* run.device: where the network engine runs a network task's oracles (sbo_task_type.network). */
typedef enum {
    SBO_DEVICE_CPU = 0,          /* "cpu": sbo_nn_backend_cpu, the default */
    SBO_DEVICE_CPU_GRID = 1,     /* "cpu-grid": sbo_nn_backend_cpu_grid (bit-identical to cpu, slower) */
    SBO_DEVICE_CUDA = 2          /* "cuda": sbo_nn_backend_cuda (a CUDA build and a device) */
} sbo_device;
/* The value of run.device for d ("cpu", "cpu-grid", "cuda"). */
const char *sbo_device_name(sbo_device d);
/* run.device of cfg (unset: cpu), checked against the task type without touching a device: 0 with *dev, or -1 with
 * one line in err (a value not in the list; a device other than cpu for a task that is not a network task). */
int sbo_run_parse_device(const sbo_task_type *tt, const sbo_config *cfg, sbo_device *dev, char *err, size_t errlen);
/* sbo_run_parse_device, then makes the device's backend the process-wide default of the network engine
 * (sbo_nn_set_default_backend: cpu sets NULL, the built-in default). Call it BEFORE the task is created: the tasks
 * create their executors on the default backend. cuda needs a CUDA build and a device here (sbo_cuda_available),
 * else -1 with the reason and the fix in err and nothing changed. *be (may be NULL) receives the backend; *dev
 * (may be NULL) the device. sbo_run and sbo_oracle_dump call it; `sbo memory` calls it in each measuring child. */
struct sbo_nn_backend;
int sbo_run_select_device(const sbo_task_type *tt, const sbo_config *cfg, sbo_device *dev,
                          const struct sbo_nn_backend **be, char *err, size_t errlen);
/* The root attributes device (run.device), backend (the backend's name) and, for cuda, device_info
 * (sbo_cuda_versions) of a results file or an oracle dump (docs/SCHEMA.md). 0, or -1 when a write failed. */
struct sbo_h5;
int sbo_run_write_device(struct sbo_h5 *f, sbo_device dev, const struct sbo_nn_backend *be);

/* Resolve a configuration: ini_path (NULL: none), then the n_sets "section.key=value" strings, then the
 * defaults of the runner, task type and algorithm type tables (algo_type NULL: runner + task only).
 * Unknown keys are rejected. 0, or -1 with a one-line message in err. */
int sbo_run_resolve_config(const sbo_task_type *task_type, const sbo_algo_type *algo_type, const char *ini_path,
                           const char *const *sets, int n_sets, sbo_config *cfg, char *err, size_t errlen);
/* The configuration of a command that runs no algorithm (sbo oracle-dump): the file and --sets are checked against the
 * runner's, the task's and EVERY algorithm's options (a task's own config file, with its [algo] section, is accepted;
 * a typo is still an error), then only the runner's and the task's keys are kept, with their defaults. */
int sbo_run_resolve_task_config(const sbo_task_type *task_type, const char *ini_path, const char *const *sets,
                                int n_sets, sbo_config *cfg, char *err, size_t errlen);
/* Checks every key of raw against the runner's, the task's and every algorithm's options. 0, or -1 with a message. */
int sbo_run_check_known_any(const sbo_config *raw, const sbo_task_type *task_type, char *err, size_t errlen);

typedef struct {
    const sbo_task_type *task_type;
    const sbo_algo_type *algo_type;
    const sbo_config *cfg;       /* resolved (sbo_run_resolve_config) */
    uint64_t seed;
    const char *out_path;
    int argc;                    /* recorded as the command_line attribute */
    char **argv;
    int progress;                /* -1: only when stderr is a terminal; 0: never; 1: always */
    int handle_signals;          /* 1: SIGINT/SIGTERM finish the current step, then status "interrupted" */
    FILE *info;                  /* human-readable summary (memory table, algorithm log, result) or NULL */
    long checkpoint_every;       /* > 0: keep the state needed to continue in /checkpoint every this many iterations */
    const char *resume_from;     /* a results file of this configuration: continue from its checkpoint (or from
                                  * the start when it has none); its rows up to the checkpoint are kept */
} sbo_run_spec;

typedef struct {
    char status[16];             /* "done", "diverged", "interrupted", or "" when nothing ran */
    long iterations;             /* steps completed */
    long rows;                   /* rows in /curves */
    double step_time_s;          /* wall time inside step calls */
} sbo_run_result;

/* Runs one configuration and returns an SBO_EXIT_* code. Creation errors (bad configuration, rank above
 * dimension, unwritable output) return SBO_EXIT_USAGE with a one-line message in err and leave no output
 * file. Divergence returns SBO_EXIT_DIVERGED with the message in err (the file is kept, status "diverged").
 * res may be NULL. */
int sbo_run(const sbo_run_spec *spec, sbo_run_result *res, char *err, size_t errlen);

/* The live arenas of the process grouped by name, in creation order (arenas of the same name are summed): the
 * memory_arenas attribute of every results file and the per-arena breakdown of `sbo memory`. */
typedef struct {
    char name[48];
    size_t bytes;                /* padding included (sbo_arena_bytes) */
    int count;                   /* live arenas of that name */
    int device;                  /* they hold device memory (a device backend's engine arenas): their bytes count in
                                  * sbo_arena_device_*_bytes, not in the host peak */
} sbo_arena_total;

/* Fills out[0 .. max-1]; returns the number of distinct names (names past max are summed into the last entry,
 * renamed "(other)"). */
int sbo_run_arena_totals(sbo_arena_total *out, int max);
/* The same as one string "name=bytes;name=bytes" (bytes as integers). Returns 0, or -1 when buf was too short
 * (then it holds as many whole entries as fit). */
int sbo_run_arena_summary(char *buf, size_t len);

/* The options set by --config or --set (not defaults) that algorithm at declares but does not read
 * (sbo_algo_type.unread_options), as "algo.rank, algo.theta" into buf (cut to len). Returns the full length; 0:
 * none. `sbo run` warns about them on stderr and records them as the unread_options attribute. */
size_t sbo_run_unread_options(const sbo_algo_type *at, const sbo_config *cfg, char *buf, size_t len);

/* Parse a seed: a decimal integer in [0, 2^63 - 1]. 0, or -1 with err. */
int sbo_parse_seed(const char *s, uint64_t *seed, char *err, size_t errlen);
#endif
