/* runners/sweep.c: `sbo sweep CONFIG.ini` (runners/sweep.h). The config's [sweep] section names a grid (task,
 * algorithms, seeds, and task.* / algo.* / run.* options with lists of values); everything outside [sweep] is the
 * base configuration of every run. Each run is one `sbo run` child process of this binary (/proc/self/exe) writing
 * DIR/<name>.h5; DIR/manifest.tsv lists every run with its state. A re-run skips complete files, resumes killed
 * runs from their checkpoint (`sbo run --resume`), leaves failed runs unless --rerun-failed, and refuses a run whose
 * configuration changed. --slurm writes and submits a job array whose tasks are `sbo sweep ... --run-index I`, so the
 * same logic decides what each task does. [sweep] may name a base config (base = FILE), per-algorithm seeds
 * (seeds.<algo>) and run-name templates (name, name.<algo>: {algo}, {seed}, {KEY}); --set overrides [sweep] keys
 * (sweep.KEY) and base keys for one invocation (and its Slurm tasks); --fresh removes the sweep's own files first.
 * Formats: docs/SCHEMA.md; messages: docs/ERRORS.md.
 * Try: sbo sweep configs/sweep_example.ini --out /tmp/sw --jobs 2;  sbo sweep configs/sweep_example.ini --slurm --dry-run
 * Exercised by: tests/test_sweep.c, tests/test_slurm.sh. */
#define _DEFAULT_SOURCE             /* realpath, flock */
#include "runners/sweep.h"          /* this file's interface */
#include "runners/sbo_run.h"        /* configuration resolution, exit codes, seeds */
#include "runners/sbo_h5.h"         /* status and config of existing run files */
#include "runners/memory_report.h"  /* sbo_memory_estimate: --mem and --time of the Slurm script */
#include "core/sbo_config.h"        /* the INI file with its [sweep] section aside */
#include "core/sbo_log.h"           /* sbo_errf */
#include "algorithms/algorithm.h"   /* algorithm registry, sbo_algo_options_parse */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SW_MAX_AXES 16
#define SW_MAX_VALUES 64
#define SW_VALUE_LEN 200          /* an INI line holds at most 197 characters */
#define SW_MAX_ALGOS 8
#define SW_MAX_SEEDS 1000
#define SW_MAX_RUNS 5000         /* a sweep's runs are resolved and checked up front; split bigger grids */
#define SW_CHECKPOINT_EVERY 1000  /* default of checkpoint_every */
#define SW_THROTTLE 4             /* default of slurm_throttle */

// --- the sweep description: [sweep] parsed once into a typed struct ---------------------------------------

typedef struct {
    char key[64];                       /* "algo.rank" */
    char label[64];                     /* "rank": its part of run names */
    int n;
    char val[SW_MAX_VALUES][SW_VALUE_LEN];
} sw_axis;

typedef struct {
    char config[PATH_MAX];              /* absolute path of CONFIG.ini */
    char stem[128];                     /* its file name without .ini */
    const sbo_task_type *task;
    int n_algos;
    const sbo_algo_type *algos[SW_MAX_ALGOS];
    int n_seeds;
    unsigned long long seeds[SW_MAX_SEEDS];
    int algo_n_seeds[SW_MAX_ALGOS];     /* seeds.<algo> or seeds */
    unsigned long long algo_seeds[SW_MAX_ALGOS][SW_MAX_SEEDS];
    char name_tpl[SW_MAX_ALGOS][SW_VALUE_LEN];   /* name.<algo> or name; "": the automatic rule */
    int n_axes;
    sw_axis axes[SW_MAX_AXES];
    long checkpoint_every;              /* 0: no checkpoints */
    long slurm_throttle;
    char slurm_time[32], slurm_mem[32], slurm_partition[64];   /* "": estimate / none */
    int n_base;
    char **base_sets;                   /* the configuration outside [sweep] as "key=value" */
} sw_spec;

enum { SW_PENDING, SW_RESUME, SW_RUNNING, SW_DONE, SW_FAILED, SW_ELSEWHERE };
static const char *const sw_state_name[] = {"pending", "pending", "running", "done", "failed", "running"};

typedef struct {
    int index;
    const sbo_algo_type *algo;
    unsigned long long seed;
    int vi[SW_MAX_AXES];                /* value index per axis */
    unsigned unread;                    /* bit a: the algorithm does not read axis a's option (not set, not named) */
    char name[256];
    char varied[600];                   /* "algo.rank=64 task.noise=0.4": the grid values of this run */
    char file[PATH_MAX + 320];
    char hash[17];                      /* FNV-1a 64 of the resolved configuration dump */
    char *dump;
    int state;
    char exit_text[16];                 /* "0", "3", "130", "sig9", "-" */
    pid_t pid;
    double t_start;
} sw_run;

static const char *const sweep_keys = "task, algorithms, seeds, seeds.<algorithm>, name, name.<algorithm>, base, "
                                      "checkpoint_every, slurm_throttle, slurm_time, slurm_mem, slurm_partition";

/* The comma-separated list s into out[] (values trimmed; "..." quotes a value that holds commas). */
static int split_list(const char *key, const char *s, char out[][SW_VALUE_LEN], int max, int *n, char *err,
                      size_t errlen) {
    *n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char v[SW_VALUE_LEN];
        size_t l = 0;
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q) {
                sbo_errf(err, errlen, "[sweep] %s = '%s': a '\"' is not closed; quote a value with commas as "
                         "\"1,2,3\"", key, s);
                return -1;
            }
            l = (size_t)(q - p - 1);
            memcpy(v, p + 1, l);
            p = q + 1;
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != ',') {
                sbo_errf(err, errlen, "[sweep] %s = '%s': text after a quoted value; separate values with commas",
                         key, s);
                return -1;
            }
        } else {
            const char *c = strchr(p, ',');
            l = c ? (size_t)(c - p) : strlen(p);
            while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t')) l--;
            memcpy(v, p, l);
            p += l;
            while (*p == ' ' || *p == '\t') p++;
        }
        v[l] = '\0';
        if (l == 0) {
            sbo_errf(err, errlen, "[sweep] %s = '%s' has an empty value; give a comma-separated list such as "
                     "%s = 1, 2, 3", key, s, key);
            return -1;
        }
        if (*n >= max) {
            sbo_errf(err, errlen, "[sweep] %s lists more than %d values; split the sweep", key, max);
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (strcmp(out[i], v) == 0) {
                sbo_errf(err, errlen, "[sweep] %s lists '%s' twice; list each value once", key, v);
                return -1;
            }
        snprintf(out[(*n)++], SW_VALUE_LEN, "%s", v);
        if (*p == '\0') return 0;
        p++;                             /* the comma */
    }
}

/* seeds = 1, 2, 3 or 1-5 (or both: 1-3, 7). */
static int parse_seeds(const char *key, const char *s, unsigned long long *seeds, int *n_seeds, char *err,
                       size_t errlen) {
    static char items[SW_MAX_VALUES][SW_VALUE_LEN];
    int n;
    if (split_list(key, s, items, SW_MAX_VALUES, &n, err, errlen)) return -1;
    *n_seeds = 0;
    for (int i = 0; i < n; i++) {
        char a[SW_VALUE_LEN], *dash = strchr(items[i] + 1, '-');
        uint64_t lo, hi;
        char e[SBO_ERR_LEN];
        snprintf(a, sizeof a, "%s", items[i]);
        if (dash) a[dash - items[i]] = '\0';
        int bad = sbo_parse_seed(a, &lo, e, sizeof e) != 0;
        hi = lo;
        if (!bad && dash) {
            char b[SW_VALUE_LEN];
            snprintf(b, sizeof b, "%s", dash + 1);
            size_t l = strlen(b);
            while (l && isspace((unsigned char)b[l - 1])) b[--l] = '\0';
            char *bb = b;
            while (isspace((unsigned char)*bb)) bb++;
            size_t la = strlen(a);
            while (la && isspace((unsigned char)a[la - 1])) a[--la] = '\0';
            bad = sbo_parse_seed(a, &lo, e, sizeof e) != 0 || sbo_parse_seed(bb, &hi, e, sizeof e) != 0 || hi < lo;
        }
        if (bad) {
            sbo_errf(err, errlen, "[sweep] %s: '%s' is not a seed or a range LOW-HIGH with LOW <= HIGH; write e.g. "
                     "%s = 1, 2, 3 or %s = 1-5", key, items[i], key, key);
            return -1;
        }
        for (uint64_t v = lo; v <= hi; v++) {
            for (int j = 0; j < *n_seeds; j++)
                if (seeds[j] == v) {
                    sbo_errf(err, errlen, "[sweep] %s lists seed %llu twice; list each seed once", key,
                             (unsigned long long)v);
                    return -1;
                }
            if (*n_seeds >= SW_MAX_SEEDS) {
                sbo_errf(err, errlen, "[sweep] %s gives more than %d seeds; split the sweep", key, SW_MAX_SEEDS);
                return -1;
            }
            seeds[(*n_seeds)++] = v;
            if (v == hi) break;
        }
    }
    return 0;
}

static int parse_count(const char *key, const char *v, long lo, long *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > 1000000000L) {
        sbo_errf(err, errlen, "[sweep] %s = '%s' is not an integer in %ld..1000000000; write e.g. %s = %ld", key, v, lo,
                 key, lo ? 4L : 1000L);
        return -1;
    }
    *out = x;
    return 0;
}

/* A value for an #SBATCH line: only the characters its syntax uses, so nothing can break out of the script. */
static int parse_token(const char *key, const char *v, const char *allowed, const char *example, char *out,
                       size_t outlen, char *err, size_t errlen) {
    if (!v[0] || strlen(v) >= outlen || strspn(v, allowed) != strlen(v)) {
        sbo_errf(err, errlen, "[sweep] %s = '%s' is not a valid value; write e.g. %s = %s", key, v, key, example);
        return -1;
    }
    snprintf(out, outlen, "%s", v);
    return 0;
}

static int add_axis(sw_spec *sp, const char *key, const char *value, char *err, size_t errlen) {
    if (sp->n_axes >= SW_MAX_AXES) {
        sbo_errf(err, errlen, "[sweep] varies more than %d options; split the sweep", SW_MAX_AXES);
        return -1;
    }
    sw_axis *ax = &sp->axes[sp->n_axes];
    snprintf(ax->key, sizeof ax->key, "%s", key);
    if (split_list(key, value, ax->val, SW_MAX_VALUES, &ax->n, err, errlen)) return -1;
    sp->n_axes++;
    return 0;
}

