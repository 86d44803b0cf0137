/* tasks/data_mixture.h: data-mixture learning (tasks/data_mixture.c) as a typed task: its options parsed and
 * checked once (liblinear's check_parameter pattern) and a constructor that takes them, so that C code can create
 * the task without a configuration. Exercised by: tests/test_mixture.c. */
#ifndef SBO_DATA_MIXTURE_H
#define SBO_DATA_MIXTURE_H
#include "tasks/neural.h"          /* sbo_task, the shared network oracles */
#include "tasks/text_domains.h"    /* SBO_TEXT_MAX_DOMAINS */
#include "core/sbo_config.h"       /* SBO_CONFIG_VALUE_LEN */

extern const sbo_task_type sbo_task_data_mixture;

enum { SBO_DM_LEARNED = 0, SBO_DM_UNIFORM = 1, SBO_DM_TARGET_ONLY = 2 };   /* task.weights */
enum { SBO_DM_RMSNORM = 0, SBO_DM_LAYERNORM = 1 };                        /* task.norm */
enum { SBO_DM_GELU = 0, SBO_DM_SWIGLU = 1 };                               /* task.ffn */

typedef struct {
    int n_domains;                  /* task.domains: the domains loaded, in this order */
    char domains[SBO_TEXT_MAX_DOMAINS][32];
    int target;                     /* task.target: -1 = validation_mixture, else an index into domains (held out) */
    int weights;                    /* task.weights: SBO_DM_LEARNED, SBO_DM_UNIFORM or SBO_DM_TARGET_ONLY */
    char text_dir[SBO_CONFIG_VALUE_LEN];   /* task.text_dir: "" = the packages' places; else DIR/<domain> */
    long domain_bytes, chunk_bytes; /* task.domain_bytes (budget per domain), task.chunk_bytes (split unit) */
    long context, width, layers, heads, ffn_hidden;   /* the model */
    int norm;                       /* task.norm: SBO_DM_RMSNORM or SBO_DM_LAYERNORM */
    int ffn;                        /* task.ffn: SBO_DM_GELU (W2 gelu(W1 a)) or SBO_DM_SWIGLU (W2 (silu(W1 a) * W3 a)) */
    long batch_per_domain, upper_batch, eval_seqs;
    double lambda;                  /* L2 of the lower blocks */
    int precision;                  /* 32 or 64 */
    long data_seed;
} sbo_data_mixture_options;

/* Reads and checks every task.* key of data_mixture from a resolved configuration. 0, or -1 with a message. */
int sbo_data_mixture_options_parse(const sbo_config *cfg, sbo_data_mixture_options *o, char *err, size_t errlen);
/* 0, or -1 with a one-line message when a value is out of its domain. */
int sbo_data_mixture_options_check(const sbo_data_mixture_options *o, char *err, size_t errlen);
/* The task from options (checked again here; reads the text domains). NULL with a one-line message. */
sbo_task *sbo_data_mixture_create(const sbo_data_mixture_options *o, char *err, size_t errlen);
/* The training domains' current mixture weights (softmax(x) learned; 1/K uniform; one-hot target_only) into w (K). */
void sbo_data_mixture_weights(const sbo_task *t, const double *x, double *w);
#endif
