/* tasks/task.h: the oracle table every bilevel task implements (STYLE.md pattern 1).
 * Algorithms include only this header (through algorithms/algorithm.h); tasks never include an algorithm.
 * Conventions (ALGORITHMS.md §1): Z* = H^{-1} grad_Y f (plus sign); grad Phi = grad_x f - J[Z*];
 * lower variable Y is a block tuple (core/sbo_tuple.h), vec is row-major.
 *
 * Call the oracles through the sbo_task_* wrappers below, never through ops directly: the wrappers count
 * oracle calls (pattern 9) and supply the generic reduced oracles when a task has no native one.
 * Exercised by: tests/test_tasks.c (derivatives against finite differences), tests/test_matrix.c. */
#ifndef SBO_TASK_H
#define SBO_TASK_H
#include <stdint.h>
#include "core/sbo_tuple.h"   /* sbo_layout, block tuples */
#include "core/sbo_config.h"  /* sbo_config, sbo_option */
#include "core/sbo_rng.h"     /* sbo_stream */
#include "core/sbo_arena.h"   /* sbo_arena: the task's own buffers */
#include "core/sbo_subspace.h" /* sbo_subspace, P^T V and P X on block tuples */

#define SBO_MAX_METRICS 40

/* Oracle-call counters, written into the results. One HVP call = one H[.] over all blocks at once. */
typedef struct {
    long grad_lower;      /* grad_Y g, full or reduced */
    long grad_upper_Y;    /* grad_Y f */
    long grad_upper_x;    /* grad_x f */
    long hvp;             /* H[V] (full) */
    long reduced_hvp;     /* P^T H[P X] */
    long cross;           /* J[Z] */
    long lower_samples;   /* minibatches drawn */
    long upper_samples;
} sbo_oracle_counts;

typedef struct sbo_task sbo_task;

/* One tangent sweep of the fused lower oracle (sbo_task_lower_tangent): a direction and what to return along it.
 * V is a reduced tuple on the linearization's projected blocks (Y' = P X; a full tuple when it had no subspace;
 * cross_term = projected's J[(m/r) P B], §7), or a full tuple when V_full = 1 (the full cross term J[Z_k]). */
typedef struct {
    const double *V;
    int V_full;
    double *hvp;      /* H[V], or P^T H[P X] (r_l x n_l blocks) with a subspace; NULL: not wanted (needs !V_full) */
    double *cross;    /* J[V] = grad_x <grad_Y g, V> (d); NULL: not wanted */
} sbo_tangent;

/* A minibatch: phi_k at the lower level, psi_k at the upper one. sbo_task_sample draws it; the oracles read it
 * (a NULL batch = the exact / population oracle). Its sizes come from the task (t->batch_ids, t->batch_values):
 * sample ids are rows of the task's split (image tasks: training or validation positions); values are the task's
 * own random numbers (the quadratic's sampled operator and noise). A task without either has an empty batch.
 * version is a process-wide stamp, new at every draw (sbo_task_sample) or hand edit (sbo_batch_touch): a
 * linearization records it, and a second-order call after the batch changed aborts (STYLE.md pattern 3). */
typedef struct sbo_batch {
    int level;          /* 0 lower, 1 upper */
    long n_ids;         /* sample ids (0 and NULL for tasks without samples) */
    long *ids;
    long n_values;      /* task-defined random values (0 and NULL when none) */
    double *values;
    uint64_t version;   /* 0: never drawn */
} sbo_batch;

/* The point of the last fused linearization (generic implementation: the wrappers keep it, and check it). */
typedef struct {
    const double *x, *Y;
    const sbo_batch *batch;
    const sbo_subspace *S;
    uint64_t hash;          /* of x and Y: a second-order call must be at this point (STYLE.md pattern 3) */
    uint64_t batch_version; /* batch->version at the linearization: a second-order call must see the same batch */
    int valid;
} sbo_linearization;