/* The option tables a grid key may come from: the runner's, the task's, each listed algorithm's. */
static int check_axis_keys(const sw_spec *sp, char *err, size_t errlen) {
    const sbo_option *tables[SW_MAX_ALGOS + 3];
    int nt = 0;
    tables[nt++] = sbo_run_options;
    tables[nt++] = sp->task->options;
    for (int i = 0; i < sp->n_algos; i++) tables[nt++] = sp->algos[i]->options;
    tables[nt] = NULL;
    sbo_config *probe = malloc(sizeof *probe);
    if (!probe) { sbo_errf(err, errlen, "out of memory"); return -1; }
    for (int a = 0; a < sp->n_axes; a++) {
        sbo_config_init(probe);
        sbo_config_set(probe, sp->axes[a].key, "", "[sweep]", NULL, 0);
        if (sbo_config_check_known(probe, tables, err, errlen)) {
            free(probe);
            return -1;
        }
    }
    free(probe);
    return 0;
}

/* Labels in run names: the part after the dot ("rank"), or the whole key with '-' when two axes share it. */
static void axis_labels(sw_spec *sp) {
    for (int a = 0; a < sp->n_axes; a++) {
        const char *dot = strchr(sp->axes[a].key, '.');
        const char *shortk = dot ? dot + 1 : sp->axes[a].key;
        int clash = 0;
        for (int b = 0; b < sp->n_axes; b++) {
            const char *d2 = strchr(sp->axes[b].key, '.');
            if (b != a && strcmp(d2 ? d2 + 1 : sp->axes[b].key, shortk) == 0) clash = 1;
        }
        snprintf(sp->axes[a].label, sizeof sp->axes[a].label, "%s", clash ? sp->axes[a].key : shortk);
        for (char *p = sp->axes[a].label; *p; p++)
            if (*p == '.') *p = '-';
    }
}

static void free_spec(sw_spec *sp) {
    for (int i = 0; i < sp->n_base; i++) free(sp->base_sets[i]);
    free(sp->base_sets);
    sp->base_sets = NULL;
    sp->n_base = 0;
}

static int algo_ignores(const sbo_algo_type *at, const char *key);

/* The axis of key, or -1. */
static int axis_of(const sw_spec *sp, const char *key, size_t len) {
    for (int a = 0; a < sp->n_axes; a++)
        if (strlen(sp->axes[a].key) == len && strncmp(sp->axes[a].key, key, len) == 0) return a;
    return -1;
}

/* Checks a name template (the literal text a file name can hold; placeholders {algo}, {seed}, or a key of [sweep]
 * that algorithm at reads). */
static int check_template(const sw_spec *sp, const char *key, const char *tpl, const sbo_algo_type *at, char *err,
                          size_t errlen) {
    for (const char *p = tpl; *p; p++) {
        if (*p == '{') {
            const char *q = strchr(p, '}');
            if (!q) {
                sbo_errf(err, errlen, "[sweep] %s = '%s': a '{' is not closed; write placeholders as {seed}", key, tpl);
                return -1;
            }
            size_t l = (size_t)(q - p - 1);
            int a = axis_of(sp, p + 1, l);
            if (!(l == 4 && strncmp(p + 1, "algo", 4) == 0) && !(l == 4 && strncmp(p + 1, "seed", 4) == 0) && a < 0) {
                sbo_errf(err, errlen, "[sweep] %s = '%s': unknown placeholder {%.*s}; use {algo}, {seed} or a key that "
                         "[sweep] lists, e.g. {algo.rank}", key, tpl, (int)l, p + 1);
                return -1;
            }
            if (a >= 0 && algo_ignores(at, sp->axes[a].key)) {
                sbo_errf(err, errlen, "[sweep] %s = '%s': %s does not read %s, so {%s} has no value for its runs; "
                         "%s its own template without it: name.%s = ...", key, tpl, at->name, sp->axes[a].key,
                         sp->axes[a].key, strcmp(key, "name") ? "drop it, or give it" : "give it", at->name);
                return -1;
            }
            p = q;
        } else if (!isalnum((unsigned char)*p) && !strchr("._+-", *p)) {
            sbo_errf(err, errlen, "[sweep] %s = '%s': '%c' cannot be part of a file name; use letters, digits, '.', "
                     "'_', '+', '-' and placeholders such as {seed}", key, tpl, *p);
            return -1;
        }
    }
    if (!tpl[0]) {
        sbo_errf(err, errlen, "[sweep] %s is empty; write a template such as name = %s_s{seed}", key, at->name);
        return -1;
    }
    return 0;
}

static int parse_spec(const char *path, const char *const *sets, int n_sets, sw_spec *sp, char *err, size_t errlen) {
    memset(sp, 0, sizeof *sp);
    sp->checkpoint_every = SW_CHECKPOINT_EVERY;
    sp->slurm_throttle = SW_THROTTLE;
    sbo_config *base = malloc(sizeof *base), *sw = malloc(sizeof *sw), *file = malloc(sizeof *file);
    int rc = -1;
    if (!base || !sw || !file) { sbo_errf(err, errlen, "out of memory"); goto out; }
    sbo_config_init(base);
    sbo_config_init(sw);
    sbo_config_init(file);
    if (sbo_config_load_ini_aside(file, sw, "sweep", path, err, errlen)) goto out;
    /* --set sweep.KEY=VALUE replaces (or adds) a [sweep] key; the others apply to the base configuration below */
    for (int i = 0; i < n_sets; i++) {
        if (strncmp(sets[i], "sweep.", 6) != 0) continue;
        if (sbo_config_set_arg(sw, sets[i], err, errlen)) goto out;
    }
    /* base = FILE (relative to CONFIG.ini's directory): that configuration, under the one outside [sweep] */
    for (int i = 0; i < sw->n; i++) {
        if (strcmp(sw->key[i], "sweep.base") != 0) continue;
        char bpath[PATH_MAX + 256];
        const char *v = sw->value[i], *sl = strrchr(path, '/');
        if (v[0] == '/' || !sl) snprintf(bpath, sizeof bpath, "%s", v);
        else snprintf(bpath, sizeof bpath, "%.*s/%s", (int)(sl - path), path, v);
        char e[SBO_ERR_LEN];
        if (sbo_config_load_ini(base, bpath, e, sizeof e)) {
            sbo_errf(err, errlen, "[sweep] base = '%s' (%s): %s", v, bpath, e);
            goto out;
        }
    }
    for (int i = 0; i < file->n; i++)
        if (sbo_config_set(base, file->key[i], file->value[i], file->origin[i], err, errlen)) goto out;
    for (int i = 0; i < n_sets; i++) {
        if (strncmp(sets[i], "sweep.", 6) == 0) continue;
        if (sbo_config_set_arg(base, sets[i], err, errlen)) goto out;
    }
    if (!realpath(path, sp->config)) snprintf(sp->config, sizeof sp->config, "%s", path);
    const char *slash = strrchr(path, '/');
    snprintf(sp->stem, sizeof sp->stem, "%s", slash ? slash + 1 : path);
    char *ext = strrchr(sp->stem, '.');
    if (ext && ext != sp->stem) *ext = '\0';
    if (sw->n == 0) {
        sbo_errf(err, errlen, "'%s' has no [sweep] section; add one naming task, algorithms and seeds (see "
                 "configs/sweep_example.ini)", path);
        goto out;
    }
    const char *task = NULL, *algos = NULL, *seeds = NULL;
    for (int i = 0; i < sw->n; i++) {
        const char *k = sw->key[i] + 6, *v = sw->value[i];   /* after "sweep." */
        if (strcmp(k, "task") == 0) task = v;
        else if (strcmp(k, "algorithms") == 0) algos = v;
        else if (strcmp(k, "seeds") == 0) seeds = v;
        else if (strcmp(k, "base") == 0 || strcmp(k, "name") == 0 || strncmp(k, "name.", 5) == 0 ||
                 strncmp(k, "seeds.", 6) == 0) continue;   /* base: above; the others once the algorithms are known */
        else if (strcmp(k, "checkpoint_every") == 0) {
            if (parse_count(k, v, 0, &sp->checkpoint_every, err, errlen)) goto out;
        } else if (strcmp(k, "slurm_throttle") == 0) {
            if (parse_count(k, v, 1, &sp->slurm_throttle, err, errlen)) goto out;
        } else if (strcmp(k, "slurm_time") == 0) {
            if (parse_token(k, v, "0123456789:-", "02:00:00", sp->slurm_time, sizeof sp->slurm_time, err, errlen))
                goto out;
        } else if (strcmp(k, "slurm_mem") == 0) {
            /* digits, then at most a unit: what sbatch --mem takes */
            const char *dig = "0123456789";
            size_t nd = strspn(v, dig);
            if (nd == 0 || strlen(v) > nd + 1 || (v[nd] && !strchr("KMGT", v[nd]))) {
                sbo_errf(err, errlen, "[sweep] slurm_mem = '%s' is not a valid value; write e.g. slurm_mem = 4G", v);
                goto out;
            }
            if (parse_token(k, v, "0123456789KMGT", "4G", sp->slurm_mem, sizeof sp->slurm_mem, err, errlen)) goto out;
        } else if (strcmp(k, "slurm_partition") == 0) {
            if (parse_token(k, v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-,", "debug",
                            sp->slurm_partition, sizeof sp->slurm_partition, err, errlen))
                goto out;
        } else if (strncmp(k, "run.", 4) == 0 || strncmp(k, "task.", 5) == 0 || strncmp(k, "algo.", 5) == 0) {
            if (add_axis(sp, k, v, err, errlen)) goto out;
        } else {
            sbo_errf(err, errlen, "unknown [sweep] key '%s' in '%s'; valid keys: %s, or a run.*, task.* or algo.* "
                     "option with a comma-separated list of values", k, path, sweep_keys);
            goto out;
        }
    }
    if (!task) {
        char names[512] = "";
        const sbo_task_type *const *tt = sbo_task_types();
        for (int i = 0; tt[i]; i++) {
            size_t u = strlen(names);
            snprintf(names + u, sizeof names - u, "%s%s", i ? ", " : "", tt[i]->name);
        }
        sbo_errf(err, errlen, "[sweep] of '%s' names no task; add 'task = NAME' (one of %s)", path, names);
        goto out;
    }
    if (!(sp->task = sbo_task_find(task))) {
        sbo_errf(err, errlen, "[sweep] task = '%s' is not a task; `sbo list` shows the tasks", task);
        goto out;
    }
    if (!algos || !seeds) {
        sbo_errf(err, errlen, "[sweep] of '%s' has no '%s' list; add e.g. %s", path, !algos ? "algorithms" : "seeds",
                 !algos ? "algorithms = soba, ma_soba, bros" : "seeds = 1-3");
        goto out;
    }
    static char items[SW_MAX_VALUES][SW_VALUE_LEN];
    int n;
    if (split_list("algorithms", algos, items, SW_MAX_ALGOS, &n, err, errlen)) goto out;
    for (int i = 0; i < n; i++) {
        const sbo_algo_type *at = sbo_algo_find(items[i]);
        if (!at) {
            char names[512];
            sbo_algo_names(names, sizeof names);
            sbo_errf(err, errlen, "[sweep] algorithms: '%s' is not an algorithm; valid algorithms: %s", items[i], names);
            goto out;
        }
        sp->algos[sp->n_algos++] = at;
    }
    if (parse_seeds("seeds", seeds, sp->seeds, &sp->n_seeds, err, errlen)) goto out;
    if (check_axis_keys(sp, err, errlen)) goto out;
    axis_labels(sp);
    for (int ai = 0; ai < sp->n_algos; ai++) {
        sp->algo_n_seeds[ai] = sp->n_seeds;
        memcpy(sp->algo_seeds[ai], sp->seeds, sizeof sp->seeds[0] * (size_t)sp->n_seeds);
    }
    static char tkey[SW_MAX_ALGOS][64];
    for (int pass = 0; pass < 2; pass++)       /* name, seeds first; then name.<algo>, seeds.<algo> over them */
        for (int i = 0; i < sw->n; i++) {
            const char *k = sw->key[i] + 6, *v = sw->value[i];
            int is_name = strncmp(k, "name", 4) == 0 && (k[4] == '\0' || k[4] == '.');
            int is_seeds = strncmp(k, "seeds.", 6) == 0;
            if (!is_name && !is_seeds) continue;
            const char *dot = strchr(k, '.');
            if ((pass == 0) != (dot == NULL)) continue;
            int only = -1;
            if (dot) {
                for (int ai = 0; ai < sp->n_algos; ai++)
                    if (strcmp(sp->algos[ai]->name, dot + 1) == 0) only = ai;
                if (only < 0 && !sbo_algo_find(dot + 1)) {
                    char names[512];
                    sbo_algo_names(names, sizeof names);
                    sbo_errf(err, errlen, "[sweep] %s: '%s' is not an algorithm; valid algorithms: %s", k, dot + 1, names);
                    goto out;
                }
                if (only < 0) continue;   /* an algorithm this sweep does not run (e.g. --set sweep.algorithms=...) */
            }
            for (int ai = 0; ai < sp->n_algos; ai++) {
                if (only >= 0 && ai != only) continue;
                if (is_seeds) {
                    if (parse_seeds(k, v, sp->algo_seeds[ai], &sp->algo_n_seeds[ai], err, errlen)) goto out;
                } else {
                    snprintf(sp->name_tpl[ai], sizeof sp->name_tpl[ai], "%s", v);
                    snprintf(tkey[ai], sizeof tkey[ai], "%s", k);
                }
            }
        }
    for (int ai = 0; ai < sp->n_algos; ai++) {
        if (!sp->name_tpl[ai][0]) {
            int any = 0;
            for (int i = 0; i < sw->n; i++) any |= strcmp(sw->key[i], "sweep.name") == 0;
            if (any) {   /* name = "" */
                sbo_errf(err, errlen, "[sweep] name is empty; write a template such as name = %s_s{seed}",
                         sp->algos[ai]->name);
                goto out;
            }
            continue;
        }
        if (check_template(sp, tkey[ai], sp->name_tpl[ai], sp->algos[ai], err, errlen)) goto out;
    }
    /* a --set of a key that [sweep] varies would be overridden by the grid: refuse it */
    for (int i = 0; i < n_sets; i++) {
        if (strncmp(sets[i], "sweep.", 6) == 0) continue;
        const char *eq = strchr(sets[i], '=');
        if (eq && axis_of(sp, sets[i], (size_t)(eq - sets[i])) >= 0) {
            sbo_errf(err, errlen, "--set %s: [sweep] varies %.*s; override the list with --set sweep.%s", sets[i],
                     (int)(eq - sets[i]), sets[i], sets[i]);
            goto out;
        }
    }
    sp->base_sets = calloc((size_t)base->n + 1, sizeof *sp->base_sets);
    if (!sp->base_sets) { sbo_errf(err, errlen, "out of memory"); goto out; }
    for (int i = 0; i < base->n; i++) {
        size_t l = strlen(base->key[i]) + strlen(base->value[i]) + 2;
        if (!(sp->base_sets[i] = malloc(l))) { sbo_errf(err, errlen, "out of memory"); goto out; }
        snprintf(sp->base_sets[i], l, "%s=%s", base->key[i], base->value[i]);
        sp->n_base++;
    }
    rc = 0;
out:
    free(base);
    free(sw);
    free(file);
    if (rc) free_spec(sp);
    return rc;
}

