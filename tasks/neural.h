/* tasks/neural.h: what the image tasks share (data_cleaning.c, hyper_rep.c): the image set and its splits, label
 * noise, minibatches, and the oracle table implemented once on two network executors (core/nn/nn.h):
 *   lower g(x, Y; phi) on training minibatches, upper f(x, Y; psi) on validation minibatches.
 * Every oracle is one engine pass: grad_Y g (reverse), H[V] and J[Z] (forward-over-reverse with tangent V or Z on Y),
 * and the native reduced oracles P^T grad_Y g, P^T H[P X] through P^T a (§3.1): no m x n gradient is formed.
 * A NULL batch means the exact oracle: the whole split, in chunks.
 * Exercised by: tests/test_neural.c, `sbo run --task data_cleaning|hyper_rep`. */
#ifndef SBO_NEURAL_H
#define SBO_NEURAL_H
#include "tasks/task.h"      /* the oracle table */
#include "core/nn/nn.h"      /* graphs and executors */
#include "core/sbo_idx.h"    /* the image set */

enum { SBO_LEVEL_LOWER = 0, SBO_LEVEL_UPPER = 1, SBO_LEVEL_TEST = 2 };

typedef struct {
    sbo_image_set set;
    int pixels;                     /* channels * rows * cols: the inputs of the network (784; CIFAR 3072) */
    int n_train, n_val, n_test;
    int *train_rows, *val_rows;     /* rows of set.train used as the training and validation splits */
    int *train_labels;              /* training labels after the label noise */
    int *corrupted;                 /* 1 where the training label was corrupted */
    int *lower_pool, n_lower_pool;  /* training positions the lower minibatches draw from (all, or the clean ones) */
    int b_lower, b_upper, chunk;    /* minibatch sizes; chunk = largest batch of an exact (NULL-batch) oracle */
    int precision;                  /* 32 or 64 */
    sbo_nn_graph g_lower, g_upper;
    sbo_nn_exec *lower, *upper;     /* executors of g and f */
    int in_lower, in_upper;         /* their input values */
    int logits_upper;               /* the upper graph's logits (test and validation accuracy) */
    int *ids, *labels;              /* per-call scratch (chunk ints each) */
    int *last_pos[2], last_b[2], last_level[2];   /* what each executor (lower, upper) holds now */
    double *acc_a;                  /* chunk accumulator for exact oracles (max(D, d) doubles) */
    double *logits;                 /* chunk x classes */
    /* A task whose samples are not images (tasks/data_mixture.c) sets both, and its own sample oracle; the image
     * tasks leave them NULL. fill_ids loads samples ids[0..b) (its sbo_batch ids) into level's executor (the lower
     * one at SBO_LEVEL_LOWER, the upper one otherwise); exact_id gives the i-th sample id of level's exact set (the
     * NULL-batch oracles and sbo_neural_evaluate: n_lower_pool, n_val, n_test samples). */
    void (*fill_ids)(sbo_task *t, int level, const long *ids, int b);
    long (*exact_id)(const sbo_task *t, int level, long i);
} sbo_neural;

/* The options every image task has; a task's table lists them first: {SBO_NEURAL_OPTIONS, {...own...}, {NULL}}. */
#define SBO_NEURAL_OPTIONS                                                                                             \
    {"task.dataset", "fashion_mnist", "image set: fashion_mnist (offline, Debian package dataset-fashion-mnist), "    \
     "mnist (data_fetch/fetch_mnist.sh), cifar10 or cifar100 (data_fetch/fetch_cifar.sh; 32 x 32 x 3 = 3072 "        \
     "inputs, channel-planar; cifar100 uses the 100 fine labels)"},                                                 \
    {"task.data_dir", "", "directory with the data set's files: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, "   \
     "CIFAR-10's data_batch_1..5.bin and test_batch.bin, CIFAR-100's train.bin and test.bin (or the directory "     \
     "holding cifar-10-batches-bin/ or cifar-100-binary/) (default: the data set's standard place, or "             \
     "$SBO_DATA_DIR); `sbo run --data-dir DIR` sets it"},                                                           \
    {"task.n_train", "5000", "training split (lower level), drawn from the official training set"},                  \
    {"task.n_val", "5000", "validation split (upper level), disjoint from the training split"},                     \
    {"task.n_test", "10000", "test images (the first n_test of the official test set)"},                             \
    {"task.batch", "256", "lower minibatch size (phi_k)"},                                                           \
    {"task.upper_batch", "256", "upper minibatch size (psi_k)"},                                                     \
    {"task.precision", "float32", "engine precision: float32 or float64 (the algorithm state is always double)"},    \
    {"task.data_seed", "1", "seed of the train/validation split and of the label noise (fixed across runs, so "      \
     "that run seeds vary only the algorithm's randomness)"}

