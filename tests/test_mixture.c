/* tests/test_mixture.c: the data-mixture task (tasks/data_mixture.c) and its text loader (tasks/text_domains.c) on
 * domain files the tests generate under a temporary directory (no Debian package needed):
 *   - the loader: files in byte-wise name order, subdirectories depth first, symbolic links skipped, .gz inflated,
 *     the byte budget cutting the last file; a missing domain and a corrupt or truncated .gz fail with a one-line
 *     message (the package to install; the file and zlib's reason);
 *   - the split: deterministic for a seed, another seed another split, the three splits disjoint and covering
 *     every chunk, 10% / 10% / 80%;
 *   - the task's oracles in float64 on a tiny model (context 4, width 4, one block, 2 heads) against central
 *     differences: grad_Y g and grad_Y f (coordinates and a direction), H[V] against differences of grad_Y g, J[V]
 *     (the softmax weights' cross derivative) against d/dx_i <grad_Y g, V>, grad_x f = 0 exactly; the native
 *     reduced oracles equal P^T of the full ones (Haar P on Wq, Wo and W2); the declarations (row symmetry only on
 *     the 1 x C gains, E and the positions kept full);
 *   - the minibatch is stratified (batch_per_domain sequences of each training domain, in order) and the sample ids
 *     decode to the right domain's split chunks; a held-out target leaves K - 1 training domains;
 *   - the uniform baseline leaves x at 0 (bit for bit) while Y trains; short MA-SOBA and BROS runs lower the target
 *     loss; configuration errors.
 * Run: ctest -R test_mixture */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "core/sbo_haar.h"            /* Haar P for the reduced oracles */
#include "core/sbo_subspace.h"        /* sbo_subspace_project */
#include "runners/sbo_run.h"          /* sbo_run_resolve_config */
#include "algorithms/algorithm.h"     /* sbo_algo_find: the short runs */
#include "tasks/data_mixture.h"       /* the code under test */
#include "tasks/text_domains.h"
#include "tests/test_alloc.h"       /* dalloc, max_abs */

#define FD_H 1e-5
#define FD_TOL 1e-6      /* relative, central differences in float64 on O(1) losses */
#define EXACT_TOL 1e-10  /* reduced = P^T full in float64 */

static char tmp_root[256];

static void write_file(const char *path, const char *data, long n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        cr_assert(f, "cannot write %s", path);
        cr_assert_eq(gzwrite(f, data, (unsigned)n), (int)n);
        gzclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
}

static void make_dir(const char *path) { cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path); }

/* a fresh temporary directory per test (each test runs in its own process) */
static void setup_tmp(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/sbo_test_mixture_XXXXXX");
    cr_assert(mkdtemp(tmp_root), "mkdtemp failed");
}