// --- the runs: names, configurations, states -------------------------------------------------------------

/* A value's part of a run name: letters, digits, '.', '+', '-' kept, anything else becomes '-'. */
static void name_part(const char *v, char *out, size_t outlen) {
    size_t n = 0;
    for (; *v && n + 1 < outlen; v++) out[n++] = isalnum((unsigned char)*v) || strchr(".+-", *v) ? *v : '-';
    out[n] = '\0';
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The --set list of a run: the base configuration, then its grid values. n_sets returned; strings in bufs. */
static int run_sets(const sw_spec *sp, const sw_run *r, const char **sets, char bufs[][SW_VALUE_LEN + 64]) {
    int n = 0;
    for (int i = 0; i < sp->n_base; i++) sets[n++] = sp->base_sets[i];
    for (int a = 0; a < sp->n_axes; a++) {
        if (r->unread >> a & 1u) continue;
        snprintf(bufs[a], SW_VALUE_LEN + 64, "%s=%s", sp->axes[a].key, sp->axes[a].val[r->vi[a]]);
        sets[n++] = bufs[a];
    }
    return n;
}

static int resolve_run(const sw_spec *sp, const sw_run *r, sbo_config *cfg, char *err, size_t errlen) {
    const char *sets[SBO_CONFIG_MAX + SW_MAX_AXES];
    static char bufs[SW_MAX_AXES][SW_VALUE_LEN + 64];
    int n = run_sets(sp, r, sets, bufs);
    char e[SBO_ERR_LEN * 2];
    if (sbo_run_resolve_config(sp->task, r->algo, NULL, sets, n, cfg, e, sizeof e)) {
        sbo_errf(err, errlen, "run %s: %s", r->name, e);
        return -1;
    }
    sbo_algo_options ao;
    sbo_device dev;   /* run.device's value and task (the device itself: when the run starts) */
    if (sbo_algo_options_parse(cfg, &ao, e, sizeof e) || sbo_run_parse_device(sp->task, cfg, &dev, e, sizeof e)) {
        sbo_errf(err, errlen, "run %s: %s", r->name, e);
        return -1;
    }
    return 0;
}

static int algo_ignores(const sbo_algo_type *at, const char *key) {
    for (const char *const *u = at->unread_options; u && *u; u++)
        if (strcmp(*u, key) == 0) return 1;
    return 0;
}

/* Every run of the grid: algorithms outermost, then the axes in file order, the seed innermost. An axis whose option
 * the algorithm does not read (algo.rank for soba and ma_soba: sbo_algo_type.unread_options) does not multiply that
 * algorithm's runs: it is neither set nor part of their names. */
/* The name of run r from its algorithm's template (check_template accepted it). */
static void expand_template(const sw_spec *sp, const char *tpl, const sw_run *r, char *out, size_t len) {
    size_t u = 0;
    out[0] = '\0';
    for (const char *p = tpl; *p && u < len; p++) {
        if (*p != '{') {
            out[u++] = *p;
            out[u < len ? u : len - 1] = '\0';
            continue;
        }
        const char *q = strchr(p, '}');
        size_t l = (size_t)(q - p - 1);
        char part[SW_VALUE_LEN];
        if (l == 4 && strncmp(p + 1, "algo", 4) == 0) snprintf(part, sizeof part, "%s", r->algo->name);
        else if (l == 4 && strncmp(p + 1, "seed", 4) == 0) snprintf(part, sizeof part, "%llu", r->seed);
        else name_part(sp->axes[axis_of(sp, p + 1, l)].val[r->vi[axis_of(sp, p + 1, l)]], part, sizeof part);
        u += (size_t)snprintf(out + u, len - u, "%s", part);
        p = q;
    }
}

static sw_run *expand_runs(const sw_spec *sp, const char *dir, int *n_runs, char *err, size_t errlen) {
    long combos = 1, total = 0;
    for (int ai = 0; ai < sp->n_algos; ai++) total += sp->algo_n_seeds[ai];
    for (int a = 0; a < sp->n_axes && total <= SW_MAX_RUNS; a++) {
        combos *= sp->axes[a].n;
        total *= sp->axes[a].n;
    }
    if (total > SW_MAX_RUNS) {
        sbo_errf(err, errlen, "the sweep has more than %d runs; split it into several configs", SW_MAX_RUNS);
        return NULL;
    }
    sw_run *runs = calloc((size_t)total, sizeof *runs);
    sbo_config *cfg = malloc(sizeof *cfg);
    if (!runs || !cfg) {
        free(runs); free(cfg);
        sbo_errf(err, errlen, "out of memory");
        return NULL;
    }
    int k = 0;
    for (int ai = 0; ai < sp->n_algos; ai++)
        for (long c = 0; c < combos; c++)
            for (int si = 0; si < sp->algo_n_seeds[ai]; si++) {
                sw_run *r = &runs[k];
                memset(r, 0, sizeof *r);
                r->index = k;
                r->algo = sp->algos[ai];
                r->seed = sp->algo_seeds[ai][si];
                long rest = c;
                int dup = 0;
                for (int a = sp->n_axes - 1; a >= 0; a--) {
                    r->vi[a] = (int)(rest % sp->axes[a].n);
                    rest /= sp->axes[a].n;
                    if (algo_ignores(r->algo, sp->axes[a].key)) {
                        r->unread |= 1u << a;
                        dup |= r->vi[a] != 0;
                    }
                }
                if (dup) continue;
                size_t u = (size_t)snprintf(r->name, sizeof r->name, "%s", r->algo->name);
                for (int a = 0; a < sp->n_axes; a++) {
                    if (r->unread >> a & 1u) continue;
                    const char *v = sp->axes[a].val[r->vi[a]];
                    size_t w = strlen(r->varied);
                    snprintf(r->varied + w, sizeof r->varied - w, "%s%s=%s", w ? " " : "", sp->axes[a].key, v);
                    if (sp->axes[a].n < 2) continue;    /* not varied: not in the name */
                    char part[SW_VALUE_LEN];
                    name_part(v, part, sizeof part);
                    int sep = isalpha((unsigned char)part[0]);
                    u += (size_t)snprintf(r->name + u, u < sizeof r->name ? sizeof r->name - u : 0, "_%s%s%s",
                                          sp->axes[a].label, sep ? "-" : "", part);
                }
                u += (size_t)snprintf(r->name + u, u < sizeof r->name ? sizeof r->name - u : 0, "_s%llu", r->seed);
                if (sp->name_tpl[ai][0]) {
                    char nm[2 * sizeof r->name];
                    expand_template(sp, sp->name_tpl[ai], r, nm, sizeof nm);
                    u = strlen(nm);
                    snprintf(r->name, sizeof r->name, "%.*s", (int)sizeof r->name - 1, nm);
                }
                if (u >= sizeof r->name - 4) {
                    sbo_errf(err, errlen, "run name '%.60s...' is longer than %zu characters; shorten the varied "
                             "values", r->name, sizeof r->name - 4);
                    goto fail;
                }
                for (int j = 0; j < k; j++)
                    if (strcmp(runs[j].name, r->name) == 0 && (sp->name_tpl[ai][0] || runs[j].algo != r->algo)) {
                        sbo_errf(err, errlen, "[sweep] name templates give runs %d and %d the same name '%s' (%s, seed "
                                 "%llu: %s; %s, seed %llu: %s); put {seed} and each varied key, e.g. {algo.rank}, in "
                                 "the template", j, k, r->name, runs[j].algo->name, runs[j].seed, runs[j].varied,
                                 r->algo->name, r->seed, r->varied);
                        goto fail;
                    } else if (strcmp(runs[j].name, r->name) == 0) {
                        sbo_errf(err, errlen, "runs %d and %d would both be named '%s' (values that differ only in "
                                 "characters a file name cannot hold); make the values differ in letters or digits",
                                 j, k, r->name);
                        goto fail;
                    }
                snprintf(r->file, sizeof r->file, "%s/%s.h5", dir, r->name);
                if (si > 0) {           /* the seed is not in the configuration: the previous run's holds */
                    if (!(r->dump = strdup(runs[k - 1].dump))) { sbo_errf(err, errlen, "out of memory"); goto fail; }
                } else {
                    if (resolve_run(sp, r, cfg, err, errlen)) goto fail;
                    size_t len = sbo_config_dump(cfg, NULL, 0) + 1;
                    if (!(r->dump = malloc(len))) { sbo_errf(err, errlen, "out of memory"); goto fail; }
                    sbo_config_dump(cfg, r->dump, len);
                }
                snprintf(r->hash, sizeof r->hash, "%016llx", (unsigned long long)fnv1a(r->dump));
                r->state = SW_PENDING;
                snprintf(r->exit_text, sizeof r->exit_text, "-");
                k++;
            }
    free(cfg);
    *n_runs = k;
    return runs;
fail:
    for (int j = 0; j < k; j++) free(runs[j].dump);
    free(runs);
    free(cfg);
    return NULL;
}

static void free_runs(sw_run *runs, int n) {
    for (int i = 0; i < n; i++) free(runs[i].dump);
    free(runs);
}

// --- the manifest: DIR/manifest.tsv, updated under a lock by whichever process changes a run ---------------

#define SW_MANIFEST_COLS "index\tname\talgorithm\tseed\tvaried\tconfig_hash\tstate\texit\tfile"

typedef struct {
    char name[256];
    char hash[17];
    char state[16];
    char exit_text[16];
    char *line;             /* the whole row as read */
} sw_row;

/* The rows of DIR/manifest.tsv (none when it does not exist). */
static sw_row *manifest_read(const char *dir, int *n) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    int cap = 64;
    sw_row *rows = malloc(sizeof *rows * (size_t)cap);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while (rows && (len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n') line[--len] = '\0';
        if (strncmp(line, "index\t", 6) == 0 || !line[0]) continue;
        if (*n == cap) {
            cap *= 2;
            sw_row *nr = realloc(rows, sizeof *rows * (size_t)cap);
            if (!nr) break;
            rows = nr;
        }
        sw_row *r = &rows[*n];
        memset(r, 0, sizeof *r);
        char *fields[9] = {0}, *save = NULL, *copy = strdup(line);
        int nf = 0;
        for (char *t = strtok_r(copy, "\t", &save); t && nf < 9; t = strtok_r(NULL, "\t", &save)) fields[nf++] = t;
        if (nf == 9) {
            snprintf(r->name, sizeof r->name, "%s", fields[1]);
            snprintf(r->hash, sizeof r->hash, "%s", fields[5]);
            snprintf(r->state, sizeof r->state, "%s", fields[6]);
            snprintf(r->exit_text, sizeof r->exit_text, "%s", fields[7]);
            r->line = strdup(line);
            (*n)++;
        }
        free(copy);
    }
    free(line);
    fclose(f);
    return rows;
}

static void manifest_free(sw_row *rows, int n) {
    for (int i = 0; i < n; i++) free(rows[i].line);
    free(rows);
}

static void manifest_line(const sw_run *r, char *out, size_t n) {
    snprintf(out, n, "%d\t%s\t%s\t%llu\t%s\t%s\t%s\t%s\t%s", r->index, r->name, r->algo->name, r->seed,
             r->varied[0] ? r->varied : "-", r->hash, sw_state_name[r->state], r->exit_text, r->file);
}

/* Writes the rows of runs[which[0..n_which)] into DIR/manifest.tsv, keeping every other row as it is there (other
 * processes, e.g. Slurm array tasks, update their own rows): flock on DIR/.manifest.lock, read, merge, write a
 * temporary file, rename. */
static int manifest_update(const char *dir, const sw_run *runs, const int *which, int n_which) {
    char lock[PATH_MAX + 32], path[PATH_MAX + 32], tmp[PATH_MAX + 64];
    snprintf(lock, sizeof lock, "%s/.manifest.lock", dir);
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    snprintf(tmp, sizeof tmp, "%s/.manifest.tsv.%ld", dir, (long)getpid());
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0) return -1;
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {}
    int n_old;
    sw_row *old = manifest_read(dir, &n_old);
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (f) {
        fprintf(f, "%s\n", SW_MANIFEST_COLS);
        char line[PATH_MAX + 2048];
        /* old rows in their order, ours replacing theirs; then our new rows */
        for (int i = 0; i < n_old; i++) {
            int mine = -1;
            for (int j = 0; j < n_which && mine < 0; j++)
                if (strcmp(runs[which[j]].name, old[i].name) == 0) mine = which[j];
            if (mine >= 0) {
                manifest_line(&runs[mine], line, sizeof line);
                fprintf(f, "%s\n", line);
            } else {
                fprintf(f, "%s\n", old[i].line);
            }
        }
        for (int j = 0; j < n_which; j++) {
            int found = 0;
            for (int i = 0; i < n_old && !found; i++) found = strcmp(runs[which[j]].name, old[i].name) == 0;
            if (found) continue;
            manifest_line(&runs[which[j]], line, sizeof line);
            fprintf(f, "%s\n", line);
        }
        rc = fclose(f) == 0 && rename(tmp, path) == 0 ? 0 : -1;
        if (rc) unlink(tmp);
    }
    manifest_free(old, n_old);
    close(lfd);
    return rc;
}

