/* core/nn/op_linear.c: the GEMM ops.
 *   linear  y (b x n) = a (b x m) Y (m x n) [+ bias (1 x n)], Y = W^T a fan-in x fan-out parameter (§3.1); a is
 *           each sample flattened (m = the sample's size), or, when the sample's size is not m but its last dim is,
 *           every row of the last axis (token-wise: (b, T, m) -> (b, T, n), the rows b T). Its
 *           weight may be a projected lower parameter: then it keeps a_red = a P (b x r), and its reduced weight
 *           derivatives are P^T a^T y_bar = a_red^T y_bar (§3.1), never m x n. On a data input, a_red is kept while
 *           the data and P stay the same (§3.2: one P serves every call of an iteration).
 *   matmul  C = alpha op(A) op(B) over the last two dims, batched over the leading ones (strided batched GEMM):
 *           the product of two activations (attention scores Q K^T, and the weighted values).
 * Exercised by: tests/test_nn.c (ops against central differences, reduced = P^T full, a 4-D product). */
#ifndef SBO_NN_TEMPLATE
#include "core/nn/op.h"                /* the descriptor */
#include "core/nn/kernels_linear.h"    /* the bias bodies */
#include <stdio.h>
#include <string.h>

/* 1 when the linear node applies its weight to every row of the input's last axis (not to whole samples) */
static int linear_rowwise(const sbo_nn_graph *g, const sbo_nn_node *n) {
    const sbo_nn_value *a = &g->v[n->in[0]], *w = &g->v[n->in[1]];
    return w->rows != a->cols && a->ndim > 2 && a->dim[a->ndim - 1] == w->rows;
}

static int linear_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *a = &g->v[n->in[0]], *w = &g->v[n->in[1]];
    int rowwise = linear_rowwise(g, n);
    if (w->role != SBO_NN_PARAM || w->ndim != 2 || (w->rows != a->cols && !rowwise)) {
        snprintf(err, errlen, "sbo_nn: linear '%s': weight '%s' is %d x %d but the input '%s' has %d columns (Y = W^T "
                 "is fan-in x fan-out, §3.1)", out->name, w->name, w->rows, w->cols, a->name,
                 a->cols);
        return -1;
    }
    if (n->in[2] >= 0) {
        const sbo_nn_value *bias = &g->v[n->in[2]];
        if (bias->role != SBO_NN_PARAM || bias->rows * bias->cols != w->cols) {
            snprintf(err, errlen, "sbo_nn: linear '%s': bias must be a 1 x %d parameter", out->name, w->cols);
            return -1;
        }
    }
    if (rowwise) {
        out->ndim = a->ndim;
        memcpy(out->dim, a->dim, sizeof a->dim);
        out->dim[a->ndim - 1] = w->cols;
    } else {
        out->ndim = 2;
        out->dim[0] = a->dim[0];
        out->dim[1] = w->cols;
    }
    out->batched = a->batched;
    return 0;
}

/* a_red = a P (b x r); on an activation input also a' P and y_bar X^T (b x r each) */
static void linear_scratch(const sbo_nn_graph *g, const sbo_nn_node *n, int B, int rank, long sizes[4]) {
    if (rank <= 0) return;
    long sz = (long)B * (g->v[n->in[0]].cols / g->v[n->in[1]].rows) * rank;   /* a's rows: B or B T */
    int act = g->v[n->in[0]].role != SBO_NN_INPUT;
    sizes[0] = sz;
    sizes[1] = act ? sz : 0;
    sizes[2] = act ? sz : 0;
}

/* matmul: A (..., M, K) or (..., K, M) with trans_a, B (..., K, N) or (..., N, K); equal leading dims */
static void mm_dims(const sbo_nn_value *v, int trans, int *rows, int *cols) {
    int r = v->dim[v->ndim - 2], c = v->dim[v->ndim - 1];
    *rows = trans ? c : r;
    *cols = trans ? r : c;
}

