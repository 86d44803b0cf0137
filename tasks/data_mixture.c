/* tasks/data_mixture.c: data-mixture learning for a byte-level causal language model (issue 8).
 * Upper variable x in R^K, one logit per training domain, mixture weights w = softmax(x), initialized uniform
 * (x = 0). Lower: Y = a small GPT-style transformer on bytes (V = 256): token embedding E (stored C x V, the layout of
 * the tied output head, §3.1), a learned positional embedding (T x C), task.layers pre-norm blocks (RMSNorm or
 * LayerNorm; multi-head causal attention as token-wise Q, K, V (C x C) -> reshape (b, T, H, dh) -> permute to
 * (b, H, T, dh) -> scores Q K^T / sqrt(dh) -> causal softmax -> P V -> permute back -> output projection; a GELU
 * feed-forward C -> ffn_hidden -> C (task.ffn: GELU, the default, or SwiGLU, silu(a W1) * (a W3), through the
 * engine's elementwise product `mul`);
 * residuals), a final norm and the head tied to E. No biases. The per-sequence
 * loss L_s is the mean per-token cross-entropy over the T next-byte predictions (nats per byte), and
 *   g(x, Y) = sum_k softmax(x)_k L_k(Y) + lambda/2 ||Y||^2     (every lower block)
 * where L_k is the mean of L_s over domain k's sequences in the minibatch. The lower minibatch is stratified:
 * task.batch_per_domain sequences from every training domain (b = K batch_per_domain), and the engine's
 * softmax_gather gives each sequence the weight K softmax(x)[its domain], so wmean = sum_k w_k L_k exactly.
 *   f(x, Y) = the mean L_s over the target's validation sequences (task.target): validation_mixture (default) =
 *             the uniform mixture of every training domain's validation split (equal numbers of sequences per
 *             domain), or a domain name: that domain's validation split, the domain held out of the K training
 *             domains. f does not depend on x directly.
 * Baselines (task.weights): uniform = x fixed at 0 (the weights never enter g, so grad_x g = 0 and J = 0 and the
 * methods leave x where it starts, as data_cleaning's uniform baseline); target_only = train on the held-out target
 * domain's training split only (needs task.target = a domain).
 * Row symmetry (§5.2): every weight matrix feeds later tokens through attention or is shared across tokens (E is
 * also the head), so its Hessian block is not row-symmetric in general: declared 0; the 1 x C norm gains are 1 x n
 * blocks (trivially row-symmetric): declared 1. algo.variant = auto therefore picks BROS-general. E and the
 * positions feed ops without a reduced mode (embedding, add_bcast): declared not_projectable (the engine marks them too: sbo_nn_mark_unprojectable), the projected methods keep
 * them full.
 * Data: tasks/text_domains.h (Debian packages, a byte budget per domain, 4 KiB chunks split by a keyed
 * permutation); docs/DATA.md lists the domains. A sample id (sbo_batch ids) is (domain << 32) | offset: the
 * sequence is bytes [offset, offset + T] of that domain (T inputs, T next-byte targets), inside one chunk.
 * Exact (NULL-batch) oracles and metrics use fixed evaluation sequences: task.eval_seqs per domain and split.
 * Metrics: the target loss (f over its fixed validation sequences; for validation_mixture the mean of the training
 * domains' validation losses, the same set with the same number of sequences per domain) and perplexity, the test
 * loss on the target's test split and its perplexity, g over the lower evaluation set, each domain's validation
 * loss (its perplexity is exp of it), and each training domain's weight (learned: softmax(x); uniform: 1/K;
 * target_only: 0, the target not being a training domain). Losses in nats per byte.
 * Defaults (configs/data_mixture.ini): context 64, width 64, 2 blocks of 4 heads, FFN 128, RMSNorm, 2 sequences per
 * domain (b = 16), upper batch 16, lambda 1e-4, float32.
 * Exercised by: tests/test_mixture.c, configs/data_mixture.ini. */
#include "tasks/data_mixture.h"   /* the typed options; shared network oracles (tasks/neural.h) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DM_V 256                  /* bytes */
#define DM_DEFAULT_DOMAINS "fortunes_en,fortunes_de,fortunes_es,fortunes_it,jargon,foldoc,c_headers,python"

