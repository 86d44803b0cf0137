/* tasks/vit_reweight.c: ViT sample reweighting (the paper's fourth experiment, claim 6; CIFAR-100 there,
 * Fashion-MNIST offline here). The bilevel problem is hyper-data cleaning (tasks/data_cleaning.c) with a small vision
 * transformer as the lower model: a fraction task.noise of the training labels is corrupted uniformly at random, the
 * upper variable holds one logit x_i per training sample with weight sigma(x_i),
 *   g(x, Y) = (1/n) sum_i sigma(x_i) CE(vit_Y(a_i), noisy y_i) + lambda/2 ||Y||^2     (every lower block)
 *   f(x, Y) = (1/n_val) sum_j CE(vit_Y(a_j), y_j)                                    (clean validation split)
 * The ViT (pre-norm, as in Dosovitskiy et al. 2021 with mean pooling instead of a class token):
 *   patches   the image cut into T = (rows/p)(cols/p) patches of p x p pixels, token t = patch row-major; the
 *             pixels are reordered once at load so that each patch is contiguous: input (b, T, channels p^2)
 *             (channel-planar inside a patch; CIFAR: 3 channels)
 *   embed     h = patches W_patch + b_patch (token-wise linear) + pos (a learned T x C positional embedding)
 *   blocks    depth times: h += Wo attn(LN1(h)), attn = multi-head softmax(Q K^T / sqrt(dh)) V with Q, K, V =
 *             LN1(h) Wq, Wk, Wv (C x C each, reshaped to heads and permuted, core/nn/op_permute.c);
 *             h += W2 act(LN2(h) W1 + b1) + b2 (C -> task.hidden -> C)
 *   head      logits = mean over tokens of LNf(h), times W_head (C x classes) + b_head
 * Every layer is stored fan-in first (Y = W^T, §3.1), one block per weight, bias, norm parameter and the positional
 * embedding. Row symmetry (§5.2), declared honestly: a token-wise weight (W_patch, Wq, Wk, Wv, Wo, W1, W2) is shared
 * over the tokens, so its diagonal Hessian block is sum_{t,t'} (a_t a_t'^T) (x) G_tt' (the "shared weights" row of the
 * §5.2 table), not row-symmetric in general, and the positional embedding's rows are tokens: all declared 0, so
 * algo.variant = auto picks BROS-general for them. The head after pooling is sum_s (a_s a_s^T) (x) G_s + lambda I
 * (row-symmetric, declared 1); 1 x n blocks (biases, norm parameters) are trivially row-symmetric. The positional
 * embedding and the norm parameters feed ops that take no subspace: the projected methods keep them full
 * (sbo_nn_mark_unprojectable).
 * Init: token-wise weights N(0, gain / fan_in) (gain 2 for W1 under ReLU, else 1), pos N(0, 0.02^2), norm gains 1,
 * biases 0, the head 0.
 * Baselines (task.weights), metrics and flags: as data_cleaning (sbo_reweight_* in tasks/data_cleaning.c).
 * Exercised by: tests/test_vit.c, configs/vit_reweight.ini, `make reproduce`. */
#include "tasks/vit_reweight.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sbo_neural nn;                   /* first member: the shared oracles cast ctx to sbo_neural */
    sbo_vit_reweight_options opts;
    int blk_pos;                     /* lower block of the positional embedding */
    int blk_gain[2 * SBO_VIT_MAX_DEPTH + 1];   /* lower blocks of the norm gains (init 1) */
    int n_gain;
    int blk_init[4 * SBO_VIT_MAX_DEPTH + 2];   /* lower blocks with a Gaussian init, and their gains */
    double gain_init[4 * SBO_VIT_MAX_DEPTH + 2];
    int n_init;
} vit_ctx;

