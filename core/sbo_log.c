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

/* Length of the valid UTF-8 sequence at p (2..4 bytes, no overlong form, no surrogate, no C1 control), or 0. */
static int utf8_len(const unsigned char *p) {
    int n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
    if (!n) return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    unsigned cp = n == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu)
                : n == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu)
                         : (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
    if (cp < 0xa0 || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void sbo_fput_escaped(const char *msg, FILE *out) {
    for (const unsigned char *p = (const unsigned char *)msg; *p;) {
        if (*p >= 0x20 && *p < 0x7f) {
            fputc(*p++, out);
            continue;
        }
        int n = *p >= 0x80 ? utf8_len(p) : 0;
        if (n) {
            fwrite(p, 1, (size_t)n, out);
            p += n;
        } else {
            fprintf(out, "\\x%02x", *p++);
        }
    }
}

void sbo_print_error(const char *prefix, const char *msg) {
    fputs(prefix, stderr);
    sbo_fput_escaped(msg, stderr);
    fputc('\n', stderr);
}
