/* tasks/neural.c: the image tasks' shared data, minibatches and oracles (tasks/neural.h).
 * The task's ctx must start with an sbo_neural (data_cleaning.c and hyper_rep.c do).
 * Exercised by: tests/test_neural.c, `sbo run --task data_cleaning|hyper_rep`. */
#include "tasks/neural.h"     /* the interface */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* --- options --------------------------------------------------------------------------------------------- */
static int check_range(const char *key, long v, long lo, long hi, char *err, size_t errlen) {
    if (v < lo || v > hi) {
        snprintf(err, errlen, "%s = %ld is out of range; choose %ld <= %s <= %ld", key, v, lo, key, hi);
        return -1;
    }
    return 0;
}

int sbo_neural_options_check(const sbo_neural_options *o, char *err, size_t errlen) {
    if (!sbo_image_set_known(o->dataset)) {
        snprintf(err, errlen, "task.dataset = '%.100s' is not an image set; choose one of " SBO_IMAGE_SET_NAMES,
                 o->dataset);
        return -1;
    }
    if (check_range("task.hidden", o->hidden, 1, 65536, err, errlen)) return -1;
    if (!(o->lambda > 0) || !isfinite(o->lambda)) {
        snprintf(err, errlen, "task.lambda = %g must be positive (the lower problem must be strongly convex)",
                 o->lambda);
        return -1;
    }
    if (check_range("task.batch", o->batch, 1, 1000000, err, errlen) ||
        check_range("task.upper_batch", o->upper_batch, 1, 1000000, err, errlen) ||
        check_range("task.n_train", o->n_train, 1, 1000000, err, errlen) ||
        check_range("task.n_val", o->n_val, 1, 1000000, err, errlen) ||
        check_range("task.n_test", o->n_test, 1, 1000000, err, errlen) ||
        check_range("task.data_seed", o->data_seed, 0, 1L << 62, err, errlen))
        return -1;
    if (o->precision != 32 && o->precision != 64) {
        snprintf(err, errlen, "task.precision = %d must be 32 (float32) or 64 (float64)", o->precision);
        return -1;
    }
    if (o->activation != SBO_NN_RELU && o->activation != SBO_NN_TANH && o->activation != SBO_NN_GELU) {
        snprintf(err, errlen, "task.activation must be relu, tanh or gelu (engine kind %d given)", o->activation);
        return -1;
    }
    if (!(o->noise >= 0 && o->noise <= 1)) {
        snprintf(err, errlen, "task.noise = %g must lie in [0, 1]", o->noise);
        return -1;
    }
    return 0;
}

int sbo_neural_options_parse(const sbo_config *cfg, sbo_neural_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    int act = 0, prec = 0;
    if (sbo_config_choice(cfg, "task.activation", "relu|tanh|gelu", &act, err, errlen) ||
        sbo_config_long(cfg, "task.hidden", &o->hidden, err, errlen) ||
        sbo_config_double(cfg, "task.noise", &o->noise, err, errlen) ||
        sbo_config_double(cfg, "task.lambda", &o->lambda, err, errlen) ||
        sbo_config_long(cfg, "task.batch", &o->batch, err, errlen) ||
        sbo_config_long(cfg, "task.upper_batch", &o->upper_batch, err, errlen) ||
        sbo_config_long(cfg, "task.n_train", &o->n_train, err, errlen) ||
        sbo_config_long(cfg, "task.n_val", &o->n_val, err, errlen) ||
        sbo_config_long(cfg, "task.n_test", &o->n_test, err, errlen) ||
        sbo_config_long(cfg, "task.data_seed", &o->data_seed, err, errlen) ||
        sbo_config_choice(cfg, "task.precision", "float32|float64", &prec, err, errlen))
        return -1;
    o->activation = act == 0 ? SBO_NN_RELU : act == 1 ? SBO_NN_TANH : SBO_NN_GELU;
    o->precision = prec ? 64 : 32;
    const char *ds = sbo_config_get(cfg, "task.dataset"), *dir = sbo_config_get(cfg, "task.data_dir");
    snprintf(o->dataset, sizeof o->dataset, "%s", ds ? ds : "fashion_mnist");
    snprintf(o->data_dir, sizeof o->data_dir, "%s", dir ? dir : "");
    return sbo_neural_options_check(o, err, errlen);
}