static const sbo_option vit_options[] = {
    SBO_NEURAL_OPTIONS,
    {"task.patch", "7", "side of a square patch in pixels (must divide the image's rows and columns)"},
    {"task.width", "64", "token width C of the transformer"},
    {"task.depth", "2", "transformer blocks (1-4)"},
    {"task.heads", "4", "attention heads (must divide task.width)"},
    {"task.hidden", "128", "width of each block's feed-forward layer (MLP ratio hidden / width)"},
    {"task.activation", "gelu", "feed-forward activation: gelu, relu or tanh"},
    {"task.noise", "0.5", "fraction of training labels corrupted uniformly at random (to a different class)"},
    {"task.lambda", "1e-3", "L2 coefficient of the lower problem (every lower block)"},
    {"task.weights", "learned", "learned (sigma(x_i), the bilevel problem), uniform (baseline: all weights 1, "
     "noisy labels) or clean (baseline: train on the clean subset only)"},
    {"task.x0", "0", "initial per-sample logit x_i (0: every weight 1/2)"},
    {NULL, NULL, NULL}};

int sbo_vit_reweight_options_check(const sbo_vit_reweight_options *o, char *err, size_t errlen) {
    if (o->patch < 1 || o->patch > 64) {
        snprintf(err, errlen, "task.patch = %d is out of range; choose 1 <= task.patch <= 64", o->patch);
        return -1;
    }
    if (o->width < 1 || o->width > 4096 || o->heads < 1 || o->width % o->heads) {
        snprintf(err, errlen, "task.width = %d and task.heads = %d: the width must be 1..4096 and a multiple of the "
                 "number of heads", o->width, o->heads);
        return -1;
    }
    if (o->depth < 1 || o->depth > SBO_VIT_MAX_DEPTH) {
        snprintf(err, errlen, "task.depth = %d is out of range; choose 1 <= task.depth <= %d", o->depth,
                 SBO_VIT_MAX_DEPTH);
        return -1;
    }
    if (o->weights < SBO_DC_LEARNED || o->weights > SBO_DC_CLEAN) {
        snprintf(err, errlen, "task.weights must be learned, uniform or clean (%d given)", o->weights);
        return -1;
    }
    return sbo_neural_options_check(&o->nn, err, errlen);
}

int sbo_vit_reweight_options_parse(const sbo_config *cfg, sbo_vit_reweight_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    long patch = 0, width = 0, depth = 0, heads = 0;
    if (sbo_config_long(cfg, "task.patch", &patch, err, errlen) ||
        sbo_config_long(cfg, "task.width", &width, err, errlen) ||
        sbo_config_long(cfg, "task.depth", &depth, err, errlen) ||
        sbo_config_long(cfg, "task.heads", &heads, err, errlen) ||
        sbo_config_choice(cfg, "task.weights", "learned|uniform|clean", &o->weights, err, errlen) ||
        sbo_config_double(cfg, "task.x0", &o->x0, err, errlen) ||
        sbo_neural_options_parse(cfg, &o->nn, err, errlen))
        return -1;
    if (patch > 64 || width > 4096 || depth > 64 || heads > 4096 || patch < 0 || width < 0 || depth < 0 || heads < 0) {
        snprintf(err, errlen, "task.patch = %ld, task.width = %ld, task.depth = %ld, task.heads = %ld: out of range "
                 "(patch <= 64, width <= 4096, depth <= %d)", patch, width, depth, heads, SBO_VIT_MAX_DEPTH);
        return -1;
    }
    o->patch = (int)patch; o->width = (int)width; o->depth = (int)depth; o->heads = (int)heads;
    return sbo_vit_reweight_options_check(o, err, errlen);
}

