/* core/sbo_nn_exec.h: the executor of core/sbo_nn.h, written once for a scalar type `real` and included twice by
 * core/sbo_nn_exec.c (real = float, then double; SFX names the functions of each). Not a public header.
 *
 * Notation for every op (u: input, theta: parameter, y: output; ' is the forward tangent, _bar the adjoint):
 *   forward y;  jvp y';  vjp u_bar += ..., theta_bar += ...;  tvjp u_bar' += ..., theta_bar' += ...
 * The tvjp of an op is the derivative of its vjp along the tangents: it needs y_bar, y_bar', u, u' and theta'.
 * Reduced parameters (ALGORITHMS.md §3.1): theta' = P X is given as X (r x n); theta_bar and theta_bar' are
 * returned as P^T theta_bar, P^T theta_bar' (r x n). A linear op with a reduced weight keeps a_red = a P.
 * The per-element bodies of the activations and the per-row bodies of the cross-entropy are the shared
 * __host__ __device__ functions of core/sbo_nn_kernels.h (SFX picks the _f32 or _f64 instance), the same ones
 * the CUDA kernels of core/cuda/sbo_nn_cuda.cu run. */
#include "core/sbo_nn_kernels.h"   /* sbo_nn_act_{forward,backward}_thread, sbo_nn_xent_{forward,backward}_row */

typedef struct {
    real *val, *dot, *bar, *bd;          /* b x cols (activations) or m x n (parameters); bd = bar' */
    real *P, *dot_red, *bar_red, *bd_red, *Ptheta;   /* reduced lower parameters (r x n), P copy (m x r) */
    int r;                               /* rank in this call; 0 = full mode */
    int P_changed;                       /* this call's P differs from the previous call's */
    long version;                        /* INPUT values: bumped by every set_input */
} SFX(vbuf);

typedef struct {
    real *a_red, *adot_red, *tmp;        /* linear op with a reduced weight: a P, a' P, y_bar X^T (b x r each) */
    long a_red_version;                  /* input version a_red was computed from (-1: none); for data inputs only */
    int a_red_b;
} SFX(obuf);

typedef struct {
    sbo_nn_graph g;
    sbo_layout lower;
    int d_upper;
    char name[40];
    SFX(vbuf) v[SBO_NN_MAX_VALUES];
    SFX(obuf) o[SBO_NN_MAX_OPS];
    int *labels, *ids;
    sbo_arena base, lower_full, reduced;  /* values and activations; lower-parameter derivatives (full mode);
                                             reduced-mode buffers (allocated on first use, per rank tuple) */
    int reduced_rank[SBO_MAX_BLOCKS];     /* the ranks `reduced` is sized for (0: full) */
    unsigned long long dot_mask, grad_mask;  /* lower parameters with a full Y' / full bar, bar' in lower_full */
    int has_dot[SBO_NN_MAX_VALUES], needs_bar[SBO_NN_MAX_VALUES];
    /* Where the arenas write their entries' pointers: an arena keeps the address given to sbo_arena_add and
     * writes NULL through it in sbo_arena_free, so it must outlive the arena (a local would be written after
     * its function returned). [0..2] base, [3] lower_full, [4..5] reduced; carved into the buffers above. */
    real *arena_view[6];
} SFX(exec);

/* Row-major C (M x N) = alpha op(A) op(B) + beta C through CBLAS. */
static void SFX(gemm)(int tA, int tB, int M, int N, int K, real alpha, const real *A, const real *B, real beta,
                      real *C) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (long i = 0; i < (long)M * N; i++) C[i] = beta == 0 ? 0 : beta * C[i];
        return;
    }
    CBLAS_GEMM(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
               tA ? M : K, B, tB ? K : N, beta, C, N);
}

static long SFX(pad)(long n) { return (n + 15) / 16 * 16; }   /* 64-byte alignment of every carved buffer */

/* Carves one arena entry `base` into n pieces of the given sizes. */
static void SFX(carve)(real *base, int n, const long *sizes, real **dst[]) {
    long off = 0;
    for (int i = 0; i < n; i++) {
        *dst[i] = sizes[i] ? base + off : NULL;
        off += SFX(pad)(sizes[i]);
    }
}

static void SFX(arena_add)(sbo_arena *a, const char *name, const char *shape, long count, real **dst) {
#if SBO_NN_REAL_IS_FLOAT
    sbo_arena_add_f32(a, name, shape, count, dst);
#else
    sbo_arena_add(a, name, shape, count, dst);
#endif
}

