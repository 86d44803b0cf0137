/* core/nn/nn.h: the network engine: ops with exact gradients, Hessian actions and cross derivatives.
 *
 * A network is a graph: values (inputs, parameters, activations) of up to 4 dimensions and a list of op nodes in
 * execution order. Every op is one descriptor in the op table (core/nn/op.h, core/nn/op_table.c) with four
 * functions (STYLE.md pattern 4):
 *   forward   y = op(u, theta)
 *   jvp       y' = d op [u', theta']                                   (forward tangent)
 *   vjp       u_bar += (d op)^T y_bar, theta_bar += ...                (reverse)
 *   tvjp      the tangent of the vjp: u_bar', theta_bar'               (forward-over-reverse)
 * The executor (core/nn/exec.c) walks the descriptors; it never switches on an op's kind.
 *
 * One linearization, many products (the fused oracles of ALGORITHMS.md §1):
 *   sbo_nn_linearize   one primal forward and one reverse pass at (x, Y) on the loaded batch: the loss and the
 *                      gradients grad_x, grad_Y (full, or P^T grad_Y on projected blocks)
 *   sbo_nn_tangent     one tangent sweep (jvp forward, tvjp reverse) at that same linearization: with a tangent
 *                      V on (x, Y), H[V] = theta_bar' on Y and J[V] = theta_bar' on x, exactly
 * A tangent sweep costs about one forward and one reverse pass and reuses the primal values and adjoints; any
 * number of sweeps may follow one linearization. A sweep checks that it is at the point of the last linearization
 * (the same x, Y as the engine rounds them, the same batch: the inputs' load versions and the caller's batch
 * stamp, and the same subspace) and aborts with a message otherwise
 * (STYLE.md pattern 3). sbo_nn_run is both in one call.
 *
 * Reduced mode (ALGORITHMS.md §3.1, fan-in projection Y = W^T): a lower block l given a frame P_l (m x r) takes
 * reduced tangents X_l (r x n) meaning Y' = P_l X_l and returns P_l^T grad and P_l^T H[P X] as r x n; a linear op
 * keeps a P (b x r) and never forms an m x n gradient. A sweep may also carry a full tangent on a projected block
 * (the full cross term J[Z_k] of the projected methods). Full mode (P_l = NULL) is the ordinary one.
 *
 * Shapes: an activation or input has a leading batch dimension (rows = samples, at most max_batch; each call says
 * b) and up to 3 more; a parameter has 1 to 4 fixed dimensions. A parameter may feed several ops (tied weights:
 * its derivatives accumulate). Integer inputs carry labels, sample ids or token ids.
 *
 * Parameters cross the interface as the algorithm's double arrays (x, and the lower tuple Y of core/sbo_tuple.h);
 * inside, an executor computes in float32 (the default) or float64, through one backend (core/nn/backend.h: GEMM,
 * bodies run over elements or rows, reductions). All buffers live in named arenas (STYLE.md pattern 5) in the
 * backend's memory (device memory on a GPU backend), which the executor reaches only through the backend.
 * Exercised by: tests/test_nn.c (ops against central differences in double; reduced = P^T full; fused = separate),
 * tests/test_neural.c (the image tasks' networks). */
#ifndef SBO_NN_H
#define SBO_NN_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/sbo_tuple.h"    /* sbo_layout: the lower blocks the lower parameters map to */

#define SBO_NN_MAX_DIMS 4
#define SBO_NN_MAX_IN 4          /* inputs of one op node */
#define SBO_NN_MAX_CLASSES 1024  /* the CPU cross-entropy keeps one softmax row on the stack */

enum sbo_nn_role { SBO_NN_INPUT = 0, SBO_NN_PARAM = 1, SBO_NN_ACT = 2, SBO_NN_INPUT_INT = 3 };
enum sbo_nn_group { SBO_NN_UPPER = 0, SBO_NN_LOWER = 1 };   /* which variable a parameter belongs to: x or Y */

