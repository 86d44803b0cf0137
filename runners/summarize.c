/* runners/summarize.c: `sbo summarize DIR` (runners/summarize.h): reads every `sbo run` file under DIR (through
 * runners/sbo_h5.h), groups the complete ones by (task, algorithm, configuration without the seed, git commit, curve
 * columns) and writes one table per task: for each metric column of /curves its final and best value, as the median
 * and 20-80% band over the group's seeds; the oracle calls, step time and memory peaks. Runs that differ in
 * configuration or commit are separate rows, and a note says so. Markdown on stdout (and --md FILE), long CSV with
 * --csv FILE (docs/SCHEMA.md, "Sweep summaries").
 * Try: sbo summarize results/sweeps/sweep_example.  Exercised by: tests/test_sweep.c, tests/test_slurm.sh. */
#define _XOPEN_SOURCE 700           /* nftw */
#include "runners/summarize.h"      /* this file's interface */
#include "runners/sbo_run.h"        /* exit codes */
#include "runners/sbo_h5.h"         /* reading the run files */
#include "core/sbo_log.h"           /* sbo_print_error */

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SM_FIXED_COLS 10            /* iteration .. upper_samples (runners/sbo_run.c); the metrics follow */
#define SM_MAX_METRICS 32
#define SM_CONFIG_LEN (128 * 4200)  /* the config attribute: SBO_CONFIG_MAX lines */

typedef struct {
    char path[4096];
    char name[256];                 /* file name without .h5 */
    char task[64], algo[64], commit[64], status[32], seed[32];
    char *config, *columns;
    int n_metrics;
    char metric[SM_MAX_METRICS][64];
    double final[SM_MAX_METRICS], best[SM_MAX_METRICS];
    double iterations, oracle_calls, step_time, arena_peak, process_peak;
} sm_run;

typedef struct {
    int first;                      /* index of its first run */
    int n;
    int *members;
    char label[1024];               /* the configuration keys in which it differs from the task's other groups */
} sm_group;

static sm_run *g_runs;
static int g_n, g_cap, g_skipped;
static char g_skipped_names[1024];

// --- reading ------------------------------------------------------------------------------------------------

/* Higher is better for these metric names; lower for every other. */
static int higher_is_better(const char *m) {
    return strstr(m, "accuracy") || strcmp(m, "f1") == 0 || strcmp(m, "precision") == 0 || strcmp(m, "recall") == 0;
}

