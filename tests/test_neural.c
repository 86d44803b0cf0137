/* tests/test_neural.c: the image tasks (tasks/neural.c, tasks/data_cleaning.c, tasks/hyper_rep.c) on a small slice of
 * the Debian Fashion-MNIST (package dataset-fashion-mnist; every test that needs it is skipped when it is absent):
 *   - exact (NULL-batch) oracles in float64 against central differences in double (STYLE.md pattern 7): grad_Y g and
 *     grad_Y f against differences of g and f (sbo_neural_evaluate), H[V] against differences of grad_Y g,
 *     <J[Z], u> against d/ds <grad_Y g(x + s u, Y), Z>, grad_x f (hyper_rep) against differences of f, grad_x f = 0
 *     exactly (data_cleaning); linear and MLP (tanh, gelu, relu with a guard that no finite-difference point crosses
 *     a ReLU kink) lower models, and hyper_rep (tanh, relu);
 *   - minibatch oracles: H[V] on a sampled batch against differences of the batch gradient; the exact oracle equals
 *     the mean of the batch oracles over a partition of the split (this crosses the chunk boundary of 1000);
 *   - native reduced oracles (§3.1: grad_Y g, H, grad_Y f) equal to P^T of the full ones with Haar P (float64 1e-10,
 *     float32 1e-4);
 *   - the row-symmetry declarations (§5.2) entry by entry, with a power check on a wrong index pairing;
 *   - the data: label noise, disjoint and deterministic splits, the clean and uniform baselines;
 *   - the flagging metrics of data_cleaning with hand-set x, and the configuration errors.
 * Run: ctest -R test_neural */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/sbo_haar.h"      /* Haar P for the reduced oracles */
#include "runners/sbo_run.h"    /* sbo_run_resolve_config */
#include "tasks/neural.h"       /* sbo_neural (the task's ctx), sbo_neural_evaluate */
#include "algorithms/projected.h"  /* sbo_projected_resolve: which blocks a projected method projects */
#include "tests/test_alloc.h"    /* dalloc, max_abs */

#define MAX_SETTINGS 32

/* small settings: every exact oracle is one chunk (chunk = the larger minibatch, 64 >= 60 samples) */
static const char *const base_settings[] = {"task.n_train=60", "task.n_val=40",   "task.n_test=50",
                                            "task.batch=16",   "task.upper_batch=64", "task.hidden=6",
                                            "task.precision=float64", NULL};

static void require_data(void) {
    struct stat st;
    if (stat(SBO_FASHION_MNIST_DIR, &st) != 0)
        cr_skip_test("%s not installed (sudo apt-get install dataset-fashion-mnist)", SBO_FASHION_MNIST_DIR);
}

/* Creates task `name` with the base settings, then the NULL-terminated extra settings (later ones win).
 * Returns NULL with the message in err when creation fails. */
static sbo_task *try_task_v(const char *name, char *err, size_t errlen, va_list ap) {
    const char *sets[MAX_SETTINGS];
    int n = 0;
    for (int i = 0; base_settings[i]; i++) sets[n++] = base_settings[i];
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL && n < MAX_SETTINGS) sets[n++] = s;
    const sbo_task_type *tt = sbo_task_find(name);
    cr_assert(tt, "task %s not registered", name);
    sbo_config cfg;
    cr_assert_eq(sbo_run_resolve_config(tt, NULL, NULL, sets, n, &cfg, err, errlen), 0, "%s", err);
    return sbo_task_create(tt, &cfg, err, errlen);
}

/* A hand-made minibatch of level on the n sample ids in ids (not copied), with a fresh version. */
static sbo_batch ids_batch(int level, long n, long *ids) {
    sbo_batch b = {.level = level, .n_ids = n, .ids = ids};
    sbo_batch_touch(&b);
    return b;
}

static sbo_task *try_task(const char *name, char *err, size_t errlen, ...) {
    va_list ap;
    va_start(ap, errlen);
    sbo_task *t = try_task_v(name, err, errlen, ap);
    va_end(ap);
    return t;
}

static sbo_task *make_task(const char *name, ...) {
    require_data();
    char err[SBO_ERR_LEN] = "";
    va_list ap;
    va_start(ap, name);
    sbo_task *t = try_task_v(name, err, sizeof err, ap);
    va_end(ap);
    cr_assert(t, "%s", err);
    cr_assert(t->ops && t->ctx);
    return t;
}

static double rel_diff(long n, const double *a, const double *ref) {
    double num = 0, den = 0;
    for (long i = 0; i < n; i++) { num += (a[i] - ref[i]) * (a[i] - ref[i]); den += ref[i] * ref[i]; }
    return sqrt(num) / (sqrt(den) > 0 ? sqrt(den) : 1);
}

static void gauss(sbo_stream *s, long n, double scale, double *v) {
    for (long i = 0; i < n; i++) v[i] = scale * sbo_stream_gaussian(s);
}

/* --- a point (x, Y) and the ReLU-kink guard ------------------------------------------------------------------- */

typedef struct {
    sbo_task *t;
    sbo_neural *nn;
    long D;
    int d;
    double *x, *Y;
    /* ReLU guard, per level (0 lower / training split, 1 upper / validation split): the value id of the ReLU input
     * in that level's graph (-1: no ReLU), its width, and its signs at (x, Y). Pre-activations are affine in the
     * perturbed parameter along a finite-difference segment, so equal signs at both ends = no kink crossed. */
    int pre[2], pre_cols[2];
    signed char *sign0[2];
    double *buf;
    long crossings;
} point;

static int relu_input(const sbo_nn_graph *g) {
    for (int k = 0; k < g->n_ops; k++)
        if (g->op[k].kind == SBO_NN_RELU) return g->op[k].in[0];
    return -1;
}

/* After an exact evaluation at level (the split is one chunk, so the executor holds the whole split): count the
 * sign changes of the ReLU inputs against the base point. */
static void watch(point *p, int level) {
    if (p->pre[level] < 0) return;
    sbo_nn_exec *e = level == SBO_LEVEL_LOWER ? p->nn->lower : p->nn->upper;
    int n = level == SBO_LEVEL_LOWER ? p->nn->n_train : p->nn->n_val;
    long len = (long)n * p->pre_cols[level];
    sbo_nn_read_value(e, p->pre[level], n, p->buf);
    if (!p->sign0[level]) {
        p->sign0[level] = malloc((size_t)len);
        cr_assert(p->sign0[level]);
        for (long i = 0; i < len; i++) p->sign0[level][i] = (signed char)(p->buf[i] > 0);
        return;
    }
    for (long i = 0; i < len; i++) p->crossings += (p->buf[i] > 0) != p->sign0[level][i];
}

static double obj(point *p, int level, const double *x, const double *Y) {
    double v = sbo_neural_evaluate(p->t, level, x, Y, NULL);
    watch(p, level);
    return v;
}

static void grad_lower(point *p, const double *x, const double *Y, double *out) {
    sbo_task_grad_lower(p->t, x, Y, NULL, out);
    watch(p, SBO_LEVEL_LOWER);
}

/* x from the task's init plus xs N(0,1); Y from the init plus ys N(0,1). */
static void point_init(point *p, sbo_task *t, uint64_t seed, double xs, double ys) {
    memset(p, 0, sizeof *p);
    p->t = t;
    p->nn = t->ctx;
    p->D = sbo_layout_total(&t->lower);
    p->d = t->d;
    p->x = dalloc(p->d);
    p->Y = dalloc(p->D);
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_INIT, 0, 0);
    t->ops->init(t, &s, p->x, p->Y);
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    for (int i = 0; i < p->d; i++) p->x[i] += xs * sbo_stream_gaussian(&s);
    for (long i = 0; i < p->D; i++) p->Y[i] += ys * sbo_stream_gaussian(&s);
    long big = 0;
    for (int level = 0; level < 2; level++) {
        const sbo_nn_graph *g = level == 0 ? &p->nn->g_lower : &p->nn->g_upper;
        p->pre[level] = relu_input(g);
        p->pre_cols[level] = p->pre[level] >= 0 ? g->v[p->pre[level]].cols : 0;
        int n = level == 0 ? p->nn->n_train : p->nn->n_val;
        if ((long)n * p->pre_cols[level] > big) big = (long)n * p->pre_cols[level];
    }
    p->buf = dalloc(big);
    cr_assert(p->nn->n_train <= p->nn->chunk && p->nn->n_val <= p->nn->chunk, "the kink guard needs one chunk");
    obj(p, SBO_LEVEL_LOWER, p->x, p->Y);   /* records the base signs */
    obj(p, SBO_LEVEL_UPPER, p->x, p->Y);
}

static void point_free(point *p) {
    free(p->x); free(p->Y); free(p->buf); free(p->sign0[0]); free(p->sign0[1]);
}

/* --- finite-difference checks ------------------------------------------------------------------------------ */

/* Coordinates to difference in a vector split in blocks: every entry of a block of <= 40 entries, else 20 random
 * ones plus the entry of largest |grad|. Returns the count. */
static int pick_coords(int nblocks, const long *off, const double *grad, sbo_stream *s, long *out) {
    int k = 0;
    for (int l = 0; l < nblocks; l++) {
        long len = off[l + 1] - off[l];
        if (len <= 40) {
            for (long i = 0; i < len; i++) out[k++] = off[l] + i;
            continue;
        }
        long am = off[l];
        for (long i = off[l]; i < off[l + 1]; i++) if (fabs(grad[i]) > fabs(grad[am])) am = i;
        out[k++] = am;
        for (int r = 0; r < 20; r++) {
            long i = (long)(sbo_stream_uniform(s) * len);
            out[k++] = off[l] + (i < len ? i : len - 1);
        }
    }
    return k;
}

/* Gradient of the level's objective in Y (wrt 0) or x (wrt 1) against central differences of the objective:
 * max over the chosen coordinates of |fd - grad| / ||grad||_inf, and (in *dir_err) the directional derivative
 * along v = grad/||grad|| + xi/||xi|| relative to |<grad, v>|. */
