/* core/sbo_config.c: run configuration as "section.key" -> value (STYLE.md pattern 12: configuration
 * validated up front, every error one line naming where it came from and how to fix it).
 * INI files are parsed by inih; [section] + key become "section.key".
 * Exercised by: build/tests/test_config, tests/test_cli.c. */
#include "core/sbo_config.h"   /* the interface */
#include "core/sbo_log.h"   /* sbo_errf */
#include "core/sbo_input.h" /* sbo_input_open: regular files only, remembered */

#include <ini.h>               /* inih: ini_parse_stream */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sbo_config_init(sbo_config *c) {
    memset(c, 0, sizeof *c);
}

static int find_key(const sbo_config *c, const char *key) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->key[i], key) == 0) return i;
    return -1;
}

int sbo_config_set(sbo_config *c, const char *key, const char *value, const char *origin, char *err, size_t errlen) {
    if (strlen(key) >= sizeof c->key[0]) {
        sbo_errf(err, errlen, "option name '%.40s...' is longer than %zu characters; shorten it",
                key, sizeof c->key[0] - 1);
        return -1;
    }
    if (strlen(value) >= sizeof c->value[0]) {
        sbo_errf(err, errlen, "value of '%s' is longer than %zu characters; shorten it", key, sizeof c->value[0] - 1);
        return -1;
    }
    int i = find_key(c, key);
    if (i < 0) {
        if (c->n >= SBO_CONFIG_MAX) {
            sbo_errf(err, errlen, "too many options (more than %d) when setting '%s'; raise SBO_CONFIG_MAX in "
                    "core/sbo_config.h", SBO_CONFIG_MAX, key);
            return -1;
        }
        i = c->n++;
        snprintf(c->key[i], sizeof c->key[i], "%s", key);
    }
    snprintf(c->value[i], sizeof c->value[i], "%s", value);
    snprintf(c->origin[i], sizeof c->origin[i], "%s", origin ? origin : "");
    return 0;
}

/* Copies s[0..n) without surrounding whitespace into out (size outlen); -1 when it does not fit. */
static int trim_copy(const char *s, size_t n, char *out, size_t outlen) {
    while (n > 0 && isspace((unsigned char)s[0])) { s++; n--; }
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n >= outlen) return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A key is "section.key": a non-empty section, a dot, a non-empty rest, no whitespace or '='. */
static int key_is_qualified(const char *key) {
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || dot[1] == '\0') return 0;
    for (const char *p = key; *p; p++)
        if (isspace((unsigned char)*p) || *p == '=') return 0;
    return 1;
}

int sbo_config_set_arg(sbo_config *c, const char *arg, char *err, size_t errlen) {
    const char *eq = strchr(arg, '=');
    if (!eq) {
        sbo_errf(err, errlen, "--set '%s': expected section.key=value, e.g. --set algo.alpha=0.01", arg);
        return -1;
    }
    char key[sizeof c->key[0]], value[sizeof c->value[0]];
    if (trim_copy(arg, (size_t)(eq - arg), key, sizeof key) != 0) {
        sbo_errf(err, errlen, "--set '%s': option name longer than %zu characters", arg, sizeof key - 1);
        return -1;
    }
    if (trim_copy(eq + 1, strlen(eq + 1), value, sizeof value) != 0) {
        sbo_errf(err, errlen, "--set '%s': value longer than %zu characters", arg, sizeof value - 1);
        return -1;
    }
    if (!key_is_qualified(key)) {
        sbo_errf(err, errlen, "--set '%s': option '%s' has no section; write section.key=value, e.g. "
                "--set algo.%s=%s", arg, key, key[0] ? key : "alpha", value[0] ? value : "0.01");
        return -1;
    }
    return sbo_config_set(c, key, value, "--set", err, errlen);
}

// --- INI files ------------------------------------------------------------------------------------

#define SBO_INI_MAX_BYTES (1L << 20)   /* a config file is a few lines; a bigger one is the wrong file */