double sbo_neural_init_gain(const sbo_neural_options *o) { return o->activation == SBO_NN_RELU ? 2.0 : 1.0; }

/* --- data ---------------------------------------------------------------------------------------------- */
int sbo_neural_load(sbo_neural *nn, const sbo_neural_options *o, char *err, size_t errlen) {
    memset(nn, 0, sizeof *nn);
    if (sbo_neural_options_check(o, err, errlen)) return -1;
    const long n_train = o->n_train, n_val = o->n_val, n_test = o->n_test, b = o->batch, ub = o->upper_batch;
    const long seed = o->data_seed;
    const double noise = o->noise;
    nn->precision = o->precision;
    if (sbo_image_set_load(o->dataset, o->data_dir[0] ? o->data_dir : NULL, &nn->set, err, errlen)) return -1;
    const sbo_image_set *s = &nn->set;
    if (n_train + n_val > s->train.n) {
        snprintf(err, errlen, "task.n_train + task.n_val = %ld exceeds the %ld training images of %s; lower them",
                 n_train + n_val, s->train.n, s->name);
        sbo_image_set_free(&nn->set);
        return -1;
    }
    if (n_test > s->test.n) {
        snprintf(err, errlen, "task.n_test = %ld exceeds the %ld test images of %s; lower it", n_test, s->test.n, s->name);
        sbo_image_set_free(&nn->set);
        return -1;
    }
    nn->pixels = s->train.channels * s->train.rows * s->train.cols;   /* channel-planar rows (core/sbo_idx.h) */
    nn->n_train = (int)n_train; nn->n_val = (int)n_val; nn->n_test = (int)n_test;
    nn->b_lower = (int)b; nn->b_upper = (int)ub;
    /* executors are sized for the minibatches (so the activation memory is the training one); exact oracles and
     * metrics run over a split in chunks of that size */
    nn->chunk = nn->b_lower > nn->b_upper ? nn->b_lower : nn->b_upper;
    size_t nt = (size_t)n_train;
    nn->train_rows = malloc(sizeof(int) * nt);
    nn->val_rows = malloc(sizeof(int) * (size_t)n_val);
    nn->train_labels = malloc(sizeof(int) * nt);
    nn->corrupted = calloc(nt, sizeof(int));
    nn->lower_pool = malloc(sizeof(int) * nt);
    long *perm = malloc(sizeof(long) * (size_t)s->train.n);
    if (!nn->train_rows || !nn->val_rows || !nn->train_labels || !nn->corrupted || !nn->lower_pool || !perm) {
        free(perm);
        sbo_neural_free(nn);
        snprintf(err, errlen, "out of memory splitting %s", s->name);
        return -1;
    }
    sbo_split_permutation((uint64_t)seed, s->train.n, perm);
    for (long i = 0; i < n_train; i++) nn->train_rows[i] = (int)perm[i];
    for (long i = 0; i < n_val; i++) nn->val_rows[i] = (int)perm[n_train + i];
    free(perm);
    /* label noise: each training label independently with probability `noise`, to a uniformly random OTHER class */
    sbo_stream st;
    sbo_stream_init(&st, (uint64_t)seed, SBO_RNG_LABEL_NOISE, 0, 0);
    int C = s->n_classes;
    for (long i = 0; i < n_train; i++) {
        int y = s->train.labels[nn->train_rows[i]];
        double u = sbo_stream_uniform(&st), v = sbo_stream_uniform(&st);
        if (u < noise) {
            int shift = 1 + (int)(v * (C - 1));        /* 1 .. C-1 */
            if (shift > C - 1) shift = C - 1;
            y = (y + shift) % C;
            nn->corrupted[i] = 1;
        }
        nn->train_labels[i] = y;
    }
    for (long i = 0; i < n_train; i++) nn->lower_pool[i] = (int)i;
    nn->n_lower_pool = (int)n_train;
    return 0;
}