static double grad_check(point *p, int level, int wrt, const double *grad, int nblocks, const long *off, double h,
                         uint64_t seed, double *dir_err) {
    double *v = wrt ? p->x : p->Y;
    long n = wrt ? p->d : p->D;
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 1, 0);
    long *coords = malloc(sizeof(long) * (size_t)(nblocks * 41 + 64));
    cr_assert(coords);
    int k = pick_coords(nblocks, off, grad, &s, coords);
    double scale = max_abs(n, grad), err = 0;
    cr_assert(scale > 0, "gradient is identically 0");
    for (int c = 0; c < k; c++) {
        long i = coords[c];
        double keep = v[i];
        v[i] = keep + h;
        double fp = obj(p, level, p->x, p->Y);
        v[i] = keep - h;
        double fm = obj(p, level, p->x, p->Y);
        v[i] = keep;
        err = fmax(err, fabs((fp - fm) / (2 * h) - grad[i]));
    }
    free(coords);
    /* directional */
    double *dir = dalloc(n), *keep = dalloc(n);
    gauss(&s, n, 1.0, dir);
    double nxi = sbo_vec_norm2(n, dir), ng = sbo_vec_norm2(n, grad);
    for (long i = 0; i < n; i++) dir[i] = dir[i] / nxi + grad[i] / ng;
    sbo_vec_copy(n, v, keep);
    sbo_vec_axpy(n, h, dir, v);
    double fp = obj(p, level, p->x, p->Y);
    sbo_vec_copy(n, keep, v);
    sbo_vec_axpy(n, -h, dir, v);
    double fm = obj(p, level, p->x, p->Y);
    sbo_vec_copy(n, keep, v);
    double an = sbo_vec_dot(n, grad, dir);
    *dir_err = fabs((fp - fm) / (2 * h) - an) / fabs(an);
    free(dir); free(keep);
    return err / scale;
}

/* H[V] against (grad_Y g(Y + hV) - grad_Y g(Y - hV)) / 2h (batch: the same minibatch for all three calls).
 * Returns the largest relative error over the output blocks (block norm of the error / block norm of H[V],
 * blocks whose H[V] is below 1e-6 ||H[V]|| compared against 1e-6 ||H[V]||). */
static double hvp_check(point *p, const sbo_batch *batch, const double *V, double h) {
    long D = p->D;
    double *HV = dalloc(D), *gp = dalloc(D), *gm = dalloc(D), *Yp = dalloc(D);
    sbo_task_hvp(p->t, p->x, p->Y, batch, V, HV);
    sbo_vec_copy(D, p->Y, Yp);
    sbo_vec_axpy(D, h, V, Yp);
    if (batch) sbo_task_grad_lower(p->t, p->x, Yp, batch, gp); else grad_lower(p, p->x, Yp, gp);
    sbo_vec_copy(D, p->Y, Yp);
    sbo_vec_axpy(D, -h, V, Yp);
    if (batch) sbo_task_grad_lower(p->t, p->x, Yp, batch, gm); else grad_lower(p, p->x, Yp, gm);
    double tot = sbo_vec_norm2(D, HV), worst = 0;
    cr_assert(tot > 0, "H[V] is identically 0");
    for (int l = 0; l < p->t->lower.L; l++) {
        long o = p->t->lower.offset[l], len = p->t->lower.offset[l + 1] - o;
        double num = 0, den = 0;
        for (long i = o; i < o + len; i++) {
            double fd = (gp[i] - gm[i]) / (2 * h);
            num += (fd - HV[i]) * (fd - HV[i]);
            den += HV[i] * HV[i];
        }
        worst = fmax(worst, sqrt(num) / fmax(sqrt(den), 1e-6 * tot));
    }
    free(HV); free(gp); free(gm); free(Yp);
    return worst;
}

/* <J[Z], e_k> against d/ds <grad_Y g(x + s e_k, Y), Z> over the chosen coordinates of x: max error / ||J[Z]||_inf.
 * all = 1 differences every coordinate (data_cleaning, d = 60); else pick_coords on the given x blocks. */
static double cross_check(point *p, const double *Z, int nblocks, const long *off, double h, uint64_t seed,
                          double *J_out) {
    long D = p->D;
    double *J = dalloc(p->d), *gp = dalloc(D), *gm = dalloc(D);
    sbo_task_cross(p->t, p->x, p->Y, NULL, Z, J);
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 2, 0);
    long *coords = malloc(sizeof(long) * (size_t)(p->d + nblocks * 41 + 64));
    cr_assert(coords);
    int k;
    if (nblocks == 0) {
        k = p->d;
        for (int i = 0; i < p->d; i++) coords[i] = i;
    } else {
        k = pick_coords(nblocks, off, J, &s, coords);
    }
    double scale = max_abs(p->d, J), err = 0;
    cr_assert(scale > 0, "J[Z] is identically 0");
    for (int c = 0; c < k; c++) {
        long i = coords[c];
        double keep = p->x[i];
        p->x[i] = keep + h;
        grad_lower(p, p->x, p->Y, gp);
        p->x[i] = keep - h;
        grad_lower(p, p->x, p->Y, gm);
        p->x[i] = keep;
        double fd = (sbo_vec_dot(D, gp, Z) - sbo_vec_dot(D, gm, Z)) / (2 * h);
        err = fmax(err, fabs(fd - J[i]));
    }
    if (J_out) sbo_vec_copy(p->d, J, J_out);
    free(coords); free(J); free(gp); free(gm);
    return err / scale;
}

/* The derivative suite at one point. x_blocks/x_off describe x for the grad_x f and J checks (0 blocks: difference
 * every coordinate of x). upper_x_zero: grad_x f must be exactly 0 (data_cleaning). */
/* hg: the step of the H[V] and J[Z] differences (1e-4; smaller where third derivatives are large: the error is
 * O(hg^2), e.g. a layernorm of width 4) */
static void derivative_suite(const char *label, sbo_task *t, double xs, double ys, int x_blocks, const long *x_off,
                             int upper_x_zero, double hg) {
    point p;
    point_init(&p, t, 11, xs, ys);
    long D = p.D;
    const sbo_layout *lay = &t->lower;
    double *g = dalloc(D), *fy = dalloc(D), *fx = dalloc(p.d), *V = dalloc(D), *Z = dalloc(D);
    sbo_stream s;
    sbo_stream_init(&s, 12, SBO_RNG_TEST, 0, 0);
    const double tol = 1e-6, hv = 1e-5;
    double dir_err;

    /* grad_Y g */
    grad_lower(&p, p.x, p.Y, g);
    double e = grad_check(&p, SBO_LEVEL_LOWER, 0, g, lay->L, lay->offset, hv, 21, &dir_err);
    cr_log_info("%s: grad_Y g vs differences of g: coordinate error %.2e, directional %.2e (tolerance %.0e)", label, e,
                dir_err, tol);
    cr_expect(e < tol && dir_err < tol, "%s: grad_Y g error %.3g / directional %.3g", label, e, dir_err);

    /* grad_Y f */
    sbo_task_grad_upper_Y(t, p.x, p.Y, NULL, fy);
    e = grad_check(&p, SBO_LEVEL_UPPER, 0, fy, lay->L, lay->offset, hv, 22, &dir_err);
    cr_log_info("%s: grad_Y f vs differences of f: coordinate error %.2e, directional %.2e (tolerance %.0e)", label, e,
                dir_err, tol);
    cr_expect(e < tol && dir_err < tol, "%s: grad_Y f error %.3g / directional %.3g", label, e, dir_err);

    /* grad_x f */
    for (int i = 0; i < p.d; i++) fx[i] = NAN;
    sbo_task_grad_upper_x(t, p.x, p.Y, NULL, fx);
    if (upper_x_zero) {
        int nonzero = 0;
        for (int i = 0; i < p.d; i++) nonzero += !(fx[i] == 0.0);
        cr_log_info("%s: grad_x f: %d of %d entries not exactly 0 (expected 0: f has no direct x dependence)", label,
                    nonzero, p.d);
        cr_expect_eq(nonzero, 0, "%s: grad_x f must be exactly 0", label);
    } else {
        e = grad_check(&p, SBO_LEVEL_UPPER, 1, fx, x_blocks, x_off, hv, 23, &dir_err);
        cr_log_info("%s: grad_x f vs differences of f: coordinate error %.2e, directional %.2e (tolerance %.0e)", label,
                    e, dir_err, tol);
        cr_expect(e < tol && dir_err < tol, "%s: grad_x f error %.3g / directional %.3g", label, e, dir_err);
    }

    /* H[V]: a random V over all blocks, then V on one block at a time (cross blocks of the Hessian) */
    gauss(&s, D, 1.0 / sqrt((double)D), V);
    e = hvp_check(&p, NULL, V, hg);
    for (int l = 0; l < lay->L; l++) {
        sbo_vec_zero(D, V);
        long len = lay->offset[l + 1] - lay->offset[l];
        gauss(&s, len, 1.0 / sqrt((double)len), V + lay->offset[l]);
        e = fmax(e, hvp_check(&p, NULL, V, hg));
    }
    cr_log_info("%s: H[V] vs differences of grad_Y g: worst block relative error %.2e (tolerance %.0e)", label, e, tol);
    cr_expect(e < tol, "%s: H[V] error %.3g", label, e);

    /* J[Z] */
    gauss(&s, D, 1.0, Z);
    e = cross_check(&p, Z, x_blocks, x_off, hg, 24, NULL);
    cr_log_info("%s: <J[Z], e_k> vs d/ds <grad_Y g(x + s e_k, Y), Z>: error %.2e of ||J[Z]||_inf (tolerance %.0e)",
                label, e, tol);
    cr_expect(e < tol, "%s: J[Z] error %.3g", label, e);

    if (p.pre[0] >= 0)
        cr_log_info("%s: ReLU guard: %ld sign changes of the ReLU inputs at the difference points (must be 0)", label,
                    p.crossings);
    cr_expect_eq(p.crossings, 0, "%s: a finite-difference point crossed a ReLU kink (%ld sign changes): the "
                 "comparison is invalid there; move the point (seed) or shrink h", label, p.crossings);
    free(g); free(fy); free(fx); free(V); free(Z);
    point_free(&p);
}

/* --- 1. exact oracles against central differences ----------------------------------------------------------- */

Test(neural_derivatives, data_cleaning_linear) {
    sbo_task *t = make_task("data_cleaning", "task.model=linear", NULL);
    derivative_suite("data_cleaning linear", t, 1.0, 0.05, 0, NULL, 1, 1e-4);
    sbo_task_destroy(t);
}

Test(neural_derivatives, data_cleaning_mlp_tanh) {
    sbo_task *t = make_task("data_cleaning", "task.model=mlp", "task.activation=tanh", NULL);
    derivative_suite("data_cleaning mlp tanh", t, 1.0, 0.05, 0, NULL, 1, 1e-4);
    sbo_task_destroy(t);
}

