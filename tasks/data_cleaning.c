/* tasks/data_cleaning.c: hyper-data cleaning (Franceschi et al. 2017; the standard SBO setting).
 * A fraction task.noise of the training labels is corrupted uniformly at random. The upper variable holds one logit
 * per training sample, x_i, with weight sigma(x_i). Lower: Y = a linear classifier or a one-hidden-layer MLP,
 *   g(x, Y) = (1/n) sum_i sigma(x_i) CE(net_Y(a_i), noisy y_i) + lambda/2 ||Y||^2   (every block, biases too: softmax
 *                                                                                    is flat along a shift of all
 *                                                                                    output biases without it)
 * Upper: f(x, Y) = (1/n_val) sum_j CE(net_Y(a_j), y_j) on a clean validation split (no direct x dependence).
 * Layers are stored fan-in first, Y = W^T (ALGORITHMS.md §3.1), one block per weight and per bias; every diagonal
 * Hessian block is sum_s (a_s a_s^T) ⊗ G_s (+ lambda I), row-symmetric (§5.2), and declared so (checked in
 * tests/test_neural.c).
 * Baselines (task.weights): uniform = plain training on the noisy labels; clean = training on the clean subset only.
 * Metrics: test accuracy; precision, recall and F1 of flagging corrupted samples (sigma(x_i) < 0.5); losses.
 * Exercised by: tests/test_neural.c, configs/data_cleaning*.ini, `make reproduce`. */
#include "tasks/data_cleaning.h"   /* the typed options; shared data and oracles (tasks/neural.h) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sbo_neural nn;                   /* first member: the shared oracles cast ctx to sbo_neural */
    sbo_data_cleaning_options opts;  /* model, weights, x0 and the image tasks' options */
} dc_ctx;

static const sbo_option dc_options[] = {
    SBO_NEURAL_OPTIONS,
    {"task.model", "linear", "lower model: linear (pixels -> classes softmax regression: 784 -> 10 on Fashion-MNIST, "
     "3072 -> 10 on CIFAR-10) or mlp (pixels -> hidden -> classes)"},
    {"task.hidden", "256", "hidden width of the MLP"},
    {"task.activation", "relu", "MLP activation: relu, tanh or gelu"},
    {"task.noise", "0.5", "fraction of training labels corrupted uniformly at random (to a different class)"},
    {"task.lambda", "1e-3", "L2 coefficient of the lower problem (its strong-convexity constant for the linear model)"},
    {"task.weights", "learned", "learned (sigma(x_i), the bilevel problem), uniform (baseline: all weights 1, "
     "noisy labels) or clean (baseline: train on the clean subset only)"},
    {"task.x0", "0", "initial per-sample logit x_i (0: every weight 1/2)"},
    {NULL, NULL, NULL}};

static void dc_init(sbo_task *t, sbo_stream *s, double *x0, double *Y0) {
    dc_ctx *c = t->ctx;
    for (int i = 0; i < t->d; i++) x0[i] = c->opts.x0;
    memset(Y0, 0, sizeof(double) * (size_t)sbo_layout_total(&t->lower));
    if (c->opts.model == SBO_DC_MLP)   /* hidden layer: He init; output layer and biases start at 0 */
        sbo_neural_init_weight(s, Y0 + t->lower.offset[0], t->lower.block[0].m, t->lower.block[0].n,
                               sbo_neural_init_gain(&c->opts.nn));
}

void sbo_reweight_metrics(sbo_task *t, int weights, const double *x, const double *Y, double *out) {
    sbo_neural *nn = t->ctx;
    double acc_test, acc_val;
    sbo_neural_evaluate(t, SBO_LEVEL_TEST, x, Y, &acc_test);
    double fval = sbo_neural_evaluate(t, SBO_LEVEL_UPPER, x, Y, &acc_val);
    double gval = sbo_neural_evaluate(t, SBO_LEVEL_LOWER, x, Y, NULL);
    out[0] = acc_test;
    if (weights == SBO_DC_LEARNED) {
        long tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < nn->n_train; i++) {
            int flag = x[i] < 0;     /* sigma(x_i) < 1/2 */
            tp += flag && nn->corrupted[i];
            fp += flag && !nn->corrupted[i];
            fn += !flag && nn->corrupted[i];
        }
        double prec = tp + fp ? (double)tp / (tp + fp) : NAN, rec = tp + fn ? (double)tp / (tp + fn) : NAN;
        out[1] = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : (tp + fp ? 0 : NAN);
        out[2] = prec;
        out[3] = rec;
        out[4] = (double)(tp + fp) / nn->n_train;
    } else {
        out[1] = out[2] = out[3] = out[4] = NAN;
    }
    out[5] = fval;
    out[6] = gval;
    out[7] = acc_val;
}