static void *SFX(create)(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, const char *name, char *err,
                         size_t errlen) {
    SFX(exec) *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory creating the network executor '%s'", name);
        return NULL;
    }
    e->g = *g;
    if (lower) e->lower = *lower;
    e->d_upper = d_upper;
    snprintf(e->name, sizeof e->name, "%s", name);
    char an[64], sh[64];
    snprintf(an, sizeof an, "%s.values", name);
    sbo_arena_init(&e->base, an);
    /* sizes: parameters (values), upper parameter derivatives (dot, bar, bd), activations (val, dot, bar, bd) */
    long n_param = 0, n_upper = 0, n_act = 0;
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        long sz = SFX(pad)((long)v->rows * v->cols);
        if (v->role == SBO_NN_PARAM) {
            n_param += sz;
            if (v->group == SBO_NN_UPPER) n_upper += 3 * sz;
        } else {
            n_act += v->role == SBO_NN_INPUT ? sz : 4 * sz;
        }
    }
    snprintf(sh, sizeof sh, "sum of parameter shapes = %ld", n_param);
    SFX(arena_add)(&e->base, "parameters (x, Y copies)", sh, n_param, &e->arena_view[0]);
    snprintf(sh, sizeof sh, "3 x upper parameters = %ld", n_upper);
    SFX(arena_add)(&e->base, "upper param derivatives", sh, n_upper, &e->arena_view[1]);
    snprintf(sh, sizeof sh, "batch %d: inputs + 4 x acts = %ld", g->max_batch, n_act);
    SFX(arena_add)(&e->base, "activations (val,',bar,bar')", sh, n_act, &e->arena_view[2]);
    snprintf(sh, sizeof sh, "2 x batch %d", g->max_batch);
    sbo_arena_add_int(&e->base, "labels", sh, g->max_batch, &e->labels);
    sbo_arena_add_int(&e->base, "sample ids", sh, g->max_batch, &e->ids);
    if (sbo_arena_commit(&e->base)) {
        snprintf(err, errlen, "out of memory allocating the network executor '%s' (%ld values)", name,
                 n_param + n_upper + n_act);
        free(e);
        return NULL;
    }
    real *p_param = e->arena_view[0], *p_upper = e->arena_view[1], *p_act = e->arena_view[2];
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        long sz = SFX(pad)((long)v->rows * v->cols);
        SFX(vbuf) *b = &e->v[i];
        if (v->role == SBO_NN_PARAM) {
            b->val = p_param; p_param += sz;
            if (v->group == SBO_NN_UPPER) {
                b->dot = p_upper; b->bar = p_upper + sz; b->bd = p_upper + 2 * sz;
                p_upper += 3 * sz;
            }
        } else if (v->role == SBO_NN_INPUT) {
            b->val = p_act; p_act += sz;
        } else {
            b->val = p_act; b->dot = p_act + sz; b->bar = p_act + 2 * sz; b->bd = p_act + 3 * sz;
            p_act += 4 * sz;
        }
    }
    return e;
}

static void SFX(destroy)(void *ve) {
    SFX(exec) *e = ve;
    if (!e) return;
    sbo_arena_free(&e->base);
    sbo_arena_free(&e->lower_full);
    sbo_arena_free(&e->reduced);
    free(e);
}

/* Full-mode derivative buffers of the lower parameters, on first use: the tangent Y' for those in dot_mask (a
 * full-space direction, e.g. J[Z_k] with the full Z_k), the adjoints bar and bar' for those in grad_mask (a full
 * gradient or H[V]). A projected block gets them only when some call uses it in full mode, so a reduced-only run
 * never holds m x n derivatives, and BROS's full cross term costs one m x n tangent, not three. */