typedef struct {
    const char *text;      /* the whole file, NUL-terminated (no NUL inside: checked before parsing) */
    size_t pos, len;
    sbo_config *cfg;
    sbo_config *aside;     /* keys of section aside_section go here instead (NULL: none) */
    const char *aside_section;
    int line;              /* our own line count: the line inih is processing now */
    int err_line;          /* first error we detected (0: none) */
    char err[SBO_ERR_LEN];
} ini_ctx;

/* Reader for ini_parse_stream over the file's text: one line per call, counted here so that handler errors carry
 * the line number (the Debian inih is built without INI_HANDLER_LINENO). Leading whitespace is stripped, so an
 * indented "key = value" is a key and never a silent continuation of the previous value. */
static char *ini_reader_fn(char *str, int num, void *stream) {
    ini_ctx *x = (ini_ctx *)stream;
    if (x->pos >= x->len) return NULL;
    const char *p = x->text + x->pos;
    const char *nl = memchr(p, '\n', x->len - x->pos);
    size_t linelen = nl ? (size_t)(nl - p) + 1 : x->len - x->pos;
    x->line++;
    x->pos += linelen;
    if (linelen > (size_t)num - 1) {
        if (!x->err_line) {
            x->err_line = x->line;
            snprintf(x->err, sizeof x->err, "line longer than %d characters; shorten it", num - 3);
        }
        linelen = (size_t)num - 1;
    }
    while (linelen > 0 && (*p == ' ' || *p == '\t')) { p++; linelen--; }
    memcpy(str, p, linelen);
    str[linelen] = '\0';
    return str;
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value) {
    ini_ctx *x = (ini_ctx *)user;
    if (x->err_line) return 1;      /* keep only the first error */
    char key[sizeof x->cfg->key[0]];
    if (!section || !section[0]) {
        x->err_line = x->line;
        snprintf(x->err, sizeof x->err, "'%s' is outside any [section]; put it under a header such as [algo]", name);
        return 0;
    }
    int w = snprintf(key, sizeof key, "%s.%s", section, name);
    if (w < 0 || (size_t)w >= sizeof key) {
        x->err_line = x->line;
        snprintf(x->err, sizeof x->err, "option name '%s.%s' is longer than %zu characters; shorten it",
                 section, name, sizeof key - 1);
        return 0;
    }
    char msg[SBO_ERR_LEN];
    sbo_config *to = x->aside && strcmp(section, x->aside_section) == 0 ? x->aside : x->cfg;
    if (sbo_config_set(to, key, value ? value : "", "file", msg, sizeof msg) != 0) {
        x->err_line = x->line;
        snprintf(x->err, sizeof x->err, "%s", msg);
        return 0;
    }
    return 1;
}