typedef struct {
    sbo_neural nn;                  /* first member: the shared oracles cast ctx to sbo_neural */
    sbo_data_mixture_options opts;
    sbo_text_domain dom[SBO_TEXT_MAX_DOMAINS];
    int K;                          /* training domains */
    int train_dom[SBO_TEXT_MAX_DOMAINS];   /* training index -> domain */
    int train_of[SBO_TEXT_MAX_DOMAINS];    /* domain -> training index, -1 when held out */
    int T;
    long *eval[SBO_TEXT_MAX_DOMAINS][3];   /* eval_seqs fixed sample ids per domain and split */
    long *exact[3];                 /* the exact sets of g (training evaluation sequences), f (validation), test */
    int *tokens, *targets, *dom_ids;       /* one executor fill: chunk x T, chunk x T, chunk */
    long *last_ids[2];              /* what each executor (lower, upper) holds now */
    int last_b[2];
    int tok_in[2], tgt_in[2];       /* the graphs' integer inputs */
    char mname[SBO_MAX_METRICS][48];
    char mhelp[SBO_MAX_METRICS][160];
} dm_ctx;

static const sbo_option dm_options[] = {
    {"task.domains", DM_DEFAULT_DOMAINS, "text domains, comma-separated (docs/DATA.md): fortunes_en, fortunes_de, "
     "fortunes_es, fortunes_it, jargon, foldoc, manpages, c_headers, python; with task.text_dir any names"},
    {"task.target", "validation_mixture", "upper objective: validation_mixture (the uniform mixture of every training "
     "domain's validation split) or a domain name (its validation split; the domain is held out of training)"},
    {"task.weights", "learned", "learned (softmax(x), the bilevel problem), uniform (baseline: x fixed at 0) or "
     "target_only (baseline: train on the held-out target domain only; needs task.target = a domain)"},
    {"task.text_dir", "", "read each domain from DIR/<domain> instead of its Debian package's place (tests)"},
    {"task.domain_bytes", "2097152", "byte budget per domain (files read in sorted order, the last one cut)"},
    {"task.chunk_bytes", "4096", "split unit: contiguous chunks dealt to train/validation/test (80/10/10) by a "
     "permutation keyed by task.data_seed and the domain's name"},
    {"task.context", "64", "T: bytes per sequence (T next-byte predictions)"},
    {"task.width", "64", "C: model width"},
    {"task.layers", "2", "transformer blocks"},
    {"task.heads", "4", "attention heads (task.width must be a multiple)"},
    {"task.ffn_hidden", "128", "hidden width of the feed-forward"},
    {"task.ffn", "gelu", "feed-forward: gelu (W2 gelu(W1 a)) or swiglu (W2 (silu(W1 a) * W3 a), LLaMA's gate)"},
    {"task.norm", "rmsnorm", "rmsnorm (gain) or layernorm (gain and shift)"},
    {"task.batch_per_domain", "2", "lower minibatch: sequences per training domain (stratified; b = K x this)"},
    {"task.upper_batch", "16", "upper minibatch: sequences of the target (validation_mixture: dealt round-robin "
     "over the domains from a random first one)"},
    {"task.eval_seqs", "32", "fixed evaluation sequences per domain and split (exact oracles and metrics)"},
    {"task.lambda", "1e-4", "L2 coefficient of the lower problem (every block)"},
    {"task.precision", "float32", "engine precision: float32 or float64 (the algorithm state is always double)"},
    {"task.data_seed", "1", "seed of the splits and of the evaluation sequences"},
    {NULL, NULL, NULL}};

/* --- options ------------------------------------------------------------------------------------------- */
static int range_err(const char *key, long v, long lo, long hi, char *err, size_t errlen) {
    if (v >= lo && v <= hi) return 0;
    snprintf(err, errlen, "%s = %ld is out of range; choose %ld <= %s <= %ld", key, v, lo, key, hi);
    return -1;
}

static int blocks_per_layer(const sbo_data_mixture_options *o) {
    return (o->norm == SBO_DM_LAYERNORM ? 10 : 8) + (o->ffn == SBO_DM_SWIGLU);
}