static int read_run(const char *path, sm_run *r) {
    memset(r, 0, sizeof *r);
    double *d = NULL;
    long rows = 0, cols = 0;
    if (sbo_h5_try_read_matrix(path, "/curves", &d, &rows, &cols) != 0) return -1;
    r->config = malloc(SM_CONFIG_LEN);
    r->columns = malloc(8192);
    if (!r->config || !r->columns ||
        sbo_h5_try_read_attr_str(path, "/", "task", r->task, sizeof r->task) != 0 ||
        sbo_h5_try_read_attr_str(path, "/", "algorithm", r->algo, sizeof r->algo) != 0 ||
        sbo_h5_try_read_attr_str(path, "/", "config", r->config, SM_CONFIG_LEN) != 0 ||
        sbo_h5_try_read_attr_str(path, "/curves", "columns", r->columns, 8192) != 0) {
        free(d); free(r->config); free(r->columns);
        return -1;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    const char *slash = strrchr(path, '/');
    snprintf(r->name, sizeof r->name, "%s", slash ? slash + 1 : path);
    char *dot = strrchr(r->name, '.');
    if (dot) *dot = '\0';
    if (sbo_h5_try_read_attr_str(path, "/", "git_commit", r->commit, sizeof r->commit) != 0)
        snprintf(r->commit, sizeof r->commit, "unknown");
    sbo_h5_try_read_attr_str(path, "/", "status", r->status, sizeof r->status);
    sbo_h5_try_read_attr_str(path, "/", "seed", r->seed, sizeof r->seed);
    char buf[64];
    r->step_time = r->arena_peak = r->process_peak = NAN;
    if (sbo_h5_try_read_attr_str(path, "/", "step_time_s", buf, sizeof buf) == 0) r->step_time = atof(buf);
    if (sbo_h5_try_read_attr_str(path, "/", "memory_arena_peak_bytes", buf, sizeof buf) == 0) r->arena_peak = atof(buf);
    if (sbo_h5_try_read_attr_str(path, "/", "memory_process_peak_bytes", buf, sizeof buf) == 0)
        r->process_peak = atof(buf);
    /* the metric columns: after the fixed ones, up to n_clips */
    char *save = NULL, *copy = strdup(r->columns);
    int c = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), c++) {
        if (strcmp(t, "n_clips") == 0) break;
        if (c >= SM_FIXED_COLS && r->n_metrics < SM_MAX_METRICS) snprintf(r->metric[r->n_metrics++], 64, "%s", t);
    }
    free(copy);
    if (rows > 0) {
        const double *last = d + (rows - 1) * cols;
        r->iterations = last[0];
        r->oracle_calls = 0;
        for (int k = 2; k < 8 && k < cols; k++) r->oracle_calls += last[k];
        for (int m = 0; m < r->n_metrics && SM_FIXED_COLS + m < cols; m++) {
            int hi = higher_is_better(r->metric[m]);
            double best = NAN;
            for (long i = 0; i < rows; i++) {
                double v = d[i * cols + SM_FIXED_COLS + m];
                if (isnan(v)) continue;
                if (isnan(best) || (hi ? v > best : v < best)) best = v;
            }
            r->final[m] = last[SM_FIXED_COLS + m];
            r->best[m] = best;
        }
    }
    free(d);
    return rows > 0 ? 0 : -1;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    size_t l = strlen(path);
    if (type != FTW_F || l < 3 || strcmp(path + l - 3, ".h5") != 0) return 0;
    if (g_n == g_cap) {
        g_cap = g_cap ? 2 * g_cap : 64;
        sm_run *nr = realloc(g_runs, sizeof *g_runs * (size_t)g_cap);
        if (!nr) return 1;
        g_runs = nr;
    }
    if (read_run(path, &g_runs[g_n]) == 0) {
        g_n++;
    } else {
        g_skipped++;
        size_t u = strlen(g_skipped_names);
        if (u < sizeof g_skipped_names - 300)
            snprintf(g_skipped_names + u, sizeof g_skipped_names - u, "%s%s", u ? ", " : "", path);
    }
    return 0;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const sm_run *)a)->path, ((const sm_run *)b)->path);
}

// --- statistics ---------------------------------------------------------------------------------------------

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and the 20% and 80% quantiles (linear interpolation between order statistics, numpy's default) of the
 * non-NaN values; NaN when there are none. */
static void quantiles(double *v, int n, double q[3]) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) v[m++] = v[i];
    q[0] = q[1] = q[2] = NAN;
    if (m == 0) return;
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    const double p[3] = {0.5, 0.2, 0.8};
    for (int k = 0; k < 3; k++) {
        double h = (m - 1) * p[k];
        int lo = (int)floor(h);
        int hi = lo + 1 < m ? lo + 1 : lo;
        q[k] = v[lo] + (h - lo) * (v[hi] - v[lo]);
    }
}

typedef double (*sm_get)(const sm_run *r, int m);
static double get_final(const sm_run *r, int m) { return r->final[m]; }
static double get_best(const sm_run *r, int m) { return r->best[m]; }
static double get_iters(const sm_run *r, int m) { return r->iterations; }
static double get_calls(const sm_run *r, int m) { return r->oracle_calls; }
static double get_step(const sm_run *r, int m) { return r->step_time; }
static double get_arena(const sm_run *r, int m) { return r->arena_peak; }
static double get_proc(const sm_run *r, int m) { return r->process_peak; }

static void group_q(const sm_group *g, sm_get get, int m, double q[3]) {
    double *v = malloc(sizeof *v * (size_t)g->n);
    if (!v) { q[0] = q[1] = q[2] = NAN; return; }
    for (int i = 0; i < g->n; i++) v[i] = get(&g_runs[g->members[i]], m);
    quantiles(v, g->n, q);
    free(v);
}

static int same_group(const sm_run *a, const sm_run *b) {
    return strcmp(a->task, b->task) == 0 && strcmp(a->algo, b->algo) == 0 && strcmp(a->config, b->config) == 0 &&
           strcmp(a->commit, b->commit) == 0 && strcmp(a->columns, b->columns) == 0;
}

