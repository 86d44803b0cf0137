/* runners/memory_report.c: `sbo memory`: the §9 model (each descriptor's memory_model), the algorithm's own
 * arenas, every arena of the process and its VmHWM, for each algorithm on one task, each measured in its own
 * child process (fork) so that VmHWM is per algorithm; printed as one table, optionally also as CSV.
 * Exercised by: tests/test_cli.c, `sbo memory --task counterexample`,
 * `sbo memory --task data_cleaning --set task.model=mlp`, scripts/reproduce_neural.sh. */
#include "runners/memory_report.h"  /* sbo_memory_report_opts */
#include "runners/sbo_run.h"        /* exit codes, runner options, arena totals by name */
#include "core/sbo_arena.h"         /* measured bytes, VmHWM */
#include "core/sbo_log.h"           /* sbo_errf */
#include "core/sbo_cuda.h"          /* sbo_cuda_mem_info: the device's used bytes (run.device = cuda) */
#include "core/nn/backend.h"        /* sbo_nn_backend: the backend's name */

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// --- one child process per measurement -----------------------------------------------------------
/* Each measurement runs in a forked child, so that VmHWM (which never decreases) belongs to one algorithm. The
 * parent creates nothing big (a child starts with the parent's resident set as its VmHWM). A child writes one
 * mem_report into a pipe and exits; the parent prints nothing until every child has reported, so a bad option
 * prints one error line and no partial table. */

#define MEM_MAX_ALGOS 16
#define MEM_MAX_ARENAS 40

typedef struct {
    int ok;                          /* 1 measured; 0: err holds the one-line message */
    char err[SBO_ERR_LEN * 2];
    /* the task (every child) */
    int d, L;
    char blocks[400];                /* "W1 784x256, b1 1x256" */
    /* the algorithm (not in the task-only child) */
    int have_model;
    double model_persistent, model_work;   /* bytes */
    char note[512];
    char log[8192];
    char cross_term[16];
    int n_full_by_rule;
    long steps_done;
    long diverged_at;                /* -1, or the step whose iterate became non-finite */
    double algo_state, algo_work;    /* bytes of the algorithm's own arenas */
    /* the whole child */
    double arena_peak, arena_live;   /* every host arena (task, engine, algorithm) */
    double device_peak;              /* every device arena (the engine's on a device backend; 0 on the CPU) */
    int device;                      /* run.device (sbo_device) the child ran on */
    char backend[128];               /* its backend's name */
    double cuda_used_before, cuda_used_after;   /* cuda: total - free of cudaMemGetInfo before the task was
                                                 * created and after the steps; -1 unknown */
    double hwm_create, hwm;          /* VmHWM after creation, after the steps */
    double step_s;                   /* wall time of the steps (sbo sweep --slurm sizes --time with it) */
    int n_arenas;
    sbo_arena_total arena[MEM_MAX_ARENAS];   /* live arenas by name after the steps; algo.state, algo.work */
} mem_report;

typedef struct {
    const sbo_task_type *tt;
    const sbo_algo_type *at;         /* NULL: create the task only */
    const sbo_config *cfg;
    long steps;
} mem_job;

static void fmt_b(double b, char *out, size_t n) {
    if (b < 10 * 1024) snprintf(out, n, "%.0f B", b);
    else if (b < 10.0 * 1024 * 1024) snprintf(out, n, "%.1f KiB", b / 1024);
    else if (b < 10.0 * 1024 * 1024 * 1024) snprintf(out, n, "%.1f MiB", b / (1024.0 * 1024));
    else snprintf(out, n, "%.1f GiB", b / (1024.0 * 1024 * 1024));
}

static int option_in(const sbo_option *o, const char *key) {
    for (; o && o->key; o++)
        if (strcmp(o->key, key) == 0) return 1;
    return 0;
}

/* A child's configuration: the keys of raw (file + --set) that the runner, the task or the algorithm at (NULL:
 * the task-only child) declares, then their defaults. Other algo.* keys are ignored for this algorithm. */