static int matmul_shape(const sbo_nn_graph *g, const sbo_nn_node *n, sbo_nn_value *out, char *err, size_t errlen) {
    const sbo_nn_value *A = &g->v[n->in[0]], *B = &g->v[n->in[1]];
    int M, K, K2, N;
    if (A->ndim < 2 || A->ndim != B->ndim || A->batched != B->batched) {
        snprintf(err, errlen, "sbo_nn: matmul '%s': operands '%s' (%d-D) and '%s' (%d-D) must have the same number "
                 "(>= 2) of dimensions and both be batched or not", out->name, A->name, A->ndim, B->name, B->ndim);
        return -1;
    }
    for (int d = 0; d < A->ndim - 2; d++)
        if (A->dim[d] != B->dim[d]) {
            snprintf(err, errlen, "sbo_nn: matmul '%s': leading dimension %d differs (%d vs %d)", out->name, d,
                     A->dim[d], B->dim[d]);
            return -1;
        }
    mm_dims(A, n->iarg[0], &M, &K);
    mm_dims(B, n->iarg[1], &K2, &N);
    if (K != K2) {
        snprintf(err, errlen, "sbo_nn: matmul '%s': inner dimensions differ: op(A) is %d x %d, op(B) is %d x %d",
                 out->name, M, K, K2, N);
        return -1;
    }
    out->ndim = A->ndim;
    memcpy(out->dim, A->dim, sizeof A->dim);
    out->dim[A->ndim - 2] = M;
    out->dim[A->ndim - 1] = N;
    out->batched = A->batched;
    return 0;
}

#define SBO_NN_TEMPLATE_FILE "core/nn/op_linear.c"
#include "core/nn/template.h"

const sbo_nn_op_desc sbo_nn_op_linear = {
    .name = "linear", .n_in_min = 3, .n_in_max = 3, .projectable = 1u << 1, .param_inputs = 1u << 1,
    .reads_projected = 1u << 0, .shape = linear_shape, .scratch = linear_scratch,
    .f32 = {linear_forward_f32, linear_jvp_f32, linear_vjp_f32, linear_tvjp_f32},
    .f64 = {linear_forward_f64, linear_jvp_f64, linear_vjp_f64, linear_tvjp_f64}};

const sbo_nn_op_desc sbo_nn_op_matmul = {
    .name = "matmul", .n_in_min = 2, .n_in_max = 2, .shape = matmul_shape,
    .f32 = {matmul_forward_f32, matmul_jvp_f32, matmul_vjp_f32, matmul_tvjp_f32},
    .f64 = {matmul_forward_f64, matmul_jvp_f64, matmul_vjp_f64, matmul_tvjp_f64}};

#else /* --- typed part (real, SFX) ----------------------------------------------------------------------------- */
#include "core/nn/typed.h"

typedef SFX(sbo_nn_bias_args) SFX(bias_arg);
typedef SFX(sbo_nn_colsum_args) SFX(colsum_arg);

/* the parts of a linear node: a (b x m: the samples, or b = the rows of the last axis), weight (m x n), bias */
#define LINEAR_PARTS                                                                                             \
    const SFX(sbo_nn_buf) *u = c->in[0], *w = c->in[1], *bias = c->in[2];                                      \
    const sbo_nn_value *uv = &c->g->v[c->node->in[0]];                                                          \
    int m = c->g->v[c->node->in[1]].rows, b = (int)(sbo_nn_numel(uv, c->b) / m);                               \
    int n = c->g->v[c->node->in[1]].cols, r = w->r;                                                            \
    SFX(sbo_nn_nodebuf) *nb = c->nb;                                                                            \
    (void)bias; (void)nb; (void)r

static void SFX(linear_forward)(const SFX(sbo_nn_ctx) *c) {
    LINEAR_PARTS;
    SFX(nn_gemm)(c->be, 0, 0, b, n, m, 1, u->val, w->val, 0, c->out->val);
    if (bias) {
        SFX(bias_arg) a = {n, bias->val, c->out->val};
        c->be->run(b, n, NN_K(bias_rows), &a);
    }
    if (r) {
        int data = uv->role == SBO_NN_INPUT;
        if (!data || w->P_changed || nb->cache_version != u->version || nb->cache_b != b) {
            SFX(nn_gemm)(c->be, 0, 0, b, r, m, 1, u->val, w->P, 0, nb->s[0]);          /* a_red = a P */
            nb->cache_version = data ? u->version : -1;
            nb->cache_b = b;
        }
    }
}