int sbo_data_mixture_options_check(const sbo_data_mixture_options *o, char *err, size_t errlen) {
    int top = o->norm == SBO_DM_LAYERNORM ? 4 : 3;   /* E, positions, the final norm */
    long max_layers = (SBO_MAX_BLOCKS - top) / blocks_per_layer(o);
    if (o->n_domains < 2 || o->n_domains > SBO_TEXT_MAX_DOMAINS) {
        snprintf(err, errlen, "task.domains lists %d domains; 2 to %d are supported", o->n_domains,
                 SBO_TEXT_MAX_DOMAINS);
        return -1;
    }
    if (o->target >= o->n_domains || (o->target >= 0 && o->n_domains < 3)) {
        snprintf(err, errlen, "task.target: a held-out domain needs at least 2 other domains in task.domains");
        return -1;
    }
    if (o->weights == SBO_DM_TARGET_ONLY && o->target < 0) {
        snprintf(err, errlen, "task.weights = target_only needs task.target = a domain name (validation_mixture is "
                 "not one domain)");
        return -1;
    }
    if (o->weights < SBO_DM_LEARNED || o->weights > SBO_DM_TARGET_ONLY || (o->norm != 0 && o->norm != 1) ||
        (o->ffn != 0 && o->ffn != 1) || (o->precision != 32 && o->precision != 64)) {
        snprintf(err, errlen, "task.weights, task.norm, task.ffn or task.precision has no valid value");
        return -1;
    }
    if (range_err("task.context", o->context, 1, 1024, err, errlen) ||
        range_err("task.width", o->width, 1, 4096, err, errlen) ||
        range_err("task.layers", o->layers, 1, max_layers, err, errlen) ||
        range_err("task.heads", o->heads, 1, o->width, err, errlen) ||
        range_err("task.ffn_hidden", o->ffn_hidden, 1, 65536, err, errlen) ||
        range_err("task.batch_per_domain", o->batch_per_domain, 1, 4096, err, errlen) ||
        range_err("task.upper_batch", o->upper_batch, 1, 65536, err, errlen) ||
        range_err("task.eval_seqs", o->eval_seqs, 1, 1000000, err, errlen) ||
        range_err("task.chunk_bytes", o->chunk_bytes, o->context + 1, 1L << 30, err, errlen) ||
        range_err("task.domain_bytes", o->domain_bytes, 3 * o->chunk_bytes, 1L << 31, err, errlen) ||
        range_err("task.data_seed", o->data_seed, 0, 1L << 62, err, errlen))
        return -1;
    if (o->width % o->heads) {
        snprintf(err, errlen, "task.width = %ld must be a multiple of task.heads = %ld", o->width, o->heads);
        return -1;
    }
    if (!(o->lambda > 0) || !isfinite(o->lambda)) {
        snprintf(err, errlen, "task.lambda = %g must be positive", o->lambda);
        return -1;
    }
    return 0;
}

int sbo_data_mixture_options_parse(const sbo_config *cfg, sbo_data_mixture_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    int prec = 0;
    if (sbo_config_choice(cfg, "task.weights", "learned|uniform|target_only", &o->weights, err, errlen) ||
        sbo_config_choice(cfg, "task.norm", "rmsnorm|layernorm", &o->norm, err, errlen) ||
        sbo_config_choice(cfg, "task.ffn", "gelu|swiglu", &o->ffn, err, errlen) ||
        sbo_config_choice(cfg, "task.precision", "float32|float64", &prec, err, errlen) ||
        sbo_config_long(cfg, "task.domain_bytes", &o->domain_bytes, err, errlen) ||
        sbo_config_long(cfg, "task.chunk_bytes", &o->chunk_bytes, err, errlen) ||
        sbo_config_long(cfg, "task.context", &o->context, err, errlen) ||
        sbo_config_long(cfg, "task.width", &o->width, err, errlen) ||
        sbo_config_long(cfg, "task.layers", &o->layers, err, errlen) ||
        sbo_config_long(cfg, "task.heads", &o->heads, err, errlen) ||
        sbo_config_long(cfg, "task.ffn_hidden", &o->ffn_hidden, err, errlen) ||
        sbo_config_long(cfg, "task.batch_per_domain", &o->batch_per_domain, err, errlen) ||
        sbo_config_long(cfg, "task.upper_batch", &o->upper_batch, err, errlen) ||
        sbo_config_long(cfg, "task.eval_seqs", &o->eval_seqs, err, errlen) ||
        sbo_config_long(cfg, "task.data_seed", &o->data_seed, err, errlen) ||
        sbo_config_double(cfg, "task.lambda", &o->lambda, err, errlen))
        return -1;
    o->precision = prec ? 64 : 32;
    const char *dir = sbo_config_get(cfg, "task.text_dir"), *list = sbo_config_get(cfg, "task.domains");
    const char *target = sbo_config_get(cfg, "task.target");
    snprintf(o->text_dir, sizeof o->text_dir, "%s", dir ? dir : "");
    if (!list) list = DM_DEFAULT_DOMAINS;
    for (const char *p = list; *p;) {   /* comma-separated names, spaces around them ignored */
        while (*p == ' ' || *p == ',') p++;
        size_t k = strcspn(p, ", ");
        if (!k) break;
        if (o->n_domains == SBO_TEXT_MAX_DOMAINS || k >= sizeof o->domains[0]) {
            snprintf(err, errlen, "task.domains = '%s': at most %d names of up to 31 characters", list,
                     SBO_TEXT_MAX_DOMAINS);
            return -1;
        }
        memcpy(o->domains[o->n_domains], p, k);
        o->domains[o->n_domains][k] = 0;
        if (!o->text_dir[0] && !sbo_text_source_find(o->domains[o->n_domains])) {
            snprintf(err, errlen, "task.domains: unknown domain '%s'; known: " DM_DEFAULT_DOMAINS ",manpages (or set "
                     "task.text_dir)", o->domains[o->n_domains]);
            return -1;
        }
        for (int j = 0; j < o->n_domains; j++)
            if (strcmp(o->domains[j], o->domains[o->n_domains]) == 0) {
                snprintf(err, errlen, "task.domains lists '%s' twice", o->domains[j]);
                return -1;
            }
        o->n_domains++;
        p += k;
    }
    o->target = -1;
    if (target && strcmp(target, "validation_mixture") != 0) {
        for (int j = 0; j < o->n_domains; j++)
            if (strcmp(o->domains[j], target) == 0) o->target = j;
        if (o->target < 0) {
            snprintf(err, errlen, "task.target = '%s' is neither validation_mixture nor a domain of task.domains",
                     target);
            return -1;
        }
    }
    return sbo_data_mixture_options_check(o, err, errlen);
}

