/* core/sbo_nn.h: a small engine of neural-network ops with exact gradients, Hessian actions and cross derivatives.
 *
 * A network is a graph: a list of values (inputs, parameters, activations) and a list of ops in execution order
 * (STYLE.md pattern 4: ops over flat arrays). Every op has four functions (core/sbo_nn_exec.h):
 *   forward   y = op(u, theta)
 *   jvp       y' = d op [u', theta']                                   (forward tangent)
 *   vjp       u_bar += (d op)^T y_bar, theta_bar += ...                (backward)
 *   tvjp      the tangent of the vjp: u_bar' , theta_bar'               (forward-over-reverse)
 * One forward-over-reverse pass with parameter tangents V gives, at once,
 *   grad   = theta_bar                                 (gradient of the summed losses)
 *   H[V]   = theta_bar' on the lower parameters        (Hessian action, ALGORITHMS.md §1)
 *   J[V]   = theta_bar' on the upper parameters        (J[V] = grad_x <grad_Y g, V>, §1: tangent on Y only)
 * exactly; finite differences are only a test oracle (tests/test_nn.c).
 *
 * Reduced mode (ALGORITHMS.md §3.1, fan-in projection Y = W^T): a lower parameter block l given a frame P_l
 * (m x r) takes reduced tangents X_l (r x n) meaning Y' = P_l X_l, and returns P_l^T grad and P_l^T H[P X] as
 * r x n. A linear op then stores P^T a (b x r) and never forms an m x n gradient. Full mode (P_l = NULL) is the
 * ordinary one (SOBA, MA-SOBA, and the full blocks of the projected methods).
 *
 * Parameters cross the interface as the algorithm's double arrays (x, and the lower tuple Y of core/sbo_tuple.h);
 * inside, an executor computes in float32 (the default) or float64 (tests, and task.precision = float64). All
 * buffers of an executor live in named arenas (pattern 5), so `sbo memory` can print their sizes.
 * Exercised by: tests/test_nn.c (each op against central differences in double; reduced = P^T full),
 * tests/test_neural.c (whole networks of the image tasks). */
#ifndef SBO_NN_H
#define SBO_NN_H
#include <stddef.h>
#include <stdio.h>
#include "core/sbo_tuple.h"    /* sbo_layout: the lower blocks the lower parameters map to */

#define SBO_NN_MAX_VALUES 48
#define SBO_NN_MAX_OPS 48
#define SBO_NN_MAX_CLASSES 1024   /* the CPU cross-entropy keeps one softmax row on the stack */

enum sbo_nn_role { SBO_NN_INPUT = 0, SBO_NN_PARAM = 1, SBO_NN_ACT = 2 };
enum sbo_nn_group { SBO_NN_UPPER = 0, SBO_NN_LOWER = 1 };   /* which variable a parameter belongs to: x or Y */

enum sbo_nn_kind {
    SBO_NN_LINEAR,          /* out (b x n) = in (b x m) W^T-block Y (m x n) [+ bias (1 x n)]                      */
    SBO_NN_RELU,            /* elementwise max(u, 0)                                                          */
    SBO_NN_TANH,            /* elementwise tanh                                                               */
    SBO_NN_GELU,            /* elementwise u Phi(u) (exact, erf form)                                         */
    SBO_NN_XENT,            /* per-sample softmax cross-entropy: out (b x 1) = logsumexp(z_s) - z_s[label_s]  */
    SBO_NN_SIGMOID_GATHER,  /* per-sample weights: out (b x 1) = sigmoid(x[id_s]), x a 1 x N parameter        */
    SBO_NN_WMEAN,           /* weighted mean: out (1 x 1) = (1/b) sum_s w_s l_s (w = 1 without a weight input) */
    SBO_NN_L2               /* L2 regularization: out (1 x 1) = coef/2 ||theta||^2                           */
};

typedef struct {
    char name[24];
    int role;               /* enum sbo_nn_role */
    int rows, cols;         /* INPUT / ACT: rows = the largest batch, cols per sample; PARAM: m x n */
    int group;              /* PARAM: enum sbo_nn_group */
    int block;              /* PARAM, lower: index of its block in the lower layout (shape must match) */
    long offset;            /* PARAM, upper: offset into x */
    int is_loss;            /* a 1 x 1 value summed into the objective */
} sbo_nn_value;