static int SFX(ensure_lower_full)(SFX(exec) *e, unsigned long long dot_mask, unsigned long long grad_mask) {
    if (e->lower_full.committed && (dot_mask & ~e->dot_mask) == 0 && (grad_mask & ~e->grad_mask) == 0) return 0;
    dot_mask |= e->dot_mask;
    grad_mask |= e->grad_mask;
    sbo_arena_free(&e->lower_full);
    for (int i = 0; i < e->g.n_values; i++)
        if (e->g.v[i].role == SBO_NN_PARAM && e->g.v[i].group == SBO_NN_LOWER) e->v[i].dot = e->v[i].bar = e->v[i].bd = NULL;
    char an[64], sh[64];
    snprintf(an, sizeof an, "%s.lower_full", e->name);
    sbo_arena_init(&e->lower_full, an);
    long n = 0;
    for (int i = 0; i < e->g.n_values; i++) {
        long sz = SFX(pad)((long)e->g.v[i].rows * e->g.v[i].cols);
        n += ((dot_mask >> i & 1) + 2 * (grad_mask >> i & 1)) * sz;
    }
    snprintf(sh, sizeof sh, "m_l n_l per Y' and per bar, bar' = %ld", n);
    SFX(arena_add)(&e->lower_full, "lower param Y', bar, bar'", sh, n, &e->arena_view[3]);
    if (sbo_arena_commit(&e->lower_full)) return -1;
    real *p = e->arena_view[3];
    for (int i = 0; i < e->g.n_values; i++) {
        long sz = SFX(pad)((long)e->g.v[i].rows * e->g.v[i].cols);
        if (dot_mask >> i & 1) { e->v[i].dot = p; p += sz; }
        if (grad_mask >> i & 1) { e->v[i].bar = p; e->v[i].bd = p + sz; p += 2 * sz; }
    }
    e->dot_mask = dot_mask;
    e->grad_mask = grad_mask;
    return 0;
}

/* Reduced-mode buffers for the rank tuple of this call (re-made when the ranks change). */
static int SFX(ensure_reduced)(SFX(exec) *e, const double *const *P, const int *rank) {
    int same = e->reduced.committed;
    for (int l = 0; l < e->lower.L; l++) {
        int r = P[l] ? rank[l] : 0;
        if (r != e->reduced_rank[l]) same = 0;
    }
    if (same) return 0;
    sbo_arena_free(&e->reduced);
    char an[64], sh[64];
    snprintf(an, sizeof an, "%s.reduced", e->name);
    sbo_arena_init(&e->reduced, an);
    long n_par = 0, n_op = 0;
    int B = e->g.max_batch;
    for (int l = 0; l < e->lower.L; l++) e->reduced_rank[l] = P[l] ? rank[l] : 0;
    for (int i = 0; i < e->g.n_values; i++) {
        const sbo_nn_value *v = &e->g.v[i];
        if (v->role != SBO_NN_PARAM || v->group != SBO_NN_LOWER || !e->reduced_rank[v->block]) continue;
        int r = e->reduced_rank[v->block];
        n_par += SFX(pad)((long)v->rows * r) + 4 * SFX(pad)((long)r * v->cols);
    }
    for (int k = 0; k < e->g.n_ops; k++) {
        const sbo_nn_op *o = &e->g.op[k];
        if (o->kind != SBO_NN_LINEAR) continue;
        const sbo_nn_value *w = &e->g.v[o->in[1]];
        /* a' P and y_bar X^T exist only when the input is an activation (a data input has no tangent or adjoint) */
        int nb = e->g.v[o->in[0]].role == SBO_NN_INPUT ? 1 : 3;
        if (w->group == SBO_NN_LOWER && e->reduced_rank[w->block]) n_op += nb * SFX(pad)((long)B * e->reduced_rank[w->block]);
    }
    snprintf(sh, sizeof sh, "m r + 4 r n per block = %ld", n_par);
    SFX(arena_add)(&e->reduced, "P, X, bar, bar', P^T Y", sh, n_par, &e->arena_view[4]);
    snprintf(sh, sizeof sh, "b r (data input) or 3 b r per linear = %ld", n_op);
    SFX(arena_add)(&e->reduced, "a P, a' P, y_bar X^T", sh, n_op, &e->arena_view[5]);
    if (sbo_arena_commit(&e->reduced)) return -1;
    real *pp = e->arena_view[4], *po = e->arena_view[5];
    for (int i = 0; i < e->g.n_values; i++) {
        const sbo_nn_value *v = &e->g.v[i];
        SFX(vbuf) *b = &e->v[i];
        b->r = 0;
        b->P = b->dot_red = b->bar_red = b->bd_red = b->Ptheta = NULL;
        if (v->role != SBO_NN_PARAM || v->group != SBO_NN_LOWER || !e->reduced_rank[v->block]) continue;
        int r = e->reduced_rank[v->block];
        long sizes[5] = {(long)v->rows * r, (long)r * v->cols, (long)r * v->cols, (long)r * v->cols, (long)r * v->cols};
        real **dst[5] = {&b->P, &b->dot_red, &b->bar_red, &b->bd_red, &b->Ptheta};
        SFX(carve)(pp, 5, sizes, dst);
        for (int j = 0; j < 5; j++) pp += SFX(pad)(sizes[j]);
        b->r = r;
    }
    for (int k = 0; k < e->g.n_ops; k++) {
        const sbo_nn_op *o = &e->g.op[k];
        SFX(obuf) *ob = &e->o[k];
        ob->a_red = ob->adot_red = ob->tmp = NULL;
        ob->a_red_version = -1;
        if (o->kind != SBO_NN_LINEAR) continue;
        const sbo_nn_value *w = &e->g.v[o->in[1]];
        if (w->group != SBO_NN_LOWER || !e->reduced_rank[w->block]) continue;
        long sz = (long)B * e->reduced_rank[w->block];
        int nb = e->g.v[o->in[0]].role == SBO_NN_INPUT ? 1 : 3;
        long sizes[3] = {sz, nb > 1 ? sz : 0, nb > 1 ? sz : 0};
        real **dst[3] = {&ob->a_red, &ob->adot_red, &ob->tmp};
        SFX(carve)(po, 3, sizes, dst);
        po += nb * SFX(pad)(sz);
    }
    return 0;
}