typedef struct {
    /* x0 (d) and Y0 (lower tuple) from the init stream. */
    void (*init)(sbo_task *t, sbo_stream *s, double *x0, double *Y0);
    /* Draw a minibatch into b (its level, sizes and arrays set by sbo_batch_create / sbo_batch_declare; the wrapper
     * stamps the version). */
    void (*sample)(sbo_task *t, sbo_stream *s, sbo_batch *b);
    /* Full-space oracles at (x, Y) with a minibatch (NULL batch = exact / population oracle). */
    void (*grad_lower_Y)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out);
    void (*grad_upper_Y)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out);
    void (*grad_upper_x)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out_d);
    void (*hvp)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *V, double *out);
    void (*cross)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *Z,
                  double *out_d);
    /* Optional native reduced oracles (NULL: the wrappers project the full oracle, which costs a
     * transient m x n per block, §9 "generic HVPs"). */
    void (*reduced_grad_lower)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                               const sbo_subspace *S, double *out_red);
    void (*reduced_hvp)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                        const sbo_subspace *S, const double *X_red, double *out_red);
    /* out_red = P^T grad_Y f (upper gradient in reduced form, r_l x n_l per block). A native one computes it
     * through P^T a and never forms m x n (§9 "fused"); NULL: the wrapper forms grad_Y f in scratch_full_a
     * and projects (a transient m x n per block). */
    void (*reduced_grad_upper_Y)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                                 const sbo_subspace *S, double *out_red);
    /* Optional fused oracles (NULL: the wrappers compose the oracles above, with the same results). One
     * linearization of g at (x, Y; phi) [reduced through S], then any number of tangent sweeps at that point and
     * the gradient whenever asked; one pass of f for grad_Y f [P^T grad_Y f] and grad_x f together. A native
     * implementation does one primal forward and reverse pass per linearization and one tangent forward and reverse
     * per sweep, and refuses (aborts) a sweep at another point. */
    void (*lower_at)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S);
    void (*lower_grad)(sbo_task *t, double *out);
    void (*lower_tangent)(sbo_task *t, const double *x, const double *Y, const sbo_tangent *tan);
    void (*upper)(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S,
                  double *grad_Y_out, double *grad_x_out);
    /* Optional: allocate now every buffer the fused oracles will need for subspaces of these ranks (rank[l] < m_l:
     * block l projected; NULL: full space) and, with full_tangents, full tangents on every block (the full cross
     * term), so that the memory table printed before step 0 is the peak. */
    int (*reserve)(sbo_task *t, const int *rank, int full_tangents);
    /* Metrics at the iterate, NAN where unknown. Names in task->metric_names. */
    void (*metrics)(sbo_task *t, const double *x, const double *Y, const double *Z, double *out);
    void (*destroy)(sbo_task *t);
} sbo_task_ops;

/* A task type: the registry entry (`sbo list` prints these). */
typedef struct {
    const char *name;
    const char *description;
    const sbo_option *options;      /* keys "task.*" */
    /* Returns NULL with a one-line message in err on bad configuration. Every task parses its task.* keys once into
     * a typed struct (sbo_<task>_options_parse in its header, liblinear's check_parameter pattern) and builds from
     * that struct (sbo_<task>_create), which C code may also call without a configuration. */
    sbo_task *(*create)(const sbo_config *cfg, char *err, size_t errlen);
    /* 1: its oracles run on the network engine (core/nn/), whose executors take the process-wide default backend
     * (sbo_nn_set_default_backend) when the task is created, so run.device applies to it (runners/sbo_run.h,
     * sbo_run_select_device). 0: host code only (the option must stay cpu). */
    int network;
} sbo_task_type;

struct sbo_task {
    const sbo_task_type *type;
    const sbo_task_ops *ops;
    int d;                          /* upper dimension */
    sbo_layout lower;               /* lower blocks (shapes, row-symmetry declarations) */
    long batch_ids[2], batch_values[2];   /* per level (0 lower, 1 upper): sample ids and values in one minibatch */
    double mu;                      /* lower strong-convexity constant (for MA-SOBA's default R, §2.2) */
    int n_metrics;
    const char *metric_names[SBO_MAX_METRICS];
    const char *metric_help[SBO_MAX_METRICS];
    int has_x_star;                 /* 1 when dist_x_star is exact */
    const char *reduced_impl;       /* "native (through P^T a)" or "generic (forms P X and projects, +2mn transient)" */
    sbo_oracle_counts counts;
    sbo_linearization lin;          /* the last fused linearization (sbo_task_lower_at) */
    void *ctx;                      /* the task's own state */
    sbo_arena arena;                /* the task's buffers (data, instance, scratch), one flat allocation */
    /* scratch for the generic reduced oracles: two full tuples, declared in arena by sbo_task_declare_scratch */
    double *scratch_full_a, *scratch_full_b;
};

