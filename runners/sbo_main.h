/* runners/sbo_main.h: the `sbo` command as a function, so that a harness can call it in-process.
 * runners/main.c defines both; its main() is `return sbo_main(argc, argv);` (compiled out with SBO_MAIN_NO_MAIN).
 * Exercised by: tests/test_cli.c (through the binary), fuzz/fuzz_cli.c (in-process, validate-only). */
#ifndef SBO_MAIN_H
#define SBO_MAIN_H

/* The whole command line of `sbo` (argv[0] the program name); returns the exit code (SBO_EXIT_*). */
int sbo_main(int argc, char **argv);

/* 1: `run`, `oracle-dump` and `memory` stop with SBO_EXIT_OK once their arguments and the configuration are
 * resolved and checked (sbo_run_resolve_config): nothing is run, created or written. 0 (the default): the command. */
extern int sbo_main_validate_only;
#endif