static void vit_init(sbo_task *t, sbo_stream *s, double *x0, double *Y0) {
    vit_ctx *c = t->ctx;
    const sbo_layout *lay = &t->lower;
    for (int i = 0; i < t->d; i++) x0[i] = c->opts.x0;
    memset(Y0, 0, sizeof(double) * (size_t)sbo_layout_total(lay));
    for (int k = 0; k < c->n_init; k++) {
        const sbo_block *b = &lay->block[c->blk_init[k]];
        sbo_neural_init_weight(s, Y0 + lay->offset[c->blk_init[k]], b->m, b->n, c->gain_init[k]);
    }
    const sbo_block *p = &lay->block[c->blk_pos];   /* std sqrt(gain / m) = 0.02 */
    sbo_neural_init_weight(s, Y0 + lay->offset[c->blk_pos], p->m, p->n, 0.02 * 0.02 * p->m);
    for (int k = 0; k < c->n_gain; k++)
        for (int j = 0; j < lay->block[c->blk_gain[k]].n; j++) Y0[lay->offset[c->blk_gain[k]] + j] = 1.0;
}

static void vit_metrics(sbo_task *t, const double *x, const double *Y, const double *Z, double *out) {
    (void)Z;
    sbo_reweight_metrics(t, ((vit_ctx *)t->ctx)->opts.weights, x, Y, out);
}

/* Reorders every image of a split in place so that patch t (row-major over the patch grid) is contiguous: its
 * channels x p x p values, channel-planar inside the patch (the order of core/sbo_idx.h within each patch). */
static int patchify(sbo_image_split *sp, int p, char *err, size_t errlen) {
    int R = sp->rows, Cc = sp->cols, ch = sp->channels, P = ch * R * Cc;
    unsigned char *tmp = malloc((size_t)P);
    if (!tmp) { snprintf(err, errlen, "out of memory reordering images into patches"); return -1; }
    for (long i = 0; i < sp->n; i++) {
        unsigned char *img = sp->pixels + i * (long)P;
        int k = 0;
        for (int pr = 0; pr < R / p; pr++)
            for (int pc = 0; pc < Cc / p; pc++)
                for (int c = 0; c < ch; c++)
                    for (int a = 0; a < p; a++)
                        for (int bcol = 0; bcol < p; bcol++)
                            tmp[k++] = img[((long)c * R + pr * p + a) * Cc + pc * p + bcol];
        memcpy(img, tmp, (size_t)P);
    }
    free(tmp);
    return 0;
}

typedef struct {
    sbo_nn_graph *g;
    sbo_layout *lay;
    vit_ctx *c;
    int record;   /* level 0 builds the layout and the init lists; level 1 only the graph */
} builder;

/* A lower parameter and its block (created on the first graph, looked up by name on the second). The block order is
 * the order of these calls: every call is its own statement (never two in one argument list, whose evaluation order C
 * leaves unspecified), so the layout is the same with every compiler. */
static int param(builder *B, const char *name, int m, int n, int rowsym, int kind /* 0 zero, 1 gaussian, 2 gain, 3 pos */,
                 double gain) {
    sbo_layout *lay = B->lay;
    int l;
    if (B->record) {
        l = lay->L++;
        snprintf(lay->block[l].name, SBO_NAME_LEN, "%s", name);
        lay->block[l].m = m;
        lay->block[l].n = n;
        lay->block[l].row_symmetric = rowsym;
        vit_ctx *c = B->c;
        if (kind == 1) { c->blk_init[c->n_init] = l; c->gain_init[c->n_init++] = gain; }
        if (kind == 2) c->blk_gain[c->n_gain++] = l;
        if (kind == 3) c->blk_pos = l;
    } else {
        for (l = 0; l < lay->L && strcmp(lay->block[l].name, name); l++) {}
    }
    return sbo_nn_param_lower(B->g, name, m, n, l);
}

static int layernorm(builder *B, const char *name, int in, int C) {
    char g[SBO_NAME_LEN], b[SBO_NAME_LEN];
    snprintf(g, sizeof g, "%s_gain", name);
    snprintf(b, sizeof b, "%s_bias", name);
    int gain = param(B, g, 1, C, 1, 2, 0), bias = param(B, b, 1, C, 1, 0, 0);
    return sbo_nn_layernorm(B->g, name, in, gain, bias, 1e-5);
}