/* The op kinds: indices into the op table (core/nn/op_table.c). Adding an op = one line here and one there. */
#define SBO_NN_OP_LIST(X)                                                                                         \
    X(LINEAR, linear)                 /* out (b x n) = in (b x m) Y (m x n) [+ bias]; Y = W^T (§3.1); per row  */  \
    X(MATMUL, matmul)                 /* out (..., M, N) = op(A) op(B), batched over leading dims (activations) */ \
    X(RELU, relu)                     /* elementwise max(u, 0)                                                 */  \
    X(TANH, tanh)                     /* elementwise tanh                                                      */  \
    X(GELU, gelu)                     /* elementwise u Phi(u) (exact, erf form)                                */  \
    X(ADD, add)                       /* elementwise u + v (residual)                                          */  \
    X(MUL, mul)                       /* elementwise u v (a gate: SwiGLU's silu(g) u)                          */  \
    X(RESHAPE, reshape)               /* the same elements per sample with other trailing dims (a copy)        */  \
    X(XENT, xent)                     /* per-row softmax cross-entropy: out (b x 1) = lse(z_s) - z_s[label_s]  */  \
    X(SIGMOID_GATHER, sigmoid_gather) /* per-sample weights: out (b x 1) = sigmoid(x[id_s]), x a 1 x N param   */  \
    X(WMEAN, wmean)                   /* out (1) = (1/b) sum_s w_s l_s; unweighted: the mean of all b x k l    */  \
    X(L2, l2)                         /* L2 regularization: out (1) = coef/2 ||theta||^2                       */  \
    X(SILU, silu)                     /* elementwise u sigmoid(u)                                              */  \
    X(LAYERNORM, layernorm)           /* per last-axis row: gamma (u - mean) / sqrt(var + eps) + beta          */  \
    X(RMSNORM, rmsnorm)               /* per last-axis row: gamma u / sqrt(mean(u^2) + eps)                    */  \
    X(SOFTMAX, softmax)               /* per last-axis row softmax; causal: entries j > i of each T x T block 0 */ \
    X(EMBEDDING, embedding)           /* out (b, T, C): rows of a V x C table (or columns of C x V) at token ids */ \
    X(PERMUTE, permute)               /* two non-batch axes swapped: (b, T, H, dh) -> (b, H, T, dh) (a copy)     */ \
    X(ADD_BCAST, add_bcast)           /* out (b, T, C) = u + P, P a T x C parameter over the batch (pos. emb.) */  \
    X(MEAN_TOKENS, mean_tokens)       /* out (b, C) = the mean over axis 1 of u (b, T, C) (mean pooling)       */  \
    X(SOFTMAX_GATHER, softmax_gather) /* mixture weights: out (b x 1) = coef softmax(x)[id_s], x a 1 x K param */
#define SBO_NN_ENUM_(E, n) SBO_NN_##E,
enum sbo_nn_kind { SBO_NN_OP_LIST(SBO_NN_ENUM_) SBO_NN_N_KINDS };
#undef SBO_NN_ENUM_

typedef struct {
    char name[32];
    int role;               /* enum sbo_nn_role */
    int ndim;               /* 1..4 */
    int dim[SBO_NN_MAX_DIMS];  /* INPUT / ACT: dim[0] = max_batch (b at run time) unless the value is unbatched */
    int batched;            /* dim[0] is the batch (per call b rows) */
    int rows, cols;         /* 2-D view: rows = dim[0], cols = product of the other dims */
    int group;              /* PARAM: enum sbo_nn_group */
    int block;              /* PARAM, lower: index of its block in the lower layout (shape must match) */
    long offset;            /* PARAM, upper: offset into x */
    int is_loss;            /* a scalar summed into the objective */
} sbo_nn_value;

typedef struct {
    int kind;               /* enum sbo_nn_kind: index into the op table */
    int n_in;
    int in[SBO_NN_MAX_IN];  /* value ids, -1 when an optional input is absent */
    int out;
    double coef;            /* L2: the coefficient; MATMUL: the scale alpha; LAYERNORM, RMSNORM: eps */
    int iarg[2];            /* MATMUL: transpose A, transpose B; RESHAPE: the number of trailing dims; SOFTMAX:
                             * causal; EMBEDDING: the table is C x V (the layout of a tied head's weight);
                             * PERMUTE: the two axes swapped */
    int shape[SBO_NN_MAX_DIMS];  /* RESHAPE: the trailing dims */
} sbo_nn_node;

typedef struct {
    int n_values, cap_values;
    sbo_nn_value *v;
    int n_ops, cap_ops;
    sbo_nn_node *op;
    int max_batch;
    int labels_in, ids_in;  /* the graph's default integer inputs (created by xent / sigmoid_gather), or -1 */
    char err[256];          /* the first shape error met while building ("" if none): sbo_nn_graph_check reports it */
} sbo_nn_graph;