static int manifest_update_one(const char *dir, const sw_run *runs, int i) { return manifest_update(dir, runs, &i, 1); }

/* The first line where two config dumps differ, for the message. */
static void first_difference(const char *a, const char *b, char *out, size_t n) {
    while (*a && *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || strncmp(a, b, la) != 0) {
            snprintf(out, n, "'%.*s' there, '%.*s' now", (int)(la > 80 ? 80 : la), a, (int)(lb > 80 ? 80 : lb), b);
            return;
        }
        a += la + (ea ? 1 : 0);
        b += lb + (eb ? 1 : 0);
    }
    snprintf(out, n, "a different set of options");
}

/* The state of each run from its file (authoritative) and the manifest: done, resumable (killed or interrupted),
 * failed (diverged, write error, or the manifest says the process failed before writing), or pending. A run whose
 * file or manifest row holds another configuration is an error: 2 with the message. */
static int plan_states(const char *dir, sw_run *runs, int n, int rerun_failed, char *err, size_t errlen) {
    int n_rows;
    sw_row *rows = manifest_read(dir, &n_rows);
    size_t cap = SBO_CONFIG_MAX * (64 + SBO_CONFIG_VALUE_LEN + 8);
    char *dump = malloc(cap);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        sw_run *r = &runs[i];
        const sw_row *row = NULL;
        for (int j = 0; j < n_rows && !row; j++)
            if (strcmp(rows[j].name, r->name) == 0) row = &rows[j];
        if (row && strcmp(row->hash, r->hash) != 0) {
            sbo_errf(err, errlen, "run '%s' has changed configuration since %s/manifest.tsv was written (config hash "
                     "%s there, %s now); restore the sweep config, or use a new --out, or remove %s and its "
                     "manifest row to run it again", r->name, dir, row->hash, r->hash, r->file);
            rc = 2;
            break;
        }
        if (row) snprintf(r->exit_text, sizeof r->exit_text, "%s", row->exit_text);
        struct stat st;
        if (stat(r->file, &st) != 0) {
            r->state = row && strcmp(row->state, "failed") == 0 ? SW_FAILED : SW_PENDING;
        } else {
            char status[32] = "";
            /* HDF5 prints one line for a file that is not a results file: silence it by a quiet probe first */
            double *d = NULL;
            long rr, cc;
            int readable = sbo_h5_try_read_matrix(r->file, "/curves", &d, &rr, &cc) == 0;
            free(d);
            if (!readable || sbo_h5_read_attr_str(r->file, "/", "status", status, sizeof status) != 0 ||
                !dump || sbo_h5_read_attr_str(r->file, "/", "config", dump, cap) != 0) {
                sbo_errf(err, errlen, "'%s' is not a results file of run '%s'; move it away, the sweep would replace "
                         "it", r->file, r->name);
                rc = 2;
                break;
            }
            if (strcmp(dump, r->dump) != 0) {
                char diff[256];
                first_difference(dump, r->dump, diff, sizeof diff);
                sbo_errf(err, errlen, "run '%s': %s holds another configuration (%s); restore the sweep config, or use "
                         "a new --out, or remove the file to run it again", r->name, r->file, diff);
                rc = 2;
                break;
            }
            if (strcmp(status, "done") == 0) r->state = SW_DONE;
            else if (strcmp(status, "running") == 0 || strcmp(status, "interrupted") == 0) r->state = SW_RESUME;
            else r->state = SW_FAILED;
        }
        if (r->state == SW_FAILED && rerun_failed) r->state = SW_PENDING;
    }
    free(dump);
    manifest_free(rows, n_rows);
    return rc;
}