static void child_config(const sbo_config *raw, const sbo_task_type *tt, const sbo_algo_type *at, sbo_config *cfg) {
    sbo_config_init(cfg);
    for (int k = 0; k < raw->n; k++)
        if (option_in(sbo_run_options, raw->key[k]) || option_in(tt->options, raw->key[k]) ||
            (at && option_in(at->options, raw->key[k])))
            sbo_config_set(cfg, raw->key[k], raw->value[k], raw->origin[k], NULL, 0);
    sbo_config_apply_defaults(cfg, sbo_run_options);
    sbo_config_apply_defaults(cfg, tt->options);
    if (at) sbo_config_apply_defaults(cfg, at->options);
}

/* The body of a child: fills r. */
static void cuda_used(double *out) {
    size_t fr = 0, tot = 0;
    *out = sbo_cuda_mem_info(&fr, &tot) == 0 ? (double)(tot - fr) : -1;
}

static void mem_measure(const mem_job *j, mem_report *r) {
    /* run.device in the child: the parent never touches a device (a CUDA context does not survive fork) */
    sbo_device dev = SBO_DEVICE_CPU;
    const sbo_nn_backend *be = NULL;
    if (sbo_run_select_device(j->tt, j->cfg, &dev, &be, r->err, sizeof r->err) != 0) return;
    r->device = (int)dev;
    snprintf(r->backend, sizeof r->backend, "%s", be->name);
    r->cuda_used_before = r->cuda_used_after = -1;
    if (dev == SBO_DEVICE_CUDA) cuda_used(&r->cuda_used_before);
    sbo_task *t = sbo_task_create(j->tt, j->cfg, r->err, sizeof r->err);
    if (!t) return;
    r->d = t->d;
    r->L = t->lower.L;
    for (int l = 0; l < t->lower.L; l++) {
        size_t u = strlen(r->blocks);
        snprintf(r->blocks + u, sizeof r->blocks - u, "%s%s %dx%d", l ? ", " : "", t->lower.block[l].name,
                 t->lower.block[l].m, t->lower.block[l].n);
    }
    sbo_algo *a = NULL;
    r->diverged_at = -1;
    if (j->at) {
        sbo_memory_model mm;
        memset(&mm, 0, sizeof mm);
        char err[SBO_ERR_LEN];
        if (!j->at->memory_model) {
            snprintf(r->note, sizeof r->note, "no §9 model: the descriptor has no memory_model");
        } else if (j->at->memory_model(t, j->cfg, &mm, err, sizeof err) != 0) {
            snprintf(r->err, sizeof r->err, "%s: %s", j->at->name, err);
            sbo_task_destroy(t);
            return;
        } else {
            r->have_model = 1;
            r->model_persistent = mm.persistent * sizeof(double);
            r->model_work = mm.work * sizeof(double);
            snprintf(r->note, sizeof r->note, "%s", mm.note);
        }
        a = j->at->create(t, j->cfg, 1, err, sizeof err);
        if (!a) {
            snprintf(r->err, sizeof r->err, "%s: %s", j->at->name, err);
            sbo_task_destroy(t);
            return;
        }
        snprintf(r->log, sizeof r->log, "%s", a->log);
        snprintf(r->cross_term, sizeof r->cross_term, "%s", a->cross_term == SBO_CROSS_PROJECTED ? "projected" : "full");
        r->n_full_by_rule = a->n_full_by_rule;
        r->hwm_create = (double)sbo_process_peak_rss();
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long k = 0; k < j->steps; k++) {
            r->steps_done = k + 1;
            if (j->at->step(a, k)) {
                r->diverged_at = k;
                break;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        r->step_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        r->algo_state = (double)sbo_arena_bytes(&a->state);
        r->algo_work = (double)sbo_arena_bytes(&a->work);
    }
    r->hwm = (double)sbo_process_peak_rss();
    if (!j->at) r->hwm_create = r->hwm;
    r->arena_peak = (double)sbo_arena_peak_bytes();
    r->arena_live = (double)sbo_arena_live_bytes();
    r->device_peak = (double)sbo_arena_device_peak_bytes();
    if (dev == SBO_DEVICE_CUDA) cuda_used(&r->cuda_used_after);
    r->n_arenas = sbo_run_arena_totals(r->arena, MEM_MAX_ARENAS);
    for (int i = 0; a && i < r->n_arenas; i++) {   /* the same row for every algorithm */
        if (strcmp(r->arena[i].name, a->state.name) == 0) snprintf(r->arena[i].name, sizeof r->arena[i].name, "algo.state");
        else if (strcmp(r->arena[i].name, a->work.name) == 0) snprintf(r->arena[i].name, sizeof r->arena[i].name, "algo.work");
    }
    r->ok = 1;
    if (a) j->at->destroy(a);
    sbo_task_destroy(t);
}

/* Runs mem_measure in a child. Returns 0 (r filled; r->ok says whether the measurement succeeded), or -1 when
 * the child could not be started or died (message in r->err). */
static int mem_fork(const mem_job *j, mem_report *r) {
    memset(r, 0, sizeof *r);
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(r->err, sizeof r->err, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->err, sizeof r->err, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        mem_report *mine = calloc(1, sizeof *mine);
        if (mine) mem_measure(j, mine);
        const char *p = (const char *)mine;
        size_t left = mine ? sizeof *mine : 0;
        while (left > 0) {
            ssize_t w = write(fd[1], p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            p += w;
            left -= (size_t)w;
        }
        _exit(left == 0 && mine ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    char *p = (char *)r;
    while (got < sizeof *r) {
        ssize_t n = read(fd[0], p + got, sizeof *r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (got != sizeof *r) {
        memset(r, 0, sizeof *r);
        const char *what = j->at ? j->at->name : "the task-only measurement";
        if (WIFSIGNALED(st))
            snprintf(r->err, sizeof r->err, "%s: the measuring child process died of signal %d (%s)", what,
                     WTERMSIG(st), strsignal(WTERMSIG(st)));
        else
            snprintf(r->err, sizeof r->err, "%s: the measuring child process exited %d without a report", what,
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -1;
    }
    return 0;
}

/* mem_fork, then the exit code: 0, SBO_EXIT_FAILURE (no child or it died) or SBO_EXIT_USAGE (the child
 * rejected the configuration), with r->err copied into err. */
static int mem_run(const mem_job *j, mem_report *r, char *err, size_t errlen) {
    int reported = mem_fork(j, r) == 0;
    if (reported && r->ok) return 0;
    sbo_errf(err, errlen, "%s", r->err);
    return reported ? SBO_EXIT_USAGE : SBO_EXIT_FAILURE;
}

int sbo_memory_estimate(const sbo_task_type *tt, const sbo_algo_type *at, const sbo_config *cfg, long steps,
                        double *vmhwm_bytes, double *step_s, char *err, size_t errlen) {
    static mem_report r;
    mem_job j = {.tt = tt, .at = at, .cfg = cfg, .steps = steps};
    int code = mem_run(&j, &r, err, errlen);
    if (code) return code;
    *vmhwm_bytes = r.hwm;
    *step_s = r.steps_done > 0 ? r.step_s / (double)r.steps_done : 0;
    return 0;
}

// --- formatting ----------------------------------------------------------------------------------

/* Bytes in a unit chosen for the largest value of a column group. */
typedef struct {
    const char *name;
    double div;
} mem_unit;

static mem_unit unit_for(double max) {
    if (max >= 10.0 * 1024 * 1024 * 1024) return (mem_unit){"GiB", 1024.0 * 1024 * 1024};
    if (max >= 10.0 * 1024 * 1024) return (mem_unit){"MiB", 1024.0 * 1024};
    if (max >= 10.0 * 1024) return (mem_unit){"KiB", 1024.0};
    return (mem_unit){"B", 1.0};
}

static void fmt_u(double b, mem_unit u, char *out, size_t n) {
    if (u.div == 1.0) snprintf(out, n, "%.0f", b);
    else snprintf(out, n, "%.2f", b / u.div);
}

static void fmt_ratio(double num, double den, char *out, size_t n) {
    if (den > 0) snprintf(out, n, "%.3f", num / den);
    else snprintf(out, n, "-");
}

// --- options and the CSV -------------------------------------------------------------------------

/* --algos a,b,c -> algorithm types, in that order; NULL list: all. Returns the count or -1 (message in err). */
static int parse_algos(const char *list, const sbo_algo_type **out, int max, char *err, size_t errlen) {
    const sbo_algo_type *const *all = sbo_algo_types();
    int n = 0;
    if (!list) {
        for (int i = 0; all[i] && n < max; i++) out[n++] = all[i];
        return n;
    }
    char names[512];
    sbo_algo_names(names, sizeof names);
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        char name[64];
        if (l == 0 || l >= sizeof name) {
            sbo_errf(err, errlen, "--algos '%s' has an empty or overlong name; pass a comma-separated list of: %s", list, names);
            return -1;
        }
        memcpy(name, p, l);
        name[l] = '\0';
        const sbo_algo_type *at = sbo_algo_find(name);
        if (!at) {
            sbo_errf(err, errlen, "unknown algorithm '%s' in --algos; valid algorithms: %s (see 'sbo list')", name, names);
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (out[i] == at) {
                sbo_errf(err, errlen, "algorithm '%s' appears twice in --algos '%s'; list each once", name, list);
                return -1;
            }
        if (n >= max) {
            sbo_errf(err, errlen, "--algos lists more than %d algorithms", max);
            return -1;
        }
        out[n++] = at;
        if (!c) break;
        p = c + 1;
    }
    return n;
}

/* The CSV's directory must exist and be writable before any child runs; the file is written at the end.
 * 0, or -1 with the message in err. */
static int check_csv_path(const char *path, char *err, size_t errlen) {
    if (!path[0]) {
        sbo_errf(err, errlen, "--csv is empty; pass a file name, e.g. --csv memory.csv");
        return -1;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        sbo_errf(err, errlen, "--csv '%s' is a directory; pass a file name, e.g. --csv %s/memory.csv", path, path);
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    const char *d = dirname(dir);
    if (access(d, W_OK) != 0) {
        sbo_errf(err, errlen, "--csv '%s': directory '%s' is not writable (%s); create it or choose another path",
                 path, d, strerror(errno));
        return -1;
    }
    return 0;
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

static void csv_ratio(FILE *f, double num, double den) {
    if (den > 0) fprintf(f, ",%.6g", num / den);
    else fputc(',', f);
}

static int write_memory_csv(const char *path, const sbo_task_type *tt, long steps, int n,
                            const sbo_algo_type *const *algos, const mem_report *rep, const mem_report *base,
                            const mem_report *ref, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) {
        sbo_errf(err, errlen, "cannot write --csv '%s': %s; choose another path", path, strerror(errno));
        return SBO_EXIT_FAILURE;
    }
    fprintf(f, "task,steps,algorithm,model_persistent_bytes,model_work_bytes,model_total_bytes,algo_state_bytes,"
               "algo_work_bytes,algo_total_bytes,algo_total_vs_ma_soba,arena_peak_bytes,arena_peak_vs_ma_soba,"
               "arena_live_bytes,vmhwm_after_create_bytes,vmhwm_bytes,task_only_arena_peak_bytes,"
               "task_only_vmhwm_bytes,cross_term,n_full_by_rule,steps_done,diverged_at_step,arenas\n");
    for (int i = 0; i < n; i++) {
        const mem_report *r = &rep[i];
        csv_field(f, tt->name);
        fprintf(f, ",%ld,", steps);
        csv_field(f, algos[i]->name);
        if (r->have_model)
            fprintf(f, ",%.0f,%.0f,%.0f", r->model_persistent, r->model_work, r->model_persistent + r->model_work);
        else
            fprintf(f, ",,,");
        fprintf(f, ",%.0f,%.0f,%.0f", r->algo_state, r->algo_work, r->algo_state + r->algo_work);
        csv_ratio(f, r->algo_state + r->algo_work, ref ? ref->algo_state + ref->algo_work : 0);
        fprintf(f, ",%.0f", r->arena_peak);
        csv_ratio(f, r->arena_peak, ref ? ref->arena_peak : 0);
        fprintf(f, ",%.0f,%.0f,%.0f,%.0f,%.0f,%s,%d,%ld,", r->arena_live, r->hwm_create, r->hwm, base->arena_peak,
                base->hwm, r->cross_term, r->n_full_by_rule, r->steps_done);
        if (r->diverged_at >= 0) fprintf(f, "%ld", r->diverged_at);
        fputc(',', f);
        char arenas[4096] = "";
        for (int k = 0; k < r->n_arenas; k++) {
            size_t u = strlen(arenas);
            snprintf(arenas + u, sizeof arenas - u, "%s%s=%zu", k ? ";" : "", r->arena[k].name, r->arena[k].bytes);
        }
        csv_field(f, arenas);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        sbo_errf(err, errlen, "writing --csv '%s' failed: %s; free disk space or choose another path", path,
                 strerror(errno));
        return SBO_EXIT_FAILURE;
    }
    return 0;
}

static double arena_of(const mem_report *r, const char *name) {
    for (int i = 0; i < r->n_arenas; i++)
        if (strcmp(r->arena[i].name, name) == 0) return (double)r->arena[i].bytes;
    return -1;
}

/* Prints the lines of a creation log that say which blocks are full and which cross_term mode runs. */
static void print_log_lines(const char *log) {
    for (const char *p = log; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", len, p);
        if (strstr(line, "full") || strstr(line, "cross_term") || strstr(line, "WARNING")) printf("      %s\n", line);
        p += len + (nl ? 1 : 0);
    }
}

// --- the report ----------------------------------------------------------------------------------

/* The table, the arenas by name and the notes, on stdout. ref: ma_soba's report (the ratios), or NULL. */
static void print_report(const sbo_task_type *tt, long steps, int n_algos, const sbo_algo_type *const *algos,
                         const mem_report *rep, const mem_report *base, const mem_report *ref) {
    // --- the table
    double max_b = 0;
    for (int i = 0; i < n_algos; i++) {
        double v[] = {rep[i].model_persistent + rep[i].model_work, rep[i].algo_state + rep[i].algo_work,
                      rep[i].arena_peak};
        for (int k = 0; k < 3; k++) if (v[k] > max_b) max_b = v[k];
    }
    mem_unit u = unit_for(max_b), mib = {"MiB", 1024.0 * 1024};
    char b1[32], b2[32], b3[32];
    printf("sbo memory: task %s, d = %d, lower blocks: %s\n", tt->name, base->d, base->blocks);
    printf("  one child process per algorithm: create the task and the algorithm, run %ld step%s, measure\n", steps,
           steps == 1 ? "" : "s");
    fmt_b(base->arena_peak, b1, sizeof b1);
    fmt_b(base->hwm, b2, sizeof b2);
    printf("  task only (a child that creates the task and nothing else): arena peak %s, VmHWM %s\n", b1, b2);
    if (base->device != SBO_DEVICE_CPU)
        printf("  device: %s (run.device; the network's oracles on backend %s)\n", sbo_device_name(base->device),
               base->backend);
    printf("\n");
    printf("%-16s %-30s | %-38s | %-19s | %s\n", "", "§9 model", "algorithm arenas (measured)",   /* § is 2 bytes */
           "all arenas", "process (MiB)");
    printf("%-16s %9s %9s %9s | %9s %9s %9s %8s | %9s %9s | %9s %9s\n", "algorithm", "state", "work", "total",
           "state", "work", "total", "vs", "peak", "vs", "VmHWM", "- task");
    printf("%-16s %9s %9s %9s | %9s %9s %9s %8s | %9s %9s | %9s %9s\n", "", u.name, u.name, u.name, u.name, u.name,
           u.name, "ma_soba", u.name, "ma_soba", "", "only");
    for (int i = 0; i < n_algos; i++) {
        const mem_report *r = &rep[i];
        char c[12][32];
        if (r->have_model) {
            fmt_u(r->model_persistent, u, c[0], sizeof c[0]);
            fmt_u(r->model_work, u, c[1], sizeof c[1]);
            fmt_u(r->model_persistent + r->model_work, u, c[2], sizeof c[2]);
        } else {
            for (int k = 0; k < 3; k++) snprintf(c[k], sizeof c[k], "-");
        }
        fmt_u(r->algo_state, u, c[3], sizeof c[3]);
        fmt_u(r->algo_work, u, c[4], sizeof c[4]);
        fmt_u(r->algo_state + r->algo_work, u, c[5], sizeof c[5]);
        fmt_ratio(r->algo_state + r->algo_work, ref ? ref->algo_state + ref->algo_work : 0, c[6], sizeof c[6]);
        fmt_u(r->arena_peak, u, c[7], sizeof c[7]);
        fmt_ratio(r->arena_peak, ref ? ref->arena_peak : 0, c[8], sizeof c[8]);
        fmt_u(r->hwm, mib, c[9], sizeof c[9]);
        fmt_u(r->hwm - base->hwm, mib, c[10], sizeof c[10]);
        printf("%-16s %9s %9s %9s | %9s %9s %9s %8s | %9s %9s | %9s %9s\n", algos[i]->name, c[0], c[1], c[2], c[3],
               c[4], c[5], c[6], c[7], c[8], c[9], c[10]);
    }

    // --- arenas by name: one row per arena name, one column per child
    const char *names[MEM_MAX_ARENAS * 2];
    int n_names = 0;
    for (int i = -1; i < n_algos; i++) {
        const mem_report *r = i < 0 ? base : &rep[i];
        for (int k = 0; k < r->n_arenas; k++) {
            int seen = 0;
            for (int m = 0; m < n_names; m++) seen |= strcmp(names[m], r->arena[k].name) == 0;
            if (!seen && n_names < MEM_MAX_ARENAS * 2) names[n_names++] = r->arena[k].name;
        }
    }
    double max_a = 0;
    for (int i = 0; i < n_algos; i++)
        for (int k = 0; k < rep[i].n_arenas; k++)
            if ((double)rep[i].arena[k].bytes > max_a) max_a = (double)rep[i].arena[k].bytes;
    mem_unit ua = unit_for(max_a);
    int w = 10;
    for (int i = 0; i < n_algos; i++)
        if ((int)strlen(algos[i]->name) + 1 > w) w = (int)strlen(algos[i]->name) + 1;
    printf("\narenas after the steps, by name (%s; algo.* = the algorithm's own arenas; * = differs between "
           "algorithms):\n", ua.name);
    printf("  %-30s %*s", "arena", w, "task only");
    for (int i = 0; i < n_algos; i++) printf(" %*s", w, algos[i]->name);
    printf("\n");
    for (int m = 0; m < n_names; m++) {
        double first = arena_of(&rep[0], names[m]);
        int differs = 0;
        for (int i = 1; i < n_algos; i++) differs |= arena_of(&rep[i], names[m]) != first;
        int device = 0;   /* a device arena is marked; the CPU's table is unchanged */
        for (int i = -1; i < n_algos; i++) {
            const mem_report *r = i < 0 ? base : &rep[i];
            for (int k = 0; k < r->n_arenas; k++) device |= r->arena[k].device && !strcmp(r->arena[k].name, names[m]);
        }
        char label[64];
        snprintf(label, sizeof label, "%s%s", names[m], device ? " (device)" : "");
        printf("%c %-30s", differs ? '*' : ' ', label);
        for (int i = -1; i < n_algos; i++) {
            double v = arena_of(i < 0 ? base : &rep[i], names[m]);
            if (v < 0) snprintf(b3, sizeof b3, "-");
            else fmt_u(v, ua, b3, sizeof b3);
            printf(" %*s", w, b3);
        }
        printf("\n");
    }
    double max_dev = base->device_peak;
    for (int i = 0; i < n_algos; i++) max_dev = rep[i].device_peak > max_dev ? rep[i].device_peak : max_dev;
    if (max_dev > 0) {   /* a device backend: its arenas are not in the host columns above */
        mem_unit ud = unit_for(max_dev);
        printf("  %-30s", "device arena peak");
        for (int i = -1; i < n_algos; i++) {
            fmt_u(i < 0 ? base->device_peak : rep[i].device_peak, ud, b3, sizeof b3);
            printf(" %*s", w, b3);
        }
        printf("  (%s; device memory, apart from the host peak)\n", ud.name);
    }
    if (base->device == SBO_DEVICE_CUDA) {   /* the whole device as the driver sees it (context, cuBLAS, arenas) */
        const char *lab[2] = {"cuda used before the task", "cuda used after the steps"};
        double max_c = 0;
        for (int i = -1; i < n_algos; i++) {
            const mem_report *r = i < 0 ? base : &rep[i];
            if (r->cuda_used_after > max_c) max_c = r->cuda_used_after;
            if (r->cuda_used_before > max_c) max_c = r->cuda_used_before;
        }
        mem_unit uc = unit_for(max_c);
        for (int k = 0; k < 2; k++) {
            printf("  %-30s", lab[k]);
            for (int i = -1; i < n_algos; i++) {
                const mem_report *r = i < 0 ? base : &rep[i];
                double v = k ? r->cuda_used_after : r->cuda_used_before;
                if (v < 0) snprintf(b3, sizeof b3, "-");
                else fmt_u(v, uc, b3, sizeof b3);
                printf(" %*s", w, b3);
            }
            printf("  (%s; cudaMemGetInfo total - free, every process on the device)\n", uc.name);
        }
    }

    // --- notes
    printf("\nnotes:\n");
    for (int i = 0; i < n_algos; i++) {
        const mem_report *r = &rep[i];
        printf("  %s: %s\n", algos[i]->name, r->note);
        print_log_lines(r->log);
        if (r->diverged_at >= 0)
            printf("      the iterate became non-finite at step %ld (memory measured all the same)\n", r->diverged_at);
    }
    if (!ref) printf("  ma_soba was not measured (--algos), so the 'vs ma_soba' columns are empty\n");
    printf("  model: §9 state + largest live work set. algorithm arenas: its state and work arenas after the steps.\n"
           "  all arenas: the peak of every arena of the child (task data, network engine incl. buffers allocated on\n"
           "  first use, algorithm). VmHWM: the child's peak resident set (runtime and libraries included); '- task\n"
           "  only' subtracts the VmHWM of the task-only child. Arena bytes include < 64 B padding per buffer.\n");
}

int sbo_memory_report(const sbo_memory_report_opts *o, char *err, size_t errlen) {
    const sbo_task_type *tt = o->task;
    const sbo_algo_type *algos[MEM_MAX_ALGOS];
    int n_algos = parse_algos(o->algos, algos, MEM_MAX_ALGOS, err, errlen);
    if (n_algos < 0) return SBO_EXIT_USAGE;
    if (o->csv && check_csv_path(o->csv, err, errlen)) return SBO_EXIT_USAGE;

    /* raw = file + --set, checked against the union of every table */
    static sbo_config raw, cfg;
    sbo_config_init(&raw);
    if (o->config && sbo_config_load_ini(&raw, o->config, err, errlen)) return SBO_EXIT_USAGE;
    for (int i = 0; i < o->n_sets; i++)
        if (sbo_config_set_arg(&raw, o->sets[i], err, errlen)) return SBO_EXIT_USAGE;
    if (sbo_run_check_known_any(&raw, tt, err, errlen)) return SBO_EXIT_USAGE;

    /* the task-only child: runner and task options */
    child_config(&raw, tt, NULL, &cfg);
    sbo_device dev;   /* run.device's value and task checked here; the device itself in each child */
    if (sbo_run_parse_device(tt, &cfg, &dev, err, errlen)) return SBO_EXIT_USAGE;
    static mem_report base, rep[MEM_MAX_ALGOS];
    mem_job job = {.tt = tt, .at = NULL, .cfg = &cfg, .steps = 0};
    int code = mem_run(&job, &base, err, errlen);
    if (code) return code;

    /* one child per algorithm, with the options it declares (others are ignored for it) */
    for (int i = 0; i < n_algos; i++) {
        child_config(&raw, tt, algos[i], &cfg);
        job = (mem_job){.tt = tt, .at = algos[i], .cfg = &cfg, .steps = o->steps};
        code = mem_run(&job, &rep[i], err, errlen);
        if (code) return code;
    }

    const mem_report *ref = NULL;
    for (int i = 0; i < n_algos; i++)
        if (strcmp(algos[i]->name, "ma_soba") == 0) ref = &rep[i];

    print_report(tt, o->steps, n_algos, algos, rep, &base, ref);
    if (o->csv) {
        code = write_memory_csv(o->csv, tt, o->steps, n_algos, algos, rep, &base, ref, err, errlen);
        if (code) return code;
        printf("  numbers (bytes) also in %s\n", o->csv);
    }
    return 0;
}