sbo_task *sbo_neural_task_new(const sbo_neural_options *o, size_t ctx_size, const char *name, char *err, size_t errlen) {
    sbo_task *t = calloc(1, sizeof *t);
    void *c = calloc(1, ctx_size);
    if (!t || !c) {
        free(t); free(c);
        snprintf(err, errlen, "out of memory creating the %s task", name);
        return NULL;
    }
    t->ctx = c;
    if (sbo_neural_load(c, o, err, errlen)) {
        free(c); free(t);
        return NULL;
    }
    return t;
}

void sbo_neural_free(sbo_neural *nn) {
    sbo_nn_exec_destroy(nn->lower);
    sbo_nn_exec_destroy(nn->upper);
    nn->lower = nn->upper = NULL;
    sbo_nn_graph_free(&nn->g_lower);
    sbo_nn_graph_free(&nn->g_upper);
    free(nn->train_rows); free(nn->val_rows); free(nn->train_labels); free(nn->corrupted); free(nn->lower_pool);
    nn->train_rows = nn->val_rows = nn->train_labels = nn->corrupted = nn->lower_pool = NULL;
    sbo_image_set_free(&nn->set);
}

void sbo_neural_init_weight(sbo_stream *s, double *W, int fan_in, int fan_out, double gain) {
    double sc = sqrt(gain / fan_in);
    for (long i = 0; i < (long)fan_in * fan_out; i++) W[i] = sc * sbo_stream_gaussian(s);
}

/* --- batches -------------------------------------------------------------------------------------------- */
/* A batch is b split positions as sample ids (lower: training positions, upper: validation positions). */
static void nn_sample(sbo_task *t, sbo_stream *s, sbo_batch *batch) {
    sbo_neural *nn = t->ctx;
    for (long i = 0; i < batch->n_ids; i++) {
        if (batch->level == SBO_LEVEL_LOWER) {
            long j = (long)(sbo_stream_uniform(s) * nn->n_lower_pool);
            if (j >= nn->n_lower_pool) j = nn->n_lower_pool - 1;
            batch->ids[i] = nn->lower_pool[j];
        } else {
            long j = (long)(sbo_stream_uniform(s) * nn->n_val);
            if (j >= nn->n_val) j = nn->n_val - 1;
            batch->ids[i] = j;
        }
    }
}

/* Where position p of level's split lives: the image set it comes from, its row there, and the label the network is
 * trained or scored against (the noisy one for the training split, the true one otherwise). */
static const sbo_image_split *split_set(const sbo_neural *nn, int level) {
    return level == SBO_LEVEL_TEST ? &nn->set.test : &nn->set.train;
}
static int split_row(const sbo_neural *nn, int level, int p) {
    return level == SBO_LEVEL_LOWER ? nn->train_rows[p] : level == SBO_LEVEL_UPPER ? nn->val_rows[p] : p;
}
static int split_label(const sbo_neural *nn, int level, int p) {
    return level == SBO_LEVEL_LOWER ? nn->train_labels[p] : split_set(nn, level)->labels[split_row(nn, level, p)];
}

/* Loads positions pos[0..b) of a split into the executor of its level: input rows, labels, sample ids. The same
 * minibatch as the executor's previous fill is not reloaded (the lower one serves every call of an iteration), so
 * the engine can keep P^T a of the data as well. */