/* --- the registry ---------------------------------------------------------- */
const sbo_task_type *const *sbo_task_types(void);       /* NULL-terminated */
const sbo_task_type *sbo_task_find(const char *name);
/* type->create plus bookkeeping (sets t->type). NULL with a one-line message on error. */
sbo_task *sbo_task_create(const sbo_task_type *type, const sbo_config *cfg, char *err, size_t errlen);

/* --- minibatches ------------------------------------------------------------ */
/* A minibatch of level with its own allocation (tests, runners); NULL when out of memory. */
sbo_batch *sbo_batch_create(const sbo_task *t, int level);
void sbo_batch_free(sbo_batch *b);
/* A minibatch of level whose arrays live in arena a (an algorithm's work arena): declares them under name with the
 * shape "<doubles><note>", one entry (ids, or values; values when the batch is empty, a 0-byte entry) or two (ids,
 * then values as "<name> values"); b's arrays point into a after sbo_arena_commit. */
void sbo_batch_declare(sbo_batch *b, const sbo_task *t, int level, sbo_arena *a, const char *name, const char *note);
/* The arena doubles one minibatch of level occupies (8-byte ids and values). */
long sbo_batch_doubles(const sbo_task *t, int level);
/* A new version for b, after its ids or values were written by hand. */
void sbo_batch_touch(sbo_batch *b);

/* --- counted wrappers (the only way algorithms reach the oracles) ---------- */
/* Draws level's minibatch into b (b->level must be level) and gives it a new version. */
void sbo_task_sample(sbo_task *t, int level, sbo_stream *s, sbo_batch *b);
void sbo_task_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out);
void sbo_task_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out);
void sbo_task_grad_upper_x(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, double *out_d);
void sbo_task_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *V, double *out);
void sbo_task_cross(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const double *Z,
                    double *out_d);
/* P^T grad_Y g (reduced tuple); P^T of an already computed full tuple (no oracle call). */
void sbo_task_reduced_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                                 const sbo_subspace *S, double *out_red);
void sbo_task_reduced_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                          const sbo_subspace *S, const double *X_red, double *out_red);
/* P^T grad_Y f (reduced tuple); counted as one grad_upper_Y call. */
void sbo_task_reduced_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch,
                                   const sbo_subspace *S, double *out_red);
/* --- fused oracles (every algorithm uses these; tasks/task.c). Counting: each output counts as the separate
 * oracle it replaces (grad_lower, hvp or reduced_hvp, cross, grad_upper_Y, grad_upper_x), so the counters keep
 * counting what the paper counts however many passes a task needs (docs/SCHEMA.md). ------------------------- */
/* Called by an algorithm's create with the ranks its subspaces will have (NULL: full space) and whether it sweeps
 * full tangents on projected blocks (cross_term = full): the task allocates the buffers of those calls now, and
 * may then keep the inputs of projected layers as P^T a only (the activation saving, §9). 0, or -1 with a
 * one-line message (out of memory). */
int sbo_task_reserve(sbo_task *t, const int *rank, int full_tangents, char *err, size_t errlen);
/* Linearize g at (x, Y; batch), reduced through S (NULL: full space). Counts nothing. */
void sbo_task_lower_at(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S);
/* grad_Y g (P^T grad_Y g with a subspace) at the linearization. One grad_lower. */
void sbo_task_lower_grad(sbo_task *t, double *out);
/* H[V] and/or J[V] at the linearization, which must be at (x, Y): one hvp (reduced_hvp with a subspace) and/or one
 * cross. Aborts with a message when (x, Y) is not the linearization's point. */
void sbo_task_lower_tangent(sbo_task *t, const double *x, const double *Y, const sbo_tangent *tan);
/* grad_Y f (P^T grad_Y f through S) and grad_x f from one pass; either output may be NULL. */
void sbo_task_upper(sbo_task *t, const double *x, const double *Y, const sbo_batch *batch, const sbo_subspace *S,
                    double *grad_Y_out, double *grad_x_out);
void sbo_task_destroy(sbo_task *t);

/* Task construction: after filling d, lower (with sbo_layout_finish), and declaring its own buffers in
 * t->arena, call sbo_task_declare_scratch then sbo_arena_commit(&t->arena). */
void sbo_task_declare_scratch(sbo_task *t);
#endif