Test(neural_derivatives, data_cleaning_mlp_gelu) {
    sbo_task *t = make_task("data_cleaning", "task.model=mlp", "task.activation=gelu", NULL);
    derivative_suite("data_cleaning mlp gelu", t, 1.0, 0.05, 0, NULL, 1, 1e-4);
    sbo_task_destroy(t);
}

Test(neural_derivatives, data_cleaning_mlp_relu) {
    sbo_task *t = make_task("data_cleaning", "task.model=mlp", "task.activation=relu", NULL);
    derivative_suite("data_cleaning mlp relu", t, 1.0, 0.05, 0, NULL, 1, 1e-4);
    sbo_task_destroy(t);
}

static void hyper_rep_suite(const char *act) {
    char setting[64], label[64];
    snprintf(setting, sizeof setting, "task.activation=%s", act);
    snprintf(label, sizeof label, "hyper_rep %s", act);
    sbo_task *t = make_task("hyper_rep", setting, NULL);
    sbo_neural *nn = t->ctx;
    long H = 6, P = nn->pixels;
    cr_assert_eq(t->d, P * H + H);
    long x_off[3] = {0, P * H, P * H + H};   /* W_feat, b_feat */
    derivative_suite(label, t, 0.02, 0.5, 2, x_off, 0, 1e-4);
    sbo_task_destroy(t);
}

Test(neural_derivatives, hyper_rep_tanh) { hyper_rep_suite("tanh"); }
Test(neural_derivatives, hyper_rep_gelu) { hyper_rep_suite("gelu"); }
Test(neural_derivatives, hyper_rep_relu) { hyper_rep_suite("relu"); }

/* data_cleaning, J[Z] in closed form for the linear model: J[Z]_i = (1/n) sigma'(x_i) <grad_Y CE_i, Z>, and
 * grad_Y CE_i is the gradient of a batch made of sample i alone (minus the L2 term lambda Y). */
Test(neural_derivatives, data_cleaning_cross_is_per_sample) {
    sbo_task *t = make_task("data_cleaning", "task.model=linear", "task.batch=1", NULL);
    point p;
    point_init(&p, t, 5, 1.0, 0.05);
    sbo_neural *nn = t->ctx;
    long D = p.D;
    double *Z = dalloc(D), *J = dalloc(p.d), *g = dalloc(D), *gc = dalloc(D);
    sbo_stream s;
    sbo_stream_init(&s, 6, SBO_RNG_TEST, 0, 0);
    gauss(&s, D, 1.0, Z);
    sbo_task_cross(t, p.x, p.Y, NULL, Z, J);
    /* g at x = +inf weights (sigma = 1) is not reachable; instead remove lambda Y from the batch gradient and divide
     * out sigma(x_i): batch = {i}, grad = sigma(x_i) grad CE_i + lambda Y (the L2 term covers every block) */
    double lambda = 1e-3, err = 0;
    for (int i = 0; i < nn->n_train; i++) {
        long id = i;
        sbo_batch one = ids_batch(SBO_LEVEL_LOWER, 1, &id);
        sbo_task_grad_lower(t, p.x, p.Y, &one, g);
        sbo_vec_copy(D, g, gc);
        for (long k = 0; k < D; k++) gc[k] -= lambda * p.Y[k];   /* L2 on W and b */
        double sg = 1 / (1 + exp(-p.x[i]));
        double ref = (1.0 / nn->n_train) * (1 - sg) * sbo_vec_dot(D, gc, Z);   /* sigma' = sigma (1 - sigma) */
        err = fmax(err, fabs(J[i] - ref));
    }
    err /= max_abs(p.d, J);
    cr_log_info("data_cleaning: J[Z]_i vs (1/n) sigma'(x_i) <grad CE_i, Z>: error %.2e of ||J||_inf (tolerance 1e-12)",
                err);
    cr_expect(err < 1e-12, "J[Z] per-sample form error %.3g", err);
    free(Z); free(J); free(g); free(gc);
    point_free(&p);
    sbo_task_destroy(t);
}

/* --- 2. minibatch oracles ------------------------------------------------------------------------------------ */

Test(neural_minibatch, hvp_on_a_batch_matches_differences_of_the_batch_gradient) {
    const char *models[2] = {"task.model=linear", "task.model=mlp"};
    for (int mi = 0; mi < 2; mi++) {
        sbo_task *t = make_task("data_cleaning", models[mi], "task.activation=tanh", NULL);
        point p;
        point_init(&p, t, 31, 1.0, 0.05);
        sbo_batch *batch = sbo_batch_create(t, SBO_LEVEL_LOWER), *batch2 = sbo_batch_create(t, SBO_LEVEL_LOWER);
        sbo_stream s;
        sbo_stream_init(&s, 7, SBO_RNG_LOWER_BATCH, 0, 3);
        sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch);
        sbo_stream_init(&s, 7, SBO_RNG_LOWER_BATCH, 0, 3);
        sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch2);
        cr_expect_eq(memcmp(batch->ids, batch2->ids, sizeof(long) * (size_t)batch->n_ids), 0,
                     "the same stream must draw the same batch");
        cr_expect(batch->version != batch2->version, "every draw gets its own version");
        for (long i = 0; i < batch->n_ids; i++)
            cr_assert(batch->ids[i] >= 0 && batch->ids[i] < 60, "bad position %ld", batch->ids[i]);
        double *V = dalloc(p.D), *HV = dalloc(p.D), *HVx = dalloc(p.D);
        sbo_stream_init(&s, 8, SBO_RNG_TEST, 0, 0);
        gauss(&s, p.D, 1.0 / sqrt((double)p.D), V);
        double e = hvp_check(&p, batch, V, 1e-4);
        cr_log_info("%s: batch H[V] vs differences of the batch gradient: %.2e (tolerance 1e-6)", models[mi], e);
        cr_expect(e < 1e-6, "%s: batch H[V] error %.3g", models[mi], e);
        /* power: the batch H[V] is not the exact one */
        sbo_task_hvp(t, p.x, p.Y, batch, V, HV);
        sbo_task_hvp(t, p.x, p.Y, NULL, V, HVx);
        double gap = rel_diff(p.D, HV, HVx);
        cr_log_info("%s: batch vs exact H[V] differ by %.2e (must be > 1e-3)", models[mi], gap);
        cr_expect(gap > 1e-3, "batch and exact H[V] coincide (%.3g): the batch is ignored", gap);
        sbo_batch_free(batch); sbo_batch_free(batch2); free(V); free(HV); free(HVx);
        point_free(&p);
        sbo_task_destroy(t);
    }
}

/* The exact oracle is the mean of the batch oracles over a partition of the split into consecutive batches.
 * n_train = 1200 > chunk (1000): the exact oracle runs in two chunks of different sizes, and J[Z] indexes x by
 * training position in both. */
Test(neural_minibatch, exact_oracle_is_the_mean_over_a_partition) {
    sbo_task *t = make_task("data_cleaning", "task.n_train=1200", "task.batch=16", NULL);
    sbo_neural *nn = t->ctx;
    cr_assert(nn->n_train > nn->chunk, "the test must cross a chunk boundary");
    long D = sbo_layout_total(&t->lower);
    int d = t->d, nb = 1200 / 16;
    double *x = dalloc(d), *Y = dalloc(D), *Z = dalloc(D), *g = dalloc(D), *gs = dalloc(D), *J = dalloc(d),
           *Js = dalloc(d), *HV = dalloc(D), *HVs = dalloc(D), *tmp = dalloc(d > D ? d : D);
    long ids[16];
    sbo_stream s;
    sbo_stream_init(&s, 9, SBO_RNG_TEST, 0, 0);
    gauss(&s, d, 1.0, x);
    gauss(&s, D, 0.05, Y);
    gauss(&s, D, 1.0, Z);
    sbo_task_grad_lower(t, x, Y, NULL, g);
    sbo_task_cross(t, x, Y, NULL, Z, J);
    sbo_task_hvp(t, x, Y, NULL, Z, HV);
    for (int k = 0; k < nb; k++) {
        for (int i = 0; i < 16; i++) ids[i] = 16 * k + i;
        sbo_batch batch = ids_batch(SBO_LEVEL_LOWER, 16, ids);
        sbo_task_grad_lower(t, x, Y, &batch, tmp);
        sbo_vec_axpy(D, 1.0 / nb, tmp, gs);
        sbo_task_cross(t, x, Y, &batch, Z, tmp);
        sbo_vec_axpy(d, 1.0 / nb, tmp, Js);
        sbo_task_hvp(t, x, Y, &batch, Z, tmp);
        sbo_vec_axpy(D, 1.0 / nb, tmp, HVs);
    }
    double eg = rel_diff(D, g, gs), eJ = rel_diff(d, J, Js), eH = rel_diff(D, HV, HVs);
    cr_log_info("exact vs mean over 75 batches (n_train 1200, chunk 1000): grad %.2e, J[Z] %.2e, H[V] %.2e "
                "(tolerance 1e-12)", eg, eJ, eH);
    cr_expect(eg < 1e-12 && eJ < 1e-12 && eH < 1e-12, "exact oracle is not the mean: %.3g %.3g %.3g", eg, eJ, eH);
    /* J[Z] of the second chunk must be nonzero (x indexed by training position, not chunk position) */
    cr_expect(max_abs(200, J + 1000) > 0, "J[Z] is 0 on the second chunk");
    free(x); free(Y); free(Z); free(g); free(gs); free(J); free(Js); free(HV); free(HVs); free(tmp);
    sbo_task_destroy(t);
}

/* --- 3. native reduced oracles --------------------------------------------------------------------------------- */

/* ranks[l] = r for a projected block (r < m), 0 for a full one. Returns the errors of the reduced grad_Y g, H[.] and
 * grad_Y f (relative to P^T of the full oracles; block by block, the worst). batch / ubatch: lower and upper
 * minibatches (NULL: exact). */
/* A subspace for the task's lower blocks: Haar frames of ranks[l] on block l (0: a full block), drawn from stream
 * (seed, SUBSPACE); the frames go to Pm (to free). */
