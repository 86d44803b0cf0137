/* runners/sbo_run.c: the run loop of `sbo run` (runners/sbo_run.h; schema in docs/SCHEMA.md).
 * The runner owns the loop, timing, evaluation and the results file; the algorithm only steps
 * (STYLE.md patterns 2, 11, 14). Exercised by: tests/test_cli.c, `sbo run --task counterexample --algo
 * ma_soba --seed 1 --out /tmp/x.h5`. */
#include "runners/sbo_run.h"        /* this file's interface */
#include "runners/sbo_h5.h"         /* the results file */
#include "core/sbo_arena.h"         /* live arenas, peaks, VmHWM */
#include "core/sbo_cuda.h"          /* sbo_cuda_available, sbo_cuda_versions: run.device = cuda */
#include "core/nn/backend.h"        /* sbo_nn_backend_cpu_grid, the backend's name */
#include "core/nn/backend_cuda.h"   /* sbo_nn_backend_cuda (NULL in a build without CUDA) */
#include "core/nn/nn.h"             /* sbo_nn_set_default_backend */

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const sbo_option sbo_run_options[] = {
    {"run.iters", "1000", "number of iterations K (k = 0 .. K-1)"},
    {"run.eval_every", "10", "evaluate the task metrics and append a row to /curves every this many iterations "
                             "(and always at k = 0 and at the end)"},
    {"run.device", "cpu", "where the network tasks (data_cleaning, hyper_rep, vit_reweight, data_mixture) run their "
                          "network's oracles: cpu (CBLAS + OpenMP), cpu-grid (the CPU, every kernel one index per "
                          "emulated GPU thread in scrambled order: bit-identical to cpu, slower; checks the kernels "
                          "without a GPU) or cuda (cuBLAS and our kernels on the GPU; needs a CUDA build and a "
                          "device). The algorithms' vectors stay in host memory. Other tasks take only cpu. "
                          "--device D on the command line"},
    {NULL, NULL, NULL}};

// --- run.device --------------------------------------------------------------------------------

static const char *const device_names[] = {"cpu", "cpu-grid", "cuda"};

const char *sbo_device_name(sbo_device d) {
    return (int)d >= 0 && (int)d < 3 ? device_names[d] : "?";
}

static void network_task_names(char *buf, size_t n) {
    const sbo_task_type *const *tt = sbo_task_types();
    size_t u = 0;
    if (n) buf[0] = '\0';
    for (int i = 0; tt[i]; i++) {
        if (!tt[i]->network) continue;
        int w = snprintf(buf + u, u < n ? n - u : 0, "%s%s", u ? ", " : "", tt[i]->name);
        if (w > 0) u += (size_t)w;
        if (u >= n) break;
    }
}

int sbo_run_parse_device(const sbo_task_type *tt, const sbo_config *cfg, sbo_device *dev, char *err, size_t errlen) {
    const char *v = sbo_config_get(cfg, "run.device");
    if (!v) v = "cpu";
    int d = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(v, device_names[i]) == 0) d = i;
    if (d < 0) {
        snprintf(err, errlen, "run.device = '%s' is not a device; valid devices: cpu, cpu-grid, cuda (e.g. --device "
                 "cpu)", v);
        return -1;
    }
    if (d != SBO_DEVICE_CPU && !tt->network) {
        char names[256];
        network_task_names(names, sizeof names);
        snprintf(err, errlen, "run.device = %s applies to the network tasks (%s); task '%s' runs on the host only, "
                 "so drop --device (or set run.device = cpu)", v, names, tt->name);
        return -1;
    }
    *dev = (sbo_device)d;
    return 0;
}

int sbo_run_select_device(const sbo_task_type *tt, const sbo_config *cfg, sbo_device *dev_out,
                          const sbo_nn_backend **be_out, char *err, size_t errlen) {
    sbo_device dev;
    if (sbo_run_parse_device(tt, cfg, &dev, err, errlen) != 0) return -1;
    const sbo_nn_backend *be = NULL;
    if (dev == SBO_DEVICE_CUDA) {
        char why[512] = "";
        if (!sbo_nn_backend_cuda()) {
            sbo_cuda_available(why, sizeof why);
            /* the stub's reason: "built without CUDA (configure with -DWITH_CUDA=ON and nvcc on PATH)" */
            snprintf(err, errlen, "run.device = cuda: this sbo was %s; run with --device cpu, or rebuild it so on a "
                     "machine with a GPU", strncmp(why, "built without CUDA", 18) == 0 ? why : "built without CUDA");
            return -1;
        }
        if (!sbo_cuda_available(why, sizeof why)) {
            snprintf(err, errlen, "run.device = cuda: no CUDA device here (%s); run with --device cpu, or on a "
                     "machine with a GPU", why[0] ? why : "no reason given");
            return -1;
        }
        be = sbo_nn_backend_cuda();
    } else if (dev == SBO_DEVICE_CPU_GRID) {
        be = sbo_nn_backend_cpu_grid();
    }
    sbo_nn_set_default_backend(be);   /* NULL: the CPU backend, as without run.device */
    if (dev_out) *dev_out = dev;
    if (be_out) *be_out = be ? be : sbo_nn_backend_cpu();
    return 0;
}