/* --- building a graph (core/nn/graph.c); each returns the new value's id. Shapes are checked by each op's shape
 * function as nodes are added; the first error is kept in g->err (the node still gets an id, so building goes on)
 * and sbo_nn_graph_check returns it; sbo_nn_graph_check also checks the parameters against the lower layout and x.
 * A value id that does not exist or an input of the wrong kind (integer, parameter) is a bug: it aborts. ------ */
void sbo_nn_graph_init(sbo_nn_graph *g, int max_batch);
void sbo_nn_graph_free(sbo_nn_graph *g);
int sbo_nn_graph_copy(sbo_nn_graph *dst, const sbo_nn_graph *src);   /* 0, or -1 out of memory */
int sbo_nn_input(sbo_nn_graph *g, const char *name, int cols);                       /* b x cols */
int sbo_nn_input_nd(sbo_nn_graph *g, const char *name, int ndim, const int *dims);   /* b x dims[0] x ... */
int sbo_nn_input_int(sbo_nn_graph *g, const char *name, int cols);                   /* b x cols integers */
int sbo_nn_param_upper(sbo_nn_graph *g, const char *name, int rows, int cols, long offset_in_x);
int sbo_nn_param_lower(sbo_nn_graph *g, const char *name, int rows, int cols, int block);
/* in: b x m, or b x (dims whose product is m): a linear op sees each sample flattened; or b x ... x m (a sample
 * of another size whose last dim is m): the weight applies to every row of the last axis (token-wise, out
 * b x ... x n) */
int sbo_nn_linear(sbo_nn_graph *g, const char *name, int in, int weight, int bias /* -1: none */);
/* out = alpha op(A) op(B) over the last two dims, batched over the others (equal leading dims). */
int sbo_nn_matmul(sbo_nn_graph *g, const char *name, int a, int b, int trans_a, int trans_b, double alpha);
int sbo_nn_activation(sbo_nn_graph *g, const char *name, int kind /* SBO_NN_RELU, TANH, GELU, SILU */, int in);
/* Normalization over the last axis (C entries per row, every other dim a row): layernorm
 * y = gamma (u - mean) / sqrt(var + eps) + beta (biased variance), rmsnorm y = gamma u / sqrt(mean(u^2) + eps).
 * gamma, beta: 1 x C parameters (upper or lower, never projected), -1: absent (gamma = 1, beta = 0). */
int sbo_nn_layernorm(sbo_nn_graph *g, const char *name, int in, int gamma, int beta, double eps);
int sbo_nn_rmsnorm(sbo_nn_graph *g, const char *name, int in, int gamma, double eps);
/* Softmax over the last axis (at most SBO_NN_MAX_CLASSES entries). causal: the input's last two dims are T x T
 * (attention scores: query i, key j) and entries j > i are masked (as -inf: their outputs and derivatives are 0). */
int sbo_nn_softmax(sbo_nn_graph *g, const char *name, int in, int causal);
/* Token embedding: ids (an integer input, b x T, every id in [0, V): sbo_nn_set_input_int aborts otherwise) pick
 * rows of the table E (V x C), out (b, T, C). transposed = 1: the table is stored C x V (E^T), the layout of the
 * weight Y of a linear head, so one parameter serves both (tied weights: out = linear(h, E^T)); its derivatives
 * accumulate from both ops. */
int sbo_nn_embedding(sbo_nn_graph *g, const char *name, int ids, int table, int transposed);
int sbo_nn_add(sbo_nn_graph *g, const char *name, int u, int v);
/* Elementwise product of two activations of one shape (a gated feed-forward: silu(x W_gate) * (x W_up)). */
int sbo_nn_mul(sbo_nn_graph *g, const char *name, int u, int v);
/* The same per-sample elements seen as b x dims[0] x ... (ndim <= 3 trailing dims, same product). */
int sbo_nn_reshape(sbo_nn_graph *g, const char *name, int in, int ndim, const int *dims);
/* The same per-sample elements with axes axis_a and axis_b swapped (axes counted with the batch as axis 0: two
 * different axes in 1..ndim-1 of a batched value of up to 4 dims), e.g. (b, T, H, dh) -> (b, H, T, dh) with
 * (1, 2), and (b, T, C) -> (b, C, T). Other axes are a shape error (g->err). */
int sbo_nn_permute(sbo_nn_graph *g, const char *name, int in, int axis_a, int axis_b);
/* A learned positional embedding: out (b, T, C) = u (b, T, C) + P (T, C), the parameter P (upper or lower, not
 * projectable) added to every sample; its gradient sums over the batch. Other shapes: a shape error (g->err). */