static void draw_subspace(const sbo_task *t, const int *ranks, uint64_t seed, sbo_subspace *S, double **Pm) {
    const sbo_layout *lay = &t->lower;
    memset(S, 0, sizeof *S);
    S->full = lay;
    S->red = *lay;
    int rows[SBO_MAX_BLOCKS];
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_SUBSPACE, 0, 0);
    for (int l = 0; l < lay->L; l++) {
        int m = lay->block[l].m;
        Pm[l] = NULL;
        rows[l] = ranks[l] ? ranks[l] : m;
        if (!ranks[l]) continue;
        cr_assert(ranks[l] < m);
        Pm[l] = dalloc((long)m * ranks[l]);
        double *work = dalloc(sbo_haar_work_size(m, ranks[l]));
        sbo_haar_sample(&s, m, ranks[l], Pm[l], work);
        free(work);
        S->P[l] = Pm[l];
    }
    sbo_layout_finish(&S->red, rows);
}

static void reduced_check(sbo_task *t, const int *ranks, const sbo_batch *batch, const sbo_batch *ubatch, uint64_t seed,
                          double *eg, double *eh, double *ef) {
    point p;
    point_init(&p, t, seed, strcmp(t->type->name, "data_cleaning") ? 0.02 : 1.0, 0.05);
    const sbo_layout *lay = &t->lower;
    long D = p.D;
    sbo_subspace S;
    double *Pm[SBO_MAX_BLOCKS];
    draw_subspace(t, ranks, seed, &S, Pm);
    sbo_stream s;
    long R = sbo_layout_total(&S.red);
    double *full = dalloc(D), *ref = dalloc(R), *red = dalloc(R), *X = dalloc(R), *PX = dalloc(D);
    /* grad */
    sbo_task_grad_lower(t, p.x, p.Y, batch, full);
    sbo_subspace_project(&S, full, ref);
    sbo_task_reduced_grad_lower(t, p.x, p.Y, batch, &S, red);
    *eg = 0;
    for (int l = 0; l < lay->L; l++) {
        long o = S.red.offset[l], n = S.red.offset[l + 1] - o;
        *eg = fmax(*eg, rel_diff(n, red + o, ref + o));
    }
    /* HVP */
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 3, 0);
    gauss(&s, R, 1.0, X);
    sbo_subspace_lift_add(&S, X, NULL, PX);
    sbo_task_hvp(t, p.x, p.Y, batch, PX, full);
    sbo_subspace_project(&S, full, ref);
    sbo_task_reduced_hvp(t, p.x, p.Y, batch, &S, X, red);
    *eh = 0;
    for (int l = 0; l < lay->L; l++) {
        long o = S.red.offset[l], n = S.red.offset[l + 1] - o;
        *eh = fmax(*eh, rel_diff(n, red + o, ref + o));
    }
    /* grad_Y f */
    sbo_task_grad_upper_Y(t, p.x, p.Y, ubatch, full);
    sbo_subspace_project(&S, full, ref);
    sbo_task_reduced_grad_upper_Y(t, p.x, p.Y, ubatch, &S, red);
    *ef = 0;
    for (int l = 0; l < lay->L; l++) {
        long o = S.red.offset[l], n = S.red.offset[l + 1] - o;
        *ef = fmax(*ef, rel_diff(n, red + o, ref + o));
    }
    for (int l = 0; l < lay->L; l++) free(Pm[l]);
    free(full); free(ref); free(red); free(X); free(PX);
    point_free(&p);
}

static void reduced_suite(const char *precision, double tol) {
    char prec[64];
    snprintf(prec, sizeof prec, "task.precision=%s", precision);
    struct {
        const char *task, *label;
        const char *set[3];
        int ranks[4];
    } cases[] = {
        {"data_cleaning", "data_cleaning linear", {"task.model=linear", NULL, NULL}, {7, 0}},
        {"data_cleaning", "data_cleaning mlp", {"task.model=mlp", "task.activation=tanh", NULL}, {5, 0, 3, 0}},
        {"hyper_rep", "hyper_rep", {"task.activation=tanh", NULL, NULL}, {3, 0}},
    };
    for (int c = 0; c < 3; c++) {
        sbo_task *t = make_task(cases[c].task, prec, cases[c].set[0], cases[c].set[1], NULL);   /* NULL ends early */
        sbo_batch *batch = sbo_batch_create(t, SBO_LEVEL_LOWER), *ubatch = sbo_batch_create(t, SBO_LEVEL_UPPER);
        sbo_stream s;
        sbo_stream_init(&s, 41, SBO_RNG_LOWER_BATCH, 0, 0);
        sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch);
        sbo_stream_init(&s, 41, SBO_RNG_UPPER_BATCH, 0, 0);
        sbo_task_sample(t, SBO_LEVEL_UPPER, &s, ubatch);
        for (int withbatch = 0; withbatch < 2; withbatch++) {
            double eg, eh, ef;
            reduced_check(t, cases[c].ranks, withbatch ? batch : NULL, withbatch ? ubatch : NULL, 43 + c, &eg, &eh,
                          &ef);
            cr_log_info("%s %s (%s oracles): reduced grad_Y g vs P^T grad %.2e, reduced HVP vs P^T H[P X] %.2e, "
                        "reduced grad_Y f vs P^T grad %.2e (tolerance %.0e)", cases[c].label, precision,
                        withbatch ? "batch" : "exact", eg, eh, ef, tol);
            cr_expect(eg < tol && eh < tol && ef < tol, "%s %s: reduced grad g %.3g, HVP %.3g, grad f %.3g",
                      cases[c].label, precision, eg, eh, ef);
        }
        sbo_batch_free(batch); sbo_batch_free(ubatch);
        sbo_task_destroy(t);
    }
}

Test(neural_reduced, native_reduced_oracles_equal_projected_full_float64) { reduced_suite("float64", 1e-10); }
Test(neural_reduced, native_reduced_oracles_equal_projected_full_float32) { reduced_suite("float32", 1e-4); }

/* --- fused oracles: one linearization + tangent sweeps equal the separate oracles bit for bit ---------------- */

/* The task's separate oracles (each its own engine pass) against the fused ones, in full space and in a subspace
 * (naive/BROS's calls: reduced HVPs, the full cross term, G after the sweeps), in float32 (the default): the same
 * arithmetic, so equal bits; then the engine's pass counts. */
static void fused_check(sbo_task *t, const int *ranks, const char *label) {
    point p;
    point_init(&p, t, 71, strcmp(t->type->name, "data_cleaning") ? 0.02 : 1.0, 0.05);
    const sbo_layout *lay = &t->lower;
    long D = p.D;
    int d = p.d;
    sbo_subspace S;
    double *Pm[SBO_MAX_BLOCKS];
    draw_subspace(t, ranks, 72, &S, Pm);
    sbo_stream s;
    long R = sbo_layout_total(&S.red);
    sbo_batch *batch = sbo_batch_create(t, SBO_LEVEL_LOWER), *ubatch = sbo_batch_create(t, SBO_LEVEL_UPPER);
    sbo_stream_init(&s, 73, SBO_RNG_LOWER_BATCH, 0, 0);
    sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch);
    sbo_stream_init(&s, 73, SBO_RNG_UPPER_BATCH, 0, 0);
    sbo_task_sample(t, SBO_LEVEL_UPPER, &s, ubatch);
    double *Z = dalloc(D), *X1 = dalloc(R), *X2 = dalloc(R);
    sbo_stream_init(&s, 74, SBO_RNG_TEST, 0, 0);
    gauss(&s, D, 0.3, Z);
    gauss(&s, R, 1.0, X1);
    gauss(&s, R, 1.0, X2);
    /* separate: full space */
    double *g = dalloc(D), *hz = dalloc(D), *jz = dalloc(d), *gf = dalloc(D), *gx = dalloc(d);
    sbo_task_grad_lower(t, p.x, p.Y, batch, g);
    sbo_task_hvp(t, p.x, p.Y, batch, Z, hz);
    sbo_task_cross(t, p.x, p.Y, batch, Z, jz);
    sbo_task_grad_upper_Y(t, p.x, p.Y, ubatch, gf);
    sbo_task_grad_upper_x(t, p.x, p.Y, ubatch, gx);
    /* separate: in the subspace */
    double *rg = dalloc(R), *rh1 = dalloc(R), *rh2 = dalloc(R), *rf = dalloc(R);
    sbo_task_reduced_grad_lower(t, p.x, p.Y, batch, &S, rg);
    sbo_task_reduced_hvp(t, p.x, p.Y, batch, &S, X1, rh1);
    sbo_task_reduced_hvp(t, p.x, p.Y, batch, &S, X2, rh2);
    sbo_task_reduced_grad_upper_Y(t, p.x, p.Y, ubatch, &S, rf);
    /* fused */
    double *fg = dalloc(D), *fhz = dalloc(D), *fjz = dalloc(d), *fgf = dalloc(D), *fgx = dalloc(d);
    double *frg = dalloc(R), *frh1 = dalloc(R), *frh2 = dalloc(R), *frf = dalloc(R), *fjz2 = dalloc(d), *fgx2 = dalloc(d);
    sbo_neural *nn = t->ctx;
    long lin0, sw0, ulin0;
    sbo_nn_exec_passes(nn->lower, &lin0, &sw0);
    sbo_nn_exec_passes(nn->upper, &ulin0, NULL);
    sbo_task_lower_at(t, p.x, p.Y, batch, NULL);
    sbo_task_lower_grad(t, fg);
    sbo_tangent tz = {.V = Z, .hvp = fhz, .cross = fjz};
    sbo_task_lower_tangent(t, p.x, p.Y, &tz);
    sbo_task_upper(t, p.x, p.Y, ubatch, NULL, fgf, fgx);
    sbo_task_upper(t, p.x, p.Y, ubatch, &S, frf, fgx2);
    sbo_task_lower_at(t, p.x, p.Y, batch, &S);
    sbo_tangent t1 = {.V = X1, .hvp = frh1}, t2 = {.V = X2, .hvp = frh2}, tc = {.V = Z, .V_full = 1, .cross = fjz2};
    sbo_task_lower_tangent(t, p.x, p.Y, &t1);
    sbo_task_lower_tangent(t, p.x, p.Y, &t2);
    sbo_task_lower_grad(t, frg);   /* G after the sweeps, as the projected loop reads it */
    sbo_task_lower_tangent(t, p.x, p.Y, &tc);
    long lin1, sw1, ulin1;
    sbo_nn_exec_passes(nn->lower, &lin1, &sw1);
    sbo_nn_exec_passes(nn->upper, &ulin1, NULL);
    /* cross_term = projected: J[P X] from a reduced direction (through P^T a) against the full oracle at P X */
    double *PX = dalloc(D), *jref = dalloc(d), *jred = dalloc(d);
    sbo_subspace_lift_add(&S, X1, NULL, PX);
    sbo_tangent tr = {.V = X1, .cross = jred};
    sbo_task_lower_tangent(t, p.x, p.Y, &tr);
    sbo_task_cross(t, p.x, p.Y, batch, PX, jref);
    double ej = rel_diff(d, jred, jref);
    cr_log_info("%s: J[P X] from the reduced direction vs the full oracle at P X: relative %.2e (float32, tolerance "
                "1e-4)", label, ej);
    cr_expect(ej < 1e-4 && max_abs(d, jref) > 0, "%s: reduced cross term off by %.3g", label, ej);
    free(PX), free(jref), free(jred);
    struct { const char *what; long n; const double *a, *b; } cmp[] = {
        {"grad_Y g", D, fg, g}, {"H[Z]", D, fhz, hz}, {"J[Z]", d, fjz, jz}, {"grad_Y f", D, fgf, gf},
        {"grad_x f", d, fgx, gx}, {"P^T grad_Y g", R, frg, rg}, {"P^T H[P X1]", R, frh1, rh1},
        {"P^T H[P X2]", R, frh2, rh2}, {"P^T grad_Y f", R, frf, rf}, {"J[Z] (reduced linearization)", d, fjz2, jz},
        {"grad_x f (with P^T grad_Y f)", d, fgx2, gx}};
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
        cr_expect(memcmp(cmp[i].a, cmp[i].b, sizeof(double) * (size_t)cmp[i].n) == 0,
                  "%s: fused %s differs from the separate oracle (rel %.3g)", label, cmp[i].what,
                  rel_diff(cmp[i].n, cmp[i].a, cmp[i].b));
        cr_expect(max_abs(cmp[i].n, cmp[i].b) > 0 || strstr(cmp[i].what, "grad_x f"), "%s: %s is 0: vacuous", label,
                  cmp[i].what);
    }
    cr_log_info("%s: 11 fused outputs equal the separate oracles bit for bit; lower executor: %ld linearizations and "
                "%ld tangent sweeps for 2 fused calls with 4 sweeps; upper: %ld passes for 2 fused calls", label,
                lin1 - lin0, sw1 - sw0, ulin1 - ulin0);
    cr_expect(lin1 - lin0 == 2 && sw1 - sw0 == 4 && ulin1 - ulin0 == 2, "%s: passes %ld, %ld, %ld (2, 4, 2 expected)",
              label, lin1 - lin0, sw1 - sw0, ulin1 - ulin0);
    sbo_batch_free(batch);
    sbo_batch_free(ubatch);
    double *bufs[] = {Z, X1, X2, g, hz, jz, gf, gx, rg, rh1, rh2, rf, fg, fhz, fjz, fgf, fgx, frg, frh1,
                      frh2, frf, fjz2, fgx2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    for (int l = 0; l < lay->L; l++) free(Pm[l]);
    point_free(&p);
}