void sbo_reweight_set_metrics(sbo_task *t) {
    static const char *mnames[] = {"test_accuracy", "f1", "precision", "recall", "flagged", "upper_loss",
                                   "lower_loss", "val_accuracy"};
    static const char *mhelp[] = {
        "accuracy on the test split", "F1 of flagging corrupted training samples (sigma(x_i) < 1/2)",
        "precision of the flags", "recall of the flags", "fraction of training samples flagged",
        "f: validation cross-entropy (whole split)", "g: weighted training cross-entropy + L2 (whole split)",
        "accuracy on the validation split"};
    t->n_metrics = 8;
    for (int i = 0; i < 8; i++) { t->metric_names[i] = mnames[i]; t->metric_help[i] = mhelp[i]; }
}

int sbo_reweight_clean_pool(sbo_neural *nn, double noise, char *err, size_t errlen) {
    int k = 0;
    for (int i = 0; i < nn->n_train; i++) if (!nn->corrupted[i]) nn->lower_pool[k++] = i;
    nn->n_lower_pool = k;
    if (k == 0) {
        snprintf(err, errlen, "task.weights = clean but every training label is corrupted (task.noise = %g)", noise);
        return -1;
    }
    return 0;
}

int sbo_reweight_weights_node(sbo_nn_graph *g, int level, int weights, int n_train) {
    if (level != 0 || weights != SBO_DC_LEARNED) return -1;
    int xp = sbo_nn_param_upper(g, "x", 1, n_train, 0);
    return sbo_nn_sigmoid_gather(g, "sigma(x)", xp);
}

static void dc_metrics(sbo_task *t, const double *x, const double *Y, const double *Z, double *out) {
    (void)Z;
    sbo_reweight_metrics(t, ((dc_ctx *)t->ctx)->opts.weights, x, Y, out);
}

static sbo_task_ops dc_ops;

int sbo_data_cleaning_options_check(const sbo_data_cleaning_options *o, char *err, size_t errlen) {
    if (o->model != SBO_DC_LINEAR && o->model != SBO_DC_MLP) {
        snprintf(err, errlen, "task.model must be linear or mlp (%d given)", o->model);
        return -1;
    }
    if (o->weights < SBO_DC_LEARNED || o->weights > SBO_DC_CLEAN) {
        snprintf(err, errlen, "task.weights must be learned, uniform or clean (%d given)", o->weights);
        return -1;
    }
    return sbo_neural_options_check(&o->nn, err, errlen);
}

int sbo_data_cleaning_options_parse(const sbo_config *cfg, sbo_data_cleaning_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (sbo_config_choice(cfg, "task.model", "linear|mlp", &o->model, err, errlen) ||
        sbo_config_choice(cfg, "task.weights", "learned|uniform|clean", &o->weights, err, errlen) ||
        sbo_config_double(cfg, "task.x0", &o->x0, err, errlen) ||
        sbo_neural_options_parse(cfg, &o->nn, err, errlen))
        return -1;
    return sbo_data_cleaning_options_check(o, err, errlen);
}

