/* theory_checks/tc_common.c: the harness shared by every theory check (ALGORITHMS.md §8): flags, Welford
 * accumulators with z-scores and the §8.1 noncentrality, the PASS/FAIL table and its HDF5 record.
 * Linked into each build/tc* executable (CMakeLists.txt). Exercised by: ctest -R '^tc' (quick mode). */
#include "theory_checks/tc_common.h"   /* the interface */
#include "core/sbo_blas.h"             /* sbo_blas_set_threads: 1 BLAS thread under OpenMP (PLATFORM.md) */
#include "runners/sbo_h5.h"            /* results file */

#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --- command line ----------------------------------------------------------------------------------

static void usage(FILE *f, const char *name, const char *summary) {
    fprintf(f, "%s: %s\n"
               "usage: %s [--quick] [--out FILE.h5] [--seed S] [--threads N]\n"
               "  --quick        quick mode of ALGORITHMS.md §8.2 (smaller N, same statistical power)\n"
               "  --out FILE.h5  write the checks and their numbers to an HDF5 file\n"
               "  --seed S       Monte Carlo seed (default: the check's fixed seed)\n"
               "  --threads N    OpenMP threads (results do not depend on N)\n"
               "exit status: 0 all checks pass, 1 a check failed, 2 bad usage\n",
            name, summary, name);
}

/* Value of "--flag VALUE" or "--flag=VALUE"; advances *i. NULL when absent. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag) {
    size_t len = strlen(flag);
    if (strncmp(argv[*i], flag, len) != 0) return NULL;
    if (argv[*i][len] == '=') return argv[*i] + len + 1;
    if (argv[*i][len] != '\0') return NULL;
    if (*i + 1 >= argc) return "";
    return argv[++*i];
}

static int parse_ull(const char *s, unsigned long long *out) {
    char *end = NULL;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end != '\0') return -1;
    *out = v;
    return 0;
}

void sbo_tc_parse(int argc, char **argv, const char *name, const char *summary, sbo_tc_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *v;
        unsigned long long u;
        if (strcmp(argv[i], "--quick") == 0) {
            a->quick = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout, name, summary);
            exit(0);
        } else if ((v = flag_value(argc, argv, &i, "--out"))) {
            if (!*v) { fprintf(stderr, "%s: --out needs a file name, e.g. --out results/tc.h5\n", name); exit(2); }
            a->out = v;
        } else if ((v = flag_value(argc, argv, &i, "--seed"))) {
            if (parse_ull(v, &u) != 0) {
                fprintf(stderr, "%s: --seed '%s' is not a non-negative integer\n", name, v);
                exit(2);
            }
            a->seed = u;
            a->seed_given = 1;
        } else if ((v = flag_value(argc, argv, &i, "--threads"))) {
            if (parse_ull(v, &u) != 0 || u < 1 || u > 1024) {
                fprintf(stderr, "%s: --threads '%s' must be an integer in 1..1024\n", name, v);
                exit(2);
            }
            a->threads = (int)u;
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", name, argv[i]);
            usage(stderr, name, summary);
            exit(2);
        }
    }
    if (a->threads > 0) omp_set_num_threads(a->threads);
    /* The checks parallelize over draws with OpenMP; nested BLAS threads only slow them down. */
    sbo_blas_set_threads(1);
}

// --- Monte Carlo accumulators ----------------------------------------------------------------------

void sbo_mc_init(sbo_mc_acc *acc, int dim) {
    acc->n = 0;
    acc->dim = dim;
    acc->mean = calloc((size_t)dim > 0 ? (size_t)dim : 1, sizeof(double));
    acc->m2 = calloc((size_t)dim > 0 ? (size_t)dim : 1, sizeof(double));
    if (!acc->mean || !acc->m2) {
        fprintf(stderr, "sbo_mc_init: out of memory for %d entries\n", dim);
        exit(2);
    }
}

void sbo_mc_add(sbo_mc_acc *acc, const double *x) {
    /* Welford: stable in double even when the mean is large against the spread. */
    acc->n++;
    double inv = 1.0 / (double)acc->n;
    double *mean = acc->mean, *m2 = acc->m2;
    for (int i = 0; i < acc->dim; i++) {
        double d = x[i] - mean[i];
        mean[i] += d * inv;
        m2[i] += d * (x[i] - mean[i]);
    }
}

void sbo_mc_merge(sbo_mc_acc *into, const sbo_mc_acc *from) {
    /* Chan, Golub, LeVeque (1979) pairwise update. Callers merge chunks in a fixed order, so the
     * result does not depend on the number of threads. */
    if (from->n == 0) return;
    if (into->dim != from->dim) {
        fprintf(stderr, "sbo_mc_merge: dimension mismatch %d vs %d\n", into->dim, from->dim);
        abort();
    }
    if (into->n == 0) {
        into->n = from->n;
        memcpy(into->mean, from->mean, sizeof(double) * (size_t)from->dim);
        memcpy(into->m2, from->m2, sizeof(double) * (size_t)from->dim);
        return;
    }
    double na = (double)into->n, nb = (double)from->n, n = na + nb;
    for (int i = 0; i < into->dim; i++) {
        double d = from->mean[i] - into->mean[i];
        into->mean[i] += d * (nb / n);
        into->m2[i] += from->m2[i] + d * d * (na * nb / n);
    }
    into->n += from->n;
}

void sbo_mc_free(sbo_mc_acc *acc) {
    free(acc->mean);
    free(acc->m2);
    acc->mean = acc->m2 = NULL;
    acc->dim = 0;
    acc->n = 0;
}

double sbo_mc_se(const sbo_mc_acc *acc, int i) {
    if (acc->n < 2) return NAN;       /* no variance estimate: every comparison with it fails */
    double var = acc->m2[i] / (double)(acc->n - 1);
    return sqrt(var / (double)acc->n);
}