static void fill(sbo_neural *nn, int level, const int *pos, int b) {
    sbo_nn_exec *e = level == SBO_LEVEL_LOWER ? nn->lower : nn->upper;
    int k = level == SBO_LEVEL_LOWER ? 0 : 1;
    if (nn->last_level[k] == level && nn->last_b[k] == b && memcmp(nn->last_pos[k], pos, sizeof(int) * (size_t)b) == 0)
        return;
    nn->last_level[k] = level;
    nn->last_b[k] = b;
    memcpy(nn->last_pos[k], pos, sizeof(int) * (size_t)b);
    int in = level == SBO_LEVEL_LOWER ? nn->in_lower : nn->in_upper;
    for (int i = 0; i < b; i++) {
        nn->ids[i] = split_row(nn, level, pos[i]);
        nn->labels[i] = split_label(nn, level, pos[i]);
    }
    sbo_nn_set_input_u8(e, in, split_set(nn, level)->pixels, nn->ids, b, 1.0 / 255.0, 0.0);
    sbo_nn_set_labels(e, nn->labels, b);
    for (int i = 0; i < b; i++) nn->ids[i] = pos[i];   /* SIGMOID_GATHER indexes x by training position */
    sbo_nn_set_ids(e, nn->ids, b);
}

/* Loads samples ids[0..b) of level (sbo_batch ids) into its executor: the task's own loader (nn->fill_ids: a task
 * whose samples are not images), or the image path (ids are split positions). */
static void fill_ids(sbo_task *t, int level, const long *ids, int b) {
    sbo_neural *nn = t->ctx;
    if (nn->fill_ids) {
        nn->fill_ids(t, level, ids, b);
        return;
    }
    int pos[4096] = {0};
    int *p = b <= 4096 ? pos : malloc(sizeof(int) * (size_t)b);
    if (!p) { fprintf(stderr, "sbo: out of memory loading a minibatch\n"); exit(1); }
    for (int i = 0; i < b; i++) p[i] = (int)ids[i];
    fill(nn, level, p, b);
    if (p != pos) free(p);
}

/* The exact (NULL-batch) oracles' and the evaluation's set of level: its size, and its i-th sample id. */
static int exact_n(const sbo_neural *nn, int level) {
    return level == SBO_LEVEL_LOWER ? nn->n_lower_pool : level == SBO_LEVEL_UPPER ? nn->n_val : nn->n_test;
}
static long exact_id(const sbo_task *t, int level, long i) {
    const sbo_neural *nn = t->ctx;
    if (nn->exact_id) return nn->exact_id(t, level, i);
    return level == SBO_LEVEL_LOWER ? nn->lower_pool[i] : i;
}

/* Loads a minibatch into level's executor; returns its size. */
static int load_batch(sbo_task *t, int level, const sbo_batch *batch) {
    fill_ids(t, level, batch->ids, (int)batch->n_ids);
    return (int)batch->n_ids;
}

/* Runs call c at level with the given batch; NULL batch = the whole split in chunks, outputs averaged with the
 * chunk weights (b_chunk / n), which keeps the L2 term counted once. */