/* The root attributes device, backend and (cuda) device_info of a results file or an oracle dump. */
int sbo_run_write_device(sbo_h5 *f, sbo_device dev, const sbo_nn_backend *be) {
    int rc = 0;
    rc |= sbo_h5_attr_str(f, "/", "device", sbo_device_name(dev));
    rc |= sbo_h5_attr_str(f, "/", "backend", be ? be->name : "");
    if (dev == SBO_DEVICE_CUDA) {
        char info[512];
        if (sbo_cuda_versions(info, sizeof info) != 0) info[sizeof info - 1] = '\0';
        rc |= sbo_h5_attr_str(f, "/", "device_info", info);
    }
    return rc ? -1 : 0;
}

// --- configuration -----------------------------------------------------------------------------

int sbo_run_resolve_config(const sbo_task_type *task_type, const sbo_algo_type *algo_type, const char *ini_path,
                           const char *const *sets, int n_sets, sbo_config *cfg, char *err, size_t errlen) {
    sbo_config_init(cfg);
    if (ini_path && sbo_config_load_ini(cfg, ini_path, err, errlen) != 0) return -1;
    for (int i = 0; i < n_sets; i++)
        if (sbo_config_set_arg(cfg, sets[i], err, errlen) != 0) return -1;
    const sbo_option *tables[4] = {sbo_run_options, task_type->options, algo_type ? algo_type->options : NULL, NULL};
    if (!algo_type) tables[2] = NULL;
    if (sbo_config_check_known(cfg, tables, err, errlen) != 0) return -1;
    for (int i = 0; tables[i]; i++) sbo_config_apply_defaults(cfg, tables[i]);
    return 0;
}

static int option_known(const sbo_option *t, const char *key) {
    for (int i = 0; t && t[i].key; i++)
        if (strcmp(t[i].key, key) == 0) return 1;
    return 0;
}

int sbo_run_check_known_any(const sbo_config *raw, const sbo_task_type *task_type, char *err, size_t errlen) {
    const sbo_algo_type *const *at = sbo_algo_types();
    const sbo_option *tables[64];
    int nt = 0;
    tables[nt++] = sbo_run_options;
    tables[nt++] = task_type->options;
    for (int i = 0; at[i] && nt < 63; i++) tables[nt++] = at[i]->options;
    tables[nt] = NULL;
    return sbo_config_check_known(raw, tables, err, errlen);
}

int sbo_run_resolve_task_config(const sbo_task_type *task_type, const char *ini_path, const char *const *sets,
                                int n_sets, sbo_config *cfg, char *err, size_t errlen) {
    sbo_config *raw = malloc(sizeof *raw);
    if (!raw) { snprintf(err, errlen, "out of memory reading the configuration"); return -1; }
    sbo_config_init(raw);
    int rc = -1;
    if (ini_path && sbo_config_load_ini(raw, ini_path, err, errlen) != 0) goto done;
    for (int i = 0; i < n_sets; i++)
        if (sbo_config_set_arg(raw, sets[i], err, errlen) != 0) goto done;
    if (sbo_run_check_known_any(raw, task_type, err, errlen) != 0) goto done;
    sbo_config_init(cfg);
    for (int k = 0; k < raw->n; k++)
        if (option_known(sbo_run_options, raw->key[k]) || option_known(task_type->options, raw->key[k]))
            sbo_config_set(cfg, raw->key[k], raw->value[k], raw->origin[k], NULL, 0);
    sbo_config_apply_defaults(cfg, sbo_run_options);
    sbo_config_apply_defaults(cfg, task_type->options);
    rc = 0;
done:
    free(raw);
    return rc;
}

size_t sbo_run_unread_options(const sbo_algo_type *at, const sbo_config *cfg, char *buf, size_t len) {
    size_t n = 0;
    if (len) buf[0] = '\0';
    for (int i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->origin[i], "default") == 0) continue;
        int unread = 0;
        for (const char *const *u = at->unread_options; u && *u; u++) unread |= strcmp(*u, cfg->key[i]) == 0;
        if (!unread) continue;
        int w = snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "%s%s", n ? ", " : "", cfg->key[i]);
        if (w > 0) n += (size_t)w;
    }
    return n;
}

int sbo_parse_seed(const char *s, uint64_t *seed, char *err, size_t errlen) {
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > 9223372036854775807ULL) goto bad;
    *seed = (uint64_t)v;
    return 0;
bad:
    snprintf(err, errlen, "--seed '%s' is not an integer in [0, 9223372036854775807]; pass e.g. --seed 1", s ? s : "");
    return -1;
}

// --- arenas by name ----------------------------------------------------------------------------

int sbo_run_arena_totals(sbo_arena_total *out, int max) {
    if (max <= 0) return 0;
    /* the registry prepends: collect, then walk backwards to get creation order */
    int n_live = 0;
    for (const sbo_arena *ar = sbo_arena_first_live(); ar; ar = ar->next_live) n_live++;
    const sbo_arena **live = malloc(sizeof *live * (size_t)(n_live ? n_live : 1));
    if (!live) return 0;
    int i = 0;
    for (const sbo_arena *ar = sbo_arena_first_live(); ar && i < n_live; ar = ar->next_live) live[i++] = ar;
    int n = 0;
    for (int j = i - 1; j >= 0; j--) {
        const char *name = live[j]->name;
        int k = 0;
        while (k < n && strcmp(out[k].name, name) != 0) k++;
        if (k == n) {
            if (n == max) {
                k = max - 1;
                snprintf(out[k].name, sizeof out[k].name, "(other)");
            } else {
                snprintf(out[k].name, sizeof out[k].name, "%s", name);
                out[k].bytes = 0;
                out[k].count = 0;
                out[k].device = 0;
                n++;
            }
        }
        out[k].bytes += sbo_arena_bytes(live[j]);
        out[k].count++;
        out[k].device |= live[j]->device;
    }
    free(live);
    return n;
}