int sbo_nn_add_bcast(sbo_nn_graph *g, const char *name, int in, int param);
/* Mean pooling: out (b, C) = (1/T) sum over the T tokens of in (b, T, C) (in (b, T, d1, d2): out (b, d1, d2)).
 * An input without two dims besides the batch: a shape error (g->err). */
int sbo_nn_mean_tokens(sbo_nn_graph *g, const char *name, int in);
int sbo_nn_xent(sbo_nn_graph *g, const char *name, int logits);                       /* labels: the default input */
int sbo_nn_xent_labels(sbo_nn_graph *g, const char *name, int logits, int labels /* an integer input */);
int sbo_nn_sigmoid_gather(sbo_nn_graph *g, const char *name, int x_param);            /* ids: the default input */
/* Data-mixture weights: out (b x 1) = coef softmax(x)[id_s], x a 1 x K parameter (upper or lower, not projectable),
 * id_s in [0, K) the sample's domain (the default sample-id input). With coef = K and b/K samples per domain,
 * wmean(losses, these weights) = sum_k softmax(x)_k (mean loss on domain k). */
int sbo_nn_softmax_gather(sbo_nn_graph *g, const char *name, int x_param, double coef);
/* out = (1/n) sum of w_s l over the n = b k entries of per_sample (b x k: k per-sample terms, e.g. per-token
 * losses; weights b x 1 need k = 1) */
int sbo_nn_wmean(sbo_nn_graph *g, const char *name, int per_sample, int weights /* -1: plain mean */);
int sbo_nn_l2(sbo_nn_graph *g, const char *name, int param, double coef);
void sbo_nn_mark_loss(sbo_nn_graph *g, int value);
/* Checks shapes against the lower layout (NULL: no lower parameters). 0 or -1 with a one-line message. */
int sbo_nn_graph_check(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, char *err, size_t errlen);
const char *sbo_nn_kind_name(int kind);
/* Sets lower->block[l].not_projectable for every lower parameter of g that feeds an op input which cannot take a
 * projected parameter (op descriptor bit `projectable`: add_bcast, the norms' affine parameters, embedding tables):
 * the projected methods then keep that block full. Call it for every graph that reads the layout. */
void sbo_nn_mark_unprojectable(const sbo_nn_graph *g, sbo_layout *lower);

/* --- executing a graph (core/nn/exec.c) ------------------------------------------------------------------- */
typedef struct sbo_nn_exec sbo_nn_exec;
struct sbo_nn_backend;   /* core/nn/backend.h: where an executor's buffers live and what touches them */

/* The linearization: the point (x, Y), the batch size, the subspace, and which gradients to return. */
typedef struct {
    int b;                          /* batch size (<= max_batch) */
    /* reduced mode: P[l] (m_l x r_l row-major) for projected blocks, NULL for full ones; rank[l] = r_l.
     * With P given, grad_Y is a REDUCED tuple (r_l x n_l blocks). */
    const double *const *P;
    const int *rank;
    int want_lower, want_upper;     /* adjoint paths from the lower / upper parameters: needed for their gradients
                                     * and for tangent outputs (H[V] needs want_lower, J[V] want_upper) */
    int keep_grad_Y;                /* with want_lower: accumulate the lower gradient for sbo_nn_gradient even when
                                     * grad_Y is NULL (otherwise a parameter's own adjoint is skipped when its
                                     * gradient is not asked for: H[V] and J[V] need the adjoint path only) */
    double *loss;                   /* the summed objective (1 double) */
    double *grad_x, *grad_Y;        /* gradients (NULL: not copied out) */
    uint64_t batch_version;         /* the caller's stamp of the loaded minibatch (a task's sbo_batch version; 0: none):
                                     * every tangent sweep at this linearization must carry the same stamp */
} sbo_nn_lin;

/* One tangent sweep at the last linearization. */
typedef struct {
    const double *dx;               /* tangent on x (NULL: 0) */
    const double *dY;               /* tangent on Y: a reduced tuple on projected blocks (Y' = P X), or a full
                                     * tuple when dY_full = 1 (every block m_l x n_l), NULL: 0 */
    int dY_full;
    double *hess_x, *hess_Y;        /* J[V] (d) and H[V] (reduced on projected blocks); NULL: not computed */
    uint64_t batch_version;         /* the stamp of the minibatch the caller means (sbo_nn_lin.batch_version) */
} sbo_nn_tan;