/* --- samples ------------------------------------------------------------------------------------------- */
static long seq_id(int d, long offset) { return ((long)d << 32) | offset; }

/* a sequence start inside chunk c of domain dom: T + 1 bytes fit */
static long seq_in_chunk(const sbo_text_domain *dom, long c, int T, double u) {
    long span = dom->chunk - T, o = (long)(u * span);
    return c * dom->chunk + (o < span ? o : span - 1);
}

/* a random sequence of split k (0 train, 1 validation) of domain d */
static long draw_seq(const dm_ctx *c, int d, int k, sbo_stream *s) {
    const sbo_text_domain *dom = &c->dom[d];
    long j = (long)(sbo_stream_uniform(s) * dom->n[k]);
    if (j >= dom->n[k]) j = dom->n[k] - 1;
    return seq_id(d, seq_in_chunk(dom, dom->chunks[k][j], c->T, sbo_stream_uniform(s)));
}

/* lower: batch_per_domain sequences of every training domain in turn (target_only: all of the target); upper: the
 * target's validation sequences (validation_mixture: domains round-robin from a random first one, so that an upper
 * batch smaller than K, or not a multiple of it, still gives every domain the same chance) */
static void dm_sample(sbo_task *t, sbo_stream *s, sbo_batch *batch) {
    dm_ctx *c = t->ctx;
    const sbo_data_mixture_options *o = &c->opts;
    long k0 = 0;
    if (batch->level != SBO_LEVEL_LOWER && o->target < 0) {
        k0 = (long)(sbo_stream_uniform(s) * c->K);
        if (k0 >= c->K) k0 = c->K - 1;
    }
    for (long i = 0; i < batch->n_ids; i++) {
        int d;
        if (batch->level == SBO_LEVEL_LOWER)
            d = o->weights == SBO_DM_TARGET_ONLY ? o->target : c->train_dom[(i / o->batch_per_domain) % c->K];
        else
            d = o->target >= 0 ? o->target : c->train_dom[(k0 + i) % c->K];
        batch->ids[i] = draw_seq(c, d, batch->level == SBO_LEVEL_LOWER ? 0 : 1, s);
    }
}

/* sbo_neural's fill hook: tokens, next-byte targets and training-domain ids of the sequences into level's executor
 * (a fill equal to the executor's previous one is not reloaded) */
static void dm_fill(sbo_task *t, int level, const long *ids, int b) {
    dm_ctx *c = t->ctx;
    int k = level == SBO_LEVEL_LOWER ? 0 : 1, T = c->T;
    sbo_nn_exec *e = k ? c->nn.upper : c->nn.lower;
    if (c->last_b[k] == b && memcmp(c->last_ids[k], ids, sizeof(long) * (size_t)b) == 0) return;
    c->last_b[k] = b;
    memcpy(c->last_ids[k], ids, sizeof(long) * (size_t)b);
    for (int i = 0; i < b; i++) {
        int d = (int)(ids[i] >> 32);
        const unsigned char *p = c->dom[d].bytes + (ids[i] & 0xffffffffL);
        for (int j = 0; j < T; j++) {
            c->tokens[(long)i * T + j] = p[j];
            c->targets[(long)i * T + j] = p[j + 1];
        }
        c->dom_ids[i] = c->train_of[d] >= 0 ? c->train_of[d] : 0;
    }
    sbo_nn_set_input_int(e, c->tok_in[k], c->tokens, b);
    sbo_nn_set_input_int(e, c->tgt_in[k], c->targets, b);
    if ((k ? c->nn.g_upper : c->nn.g_lower).ids_in >= 0) sbo_nn_set_ids(e, c->dom_ids, b);
}

