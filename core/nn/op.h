/* core/nn/op.h: the op descriptor (one per op kind, in the table of core/nn/op_table.c) and what an op function
 * sees. Not a public header: core/nn/nn.h is.
 *
 * An op is one descriptor: its name, its arity, a shape function (checks the inputs, gives the output's shape),
 * which inputs may be projected lower parameters (reduced mode, §3.1) or must be integer inputs, the size of its
 * per-node scratch, and for each precision its forward, jvp, vjp and tvjp. The executor walks the nodes and calls
 * these through the table; it never switches on the kind. Op functions do no element loops of their own: GEMMs
 * and bodies over elements or rows go through the backend (core/nn/backend.h).
 *
 * Buffers (notation of every op: u input, theta parameter, y output; ' the forward tangent, _bar the adjoint):
 *   val, dot (= '), bar, bd (= bar'), flat row-major; for a projected lower parameter also P (m x r), dot_red
 *   (X, r x n: theta' = P X), bar_red, bd_red (P^T theta_bar, P^T theta_bar') and Ptheta (P^T theta).
 * The tvjp is the derivative of the vjp along the tangents: it reads y_bar, y_bar', u, u', theta'. */
#ifndef SBO_NN_OP_H
#define SBO_NN_OP_H
#include "core/nn/nn.h"        /* graphs, values, nodes */
#include "core/nn/backend.h"   /* GEMM, bodies over elements/rows, reductions */
#include "core/nn/kernels.h"   /* the kernel table: the bodies' ids (NN_K, core/nn/typed.h) */

/* The typed buffers and call context, once per precision (SFX = _f32, _f64). */
#define SBO_NN_DECLARE_TYPES(real, SFX)                                                                           \
    typedef struct {                                                                                              \
        real *val, *dot, *bar, *bd;       /* rows x cols (activations: max_batch rows) or the parameter's shape */ \
        int *ival;                        /* INPUT_INT values */                                                  \
        real *P, *dot_red, *bar_red, *bd_red, *Ptheta;  /* projected lower parameter (reduced mode)            */ \
        int r;                            /* rank in this linearization; 0 = full mode                          */ \
        int P_changed;                    /* this linearization's P differs from the previous one's             */ \
        long version;                     /* inputs: bumped by every load                                       */ \
    } SFX(sbo_nn_buf);                                                                                            \
    typedef struct {                                                                                              \
        real *s[4];                       /* the node's scratch pieces (op-defined), NULL when unused           */ \
        long cache_version;               /* op-defined cache stamp (linear: the data version a P came from)    */ \
        int cache_b;                                                                                              \
    } SFX(sbo_nn_nodebuf);                                                                                        \
    typedef struct {                                                                                              \
        const sbo_nn_graph *g;                                                                                    \
        const sbo_nn_node *node;                                                                                  \
        const sbo_nn_backend *be;                                                                                 \
        SFX(sbo_nn_buf) *in[SBO_NN_MAX_IN];   /* NULL for an absent optional input */                             \
        SFX(sbo_nn_buf) *out;                                                                                     \
        SFX(sbo_nn_nodebuf) *nb;                                                                                  \
        int b;                            /* batch rows of this call */                                           \
        int in_dot[SBO_NN_MAX_IN];        /* input j carries a tangent in this sweep                            */ \
        int in_bar[SBO_NN_MAX_IN];        /* input j needs adjoints                                             */ \
        int out_dot;                      /* the output carries a tangent in this sweep                         */ \
        int in_dot_full[SBO_NN_MAX_IN];   /* projected parameter j carries a FULL tangent (dot, m x n)          */ \
    } SFX(sbo_nn_ctx);                                                                                            \
    typedef void (*SFX(sbo_nn_fn))(const SFX(sbo_nn_ctx) *c);                                                     \
    typedef struct {                                                                                              \
        SFX(sbo_nn_fn) forward, jvp, vjp, tvjp;                                                                   \
    } SFX(sbo_nn_fns);

#define SBO_NN_F32(n) n##_f32
#define SBO_NN_F64(n) n##_f64
SBO_NN_DECLARE_TYPES(float, SBO_NN_F32)
SBO_NN_DECLARE_TYPES(double, SBO_NN_F64)

typedef struct {
    const char *name;
    int n_in_min, n_in_max;
    unsigned projectable;       /* bit j: input j may be a projected lower parameter */
    unsigned int_inputs;        /* bit j: input j must be an INPUT_INT value */
    unsigned param_inputs;      /* bit j: input j must be a parameter */
    /* bit j: with the op's projectable input (its weight) projected and no full tangent on it, the op reads input j
     * only as its product with P (linear: a P), so an activation read by nothing else keeps a P only: the
     * activation saving of docs/DEVIATIONS.md D12. The executor asks this bit; it never names an op. */
    unsigned reads_projected;
    /* Checks the inputs' shapes and fills the output's ndim and dims (batched or not). 0 or -1 with a message. */
    int (*shape)(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen);
    /* The exclusive upper bound V of the integer input j of node n (every value must lie in [0, V)), or 0 when the
     * op does not bound it; NULL: none. sbo_nn_set_input_int checks each load against it and aborts on a value
     * outside (a caller's bug: the kernels index with it unchecked). */
    int (*int_bound)(const sbo_nn_graph *g, const sbo_nn_node *n, int j);
    /* Scratch elements per piece (up to 4) for a node at batch B with the given rank of its projected input
     * (0: full mode; rank is -1 when the op has no projectable input); NULL: none. */
    void (*scratch)(const sbo_nn_graph *g, const sbo_nn_node *n, int B, int rank, long sizes[4]);
    sbo_nn_fns_f32 f32;
    sbo_nn_fns_f64 f64;
} sbo_nn_op_desc;

/* The table, indexed by enum sbo_nn_kind. */
extern const sbo_nn_op_desc *const sbo_nn_op_table[SBO_NN_N_KINDS];

/* The descriptor sbo_nn_op_<n> of an op whose typed functions are n_{forward,jvp,vjp,tvjp}_{f32,f64}; the other
 * fields as designated initializers (.name, .n_in_min, ...). */
#define SBO_NN_OP_DESC(n, ...)                                                                                    \
    const sbo_nn_op_desc sbo_nn_op_##n = {__VA_ARGS__,                                                            \
                                          .f32 = {n##_forward_f32, n##_jvp_f32, n##_vjp_f32, n##_tvjp_f32},       \
                                          .f64 = {n##_forward_f64, n##_jvp_f64, n##_vjp_f64, n##_tvjp_f64}}

/* A shape function's common ending: the output has the shape of value u. */
static inline int sbo_nn_shape_as(sbo_nn_value *out, const sbo_nn_value *u) {
    out->ndim = u->ndim;
    for (int d = 0; d < SBO_NN_MAX_DIMS; d++) out->dim[d] = u->dim[d];
    out->batched = u->batched;
    return 0;
}

/* Elements of value v at batch b (batched values: b rows; others: their full size). */
static inline long sbo_nn_numel(const sbo_nn_value *v, int b) {
    return (long)(v->batched ? b : v->rows) * v->cols;
}
#endif