Test(neural_fused, fused_oracles_equal_separate_ones) {
    struct {
        const char *task, *label, *set[2];
        int ranks[4];
    } cases[] = {
        {"data_cleaning", "data_cleaning linear", {"task.model=linear", NULL}, {7, 0}},
        {"data_cleaning", "data_cleaning mlp", {"task.model=mlp", "task.activation=tanh"}, {5, 0, 3, 0}},
        {"hyper_rep", "hyper_rep", {"task.activation=gelu", NULL}, {3, 0}},
    };
    for (int c = 0; c < 3; c++) {
        sbo_task *t = make_task(cases[c].task, "task.precision=float32", cases[c].set[0], cases[c].set[1], NULL);
        fused_check(t, cases[c].ranks, cases[c].label);
        sbo_task_destroy(t);
    }
}

/* Every buffer is allocated before step 0: the arena peak over several steps equals what was live after create
 * (the memory table the runner prints before the first step), for a full-space and a projected method. */
Test(neural_fused, arena_peak_after_steps_equals_the_table_before_step_0) {
    const char *algos[3] = {"ma_soba", "bros", "naive_projected"};
    for (int a = 0; a < 3; a++) {
        sbo_task *t = make_task("data_cleaning", "task.model=mlp", NULL);
        const sbo_algo_type *at = sbo_algo_find(algos[a]);
        cr_assert(at);
        const char *sets[] = {"task.model=mlp", "algo.memory_rule=off", "algo.ranks=5,1,3,1"};
        sbo_config cfg;
        char err[SBO_ERR_LEN] = "";
        cr_assert_eq(sbo_run_resolve_config(t->type, at, NULL, sets, a ? 3 : 1, &cfg, err, sizeof err), 0, "%s", err);
        sbo_algo *alg = at->create(t, &cfg, 5, err, sizeof err);
        cr_assert(alg, "%s", err);
        sbo_arena_reset_peak();
        size_t live0 = sbo_arena_live_bytes();
        for (long k = 0; k < 4; k++) cr_assert_eq(at->step(alg, k), 0);
        size_t peak = sbo_arena_peak_bytes(), live1 = sbo_arena_live_bytes();
        cr_log_info("%s: arenas live before step 0 %zu bytes; after 4 steps live %zu, peak %zu", algos[a], live0, live1,
                    peak);
        cr_expect_eq(peak, live0, "%s: the steps allocated %zd bytes beyond the table before step 0", algos[a],
                     (ssize_t)(peak - live0));
        at->destroy(alg);
        sbo_task_destroy(t);
    }
}

/* The activation saving (§9; DEVIATIONS D12): BROS with the MLP's second layer projected and cross_term = projected
 * keeps the hidden activation as a P only. The run is bit-identical to one where the saving is disabled (the same
 * task first reserved for full space), and each executor's activation arena is smaller by the hidden layer's
 * b x hidden values. */
static sbo_algo *saving_run(int disable, long steps, size_t *acts_bytes, sbo_task **tout) {
    sbo_task *t = make_task("data_cleaning", "task.model=mlp", "task.precision=float32", NULL);
    char err[SBO_ERR_LEN] = "";
    if (disable) cr_assert_eq(sbo_task_reserve(t, NULL, 1, err, sizeof err), 0, "%s", err);
    const sbo_algo_type *at = sbo_algo_find("bros");
    const char *sets[] = {"task.model=mlp", "task.precision=float32", "algo.memory_rule=off", "algo.ranks=5,1,3,1",
                          "algo.cross_term=projected"};
    sbo_config cfg;
    cr_assert_eq(sbo_run_resolve_config(t->type, at, NULL, sets, 5, &cfg, err, sizeof err), 0, "%s", err);
    sbo_algo *a = at->create(t, &cfg, 9, err, sizeof err);
    cr_assert(a, "%s", err);
    for (long k = 0; k < steps; k++) cr_assert_eq(at->step(a, k), 0);
    *acts_bytes = 0;
    for (const sbo_arena *ar = sbo_arena_first_live(); ar; ar = ar->next_live)
        if (strstr(ar->name, ".activations")) *acts_bytes += sbo_arena_bytes(ar);
    *tout = t;
    return a;
}

Test(neural_fused, activation_saving_is_exact_and_smaller) {
    size_t with, without;
    sbo_task *t1, *t2;
    sbo_algo *a1 = saving_run(0, 6, &with, &t1);
    long D = sbo_layout_total(&t1->lower);
    int d = t1->d;
    const sbo_neural *nn = t1->ctx;
    size_t hidden = 6, B = (size_t)nn->chunk;   /* the executors' max batch */
    double *state = dalloc(2 * D + d);
    memcpy(state, a1->Y, sizeof(double) * (size_t)D);
    memcpy(state + D, a1->Z, sizeof(double) * (size_t)D);
    memcpy(state + 2 * D, a1->x, sizeof(double) * (size_t)d);
    sbo_algo_find("bros")->destroy(a1);
    sbo_task_destroy(t1);
    sbo_algo *a2 = saving_run(1, 6, &without, &t2);
    cr_expect(memcmp(state, a2->Y, sizeof(double) * (size_t)D) == 0 &&
              memcmp(state + D, a2->Z, sizeof(double) * (size_t)D) == 0 &&
              memcmp(state + 2 * D, a2->x, sizeof(double) * (size_t)d) == 0, "the activation saving changed the trajectory");
    size_t expect = 2 * ((hidden * B + 15) / 16 * 16) * sizeof(float);   /* one b x hidden value per executor */
    cr_log_info("activation arenas (lower + upper executors): %zu bytes with the saving, %zu without: %zu saved "
                "(2 x max batch %zu x hidden %zu floats expected)", with, without, without - with, B, hidden);
    cr_expect_eq(without - with, expect, "saved %zu bytes, expected %zu", without - with, expect);
    sbo_algo_find("bros")->destroy(a2);
    sbo_task_destroy(t2);
    free(state);
}

/* A full-mode H[V] on an executor that keeps the hidden activation as a P only must abort, not compute garbage. */
Test(neural_fused, full_mode_sweep_after_the_saving_aborts, .signal = SIGABRT) {
    size_t bytes;
    sbo_task *t;
    sbo_algo *a = saving_run(0, 1, &bytes, &t);
    long D = sbo_layout_total(&t->lower);
    sbo_batch *batch = sbo_batch_create(t, SBO_LEVEL_LOWER);
    double *V = dalloc(D), *out = dalloc(D);
    sbo_stream s;
    sbo_stream_init(&s, 3, SBO_RNG_LOWER_BATCH, 0, 0);
    sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch);
    for (long i = 0; i < D; i++) V[i] = 1e-2 * (double)(i % 7);
    sbo_task_hvp(t, a->x, a->Y, batch, V, out);
    cr_log_error("a full-mode HVP ran although the hidden activation was kept as a P only");
}

/* The linearization contract on the minibatch (STYLE.md pattern 3): a fused tangent sweep after a new minibatch was
 * drawn into the linearization's batch must abort (the engine compares the batch's version stamp with the one it
 * linearized at), not sweep the old batch's linearization; after a new linearization it runs (the control). */