static long dm_exact_id(const sbo_task *t, int level, long i) { return ((const dm_ctx *)t->ctx)->exact[level][i]; }

/* --- the network ------------------------------------------------------------------------------------------ */
typedef struct {
    sbo_nn_graph *g;
    sbo_layout *lay;                /* level 0 fills it; level 1 only counts */
    int level, next;
} builder;

/* not_projectable: the block feeds an op without a reduced mode (the embedding table, the positional add_bcast) */
static int param_full(builder *B, const char *name, int m, int n, int row_symmetric, int not_projectable) {
    int l = B->next++;
    if (B->level == 0) {
        snprintf(B->lay->block[l].name, SBO_NAME_LEN, "%s", name);
        B->lay->block[l].m = m;
        B->lay->block[l].n = n;
        B->lay->block[l].row_symmetric = row_symmetric;
        B->lay->block[l].not_projectable = not_projectable;
        B->lay->L = B->next;
    }
    return sbo_nn_param_lower(B->g, name, m, n, l);
}

static int param(builder *B, const char *name, int m, int n, int row_symmetric) {
    return param_full(B, name, m, n, row_symmetric, 0);
}

static int norm(builder *B, const sbo_data_mixture_options *o, const char *name, int in) {
    char nm[40];
    int C = (int)o->width;
    snprintf(nm, sizeof nm, "%s.gain", name);
    int gain = param(B, nm, 1, C, 1);   /* 1 x C: trivially row-symmetric */
    if (o->norm == SBO_DM_RMSNORM) return sbo_nn_rmsnorm(B->g, name, in, gain, 1e-5);
    snprintf(nm, sizeof nm, "%s.shift", name);
    return sbo_nn_layernorm(B->g, name, in, gain, param(B, nm, 1, C, 1), 1e-5);
}

/* multi-head causal attention of a (b, T, C), the standard layout (tests/test_nn_ops.c, attention_standard) */
static int attention(builder *B, const sbo_data_mixture_options *o, int l, int a) {
    int T = (int)o->context, C = (int)o->width, H = (int)o->heads, dh = C / H;
    int heads[3] = {T, H, dh}, tokens[2] = {T, C}, qkv[3];
    char nm[40];
    for (int j = 0; j < 3; j++) {
        snprintf(nm, sizeof nm, "l%d.W%c", l, "qkv"[j]);
        int t = sbo_nn_linear(B->g, nm, a, param(B, nm, C, C, 0), -1);
        qkv[j] = sbo_nn_permute(B->g, "by head", sbo_nn_reshape(B->g, "split", t, 3, heads), 1, 2);
    }
    int sc = sbo_nn_matmul(B->g, "scores", qkv[0], qkv[1], 0, 1, 1 / sqrt((double)dh));   /* (b, H, T, T) */
    int p = sbo_nn_softmax(B->g, "attention", sc, 1);
    int m = sbo_nn_permute(B->g, "by token", sbo_nn_matmul(B->g, "mixed", p, qkv[2], 0, 0, 1.0), 1, 2);
    snprintf(nm, sizeof nm, "l%d.Wo", l);
    return sbo_nn_linear(B->g, nm, sbo_nn_reshape(B->g, "merge", m, 2, tokens), param(B, nm, C, C, 0), -1);
}