static void remove_tree(void) {
    char cmd[400];
    if (!tmp_root[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "test_mixture: could not remove %s\n", tmp_root);
}

/* Domain k's text: words of 2 to 5 letters from its own 4-letter alphabet, so that domains differ and a tiny model
 * learns them quickly; written as three plain files and one .gz. */
static void make_domain(int k, long bytes) {
    char dir[400], path[480];
    snprintf(dir, sizeof dir, "%s/d%d", tmp_root, k);
    make_dir(dir);
    char *buf = malloc((size_t)bytes);
    sbo_stream s;
    sbo_stream_init(&s, 77 + (uint64_t)k, SBO_RNG_TEST, 0, 0);
    for (long i = 0; i < bytes;) {
        int len = 2 + (int)(sbo_stream_u32(&s) % 4);
        for (int j = 0; j < len && i < bytes; j++) buf[i++] = (char)('a' + 4 * k + (int)(sbo_stream_u32(&s) % 4));
        if (i < bytes) buf[i++] = ' ';
    }
    long q = bytes / 4;
    const char *names[4] = {"a.txt", "b.txt.gz", "c.txt", "d.txt"};
    for (int f = 0; f < 4; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        write_file(path, buf + f * q, f == 3 ? bytes - 3 * q : q, f == 1);
    }
    free(buf);
}

TestSuite(mixture, .init = setup_tmp, .fini = remove_tree);

/* ------------------------------------------------------------------------------------------------------ */
/* the loader                                                                                              */

static const sbo_text_source any_source = {"gen", "some-package", "", 1, "", ".skip", "generated"};

Test(mixture, loader_reads_sorted_files_through_zlib_up_to_the_budget) {
    char dir[400], path[480];
    snprintf(dir, sizeof dir, "%s/dom", tmp_root);
    make_dir(dir);
    char A[100], B[100], C[100], D[100];
    memset(A, 'A', 100); memset(B, 'B', 100); memset(C, 'C', 100); memset(D, 'D', 100);
    snprintf(path, sizeof path, "%s/b.gz", dir);   write_file(path, B, 100, 1);
    snprintf(path, sizeof path, "%s/a.txt", dir);  write_file(path, A, 100, 0);
    snprintf(path, sizeof path, "%s/x.skip", dir); write_file(path, D, 100, 0);   /* excluded by its suffix */
    snprintf(path, sizeof path, "%s/sub", dir);    make_dir(path);
    snprintf(path, sizeof path, "%s/sub/c.txt", dir); write_file(path, C, 100, 0);
    char target[480];
    snprintf(target, sizeof target, "%s/a.txt", dir);
    snprintf(path, sizeof path, "%s/l.txt", dir);
    cr_assert_eq(symlink(target, path), 0);        /* a link: skipped */
    sbo_text_domain d;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_text_domain_load(&any_source, dir, 1000, 32, 1, &d, err, sizeof err), 0, "%s", err);
    cr_log_info("read %ld bytes from %ld files (want 300 from 3: a.txt, b.gz, sub/c.txt)", d.n_bytes, d.n_files);
    cr_expect_eq(d.n_bytes, 300);
    cr_expect_eq(d.n_files, 3);
    int order_ok = memcmp(d.bytes, A, 100) == 0 && memcmp(d.bytes + 100, B, 100) == 0 &&
                   memcmp(d.bytes + 200, C, 100) == 0;
    cr_expect(order_ok, "bytes not in the order a.txt, b.gz (inflated), sub/c.txt");
    sbo_text_domain_free(&d);
    /* a budget of 250 cuts sub/c.txt after 50 bytes */
    cr_assert_eq(sbo_text_domain_load(&any_source, dir, 250, 32, 1, &d, err, sizeof err), 0, "%s", err);
    cr_expect(d.n_bytes == 250 && d.bytes[249] == 'C' && d.n_chunks == 7, "budget: %ld bytes, %ld chunks",
              d.n_bytes, d.n_chunks);
    sbo_text_domain_free(&d);
}