static void run_level(sbo_task *t, int level, const double *x, const double *Y, const sbo_batch *batch, sbo_nn_call c) {
    sbo_neural *nn = t->ctx;
    sbo_nn_exec *e = level == SBO_LEVEL_LOWER ? nn->lower : nn->upper;
    if (batch) {
        c.b = load_batch(t, level, batch);
        sbo_nn_run(e, x, Y, &c);
        return;
    }
    int n = exact_n(nn, level);
    /* outputs: accumulate in acc_a (the tuple or vector output) with weights; one output per exact call */
    if ((c.grad_Y != NULL) + (c.grad_x != NULL) + (c.hess_Y != NULL) + (c.hess_x != NULL) > 1) {
        fprintf(stderr, "sbo: internal error: an exact (NULL-batch) image-task oracle takes one output per call\n");
        abort();
    }
    double *out = c.grad_Y ? c.grad_Y : c.grad_x ? c.grad_x : c.hess_Y ? c.hess_Y : c.hess_x;
    long len = 0;
    if (out == c.grad_x || out == c.hess_x) len = t->d;
    else if (out) {
        len = 0;
        for (int l = 0; l < t->lower.L; l++)
            len += (long)(c.P && c.P[l] ? c.rank[l] : t->lower.block[l].m) * t->lower.block[l].n;
    }
    if (out) memset(out, 0, sizeof(double) * (size_t)len);
    double loss = 0;
    long *p = malloc(sizeof(long) * (size_t)nn->chunk);
    for (int s0 = 0; s0 < n; s0 += nn->chunk) {
        int b = n - s0 < nn->chunk ? n - s0 : nn->chunk;
        for (int i = 0; i < b; i++) p[i] = exact_id(t, level, s0 + i);
        fill_ids(t, level, p, b);
        sbo_nn_call cc = c;
        cc.b = b;
        double l = 0;
        cc.loss = &l;
        if (out && out == c.grad_Y) cc.grad_Y = nn->acc_a;
        if (out && out == c.grad_x) cc.grad_x = nn->acc_a;
        if (out && out == c.hess_Y) cc.hess_Y = nn->acc_a;
        if (out && out == c.hess_x) cc.hess_x = nn->acc_a;
        sbo_nn_run(e, x, Y, &cc);
        double w = (double)b / n;
        loss += w * l;
        if (out) for (long i = 0; i < len; i++) out[i] += w * nn->acc_a[i];
    }
    free(p);
    if (c.loss) *c.loss = loss;
}

static void nn_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out) {
    sbo_nn_call c = {.grad_Y = out};
    run_level(t, SBO_LEVEL_LOWER, x, Y, batch, c);
}
static void nn_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out) {
    sbo_nn_call c = {.grad_Y = out};
    run_level(t, SBO_LEVEL_UPPER, x, Y, batch, c);
}
static void nn_grad_upper_x(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out) {
    sbo_nn_call c = {.grad_x = out};
    run_level(t, SBO_LEVEL_UPPER, x, Y, batch, c);
}
static void nn_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *V,
                   double *out) {
    sbo_nn_call c = {.dY = V, .hess_Y = out};
    run_level(t, SBO_LEVEL_LOWER, x, Y, batch, c);
}
static void nn_cross(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *Z,
                     double *out) {
    sbo_nn_call c = {.dY = Z, .hess_x = out};     /* J[Z] = grad_x <grad_Y g, Z> (§1) */
    run_level(t, SBO_LEVEL_LOWER, x, Y, batch, c);
}
static void nn_reduced_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                                  const sbo_subspace *S, double *out) {
    int rank[SBO_MAX_BLOCKS];
    for (int l = 0; l < t->lower.L; l++) rank[l] = S->red.block[l].m;
    sbo_nn_call c = {.P = S->P, .rank = rank, .grad_Y = out};
    run_level(t, SBO_LEVEL_LOWER, x, Y, batch, c);
}
static void nn_reduced_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                                    const sbo_subspace *S, double *out) {
    int rank[SBO_MAX_BLOCKS];
    for (int l = 0; l < t->lower.L; l++) rank[l] = S->red.block[l].m;
    sbo_nn_call c = {.P = S->P, .rank = rank, .grad_Y = out};
    run_level(t, SBO_LEVEL_UPPER, x, Y, batch, c);
}
static void nn_reduced_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S,
                           const double *X, double *out) {
    int rank[SBO_MAX_BLOCKS];
    for (int l = 0; l < t->lower.L; l++) rank[l] = S->red.block[l].m;
    sbo_nn_call c = {.P = S->P, .rank = rank, .dY = X, .hess_Y = out};
    run_level(t, SBO_LEVEL_LOWER, x, Y, batch, c);
}

/* --- fused oracles: one linearization of g per iteration, tangent sweeps at it, one pass of f ------------------ */
/* The minibatch of level into its executor (a fused oracle always has one: exact oracles use the calls above). */
static int fill_batch(sbo_task *t, int level, const sbo_batch *batch) {
    if (!batch) {
        fprintf(stderr, "sbo: internal error: a fused image-task oracle needs a minibatch (exact oracles: the "
                "separate calls)\n");
        abort();
    }
    return load_batch(t, level, batch);
}

