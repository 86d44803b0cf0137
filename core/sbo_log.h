/* core/sbo_log.h: the creation logs of tasks and algorithms (what was decided and checked, one item per line)
 * are fixed-size text buffers; this appends one formatted line to such a buffer, truncating safely. Also the
 * writer of the one-line error messages (err, errlen) that library calls return.
 * Exercised by: tests/test_matrix.c (log contents), `sbo run` (prints the logs). */
#ifndef SBO_LOG_H
#define SBO_LOG_H
#include <stddef.h>
#include <stdio.h>

/* Appends printf-style text to the NUL-terminated buf (capacity len) and ends it with a newline. Text that does
 * not fit is cut; buf stays NUL-terminated. */
void sbo_log_appendf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes a one-line error message into err (capacity errlen; nothing when err is NULL or errlen is 0). */
void sbo_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes msg to out with every byte that could upset a terminal escaped as \xNN: control bytes (a newline too, so a
 * message stays one line), DEL and bytes that are not valid UTF-8 (or encode a C1 control). Printable ASCII and valid
 * UTF-8 text (file names with accents) pass unchanged. */
void sbo_fput_escaped(const char *msg, FILE *out);
/* One line on stderr: prefix as is, then msg escaped (sbo_fput_escaped), then a newline. E.g. prefix "sbo: error: ". */
void sbo_print_error(const char *prefix, const char *msg);
#endif
