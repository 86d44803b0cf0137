/* core/sbo_config.h: run configuration as "section.key" -> value strings.
 * Sources, later wins: defaults declared by options tables, an INI file (--config, parsed by inih),
 * then --set section.key=value. Every key must be declared by some option table, else a clear error.
 * Exercised by: tests/test_config.c, tests/test_cli.c. */
#ifndef SBO_CONFIG_H
#define SBO_CONFIG_H
#include <stddef.h>

#define SBO_CONFIG_MAX 128
#define SBO_ERR_LEN 512
/* A value holds a path (task.data_dir): PATH_MAX on Linux, so no directory is too long for the config. */
#define SBO_CONFIG_VALUE_LEN 4096

/* An option a task, an algorithm or the runner accepts. Tables end with {NULL}. */
typedef struct {
    const char *key;        /* "section.key", e.g. "algo.alpha" */
    const char *def;        /* default value as text; "" means "no default: computed" */
    const char *help;
} sbo_option;

typedef struct {
    int n;
    char key[SBO_CONFIG_MAX][64];
    char value[SBO_CONFIG_MAX][SBO_CONFIG_VALUE_LEN];
    char origin[SBO_CONFIG_MAX][16];    /* "default", "file", "--set" */
} sbo_config;

void sbo_config_init(sbo_config *c);
/* Set (replace) a value. Returns 0, or -1 with err filled (too many keys / too long). */
int sbo_config_set(sbo_config *c, const char *key, const char *value, const char *origin, char *err, size_t errlen);
/* Parse "section.key=value". */
int sbo_config_set_arg(sbo_config *c, const char *arg, char *err, size_t errlen);
/* Load an INI file: [section] key = value. Returns 0, or -1 with "file:line: ..." in err. */
int sbo_config_load_ini(sbo_config *c, const char *path, char *err, size_t errlen);
/* The same, except that the keys of section aside_section ("sweep") go into *aside as "sweep.key" instead of c
 * (`sbo sweep`'s [sweep] section, runners/sweep.c). On error *aside may hold part of that section. */
int sbo_config_load_ini_aside(sbo_config *c, sbo_config *aside, const char *aside_section, const char *path,
                              char *err, size_t errlen);
/* Add defaults for every option of a table that is not yet set. */
void sbo_config_apply_defaults(sbo_config *c, const sbo_option *opts);
/* Every key of c must appear in one of the NULL-terminated list of tables; else -1 with err. */
int sbo_config_check_known(const sbo_config *c, const sbo_option *const *tables, char *err, size_t errlen);

const char *sbo_config_get(const sbo_config *c, const char *key);   /* NULL if unset */
/* Typed getters: 0 ok; -1 with err ("algo.alpha = 'abc' is not a number ...") when malformed or unset. */
int sbo_config_double(const sbo_config *c, const char *key, double *out, char *err, size_t errlen);
int sbo_config_long(const sbo_config *c, const char *key, long *out, char *err, size_t errlen);
/* One of the '|' separated choices, e.g. "full|projected": out = index. */
int sbo_config_choice(const sbo_config *c, const char *key, const char *choices, int *out, char *err, size_t errlen);
/* Whole resolved config as "key = value\n" lines (for the HDF5 attribute). Returns bytes written. */
size_t sbo_config_dump(const sbo_config *c, char *buf, size_t buflen);
#endif