static void subspace_ranks(const sbo_task *t, const sbo_subspace *S, int *rank) {
    for (int l = 0; l < t->lower.L; l++) rank[l] = S ? S->red.block[l].m : t->lower.block[l].m;
}

static void nn_lower_at(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S) {
    sbo_neural *nn = t->ctx;
    int rank[SBO_MAX_BLOCKS];
    subspace_ranks(t, S, rank);
    /* both adjoint paths (H[V] needs the lower one, J[V] the upper one); the lower gradient kept for lower_grad */
    sbo_nn_lin c = {.b = fill_batch(t, SBO_LEVEL_LOWER, batch), .P = S ? S->P : NULL, .rank = rank,
                    .want_lower = 1, .want_upper = 1, .keep_grad_Y = 1, .batch_version = batch->version};
    sbo_nn_linearize(nn->lower, x, Y, &c);
}
static void nn_lower_grad(sbo_task *t, double *out) { sbo_nn_gradient(((sbo_neural *)t->ctx)->lower, NULL, out); }
static void nn_lower_tangent(sbo_task *t, const double *x, const double *Y, const sbo_tangent *tan) {
    /* the batch as it is now: the engine aborts when a new one was drawn into it since the linearization */
    sbo_nn_tan c = {.dY = tan->V, .dY_full = tan->V_full, .hess_Y = tan->hvp, .hess_x = tan->cross,
                    .batch_version = t->lin.batch->version};
    sbo_nn_tangent(((sbo_neural *)t->ctx)->lower, x, Y, &c);
}
static void nn_upper(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S,
                     double *gY, double *gx) {
    sbo_neural *nn = t->ctx;
    int rank[SBO_MAX_BLOCKS];
    subspace_ranks(t, S, rank);
    sbo_nn_lin c = {.b = fill_batch(t, SBO_LEVEL_UPPER, batch), .P = S ? S->P : NULL, .rank = rank,
                    .want_lower = gY != NULL, .want_upper = gx != NULL, .grad_Y = gY, .grad_x = gx};
    sbo_nn_linearize(nn->upper, x, Y, &c);
}

/* The fused oracles' buffers for these ranks, now: the lower executor takes full tangents on the full blocks (and
 * on every block for the full cross term J[Z_k] of the projected methods) and full adjoints on the full blocks; the
 * upper one full adjoints on the full blocks; both the reduced buffers of the projected blocks. Where no full
 * tangent reaches a projected block, the engine keeps its input as a P only (core/nn/exec.c). */
static int nn_reserve(sbo_task *t, const int *rank, int full_tangents) {
    sbo_neural *nn = t->ctx;
    unsigned long long tangents = 0, full = 0;
    for (int l = 0; l < t->lower.L; l++) {
        int is_full = !rank || rank[l] >= t->lower.block[l].m;
        if (is_full) full |= 1ULL << l;
        if (is_full || full_tangents) tangents |= 1ULL << l;
    }
    return sbo_nn_exec_reserve(nn->lower, rank, tangents, full) || sbo_nn_exec_reserve(nn->upper, rank, 0, full)
               ? -1 : 0;
}

/* The objective of level's graph over n samples (ids: their sample ids; NULL: level's exact set), in chunks
 * weighted b / n; with correct (image tasks) the argmax of the logits is counted against the split's labels. */