static void tangent_after_redraw(int relinearize) {
    sbo_task *t = make_task("data_cleaning", "task.model=linear", NULL);
    point p;
    point_init(&p, t, 5, 1.0, 0.05);
    sbo_batch *batch = sbo_batch_create(t, SBO_LEVEL_LOWER);
    double *V = dalloc(p.D), *HV = dalloc(p.D);
    V[0] = 1;
    sbo_stream s;
    sbo_stream_init(&s, 3, SBO_RNG_LOWER_BATCH, 0, 0);
    sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch);
    sbo_task_lower_at(t, p.x, p.Y, batch, NULL);
    sbo_tangent tan = {.V = V, .hvp = HV};
    sbo_task_lower_tangent(t, p.x, p.Y, &tan);                  /* at the linearization: runs */
    sbo_stream_init(&s, 3, SBO_RNG_LOWER_BATCH, 0, 1);
    sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch);             /* phi_{k+1} into the same batch, not loaded */
    if (relinearize) sbo_task_lower_at(t, p.x, p.Y, batch, NULL);
    sbo_task_lower_tangent(t, p.x, p.Y, &tan);
    sbo_batch_free(batch);
    free(V); free(HV);
    point_free(&p);
    sbo_task_destroy(t);
}

Test(neural_fused, tangent_after_a_new_draw_aborts, .signal = SIGABRT) {
    tangent_after_redraw(0);
    cr_log_error("a tangent sweep ran on a minibatch drawn after the linearization");
}

Test(neural_fused, tangent_after_a_new_draw_and_linearization_runs) {
    tangent_after_redraw(1);
}

/* --- 4. row-symmetry declarations (§5.2) --------------------------------------------------------------------- */

/* For every declared row-symmetric block with m > 1: (H[E_jb])_{ia} = (H[E_ib])_{ja} (diagonal block), relative to
 * the largest entry of H[E_jb] on the block. Power: the wrong pairing (H[E_jb])_{ia} vs (H[E_ib])_{ia} differs. */
/* Block l's diagonal Hessian entries sampled on 4 rows x 2 columns: the largest |H_{ia,jb} - H_{ja,ib}| (0 when
 * row-symmetric) and, as a power check, the largest |H_{ia,jb} - H_{ia,ib}| (a wrong pairing), both relative to the
 * largest entry of H[E_jb] on the block. */
static double block_row_gap(point *p, int l, double *wrong_out) {
    const sbo_layout *lay = &p->t->lower;
    const sbo_block *bk = &lay->block[l];
    long D = p->D;
    double *E = dalloc(D), *Hj = dalloc(D), *Hi = dalloc(D);
    int m = bk->m, n = bk->n;
    long o = lay->offset[l];
    /* rows: for the 784-pixel fan-in, pixels near the image centre (nonzero data); else any rows */
    int rows[4];
    if (m == 784) { rows[0] = 14 * 28 + 14; rows[1] = 10 * 28 + 13; rows[2] = 18 * 28 + 9; rows[3] = 7 * 28 + 16; }
    else { rows[0] = 0; rows[1] = m - 1; rows[2] = m / 2; rows[3] = 1; }
    int cols[2] = {0, n > 3 ? 3 : n - 1};
    double gap = 0, wrong = 0;
    for (int jj = 0; jj < 2; jj++)
        for (int bb = 0; bb < 2; bb++) {
            int j = rows[jj], b = cols[bb];
            sbo_vec_zero(D, E);
            E[o + (long)j * n + b] = 1;
            sbo_task_hvp(p->t, p->x, p->Y, NULL, E, Hj);
            double scale = max_abs((long)m * n, Hj + o);
            cr_assert(scale > 0);
            for (int ii = 0; ii < 4; ii++) {
                int i = rows[ii];
                if (i == j) continue;
                sbo_vec_zero(D, E);
                E[o + (long)i * n + b] = 1;
                sbo_task_hvp(p->t, p->x, p->Y, NULL, E, Hi);
                for (int a = 0; a < n; a++) {
                    gap = fmax(gap, fabs(Hj[o + (long)i * n + a] - Hi[o + (long)j * n + a]) / scale);
                    wrong = fmax(wrong, fabs(Hj[o + (long)i * n + a] - Hi[o + (long)i * n + a]) / scale);
                }
            }
        }
    free(E); free(Hj); free(Hi);
    *wrong_out = wrong;
    return gap;
}

/* For every declared row-symmetric block with m > 1: (H[E_jb])_{ia} = (H[E_ib])_{ja} (diagonal block), relative to
 * the largest entry of H[E_jb] on the block. Power: the wrong pairing (H[E_jb])_{ia} vs (H[E_ib])_{ia} differs.
 * asym_blocks (NULL-terminated names, or NULL): blocks declared NOT row-symmetric whose asymmetry must show (gap
 * > 1e-3): the declaration 0 is then needed, not just cautious. */
static void row_symmetry(const char *label, sbo_task *t, double xs, double ys, const char *const *asym_blocks) {
    point p;
    point_init(&p, t, 51, xs, ys);
    const sbo_layout *lay = &t->lower;
    int checked = 0;
    for (int l = 0; l < lay->L; l++) {
        const sbo_block *bk = &lay->block[l];
        if (!bk->row_symmetric || bk->m < 2) continue;
        double wrong, gap = block_row_gap(&p, l, &wrong);
        cr_log_info("%s block %s (%d x %d): |H_{ia,jb} - H_{ja,ib}| %.2e (tolerance 1e-9); wrong pairing "
                    "|H_{ia,jb} - H_{ia,ib}| %.2e (must be > 1e-3)", label, bk->name, bk->m, bk->n, gap, wrong);
        cr_expect(gap < 1e-9, "%s block %s declared row-symmetric but gap %.3g", label, bk->name, gap);
        cr_expect(wrong > 1e-3, "%s block %s: power check too weak (%.3g)", label, bk->name, wrong);
        checked++;
    }
    cr_expect(checked > 0, "%s: no row-symmetric block with m > 1 was checked", label);
    for (int k = 0; asym_blocks && asym_blocks[k]; k++) {
        int l = 0;
        while (l < lay->L && strcmp(lay->block[l].name, asym_blocks[k])) l++;
        cr_assert(l < lay->L, "%s: no block %s", label, asym_blocks[k]);
        cr_expect(!lay->block[l].row_symmetric, "%s block %s must be declared not row-symmetric", label, asym_blocks[k]);
        double wrong, gap = block_row_gap(&p, l, &wrong);
        cr_log_info("%s block %s (%d x %d), declared not row-symmetric: |H_{ia,jb} - H_{ja,ib}| %.2e (must be > 1e-3)",
                    label, asym_blocks[k], lay->block[l].m, lay->block[l].n, gap);
        cr_expect(gap > 1e-3, "%s block %s: declared not row-symmetric but the sampled gap is only %.3g", label,
                  asym_blocks[k], gap);
    }
    point_free(&p);
}

Test(neural_row_symmetry, data_cleaning_linear) {
    sbo_task *t = make_task("data_cleaning", "task.model=linear", NULL);
    row_symmetry("data_cleaning linear", t, 1.0, 0.05, NULL);
    sbo_task_destroy(t);
}
Test(neural_row_symmetry, data_cleaning_mlp) {
    sbo_task *t = make_task("data_cleaning", "task.model=mlp", "task.activation=tanh", NULL);
    row_symmetry("data_cleaning mlp", t, 1.0, 0.05, NULL);
    sbo_task_destroy(t);
}
Test(neural_row_symmetry, hyper_rep) {
    sbo_task *t = make_task("hyper_rep", "task.activation=tanh", NULL);
    row_symmetry("hyper_rep", t, 0.02, 0.5, NULL);
    sbo_task_destroy(t);
}

/* --- 5. the data ------------------------------------------------------------------------------------------------ */

Test(neural_data, label_noise) {
    sbo_task *t = make_task("data_cleaning", "task.n_train=2000", "task.noise=0.5", NULL);
    sbo_neural *nn = t->ctx;
    int C = nn->set.n_classes;
    long ncorr = 0, bad = 0, shifts[16] = {0};
    for (int i = 0; i < nn->n_train; i++) {
        int orig = nn->set.train.labels[nn->train_rows[i]], y = nn->train_labels[i];
        cr_assert(y >= 0 && y < C);
        if (nn->corrupted[i]) {
            ncorr++;
            bad += y == orig;
            shifts[(y - orig + C) % C]++;
        } else {
            bad += y != orig;
        }
    }
    double frac = (double)ncorr / nn->n_train, sd = sqrt(0.25 / nn->n_train);
    cr_log_info("label noise 0.5 on 2000 labels: corrupted fraction %.4f, |frac - 0.5| = %.1f sd (tolerance 4 sd)", frac,
                fabs(frac - 0.5) / sd);
    cr_expect(fabs(frac - 0.5) <= 4 * sd, "corrupted fraction %.4f", frac);
    cr_expect_eq(bad, 0, "%ld labels: corrupted but unchanged, or clean but changed", bad);
    int missing = 0;
    for (int k = 1; k < C; k++) missing += shifts[k] == 0;
    cr_expect_eq(missing, 0, "every other class must be reachable by the noise (%d shifts never drawn)", missing);
    sbo_task_destroy(t);
    /* noise 0: nothing corrupted */
    t = make_task("data_cleaning", "task.noise=0", NULL);
    nn = t->ctx;
    long c0 = 0;
    for (int i = 0; i < nn->n_train; i++) c0 += nn->corrupted[i];
    cr_expect_eq(c0, 0);
    sbo_task_destroy(t);
}

static int same_split(const sbo_neural *a, const sbo_neural *b) {
    return a->n_train == b->n_train && a->n_val == b->n_val &&
           !memcmp(a->train_rows, b->train_rows, sizeof(int) * (size_t)a->n_train) &&
           !memcmp(a->val_rows, b->val_rows, sizeof(int) * (size_t)a->n_val) &&
           !memcmp(a->corrupted, b->corrupted, sizeof(int) * (size_t)a->n_train) &&
           !memcmp(a->train_labels, b->train_labels, sizeof(int) * (size_t)a->n_train);
}

Test(neural_data, splits_disjoint_and_deterministic) {
    sbo_task *t1 = make_task("data_cleaning", "task.n_train=500", "task.n_val=300", NULL);
    sbo_task *t2 = make_task("hyper_rep", "task.n_train=500", "task.n_val=300", "task.noise=0.5", NULL);
    sbo_task *t3 = make_task("data_cleaning", "task.n_train=500", "task.n_val=300", "task.data_seed=2", NULL);
    sbo_neural *a = t1->ctx, *b = t2->ctx, *c = t3->ctx;
    long N = a->set.train.n;
    char *seen = calloc((size_t)N, 1);
    cr_assert(seen);
    long dup = 0;
    for (int i = 0; i < a->n_train; i++) { cr_assert(a->train_rows[i] >= 0 && a->train_rows[i] < N); dup += seen[a->train_rows[i]]++; }
    for (int i = 0; i < a->n_val; i++) { cr_assert(a->val_rows[i] >= 0 && a->val_rows[i] < N); dup += seen[a->val_rows[i]]++; }
    free(seen);
    cr_expect_eq(dup, 0, "train and validation rows overlap or repeat (%ld)", dup);
    cr_expect(same_split(a, b), "same data_seed, same noise: the split and the noise must be identical across tasks");
    long differ = 0;
    for (int i = 0; i < a->n_train; i++) differ += a->train_rows[i] != c->train_rows[i];
    cr_log_info("data_seed 1 vs 2: %ld of %d training rows differ", differ, a->n_train);
    cr_expect(differ > a->n_train / 2, "another data_seed must give another split (%ld rows differ)", differ);
    sbo_task_destroy(t1); sbo_task_destroy(t2); sbo_task_destroy(t3);
}