double sbo_mc_max_abs_z(const sbo_mc_acc *acc, const double *target) {
    if (acc->n < 2) return INFINITY;
    double zmax = 0.0;
    for (int i = 0; i < acc->dim; i++) {
        double diff = fabs(acc->mean[i] - target[i]);
        double se = sbo_mc_se(acc, i);
        /* An entry with no spread (e.g. a structural zero) is either exactly right or infinitely wrong. */
        double z = se > 0.0 ? diff / se : (diff > 1e-12 ? INFINITY : 0.0);
        if (z > zmax || isnan(z)) zmax = z;
    }
    return zmax;
}

double sbo_mc_noncentrality(const sbo_mc_acc *acc, const double *pred, const double *wrong) {
    if (acc->n < 2) return NAN;
    double lmax = 0.0;
    for (int i = 0; i < acc->dim; i++) {
        double se = sbo_mc_se(acc, i);
        double diff = fabs(pred[i] - wrong[i]);
        double l = se > 0.0 ? diff / se : (diff > 1e-12 ? INFINITY : 0.0);
        if (l > lmax) lmax = l;
    }
    return lmax;
}

// --- report ----------------------------------------------------------------------------------------

static void h5_or_die(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "theory check: could not write %s to the results file (see the message above)\n", what);
        exit(2);
    }
}

void sbo_tc_report_begin(sbo_tc_report *r, const char *name, const sbo_tc_args *a, int argc, char **argv) {
    memset(r, 0, sizeof *r);
    r->tc_name = name;
    r->out = stdout;
    fprintf(r->out, "== %s: %s mode, %d OpenMP thread(s)%s%s ==\n", name, a->quick ? "quick" : "full",
            omp_get_max_threads(), a->out ? ", results -> " : "", a->out ? a->out : "");
    fflush(r->out);
    if (!a->out) return;
    char err[512];
    r->h5 = sbo_h5_create(a->out, err, sizeof err);
    if (!r->h5) {
        fprintf(stderr, "%s: %s\n", name, err);
        exit(2);
    }
    h5_or_die(sbo_h5_write_provenance(r->h5, argc, argv), "provenance");
    h5_or_die(sbo_h5_attr_str(r->h5, "/", "theory_check", name), "attribute theory_check");
    h5_or_die(sbo_h5_attr_str(r->h5, "/", "mode", a->quick ? "quick" : "full"), "attribute mode");
    h5_or_die(sbo_h5_attr_long(r->h5, "/", "omp_threads", omp_get_max_threads()), "attribute omp_threads");
    if (a->seed_given) h5_or_die(sbo_h5_attr_long(r->h5, "/", "seed", (long)a->seed), "attribute seed");
    static const char *const cols[] = {"value", "threshold", "pass"};
    r->table = sbo_h5_table_create(r->h5, "/checks", 3, cols);
    if (!r->table) h5_or_die(-1, "table /checks");
}

void sbo_tc_check(sbo_tc_report *r, int pass, const char *what, double value, const char *op, double threshold) {
    char line[512];
    if (strcmp(op, "in") == 0)   /* interval checks state their interval in `what` */
        snprintf(line, sizeof line, "[%s] %s: %.6g", pass ? "PASS" : "FAIL", what, value);
    else
        snprintf(line, sizeof line, "[%s] %s: %.6g (%s %g)", pass ? "PASS" : "FAIL", what, value, op, threshold);
    fprintf(r->out, "  %s\n", line);
    fflush(r->out);
    if (r->h5) {
        /* Row i of /checks holds the numbers; attribute check_i on it holds the description. */
        double row[3] = {value, threshold, pass ? 1.0 : 0.0};
        h5_or_die(sbo_h5_table_append(r->table, row), "a row of /checks");
        char key[32];
        snprintf(key, sizeof key, "check_%03d", r->n);
        h5_or_die(sbo_h5_attr_str(r->h5, "/checks", key, line), "a check description");
    }
    r->n++;
    if (!pass) r->n_fail++;
}

void sbo_tc_note(sbo_tc_report *r, const char *fmt, ...) {
    static int note_index = 0;   /* one report per process */
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(r->out, "%s\n", line);
    fflush(r->out);
    if (r->h5) {
        char key[32];
        snprintf(key, sizeof key, "note_%d", note_index++);
        h5_or_die(sbo_h5_attr_str(r->h5, "/", key, line), "a note");
    }
}

int sbo_tc_report_end(sbo_tc_report *r) {
    int fail = r->n_fail > 0 || r->n == 0;   /* a check that checked nothing cannot pass */
    if (r->n_fail > 0)
        fprintf(r->out, "%s: FAIL (%d of %d checks failed)\n", r->tc_name, r->n_fail, r->n);
    else if (r->n == 0)
        fprintf(r->out, "%s: FAIL (no checks ran)\n", r->tc_name);
    else
        fprintf(r->out, "%s: PASS (%d checks)\n", r->tc_name, r->n);
    fflush(r->out);
    if (r->h5) {
        h5_or_die(sbo_h5_attr_str(r->h5, "/", "result", fail ? "FAIL" : "PASS"), "attribute result");
        h5_or_die(sbo_h5_attr_long(r->h5, "/", "n_checks", r->n), "attribute n_checks");
        h5_or_die(sbo_h5_attr_long(r->h5, "/", "n_failed", r->n_fail), "attribute n_failed");
        if (sbo_h5_close(r->h5) != 0) {
            fprintf(stderr, "%s: could not close the results file\n", r->tc_name);
            return 2;
        }
        r->h5 = NULL;
        r->table = NULL;
    }
    return fail ? 1 : 0;
}
