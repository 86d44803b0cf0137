/* runners/summarize.h: `sbo summarize DIR [--csv FILE] [--md FILE]` (runners/summarize.c): every run file under DIR
 * grouped by (task, algorithm, configuration without the seed, commit), one table per task with the median and the
 * 20-80% band over seeds of each metric's final and best value, and the oracle calls, step time and memory peaks.
 * Formats: docs/SCHEMA.md ("Sweep summaries"). Exercised by: tests/test_sweep.c, tests/test_slurm.sh. */
#ifndef SBO_SUMMARIZE_H
#define SBO_SUMMARIZE_H

/* `sbo summarize ...` from the command line (argv[1] is "summarize"). Returns the exit code: 0, 1 (an output file
 * could not be written), 2 (bad input, nothing written). */
int sbo_summarize_command(int argc, char **argv, int validate_only);
extern const char *const sbo_summarize_help;   /* sbo summarize --help */
#endif
