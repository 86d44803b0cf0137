/* tasks/hyper_rep.c: hyper-representation learning on images. The upper variable x is an MLP feature extractor
 * (784 -> hidden, with bias and an activation); the lower variable Y is a linear classification head on those
 * features with ridge (L2) regularization, trained on the training split:
 *   g(x, Y) = (1/n) sum_i CE(head_Y(phi_x(a_i)), y_i) + lambda/2 ||Y||^2   (head weight and bias: lambda-strongly
 *                                                                           convex in Y)
 *   f(x, Y) = (1/n_val) sum_j CE(head_Y(phi_x(a_j)), y_j)                          (validation split)
 * The head is stored fan-in first, Y = W^T (hidden x classes, §3.1); its Hessian is sum_s (phi_s phi_s^T) ⊗ G_s
 * + lambda I, row-symmetric (§5.2). J[Z] runs through the feature extractor (forward-over-reverse on x).
 * Metric: test accuracy (and the losses).
 * Exercised by: tests/test_neural.c, configs/hyper_rep.ini. */
#include "tasks/hyper_rep.h"   /* the typed options; shared data and oracles (tasks/neural.h) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sbo_neural nn;                /* first member: the shared oracles cast ctx to sbo_neural */
    sbo_hyper_rep_options opts;   /* the image tasks' options */
} hr_ctx;

static const sbo_option hr_options[] = {
    SBO_NEURAL_OPTIONS,
    {"task.hidden", "256", "width of the feature extractor (the upper variable is pixels x hidden + hidden: 784 on "
     "Fashion-MNIST, 3072 on CIFAR)"},
    {"task.activation", "relu", "feature activation: relu, tanh or gelu"},
    {"task.noise", "0", "fraction of training labels corrupted (0: clean data)"},
    {"task.lambda", "1e-2", "ridge coefficient of the head (the lower problem's strong-convexity constant)"},
    {NULL, NULL, NULL}};

static void hr_init(sbo_task *t, sbo_stream *s, double *x0, double *Y0) {
    hr_ctx *c = t->ctx;
    memset(x0, 0, sizeof(double) * (size_t)t->d);
    sbo_neural_init_weight(s, x0, c->nn.pixels, (int)c->opts.nn.hidden, sbo_neural_init_gain(&c->opts.nn));
    memset(Y0, 0, sizeof(double) * (size_t)sbo_layout_total(&t->lower));
}

static void hr_metrics(sbo_task *t, const double *x, const double *Y, const double *Z, double *out) {
    double acc_test, acc_val;
    (void)Z;
    sbo_neural_evaluate(t, SBO_LEVEL_TEST, x, Y, &acc_test);
    double fval = sbo_neural_evaluate(t, SBO_LEVEL_UPPER, x, Y, &acc_val);
    double gval = sbo_neural_evaluate(t, SBO_LEVEL_LOWER, x, Y, NULL);
    out[0] = acc_test;
    out[1] = fval;
    out[2] = gval;
    out[3] = acc_val;
}

static sbo_task_ops hr_ops;

int sbo_hyper_rep_options_parse(const sbo_config *cfg, sbo_hyper_rep_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    return sbo_neural_options_parse(cfg, &o->nn, err, errlen);
}

sbo_task *sbo_hyper_rep_create(const sbo_hyper_rep_options *o, char *err, size_t errlen) {
    sbo_task *t = sbo_neural_task_new(&o->nn, sizeof(hr_ctx), "hyper_rep", err, errlen);   /* checks o->nn */
    if (!t) return NULL;
    t->type = &sbo_task_hyper_rep;
    hr_ctx *c = t->ctx;
    c->opts = *o;
    sbo_neural *nn = &c->nn;
    double lambda = o->nn.lambda;
    int P = nn->pixels, C = nn->set.n_classes, H = (int)o->nn.hidden;
    sbo_layout *lay = &t->lower;
    lay->L = 2;
    snprintf(lay->block[0].name, SBO_NAME_LEN, "W_head");
    lay->block[0].m = H; lay->block[0].n = C; lay->block[0].row_symmetric = 1;
    snprintf(lay->block[1].name, SBO_NAME_LEN, "b_head");
    lay->block[1].m = 1; lay->block[1].n = C; lay->block[1].row_symmetric = 1;
    sbo_layout_finish(lay, NULL);
    t->d = P * H + H;
    t->mu = lambda;
    for (int level = 0; level < 2; level++) {
        sbo_nn_graph *g = level == 0 ? &nn->g_lower : &nn->g_upper;
        sbo_nn_graph_init(g, nn->chunk);
        int in = sbo_nn_input(g, "images", P);
        int w1 = sbo_nn_param_upper(g, "W_feat", P, H, 0);
        int b1 = sbo_nn_param_upper(g, "b_feat", 1, H, (long)P * H);
        int h = sbo_nn_linear(g, "h", in, w1, b1);
        int a = sbo_nn_activation(g, "features", o->nn.activation, h);
        int wh = sbo_nn_param_lower(g, "W_head", H, C, 0);
        int bh = sbo_nn_param_lower(g, "b_head", 1, C, 1);
        int z = sbo_nn_linear(g, "logits", a, wh, bh);
        int ce = sbo_nn_xent(g, "ce", z);
        sbo_nn_mark_loss(g, sbo_nn_wmean(g, "CE", ce, -1));
        if (level == 0) {
            sbo_nn_mark_loss(g, sbo_nn_l2(g, "ridge W", wh, lambda));
            sbo_nn_mark_loss(g, sbo_nn_l2(g, "ridge b", bh, lambda));
            nn->in_lower = in;
        } else {
            nn->in_upper = in;
            nn->logits_upper = z;
        }
    }
    hr_ops = *sbo_neural_ops();
    hr_ops.init = hr_init;
    hr_ops.metrics = hr_metrics;
    t->ops = &hr_ops;
    if (sbo_neural_finish(t, nn, err, errlen)) {
        t->ops->destroy(t);
        return NULL;
    }
    static const char *mnames[] = {"test_accuracy", "upper_loss", "lower_loss", "val_accuracy"};
    static const char *mhelp[] = {"accuracy on the test split", "f: validation cross-entropy (whole split)",
                                  "g: training cross-entropy + ridge (whole split)", "accuracy on the validation split"};
    t->n_metrics = 4;
    for (int i = 0; i < 4; i++) { t->metric_names[i] = mnames[i]; t->metric_help[i] = mhelp[i]; }
    return t;
}

static sbo_task *hr_create(const sbo_config *cfg, char *err, size_t errlen) {
    sbo_hyper_rep_options o;
    return sbo_hyper_rep_options_parse(cfg, &o, err, errlen) ? NULL : sbo_hyper_rep_create(&o, err, errlen);
}

const sbo_task_type sbo_task_hyper_rep = {
    .name = "hyper_rep",
    .description = "hyper-representation learning on images: x = MLP feature extractor, Y = ridge-regularized "
                   "linear head",
    .options = hr_options,
    .create = hr_create,
    .network = 1};