/* Line n of the text (for quoting a syntax error), without its line end, cut to fit out. */
static void text_line_n(const char *text, size_t len, int n, char *out, size_t outlen) {
    out[0] = '\0';
    const char *p = text, *end = text + len;
    for (int k = 1; k < n && p < end; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    while (l > 0 && p[l - 1] == '\r') l--;
    snprintf(out, outlen, "%.*s", (int)l, p);
}

/* The whole file behind fd into a NUL-terminated buffer (caller frees). NULL with err. */
static char *read_text(int fd, const char *path, size_t *len, char *err, size_t errlen) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            sbo_errf(err, errlen, "%s: out of memory", path);
            return NULL;
        }
        if (n == cap) {
            if (cap >= (size_t)SBO_INI_MAX_BYTES) {
                free(buf);
                sbo_errf(err, errlen, "config file '%s' is larger than %ld bytes; --config takes a short INI file "
                         "([run], [task], [algo] with key = value lines)", path, SBO_INI_MAX_BYTES);
                return NULL;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) free(buf);
            buf = nb;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            sbo_errf(err, errlen, "cannot read config file '%s': %s; check the --config path", path, strerror(errno));
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int sbo_config_load_ini(sbo_config *c, const char *path, char *err, size_t errlen) {
    return sbo_config_load_ini_aside(c, NULL, NULL, path, err, errlen);
}

int sbo_config_load_ini_aside(sbo_config *c, sbo_config *aside, const char *aside_section, const char *path,
                              char *err, size_t errlen) {
    int fd = sbo_input_open(path, "config file", "--config takes a regular INI file", err, errlen);
    if (fd < 0) return -1;
    size_t len = 0;
    char *text = read_text(fd, path, &len, err, errlen);
    close(fd);
    if (!text) return -1;
    /* A NUL byte would end inih's line early: report it, with its line, before parsing. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++) line += *p == '\n';
        sbo_errf(err, errlen, "%s:%d: NUL byte in the line; a config file is text (is this the right file?)",
                 path, line);
        free(text);
        return -1;
    }
    /* Parse into a copy so that a bad file leaves c unchanged. */
    sbo_config *tmp = malloc(sizeof *tmp);
    if (!tmp) {
        free(text);
        sbo_errf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    *tmp = *c;
    ini_ctx x = {.text = text, .pos = 0, .len = len, .cfg = tmp, .aside = aside, .aside_section = aside_section,
                 .line = 0, .err_line = 0};
    int rc = ini_parse_stream(ini_reader_fn, &x, ini_handler_fn, &x);
    int status = 0;
    if (rc < 0) {
        sbo_errf(err, errlen, "%s: cannot read the file (inih error %d)", path, rc);
        status = -1;
    } else if (x.err_line && (rc == 0 || x.err_line <= rc)) {
        sbo_errf(err, errlen, "%s:%d: %s", path, x.err_line, x.err);
        status = -1;
    } else if (rc > 0) {
        char quoted[160];
        text_line_n(text, len, rc, quoted, sizeof quoted);
        sbo_errf(err, errlen, "%s:%d: cannot parse '%s': expected 'key = value', '[section]' or a comment "
                "(';' or '#'); fix this line", path, rc, quoted);
        status = -1;
    }
    if (status == 0) *c = *tmp;
    free(tmp);
    free(text);
    return status;
}

// --- defaults and known keys -------------------------------------------------------------------------

void sbo_config_apply_defaults(sbo_config *c, const sbo_option *opts) {
    for (const sbo_option *o = opts; o && o->key; o++) {
        /* def "" means "computed by the consumer": stay unset, so sbo_config_get returns NULL. */
        if (!o->def || !o->def[0]) continue;
        if (find_key(c, o->key) >= 0) continue;
        sbo_config_set(c, o->key, o->def, "default", NULL, 0);
    }
}

static int edit_distance(const char *a, const char *b) {
    /* Levenshtein with one rolling row; option names are < 64 characters. */
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int row[64];
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int sbo_config_check_known(const sbo_config *c, const sbo_option *const *tables, char *err, size_t errlen) {
    for (int i = 0; i < c->n; i++) {
        int known = 0;
        const char *closest = NULL;
        int best = 3;                    /* suggest only names within 2 edits */
        for (const sbo_option *const *t = tables; t && *t && !known; t++)
            for (const sbo_option *o = *t; o->key; o++) {
                if (strcmp(o->key, c->key[i]) == 0) { known = 1; break; }
                int d = edit_distance(o->key, c->key[i]);
                if (d < best) { best = d; closest = o->key; }
            }
        if (known) continue;
        char hint[128] = "";
        if (closest) snprintf(hint, sizeof hint, "; did you mean '%s'?", closest);
        sbo_errf(err, errlen, "unknown option '%s' (from %s%s); `sbo list` shows the options of each task and algorithm",
                c->key[i], c->origin[i][0] ? c->origin[i] : "?", hint);
        return -1;
    }
    return 0;
}

// --- typed getters ------------------------------------------------------------------------------------

const char *sbo_config_get(const sbo_config *c, const char *key) {
    int i = find_key(c, key);
    return i < 0 ? NULL : c->value[i];
}

static const char *get_or_err(const sbo_config *c, const char *key, char *err, size_t errlen) {
    const char *v = sbo_config_get(c, key);
    if (!v) {
        const char *dot = strchr(key, '.');
        int sec = dot ? (int)(dot - key) : 0;
        sbo_errf(err, errlen, "%s is not set; add '%s = VALUE' under [%.*s] or pass --set %s=VALUE",
                key, dot ? dot + 1 : key, sec, key, key);
    }
    return v;
}

static const char *comment_hint(const char *v) {
    return strchr(v, '#') ? " (inline comments start with ';')" : "";
}

int sbo_config_double(const sbo_config *c, const char *key, double *out, char *err, size_t errlen) {
    const char *v = get_or_err(c, key, err, errlen);
    if (!v) return -1;
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0') {
        sbo_errf(err, errlen, "%s = '%s' is not a number%s; write e.g. 0.01 or 1e-3", key, v, comment_hint(v));
        return -1;
    }
    /* strtod accepts "nan" and "inf" and overflows to inf: none is a usable setting. */
    if (!isfinite(d) || errno == ERANGE) {
        if (errno == ERANGE && isfinite(d)) {   /* underflow to a subnormal or 0: harmless, accept */
            *out = d;
            return 0;
        }
        sbo_errf(err, errlen, "%s = '%s' is not a finite number; write a finite decimal, e.g. 0.01", key, v);
        return -1;
    }
    *out = d;
    return 0;
}

int sbo_config_long(const sbo_config *c, const char *key, long *out, char *err, size_t errlen) {
    const char *v = get_or_err(c, key, err, errlen);
    if (!v) return -1;
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end != v && *end == '\0') {
        if (errno == ERANGE) {
            sbo_errf(err, errlen, "%s = '%s' is out of range for an integer", key, v);
            return -1;
        }
        *out = x;
        return 0;
    }
    /* Counts like K = 1e5 are written in exponent form: accept a decimal that is exactly an integer. */
    errno = 0;
    double d = strtod(v, &end);
    if (end != v && *end == '\0' && isfinite(d) && d == floor(d) && fabs(d) <= 9.0e15) {
        *out = (long)d;
        return 0;
    }
    sbo_errf(err, errlen, "%s = '%s' is not an integer%s; write e.g. 1000 or 1e5", key, v, comment_hint(v));
    return -1;
}

int sbo_config_choice(const sbo_config *c, const char *key, const char *choices, int *out, char *err, size_t errlen) {
    const char *v = get_or_err(c, key, err, errlen);
    if (!v) return -1;
    size_t lv = strlen(v);
    int idx = 0;
    for (const char *p = choices; ; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == lv && strncmp(p, v, len) == 0) {
            *out = idx;
            return 0;
        }
        if (!bar) break;
        p = bar + 1;
    }
    sbo_errf(err, errlen, "%s = '%s' is not one of %s", key, v, choices);
    return -1;
}