sbo_task *sbo_data_cleaning_create(const sbo_data_cleaning_options *o, char *err, size_t errlen) {
    if (sbo_data_cleaning_options_check(o, err, errlen)) return NULL;
    sbo_task *t = sbo_neural_task_new(&o->nn, sizeof(dc_ctx), "data_cleaning", err, errlen);
    if (!t) return NULL;
    t->type = &sbo_task_data_cleaning;
    dc_ctx *c = t->ctx;
    c->opts = *o;
    const int mlp = o->model == SBO_DC_MLP, weights = o->weights;
    sbo_neural *nn = &c->nn;
    double noise = o->nn.noise, lambda = o->nn.lambda;
    /* clean baseline: the lower minibatches draw from the clean positions only */
    if (weights == SBO_DC_CLEAN && sbo_reweight_clean_pool(nn, noise, err, errlen)) {
        sbo_neural_free(nn); free(c); free(t);
        return NULL;
    }
    int P = nn->pixels, C = nn->set.n_classes, H = (int)o->nn.hidden;
    /* lower blocks, fan-in first (§3.1) */
    sbo_layout *lay = &t->lower;
    const char *names[4] = {"W1", "b1", "W2", "b2"};
    int shapes[4][2] = {{P, H}, {1, H}, {H, C}, {1, C}};
    if (!mlp) {
        names[0] = "W"; names[1] = "b";
        shapes[0][1] = C; shapes[1][1] = C;
    }
    lay->L = mlp ? 4 : 2;
    for (int l = 0; l < lay->L; l++) {
        snprintf(lay->block[l].name, SBO_NAME_LEN, "%s", names[l]);
        lay->block[l].m = shapes[l][0];
        lay->block[l].n = shapes[l][1];
        lay->block[l].row_symmetric = 1;    /* sum_s (a_s a_s^T) ⊗ G_s + lambda I; biases are 1 x n vectors */
    }
    sbo_layout_finish(lay, NULL);
    t->d = nn->n_train;
    t->mu = lambda;
    /* the two graphs: g on training minibatches (weighted), f on validation minibatches */
    for (int level = 0; level < 2; level++) {
        sbo_nn_graph *g = level == 0 ? &nn->g_lower : &nn->g_upper;
        sbo_nn_graph_init(g, nn->chunk);
        int in = sbo_nn_input(g, "images", P);
        int w1 = sbo_nn_param_lower(g, names[0], shapes[0][0], shapes[0][1], 0);
        int b1 = sbo_nn_param_lower(g, names[1], 1, shapes[1][1], 1);
        int z = sbo_nn_linear(g, mlp ? "h1" : "logits", in, w1, b1);
        if (mlp) {
            int a = sbo_nn_activation(g, "a1", o->nn.activation, z);
            int w2 = sbo_nn_param_lower(g, names[2], H, C, 2);
            int b2 = sbo_nn_param_lower(g, names[3], 1, C, 3);
            z = sbo_nn_linear(g, "logits", a, w2, b2);
        }
        int ce = sbo_nn_xent(g, "ce", z);
        int w = sbo_reweight_weights_node(g, level, weights, nn->n_train);
        int loss = sbo_nn_wmean(g, level == 0 ? "weighted CE" : "CE", ce, w);
        sbo_nn_mark_loss(g, loss);
        if (level == 0) {
            for (int i = 0; i < g->n_values; i++)     /* lambda/2 ||Y||^2 over every lower block */
                if (g->v[i].role == SBO_NN_PARAM && g->v[i].group == SBO_NN_LOWER)
                    sbo_nn_mark_loss(g, sbo_nn_l2(g, "L2", i, lambda));
            nn->in_lower = in;
        } else {
            nn->in_upper = in;
            nn->logits_upper = z;
        }
    }
    dc_ops = *sbo_neural_ops();
    dc_ops.init = dc_init;
    dc_ops.metrics = dc_metrics;
    t->ops = &dc_ops;
    if (sbo_neural_finish(t, nn, err, errlen)) {
        t->ops->destroy(t);
        return NULL;
    }
    sbo_reweight_set_metrics(t);
    t->has_x_star = 0;
    return t;
}

static sbo_task *dc_create(const sbo_config *cfg, char *err, size_t errlen) {
    sbo_data_cleaning_options o;
    return sbo_data_cleaning_options_parse(cfg, &o, err, errlen) ? NULL : sbo_data_cleaning_create(&o, err, errlen);
}

const sbo_task_type sbo_task_data_cleaning = {
    .name = "data_cleaning",
    .description = "hyper-data cleaning on images (Franceschi et al. 2017): per-sample weights sigma(x_i) against "
                   "label noise; linear or MLP lower model",
    .options = dc_options,
    .create = dc_create,
    .network = 1};