static void SFX(linear_jvp)(const SFX(sbo_nn_ctx) *c) {
    LINEAR_PARTS;
    real *yd = c->out->dot, beta = 0;   /* the first term overwrites y' */
    if (c->in_dot[0]) {
        SFX(nn_gemm)(c->be, 0, 0, b, n, m, 1, u->dot, w->val, beta, yd);                   /* a' Y */
        if (r) SFX(nn_gemm)(c->be, 0, 0, b, r, m, 1, u->dot, w->P, 0, nb->s[1]);          /* a' P */
        beta = 1;
    }
    if (c->in_dot[1]) {
        if (r && !c->in_dot_full[1]) SFX(nn_gemm)(c->be, 0, 0, b, n, r, 1, nb->s[0], w->dot_red, beta, yd); /* a P X */
        else SFX(nn_gemm)(c->be, 0, 0, b, n, m, 1, u->val, w->dot, beta, yd);                                /* a Y' */
        beta = 1;
    }
    if (beta == 0) SFX(nn_zero)(c->be, yd, (long)b * n);
    if (bias && c->in_dot[2]) {
        SFX(bias_arg) a = {n, bias->dot, yd};
        c->be->run(b, n, NN_K(bias_rows), &a);
    }
}

static void SFX(linear_vjp)(const SFX(sbo_nn_ctx) *c) {
    LINEAR_PARTS;
    const real *yb = c->out->bar;
    if (c->in_bar[0]) SFX(nn_gemm)(c->be, 0, 1, b, m, n, 1, yb, w->val, 1, u->bar);      /* a_bar += y_bar Y^T */
    if (c->in_bar[1]) {                                                                  /* Y_bar += a^T y_bar */
        if (r) SFX(nn_gemm)(c->be, 1, 0, r, n, b, 1, nb->s[0], yb, 1, w->bar_red);
        else SFX(nn_gemm)(c->be, 1, 0, m, n, b, 1, u->val, yb, 1, w->bar);
    }
    if (bias && c->in_bar[2]) {
        SFX(colsum_arg) a = {b, n, yb, bias->bar};
        c->be->run(n, b, NN_K(colsum), &a);
    }
}

static void SFX(linear_tvjp)(const SFX(sbo_nn_ctx) *c) {
    LINEAR_PARTS;
    const real *yb = c->out->bar, *ybd = c->out->bd;
    if (c->in_bar[0]) {
        SFX(nn_gemm)(c->be, 0, 1, b, m, n, 1, ybd, w->val, 1, u->bd);                     /* + y_bar' Y^T */
        if (c->in_dot[1] && r && !c->in_dot_full[1]) {                                   /* + y_bar (P X)^T */
            SFX(nn_gemm)(c->be, 0, 1, b, r, n, 1, yb, w->dot_red, 0, nb->s[2]);
            SFX(nn_gemm)(c->be, 0, 1, b, m, r, 1, nb->s[2], w->P, 1, u->bd);
        } else if (c->in_dot[1]) {
            SFX(nn_gemm)(c->be, 0, 1, b, m, n, 1, yb, w->dot, 1, u->bd);                  /* + y_bar Y'^T */
        }
    }
    if (c->in_bar[1]) {
        const real *a = r ? nb->s[0] : u->val, *ad = r ? nb->s[1] : u->dot;
        real *wbd = r ? w->bd_red : w->bd;
        int rows = r ? r : m;
        SFX(nn_gemm)(c->be, 1, 0, rows, n, b, 1, a, ybd, 1, wbd);                          /* Y_bar' += a^T y_bar' */
        if (c->in_dot[0]) SFX(nn_gemm)(c->be, 1, 0, rows, n, b, 1, ad, yb, 1, wbd);       /*        + a'^T y_bar */
    }
    if (bias && c->in_bar[2]) {
        SFX(colsum_arg) a = {b, n, ybd, bias->bd};
        c->be->run(n, b, NN_K(colsum), &a);
    }
}

/* --- matmul ------------------------------------------------------------------------------------------------ */
typedef struct {
    int tA, tB, M, N, K, count;
    long sA, sB, sC;
    real alpha;
} SFX(mm);

static SFX(mm) SFX(mm_plan)(const SFX(sbo_nn_ctx) *c) {
    const sbo_nn_value *A = &c->g->v[c->node->in[0]], *B = &c->g->v[c->node->in[1]];
    SFX(mm) p;
    p.tA = c->node->iarg[0];
    p.tB = c->node->iarg[1];
    mm_dims(A, p.tA, &p.M, &p.K);
    mm_dims(B, p.tB, &p.K, &p.N);
    p.sA = (long)p.M * p.K;
    p.sB = (long)p.K * p.N;
    p.sC = (long)p.M * p.N;
    p.count = (int)(sbo_nn_numel(A, c->b) / p.sA);
    p.alpha = (real)c->node->coef;
    return p;
}