static int cmp_index_by_key(const void *a, const void *b, void *ctx) {
    const sbo_config *c = ctx;
    return strcmp(c->key[*(const int *)a], c->key[*(const int *)b]);
}

size_t sbo_config_dump(const sbo_config *c, char *buf, size_t buflen) {
    /* Sorted by key, so two runs with the same settings store byte-identical attributes.
     * Returns the length of the whole dump (snprintf semantics: >= buflen means truncated). */
    int idx[SBO_CONFIG_MAX];
    for (int i = 0; i < c->n; i++) idx[i] = i;
    /* insertion sort (n <= 128), keeps the code free of qsort_r portability issues */
    for (int i = 1; i < c->n; i++) {
        int k = idx[i], j = i - 1;
        while (j >= 0 && cmp_index_by_key(&idx[j], &k, (void *)c) > 0) { idx[j + 1] = idx[j]; j--; }
        idx[j + 1] = k;
    }
    size_t total = 0;
    if (buf && buflen) buf[0] = '\0';
    for (int i = 0; i < c->n; i++) {
        char *dst = NULL;
        size_t room = 0;
        if (buf && total < buflen) { dst = buf + total; room = buflen - total; }
        int w = snprintf(dst, room, "%s = %s\n", c->key[idx[i]], c->value[idx[i]]);
        if (w > 0) total += (size_t)w;
    }
    return total;
}