Test(mixture, loader_errors_name_the_package_or_the_file) {
    char dir[400], path[480], err[SBO_ERR_LEN] = "";
    sbo_text_domain d;
    snprintf(dir, sizeof dir, "%s/none", tmp_root);
    cr_expect_eq(sbo_text_domain_load(&any_source, dir, 1000, 32, 1, &d, err, sizeof err), -1);
    cr_log_info("missing domain: %s", err);
    cr_expect(strstr(err, "install the Debian package some-package") && strstr(err, "'gen'") && !strchr(err, '\n'),
              "missing: '%s'", err);
    /* an empty directory: no file */
    make_dir(dir);
    cr_expect_eq(sbo_text_domain_load(&any_source, dir, 1000, 32, 1, &d, err, sizeof err), -1);
    cr_expect(strstr(err, "no file under") && strstr(err, "some-package"), "empty: '%s'", err);
    /* a corrupt .gz: the gzip magic, then garbage */
    snprintf(path, sizeof path, "%s/bad.gz", dir);
    const char junk[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03 this is not deflate data at all, no no no";
    write_file(path, junk, sizeof junk - 1, 0);
    cr_expect_eq(sbo_text_domain_load(&any_source, dir, 1000, 32, 1, &d, err, sizeof err), -1);
    cr_log_info("corrupt .gz: %s", err);
    cr_expect(strstr(err, "bad.gz is corrupt or truncated (zlib:") != NULL, "corrupt: '%s'", err);
    /* a truncated .gz: a valid stream cut in half */
    char text[4000], gz[480];
    for (int i = 0; i < 4000; i++) text[i] = (char)('a' + (i * 7) % 26);
    snprintf(gz, sizeof gz, "%s/whole.gz", tmp_root);
    write_file(gz, text, 4000, 1);
    FILE *f = fopen(gz, "rb");
    char raw[8192];
    long n = (long)fread(raw, 1, sizeof raw, f);
    fclose(f);
    write_file(path, raw, n / 2, 0);
    cr_expect_eq(sbo_text_domain_load(&any_source, dir, 100000, 32, 1, &d, err, sizeof err), -1);
    cr_log_info("truncated .gz (%ld of %ld bytes): %s", n / 2, n, err);
    cr_expect(strstr(err, "bad.gz is corrupt or truncated") != NULL, "truncated: '%s'", err);
}

Test(mixture, split_is_deterministic_disjoint_and_complete) {
    make_domain(0, 100 * 64 + 17);
    char dir[400], err[SBO_ERR_LEN] = "";
    snprintf(dir, sizeof dir, "%s/d0", tmp_root);
    sbo_text_domain a, b, c;
    cr_assert_eq(sbo_text_domain_load(&any_source, dir, 1 << 20, 64, 5, &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sbo_text_domain_load(&any_source, dir, 1 << 20, 64, 5, &b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sbo_text_domain_load(&any_source, dir, 1 << 20, 64, 6, &c, err, sizeof err), 0, "%s", err);
    cr_expect(a.n_chunks == 100 && a.n[0] == 80 && a.n[1] == 10 && a.n[2] == 10, "chunks %ld: %ld/%ld/%ld",
              a.n_chunks, a.n[0], a.n[1], a.n[2]);
    int same = 1, differs = 0, seen[100] = {0};
    for (int k = 0; k < 3; k++)
        for (long i = 0; i < a.n[k]; i++) {
            same &= a.chunks[k][i] == b.chunks[k][i];
            differs |= a.chunks[k][i] != c.chunks[k][i];
            cr_assert(a.chunks[k][i] >= 0 && a.chunks[k][i] < 100);
            seen[a.chunks[k][i]]++;
        }
    int once = 1;
    for (int i = 0; i < 100; i++) once &= seen[i] == 1;
    cr_expect(same, "the same seed gave another split");
    cr_expect(differs, "another seed gave the same split");
    cr_expect(once, "the splits are not disjoint or do not cover every chunk");
    sbo_text_domain_free(&a); sbo_text_domain_free(&b); sbo_text_domain_free(&c);
}

/* ------------------------------------------------------------------------------------------------------ */
/* the task                                                                                                */

#define N_DOM 5

/* the task on the generated domains d0..d4, tiny model, float64; extra: more "key=value" settings, NULL-ended */
static sbo_task *tiny_task(const char *const *extra, const char *algo, sbo_config *cfg_out) {
    for (int k = 0; k < N_DOM; k++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/d%d", tmp_root, k);
        struct stat st;
        if (stat(dir, &st)) make_domain(k, 6000);
    }
    static char text_dir[400];
    snprintf(text_dir, sizeof text_dir, "task.text_dir=%s", tmp_root);
    const char *sets[32] = {text_dir, "task.domains=d0,d1,d2,d3,d4", "task.context=4", "task.width=4",
                            "task.layers=1", "task.heads=2", "task.ffn_hidden=6", "task.batch_per_domain=1",
                            "task.upper_batch=5", "task.eval_seqs=6", "task.chunk_bytes=64",
                            "task.domain_bytes=8192", "task.precision=float64"};
    int n = 13;
    for (int i = 0; extra && extra[i]; i++) sets[n++] = extra[i];
    static sbo_config cfg;
    char err[SBO_ERR_LEN] = "";
    const sbo_algo_type *at = algo ? sbo_algo_find(algo) : NULL;
    cr_assert_eq(sbo_run_resolve_config(&sbo_task_data_mixture, at, NULL, sets, n, &cfg, err, sizeof err), 0, "%s",
                 err);
    sbo_task *t = sbo_task_create(&sbo_task_data_mixture, &cfg, err, sizeof err);
    cr_assert(t, "%s", err);
    if (cfg_out) *cfg_out = cfg;
    return t;
}

/* a random point (x, Y) near the init, a direction V on Y, and one lower and one upper minibatch */
typedef struct {
    sbo_task *t;
    long D;
    int d;
    double *x, *Y, *V;
    sbo_batch *bl, *bu;
} point;

static void point_init(point *p, sbo_task *t, uint64_t seed) {
    p->t = t;
    p->D = sbo_layout_total(&t->lower);
    p->d = t->d;
    p->x = dalloc(p->d); p->Y = dalloc(p->D); p->V = dalloc(p->D);
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_INIT, 0, 0);
    t->ops->init(t, &s, p->x, p->Y);
    for (int i = 0; i < p->d; i++) p->x[i] = 0.7 * sbo_stream_gaussian(&s);
    for (long i = 0; i < p->D; i++) p->Y[i] += 0.3 * sbo_stream_gaussian(&s);
    for (long i = 0; i < p->D; i++) p->V[i] = sbo_stream_gaussian(&s);
    p->bl = sbo_batch_create(t, 0);
    p->bu = sbo_batch_create(t, 1);
    sbo_task_sample(t, 0, &s, p->bl);
    sbo_task_sample(t, 1, &s, p->bu);
}

static void point_free(point *p) {
    free(p->x); free(p->Y); free(p->V);
    sbo_batch_free(p->bl); sbo_batch_free(p->bu);
}

static double loss_at(point *p, int level, const double *x, const double *Y) {
    return sbo_neural_batch_loss(p->t, level, x, Y, level ? p->bu : p->bl);
}

/* grad (of level's objective in Y) against central differences on 40 coordinates and along V; relative to the
 * gradient's inf-norm and to the directional derivative */
static double grad_y_check(point *p, int level, const double *grad, double *dir_err) {
    double *Yp = dalloc(p->D), sc = max_abs(p->D, grad), err = 0;
    memcpy(Yp, p->Y, sizeof(double) * (size_t)p->D);
    for (int c = 0; c < 40; c++) {
        long i = (long)((c * 2654435761UL) % (unsigned long)p->D);
        Yp[i] = p->Y[i] + FD_H;
        double fp = loss_at(p, level, p->x, Yp);
        Yp[i] = p->Y[i] - FD_H;
        double fm = loss_at(p, level, p->x, Yp);
        Yp[i] = p->Y[i];
        err = fmax(err, fabs((fp - fm) / (2 * FD_H) - grad[i]));
    }
    double an = 0;
    for (long i = 0; i < p->D; i++) an += grad[i] * p->V[i];
    for (long i = 0; i < p->D; i++) Yp[i] = p->Y[i] + FD_H * p->V[i];
    double fp = loss_at(p, level, p->x, Yp);
    for (long i = 0; i < p->D; i++) Yp[i] = p->Y[i] - FD_H * p->V[i];
    double fm = loss_at(p, level, p->x, Yp);
    *dir_err = fabs((fp - fm) / (2 * FD_H) - an) / fabs(an);
    free(Yp);
    return err / sc;
}

/* extra: NULL (the GELU feed-forward) or {"task.ffn=swiglu", NULL}; label names it in the log */
static void oracle_check(const char *const *extra, const char *label) {
    sbo_task *t = tiny_task(extra, NULL, NULL);
    point p;
    point_init(&p, t, 3);
    long D = p.D;
    int d = p.d;
    cr_assert_eq(d, N_DOM);
    double *g = dalloc(D), *gf = dalloc(D), *gx = dalloc(d), *HV = dalloc(D), *JV = dalloc(d);
    double *gp = dalloc(D), *gm = dalloc(D), *Yp = dalloc(D), *xp = dalloc(d);
    double eg_dir, ef_dir;
    sbo_task_grad_lower(t, p.x, p.Y, p.bl, g);
    double eg = grad_y_check(&p, 0, g, &eg_dir);
    sbo_task_grad_upper_Y(t, p.x, p.Y, p.bu, gf);
    double ef = grad_y_check(&p, 1, gf, &ef_dir);
    sbo_task_grad_upper_x(t, p.x, p.Y, p.bu, gx);
    /* H[V] against differences of grad_Y g along V */
    sbo_task_hvp(t, p.x, p.Y, p.bl, p.V, HV);
    for (long i = 0; i < D; i++) Yp[i] = p.Y[i] + FD_H * p.V[i];
    sbo_task_grad_lower(t, p.x, Yp, p.bl, gp);
    for (long i = 0; i < D; i++) Yp[i] = p.Y[i] - FD_H * p.V[i];
    sbo_task_grad_lower(t, p.x, Yp, p.bl, gm);
    double eH = 0;
    for (long i = 0; i < D; i++) eH = fmax(eH, fabs((gp[i] - gm[i]) / (2 * FD_H) - HV[i]));
    eH /= max_abs(D, HV);
    /* J[V]_i = d/dx_i <grad_Y g(x, Y), V>: the softmax weights' cross derivative */
    sbo_task_cross(t, p.x, p.Y, p.bl, p.V, JV);
    double eJ = 0;
    memcpy(xp, p.x, sizeof(double) * (size_t)d);
    for (int i = 0; i < d; i++) {
        double vp = 0, vm = 0;
        xp[i] = p.x[i] + FD_H;
        sbo_task_grad_lower(t, xp, p.Y, p.bl, gp);
        xp[i] = p.x[i] - FD_H;
        sbo_task_grad_lower(t, xp, p.Y, p.bl, gm);
        xp[i] = p.x[i];
        for (long j = 0; j < D; j++) { vp += gp[j] * p.V[j]; vm += gm[j] * p.V[j]; }
        eJ = fmax(eJ, fabs((vp - vm) / (2 * FD_H) - JV[i]));
    }
    double sJ = max_abs(d, JV);
    eJ /= sJ;
    cr_log_info("data_mixture %s float64 (D = %ld, K = %d): grad_Y g %.2e (along V %.2e), grad_Y f %.2e (along V "
                "%.2e), H[V] %.2e, J[V] %.2e (|J[V]| %.3g), |grad_x f| %.1e (tolerance %.0e relative, exactly 0)", label,
                D, d, eg, eg_dir, ef, ef_dir, eH, eJ, sJ, max_abs(d, gx), FD_TOL);
    cr_expect(eg < FD_TOL && eg_dir < FD_TOL, "grad_Y g: %.3g, %.3g", eg, eg_dir);
    cr_expect(ef < FD_TOL && ef_dir < FD_TOL, "grad_Y f: %.3g, %.3g", ef, ef_dir);
    cr_expect(eH < FD_TOL, "H[V]: %.3g", eH);
    cr_expect(eJ < FD_TOL && sJ > 1e-4, "J[V]: %.3g (scale %.3g)", eJ, sJ);
    cr_expect(max_abs(d, gx) == 0, "f depends on x directly: |grad_x f| = %.3g", max_abs(d, gx));
    free(g); free(gf); free(gx); free(HV); free(JV); free(gp); free(gm); free(Yp); free(xp);
    point_free(&p);
    sbo_task_destroy(t);
}

Test(mixture, oracles_match_central_differences_float64) { oracle_check(NULL, "gelu"); }

/* the SwiGLU feed-forward (task.ffn = swiglu: one more block per layer, W3, and the engine's mul) */
Test(mixture, oracles_match_central_differences_swiglu) {
    static const char *const extra[] = {"task.ffn=swiglu", NULL};
    oracle_check(extra, "swiglu");
}

Test(mixture, reduced_oracles_equal_projected_full_ones) {
    sbo_task *t = tiny_task(NULL, NULL, NULL);
    point p;
    point_init(&p, t, 4);
    const sbo_layout *lay = &t->lower;
    sbo_subspace S;
    memset(&S, 0, sizeof S);
    S.full = lay;
    S.red = *lay;
    int rows[SBO_MAX_BLOCKS], projected = 0;
    double *Pm[SBO_MAX_BLOCKS] = {0};
    sbo_stream s;
    sbo_stream_init(&s, 41, SBO_RNG_SUBSPACE, 0, 0);
    for (int l = 0; l < lay->L; l++) {   /* l0.Wq (4 x 4), l0.Wo (4 x 4), l0.W2 (6 x 4) projected to rank 2 */
        const char *nm = lay->block[l].name;
        int m = lay->block[l].m, r = strcmp(nm, "l0.Wo") == 0 || strcmp(nm, "l0.Wq") == 0 || strcmp(nm, "l0.W2") == 0 ? 2 : 0;
        /* the embedding table and positions (declared), and every 1 x n gain or bias (their ops take no subspace) */
        cr_expect_eq(lay->block[l].not_projectable, strcmp(nm, "E") == 0 || strcmp(nm, "pos") == 0 || m == 1,
                     "%s: not_projectable", nm);
        cr_expect_eq(lay->block[l].row_symmetric, m == 1, "%s: row_symmetric", nm);
        rows[l] = r ? r : m;
        if (!r) continue;
        projected++;
        Pm[l] = dalloc((long)m * r);
        double *work = dalloc(sbo_haar_work_size(m, r));
        sbo_haar_sample(&s, m, r, Pm[l], work);
        free(work);
        S.P[l] = Pm[l];
    }
    cr_assert_eq(projected, 3);
    sbo_layout_finish(&S.red, rows);
    long D = p.D, R = sbo_layout_total(&S.red);
    double *full = dalloc(D), *ref = dalloc(R), *red = dalloc(R), *X = dalloc(R), *PX = dalloc(D);
    double err = 0;
    sbo_task_grad_lower(t, p.x, p.Y, p.bl, full);
    sbo_subspace_project(&S, full, ref);
    sbo_task_reduced_grad_lower(t, p.x, p.Y, p.bl, &S, red);
    for (long i = 0; i < R; i++) err = fmax(err, fabs(red[i] - ref[i]) / fmax(max_abs(R, ref), 1e-300));
    double e_g = err;
    for (long i = 0; i < R; i++) X[i] = sbo_stream_gaussian(&s);
    sbo_subspace_lift_add(&S, X, NULL, PX);
    sbo_task_hvp(t, p.x, p.Y, p.bl, PX, full);
    sbo_subspace_project(&S, full, ref);
    sbo_task_reduced_hvp(t, p.x, p.Y, p.bl, &S, X, red);
    err = 0;
    for (long i = 0; i < R; i++) err = fmax(err, fabs(red[i] - ref[i]) / max_abs(R, ref));
    double e_h = err;
    sbo_task_grad_upper_Y(t, p.x, p.Y, p.bu, full);
    sbo_subspace_project(&S, full, ref);
    sbo_task_reduced_grad_upper_Y(t, p.x, p.Y, p.bu, &S, red);
    err = 0;
    for (long i = 0; i < R; i++) err = fmax(err, fabs(red[i] - ref[i]) / max_abs(R, ref));
    cr_log_info("reduced vs P^T full (Wq, Wo, W2 at rank 2), float64: grad_Y g %.2e, H %.2e, grad_Y f %.2e "
                "(tolerance %.0e)", e_g, e_h, err, EXACT_TOL);
    cr_expect(e_g < EXACT_TOL && e_h < EXACT_TOL && err < EXACT_TOL, "reduced oracles differ: %.3g %.3g %.3g", e_g,
              e_h, err);
    for (int l = 0; l < SBO_MAX_BLOCKS; l++) free(Pm[l]);
    free(full); free(ref); free(red); free(X); free(PX);
    point_free(&p);
    sbo_task_destroy(t);
}

Test(mixture, minibatches_are_stratified_and_decode_to_their_split) {
    sbo_task *t = tiny_task((const char *const[]){"task.batch_per_domain=3", NULL}, NULL, NULL);
    sbo_batch *b = sbo_batch_create(t, 0), *u = sbo_batch_create(t, 1);
    sbo_stream s;
    sbo_stream_init(&s, 5, SBO_RNG_LOWER_BATCH, 0, 0);
    sbo_task_sample(t, 0, &s, b);
    sbo_task_sample(t, 1, &s, u);
    cr_assert_eq(b->n_ids, 3 * N_DOM);
    int wrong = 0;
    for (long i = 0; i < b->n_ids; i++) wrong += (b->ids[i] >> 32) != i / 3;
    long k0 = u->ids[0] >> 32;   /* round-robin from a random first domain */
    for (long i = 0; i < u->n_ids; i++) wrong += (u->ids[i] >> 32) != (k0 + i) % N_DOM;
    cr_expect_eq(wrong, 0, "%d sequences from the wrong domain", wrong);
    /* every sequence lies in one chunk of the right split (lower: training, upper: validation) */
    sbo_text_domain dom;
    char dir[400], err[SBO_ERR_LEN] = "";
    snprintf(dir, sizeof dir, "%s/d2", tmp_root);
    sbo_text_source src = any_source;
    src.name = "d2";
    cr_assert_eq(sbo_text_domain_load(&src, dir, 8192, 64, 1, &dom, err, sizeof err), 0, "%s", err);
    int outside = 0;
    for (int lev = 0; lev < 2; lev++) {
        sbo_batch *bb = lev ? u : b;
        for (long i = 0; i < bb->n_ids; i++) {
            if ((bb->ids[i] >> 32) != 2) continue;
            long off = bb->ids[i] & 0xffffffffL, c = off / 64, found = 0;
            for (long j = 0; j < dom.n[lev]; j++) found |= dom.chunks[lev][j] == c;
            outside += !found || off + 5 > (c + 1) * 64;
        }
    }
    cr_expect_eq(outside, 0, "%d sequences outside their split's chunks", outside);
    sbo_text_domain_free(&dom);
    sbo_batch_free(b); sbo_batch_free(u);
    sbo_task_destroy(t);
    /* a held-out target: K = 4 training domains, 4 weights, the target's validation split upstairs */
    t = tiny_task((const char *const[]){"task.target=d3", NULL}, NULL, NULL);
    cr_expect_eq(t->d, N_DOM - 1);
    cr_expect_eq(t->n_metrics, 5 + N_DOM + N_DOM - 1);
    u = sbo_batch_create(t, 1);
    sbo_task_sample(t, 1, &s, u);
    for (long i = 0; i < u->n_ids; i++) cr_expect_eq(u->ids[i] >> 32, 3);
    sbo_batch_free(u);
    sbo_task_destroy(t);
}

Test(mixture, configuration_errors_are_one_line) {
    const char *cases[][2] = {{"task.weights=target_only", "needs task.target = a domain"},
                              {"task.target=nowhere", "neither validation_mixture nor a domain"},
                              {"task.heads=3", "multiple of task.heads"},
                              {"task.chunk_bytes=4", "task.chunk_bytes"}};
    for (int k = 0; k < 4; k++) {
        static char text_dir[400];
        snprintf(text_dir, sizeof text_dir, "task.text_dir=%s", tmp_root);
        const char *sets[] = {text_dir, "task.domains=d0,d1,d2", "task.context=4", "task.width=4", cases[k][0]};
        sbo_config cfg;
        char err[SBO_ERR_LEN] = "";
        cr_assert_eq(sbo_run_resolve_config(&sbo_task_data_mixture, NULL, NULL, sets, 5, &cfg, err, sizeof err), 0);
        cr_expect_null(sbo_task_create(&sbo_task_data_mixture, &cfg, err, sizeof err));
        cr_log_info("%s: %s", cases[k][0], err);
        cr_expect(strstr(err, cases[k][1]) != NULL, "%s: '%s'", cases[k][0], err);
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* short runs                                                                                              */

/* steps of algo on the tiny task; returns the target loss (metric 0) before and after; x_moved: max |x_k - x_0| */
static void short_run(const char *algo, const char *const *extra, long steps, double *before, double *after,
                      double *x_moved) {
    sbo_config cfg;
    sbo_task *t = tiny_task(extra, algo, &cfg);
    const sbo_algo_type *at = sbo_algo_find(algo);
    char err[SBO_ERR_LEN] = "";
    sbo_algo *a = at->create(t, &cfg, 7, err, sizeof err);
    cr_assert(a, "%s", err);
    double m[SBO_MAX_METRICS], *x0 = dalloc(t->d);
    memcpy(x0, a->x, sizeof(double) * (size_t)t->d);
    t->ops->metrics(t, a->x, a->Y, a->Z, m);
    *before = m[0];
    for (long k = 0; k < steps; k++) cr_assert_eq(at->step(a, k), 0);
    t->ops->metrics(t, a->x, a->Y, a->Z, m);
    *after = m[0];
    *x_moved = 0;
    for (int i = 0; i < t->d; i++) *x_moved = fmax(*x_moved, fabs(a->x[i] - x0[i]));
    free(x0);
    at->destroy(a);
    sbo_task_destroy(t);
}

static const char *const run_sets[] = {"algo.alpha=0.5", "algo.beta=0.5", "algo.gamma=0.2", "algo.R=100",
                                       "algo.rank=2", "algo.memory_rule=off", NULL};

Test(mixture, uniform_baseline_leaves_x_unchanged) {
    const char *sets[8] = {"task.weights=uniform"};
    for (int i = 0; run_sets[i]; i++) sets[i + 1] = run_sets[i];
    double before, after, moved;
    short_run("ma_soba", sets, 30, &before, &after, &moved);
    cr_log_info("uniform baseline, MA-SOBA 30 steps: target loss %.4f -> %.4f, max |x - x0| = %.3g (must be 0)",
                before, after, moved);
    cr_expect(moved == 0, "x moved by %.3g under task.weights = uniform", moved);
    cr_expect(after < before, "Y did not train: %.4f -> %.4f", before, after);
}

Test(mixture, ma_soba_and_bros_lower_the_target_loss) {
    const char *algos[2] = {"ma_soba", "bros"};
    for (int a = 0; a < 2; a++) {
        double before, after, moved;
        short_run(algos[a], run_sets, 60, &before, &after, &moved);
        cr_log_info("%s, 60 steps: target loss %.4f -> %.4f (log 256 = %.4f), max |x - x0| %.3g", algos[a], before,
                    after, log(256.0), moved);
        cr_expect(after < before - 0.3, "%s: the target loss fell by less than 0.3: %.4f -> %.4f", algos[a], before,
                  after);
        cr_expect(moved > 0, "%s: x never moved", algos[a]);
    }
}