/* --fresh: removes DIR/<name>.h5 and DIR/logs/<name>.log of every run of this sweep and their manifest rows (the
 * manifest itself when no row is left); nothing else in DIR. Refused (2) when one of them is running (its lock is
 * held). Returns the number of files removed, or -1 with the message in err. */
static int remove_fresh(const char *dir, const sw_run *runs, int n, char *err, size_t errlen) {
    char path[PATH_MAX + 320];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/logs/%s.lock", dir, runs[i].name);
        int lfd = open(path, O_RDWR | O_CLOEXEC);
        if (lfd < 0) continue;
        int busy = flock(lfd, LOCK_EX | LOCK_NB) != 0;
        close(lfd);
        if (busy) {
            sbo_errf(err, errlen, "--fresh: run '%s' is running (%s is held by another sweep or Slurm task); wait for "
                     "it or stop it, then run again", runs[i].name, path);
            return -1;
        }
    }
    int removed = 0;
    for (int i = 0; i < n; i++) {
        if (unlink(runs[i].file) == 0) removed++;
        else if (errno != ENOENT) {
            sbo_errf(err, errlen, "--fresh: cannot remove '%s': %s", runs[i].file, strerror(errno));
            return -1;
        }
        snprintf(path, sizeof path, "%s/logs/%s.log", dir, runs[i].name);
        if (unlink(path) == 0) removed++;
    }
    /* the manifest without this sweep's rows */
    char lock[PATH_MAX + 32], mpath[PATH_MAX + 32], tmp[PATH_MAX + 64];
    snprintf(lock, sizeof lock, "%s/.manifest.lock", dir);
    snprintf(mpath, sizeof mpath, "%s/manifest.tsv", dir);
    snprintf(tmp, sizeof tmp, "%s/.manifest.tsv.%ld", dir, (long)getpid());
    struct stat st;
    if (stat(mpath, &st) != 0) return removed;
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0) return removed;
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {}
    int n_old, kept = 0, dropped = 0;
    sw_row *old = manifest_read(dir, &n_old);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "%s\n", SW_MANIFEST_COLS);
        for (int i = 0; i < n_old; i++) {
            int mine = 0;
            for (int j = 0; j < n && !mine; j++) mine = strcmp(runs[j].name, old[i].name) == 0;
            if (!mine) { fprintf(f, "%s\n", old[i].line); kept++; }
            else dropped++;
        }
        if (fclose(f) == 0 && dropped && !kept && unlink(mpath) == 0) removed++;   /* the manifest held only ours */
        else if (dropped && kept) rename(tmp, mpath);
        unlink(tmp);
    }
    manifest_free(old, n_old);
    close(lfd);
    return removed;
}

// --- running one run: a child `sbo run` of this binary ----------------------------------------------------

static volatile sig_atomic_t g_stop = 0;
static void on_stop(int sig) { g_stop = sig; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* argv of the run's `sbo run` (fresh or --resume). Strings live in the static buffers until the next call. */
static char **run_argv(const sw_spec *sp, const sw_run *r, const char *exe) {
    static char *argv[SBO_CONFIG_MAX * 2 + 2 * SW_MAX_AXES + 32];
    static char bufs[SW_MAX_AXES][SW_VALUE_LEN + 64], seed[32], every[32];
    const char *sets[SBO_CONFIG_MAX + SW_MAX_AXES];
    int n = 0;
    snprintf(every, sizeof every, "%ld", sp->checkpoint_every);
    argv[n++] = (char *)exe;
    argv[n++] = "run";
    if (r->state == SW_RESUME) {
        argv[n++] = "--resume";
        argv[n++] = (char *)r->file;
    } else {
        snprintf(seed, sizeof seed, "%llu", r->seed);
        argv[n++] = "--task"; argv[n++] = (char *)sp->task->name;
        argv[n++] = "--algo"; argv[n++] = (char *)r->algo->name;
        argv[n++] = "--seed"; argv[n++] = seed;
        int ns = run_sets(sp, r, sets, bufs);
        for (int i = 0; i < ns; i++) { argv[n++] = "--set"; argv[n++] = (char *)sets[i]; }
        argv[n++] = "--out"; argv[n++] = (char *)r->file;
    }
    if (sp->checkpoint_every > 0) { argv[n++] = "--checkpoint-every"; argv[n++] = every; }
    argv[n++] = "--quiet";
    argv[n] = NULL;
    return argv;
}

/* One argument for a shell line: as is when plain, else single-quoted. */
static void shell_word(FILE *f, const char *s) {
    if (s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:%@") == strlen(s)) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("'\\''", f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

static void print_argv(FILE *f, char **argv) {
    for (int i = 0; argv[i]; i++) {
        if (i) fputc(' ', f);
        shell_word(f, argv[i]);
    }
    fputc('\n', f);
}

/* Starts run r. Returns 1 started, 0 when another process holds the run's lock (it is running elsewhere), -1 on
 * failure (message in err). The child holds DIR/logs/<name>.lock (flock, inherited) for as long as it lives, so a
 * second sweep on DIR (or a Slurm task) never runs the same run twice, even after this process is killed. */
static int start_run(const sw_spec *sp, sw_run *r, const char *dir, const char *exe, char *err, size_t errlen) {
    char lock[PATH_MAX + 320], logp[PATH_MAX + 320];
    snprintf(lock, sizeof lock, "%s/logs/%s.lock", dir, r->name);
    snprintf(logp, sizeof logp, "%s/logs/%s.log", dir, r->name);
    int lfd = open(lock, O_RDWR | O_CREAT, 0644);
    if (lfd < 0) {
        sbo_errf(err, errlen, "cannot create '%s': %s; check that --out is writable", lock, strerror(errno));
        return -1;
    }
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        close(lfd);
        return 0;
    }
    char **argv = run_argv(sp, r, exe);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(lfd);
        sbo_errf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);                  /* a terminal's ^C reaches the sweep, which stops its children itself */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) { dup2(nul, 0); close(nul); }
        char when[32];
        sbo_iso_time(when, sizeof when);
        printf("== sbo sweep %s: %s run %s\n", when, r->state == SW_RESUME ? "resuming" : "starting", r->name);
        print_argv(stdout, argv);
        fflush(stdout);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        setenv("OMP_NUM_THREADS", "1", 1);
        execv(exe, argv);
        fprintf(stderr, "sbo sweep: cannot run '%s': %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(lfd);                         /* the child keeps the lock */
    r->pid = pid;
    r->t_start = now_s();
    r->state = SW_RUNNING;
    snprintf(r->exit_text, sizeof r->exit_text, "-");
    return 1;
}

/* After the child of r exited with wait status st: done (its file says so), failed (it ended with an error), or
 * pending again (killed by a signal, or interrupted: its file keeps a checkpoint, a re-run resumes it). */
static void finish_run(sw_run *r, int st) {
    r->pid = 0;
    if (WIFSIGNALED(st)) {
        snprintf(r->exit_text, sizeof r->exit_text, "sig%d", WTERMSIG(st));
        r->state = SW_PENDING;
        return;
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    snprintf(r->exit_text, sizeof r->exit_text, "%d", code);
    char status[32] = "";
    if (code == SBO_EXIT_OK && sbo_h5_read_attr_str(r->file, "/", "status", status, sizeof status) == 0 &&
        strcmp(status, "done") == 0)
        r->state = SW_DONE;
    else if (code == SBO_EXIT_INTERRUPTED) r->state = SW_PENDING;
    else r->state = SW_FAILED;
}

static void fmt_hms(double s, char *out, size_t n) {
    if (s < 0) { snprintf(out, n, "--"); return; }
    long e = (long)(s + 0.5);
    snprintf(out, n, "%ld:%02ld:%02ld", e / 3600, e / 60 % 60, e % 60);
}

typedef struct {
    int done, running, failed, pending, elsewhere;
} sw_counts;

static sw_counts count_states(const sw_run *runs, int n) {
    sw_counts c = {0};
    for (int i = 0; i < n; i++) {
        switch (runs[i].state) {
        case SW_DONE: c.done++; break;
        case SW_RUNNING: c.running++; break;
        case SW_FAILED: c.failed++; break;
        case SW_ELSEWHERE: c.elsewhere++; break;
        default: c.pending++;
        }
    }
    return c;
}

static void progress(const sw_run *runs, int n, int finished_here, double busy_s, long jobs, int tty, int final) {
    sw_counts c = count_states(runs, n);
    double eta = -1;
    if (finished_here > 0) eta = busy_s / finished_here * (c.pending + c.running) / (double)jobs;
    char e[32];
    fmt_hms(eta, e, sizeof e);
    fprintf(stderr, "%ssbo sweep: %d/%d done, %d running, %d failed, %d pending", tty ? "\r" : "", c.done, n,
            c.running + c.elsewhere, c.failed, c.pending);
    if (c.elsewhere) fprintf(stderr, " (%d running in another process)", c.elsewhere);
    fprintf(stderr, ", ETA %s%s", e, tty && !final ? "   " : "\n");
    fflush(stderr);
}

/* Runs the runs marked in todo[] (pending, resumable), jobs at a time, until all ended or a stop signal. Returns
 * 0, or 130 after a stop (children asked to stop with SIGTERM and waited for), or 1 when a run could not start. */
static int run_local(const sw_spec *sp, sw_run *runs, int n, const int *todo, int n_todo, const char *dir,
                     const char *exe, long jobs, int quiet_progress, char *err, size_t errlen) {
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;            /* no SA_RESTART: the sleep below wakes up */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int tty = isatty(2), next = 0, running = 0, finished = 0, rc = 0;
    double busy = 0, last_print = 0;
    int changed = 1;
    while (next < n_todo || running > 0) {
        while (!g_stop && running < jobs && next < n_todo) {
            sw_run *r = &runs[todo[next++]];
            int s = start_run(sp, r, dir, exe, err, errlen);
            if (s < 0) { rc = 1; g_stop = SIGTERM; break; }
            if (s == 0) r->state = SW_ELSEWHERE;
            else running++;
            manifest_update_one(dir, runs, r->index);
            changed = 1;
        }
        if (g_stop) {
            for (int i = 0; i < n; i++)
                if (runs[i].state == SW_RUNNING && runs[i].pid > 0) kill(runs[i].pid, SIGTERM);
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, g_stop ? 0 : WNOHANG)) > 0) {
            for (int i = 0; i < n; i++)
                if (runs[i].pid == pid && runs[i].state == SW_RUNNING) {
                    busy += now_s() - runs[i].t_start;
                    finish_run(&runs[i], st);
                    if (runs[i].state == SW_DONE) finished++;
                    manifest_update_one(dir, runs, i);
                    running--;
                    changed = 1;
                }
            if (g_stop && running == 0) break;
        }
        if (pid < 0 && errno == ECHILD) running = 0;
        if (g_stop && running == 0) break;
        double t = now_s();
        if (!quiet_progress && (changed && (!tty || t - last_print > 0.2))) {
            progress(runs, n, finished, busy, jobs, tty, 0);
            last_print = t;
            changed = 0;
        } else if (!quiet_progress && tty && t - last_print > 1) {
            progress(runs, n, finished, busy, jobs, tty, 0);
            last_print = t;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!quiet_progress) progress(runs, n, finished, busy, jobs, tty, 1);
    int stopped = g_stop && rc == 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    g_stop = 0;
    return stopped ? SBO_EXIT_INTERRUPTED : rc;
}

// --- Slurm: a job array of `sbo sweep --run-index I`, and a summary job after it -----------------------------

static int on_path(const char *prog) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[PATH_MAX];
    for (const char *p = path; *p;) {
        const char *c = strchr(p, ':');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)l, p, prog);
        if (access(buf, X_OK) == 0) return 1;
        p += l + (c ? 1 : 0);
    }
    return 0;
}

