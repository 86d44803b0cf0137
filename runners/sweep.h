/* runners/sweep.h: `sbo sweep CONFIG.ini`: a grid of `sbo run`s described by the config's [sweep] section, run
 * locally N at a time or as a Slurm job array, with a manifest, skip / resume / rerun logic and per-run logs
 * (runners/sweep.c; formats in docs/SCHEMA.md, messages in docs/ERRORS.md). runners/main.c parses the command
 * line into sbo_sweep_opts. Exercised by: tests/test_sweep.c, tests/test_slurm.sh,
 * `sbo sweep configs/sweep_example.ini --jobs 2`. */
#ifndef SBO_SWEEP_H
#define SBO_SWEEP_H
#include <stddef.h>

typedef struct {
    const char *config;       /* CONFIG.ini: [sweep] plus the base configuration */
    const char *out;          /* --out DIR, or NULL: results/sweeps/<config stem> */
    long jobs;                /* --jobs N (>= 1) */
    int slurm;                /* --slurm: write DIR/sweep.sbatch and submit it with a dependent summary job */
    int dry_run;              /* --dry-run: print the plan (and the scripts), run and write nothing */
    int rerun_failed;         /* --rerun-failed: start failed runs over (default: leave them, report them) */
    long run_index;           /* --run-index I (a Slurm array task): only run I; -1: every run */
    int fresh;                /* --fresh: remove this sweep's run files, logs and manifest rows first */
    int n_sets;               /* --set KEY=VALUE overrides: sweep.* keys of [sweep], others of the base config */
    const char **sets;
    int validate_only;        /* stop after parsing and checking (fuzz/fuzz_cli.c) */
    int argc;                 /* the command line, for the sweep's own messages */
    char **argv;
} sbo_sweep_opts;

/* Room for a message that names paths and a run. */
#define SBO_SWEEP_ERR_LEN 8192

/* Runs the sweep. Returns 0 (every run done), 1 (some run failed or could not start), 2 (bad input: nothing
 * written; the one-line message is in err), 130 (interrupted by SIGINT or SIGTERM: the children were stopped and
 * a re-run resumes them). */
int sbo_sweep(const sbo_sweep_opts *o, char *err, size_t errlen);

/* `sbo sweep ...` from the command line (argv[1] is "sweep"): parses the options, runs sbo_sweep, prints its one
 * error line. validate_only: stop once everything is checked (sbo_main_validate_only). Returns the exit code. */
int sbo_sweep_command(int argc, char **argv, int validate_only);
extern const char *const sbo_sweep_help;   /* sbo sweep --help */
#endif