int sbo_run_arena_summary(char *buf, size_t len) {
    sbo_arena_total tot[64];
    int n = sbo_run_arena_totals(tot, 64);
    if (len) buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        char item[96];
        int w = snprintf(item, sizeof item, "%s%s%s=%zu", i ? ";" : "", tot[i].name, tot[i].device ? " (device)" : "",
                         tot[i].bytes);
        if (w < 0 || used + (size_t)w + 1 > len) return -1;
        memcpy(buf + used, item, (size_t)w + 1);
        used += (size_t)w;
    }
    return 0;
}

// --- helpers -----------------------------------------------------------------------------------

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_bytes(double b, char *out, size_t n) {
    if (b < 1024) snprintf(out, n, "%.0f B", b);
    else if (b < 1024.0 * 1024) snprintf(out, n, "%.2f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024) snprintf(out, n, "%.2f MiB", b / (1024.0 * 1024));
    else snprintf(out, n, "%.2f GiB", b / (1024.0 * 1024 * 1024));
}

static volatile sig_atomic_t g_stop_signal = 0;
static void on_stop_signal(int sig) { g_stop_signal = sig; }

/* Columns of /curves: iteration, step_time_s, the oracle counters, the task's metrics, n_clips, and the upper
 * variable itself when it is small (d <= SBO_RUN_X_MAX): "x" for d = 1, else x_0 .. x_{d-1}. */
#define SBO_RUN_FIXED_COLS 10
#define SBO_RUN_X_MAX 16
static int n_x_cols(const sbo_task *t) { return t->d <= SBO_RUN_X_MAX ? t->d : 0; }
static const char *const fixed_cols[SBO_RUN_FIXED_COLS] = {
    "iteration", "step_time_s", "grad_lower", "grad_upper_Y", "grad_upper_x", "hvp", "reduced_hvp", "cross",
    "lower_samples", "upper_samples"};
static const char *const fixed_help[SBO_RUN_FIXED_COLS] = {
    "iterations completed k (the row describes the iterate x_k, Y_k, Z_k)",
    "cumulative wall time inside the algorithm's step calls, seconds (evaluation excluded)",
    "cumulative grad_Y g oracle calls (full or reduced)", "cumulative grad_Y f calls", "cumulative grad_x f calls",
    "cumulative full Hessian actions H[V]", "cumulative reduced Hessian actions P^T H[P X]",
    "cumulative cross-term calls J[Z]", "lower minibatches drawn", "upper minibatches drawn"};

/* One /curves row at iteration k. Metrics are evaluation, not algorithm work: the oracle counters are
 * restored around them so the counts stay the algorithm's own. */
static void eval_row(sbo_algo *a, long k, double step_time, double *row) {
    sbo_task *t = a->task;
    const sbo_oracle_counts c = t->counts;
    row[0] = (double)k;
    row[1] = step_time;
    row[2] = (double)c.grad_lower;
    row[3] = (double)c.grad_upper_Y;
    row[4] = (double)c.grad_upper_x;
    row[5] = (double)c.hvp;
    row[6] = (double)c.reduced_hvp;
    row[7] = (double)c.cross;
    row[8] = (double)c.lower_samples;
    row[9] = (double)c.upper_samples;
    double m[SBO_MAX_METRICS];
    for (int i = 0; i < SBO_MAX_METRICS; i++) m[i] = NAN;
    if (t->ops->metrics) t->ops->metrics(t, a->x, a->Y, a->Z, m);
    t->counts = c;
    for (int i = 0; i < t->n_metrics; i++) row[SBO_RUN_FIXED_COLS + i] = m[i];
    row[SBO_RUN_FIXED_COLS + t->n_metrics] = (double)a->n_clips;
    for (int i = 0; i < n_x_cols(t); i++) row[SBO_RUN_FIXED_COLS + t->n_metrics + 1 + i] = a->x[i];
}

// --- checkpoints: everything a run needs to continue bit for bit ----------------------------------------
/* The algorithm's state arena (x, h, Y, Z: every value carried from one iteration to the next; work buffers are
 * rewritten before they are read, and every random stream is keyed by the iteration, so nothing else is needed),
 * and the scalars below. /checkpoint/scalars: iteration, n_clips, cumulative step time, the eight oracle counters. */
#define SBO_CKPT_SCALARS 11
static int write_checkpoint(sbo_h5 *f, const sbo_algo *a, long k, double step_time) {
    const sbo_oracle_counts *c = &a->task->counts;
    double s[SBO_CKPT_SCALARS] = {(double)k, (double)a->n_clips, step_time, (double)c->grad_lower,
                                  (double)c->grad_upper_Y, (double)c->grad_upper_x, (double)c->hvp,
                                  (double)c->reduced_hvp, (double)c->cross, (double)c->lower_samples,
                                  (double)c->upper_samples};
    /* the state first, then the scalars that name its iteration: a snapshot can only be published after both */
    return sbo_h5_put_doubles(f, "/checkpoint/state", a->state.base, a->state.total) != 0 ||
           sbo_h5_put_doubles(f, "/checkpoint/scalars", s, SBO_CKPT_SCALARS) != 0 ? -1 : 0;
}

/* Reads the checkpoint of `path` into the freshly created algorithm (same configuration). 0 with *k the iteration
 * reached (0 when the file has no checkpoint: the run starts over), -1 with a message. */
static int read_checkpoint(const char *path, sbo_algo *a, long *k, double *step_time, char *err, size_t errlen) {
    double *s = NULL, *st = NULL;
    long rows, cols;
    *k = 0;
    *step_time = 0;
    if (sbo_h5_try_read_matrix(path, "/checkpoint/scalars", &s, &rows, &cols) != 0) return 0;
    int ok = rows * cols == SBO_CKPT_SCALARS && sbo_h5_try_read_matrix(path, "/checkpoint/state", &st, &rows, &cols) == 0 &&
             rows * cols == a->state.total;
    if (!ok) {
        snprintf(err, errlen, "the checkpoint in '%s' does not fit this run (state of %ld numbers expected); the file "
                 "was written by another version or configuration: rerun without --resume", path, a->state.total);
        free(s); free(st);
        return -1;
    }
    memcpy(a->state.base, st, sizeof(double) * (size_t)a->state.total);
    *k = (long)s[0];
    a->n_clips = (long)s[1];
    *step_time = s[2];
    sbo_oracle_counts *c = &a->task->counts;
    c->grad_lower = (long)s[3]; c->grad_upper_Y = (long)s[4]; c->grad_upper_x = (long)s[5]; c->hvp = (long)s[6];
    c->reduced_hvp = (long)s[7]; c->cross = (long)s[8]; c->lower_samples = (long)s[9]; c->upper_samples = (long)s[10];
    free(s); free(st);
    return 0;
}

/* The rows of the old file up to iteration k0 (the checkpoint's), in order; *last: the iteration of the last one
 * (-1: none). */
static int append_old_rows(sbo_h5_table *curves, const double *rows, long n, int ncols, long k0, long *last) {
    *last = -1;
    for (long r = 0; r < n && rows[r * ncols] <= (double)k0; r++) {
        if (sbo_h5_table_append(curves, rows + r * ncols) != 0) return -1;
        *last = (long)rows[r * ncols];
    }
    return 0;
}

static void progress_line(long k, long K, double elapsed, const char *mname, double mval) {
    double rate = elapsed > 0 ? (double)k / elapsed : 0;
    double eta = rate > 0 ? (double)(K - k) / rate : 0;
    long e = (long)(eta + 0.5);
    fprintf(stderr, "\r  %ld/%ld  %.3g it/s  ETA %ld:%02ld:%02ld  %s = %.6g   ", k, K, rate, e / 3600, e / 60 % 60,
            e % 60, mname ? mname : "-", mval);
    fflush(stderr);
}

// --- the results file: everything known before the first step -----------------------------------

static int write_header(sbo_h5 *f, const sbo_run_spec *sp, sbo_task *t, sbo_algo *a, long K, long E) {
    int rc = 0;
    char buf[4096];
    rc |= sbo_h5_write_provenance(f, sp->argc, sp->argv);
    rc |= sbo_h5_attr_str(f, "/", "status", "running");
    rc |= sbo_h5_attr_str(f, "/", "task", sp->task_type->name);
    rc |= sbo_h5_attr_str(f, "/", "task_description", sp->task_type->description ? sp->task_type->description : "");
    rc |= sbo_h5_attr_str(f, "/", "algorithm", sp->algo_type->name);
    rc |= sbo_h5_attr_str(f, "/", "algorithm_description",
                          sp->algo_type->description ? sp->algo_type->description : "");
    size_t dumplen = sbo_config_dump(sp->cfg, NULL, 0) + 1;
    char *cfgdump = malloc(dumplen);
    if (cfgdump) {
        sbo_config_dump(sp->cfg, cfgdump, dumplen);
        rc |= sbo_h5_attr_str(f, "/", "config", cfgdump);
        free(cfgdump);
    } else {
        rc = -1;
    }
    rc |= sbo_h5_attr_long(f, "/", "seed", (long)sp->seed);
    rc |= sbo_h5_attr_long(f, "/", "iterations_requested", K);
    rc |= sbo_h5_attr_long(f, "/", "eval_every", E);

    /* the problem */
    rc |= sbo_h5_attr_long(f, "/", "d", t->d);
    rc |= sbo_h5_attr_double(f, "/", "mu", t->mu);
    rc |= sbo_h5_attr_long(f, "/", "has_x_star", t->has_x_star);
    rc |= sbo_h5_attr_str(f, "/", "reduced_impl", t->reduced_impl ? t->reduced_impl : "");
    long bm[SBO_MAX_BLOCKS], bn[SBO_MAX_BLOCKS], rk[SBO_MAX_BLOCKS];
    buf[0] = '\0';
    for (int l = 0; l < t->lower.L; l++) {
        bm[l] = t->lower.block[l].m;
        bn[l] = t->lower.block[l].n;
        rk[l] = a->rank[l];
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%s", l ? "," : "", t->lower.block[l].name);
    }
    rc |= sbo_h5_attr_str(f, "/", "block_names", buf);
    rc |= sbo_h5_attr_longs(f, "/", "block_m", bm, t->lower.L);
    rc |= sbo_h5_attr_longs(f, "/", "block_n", bn, t->lower.L);

    /* what the algorithm's create decided */
    rc |= sbo_h5_attr_longs(f, "/", "rank", rk, t->lower.L);
    rc |= sbo_h5_attr_double(f, "/", "R", a->uses_radius ? a->R : NAN);
    rc |= sbo_h5_attr_double(f, "/", "V_max", a->V_max);
    rc |= sbo_h5_attr_str(f, "/", "variant", a->variant_name);
    rc |= sbo_h5_attr_str(f, "/", "cross_term", a->cross_term == SBO_CROSS_PROJECTED ? "projected" : "full");
    rc |= sbo_h5_attr_long(f, "/", "n_full_by_rule", a->n_full_by_rule);
    rc |= sbo_h5_attr_double(f, "/", "alpha", a->alpha);
    rc |= sbo_h5_attr_double(f, "/", "beta", a->beta);
    rc |= sbo_h5_attr_doubles(f, "/", "beta_block", a->beta_block, t->lower.L);
    rc |= sbo_h5_attr_double(f, "/", "gamma", a->gamma);
    rc |= sbo_h5_attr_double(f, "/", "theta", a->theta);
    rc |= sbo_h5_attr_str(f, "/", "schedule", a->schedule == SBO_SCHEDULE_INV_SQRT ? "inv_sqrt" : "constant");
    rc |= sbo_h5_attr_str(f, "/", "algo_log", a->log);
    char unread[1024];
    sbo_run_unread_options(sp->algo_type, sp->cfg, unread, sizeof unread);
    rc |= sbo_h5_attr_str(f, "/", "unread_options", unread);
    return rc ? -1 : 0;
}

/* /memory: every live arena's buffers (pattern 5), the peaks, and the §9 analytic model. */
static int write_memory(sbo_h5 *f, const sbo_run_spec *sp, sbo_task *t, sbo_algo *a, FILE *info) {
    long n = 0;
    for (const sbo_arena *ar = sbo_arena_first_live(); ar; ar = ar->next_live) n += ar->n;
    const char **arena = calloc((size_t)n + 1, sizeof *arena), **buffer = calloc((size_t)n + 1, sizeof *buffer);
    const char **shape = calloc((size_t)n + 1, sizeof *shape);
    long *bytes = calloc((size_t)n + 1, sizeof *bytes), *count = calloc((size_t)n + 1, sizeof *count);
    int rc = 0;
    if (!arena || !buffer || !shape || !bytes || !count) rc = -1;
    long i = 0;
    if (info) fprintf(info, "memory (arenas, before the first step):\n");
    for (const sbo_arena *ar = sbo_arena_first_live(); ar && rc == 0; ar = ar->next_live) {
        char tot[32];
        fmt_bytes((double)sbo_arena_bytes(ar), tot, sizeof tot);
        if (info) fprintf(info, "  %-28s %12s\n", ar->name, tot);
        for (int e = 0; e < ar->n; e++, i++) {
            arena[i] = ar->name;
            buffer[i] = ar->entry[e].name;
            shape[i] = ar->entry[e].shape;
            count[i] = ar->entry[e].count;
            bytes[i] = ar->entry[e].count * (long)sizeof(double);
            char b[32];
            fmt_bytes((double)bytes[i], b, sizeof b);
            if (info) fprintf(info, "    %-34s %-28s %12s\n", buffer[i], shape[i], b);
        }
    }
    if (rc == 0) {
        rc |= sbo_h5_write_strings(f, "/memory/arena", arena, n);
        rc |= sbo_h5_write_strings(f, "/memory/buffer", buffer, n);
        rc |= sbo_h5_write_strings(f, "/memory/shape", shape, n);
        rc |= sbo_h5_write_longs(f, "/memory/count", count, n);
        rc |= sbo_h5_write_longs(f, "/memory/bytes", bytes, n);
    }
    free(arena); free(buffer); free(shape); free(bytes); free(count);

    rc |= sbo_h5_attr_long(f, "/memory", "live_bytes", (long)sbo_arena_live_bytes());
    rc |= sbo_h5_attr_long(f, "/memory", "arena_peak_bytes", (long)sbo_arena_peak_bytes());
    rc |= sbo_h5_attr_long(f, "/memory", "process_peak_bytes_after_create", (long)sbo_process_peak_rss());
    rc |= sbo_h5_attr_long(f, "/memory", "process_peak_bytes", (long)sbo_process_peak_rss());
    rc |= sbo_h5_attr_str(f, "/memory", "cross_term", a->cross_term == SBO_CROSS_PROJECTED ? "projected" : "full");

    sbo_memory_model mm;
    memset(&mm, 0, sizeof mm);
    char merr[SBO_ERR_LEN] = "no memory_model in the algorithm descriptor";
    int have = sp->algo_type->memory_model && sp->algo_type->memory_model(t, sp->cfg, &mm, merr, sizeof merr) == 0;
    if (have) {
        rc |= sbo_h5_attr_double(f, "/memory", "model_persistent_scalars", mm.persistent);
        rc |= sbo_h5_attr_double(f, "/memory", "model_work_scalars", mm.work);
        rc |= sbo_h5_attr_double(f, "/memory", "model_persistent_bytes", mm.persistent * sizeof(double));
        rc |= sbo_h5_attr_double(f, "/memory", "model_work_bytes", mm.work * sizeof(double));
        rc |= sbo_h5_attr_double(f, "/memory", "model_total_bytes", (mm.persistent + mm.work) * sizeof(double));
        rc |= sbo_h5_attr_doubles(f, "/memory", "model_per_block_state_scalars", mm.per_block_state, t->lower.L);
        rc |= sbo_h5_attr_str(f, "/memory", "model_note", mm.note);
        rc |= sbo_h5_attr_double(f, "/", "memory_model_persistent_bytes", mm.persistent * sizeof(double));
        rc |= sbo_h5_attr_double(f, "/", "memory_model_work_bytes", mm.work * sizeof(double));
        rc |= sbo_h5_attr_str(f, "/", "memory_model_note", mm.note);
        if (info) {
            char p[32], w[32];
            fmt_bytes(mm.persistent * sizeof(double), p, sizeof p);
            fmt_bytes(mm.work * sizeof(double), w, sizeof w);
            fprintf(info, "  analytic model (§9): persistent %s + work %s; %s\n", p, w, mm.note);
        }
    } else {
        rc |= sbo_h5_attr_str(f, "/memory", "model_note", merr);
        rc |= sbo_h5_attr_double(f, "/", "memory_model_persistent_bytes", NAN);
        rc |= sbo_h5_attr_double(f, "/", "memory_model_work_bytes", NAN);
        rc |= sbo_h5_attr_str(f, "/", "memory_model_note", merr);
    }
    return rc ? -1 : 0;
}

// --- the run -----------------------------------------------------------------------------------

static int run_on(const sbo_run_spec *sp, sbo_device device, const sbo_nn_backend *backend, sbo_run_result *res,
                  char *err, size_t errlen);

int sbo_run(const sbo_run_spec *sp, sbo_run_result *res, char *err, size_t errlen) {
    if (res) memset(res, 0, sizeof *res);
    /* run.device: the engine's backend, before the task creates its executors on the default one; held for this
     * run only */
    sbo_device device = SBO_DEVICE_CPU;
    const sbo_nn_backend *backend = NULL;
    if (sbo_run_select_device(sp->task_type, sp->cfg, &device, &backend, err, errlen) != 0) return SBO_EXIT_USAGE;
    int code = run_on(sp, device, backend, res, err, errlen);
    sbo_nn_set_default_backend(NULL);
    return code;
}

static int run_on(const sbo_run_spec *sp, sbo_device device, const sbo_nn_backend *backend, sbo_run_result *res,
                  char *err, size_t errlen) {
    sbo_run_result r;
    memset(&r, 0, sizeof r);
    if (res) *res = r;
    FILE *info = sp->info;
    long K = 0, E = 1;
    if (sbo_config_long(sp->cfg, "run.iters", &K, err, errlen) != 0 ||
        sbo_config_long(sp->cfg, "run.eval_every", &E, err, errlen) != 0)
        return SBO_EXIT_USAGE;
    if (K < 0) {
        snprintf(err, errlen, "run.iters = %ld must be >= 0; set e.g. --set run.iters=1000", K);
        return SBO_EXIT_USAGE;
    }
    if (E < 1) {
        snprintf(err, errlen, "run.eval_every = %ld must be >= 1; set e.g. --set run.eval_every=10", E);
        return SBO_EXIT_USAGE;
    }

    // --- create everything that can fail on bad input, before any file exists
    sbo_task *t = sbo_task_create(sp->task_type, sp->cfg, err, errlen);   /* sets t->type */
    if (!t) return SBO_EXIT_USAGE;
    if (t->n_metrics < 0 || t->n_metrics > SBO_MAX_METRICS) {
        snprintf(err, errlen, "task '%s' declares %d metrics (max %d); fix the task", sp->task_type->name,
                 t->n_metrics, SBO_MAX_METRICS);
        sbo_task_destroy(t);
        return SBO_EXIT_USAGE;
    }
    sbo_algo *a = sp->algo_type->create(t, sp->cfg, sp->seed, err, errlen);
    if (!a) {
        sbo_task_destroy(t);
        return SBO_EXIT_USAGE;
    }

    /* --resume: the state and counters of the checkpoint, and the old rows up to it, read before the output is
     * created (the old file stays untouched until the first snapshot replaces it) */
    long k0 = 0;
    double step_time0 = 0;
    double *old_rows = NULL;
    long old_n = 0, old_cols = 0;
    if (sp->resume_from) {
        if (read_checkpoint(sp->resume_from, a, &k0, &step_time0, err, errlen) != 0) {
            sp->algo_type->destroy(a);
            sbo_task_destroy(t);
            return SBO_EXIT_USAGE;
        }
        if (k0 > 0 && sbo_h5_try_read_matrix(sp->resume_from, "/curves", &old_rows, &old_n, &old_cols) != 0) {
            snprintf(err, errlen, "'%s' has a checkpoint but no readable /curves; rerun without --resume",
                     sp->resume_from);
            sp->algo_type->destroy(a);
            sbo_task_destroy(t);
            return SBO_EXIT_USAGE;
        }
    }

    struct sigaction sa, old_int, old_term;
    if (sp->handle_signals) {
        g_stop_signal = 0;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }

    int code = SBO_EXIT_OK;
    sbo_h5 *f = sbo_h5_create(sp->out_path, err, errlen);
    if (!f) {
        code = SBO_EXIT_USAGE;
        goto out;
    }
    // --- header: a write failure here removes the file ("no partial garbage")
    int nx = n_x_cols(t), ncols = SBO_RUN_FIXED_COLS + t->n_metrics + 1 + nx;
    const char *cols[SBO_RUN_FIXED_COLS + SBO_MAX_METRICS + 1 + SBO_RUN_X_MAX];
    char xnames[SBO_RUN_X_MAX][8];
    char help[4096] = "";
    for (int c = 0; c < SBO_RUN_FIXED_COLS; c++) {
        cols[c] = fixed_cols[c];
        size_t u = strlen(help);
        snprintf(help + u, sizeof help - u, "%s: %s\n", fixed_cols[c], fixed_help[c]);
    }
    for (int m = 0; m < t->n_metrics; m++) {
        cols[SBO_RUN_FIXED_COLS + m] = t->metric_names[m];
        size_t u = strlen(help);
        snprintf(help + u, sizeof help - u, "%s: %s\n", t->metric_names[m], t->metric_help[m] ? t->metric_help[m] : "");
    }
    cols[ncols - 1 - nx] = "n_clips";
    {
        size_t u = strlen(help);
        snprintf(help + u, sizeof help - u, "n_clips: cumulative projections of Z onto the ball of radius R (§2.2)\n");
    }
    for (int i = 0; i < nx; i++) {
        if (nx == 1) snprintf(xnames[i], sizeof xnames[i], "x");
        else snprintf(xnames[i], sizeof xnames[i], "x_%d", i);
        cols[ncols - nx + i] = xnames[i];
    }
    if (nx > 0) {
        size_t u = strlen(help);
        snprintf(help + u, sizeof help - u, "%s: the upper variable x_k itself (stored when d <= %d)\n",
                 nx == 1 ? "x" : "x_0 .. x_{d-1}", SBO_RUN_X_MAX);
    }
    if (info) {
        fprintf(info, "sbo run: task %s, algorithm %s, seed %llu, %ld iterations, a row every %ld -> %s\n",
                sp->task_type->name, sp->algo_type->name, (unsigned long long)sp->seed, K, E, sp->out_path);
        if (device != SBO_DEVICE_CPU)
            fprintf(info, "device: %s (the network's oracles on backend %s)\n", sbo_device_name(device), backend->name);
        if (a->log[0]) {
            fprintf(info, "%s:\n", sp->algo_type->name);
            for (const char *p = a->log; *p;) {
                const char *nl = strchr(p, '\n');
                int len = nl ? (int)(nl - p) : (int)strlen(p);
                fprintf(info, "  %.*s\n", len, p);
                p += len + (nl ? 1 : 0);
            }
        }
    }
    sbo_h5_table *curves = NULL;
    /* the header is published at once (status "running"): a run killed in its first interval leaves it, not an
     * empty file */
    /* On --resume the first snapshot must hold the old rows up to the checkpoint and the checkpoint together: no
     * automatic snapshot until the explicit flush below. */
    int resumed_ok = old_n == 0 || old_cols == ncols;
    long last_old = -1;      /* the iteration of the last row kept from the old file */
    sbo_h5_set_snapshot_interval(f, 1e30);
    if (!resumed_ok || write_header(f, sp, t, a, K, E) != 0 || sbo_run_write_device(f, device, backend) != 0 ||
        write_memory(f, sp, t, a, info) != 0 ||
        !(curves = sbo_h5_table_create(f, "/curves", ncols, cols)) ||
        sbo_h5_attr_str(f, "/curves", "column_help", help) != 0 ||
        sbo_h5_attr_long(f, "/", "checkpoint_every", sp->checkpoint_every > 0 ? sp->checkpoint_every : 0) != 0 ||
        append_old_rows(curves, old_rows, old_n, ncols, k0, &last_old) != 0 ||
        (sp->resume_from && sbo_h5_attr_long(f, "/", "resumed_at", k0) != 0) ||
        (k0 > 0 && write_checkpoint(f, a, k0, step_time0) != 0) ||
        sbo_h5_flush(f) != 0) {
        if (!resumed_ok) {
            snprintf(err, errlen, "'%s' has %ld curve columns, this run writes %d: written by another version; "
                     "rerun without --resume", sp->resume_from, old_cols, ncols);
            sbo_h5_abandon(f);
            free(old_rows);
            code = SBO_EXIT_USAGE;
            goto out;
        }
        snprintf(err, errlen, "cannot write the results header to '%s' (see the message above); check the disk",
                 sp->out_path);
        sbo_h5_abandon(f);
        free(old_rows);
        code = SBO_EXIT_USAGE;
        goto out;
    }
    free(old_rows);
    old_rows = NULL;
    sbo_h5_set_snapshot_interval(f, SBO_H5_SNAPSHOT_INTERVAL_S);
    if (info) fflush(info);

    // --- the loop: only step() is timed (pattern 11); evaluation and I/O are outside
    double row[SBO_RUN_FIXED_COLS + SBO_MAX_METRICS + 1 + SBO_RUN_X_MAX];
    int show = sp->progress > 0 || (sp->progress < 0 && isatty(STDERR_FILENO));
    double step_time = 0, wall0 = now_s(), last_progress = 0;
    long done = 0, last_row = -1;
    int diverged = 0, write_failed = 0;
    double metric0 = NAN;

    if (k0 == 0) {
        eval_row(a, 0, 0.0, row);
        if (t->n_metrics > 0) metric0 = row[SBO_RUN_FIXED_COLS];
        write_failed = sbo_h5_table_append(curves, row) != 0;
        last_row = 0;
    } else {    /* resumed: the rows up to k0 came from the old file */
        done = k0;
        step_time = step_time0;
        last_row = last_old;
        if (k0 % E == 0 && last_old != k0) {   /* the row of the checkpoint's iteration, from its state */
            eval_row(a, k0, step_time, row);
            write_failed = sbo_h5_table_append(curves, row) != 0;
            last_row = k0;
        }
    }
    for (long k = k0; k < K && !write_failed && !g_stop_signal; k++) {
        double t0 = now_s();
        int bad = sp->algo_type->step(a, k);
        double t1 = now_s();
        step_time += t1 - t0;
        done = k + 1;
        if (bad) {
            diverged = 1;
            break;
        }
        if (done % E == 0 && !g_stop_signal) {
            eval_row(a, done, step_time, row);
            if (t->n_metrics > 0) metric0 = row[SBO_RUN_FIXED_COLS];
            write_failed = sbo_h5_table_append(curves, row) != 0;
            last_row = done;
        }
        if (!write_failed && sp->checkpoint_every > 0 && done % sp->checkpoint_every == 0)
            write_failed = write_checkpoint(f, a, done, step_time) != 0;
        if (!write_failed) write_failed = sbo_h5_flush_if_due(f) != 0;
        if (show && t1 - last_progress >= 0.1) {
            last_progress = t1;
            progress_line(done, K, t1 - wall0, t->n_metrics > 0 ? t->metric_names[0] : NULL, metric0);
        }
    }
    if (last_row != done && !write_failed) {
        eval_row(a, done, step_time, row);
        write_failed = sbo_h5_table_append(curves, row) != 0;
    }
    if (show) fprintf(stderr, "\r%*s\r", 100, "");

    // --- the outcome
    const char *status = write_failed ? "write_error" : diverged ? "diverged" : g_stop_signal ? "interrupted" : "done";
    char now[32];
    sbo_iso_time(now, sizeof now);
    int rc = 0;
    rc |= sbo_h5_attr_str(f, "/", "status", status);
    rc |= sbo_h5_attr_str(f, "/", "end_time", now);
    rc |= sbo_h5_attr_long(f, "/", "iterations", done);
    rc |= sbo_h5_attr_double(f, "/", "step_time_s", step_time);
    rc |= sbo_h5_attr_double(f, "/", "wall_time_s", now_s() - wall0);
    rc |= sbo_h5_attr_long(f, "/", "n_clips", a->n_clips);
    /* memory after the last step: lazily allocated buffers (the network engine's full-mode and reduced-mode
     * arenas) exist only once an oracle of that kind ran, so these can exceed the table taken before the loop */
    size_t arena_peak = sbo_arena_peak_bytes(), vm_hwm = sbo_process_peak_rss();
    char arenas[4096];
    sbo_run_arena_summary(arenas, sizeof arenas);   /* a too-long list keeps its whole leading entries */
    rc |= sbo_h5_attr_long(f, "/memory", "arena_peak_bytes", (long)arena_peak);
    rc |= sbo_h5_attr_long(f, "/memory", "process_peak_bytes", (long)vm_hwm);
    rc |= sbo_h5_attr_long(f, "/", "memory_arena_peak_bytes", (long)arena_peak);
    rc |= sbo_h5_attr_long(f, "/", "memory_process_peak_bytes", (long)vm_hwm);
    rc |= sbo_h5_attr_str(f, "/", "memory_arenas", arenas);
    size_t device_peak = sbo_arena_device_peak_bytes();   /* a device backend's engine arenas (0 on the CPU) */
    if (device_peak) rc |= sbo_h5_attr_long(f, "/memory", "device_arena_peak_bytes", (long)device_peak);
    code = write_failed ? SBO_EXIT_FAILURE : diverged ? SBO_EXIT_DIVERGED : g_stop_signal ? SBO_EXIT_INTERRUPTED
                                                                                           : SBO_EXIT_OK;
    rc |= sbo_h5_attr_long(f, "/", "exit_code", code);
    r.rows = sbo_h5_table_rows(curves);
    if (sbo_h5_close(f) != 0 || rc != 0) {
        write_failed = 1;
        code = SBO_EXIT_FAILURE;
    }
    snprintf(r.status, sizeof r.status, "%s", status);
    r.iterations = done;
    r.step_time_s = step_time;
    if (write_failed) {
        snprintf(err, errlen, "writing results to '%s' failed after %ld iterations (see the message above); "
                 "free disk space or choose another --out", sp->out_path, done);
    } else if (diverged) {
        snprintf(err, errlen, "diverged at iteration %ld: the iterate became non-finite (status 'diverged' in '%s'); "
                 "lower algo.alpha/beta/gamma (now %g/%g/%g)", done - 1, sp->out_path, a->alpha, a->beta, a->gamma);
    } else if (g_stop_signal) {
        snprintf(err, errlen, "interrupted by signal %d after %ld of %ld iterations; partial results with status "
                 "'interrupted' in '%s'", (int)g_stop_signal, done, K, sp->out_path);
    } else if (info) {
        fprintf(info, "done: %ld iterations, step time %.6g s (%.3g it/s), %ld rows -> %s\n", done, step_time,
                step_time > 0 ? (double)done / step_time : 0.0, r.rows, sp->out_path);
        char pk[32], hw[32];
        fmt_bytes((double)arena_peak, pk, sizeof pk);
        fmt_bytes((double)vm_hwm, hw, sizeof hw);
        fprintf(info, "memory at the end: arena peak %s (every arena: task, engine, algorithm), process VmHWM %s\n",
                pk, hw);
        if (device_peak) {
            fmt_bytes((double)device_peak, pk, sizeof pk);
            fprintf(info, "device memory at the end: arena peak %s (the engine's arenas on the device backend)\n", pk);
        }
    }
out:
    if (sp->handle_signals) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    sp->algo_type->destroy(a);
    sbo_task_destroy(t);
    if (res) *res = r;
    return code;
}