/* the per-sequence loss (b x 1): the mean over the T positions of the next-byte cross-entropy */
static int language_model(builder *B, const sbo_data_mixture_options *o, int tok, int tgt) {
    int T = (int)o->context, C = (int)o->width, F = (int)o->ffn_hidden;
    int E = param_full(B, "E", C, DM_V, 0, 1);   /* C x V: the tied head's layout; shared, not row-symmetric */
    int h = sbo_nn_embedding(B->g, "embed", tok, E, 1);
    h = sbo_nn_add_bcast(B->g, "positions", h, param_full(B, "pos", T, C, 0, 1));
    char nm[40];
    for (int l = 0; l < o->layers; l++) {
        snprintf(nm, sizeof nm, "l%d.norm1", l);
        h = sbo_nn_add(B->g, "residual", h, attention(B, o, l, norm(B, o, nm, h)));
        snprintf(nm, sizeof nm, "l%d.norm2", l);
        int a = norm(B, o, nm, h);
        snprintf(nm, sizeof nm, "l%d.W1", l);
        int w1 = param(B, nm, C, F, 0), u;
        if (o->ffn == SBO_DM_SWIGLU) {   /* silu(a W1) * (a W3): W1 the gate, W3 the up projection */
            int g = sbo_nn_activation(B->g, "silu", SBO_NN_SILU, sbo_nn_linear(B->g, nm, a, w1, -1));
            snprintf(nm, sizeof nm, "l%d.W3", l);
            int w3 = param(B, nm, C, F, 0);
            u = sbo_nn_mul(B->g, "swiglu", g, sbo_nn_linear(B->g, nm, a, w3, -1));
        } else {
            u = sbo_nn_activation(B->g, "gelu", SBO_NN_GELU, sbo_nn_linear(B->g, nm, a, w1, -1));
        }
        a = u;
        snprintf(nm, sizeof nm, "l%d.W2", l);
        h = sbo_nn_add(B->g, "residual", h, sbo_nn_linear(B->g, nm, a, param(B, nm, F, C, 0), -1));
    }
    int z = sbo_nn_linear(B->g, "logits", norm(B, o, "final_norm", h), E, -1);   /* tied head: (b, T, V) */
    return sbo_nn_mean_tokens(B->g, "sequence loss", sbo_nn_xent_labels(B->g, "next-byte CE", z, tgt));
}

/* init: x = 0 (uniform weights); weights N(0, 1/fan_in), the residual outputs (Wo, W2) scaled by 1/sqrt(2 layers)
 * (GPT-2), positions 0, gains 1, shifts 0 */
static void dm_init(sbo_task *t, sbo_stream *s, double *x0, double *Y0) {
    dm_ctx *c = t->ctx;
    memset(x0, 0, sizeof(double) * (size_t)t->d);
    for (int l = 0; l < t->lower.L; l++) {
        const sbo_block *bl = &t->lower.block[l];
        double *Yl = Y0 + t->lower.offset[l];
        long n = (long)bl->m * bl->n;
        const char *nm = bl->name;
        if (strstr(nm, ".gain")) for (long i = 0; i < n; i++) Yl[i] = 1;
        else if (strstr(nm, ".shift") || strcmp(nm, "pos") == 0) memset(Yl, 0, sizeof(double) * (size_t)n);
        else {
            int out = strstr(nm, ".Wo") || strstr(nm, ".W2");
            sbo_neural_init_weight(s, Yl, bl->m, bl->n, out ? 1.0 / (2.0 * c->opts.layers) : 1.0);
        }
    }
}

/* --- metrics ---------------------------------------------------------------------------------------------- */
void sbo_data_mixture_weights(const sbo_task *t, const double *x, double *w) {
    const dm_ctx *c = t->ctx;
    int K = c->K;
    if (c->opts.weights == SBO_DM_LEARNED) {
        double mx = x[0], Z = 0;
        for (int k = 1; k < K; k++) mx = fmax(mx, x[k]);
        for (int k = 0; k < K; k++) Z += exp(x[k] - mx);
        for (int k = 0; k < K; k++) w[k] = exp(x[k] - mx) / Z;
    } else {
        for (int k = 0; k < K; k++) w[k] = c->opts.weights == SBO_DM_UNIFORM ? 1.0 / K : 0;
    }
}

static void dm_metrics(sbo_task *t, const double *x, const double *Y, const double *Z, double *out) {
    dm_ctx *c = t->ctx;
    const sbo_data_mixture_options *o = &c->opts;
    (void)Z;
    int nd = o->n_domains;
    double target = 0;
    for (int d = 0; d < nd; d++) {
        out[5 + d] = sbo_neural_mean_loss(t, SBO_LEVEL_UPPER, x, Y, c->eval[d][1], o->eval_seqs);
        if (o->target < 0 ? c->train_of[d] >= 0 : d == o->target) target += out[5 + d];
    }
    /* f over its exact set: the target's validation sequences (validation_mixture: the same number per domain, so
     * the mean of the domains' validation losses) */
    out[0] = o->target < 0 ? target / c->K : target;
    out[1] = exp(out[0]);
    out[2] = sbo_neural_evaluate(t, SBO_LEVEL_TEST, x, Y, NULL);
    out[3] = exp(out[2]);
    out[4] = sbo_neural_evaluate(t, SBO_LEVEL_LOWER, x, Y, NULL);
    sbo_data_mixture_weights(t, x, out + 5 + nd);
}