/* h (b, T, C) -> the token-wise output of multi-head attention (b, T, C), before the residual */
static int attention(builder *B, int k, int a, int T, int C, int H) {
    int dh = C / H, heads[3] = {T, H, dh}, tokens[2] = {T, C}, qkv[3];
    char nm[SBO_NAME_LEN];
    for (int j = 0; j < 3; j++) {
        snprintf(nm, sizeof nm, "W%c%d", "qkv"[j], k);
        int w = param(B, nm, C, C, 0, 1, 1.0);
        int t = sbo_nn_linear(B->g, nm, a, w, -1);                                           /* (b, T, C) */
        qkv[j] = sbo_nn_permute(B->g, "by head", sbo_nn_reshape(B->g, "split heads", t, 3, heads), 1, 2);
    }
    int sc = sbo_nn_matmul(B->g, "scores", qkv[0], qkv[1], 0, 1, 1 / sqrt((double)dh));     /* (b, H, T, T) */
    int p = sbo_nn_softmax(B->g, "attention", sc, 0);
    int o = sbo_nn_permute(B->g, "by token", sbo_nn_matmul(B->g, "mixed", p, qkv[2], 0, 0, 1.0), 1, 2);
    snprintf(nm, sizeof nm, "Wo%d", k);
    int wo = param(B, nm, C, C, 0, 1, 1.0);
    return sbo_nn_linear(B->g, nm, sbo_nn_reshape(B->g, "merge heads", o, 2, tokens), wo, -1);
}

/* Builds the ViT for level (0: g with the sample weights and L2, 1: f); returns the logits value. */
static int build(builder *B, int level, int T, int patch_px, int classes, int *input) {
    const sbo_vit_reweight_options *o = &B->c->opts;
    sbo_nn_graph *g = B->g;
    int C = o->width, Hd = (int)o->nn.hidden;
    int dims[2] = {T, patch_px};
    int in = sbo_nn_input_nd(g, "patches", 2, dims);
    *input = in;
    int wp = param(B, "W_patch", patch_px, C, 0, 1, 1.0), bp = param(B, "b_patch", 1, C, 1, 0, 0);
    int h = sbo_nn_linear(g, "patch embedding", in, wp, bp);
    h = sbo_nn_add_bcast(g, "+ position", h, param(B, "pos", T, C, 0, 3, 0));
    for (int k = 0; k < o->depth; k++) {
        char nm[4][SBO_NAME_LEN];
        snprintf(nm[0], SBO_NAME_LEN, "ln1_%d", k);
        snprintf(nm[1], SBO_NAME_LEN, "ln2_%d", k);
        int a = layernorm(B, nm[0], h, C);
        h = sbo_nn_add(g, "residual (attention)", h, attention(B, k, a, T, C, o->heads));
        a = layernorm(B, nm[1], h, C);
        snprintf(nm[0], SBO_NAME_LEN, "W1_%d", k); snprintf(nm[1], SBO_NAME_LEN, "b1_%d", k);
        snprintf(nm[2], SBO_NAME_LEN, "W2_%d", k); snprintf(nm[3], SBO_NAME_LEN, "b2_%d", k);
        int w1 = param(B, nm[0], C, Hd, 0, 1, sbo_neural_init_gain(&o->nn)), b1 = param(B, nm[1], 1, Hd, 1, 0, 0);
        int u = sbo_nn_linear(g, nm[0], a, w1, b1);
        u = sbo_nn_activation(g, "feed-forward activation", o->nn.activation, u);
        int w2 = param(B, nm[2], Hd, C, 0, 1, 1.0), b2 = param(B, nm[3], 1, C, 1, 0, 0);
        u = sbo_nn_linear(g, nm[2], u, w2, b2);
        h = sbo_nn_add(g, "residual (feed-forward)", h, u);
    }
    int pooled = sbo_nn_mean_tokens(g, "mean pooling", layernorm(B, "ln_f", h, C));
    int wh = param(B, "W_head", C, classes, 1, 0, 0), bh = param(B, "b_head", 1, classes, 1, 0, 0);
    int z = sbo_nn_linear(g, "logits", pooled, wh, bh);
    int ce = sbo_nn_xent(g, "ce", z);
    int w = sbo_reweight_weights_node(g, level, o->weights, B->c->nn.n_train);
    sbo_nn_mark_loss(g, sbo_nn_wmean(g, level == 0 ? "weighted CE" : "CE", ce, w));
    if (level == 0)
        for (int i = 0; i < g->n_values; i++)     /* lambda/2 ||Y||^2 over every lower block */
            if (g->v[i].role == SBO_NN_PARAM && g->v[i].group == SBO_NN_LOWER)
                sbo_nn_mark_loss(g, sbo_nn_l2(g, "L2", i, o->nn.lambda));
    return z;
}