/* C (+)= alpha op(A) op(B) */
static void SFX(mm_product)(const SFX(sbo_nn_ctx) *c, const SFX(mm) *p, const real *A, const real *B, real beta,
                            real *C) {
    SFX(nn_gemm_batched)(c->be, p->tA, p->tB, p->M, p->N, p->K, p->alpha, A, p->sA, B, p->sB, beta, C, p->sC, p->count);
}

/* A_bar += alpha C_bar op(B)^T in A's layout (K x M when tA: += alpha op(B) C_bar^T) */
static void SFX(mm_grad_A)(const SFX(sbo_nn_ctx) *c, const SFX(mm) *p, const real *Cb, const real *B, real *Ab) {
    if (!p->tA) SFX(nn_gemm_batched)(c->be, 0, !p->tB, p->M, p->K, p->N, p->alpha, Cb, p->sC, B, p->sB, 1, Ab, p->sA, p->count);
    else SFX(nn_gemm_batched)(c->be, p->tB, 1, p->K, p->M, p->N, p->alpha, B, p->sB, Cb, p->sC, 1, Ab, p->sA, p->count);
}

/* B_bar += alpha op(A)^T C_bar in B's layout (N x K when tB: += alpha C_bar^T op(A)) */
static void SFX(mm_grad_B)(const SFX(sbo_nn_ctx) *c, const SFX(mm) *p, const real *A, const real *Cb, real *Bb) {
    if (!p->tB) SFX(nn_gemm_batched)(c->be, !p->tA, 0, p->K, p->N, p->M, p->alpha, A, p->sA, Cb, p->sC, 1, Bb, p->sB, p->count);
    else SFX(nn_gemm_batched)(c->be, 1, p->tA, p->N, p->K, p->M, p->alpha, Cb, p->sC, A, p->sA, 1, Bb, p->sB, p->count);
}

static void SFX(matmul_forward)(const SFX(sbo_nn_ctx) *c) {
    SFX(mm) p = SFX(mm_plan)(c);
    SFX(mm_product)(c, &p, c->in[0]->val, c->in[1]->val, 0, c->out->val);
}

static void SFX(matmul_jvp)(const SFX(sbo_nn_ctx) *c) {           /* C' = alpha (op(A') op(B) + op(A) op(B')) */
    SFX(mm) p = SFX(mm_plan)(c);
    real beta = 0;
    if (c->in_dot[0]) { SFX(mm_product)(c, &p, c->in[0]->dot, c->in[1]->val, beta, c->out->dot); beta = 1; }
    if (c->in_dot[1]) { SFX(mm_product)(c, &p, c->in[0]->val, c->in[1]->dot, beta, c->out->dot); beta = 1; }
    if (beta == 0) SFX(nn_zero)(c->be, c->out->dot, p.sC * p.count);
}

static void SFX(matmul_vjp)(const SFX(sbo_nn_ctx) *c) {
    SFX(mm) p = SFX(mm_plan)(c);
    if (c->in_bar[0]) SFX(mm_grad_A)(c, &p, c->out->bar, c->in[1]->val, c->in[0]->bar);
    if (c->in_bar[1]) SFX(mm_grad_B)(c, &p, c->in[0]->val, c->out->bar, c->in[1]->bar);
}

static void SFX(matmul_tvjp)(const SFX(sbo_nn_ctx) *c) {
    SFX(mm) p = SFX(mm_plan)(c);
    if (c->in_bar[0]) {                                            /* A_bar' += C_bar' op(B)^T + C_bar op(B')^T */
        SFX(mm_grad_A)(c, &p, c->out->bd, c->in[1]->val, c->in[0]->bd);
        if (c->in_dot[1]) SFX(mm_grad_A)(c, &p, c->out->bar, c->in[1]->dot, c->in[0]->bd);
    }
    if (c->in_bar[1]) {                                            /* B_bar' += op(A)^T C_bar' + op(A')^T C_bar */
        SFX(mm_grad_B)(c, &p, c->in[0]->val, c->out->bd, c->in[1]->bd);
        if (c->in_dot[0]) SFX(mm_grad_B)(c, &p, c->in[0]->dot, c->out->bar, c->in[1]->bd);
    }
}
#endif