/* The value of key in a config dump ("key = value" lines), or NULL. */
static const char *config_value(const char *config, const char *key, size_t *len) {
    size_t kl = strlen(key);
    for (const char *p = config; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l > kl + 3 && strncmp(p, key, kl) == 0 && strncmp(p + kl, " = ", 3) == 0) {
            *len = l - kl - 3;
            return p + kl + 3;
        }
        p += l + (nl ? 1 : 0);
    }
    return NULL;
}

/* Each group's label: "key=value" for every configuration key whose value differs between the task's groups. */
static void label_groups(sm_group *gs, int ng, const char *task) {
    for (int a = 0; a < ng; a++) gs[a].label[0] = '\0';
    for (int a = 0; a < ng; a++) {
        const sm_run *ra = &g_runs[gs[a].first];
        if (strcmp(ra->task, task) != 0) continue;
        for (const char *p = ra->config; *p;) {
            const char *nl = strchr(p, '\n'), *eq = strstr(p, " = ");
            size_t l = nl ? (size_t)(nl - p) : strlen(p);
            if (eq && eq < p + l) {
                char key[128];
                snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
                size_t vl;
                const char *v = config_value(ra->config, key, &vl);
                int differs = 0;
                for (int b = 0; b < ng && !differs; b++) {
                    const sm_run *rb = &g_runs[gs[b].first];
                    if (strcmp(rb->task, task) != 0) continue;
                    size_t wl;
                    const char *w = config_value(rb->config, key, &wl);
                    differs = !w || wl != vl || strncmp(v, w, vl) != 0;
                }
                if (differs) {
                    size_t u = strlen(gs[a].label);
                    snprintf(gs[a].label + u, sizeof gs[a].label - u, "%s%s=%.*s", u ? " " : "", key, (int)vl, v);
                }
            }
            p += l + (nl ? 1 : 0);
        }
    }
}

// --- output -------------------------------------------------------------------------------------------------

static void fmt_num(double v, char *out, size_t n) {
    if (isnan(v)) snprintf(out, n, "-");
    else snprintf(out, n, "%.4g", v);
}

static void fmt_q(const double q[3], int n_seeds, double scale, char *out, size_t len) {
    char a[32], b[32], c[32];
    fmt_num(q[0] / scale, a, sizeof a);
    if (n_seeds < 2 || isnan(q[0])) { snprintf(out, len, "%s", a); return; }
    fmt_num(q[1] / scale, b, sizeof b);
    fmt_num(q[2] / scale, c, sizeof c);
    snprintf(out, len, "%s [%s, %s]", a, b, c);
}

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_row(FILE *f, const sm_run *r0, const sm_group *g, const char *seeds, const char *qty, const double q[3]) {
    csv_field(f, r0->task); fputc(',', f);
    csv_field(f, r0->algo); fputc(',', f);
    csv_field(f, g->label); fputc(',', f);
    csv_field(f, r0->commit);
    fprintf(f, ",%d,", g->n);
    csv_field(f, seeds);
    fputc(',', f);
    csv_field(f, qty);
    for (int k = 0; k < 3; k++) {
        if (isnan(q[k])) fputs(",", f);
        else fprintf(f, ",%.17g", q[k]);
    }
    fputc('\n', f);
}