static void set_metric(dm_ctx *c, sbo_task *t, int i, const char *name, const char *help, const char *dom) {
    snprintf(c->mname[i], sizeof c->mname[i], "%s%s", name, dom ? dom : "");
    snprintf(c->mhelp[i], sizeof c->mhelp[i], help, dom ? dom : "");
    t->metric_names[i] = c->mname[i];
    t->metric_help[i] = c->mhelp[i];
}

/* --- create / destroy ------------------------------------------------------------------------------------- */
static void dm_free(dm_ctx *c) {
    for (int d = 0; d < SBO_TEXT_MAX_DOMAINS; d++) {
        sbo_text_domain_free(&c->dom[d]);
        for (int k = 0; k < 3; k++) free(c->eval[d][k]);
    }
    for (int k = 0; k < 3; k++) free(c->exact[k]);
    free(c->tokens); free(c->targets); free(c->dom_ids); free(c->last_ids[0]); free(c->last_ids[1]);
}

static const sbo_task_ops *neural_ops_base;
static void dm_destroy(sbo_task *t) {
    dm_free(t->ctx);
    neural_ops_base->destroy(t);   /* the networks, the task's arena, ctx and t */
}

static sbo_task_ops dm_ops;

/* the domains, their evaluation sequences and the three exact sets */
static int dm_load(dm_ctx *c, const sbo_data_mixture_options *o, char *err, size_t errlen) {
    c->T = (int)o->context;
    c->K = 0;
    for (int d = 0; d < o->n_domains; d++) {
        const sbo_text_source *known = sbo_text_source_find(o->domains[d]);
        sbo_text_source own = {o->domains[d], "(none: files under task.text_dir)", "", 1, "", "", ""};
        char dir[SBO_CONFIG_VALUE_LEN + 40];
        if (o->text_dir[0]) {
            if (known) own = *known;
            snprintf(dir, sizeof dir, "%s/%s", o->text_dir, o->domains[d]);
        }
        if (sbo_text_domain_load(o->text_dir[0] || !known ? &own : known, o->text_dir[0] ? dir : NULL,
                                 o->domain_bytes, o->chunk_bytes, (uint64_t)o->data_seed, &c->dom[d], err, errlen))
            return -1;
        c->train_of[d] = -1;
        if (d != o->target) {
            c->train_dom[c->K] = d;
            c->train_of[d] = c->K++;
        }
        sbo_stream st;
        for (int k = 0; k < 3; k++) {
            c->eval[d][k] = malloc(sizeof(long) * (size_t)o->eval_seqs);
            if (!c->eval[d][k]) goto oom;
            sbo_stream_init(&st, (uint64_t)o->data_seed, SBO_RNG_DATA_SPLIT, (uint32_t)(100 + 3 * d + k), 0);
            for (long i = 0; i < o->eval_seqs; i++)
                c->eval[d][k][i] = seq_id(d, seq_in_chunk(&c->dom[d], c->dom[d].chunks[k][i % c->dom[d].n[k]], c->T,
                                                          sbo_stream_uniform(&st)));
        }
    }
    /* exact sets: g over the training sequences it trains on, f and test over the target's */
    for (int k = 0; k < 3; k++) {
        int one = k == 0 ? o->weights == SBO_DM_TARGET_ONLY : o->target >= 0;
        int n_dom = one ? 1 : c->K;
        c->exact[k] = malloc(sizeof(long) * (size_t)(n_dom * o->eval_seqs));
        if (!c->exact[k]) goto oom;
        for (int j = 0; j < n_dom; j++)
            memcpy(c->exact[k] + j * o->eval_seqs, c->eval[one ? o->target : c->train_dom[j]][k],
                   sizeof(long) * (size_t)o->eval_seqs);
        long n = (long)n_dom * o->eval_seqs;
        if (k == 0) c->nn.n_lower_pool = (int)n;
        else if (k == 1) c->nn.n_val = (int)n;
        else c->nn.n_test = (int)n;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory loading the text domains");
    return -1;
}

sbo_task *sbo_data_mixture_create(const sbo_data_mixture_options *o, char *err, size_t errlen) {
    if (sbo_data_mixture_options_check(o, err, errlen)) return NULL;
    sbo_task *t = calloc(1, sizeof *t);
    dm_ctx *c = calloc(1, sizeof *c);
    if (!t || !c) {
        free(t); free(c);
        snprintf(err, errlen, "out of memory creating the data_mixture task");
        return NULL;
    }
    t->ctx = c;
    t->type = &sbo_task_data_mixture;
    c->opts = *o;
    neural_ops_base = sbo_neural_ops();
    dm_ops = *neural_ops_base;
    dm_ops.init = dm_init;
    dm_ops.sample = dm_sample;
    dm_ops.metrics = dm_metrics;
    dm_ops.destroy = dm_destroy;
    sbo_neural *nn = &c->nn;
    if (dm_load(c, o, err, errlen)) {
        dm_free(c); free(c); free(t);
        return NULL;
    }
    t->ops = &dm_ops;
    nn->precision = o->precision;
    nn->b_lower = (int)(o->batch_per_domain * c->K);   /* target_only: the same b, all from the target */
    nn->b_upper = (int)o->upper_batch;
    nn->chunk = nn->b_lower > nn->b_upper ? nn->b_lower : nn->b_upper;
    nn->logits_upper = -1;   /* no accuracy */
    nn->fill_ids = dm_fill;
    nn->exact_id = dm_exact_id;
    int T = c->T;
    c->tokens = malloc(sizeof(int) * (size_t)nn->chunk * T);
    c->targets = malloc(sizeof(int) * (size_t)nn->chunk * T);
    c->dom_ids = malloc(sizeof(int) * (size_t)nn->chunk);
    c->last_ids[0] = malloc(sizeof(long) * (size_t)nn->chunk);
    c->last_ids[1] = malloc(sizeof(long) * (size_t)nn->chunk);
    if (!c->tokens || !c->targets || !c->dom_ids || !c->last_ids[0] || !c->last_ids[1]) {
        snprintf(err, errlen, "out of memory creating the data_mixture task");
        t->ops->destroy(t);
        return NULL;
    }
    c->last_b[0] = c->last_b[1] = -1;
    t->d = c->K;
    t->mu = o->lambda;
    for (int level = 0; level < 2; level++) {
        sbo_nn_graph *g = level == 0 ? &nn->g_lower : &nn->g_upper;
        sbo_nn_graph_init(g, nn->chunk);
        builder B = {.g = g, .lay = &t->lower, .level = level};
        c->tok_in[level] = sbo_nn_input_int(g, "tokens", T);
        c->tgt_in[level] = sbo_nn_input_int(g, "targets", T);
        int seq = language_model(&B, o, c->tok_in[level], c->tgt_in[level]);
        int w = -1;
        if (level == 0 && o->weights == SBO_DM_LEARNED)
            w = sbo_nn_softmax_gather(g, "K softmax(x)[domain]", sbo_nn_param_upper(g, "x", 1, c->K, 0), c->K);
        sbo_nn_mark_loss(g, sbo_nn_wmean(g, level == 0 ? "mixture loss" : "target loss", seq, w));
        if (level == 0)
            for (int i = 0; i < g->n_values; i++)     /* lambda/2 ||Y||^2 over every lower block */
                if (g->v[i].role == SBO_NN_PARAM && g->v[i].group == SBO_NN_LOWER)
                    sbo_nn_mark_loss(g, sbo_nn_l2(g, "L2", i, o->lambda));
    }
    sbo_layout_finish(&t->lower, NULL);
    if (sbo_neural_finish(t, nn, err, errlen)) {
        t->ops->destroy(t);
        return NULL;
    }
    int nd = o->n_domains;
    set_metric(c, t, 0, "target_loss", "f: the target's validation loss, nats per byte (fixed evaluation sequences)",
               NULL);
    set_metric(c, t, 1, "target_ppl", "exp(target_loss): per-byte perplexity", NULL);
    set_metric(c, t, 2, "test_loss", "the target's test-split loss, nats per byte", NULL);
    set_metric(c, t, 3, "test_ppl", "exp(test_loss)", NULL);
    set_metric(c, t, 4, "lower_loss", "g: the weighted training loss + L2 (fixed training sequences)", NULL);
    for (int d = 0; d < nd; d++)
        set_metric(c, t, 5 + d, "val_", "domain %s: validation loss, nats per byte (perplexity: exp)", o->domains[d]);
    for (int k = 0; k < c->K; k++)
        set_metric(c, t, 5 + nd + k, "w_", "mixture weight of training domain %s", o->domains[c->train_dom[k]]);
    t->n_metrics = 5 + nd + c->K;
    t->has_x_star = 0;
    return t;
}

static sbo_task *dm_create(const sbo_config *cfg, char *err, size_t errlen) {
    sbo_data_mixture_options o;
    return sbo_data_mixture_options_parse(cfg, &o, err, errlen) ? NULL : sbo_data_mixture_create(&o, err, errlen);
}

const sbo_task_type sbo_task_data_mixture = {
    .name = "data_mixture",
    .description = "data-mixture learning: weights softmax(x) over K text domains (Debian packages) for a byte-level "
                   "causal transformer; upper: the loss on a held-out target",
    .options = dm_options,
    .create = dm_create,
    .network = 1};