static sbo_task_ops vit_ops;

sbo_task *sbo_vit_reweight_create(const sbo_vit_reweight_options *o, char *err, size_t errlen) {
    if (sbo_vit_reweight_options_check(o, err, errlen)) return NULL;
    sbo_task *t = sbo_neural_task_new(&o->nn, sizeof(vit_ctx), "vit_reweight", err, errlen);
    if (!t) return NULL;
    t->type = &sbo_task_vit_reweight;
    vit_ctx *c = t->ctx;
    c->opts = *o;
    sbo_neural *nn = &c->nn;
    int R = nn->set.train.rows, Cc = nn->set.train.cols, ch = nn->set.train.channels, p = o->patch;
    if (R % p || Cc % p || (o->weights == SBO_DC_CLEAN && sbo_reweight_clean_pool(nn, o->nn.noise, err, errlen))) {
        if (R % p || Cc % p)
            snprintf(err, errlen, "task.patch = %d does not divide the %d x %d images of %s; choose a divisor of both",
                     p, R, Cc, nn->set.name);
        sbo_neural_free(nn); free(c); free(t);
        return NULL;
    }
    if (patchify(&nn->set.train, p, err, errlen) || patchify(&nn->set.test, p, err, errlen)) {
        sbo_neural_free(nn); free(c); free(t);
        return NULL;
    }
    int T = (R / p) * (Cc / p), classes = nn->set.n_classes;
    t->lower.L = 0;
    for (int level = 0; level < 2; level++) {
        sbo_nn_graph *g = level == 0 ? &nn->g_lower : &nn->g_upper;
        sbo_nn_graph_init(g, nn->chunk);
        builder B = {g, &t->lower, c, level == 0};
        int in;
        int z = build(&B, level, T, ch * p * p, classes, &in);
        if (level == 0) {
            sbo_layout_finish(&t->lower, NULL);
            nn->in_lower = in;
        } else {
            nn->in_upper = in;
            nn->logits_upper = z;
        }
    }
    t->d = nn->n_train;
    t->mu = o->nn.lambda;
    vit_ops = *sbo_neural_ops();
    vit_ops.init = vit_init;
    vit_ops.metrics = vit_metrics;
    t->ops = &vit_ops;
    if (sbo_neural_finish(t, nn, err, errlen)) {
        t->ops->destroy(t);
        return NULL;
    }
    sbo_reweight_set_metrics(t);
    t->has_x_star = 0;
    return t;
}

static sbo_task *vit_create(const sbo_config *cfg, char *err, size_t errlen) {
    sbo_vit_reweight_options o;
    return sbo_vit_reweight_options_parse(cfg, &o, err, errlen) ? NULL : sbo_vit_reweight_create(&o, err, errlen);
}

const sbo_task_type sbo_task_vit_reweight = {
    .name = "vit_reweight",
    .description = "ViT sample reweighting (claim 6; Fashion-MNIST offline): per-sample weights sigma(x_i) against "
                   "label noise, a small vision transformer as the lower model",
    .options = vit_options,
    .create = vit_create,
    .network = 1};