/* "0-3,5,7-8" from the sorted indices. */
static void array_spec(const int *idx, int n, char *out, size_t len) {
    size_t u = 0;
    out[0] = '\0';
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && idx[j + 1] == idx[j] + 1) j++;
        int w = j > i ? snprintf(out + u, len - u, "%s%d-%d", u ? "," : "", idx[i], idx[j])
                      : snprintf(out + u, len - u, "%s%d", u ? "," : "", idx[i]);
        if (w > 0) u += (size_t)w;
        if (u >= len) { out[len - 1] = '\0'; return; }
        i = j + 1;
    }
}

/* --mem and --time from the same measurement `sbo memory` makes (VmHWM after 3 steps, and the time per step), the
 * largest over the distinct configurations of the pending runs: memory x 1.5 + 256 MiB, time 3 x (step time x
 * run.iters) + 10 min (evaluation, data loading and snapshots are not in the step time). */
static int estimate_resources(const sw_spec *sp, const sw_run *runs, const int *todo, int n_todo, long *mem_mib,
                              long *time_min, char *err, size_t errlen) {
    sbo_config *cfg = malloc(sizeof *cfg);
    if (!cfg) { sbo_errf(err, errlen, "out of memory"); return 1; }
    double hwm = 0, secs = 0;
    for (int t = 0; t < n_todo; t++) {
        const sw_run *r = &runs[todo[t]];
        int seen = 0;   /* same algorithm and grid values as an earlier one: only the seed differs */
        for (int u = 0; u < t && !seen; u++)
            seen = runs[todo[u]].algo == r->algo && strcmp(runs[todo[u]].varied, r->varied) == 0;
        if (seen) continue;
        double h = 0, step = 0;
        long iters = 0;
        char e[SBO_ERR_LEN * 2];
        if (resolve_run(sp, r, cfg, err, errlen) || sbo_config_long(cfg, "run.iters", &iters, e, sizeof e)) {
            free(cfg);
            return SBO_EXIT_USAGE;
        }
        int code = sbo_memory_estimate(sp->task, r->algo, cfg, 3, &h, &step, e, sizeof e);
        if (code) {
            sbo_errf(err, errlen, "estimating the memory of run %s: %s; set slurm_mem and slurm_time in [sweep]", r->name, e);
            free(cfg);
            return code;
        }
        if (h > hwm) hwm = h;
        if (step * (double)iters > secs) secs = step * (double)iters;
    }
    free(cfg);
    *mem_mib = (long)(hwm * 1.5 / (1024.0 * 1024.0)) + 257;
    *time_min = (long)(3 * secs / 60.0) + 11;
    return 0;
}

static int write_text(const char *path, const char *text, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        sbo_errf(err, errlen, "cannot write '%s': %s; check that --out is writable", path, strerror(errno));
        return -1;
    }
    chmod(path, 0755);
    return 0;
}

/* Runs argv (sbatch), its stdout into out. Returns its exit status (-1: could not run). */
static int capture(char *const argv[], char *out, size_t len) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < len && (k = read(fd[0], out + got, len - 1 - got)) != 0) {
        if (k < 0) { if (errno == EINTR) continue; break; }
        got += (size_t)k;
    }
    out[got] = '\0';
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1 when a pending run has run.device = cuda (its array tasks then ask Slurm for a GPU), 0 when none, -1 with err. */
static int any_cuda_run(const sw_spec *sp, const sw_run *runs, const int *todo, int n_todo, char *err, size_t errlen) {
    sbo_config *cfg = malloc(sizeof *cfg);
    if (!cfg) { sbo_errf(err, errlen, "out of memory"); return -1; }
    int cuda = 0;
    for (int t = 0; t < n_todo && !cuda; t++) {
        sbo_device dev = SBO_DEVICE_CPU;
        char e[SBO_ERR_LEN * 2];
        if (resolve_run(sp, &runs[todo[t]], cfg, err, errlen) || sbo_run_parse_device(sp->task, cfg, &dev, e, sizeof e)) {
            free(cfg);
            return -1;
        }
        cuda = dev == SBO_DEVICE_CUDA;
    }
    free(cfg);
    return cuda;
}