Test(neural_data, clean_baseline_draws_only_clean_samples) {
    sbo_task *tc = make_task("data_cleaning", "task.weights=clean", NULL);
    sbo_task *tl = make_task("data_cleaning", "task.weights=learned", NULL);
    sbo_neural *nn = tc->ctx;
    long nclean = 0;
    for (int i = 0; i < nn->n_train; i++) nclean += !nn->corrupted[i];
    cr_expect_eq(nn->n_lower_pool, nclean);
    long in_pool = 0;
    for (int k = 0; k < nn->n_lower_pool; k++) in_pool += nn->corrupted[nn->lower_pool[k]];
    cr_expect_eq(in_pool, 0, "the clean pool holds %ld corrupted positions", in_pool);
    sbo_batch *batch = sbo_batch_create(tc, SBO_LEVEL_LOWER);
    sbo_stream s;
    long drawn_c = 0, drawn_l = 0;
    for (int k = 0; k < 50; k++) {
        sbo_stream_init(&s, 3, SBO_RNG_LOWER_BATCH, 0, (uint64_t)k);
        sbo_task_sample(tc, SBO_LEVEL_LOWER, &s, batch);
        for (long i = 0; i < batch->n_ids; i++) drawn_c += nn->corrupted[batch->ids[i]];
        sbo_stream_init(&s, 3, SBO_RNG_LOWER_BATCH, 0, (uint64_t)k);
        sbo_task_sample(tl, SBO_LEVEL_LOWER, &s, batch);
        for (long i = 0; i < batch->n_ids; i++) drawn_l += nn->corrupted[batch->ids[i]];
    }
    cr_log_info("50 batches of 16: corrupted samples drawn %ld (clean baseline, must be 0), %ld (learned, must be > 0)",
                drawn_c, drawn_l);
    cr_expect_eq(drawn_c, 0);
    cr_expect(drawn_l > 0, "power: the learned task must draw corrupted samples");
    sbo_batch_free(batch);
    sbo_task_destroy(tc); sbo_task_destroy(tl);
}

/* The exact (NULL-batch) lower oracle of the clean baseline must be the population of its minibatches: the mean over
 * the clean pool, i.e. the mean of the one-sample batch gradients over the pool positions (it was 0.71 off when the
 * exact oracle averaged over every training position). */
Test(neural_data, clean_baseline_exact_oracle_averages_the_pool) {
    sbo_task *t = make_task("data_cleaning", "task.weights=clean", "task.batch=1", NULL);
    sbo_neural *nn = t->ctx;
    long D = sbo_layout_total(&t->lower);
    double *x = dalloc(t->d), *Y = dalloc(D), *g = dalloc(D), *gs = dalloc(D), *tmp = dalloc(D);
    sbo_stream s;
    sbo_stream_init(&s, 13, SBO_RNG_TEST, 0, 0);
    gauss(&s, D, 0.05, Y);
    sbo_task_grad_lower(t, x, Y, NULL, g);
    for (int k = 0; k < nn->n_lower_pool; k++) {
        long id = nn->lower_pool[k];
        sbo_batch one = ids_batch(SBO_LEVEL_LOWER, 1, &id);
        sbo_task_grad_lower(t, x, Y, &one, tmp);
        sbo_vec_axpy(D, 1.0 / nn->n_lower_pool, tmp, gs);
    }
    double e = rel_diff(D, g, gs);
    cr_log_info("clean baseline: exact grad_Y g vs mean over the %d pool positions: %.2e (tolerance 1e-12)",
                nn->n_lower_pool, e);
    cr_expect(e < 1e-12, "the exact lower oracle of weights=clean is not the clean-pool mean (error %.3g): it averages "
              "the whole training split, corrupted samples included", e);
    free(x); free(Y); free(g); free(gs); free(tmp);
    sbo_task_destroy(t);
}

Test(neural_data, uniform_weights_have_no_x_dependence) {
    sbo_task *tu = make_task("data_cleaning", "task.weights=uniform", NULL);
    sbo_task *tl = make_task("data_cleaning", "task.weights=learned", NULL);
    long D = sbo_layout_total(&tu->lower);
    int d = tu->d;
    double *x = dalloc(d), *Y = dalloc(D), *Z = dalloc(D), *J = dalloc(d);
    sbo_batch *batch = sbo_batch_create(tu, SBO_LEVEL_LOWER);
    sbo_stream s;
    sbo_stream_init(&s, 17, SBO_RNG_TEST, 0, 0);
    gauss(&s, d, 1.0, x);
    gauss(&s, D, 0.05, Y);
    gauss(&s, D, 1.0, Z);
    sbo_stream_init(&s, 17, SBO_RNG_LOWER_BATCH, 0, 0);
    sbo_task_sample(tu, SBO_LEVEL_LOWER, &s, batch);
    long nonzero = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < d; i++) J[i] = NAN;
        sbo_task_cross(tu, x, Y, pass ? batch : NULL, Z, J);
        for (int i = 0; i < d; i++) nonzero += !(J[i] == 0.0);
    }
    cr_log_info("weights=uniform: %ld entries of J[Z] (exact and batch) not exactly 0 (must be 0)", nonzero);
    cr_expect_eq(nonzero, 0);
    sbo_task_cross(tl, x, Y, NULL, Z, J);
    cr_expect(max_abs(d, J) > 0, "power: weights=learned must have a nonzero J[Z]");
    free(x); free(Y); free(Z); free(J);
    sbo_batch_free(batch);
    sbo_task_destroy(tu); sbo_task_destroy(tl);
}

/* --- 6. metrics ------------------------------------------------------------------------------------------------- */

static int metric_index(const sbo_task *t, const char *name) {
    for (int i = 0; i < t->n_metrics; i++)
        if (!strcmp(t->metric_names[i], name)) return i;
    cr_assert_fail("metric %s missing", name);
    return -1;
}

Test(neural_metrics, data_cleaning_flags) {
    sbo_task *t = make_task("data_cleaning", "task.noise=0.5", NULL);
    sbo_neural *nn = t->ctx;
    long D = sbo_layout_total(&t->lower);
    double *x = dalloc(t->d), *Y = dalloc(D), out[SBO_MAX_METRICS];
    int if1 = metric_index(t, "f1"), ip = metric_index(t, "precision"), ir = metric_index(t, "recall"),
        ifl = metric_index(t, "flagged"), ia = metric_index(t, "test_accuracy"), iv = metric_index(t, "val_accuracy"),
        iu = metric_index(t, "upper_loss"), il = metric_index(t, "lower_loss");
    long nc = 0;
    for (int i = 0; i < nn->n_train; i++) { x[i] = nn->corrupted[i] ? -1.0 : 1.0; nc += nn->corrupted[i]; }
    cr_assert(nc > 0 && nc < nn->n_train);
    double noise = (double)nc / nn->n_train;
    t->ops->metrics(t, x, Y, NULL, out);
    cr_log_info("x = -1 on the %ld corrupted, +1 elsewhere: f1 %.3f precision %.3f recall %.3f flagged %.4f "
                "(noise fraction %.4f)", nc, out[if1], out[ip], out[ir], out[ifl], noise);
    cr_expect_eq(out[if1], 1.0);
    cr_expect_eq(out[ip], 1.0);
    cr_expect_eq(out[ir], 1.0);
    cr_expect_float_eq(out[ifl], noise, 1e-15);
    /* Y = 0: uniform logits, every loss is log 10, accuracies in [0, 1] */
    cr_expect_float_eq(out[iu], log(10.0), 1e-12, "upper loss at Y = 0: %.15g", out[iu]);
    double wsum = 0;   /* lower loss at Y = 0: (1/n) sum_i sigma(x_i) log 10 */
    for (int i = 0; i < nn->n_train; i++) wsum += 1 / (1 + exp(-x[i]));
    cr_expect_float_eq(out[il], log(10.0) * wsum / nn->n_train, 1e-12, "lower loss at Y = 0: %.15g", out[il]);
    cr_expect(out[ia] >= 0 && out[ia] <= 1 && out[iv] >= 0 && out[iv] <= 1);
    /* nothing flagged: recall 0 */
    for (int i = 0; i < nn->n_train; i++) x[i] = 1.0;
    t->ops->metrics(t, x, Y, NULL, out);
    cr_log_info("x = +1 everywhere: recall %.3f flagged %.3f", out[ir], out[ifl]);
    cr_expect_eq(out[ir], 0.0);
    cr_expect_eq(out[ifl], 0.0);
    /* everything flagged: recall 1, precision = noise fraction */
    for (int i = 0; i < nn->n_train; i++) x[i] = -1.0;
    t->ops->metrics(t, x, Y, NULL, out);
    cr_expect_eq(out[ir], 1.0);
    cr_expect_float_eq(out[ip], noise, 1e-15);
    cr_expect_eq(out[ifl], 1.0);
    free(x); free(Y);
    sbo_task_destroy(t);
}

/* --- 7. configuration errors ------------------------------------------------------------------------------------ */

Test(neural_errors, too_many_training_images) {
    require_data();
    char err[SBO_ERR_LEN] = "";
    sbo_task *t = try_task("data_cleaning", err, sizeof err, "task.n_train=50000", "task.n_val=20000", NULL);
    cr_expect_null(t);
    cr_expect(strstr(err, "exceeds") != NULL, "message: %s", err);
    if (t) sbo_task_destroy(t);
}

Test(neural_errors, missing_data_dir_is_named) {
    const char *tasks[2] = {"data_cleaning", "hyper_rep"};
    for (int k = 0; k < 2; k++) {
        char err[SBO_ERR_LEN] = "";
        sbo_task *t = try_task(tasks[k], err, sizeof err, "task.data_dir=/nonexistent", NULL);
        cr_expect_null(t);
        cr_expect(strstr(err, "/nonexistent") != NULL, "%s: message: %s", tasks[k], err);
        if (t) sbo_task_destroy(t);
    }
}