/* --- the sigmoid of SIGMOID_GATHER (RELU/TANH/GELU and XENT: the shared bodies of core/sbo_nn_kernels.h) -- */
static inline real SFX(sigmoid)(real x) { return (real)(1.0 / (1.0 + exp(-(double)x))); }


/* --- forward and jvp of op k ----------------------------------------------------------------------------- */
static void SFX(op_forward)(SFX(exec) *e, int k, int b, int tangent) {
    const sbo_nn_op *o = &e->g.op[k];
    SFX(vbuf) *y = &e->v[o->out], *u = &e->v[o->in[0]];
    const sbo_nn_value *uv = &e->g.v[o->in[0]];
    int ydot = tangent && e->has_dot[o->out], udot = tangent && e->has_dot[o->in[0]];
    switch (o->kind) {
    case SBO_NN_LINEAR: {
        SFX(vbuf) *w = &e->v[o->in[1]];
        SFX(vbuf) *bias = o->in[2] >= 0 ? &e->v[o->in[2]] : NULL;
        int m = uv->cols, n = e->g.v[o->in[1]].cols, r = w->r;
        SFX(obuf) *ob = &e->o[k];
        SFX(gemm)(0, 0, b, n, m, 1, u->val, w->val, 0, y->val);
        if (bias)
            for (int s = 0; s < b; s++) for (int j = 0; j < n; j++) y->val[(long)s * n + j] += bias->val[j];
        if (r) {   /* a_red = a P; on a data input it is reused while the data and P stay the same (§3.2: one P
                    * serves every call of an iteration, so the iteration needs a single reduced forward pass) */
            int data = uv->role == SBO_NN_INPUT;
            if (!data || w->P_changed || ob->a_red_version != u->version || ob->a_red_b != b) {
                SFX(gemm)(0, 0, b, r, m, 1, u->val, w->P, 0, ob->a_red);
                ob->a_red_version = data ? u->version : -1;
                ob->a_red_b = b;
            }
        }
        if (!ydot) break;
        memset(y->dot, 0, sizeof(real) * (size_t)b * n);
        if (udot) {
            SFX(gemm)(0, 0, b, n, m, 1, u->dot, w->val, 1, y->dot);                    /* a' Y */
            if (r) SFX(gemm)(0, 0, b, r, m, 1, u->dot, w->P, 0, ob->adot_red);         /* a' P */
        }
        if (e->has_dot[o->in[1]]) {
            if (r) SFX(gemm)(0, 0, b, n, r, 1, ob->a_red, w->dot_red, 1, y->dot);      /* a P X */
            else SFX(gemm)(0, 0, b, n, m, 1, u->val, w->dot, 1, y->dot);               /* a Y' */
        }
        if (bias && e->has_dot[o->in[2]])
            for (int s = 0; s < b; s++) for (int j = 0; j < n; j++) y->dot[(long)s * n + j] += bias->dot[j];
        break;
    }
    case SBO_NN_RELU: case SBO_NN_TANH: case SBO_NN_GELU: {
        long n = (long)b * uv->cols;
        const real *ud = udot ? u->dot : NULL;
        real *yd = ydot ? y->dot : NULL;
#pragma omp parallel for if (n > 65536) schedule(static)
        for (long i = 0; i < n; i++) SFX(sbo_nn_act_forward_thread)(i, n, o->kind, u->val, ud, y->val, yd);
        break;
    }
    case SBO_NN_XENT: {
        int C = uv->cols;
        const real *zd = udot ? u->dot : NULL;
        real *yd = ydot ? y->dot : NULL;
#pragma omp parallel for if ((long)b * C > 65536) schedule(static)
        for (int s = 0; s < b; s++) {
            real p[SBO_NN_MAX_CLASSES];
            SFX(sbo_nn_xent_forward_row)(s, b, C, u->val, e->labels, zd, y->val, yd, p);
        }
        break;
    }
    case SBO_NN_SIGMOID_GATHER:
        for (int s = 0; s < b; s++) {
            real w = SFX(sigmoid)(u->val[e->ids[s]]);
            y->val[s] = w;
            if (ydot) y->dot[s] = udot ? w * (1 - w) * u->dot[e->ids[s]] : 0;
        }
        break;
    case SBO_NN_WMEAN: {
        const SFX(vbuf) *w = o->in[1] >= 0 ? &e->v[o->in[1]] : NULL;
        int wdot = w && tangent && e->has_dot[o->in[1]];
        double L = 0, Ld = 0;
        for (int s = 0; s < b; s++) {
            real ws = w ? w->val[s] : 1;
            L += (double)ws * u->val[s];
            if (ydot) Ld += (udot ? (double)ws * u->dot[s] : 0) + (wdot ? (double)w->dot[s] * u->val[s] : 0);
        }
        y->val[0] = (real)(L / b);
        if (ydot) y->dot[0] = (real)(Ld / b);
        break;
    }
    case SBO_NN_L2: {
        long n = (long)uv->rows * uv->cols;
        double s2 = 0, sd = 0;
        for (long i = 0; i < n; i++) s2 += (double)u->val[i] * u->val[i];
        y->val[0] = (real)(0.5 * o->coef * s2);
        if (u->r) {   /* P^T theta, used by the reduced vjp and jvp */
            SFX(gemm)(1, 0, u->r, uv->cols, uv->rows, 1, u->P, u->val, 0, u->Ptheta);
            if (ydot && udot)
                for (long i = 0; i < (long)u->r * uv->cols; i++) sd += (double)u->Ptheta[i] * u->dot_red[i];
        } else if (ydot && udot) {
            for (long i = 0; i < n; i++) sd += (double)u->val[i] * u->dot[i];
        }
        if (ydot) y->dot[0] = (real)(o->coef * sd);
        break;
    }
    }
}