/* Writes the Markdown to md (and the CSV rows to csv, when not NULL). */
static void write_tables(const char *dir, sm_group *gs, int ng, FILE *md, FILE *csv) {
    fprintf(md, "# sbo summarize %s\n\n", dir);
    fprintf(md, "Cells: median over seeds [20%%, 80%%] (one seed: the value). final: the last row of /curves; best: the "
                "lowest value over the rows (highest for accuracy, f1, precision, recall). Oracle calls: the sum of "
                "grad_lower, grad_upper_Y, grad_upper_x, hvp, reduced_hvp and cross at the end. Memory in MiB.\n\n");
    if (csv) fputs("task,algorithm,configuration,commit,n_seeds,seeds,quantity,median,p20,p80\n", csv);
    char notes[16][1200];
    int n_notes = 0;
    for (int a = 0; a < ng; a++) {
        const sm_run *ta = &g_runs[gs[a].first];
        int first_of_task = 1;
        for (int b = 0; b < a; b++) first_of_task &= strcmp(g_runs[gs[b].first].task, ta->task) != 0;
        if (!first_of_task) continue;
        label_groups(gs, ng, ta->task);
        int runs = 0, groups = 0;
        for (int b = 0; b < ng; b++)
            if (strcmp(g_runs[gs[b].first].task, ta->task) == 0) { runs += gs[b].n; groups++; }
        fprintf(md, "## %s (%d runs, %d rows)\n\n| algorithm | configuration | commit | seeds | iterations |", ta->task,
                runs, groups);
        for (int m = 0; m < ta->n_metrics; m++) fprintf(md, " %s final | %s best |", ta->metric[m], ta->metric[m]);
        fputs(" oracle calls | step time s | arena peak MiB | process peak MiB |\n|---|---|---|---|---|", md);
        for (int m = 0; m < ta->n_metrics; m++) fputs("---|---|", md);
        fputs("---|---|---|---|\n", md);
        for (int b = 0; b < ng; b++) {
            const sm_group *g = &gs[b];
            const sm_run *r0 = &g_runs[g->first];
            if (strcmp(r0->task, ta->task) != 0) continue;
            char seeds[512] = "", cell[128];
            for (int i = 0; i < g->n; i++) {
                size_t u = strlen(seeds);
                if (u < sizeof seeds - 40) snprintf(seeds + u, sizeof seeds - u, "%s%s", i ? " " : "", g_runs[g->members[i]].seed);
            }
            double q[3];
            group_q(g, get_iters, 0, q);
            fmt_num(q[0], cell, sizeof cell);
            fprintf(md, "| %s | %s | %s | %d (%s) | %s |", r0->algo, g->label[0] ? g->label : "(base)", r0->commit, g->n,
                    seeds, cell);
            if (csv) csv_row(csv, r0, g, seeds, "iterations", q);
            for (int m = 0; m < r0->n_metrics; m++) {
                char qty[96];
                group_q(g, get_final, m, q);
                fmt_q(q, g->n, 1, cell, sizeof cell);
                fprintf(md, " %s |", cell);
                snprintf(qty, sizeof qty, "final:%s", r0->metric[m]);
                if (csv) csv_row(csv, r0, g, seeds, qty, q);
                group_q(g, get_best, m, q);
                fmt_q(q, g->n, 1, cell, sizeof cell);
                fprintf(md, " %s |", cell);
                snprintf(qty, sizeof qty, "best:%s", r0->metric[m]);
                if (csv) csv_row(csv, r0, g, seeds, qty, q);
            }
            const sm_get gets[4] = {get_calls, get_step, get_arena, get_proc};
            const char *names[4] = {"oracle_calls", "step_time_s", "arena_peak_bytes", "process_peak_bytes"};
            for (int k = 0; k < 4; k++) {
                group_q(g, gets[k], 0, q);
                fmt_q(q, g->n, k >= 2 ? 1024.0 * 1024.0 : 1, cell, sizeof cell);
                fprintf(md, " %s |", cell);
                if (csv) csv_row(csv, r0, g, seeds, names[k], q);
            }
            fputc('\n', md);
            /* never merged silently: say why rows of one algorithm are separate */
            for (int c = 0; c < b && n_notes < 16; c++) {
                const sm_run *rc = &g_runs[gs[c].first];
                if (strcmp(rc->task, r0->task) != 0 || strcmp(rc->algo, r0->algo) != 0) continue;
                if (strcmp(rc->config, r0->config) == 0 && strcmp(rc->commit, r0->commit) != 0)
                    snprintf(notes[n_notes++], sizeof notes[0], "%s, %s: runs of the same configuration from different "
                             "commits (%s, %s) are separate rows, not merged", r0->task, r0->algo, rc->commit, r0->commit);
                else if (strcmp(rc->config, r0->config) == 0 && strcmp(rc->columns, r0->columns) != 0)
                    snprintf(notes[n_notes++], sizeof notes[0], "%s, %s: runs with different /curves columns (files of "
                             "different versions) are separate rows", r0->task, r0->algo);
            }
            for (int i = 0; i < g->n && n_notes < 16; i++)
                for (int j = 0; j < i; j++)
                    if (strcmp(g_runs[g->members[i]].seed, g_runs[g->members[j]].seed) == 0) {
                        snprintf(notes[n_notes++], sizeof notes[0], "%s, %s: seed %s appears twice in one row (%.400s, %.400s)",
                                 r0->task, r0->algo, g_runs[g->members[i]].seed, g_runs[g->members[j]].path,
                                 g_runs[g->members[i]].path);
                        break;
                    }
        }
        int nalg = 0, nrows = 0;
        for (int b = 0; b < ng; b++) {
            if (strcmp(g_runs[gs[b].first].task, ta->task) != 0) continue;
            nrows++;
            int seen = 0;
            for (int c = 0; c < b; c++)
                seen |= strcmp(g_runs[gs[c].first].task, ta->task) == 0 &&
                        strcmp(g_runs[gs[c].first].algo, g_runs[gs[b].first].algo) == 0;
            nalg += !seen;
        }
        if (nrows > nalg && n_notes < 16)
            snprintf(notes[n_notes++], sizeof notes[0], "%s: %d rows for %d algorithms: runs of different configurations "
                     "(the configuration column lists the options in which the rows differ) or commits are not merged",
                     ta->task, nrows, nalg);
        fputc('\n', md);
    }
    int incomplete = 0;
    char inc_names[1024] = "";
    for (int i = 0; i < g_n; i++)
        if (strcmp(g_runs[i].status, "done") != 0) {
            incomplete++;
            size_t u = strlen(inc_names);
            if (u < sizeof inc_names - 300)
                snprintf(inc_names + u, sizeof inc_names - u, "%s%s (%s)", u ? ", " : "", g_runs[i].name, g_runs[i].status);
        }
    if (n_notes || incomplete || g_skipped || ng == 0) {
        fputs("Notes:\n", md);
        for (int i = 0; i < n_notes; i++) fprintf(md, "- %s\n", notes[i]);
        if (incomplete) fprintf(md, "- %d runs are not complete and are left out: %s\n", incomplete, inc_names);
        if (g_skipped) fprintf(md, "- %d .h5 files are not `sbo run` files and are left out: %s\n", g_skipped, g_skipped_names);
        if (ng == 0) fprintf(md, "- no complete run files under %s\n", dir);
    }
}

