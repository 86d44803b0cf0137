/* core/sbo_input.h: opening the files a run reads (the --config INI, the IDX data files) safely, and remembering
 * them, so that the results file can never replace one of them (docs/ERRORS.md).
 * An input must be a regular file (after following symlinks): a directory would read as empty, a FIFO or a device
 * can block forever. Every input opened here is remembered by device and inode for sbo_input_is_one.
 * Exercised by: tests/test_inputs.c (FIFOs, directories, --out naming an input), tests/test_idx.c. */
#ifndef SBO_INPUT_H
#define SBO_INPUT_H
#include <stddef.h>
#include <sys/stat.h>

/* Opens path read-only without blocking (a FIFO with no writer would block open(2)), checks that it is a regular
 * file, remembers it and returns the file descriptor (blocking again, close-on-exec). -1 with a one-line message in
 * err: "<what> '<path>': <problem>; <fix>". what names the input in the message, e.g. "config file". */
int sbo_input_open(const char *path, const char *what, const char *fix, char *err, size_t errlen);

/* "a directory", "a FIFO (named pipe)", "a character device", ... for st_mode. */
const char *sbo_file_kind(mode_t mode);

/* 1 when st (a stat of a would-be output) is the same file (device and inode) as an input opened so far. */
int sbo_input_is_one(const struct stat *st);
/* The path under which that input was opened (for the message), or "" when it is none. */
const char *sbo_input_name(const struct stat *st);
#endif