static double eval_loop(sbo_task *t, int level, const double *x, const double *Y, const long *ids, long n,
                        long *correct) {
    sbo_neural *nn = t->ctx;
    sbo_nn_exec *e = level == SBO_LEVEL_LOWER ? nn->lower : nn->upper;
    int C = nn->set.n_classes;
    long *p = malloc(sizeof(long) * (size_t)nn->chunk);
    double loss = 0;
    for (long s0 = 0; s0 < n; s0 += nn->chunk) {
        int b = (int)(n - s0 < nn->chunk ? n - s0 : nn->chunk);
        for (int i = 0; i < b; i++) p[i] = ids ? ids[s0 + i] : exact_id(t, level, s0 + i);
        fill_ids(t, level, p, b);
        double l = 0;
        sbo_nn_call c = {.b = b, .loss = &l};
        sbo_nn_run(e, x, Y, &c);
        loss += l * b / n;
        if (!correct) continue;
        sbo_nn_read_value(e, nn->logits_upper, b, nn->logits);
        for (int i = 0; i < b; i++) {
            const double *z = nn->logits + (long)i * C;
            int am = 0;
            for (int k = 1; k < C; k++) if (z[k] > z[am]) am = k;
            /* from the split itself: nn->labels is scratch shared by both executors */
            *correct += am == split_label(nn, level, (int)(s0 + i));
        }
    }
    free(p);
    return loss;
}

double sbo_neural_evaluate(sbo_task *t, int level, const double *x, const double *Y, double *accuracy) {
    sbo_neural *nn = t->ctx;
    int n = exact_n(nn, level);
    int scored = level != SBO_LEVEL_LOWER && nn->logits_upper >= 0 && accuracy;
    long correct = 0;
    double loss = eval_loop(t, level, x, Y, NULL, n, scored ? &correct : NULL);
    if (accuracy) *accuracy = !scored ? NAN : (double)correct / n;
    return loss;
}

double sbo_neural_mean_loss(sbo_task *t, int level, const double *x, const double *Y, const long *ids, long n) {
    return eval_loop(t, level, x, Y, ids, n, NULL);
}

int sbo_neural_is(const sbo_task *t) { return t && t->ops && t->ops->sample == nn_sample; }

double sbo_neural_batch_loss(sbo_task *t, int level, const double *x, const double *Y, const sbo_batch *batch) {
    double l = 0;
    sbo_nn_call c = {.loss = &l};
    run_level(t, level, x, Y, batch, c);
    return l;
}

void sbo_neural_batch_data(sbo_task *t, int level, const sbo_batch *batch, double *inputs, int *labels, int *ids) {
    sbo_neural *nn = t->ctx;
    for (long i = 0; i < batch->n_ids; i++) {
        int p = (int)batch->ids[i], row = split_row(nn, level, p);
        const sbo_image_split *sp = split_set(nn, level);
        labels[i] = split_label(nn, level, p);
        ids[i] = p;
        for (int j = 0; j < nn->pixels; j++)
            inputs[(long)i * nn->pixels + j] = sp->pixels[(long)row * nn->pixels + j] / 255.0;
    }
}

void sbo_neural_describe(const sbo_task *t, int level, char *buf, size_t buflen) {
    const sbo_neural *nn = t->ctx;
    const sbo_nn_graph *g = level == SBO_LEVEL_LOWER ? &nn->g_lower : &nn->g_upper;
    size_t u = 0;
    buf[0] = 0;
    for (int i = 0; i < g->n_values && u < buflen; i++) {
        const sbo_nn_value *v = &g->v[i];
        if (v->role != SBO_NN_PARAM) continue;
        if (v->group == SBO_NN_LOWER)
            u += (size_t)snprintf(buf + u, buflen - u, "param %s %dx%d = lower block '%s' (Y = W^T, fan-in rows)\n",
                                  v->name, v->rows, v->cols, t->lower.block[v->block].name);
        else
            u += (size_t)snprintf(buf + u, buflen - u, "param %s %dx%d = x[%ld ..] (row-major)\n", v->name, v->rows,
                                  v->cols, v->offset);
    }
    for (int k = 0; k < g->n_ops && u < buflen; k++) {
        const sbo_nn_node *o = &g->op[k];
        u += (size_t)snprintf(buf + u, buflen - u, "%s %s <-", sbo_nn_kind_name(o->kind), g->v[o->out].name);
        for (int j = 0; j < o->n_in && u < buflen; j++)
            if (o->in[j] >= 0) u += (size_t)snprintf(buf + u, buflen - u, "%s %s", j ? "," : "", g->v[o->in[j]].name);
        if (o->kind == SBO_NN_L2 && u < buflen) u += (size_t)snprintf(buf + u, buflen - u, " coef %g", o->coef);
        if (g->v[o->out].is_loss && u < buflen) u += (size_t)snprintf(buf + u, buflen - u, " (loss term)");
        if (u < buflen) u += (size_t)snprintf(buf + u, buflen - u, "\n");
    }
}