/* --- vjp and tvjp of op k (accumulate into the inputs' bar and bd) ---------------------------------------- */
static void SFX(op_backward)(SFX(exec) *e, int k, int b, int tangent) {
    const sbo_nn_op *o = &e->g.op[k];
    SFX(vbuf) *y = &e->v[o->out], *u = &e->v[o->in[0]];
    const sbo_nn_value *uv = &e->g.v[o->in[0]];
    int ub = e->needs_bar[o->in[0]], udot = tangent && e->has_dot[o->in[0]];
    switch (o->kind) {
    case SBO_NN_LINEAR: {
        SFX(vbuf) *w = &e->v[o->in[1]];
        int wi = o->in[1], m = uv->cols, n = e->g.v[wi].cols, r = w->r;
        int wdot = tangent && e->has_dot[wi];
        SFX(obuf) *ob = &e->o[k];
        if (ub) {
            SFX(gemm)(0, 1, b, m, n, 1, y->bar, w->val, 1, u->bar);                   /* a_bar += y_bar Y^T */
            if (tangent) {
                SFX(gemm)(0, 1, b, m, n, 1, y->bd, w->val, 1, u->bd);                 /* + y_bar' Y^T */
                if (wdot && r) {                                                      /* + y_bar (P X)^T */
                    SFX(gemm)(0, 1, b, r, n, 1, y->bar, w->dot_red, 0, ob->tmp);
                    SFX(gemm)(0, 1, b, m, r, 1, ob->tmp, w->P, 1, u->bd);
                } else if (wdot) {
                    SFX(gemm)(0, 1, b, m, n, 1, y->bar, w->dot, 1, u->bd);            /* + y_bar Y'^T */
                }
            }
        }
        if (e->needs_bar[wi]) {
            const real *a = r ? ob->a_red : u->val, *ad = r ? ob->adot_red : u->dot;
            real *wb = r ? w->bar_red : w->bar, *wbd = r ? w->bd_red : w->bd;
            int rows = r ? r : m;
            SFX(gemm)(1, 0, rows, n, b, 1, a, y->bar, 1, wb);                         /* Y_bar += a^T y_bar */
            if (tangent) {
                SFX(gemm)(1, 0, rows, n, b, 1, a, y->bd, 1, wbd);                     /* Y_bar' += a^T y_bar' */
                if (udot) SFX(gemm)(1, 0, rows, n, b, 1, ad, y->bar, 1, wbd);         /*        + a'^T y_bar */
            }
        }
        if (o->in[2] >= 0 && e->needs_bar[o->in[2]]) {
            SFX(vbuf) *bias = &e->v[o->in[2]];
            for (int s = 0; s < b; s++)
                for (int j = 0; j < n; j++) {
                    bias->bar[j] += y->bar[(long)s * n + j];
                    if (tangent) bias->bd[j] += y->bd[(long)s * n + j];
                }
        }
        break;
    }
    case SBO_NN_RELU: case SBO_NN_TANH: case SBO_NN_GELU: {
        if (!ub) break;
        long n = (long)b * uv->cols;
        const real *ud = udot ? u->dot : NULL, *ybd = tangent ? y->bd : NULL;
        real *ubd = tangent ? u->bd : NULL;
#pragma omp parallel for if (n > 65536) schedule(static)
        for (long i = 0; i < n; i++)
            SFX(sbo_nn_act_backward_thread)(i, n, o->kind, u->val, ud, y->bar, ybd, u->bar, ubd);
        break;
    }
    case SBO_NN_XENT: {
        if (!ub) break;
        int C = uv->cols;
        const real *zd = udot ? u->dot : NULL, *ybd = tangent ? y->bd : NULL;
        real *zbd = tangent ? u->bd : NULL;
#pragma omp parallel for if ((long)b * C > 65536) schedule(static)
        for (int s = 0; s < b; s++) {
            real p[SBO_NN_MAX_CLASSES];
            SFX(sbo_nn_xent_backward_row)(s, b, C, u->val, e->labels, zd, y->bar, ybd, u->bar, zbd, p);
        }
        break;
    }
    case SBO_NN_SIGMOID_GATHER:
        if (!ub) break;
        for (int s = 0; s < b; s++) {
            int i = e->ids[s];
            real w = y->val[s], d1 = w * (1 - w), d2 = d1 * (1 - 2 * w);
            u->bar[i] += d1 * y->bar[s];
            if (tangent) u->bd[i] += d1 * y->bd[s] + (udot ? d2 * u->dot[i] * y->bar[s] : 0);
        }
        break;
    case SBO_NN_WMEAN: {
        SFX(vbuf) *w = o->in[1] >= 0 ? &e->v[o->in[1]] : NULL;
        int wb = w && e->needs_bar[o->in[1]], wdot = w && tangent && e->has_dot[o->in[1]];
        real Lb = y->bar[0] / b, Lbd = tangent ? y->bd[0] / b : 0;
        for (int s = 0; s < b; s++) {
            real ws = w ? w->val[s] : 1;
            if (ub) {
                u->bar[s] += Lb * ws;
                if (tangent) u->bd[s] += Lbd * ws + (wdot ? Lb * w->dot[s] : 0);
            }
            if (wb) {
                w->bar[s] += Lb * u->val[s];
                if (tangent) w->bd[s] += Lbd * u->val[s] + (udot ? Lb * u->dot[s] : 0);
            }
        }
        break;
    }
    case SBO_NN_L2: {
        if (!ub) break;
        real c = (real)o->coef, Rb = y->bar[0] * c, Rbd = tangent ? y->bd[0] * c : 0;
        if (u->r) {
            long n = (long)u->r * uv->cols;
            for (long i = 0; i < n; i++) {
                u->bar_red[i] += Rb * u->Ptheta[i];
                if (tangent) u->bd_red[i] += Rbd * u->Ptheta[i] + (udot ? Rb * u->dot_red[i] : 0);
            }
        } else {
            long n = (long)uv->rows * uv->cols;
            for (long i = 0; i < n; i++) {
                u->bar[i] += Rb * u->val[i];
                if (tangent) u->bd[i] += Rbd * u->val[i] + (udot ? Rb * u->dot[i] : 0);
            }
        }
        break;
    }
    }
}