/* precision: 32 or 64. name prefixes the arena names. NULL with a one-line message on error. The executor runs on
 * the default backend (sbo_nn_set_default_backend; the CPU backend unless a process chose another). */
sbo_nn_exec *sbo_nn_exec_create(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, int precision,
                                const char *name, char *err, size_t errlen);
/* The same on a chosen backend (core/nn/backend.h; NULL: the default). Every buffer of the executor (its arenas)
 * is the backend's memory (be->alloc, zeroed by be->zero, device bytes when be->device), and the executor reaches
 * its elements only through the backend's members: no host dereference of an engine buffer outside them. */
sbo_nn_exec *sbo_nn_exec_create_on(const struct sbo_nn_backend *be, const sbo_nn_graph *g, const sbo_layout *lower,
                                   int d_upper, int precision, const char *name, char *err, size_t errlen);
/* The backend of executors created afterwards without one (tasks create theirs inside sbo_task creation): NULL
 * restores the CPU backend. Returns the previous default. Process-wide and not thread-safe: set it before creating
 * executors (tests/test_nn_guarded.c runs whole tasks on a checking backend this way). */
const struct sbo_nn_backend *sbo_nn_set_default_backend(const struct sbo_nn_backend *be);
void sbo_nn_exec_destroy(sbo_nn_exec *e);
/* Batch data: rows ids[0..b) of an n_rows x cols uint8 matrix, scaled to scale * v + shift, into INPUT value
 * `input`; a b x cols double matrix; b x cols integers into an INPUT_INT value. Copied, not kept. Every load
 * bumps the input's version, which the linearization records. */
void sbo_nn_set_input_u8(sbo_nn_exec *e, int input, const unsigned char *base, const int *ids, int b,
                         double scale, double shift);
void sbo_nn_set_input(sbo_nn_exec *e, int input, const double *rows, int b);
/* Integer inputs an op bounds (an embedding's ids: [0, V)) are checked here, once per load: a value outside aborts
 * with the value, its element, the op and V (a caller's bug, like a tangent sweep at another point). */
void sbo_nn_set_input_int(sbo_nn_exec *e, int input, const int *vals, int b);
void sbo_nn_set_labels(sbo_nn_exec *e, const int *labels, int b);   /* the graph's default labels input */
void sbo_nn_set_ids(sbo_nn_exec *e, const int *ids, int b);         /* the graph's default sample-id input */
/* Declares ahead of the first call which derivative buffers calls will need, so that they are allocated now
 * (the memory table printed before step 0 is then the executor's peak): rank[l] > 0 for blocks that will be
 * projected at that rank (NULL: none); full_dot / full_grad: bit l set when block l will carry a full tangent /
 * full adjoints. Calls that need more allocate it then. 0 or -1 (out of memory). */
int sbo_nn_exec_reserve(sbo_nn_exec *e, const int *rank, unsigned long long full_dot, unsigned long long full_grad);
void sbo_nn_linearize(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_lin *c);
/* The gradients of the last linearization (reduced on its projected blocks), later: tangent sweeps do not change
 * them. A group whose gradient was not accumulated (grad_* given, or keep_grad_Y) aborts with a message. */
void sbo_nn_gradient(const sbo_nn_exec *e, double *grad_x, double *grad_Y);
void sbo_nn_tangent(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_tan *t);

/* One call of both (the first engine's interface, kept for tests and evaluation): outputs set to NULL are not
 * computed. The tangent sweep runs when a hess_* output is wanted and a tangent is given. */
typedef struct {
    int b;
    const double *dx;
    const double *dY;               /* reduced on projected blocks when P is given */
    const double *const *P;
    const int *rank;
    double *loss;
    double *grad_x, *grad_Y;
    double *hess_x, *hess_Y;
} sbo_nn_call;
void sbo_nn_run(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_call *c);
/* Per-sample values of a batched value after the last forward pass (e.g. logits for accuracy), as doubles. */
void sbo_nn_read_value(const sbo_nn_exec *e, int value, int b, double *out);
/* Bytes in the executor's arenas. */
size_t sbo_nn_exec_bytes(const sbo_nn_exec *e);
void sbo_nn_exec_print(const sbo_nn_exec *e, FILE *out);
/* Tangent sweeps and linearizations run so far (tests count them to check fusion). */
void sbo_nn_exec_passes(const sbo_nn_exec *e, long *linearizations, long *tangent_sweeps);
#endif