static void nn_destroy(sbo_task *t) {
    sbo_neural_free(t->ctx);
    sbo_arena_free(&t->arena);
    free(t->ctx);
    free(t);
}

static sbo_task_ops neural_ops = {
    .sample = nn_sample, .grad_lower_Y = nn_grad_lower, .grad_upper_Y = nn_grad_upper_Y,
    .grad_upper_x = nn_grad_upper_x, .hvp = nn_hvp, .cross = nn_cross,
    .reduced_grad_lower = nn_reduced_grad_lower, .reduced_hvp = nn_reduced_hvp,
    .reduced_grad_upper_Y = nn_reduced_grad_upper_Y, .lower_at = nn_lower_at, .lower_grad = nn_lower_grad,
    .lower_tangent = nn_lower_tangent, .upper = nn_upper, .reserve = nn_reserve, .destroy = nn_destroy};

const sbo_task_ops *sbo_neural_ops(void) { return &neural_ops; }

int sbo_neural_finish(sbo_task *t, sbo_neural *nn, char *err, size_t errlen) {
    char name[64];
    snprintf(name, sizeof name, "%s.g", t->type ? t->type->name : "neural");
    sbo_nn_mark_unprojectable(&nn->g_lower, &t->lower);   /* blocks no projected method may project */
    sbo_nn_mark_unprojectable(&nn->g_upper, &t->lower);
    nn->lower = sbo_nn_exec_create(&nn->g_lower, &t->lower, t->d, nn->precision, "task.lower_net", err, errlen);
    if (!nn->lower) return -1;
    nn->upper = sbo_nn_exec_create(&nn->g_upper, &t->lower, t->d, nn->precision, "task.upper_net", err, errlen);
    if (!nn->upper) return -1;
    long D = sbo_layout_total(&t->lower), acc = D > t->d ? D : t->d;
    char sh[64];
    sbo_arena_init(&t->arena, "task.neural");
    snprintf(sh, sizeof sh, "max(D, d) = %ld", acc);
    sbo_arena_add(&t->arena, "exact-oracle accumulator", sh, acc, &nn->acc_a);
    snprintf(sh, sizeof sh, "chunk %d x classes", nn->chunk);
    sbo_arena_add(&t->arena, "logits", sh, (long)nn->chunk * nn->set.n_classes, &nn->logits);
    snprintf(sh, sizeof sh, "chunk %d", nn->chunk);
    sbo_arena_add_int(&t->arena, "sample ids", sh, nn->chunk, &nn->ids);
    sbo_arena_add_int(&t->arena, "labels", sh, nn->chunk, &nn->labels);
    sbo_arena_add_int(&t->arena, "last lower positions", sh, nn->chunk, &nn->last_pos[0]);
    sbo_arena_add_int(&t->arena, "last upper positions", sh, nn->chunk, &nn->last_pos[1]);
    nn->last_level[0] = nn->last_level[1] = -1;
    sbo_task_declare_scratch(t);   /* algo.R = auto evaluates grad_Y f into it */
    if (sbo_arena_commit(&t->arena)) {
        snprintf(err, errlen, "out of memory creating the task buffers");
        return -1;
    }
    t->batch_ids[SBO_LEVEL_LOWER] = nn->b_lower;
    t->batch_ids[SBO_LEVEL_UPPER] = nn->b_upper;
    t->reduced_impl = "native (through P^T a, §3.1)";
    return 0;
}