static int SFX(run)(void *ve, const double *x, const double *Y, const sbo_nn_call *c) {
    SFX(exec) *e = ve;
    const sbo_nn_graph *g = &e->g;
    int b = c->b;
    if (b < 1 || b > g->max_batch) {   /* a caller bug: the activation buffers hold max_batch rows */
        fprintf(stderr, "sbo_nn: batch size %d outside 1..%d (the executor's max_batch)\n", b, g->max_batch);
        abort();
    }
    for (int l = 0; c->P && l < e->lower.L; l++)
        if (c->P[l] && (c->rank[l] < 1 || c->rank[l] > e->lower.block[l].m)) {
            fprintf(stderr, "sbo_nn: block %d has a subspace P but rank %d (need 1..%d)\n", l, c->rank[l],
                    e->lower.block[l].m);
            abort();
        }
    int want_lower = c->grad_Y || c->hess_Y, want_upper = c->grad_x || c->hess_x;
    int tangent = (c->hess_x || c->hess_Y) && (c->dx || c->dY);
    const double *const *P = c->P;
    /* per-block offsets in the tuples this call reads and writes (reduced layout when P is given) */
    long off[SBO_MAX_BLOCKS + 1];
    off[0] = 0;
    for (int l = 0; l < e->lower.L; l++) {
        int rows = P && P[l] ? c->rank[l] : e->lower.block[l].m;
        off[l + 1] = off[l] + (long)rows * e->lower.block[l].n;
    }
    unsigned long long need_dot = 0, need_grad = 0;
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        if (v->role != SBO_NN_PARAM || v->group != SBO_NN_LOWER || (P && P[v->block])) continue;
        if (tangent && c->dY) need_dot |= 1ULL << i;
        if (want_lower) need_grad |= 1ULL << i;
    }
    if ((need_dot || need_grad) && SFX(ensure_lower_full)(e, need_dot, need_grad)) return -1;
    if (P) {
        if (SFX(ensure_reduced)(e, P, c->rank)) return -1;
    } else {
        for (int i = 0; i < g->n_values; i++) e->v[i].r = 0;
    }
    /* parameters, tangents, and which values carry tangents / need adjoints */
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        SFX(vbuf) *bf = &e->v[i];
        e->has_dot[i] = e->needs_bar[i] = 0;
        if (v->role != SBO_NN_PARAM) continue;
        long n = (long)v->rows * v->cols;
        if (v->group == SBO_NN_UPPER) {
            for (long j = 0; j < n; j++) bf->val[j] = (real)x[v->offset + j];
            e->needs_bar[i] = want_upper;
            e->has_dot[i] = tangent && c->dx;
            if (e->has_dot[i]) for (long j = 0; j < n; j++) bf->dot[j] = (real)c->dx[v->offset + j];
        } else {
            const double *Yl = Y + e->lower.offset[v->block];
            for (long j = 0; j < n; j++) bf->val[j] = (real)Yl[j];
            e->needs_bar[i] = want_lower;
            e->has_dot[i] = tangent && c->dY;
            if (P && P[v->block]) {
                bf->r = c->rank[v->block];
                int changed = 0;      /* compare while converting: the same P as the last call keeps a P cached */
                for (long j = 0; j < (long)v->rows * bf->r; j++) {
                    real pj = (real)P[v->block][j];
                    changed |= pj != bf->P[j];
                    bf->P[j] = pj;
                }
                bf->P_changed = changed;
                if (e->has_dot[i])
                    for (long j = 0; j < (long)bf->r * v->cols; j++) bf->dot_red[j] = (real)c->dY[off[v->block] + j];
            } else {
                bf->r = 0;
                if (e->has_dot[i]) for (long j = 0; j < n; j++) bf->dot[j] = (real)c->dY[off[v->block] + j];
            }
        }
    }
    for (int k = 0; k < g->n_ops; k++) {
        const sbo_nn_op *o = &g->op[k];
        for (int j = 0; j < 3; j++)
            if (o->in[j] >= 0) {
                e->has_dot[o->out] |= e->has_dot[o->in[j]];
                e->needs_bar[o->out] |= e->needs_bar[o->in[j]];
            }
    }
    for (int k = 0; P && k < g->n_ops; k++) {   /* a reduced parameter may only be a linear weight or an L2 input */
        const sbo_nn_op *o = &g->op[k];
        for (int j = 0; j < 3; j++) {
            int i = o->in[j];
            if (i < 0 || !e->v[i].r) continue;
            if ((o->kind == SBO_NN_LINEAR && j == 1) || o->kind == SBO_NN_L2) continue;
            fprintf(stderr, "sbo_nn: parameter '%s' has a subspace P but feeds %s (input %d); only linear weights "
                    "can be projected: pass P = NULL for this block (§3.1)\n", g->v[i].name, sbo_nn_kind_name(o->kind), j);
            abort();
        }
    }
    for (int k = 0; k < g->n_ops; k++) SFX(op_forward)(e, k, b, tangent);
    if (c->loss) {
        double L = 0;
        for (int i = 0; i < g->n_values; i++) if (g->v[i].is_loss) L += e->v[i].val[0];
        *c->loss = L;
    }
    if (want_lower || want_upper) {
        for (int i = 0; i < g->n_values; i++) {
            const sbo_nn_value *v = &g->v[i];
            SFX(vbuf) *bf = &e->v[i];
            if (!e->needs_bar[i]) continue;
            long n = v->role == SBO_NN_PARAM ? (long)v->rows * v->cols : (long)(v->rows == 1 ? 1 : b) * v->cols;
            real *bar = bf->r ? bf->bar_red : bf->bar, *bd = bf->r ? bf->bd_red : bf->bd;
            if (bf->r) n = (long)bf->r * v->cols;
            memset(bar, 0, sizeof(real) * (size_t)n);
            if (tangent) memset(bd, 0, sizeof(real) * (size_t)n);
            if (v->is_loss) bar[0] = 1;
        }
        for (int k = g->n_ops - 1; k >= 0; k--)
            if (e->needs_bar[g->op[k].out]) SFX(op_backward)(e, k, b, tangent);
    }
    /* outputs */
    if (c->grad_x) memset(c->grad_x, 0, sizeof(double) * (size_t)e->d_upper);
    if (c->hess_x) memset(c->hess_x, 0, sizeof(double) * (size_t)e->d_upper);
    if (c->grad_Y) memset(c->grad_Y, 0, sizeof(double) * (size_t)off[e->lower.L]);
    if (c->hess_Y) memset(c->hess_Y, 0, sizeof(double) * (size_t)off[e->lower.L]);
    for (int i = 0; i < g->n_values; i++) {
        const sbo_nn_value *v = &g->v[i];
        const SFX(vbuf) *bf = &e->v[i];
        if (v->role != SBO_NN_PARAM) continue;
        if (v->group == SBO_NN_UPPER) {
            long n = (long)v->rows * v->cols;
            if (c->grad_x) for (long j = 0; j < n; j++) c->grad_x[v->offset + j] = bf->bar[j];
            if (c->hess_x) for (long j = 0; j < n; j++) c->hess_x[v->offset + j] = tangent ? bf->bd[j] : 0;
        } else {
            long n = bf->r ? (long)bf->r * v->cols : (long)v->rows * v->cols;
            const real *bar = bf->r ? bf->bar_red : bf->bar, *bd = bf->r ? bf->bd_red : bf->bd;
            if (c->grad_Y) for (long j = 0; j < n; j++) c->grad_Y[off[v->block] + j] = bar[j];
            if (c->hess_Y) for (long j = 0; j < n; j++) c->hess_Y[off[v->block] + j] = tangent ? bd[j] : 0;
        }
    }
    return 0;
}