/* Builds the two scripts; with dry_run prints them and the commands, else writes them into DIR and submits. */
static int slurm_submit(const sbo_sweep_opts *o, const sw_spec *sp, const sw_run *runs, const int *todo, int n_todo,
                        const char *dir, const char *exe, char *err, size_t errlen) {
    long mem_mib = 0, time_min = 0;
    char mem[48], tim[48];
    if (!sp->slurm_mem[0] || !sp->slurm_time[0]) {
        int code = estimate_resources(sp, runs, todo, n_todo, &mem_mib, &time_min, err, errlen);
        if (code) return code;
    }
    if (sp->slurm_mem[0]) snprintf(mem, sizeof mem, "%s", sp->slurm_mem);
    else snprintf(mem, sizeof mem, "%ldM", mem_mib);
    if (sp->slurm_time[0]) snprintf(tim, sizeof tim, "%s", sp->slurm_time);
    else snprintf(tim, sizeof tim, "%ld:%02ld:00", time_min / 60, time_min % 60);
    int cuda = any_cuda_run(sp, runs, todo, n_todo, err, errlen);
    if (cuda < 0) return SBO_EXIT_USAGE;
    int *idx = malloc(sizeof *idx * (size_t)(n_todo > 0 ? n_todo : 1));
    if (!idx) { sbo_errf(err, errlen, "out of memory"); return 1; }
    for (int i = 0; i < n_todo; i++) idx[i] = runs[todo[i]].index;
    size_t alen = (size_t)n_todo * 12 + 16;
    char *arr = malloc(alen);
    if (!arr) { free(idx); sbo_errf(err, errlen, "out of memory"); return 1; }
    array_spec(idx, n_todo, arr, alen);
    free(idx);
    char when[32];
    sbo_iso_time(when, sizeof when);
    char *script = NULL, *summary = NULL;
    size_t slen = 0, mlen = 0;
    FILE *f = open_memstream(&script, &slen);
    fprintf(f, "#!/bin/bash\n# %s/%s.sbatch: written by `sbo sweep %s --slurm` on %s.\n", dir, sp->stem, sp->config, when);
    fprintf(f, "# One array task per pending run (%d of them); each runs `sbo sweep --run-index I`, which skips a complete\n"
               "# run, resumes a killed one from its checkpoint and updates its row of manifest.tsv (docs/SCHEMA.md).\n",
            n_todo);
    fprintf(f, "#SBATCH --job-name=sbo-%s\n#SBATCH --array=%s%%%ld\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n", sp->stem,
            arr, sp->slurm_throttle);
    fprintf(f, "#SBATCH --time=%s\n#SBATCH --mem=%s\n#SBATCH --output=%s/logs/slurm-%%A_%%a.out\n", tim, mem, dir);
    if (sp->slurm_partition[0]) fprintf(f, "#SBATCH --partition=%s\n", sp->slurm_partition);
    if (cuda) fprintf(f, "#SBATCH --gres=gpu:1\n# --gres: run.device = cuda (one GPU per array task)\n");
    if (!sp->slurm_mem[0]) fprintf(f, "# --mem: the largest VmHWM of `sbo memory`'s measurement (3 steps) x 1.5 + 256 MiB "
                                      "(set slurm_mem in [sweep] to choose it)\n");
    if (!sp->slurm_time[0]) fprintf(f, "# --time: 3 x (measured time per step x run.iters) + 10 min (set slurm_time in "
                                       "[sweep] to choose it)\n");
    fprintf(f, "export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1\nexec ");
    shell_word(f, exe);
    fputs(" sweep ", f);
    shell_word(f, sp->config);
    fputs(" --out ", f);
    shell_word(f, dir);
    for (int i = 0; i < o->n_sets; i++) {
        fputs(" --set ", f);
        shell_word(f, o->sets[i]);
    }
    fprintf(f, " --run-index \"$SLURM_ARRAY_TASK_ID\"%s\n", o->rerun_failed ? " --rerun-failed" : "");
    fclose(f);
    f = open_memstream(&summary, &mlen);
    fprintf(f, "#!/bin/bash\n# %s/%s.summary.sbatch: the summary of the sweep's directory, after every array task "
               "(afterany).\n", dir, sp->stem);
    fprintf(f, "#SBATCH --job-name=sbo-%s-summary\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n#SBATCH --time=0:30:00\n"
               "#SBATCH --mem=1024M\n#SBATCH --output=%s/logs/%s.summary.out\n", sp->stem, dir, sp->stem);
    if (sp->slurm_partition[0]) fprintf(f, "#SBATCH --partition=%s\n", sp->slurm_partition);
    if (cuda) fprintf(f, "#SBATCH --gres=gpu:1\n# --gres: run.device = cuda (one GPU per array task)\n");
    fputs("exec ", f);
    shell_word(f, exe);
    fputs(" summarize ", f);
    shell_word(f, dir);
    fprintf(f, " --md %s/summary.md --csv %s/summary.csv\n", dir, dir);
    fclose(f);
    free(arr);
    int rc = 0;
    char path[PATH_MAX + 160], spath[PATH_MAX + 160];
    /* named by the config: several sweeps may share DIR (scripts/reproduce_neural.sh) */
    snprintf(path, sizeof path, "%s/%s.sbatch", dir, sp->stem);
    snprintf(spath, sizeof spath, "%s/%s.summary.sbatch", dir, sp->stem);
    if (o->dry_run) {
        printf("--- %s (not written: --dry-run)\n%s--- %s (not written)\n%s", path, script, spath, summary);
        printf("--- commands (not run)\nsbatch --parsable %s\nsbatch --parsable --dependency=afterany:JOBID %s\n", path,
               spath);
        goto out;
    }
    if (write_text(path, script, err, errlen) || write_text(spath, summary, err, errlen)) { rc = 1; goto out; }
    char jobid[256], sjob[256];
    char *a1[] = {"sbatch", "--parsable", path, NULL};
    int code = capture(a1, jobid, sizeof jobid);
    jobid[strcspn(jobid, ";\n")] = '\0';
    if (code != 0 || !jobid[0]) {
        sbo_errf(err, errlen, "sbatch %s failed (exit %d); its message is above. Is the cluster up (sinfo)?", path, code);
        rc = 1;
        goto out;
    }
    char dep[300];
    snprintf(dep, sizeof dep, "--dependency=afterany:%s", jobid);
    char *a2[] = {"sbatch", "--parsable", dep, spath, NULL};
    code = capture(a2, sjob, sizeof sjob);
    sjob[strcspn(sjob, ";\n")] = '\0';
    if (code != 0 || !sjob[0]) {
        sbo_errf(err, errlen, "sbatch %s %s failed (exit %d) after the array job %s was submitted; submit the summary "
                 "by hand: sbatch %s %s", dep, spath, code, jobid, dep, spath);
        rc = 1;
        goto out;
    }
    char jpath[PATH_MAX + 32];
    snprintf(jpath, sizeof jpath, "%s/slurm_jobs.tsv", dir);
    FILE *jf = fopen(jpath, "a");
    if (jf) {
        fprintf(jf, "%s\tarray\t%s\t%d runs\n%s\tsummary\t%s\tafterany:%s\n", when, jobid, n_todo, when, sjob, jobid);
        fclose(jf);
    }
    printf("sbo sweep: submitted %d runs as job array %s (at most %ld at a time, --time %s, --mem %s) and the summary "
           "job %s after it; watch: squeue -j %s,%s; results: %s\n", n_todo, jobid, sp->slurm_throttle, tim, mem,
           sjob, jobid, sjob, dir);
out:
    free(script);
    free(summary);
    return rc;
}

// --- the command ----------------------------------------------------------------------------------------------

/* mkdir -p */
static int make_dirs(const char *dir, char *err, size_t errlen) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                sbo_errf(err, errlen, "cannot create directory '%s': %s; choose a writable --out", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

int sbo_sweep(const sbo_sweep_opts *o, char *err, size_t errlen) {
    static sw_spec sp;
    if (parse_spec(o->config, o->sets, o->n_sets, &sp, err, errlen)) return SBO_EXIT_USAGE;
    char dir[PATH_MAX];
    if (o->out) {
        size_t l = strlen(o->out);
        if (!l) { free_spec(&sp); sbo_errf(err, errlen, "--out is empty; pass a directory, e.g. --out results/sweeps/%s", sp.stem); return SBO_EXIT_USAGE; }
        snprintf(dir, sizeof dir, "%s", o->out);
        while (l > 1 && dir[l - 1] == '/') dir[--l] = '\0';
    } else {
        snprintf(dir, sizeof dir, "results/sweeps/%s", sp.stem);
    }
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        free_spec(&sp);
        sbo_errf(err, errlen, "--out '%s' exists and is not a directory; sbo sweep writes a directory of run files, so "
                 "choose a new directory (or a previous sweep's)", dir);
        return SBO_EXIT_USAGE;
    }
    if (dir[0] != '/') {            /* absolute: the Slurm scripts and the children do not depend on the cwd */
        char cwd[PATH_MAX], abs[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) && (size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, dir) < sizeof abs)
            snprintf(dir, sizeof dir, "%s", abs);
    }
    int n = 0;
    sw_run *runs = expand_runs(&sp, dir, &n, err, errlen);
    if (!runs) { free_spec(&sp); return SBO_EXIT_USAGE; }
    int rc = 0;
    if (o->run_index >= n) {
        sbo_errf(err, errlen, "--run-index %ld is outside 0..%d (this sweep has %d runs); see manifest.tsv", o->run_index,
                 n - 1, n);
        rc = SBO_EXIT_USAGE;
        goto out;
    }
    if (o->slurm && !o->dry_run && !o->validate_only && o->run_index < 0 && !on_path("sbatch")) {
        sbo_errf(err, errlen, "--slurm: sbatch is not on PATH; install slurm-wlm (scripts/setup.sh) or run the sweep "
                 "locally without --slurm");
        rc = SBO_EXIT_USAGE;
        goto out;
    }
    if (o->validate_only) {
        if (!o->fresh) rc = plan_states(dir, runs, n, o->rerun_failed, err, errlen);
        goto out;
    }
    if (o->fresh && o->dry_run) {
        printf("sbo sweep: --fresh: would remove the %d run files of this sweep in %s, their logs and manifest rows "
               "(--dry-run: nothing is removed)\n", n, dir);
    } else if (o->fresh) {
        int removed = remove_fresh(dir, runs, n, err, errlen);
        if (removed < 0) { rc = SBO_EXIT_USAGE; goto out; }
        fprintf(stderr, "sbo sweep: --fresh: removed %d files of this sweep's %d runs in %s\n", removed, n, dir);
    } else if ((rc = plan_states(dir, runs, n, o->rerun_failed, err, errlen)) != 0) {
        goto out;
    }
    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) { sbo_errf(err, errlen, "cannot find this program (/proc/self/exe): %s", strerror(errno)); rc = 1; goto out; }
    exe[el] = '\0';
    /* what to do: only --run-index's run, or every run that is not done or failed */
    int *todo = malloc(sizeof *todo * (size_t)n);
    int n_todo = 0, n_failed = 0;
    if (!todo) { sbo_errf(err, errlen, "out of memory"); rc = 1; goto out; }
    for (int i = 0; i < n; i++) {
        if (o->run_index >= 0 && i != o->run_index) continue;
        if (runs[i].state == SW_PENDING || runs[i].state == SW_RESUME) todo[n_todo++] = i;
        if (runs[i].state == SW_FAILED) n_failed++;
    }
    if (o->dry_run) {
        printf("sbo sweep %s: %d runs of task %s into %s (--dry-run: nothing is run, written or submitted)\n", sp.config,
               n, sp.task->name, dir);
        printf("%-6s %-40s %-9s %s\n", "index", "name", "action", "command");
        for (int i = 0; i < n; i++) {
            if (o->run_index >= 0 && i != o->run_index) continue;
            const sw_run *r = &runs[i];
            const char *act = r->state == SW_DONE ? "skip" : r->state == SW_FAILED ? "failed" :
                              r->state == SW_RESUME ? "resume" : "run";
            printf("%-6d %-40s %-9s ", r->index, r->name, act);
            if (r->state == SW_DONE) printf("(complete: %s)\n", r->file);
            else if (r->state == SW_FAILED) printf("(exit %s; --rerun-failed starts it over)\n", r->exit_text);
            else print_argv(stdout, run_argv(&sp, r, exe));
        }
        if (o->slurm && n_todo > 0) rc = slurm_submit(o, &sp, runs, todo, n_todo, dir, exe, err, errlen);
        free(todo);
        goto out;
    }
    if (make_dirs(dir, err, errlen)) { free(todo); rc = SBO_EXIT_USAGE; goto out; }
    char logs[PATH_MAX + 8];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    if (mkdir(logs, 0755) != 0 && errno != EEXIST) {
        sbo_errf(err, errlen, "cannot create '%s': %s; choose a writable --out", logs, strerror(errno));
        free(todo);
        rc = 1;
        goto out;
    }
    if (o->run_index >= 0) {
        manifest_update_one(dir, runs, (int)o->run_index);
    } else {
        int *all = malloc(sizeof *all * (size_t)n);
        if (all) {
            for (int i = 0; i < n; i++) all[i] = i;
            manifest_update(dir, runs, all, n);
            free(all);
        }
    }
    if (o->slurm && o->run_index < 0) {
        if (n_todo == 0) printf("sbo sweep: nothing to submit: %d runs done, %d failed (--rerun-failed starts them "
                                "over); results in %s\n", n - n_failed, n_failed, dir);
        else rc = slurm_submit(o, &sp, runs, todo, n_todo, dir, exe, err, errlen);
        free(todo);
        goto out;
    }
    long jobs = o->run_index >= 0 ? 1 : o->jobs;
    int skipped = n - n_todo - n_failed;
    if (o->run_index < 0)
        fprintf(stderr, "sbo sweep: %d runs in %s: %d to run or resume, %d complete (skipped), %d failed%s; %ld at a time\n",
                n, dir, n_todo, skipped, n_failed, n_failed ? " (left as they are; --rerun-failed starts them over)" : "",
                jobs);
    rc = run_local(&sp, runs, n, todo, n_todo, dir, exe, jobs, o->run_index >= 0, err, errlen);
    free(todo);
    if (rc == SBO_EXIT_INTERRUPTED) {
        sbo_errf(err, errlen, "sweep interrupted: the running runs were stopped at a step boundary; run the same "
                 "command again to resume them");
        goto out;
    }
    if (rc) goto out;
    sw_counts c = count_states(runs, n);
    if (o->run_index >= 0) {
        const sw_run *r = &runs[o->run_index];
        if (r->state == SW_DONE) rc = 0;
        else if (r->state == SW_ELSEWHERE) rc = 0;
        else {
            sbo_errf(err, errlen, "run %s %s (exit %s); its log: %s/logs/%s.log", r->name,
                     r->state == SW_FAILED ? "failed" : "did not finish", r->exit_text, dir, r->name);
            rc = 1;
        }
        goto out;
    }
    if (c.failed || c.pending || c.elsewhere) {
        char names[1024] = "";
        for (int i = 0; i < n; i++)
            if (runs[i].state != SW_DONE) {
                size_t u = strlen(names);
                if (u < sizeof names - 80)
                    snprintf(names + u, sizeof names - u, "%s%s (%s, exit %s)", u ? ", " : "", runs[i].name,
                             sw_state_name[runs[i].state], runs[i].exit_text);
            }
        sbo_errf(err, errlen, "%d of %d runs are not done: %s; logs in %s/logs/, re-run the sweep to resume killed "
                 "runs (--rerun-failed for failed ones)", c.failed + c.pending + c.elsewhere, n, names, dir);
        rc = 1;
    } else {
        printf("sbo sweep: all %d runs done; manifest %s/manifest.tsv; summary: sbo summarize %s\n", n, dir, dir);
    }
