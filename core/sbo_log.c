/* core/sbo_log.c: see sbo_log.h. */
#include "core/sbo_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sbo_log_appendf(char *buf, size_t len, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
    used = strlen(buf);
    if (used + 1 < len && (used == 0 || buf[used - 1] != '\n')) {
        buf[used] = '\n';
        buf[used + 1] = 0;
    }
}

void sbo_errf(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