/* The options every image task has (the keys of SBO_NEURAL_OPTIONS) and the model options both image tasks read
 * (task.activation, task.hidden, task.noise, task.lambda; each task's option table gives their defaults), parsed and
 * checked once (liblinear's check_parameter pattern): the tasks read this struct, never an option string. */
typedef struct {
    char dataset[128];              /* task.dataset: fashion_mnist, mnist, cifar10 or cifar100 */
    char data_dir[SBO_CONFIG_VALUE_LEN];   /* task.data_dir (PATH_MAX); "": the data set's standard place, or $SBO_DATA_DIR */
    long n_train, n_val, n_test;    /* task.n_train, task.n_val, task.n_test: split sizes */
    long batch, upper_batch;        /* task.batch, task.upper_batch: minibatch sizes of phi_k and psi_k */
    int precision;                  /* task.precision: 32 (float32) or 64 (float64) */
    long data_seed;                 /* task.data_seed: the splits and the label noise */
    int activation;                 /* task.activation: SBO_NN_RELU, SBO_NN_TANH or SBO_NN_GELU */
    long hidden;                    /* task.hidden: hidden width */
    double noise, lambda;           /* task.noise (fraction of corrupted labels), task.lambda (L2 of the lower level) */
} sbo_neural_options;

/* Reads and checks the keys above from a resolved configuration (every key set, as sbo_run_resolve_config leaves it).
 * 0, or -1 with a one-line message. */
int sbo_neural_options_parse(const sbo_config *cfg, sbo_neural_options *o, char *err, size_t errlen);
/* 0, or -1 with a one-line message when a value is out of its domain (the data-dependent limits, n_train + n_val
 * against the data set, are checked when the data is loaded). */
int sbo_neural_options_check(const sbo_neural_options *o, char *err, size_t errlen);
/* The He/Glorot gain of the activation's weight init: 2 for ReLU, 1 otherwise. */
double sbo_neural_init_gain(const sbo_neural_options *o);

/* The first half of an image task's create: checks o, allocates the task and a zeroed ctx of ctx_size bytes (which
 * must start with an sbo_neural), and loads and splits the data (sbo_neural_load). NULL with a one-line message; name
 * is the task's, for messages. */
sbo_task *sbo_neural_task_new(const sbo_neural_options *o, size_t ctx_size, const char *name, char *err, size_t errlen);

/* Loads the data and splits it (train and validation from the official training set by a permutation keyed by
 * o->data_seed; test = the first n_test official test images); corrupts a fraction o->noise of the training labels
 * uniformly at random to a different class (stream SBO_RNG_LABEL_NOISE). 0 or -1 with a one-line message. */
int sbo_neural_load(sbo_neural *nn, const sbo_neural_options *o, char *err, size_t errlen);
/* After the task has built nn->g_lower and nn->g_upper and filled t->lower, t->d: creates the executors, sets the
 * shared oracles on t (t->ops = the neural table). 0 or -1. */
int sbo_neural_finish(sbo_task *t, sbo_neural *nn, char *err, size_t errlen);
void sbo_neural_free(sbo_neural *nn);
const sbo_task_ops *sbo_neural_ops(void);

/* Evaluation helpers for metrics (whole splits, in chunks). level: SBO_LEVEL_LOWER (training split, g),
 * SBO_LEVEL_UPPER (validation, f), SBO_LEVEL_TEST (test, f's network). Returns the objective of that graph
 * over the split (g with its weights and L2; f) and writes the accuracy of the argmax against the TRUE labels
 * (NaN at SBO_LEVEL_LOWER, whose labels are the noisy ones, and for a network without logits_upper, < 0). */
double sbo_neural_evaluate(sbo_task *t, int level, const double *x, const double *Y, double *accuracy);
/* The objective of level's graph (g at SBO_LEVEL_LOWER, f otherwise) averaged over the n samples ids (sbo_batch
 * ids), in chunks; e.g. one domain's validation sequences. */
double sbo_neural_mean_loss(sbo_task *t, int level, const double *x, const double *Y, const long *ids, long n);
/* 1 when t is an image task (its ctx starts with an sbo_neural). */
int sbo_neural_is(const sbo_task *t);
/* The objective of level's graph (g or f) on one minibatch. */
double sbo_neural_batch_loss(sbo_task *t, int level, const double *x, const double *Y, const sbo_batch *batch);
/* What the network sees for a minibatch (level LOWER, UPPER or TEST: positions in that split): inputs (b x pixels, scaled as fed), labels (b), sample ids (b: training
 * positions, the index into x for data_cleaning's weights). */
void sbo_neural_batch_data(sbo_task *t, int level, const sbo_batch *batch, double *inputs, int *labels, int *ids);
/* The graph of level as text, one op per line ("linear h1 <- images, W1, b1"). */
void sbo_neural_describe(const sbo_task *t, int level, char *buf, size_t buflen);
/* Gaussian init of a weight block, scale sqrt(gain / fan_in). */
void sbo_neural_init_weight(sbo_stream *s, double *W, int fan_in, int fan_out, double gain);
#endif