// --- the command ----------------------------------------------------------------------------------------------

const char *const sbo_summarize_help =
    "usage: sbo summarize DIR [--csv FILE] [--md FILE]\n"
    "\n"
    "Reads every `sbo run` results file (*.h5) under DIR, e.g. a sweep's directory, and groups the complete ones\n"
    "(status done) by task, algorithm, configuration without the seed, and git commit. One Markdown table per task:\n"
    "one row per group, with for each metric column of /curves its final value and its best value over the rows\n"
    "(lowest; highest for accuracy, f1, precision, recall) as the median over seeds and the 20-80% band, the number\n"
    "of seeds, iterations, oracle calls, step time, and the arena and process memory peaks. Runs that differ in\n"
    "configuration or commit are never merged: they are separate rows (the configuration column names the options\n"
    "in which they differ), and a note under the table says so; incomplete runs are listed in a note.\n"
    "\n"
    "options:\n"
    "  --md FILE     also write the Markdown to FILE (it is always printed on stdout)\n"
    "  --csv FILE    write the numbers as CSV: task, algorithm, configuration, commit, n_seeds, seeds, quantity,\n"
    "                median, p20, p80 (one row per group and quantity; docs/SCHEMA.md)\n";

static int sm_usage(const char *msg) {
    sbo_print_error("sbo: error: ", msg);
    return SBO_EXIT_USAGE;
}