static void SFX(set_input_u8)(void *ve, int input, const unsigned char *base, const int *ids, int b, double scale,
                              double shift) {
    SFX(exec) *e = ve;
    int cols = e->g.v[input].cols;
    real *dst = e->v[input].val;
    e->v[input].version++;
    real lut[256];   /* the same roundings as converting each byte, without a multiply per pixel */
    for (int v = 0; v < 256; v++) lut[v] = (real)(scale * v + shift);
    for (int s = 0; s < b; s++) {
        const unsigned char *row = base + (long)ids[s] * cols;
        real *d = dst + (long)s * cols;
        for (int j = 0; j < cols; j++) d[j] = lut[row[j]];
    }
}

static void SFX(set_input)(void *ve, int input, const double *rows, int b) {
    SFX(exec) *e = ve;
    long n = (long)b * e->g.v[input].cols;
    e->v[input].version++;
    for (long i = 0; i < n; i++) e->v[input].val[i] = (real)rows[i];
}

static void SFX(read_value)(const void *ve, int value, int b, double *out) {
    const SFX(exec) *e = ve;
    long n = (long)b * e->g.v[value].cols;
    if (e->g.v[value].role == SBO_NN_PARAM) n = (long)e->g.v[value].rows * e->g.v[value].cols;
    for (long i = 0; i < n; i++) out[i] = e->v[value].val[i];
}

static size_t SFX(bytes)(const void *ve) {
    const SFX(exec) *e = ve;
    return sbo_arena_bytes(&e->base) + sbo_arena_bytes(&e->lower_full) + sbo_arena_bytes(&e->reduced);
}

static void SFX(print)(const void *ve, FILE *out) {
    const SFX(exec) *e = ve;
    sbo_arena_print(&e->base, out);
    if (e->lower_full.committed) sbo_arena_print(&e->lower_full, out);
    if (e->reduced.committed) sbo_arena_print(&e->reduced, out);
}

static int *SFX(labels)(void *ve) { return ((SFX(exec) *)ve)->labels; }
static int *SFX(ids)(void *ve) { return ((SFX(exec) *)ve)->ids; }