Test(neural_errors, nonpositive_lambda) {
    const char *tasks[2] = {"data_cleaning", "hyper_rep"};
    const char *vals[2] = {"task.lambda=0", "task.lambda=-1"};
    for (int k = 0; k < 2; k++)
        for (int v = 0; v < 2; v++) {
            char err[SBO_ERR_LEN] = "";
            sbo_task *t = try_task(tasks[k], err, sizeof err, vals[v], NULL);
            cr_expect_null(t);
            cr_expect(strstr(err, "task.lambda") != NULL, "%s %s: message: %s", tasks[k], vals[v], err);
            if (t) sbo_task_destroy(t);
        }
}

/* The accuracy of sbo_neural_evaluate comes from the split's own labels, whatever the executors hold: a lower
 * minibatch call between an exact upper oracle and the evaluation (which then skips reloading the same validation
 * chunk) must not change it. It did when the labels came from the scratch both executors share. */
Test(neural_data, evaluation_accuracy_ignores_the_other_executors_labels) {
    sbo_task *t = make_task("data_cleaning", "task.model=linear", NULL);
    sbo_neural *nn = t->ctx;
    long D = sbo_layout_total(&t->lower);
    double *x = calloc((size_t)t->d, sizeof(double)), *Y = calloc((size_t)D, sizeof(double));
    double *g = calloc((size_t)D, sizeof(double));
    sbo_batch *batch = sbo_batch_create(t, SBO_LEVEL_LOWER);
    sbo_stream s;
    sbo_stream_init(&s, 41, SBO_RNG_TEST, 0, 0);
    for (long i = 0; i < D; i++) Y[i] = 0.3 * sbo_stream_gaussian(&s);
    double acc0, acc1;
    sbo_neural_evaluate(t, SBO_LEVEL_UPPER, x, Y, &acc0);
    sbo_task_grad_upper_Y(t, x, Y, NULL, g);                 /* the upper executor holds the validation chunk */
    sbo_task_sample(t, 0, &s, batch);
    sbo_task_grad_lower(t, x, Y, batch, g);                   /* noisy training labels pass through the scratch */
    sbo_neural_evaluate(t, SBO_LEVEL_UPPER, x, Y, &acc1);
    cr_log_info("validation accuracy %.4f before, %.4f after a lower minibatch call", acc0, acc1);
    cr_expect(acc0 == acc1, "validation accuracy changed from %.4f to %.4f", acc0, acc1);
    /* an exact loss-only call computes no derivative, so it allocates no full-mode derivative buffer */
    size_t before = sbo_nn_exec_bytes(nn->lower);
    sbo_neural_batch_loss(t, SBO_LEVEL_LOWER, x, Y, NULL);
    cr_expect_eq(sbo_nn_exec_bytes(nn->lower), before, "a loss-only exact call allocated derivative buffers");
    free(x); free(Y); free(g);
    sbo_batch_free(batch);
    sbo_task_destroy(t);
}

/* --- 7. ViT sample reweighting (tasks/vit_reweight.c) on a tiny transformer --------------------------------------
 * patch 14 (T = 4 tokens of 196 pixels), width 4, 2 heads, 1 block, feed-forward width 6 (the base task.hidden). */
#define VIT_TINY "task.patch=14", "task.width=4", "task.heads=2", "task.depth=1"

Test(neural_vit, patches_are_contiguous_and_oracles_match_differences) {
    sbo_task *t = make_task("vit_reweight", VIT_TINY, NULL);
    /* the pixel reorder: patch 1 (top right) starts with pixel (0, 14) of the official image */
    sbo_neural *nn = t->ctx;
    sbo_image_set raw;
    char err[SBO_ERR_LEN];
    cr_assert_eq(sbo_image_set_load("fashion_mnist", NULL, &raw, err, sizeof err), 0, "%s", err);
    long bad = 0;
    for (long i = 0; i < 50; i++)
        for (int tok = 0; tok < 4; tok++)
            for (int a = 0; a < 14; a++)
                for (int b = 0; b < 14; b++)
                    bad += nn->set.test.pixels[i * 784 + tok * 196 + a * 14 + b] !=
                           raw.test.pixels[i * 784 + ((tok / 2) * 14 + a) * 28 + (tok % 2) * 14 + b];
    sbo_image_set_free(&raw);
    cr_expect_eq(bad, 0, "%ld pixels out of patch order", bad);
    const sbo_layout *lay = &t->lower;
    cr_expect_eq(lay->L, 3 + 12 + 4, "blocks: patch, bias, pos, 12 per transformer block, final norm and head");
    /* hg = 3e-6: at 1e-4 the differences are off by 2e-4 on the patch bias (10x smaller at 3e-5, 100x at 1e-5:
     * truncation, O(hg^2), from the width-4 layernorms' large third derivatives) */
    derivative_suite("vit_reweight", t, 1.0, 0.05, 0, NULL, 1, 3e-6);
    sbo_task_destroy(t);
}

static int block_index(const sbo_task *t, const char *name) {
    for (int l = 0; l < t->lower.L; l++)
        if (strcmp(t->lower.block[l].name, name) == 0) return l;
    cr_assert_fail("no lower block %s", name);
    return -1;
}

Test(neural_vit, reduced_oracles_equal_projected_full) {
    sbo_task *t = make_task("vit_reweight", VIT_TINY, NULL);
    int ranks[SBO_MAX_BLOCKS] = {0};
    const char *names[] = {"W_patch", "Wq0", "Wk0", "Wv0", "Wo0", "W1_0", "W2_0", "W_head"};
    const int r[] = {5, 2, 3, 2, 3, 2, 3, 2};
    for (int k = 0; k < 8; k++) ranks[block_index(t, names[k])] = r[k];
    sbo_batch *batch = sbo_batch_create(t, SBO_LEVEL_LOWER), *ubatch = sbo_batch_create(t, SBO_LEVEL_UPPER);
    sbo_stream s;
    sbo_stream_init(&s, 61, SBO_RNG_LOWER_BATCH, 0, 0);
    sbo_task_sample(t, SBO_LEVEL_LOWER, &s, batch);
    sbo_stream_init(&s, 61, SBO_RNG_UPPER_BATCH, 0, 0);
    sbo_task_sample(t, SBO_LEVEL_UPPER, &s, ubatch);
    for (int withbatch = 0; withbatch < 2; withbatch++) {
        double eg, eh, ef;
        reduced_check(t, ranks, withbatch ? batch : NULL, withbatch ? ubatch : NULL, 62, &eg, &eh, &ef);
        cr_log_info("vit_reweight float64 (%s oracles, 8 token-wise blocks projected): reduced grad_Y g vs P^T grad "
                    "%.2e, reduced HVP vs P^T H[P X] %.2e, reduced grad_Y f vs P^T grad %.2e (tolerance 1e-10)",
                    withbatch ? "batch" : "exact", eg, eh, ef);
        cr_expect(eg < 1e-10 && eh < 1e-10 && ef < 1e-10, "vit reduced: grad g %.3g, HVP %.3g, grad f %.3g", eg, eh,
                  ef);
    }
    sbo_batch_free(batch); sbo_batch_free(ubatch);
    sbo_task_destroy(t);
}

/* §5.2 honestly: the head after pooling is row-symmetric (checked entry by entry); every token-wise weight and the
 * positional embedding measurably is not, so their declaration 0 (BROS-general under algo.variant = auto) is needed. */
Test(neural_vit, row_symmetry_declarations) {
    sbo_task *t = make_task("vit_reweight", VIT_TINY, NULL);
    static const char *const asym[] = {"W_patch", "pos", "Wq0", "Wk0", "Wv0", "Wo0", "W1_0", "W2_0", NULL};
    row_symmetry("vit_reweight", t, 1.0, 0.05, asym);
    for (int l = 0; l < t->lower.L; l++) {
        const char *nm = t->lower.block[l].name;
        int pos_or_norm = strcmp(nm, "pos") == 0 || strstr(nm, "_gain") || strstr(nm, "_bias") || nm[0] == 'b';
        cr_expect_eq(t->lower.block[l].not_projectable, pos_or_norm, "block %s: not_projectable = %d", nm,
                     t->lower.block[l].not_projectable);
    }
    sbo_task_destroy(t);
}

/* BROS at rank 2 with the memory rule off: the positional embedding and the norm parameters stay full (they feed
 * ops that take no subspace), every token-wise block is projected, auto picks BROS-general; steps run. */
Test(neural_vit, bros_projects_the_token_wise_blocks) {
    sbo_task *t = make_task("vit_reweight", VIT_TINY, "task.precision=float32", NULL);
    char err[SBO_ERR_LEN] = "";
    const sbo_algo_type *at = sbo_algo_find("bros");
    const char *sets[] = {VIT_TINY, "task.precision=float32", "algo.memory_rule=off", "algo.rank=2"};
    sbo_config cfg;
    cr_assert_eq(sbo_run_resolve_config(t->type, at, NULL, sets, 7, &cfg, err, sizeof err), 0, "%s", err);
    sbo_algo_options opt;
    cr_assert_eq(sbo_algo_options_parse(&cfg, &opt, err, sizeof err), 0, "%s", err);
    sbo_projected_setup ps;
    char log[4096];
    cr_assert_eq(sbo_projected_resolve(t, &opt, 1, &ps, log, sizeof log, err, sizeof err), 0, "%s", err);
    cr_log_info("%s", log);
    /* the head is row-symmetric, every other projected block is not: per block (general on those) */
    cr_expect_eq(ps.variant, SBO_ZDIR_AUTO, "auto must pick per-block variants (variant %d)", ps.variant);
    int projected = 0;
    for (int l = 0; l < t->lower.L; l++) {
        const sbo_block *b = &t->lower.block[l];
        int want = b->m > 2 && !b->not_projectable;
        projected += ps.rank[l] < b->m;
        cr_expect_eq(ps.rank[l] < b->m, want, "block %s (%d x %d): rank %d", b->name, b->m, b->n, ps.rank[l]);
    }
    cr_expect_eq(projected, 8);
    sbo_algo *a = at->create(t, &cfg, 5, err, sizeof err);
    cr_assert(a, "%s", err);
    for (long k = 0; k < 3; k++) cr_assert_eq(at->step(a, k), 0);
    at->destroy(a);
    sbo_task_destroy(t);
}