/* Refuses an output path that is a directory or one of the run files; 0 when it can be written. */
static int check_out(const char *opt, const char *path, char *msg, size_t n) {
    struct stat st;
    if (!path[0] || path[strlen(path) - 1] == '/' || (stat(path, &st) == 0 && !S_ISREG(st.st_mode))) {
        snprintf(msg, n, "%s '%s' is not a file name; pass a file, e.g. %s summary.%s", opt, path, opt, opt + 2);
        return -1;
    }
    size_t l = strlen(path);
    if (l >= 3 && strcmp(path + l - 3, ".h5") == 0) {
        snprintf(msg, n, "%s '%s' ends in .h5 and would look like a run file; choose e.g. summary.%s", opt, path, opt + 2);
        return -1;
    }
    return 0;
}

int sbo_summarize_command(int argc, char **argv, int validate_only) {
    const char *dir = NULL, *csv = NULL, *md = NULL;
    char msg[4096 + 256];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (dir) {
                snprintf(msg, sizeof msg, "'sbo summarize' takes one DIR, got '%s' and '%s'; see 'sbo summarize --help'",
                         dir, a);
                return sm_usage(msg);
            }
            dir = a;
            continue;
        }
        const char *eq = strchr(a, '='), *val;
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        int is_csv = nl == 5 && strncmp(a, "--csv", 5) == 0, is_md = nl == 4 && strncmp(a, "--md", 4) == 0;
        if (!is_csv && !is_md) {
            snprintf(msg, sizeof msg, "unknown option '%s' for 'sbo summarize'; valid options: --csv, --md", a);
            return sm_usage(msg);
        }
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else {
            snprintf(msg, sizeof msg, "option %s needs a file; e.g. %s summary.%s", a, a, is_csv ? "csv" : "md");
            return sm_usage(msg);
        }
        if (is_csv) csv = val;
        else md = val;
    }
    if (!dir) return sm_usage("missing DIR; pass a directory of run files, e.g. sbo summarize results/sweeps/sweep_example");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, sizeof msg, "'%s' is not a directory (%s); pass the directory of a sweep (its --out)", dir,
                 stat(dir, &st) != 0 ? strerror(errno) : "a file");
        return sm_usage(msg);
    }
    if ((csv && check_out("--csv", csv, msg, sizeof msg)) || (md && check_out("--md", md, msg, sizeof msg)))
        return sm_usage(msg);
    if (validate_only) return SBO_EXIT_OK;
    g_runs = NULL;
    g_n = g_cap = g_skipped = 0;
    g_skipped_names[0] = '\0';
    nftw(dir, visit, 16, FTW_PHYS);
    qsort(g_runs, (size_t)g_n, sizeof *g_runs, by_path);
    sm_group *gs = calloc((size_t)g_n + 1, sizeof *gs);
    int ng = 0;
    for (int i = 0; i < g_n && gs; i++) {
        if (strcmp(g_runs[i].status, "done") != 0) continue;
        int k = 0;
        while (k < ng && !same_group(&g_runs[gs[k].first], &g_runs[i])) k++;
        if (k == ng) {
            gs[ng].first = i;
            gs[ng].members = malloc(sizeof(int) * (size_t)g_n);
            ng++;
        }
        gs[k].members[gs[k].n++] = i;
    }
    int rc = 0;
    char *text = NULL;
    size_t tlen = 0;
    FILE *mf = open_memstream(&text, &tlen);
    FILE *cf = NULL;
    if (csv && !(cf = fopen(csv, "w"))) {
        snprintf(msg, sizeof msg, "cannot write '%s': %s; choose a writable --csv", csv, strerror(errno));
        sbo_print_error("sbo: error: ", msg);
        rc = SBO_EXIT_FAILURE;
    }
    if (gs && mf) write_tables(dir, gs, ng, mf, cf);
    if (mf) fclose(mf);
    if (cf && fclose(cf) != 0) rc = SBO_EXIT_FAILURE;
    if (text) fputs(text, stdout);
    if (md && text) {
        FILE *f = fopen(md, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
            snprintf(msg, sizeof msg, "cannot write '%s': %s; choose a writable --md", md, strerror(errno));
            sbo_print_error("sbo: error: ", msg);
            rc = SBO_EXIT_FAILURE;
        }
    }
    free(text);
    for (int k = 0; k < ng; k++) free(gs[k].members);
    free(gs);
    for (int i = 0; i < g_n; i++) { free(g_runs[i].config); free(g_runs[i].columns); }
    free(g_runs);
    g_runs = NULL;
    return rc;
}