typedef struct {
    int kind;               /* enum sbo_nn_kind */
    int in[3];              /* value ids, -1 when unused: LINEAR (a, Y, bias), WMEAN (l, w), others (u) */
    int out;
    double coef;            /* L2: the coefficient */
} sbo_nn_op;

typedef struct {
    int n_values, n_ops;
    sbo_nn_value v[SBO_NN_MAX_VALUES];
    sbo_nn_op op[SBO_NN_MAX_OPS];
    int max_batch;
} sbo_nn_graph;

/* --- building a graph (core/sbo_nn_graph.c); each returns the new value's id ------------------------------ */
void sbo_nn_graph_init(sbo_nn_graph *g, int max_batch);
int sbo_nn_input(sbo_nn_graph *g, const char *name, int cols);
int sbo_nn_param_upper(sbo_nn_graph *g, const char *name, int rows, int cols, long offset_in_x);
int sbo_nn_param_lower(sbo_nn_graph *g, const char *name, int rows, int cols, int block);
int sbo_nn_linear(sbo_nn_graph *g, const char *name, int in, int weight, int bias /* -1: none */);
int sbo_nn_activation(sbo_nn_graph *g, const char *name, int kind /* RELU, TANH, GELU */, int in);
int sbo_nn_xent(sbo_nn_graph *g, const char *name, int logits);
int sbo_nn_sigmoid_gather(sbo_nn_graph *g, const char *name, int x_param);
int sbo_nn_wmean(sbo_nn_graph *g, const char *name, int per_sample, int weights /* -1: plain mean */);
int sbo_nn_l2(sbo_nn_graph *g, const char *name, int param, double coef);
void sbo_nn_mark_loss(sbo_nn_graph *g, int value);
/* Checks shapes against the lower layout (NULL: no lower parameters). 0 or -1 with a one-line message. */
int sbo_nn_graph_check(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, char *err, size_t errlen);
const char *sbo_nn_kind_name(int kind);

/* --- executing a graph --------------------------------------------------------------------------------- */
typedef struct sbo_nn_exec sbo_nn_exec;

/* One call of the engine. Outputs set to NULL are not computed (and their reverse work is skipped). */
typedef struct {
    int b;                          /* batch size (<= max_batch) */
    /* tangents (forward-over-reverse runs when any is given and an hess_* output is wanted) */
    const double *dx;               /* tangent on x (NULL: 0) */
    const double *dY;               /* tangent on the lower tuple, full layout (NULL: 0) */
    /* reduced mode: P[l] (m_l x r_l row-major) for projected blocks, NULL for full ones; rank[l] = r_l.
     * With P given, dY is a REDUCED tuple (r_l x n_l blocks) and grad_Y / hess_Y are reduced too. */
    const double *const *P;
    const int *rank;
    double *loss;                   /* the summed objective (1 double) */
    double *grad_x, *grad_Y;        /* gradients */
    double *hess_x, *hess_Y;        /* tangents of the gradients: J[V] and H[V] */
} sbo_nn_call;

/* precision: 32 or 64. name prefixes the arena names. NULL with a one-line message on error. */
sbo_nn_exec *sbo_nn_exec_create(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, int precision,
                                const char *name, char *err, size_t errlen);
void sbo_nn_exec_destroy(sbo_nn_exec *e);
/* Batch data: rows ids[0..b) of an n_rows x cols uint8 matrix, scaled to scale * v + shift, into INPUT value
 * `input`; labels (b ints in [0, classes)) and sample ids (b ints, for SIGMOID_GATHER). Copied, not kept. */
void sbo_nn_set_input_u8(sbo_nn_exec *e, int input, const unsigned char *base, const int *ids, int b,
                         double scale, double shift);
void sbo_nn_set_input(sbo_nn_exec *e, int input, const double *rows, int b);   /* b x cols doubles */
void sbo_nn_set_labels(sbo_nn_exec *e, const int *labels, int b);
void sbo_nn_set_ids(sbo_nn_exec *e, const int *ids, int b);
/* Runs the graph at (x, Y). */
void sbo_nn_run(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_call *c);
/* Per-sample values of a b x cols value after the last run (e.g. logits for accuracy), as doubles. */
void sbo_nn_read_value(const sbo_nn_exec *e, int value, int b, double *out);
/* Bytes in the executor's arenas (committed so far: full- and reduced-mode buffers are allocated on first use). */
size_t sbo_nn_exec_bytes(const sbo_nn_exec *e);
void sbo_nn_exec_print(const sbo_nn_exec *e, FILE *out);
#endif