out:
    free_runs(runs, n);
    free_spec(&sp);
    return rc;
}

// --- the command line: sbo sweep CONFIG.ini [options] ----------------------------------------------------

const char *const sbo_sweep_help =
    "usage: sbo sweep CONFIG.ini [--out DIR] [--jobs N] [--set KEY=VALUE]... [--fresh] [--slurm] [--dry-run]\n"
    "                 [--rerun-failed] [--run-index I]\n"
    "\n"
    "Runs a grid of `sbo run`s. CONFIG.ini's [sweep] section names the grid; everything outside it ([run], [task],\n"
    "[algo]) is the base configuration of every run, as `sbo run --config` reads it:\n"
    "  [sweep]\n"
    "  task = data_cleaning            ; one task\n"
    "  algorithms = soba, ma_soba, bros\n"
    "  seeds = 1-3                     ; or 1, 2, 3; seeds.bros = 1-5: other seeds for one algorithm\n"
    "  base = ../data_cleaning.ini     ; optional: a config (path relative to CONFIG.ini) under the sections below\n"
    "  name = dc_{algo}_r{algo.rank}_s{seed}   ; optional run-name template; name.soba = ...: one algorithm's\n"
    "  algo.rank = 32, 64, 128         ; any run.*, task.* or algo.* option: a list of values (\"1,2,3\" quotes commas)\n"
    "  checkpoint_every = 1000         ; sbo run --checkpoint-every (0: none); default 1000\n"
    "  slurm_throttle = 4              ; --slurm: at most this many array tasks at a time (default 4)\n"
    "  slurm_time = 2:00:00            ; --slurm: --time (default: estimated); slurm_mem = 4G (default: estimated)\n"
    "  slurm_partition = debug         ; --slurm: --partition (default: the cluster's default)\n"
    "Each run is named <algorithm>[_<key><value>...]_s<seed> from the options with two or more values (key: the part\n"
    "after the dot; a value starting with a letter gets a '-': bros_rank64_s2, soba_model-mlp_s1) and writes\n"
    "DIR/<name>.h5 through a child `sbo run` (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1, log DIR/logs/<name>.log).\n"
    "A name template replaces that rule: {algo}, {seed} and {KEY} for a key listed in [sweep] (its value), checked\n"
    "before anything runs (an unknown placeholder, a key the algorithm does not read, or two runs with one name: 2).\n"
    "An option that an algorithm does not read (algo.rank for soba and ma_soba) does not multiply its runs.\n"
    "DIR/manifest.tsv lists every run: index, name, algorithm, seed, grid values, config hash, state (pending,\n"
    "running, done, failed), exit status, file (docs/SCHEMA.md).\n"
    "\n"
    "Running the same sweep again skips complete runs (status done), resumes killed or interrupted runs from their\n"
    "checkpoint, and leaves failed runs (diverged, write error, refused configuration) as they are: they fail the\n"
    "same way again, so only --rerun-failed starts them over. A run whose configuration changed since its file or\n"
    "manifest row was written is refused (exit 2), never overwritten.\n"
    "\n"
    "options:\n"
    "  --out DIR         the sweep's directory (default results/sweeps/<CONFIG stem>); created when missing\n"
    "  --jobs N          N runs at a time (default 1), one BLAS/OpenMP thread each; one progress line on stderr\n"
    "  --set KEY=VALUE   override a key: sweep.KEY one of [sweep] (--set sweep.seeds=1-5), any other the base\n"
    "                    configuration (--set run.iters=6000; a key [sweep] varies is refused); repeatable; the\n"
    "                    Slurm tasks get the same overrides\n"
    "  --fresh           first remove this sweep's run files, their logs and manifest rows (nothing else in DIR),\n"
    "                    so every run starts over (make reproduce); refused while one of them is running\n"
    "  --slurm           write DIR/<CONFIG stem>.sbatch (a job array, one task per pending run, each running\n"
    "                    `sbo sweep CONFIG --out DIR --run-index I`) and DIR/<stem>.summary.sbatch (`sbo summarize DIR`),\n"
    "                    submit both with sbatch, the summary with --dependency=afterany on the array\n"
    "  --dry-run         print the runs, what would happen to each and the commands (with --slurm the scripts);\n"
    "                    run, write and submit nothing\n"
    "  --rerun-failed    start failed runs over\n"
    "  --run-index I     only run I (what each Slurm array task runs)\n"
    "\n"
    "SIGINT/SIGTERM: the running runs are asked to stop (they finish their step and keep their checkpoint); exit 130,\n"
    "and the same command resumes them. Exit codes: 0 every run done, 1 some run failed or was killed, 2 bad input\n"
    "(nothing written), 130 interrupted. Messages: docs/ERRORS.md.\n";

static int sweep_usage(const char *fmt, const char *a, const char *b) {
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, a, b);
    sbo_print_error("sbo: error: ", msg);
    return SBO_EXIT_USAGE;
}

int sbo_sweep_command(int argc, char **argv, int validate_only) {
    static const char *sets[64];
    sbo_sweep_opts o = {.jobs = 1, .run_index = -1, .validate_only = validate_only, .argc = argc, .argv = argv,
                        .sets = sets};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            if (o.config) return sweep_usage("'sbo sweep' takes one CONFIG.ini, got '%s' and '%s'; see 'sbo sweep --help'",
                                             o.config, arg);
            o.config = arg;
            continue;
        }
        char name[64];
        const char *eq = strchr(arg, '='), *val = NULL;
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg - 2) : (int)strlen(arg + 2), arg + 2);
        int flag = strcmp(name, "slurm") == 0 || strcmp(name, "dry-run") == 0 || strcmp(name, "rerun-failed") == 0 ||
                   strcmp(name, "fresh") == 0;
        int valued = strcmp(name, "out") == 0 || strcmp(name, "jobs") == 0 || strcmp(name, "run-index") == 0 ||
                     strcmp(name, "set") == 0;
        if (!flag && !valued)
            return sweep_usage("unknown option '%s' for 'sbo sweep'%s; valid options: --out, --jobs, --set, --fresh, "
                               "--slurm, --dry-run, --rerun-failed, --run-index", arg, "");
        if (flag) {
            if (eq) return sweep_usage("--%s takes no value; write just --%s", name, name);
            if (name[0] == 's') o.slurm = 1;
            else if (name[0] == 'd') o.dry_run = 1;
            else if (name[0] == 'f') o.fresh = 1;
            else o.rerun_failed = 1;
            continue;
        }
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else return sweep_usage("option --%s needs a value; see 'sbo sweep --help'%s", name, "");
        if (name[0] == 'o') { o.out = val; continue; }
        if (name[0] == 's') {
            if (o.n_sets >= (int)(sizeof sets / sizeof sets[0]))
                return sweep_usage("more than 64 --set options%s%s; put them in the config", "", "");
            if (!strchr(val, '=') || val[0] == '=')
                return sweep_usage("--set '%s': expected KEY=VALUE, e.g. --set run.iters=6000 or --set sweep.seeds=1-5%s",
                                   val, "");
            sets[o.n_sets++] = val;
            continue;
        }
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (name[0] == 'j' && (errno || end == val || *end || v < 1 || v > 1024))
            return sweep_usage("--jobs '%s' is not an integer in 1..1024; pass e.g. --jobs 2%s", val, "");
        if (name[0] == 'r' && (errno || end == val || *end || v < 0 || v > SW_MAX_RUNS))
            return sweep_usage("--run-index '%s' is not a run index (0, 1, ...); pass $SLURM_ARRAY_TASK_ID%s", val, "");
        if (name[0] == 'j') o.jobs = v;
        else o.run_index = v;
    }
    if (!o.config) return sweep_usage("missing CONFIG.ini; pass a config with a [sweep] section, e.g. sbo sweep "
                                      "configs/sweep_example.ini --jobs 2%s%s", "", "");
    if (o.run_index >= 0 && o.fresh)
        return sweep_usage("--fresh removes every run of the sweep; it does not go with --run-index (one run)%s%s", "",
                           "");
    if (o.run_index >= 0 && o.slurm)
        return sweep_usage("--run-index runs one run here; drop --slurm (the array tasks of --slurm use --run-index)%s%s",
                           "", "");
    static char err[SBO_SWEEP_ERR_LEN];
    err[0] = '\0';
    int code = sbo_sweep(&o, err, sizeof err);
    if (err[0]) sbo_print_error(code == SBO_EXIT_INTERRUPTED ? "sbo: " : "sbo: error: ", err);
    return code;
}
