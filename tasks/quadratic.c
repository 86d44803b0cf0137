/* tasks/quadratic.c: the quadratic bilevel task with closed-form Phi: ground truth for every method
 * (ALGORITHMS.md §8 TC-7, generalized to L blocks and two Hessian structures; STYLE.md patterns 1 and 10).
 *
 *   g(x,Y) = 1/2 <Y, H[Y]> - <Y, mat(B x)>,   f(x,Y) = 1/2 ||C vec Y - c||^2 + 1/2 lambda ||x||^2
 *   structure kron    : the blocks (all with the same n) are stacked as one M x n matrix, H[V] = A V + V S,
 *                       A = U diag(linspace(a_min,a_max,M)) U^T, S = V diag(linspace(s_min,s_max,n)) V^T, U, V Haar.
 *                       Diagonal blocks A_ll (x) I + I (x) S are row-symmetric (§5.2); A_ll' couple the blocks.
 *   structure generic : H = W diag(linspace(h_min,h_max,D)) W^T, W Haar D x D: not row-symmetric.
 *   B ~ N(0,1) 1.5 (D d)^{-1/4} (D x d), C ~ N(0,1) 1.5/sqrt(D) (p x D), c ~ N(0, I_p): one instance per
 *   task.instance_seed, shared by all run seeds (§8 TC-7).
 *
 * Minibatches (the values of an sbo_batch, no sample ids; NULL = exact oracles; 0 values when sigma = 0):
 *   lower phi = [ A_xi (M x M) | H_xi (D x D) ][ sigma eps (D) ][ B + sigma N/sqrt(D) (D x d) ]
 *       A_xi = A + sigma (G + G^T)/sqrt(2M) (kron) or H_xi = H + sigma (G + G^T)/sqrt(2D) (generic), shared by
 *       every HVP and by grad_Y g = H_xi[Y] - mat(Bx) + sigma eps (§8 TC-7); only J uses the perturbed B.
 *       Draw order: the upper triangle of the symmetric perturbation row-major (same law as G, G^T), eps, N.
 *   upper psi = [ sigma eps_Y (D) ][ sigma eps_x (d) ], drawn in that order.
 * Reduced oracles are the generic ones of tasks/task.c (§9 "generic HVPs").
 * Exercised by: tests/test_quadratic.c, theory_checks/tc7_rate.c, tests/test_matrix.c. */
#include "tasks/quadratic.h"    /* public extras, sbo_task */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_haar.h"      /* sbo_haar_sample (U, V, W), sbo_haar_consts_compute (c1, c2) */
#include "core/sbo_linalg.h"    /* sbo_dgemm, Cholesky, Jacobi eigenvalues */
#include "core/sbo_log.h"       /* sbo_log_appendf: the creation log */

enum { QUAD_KRON = SBO_QUAD_KRON, QUAD_GENERIC = SBO_QUAD_GENERIC };
enum { QUAD_INIT_ZERO = SBO_QUAD_INIT_ZERO, QUAD_INIT_NORMAL = SBO_QUAD_INIT_NORMAL };

/* Below this many multiply-adds a plain loop beats a BLAS call (TC-7's 12 x 12 x 3 is ~430). */
#define QUAD_GEMM_THRESHOLD 32768L

typedef struct {
    int structure, init;
    int L, M, n;                /* kron: M = sum m_l rows of the stacked matrix, common n; generic: M = n = 0 */
    long D;                     /* sum m_l n_l */
    int d, p;
    double lambda, sigma;
    double lo, hi, s_lo, s_hi;  /* spectrum of A and S (kron) or of H (generic: lo, hi) */
    double mu, Lg;
    long K;                     /* side of the perturbed operator: M (kron) or D (generic) */
    /* instance */
    double *A, *S, *U, *V, *evA, *evS;   /* kron */
    double *H, *W, *evH;                 /* generic */
    double *B, *C, *c;
    double *HinvB;              /* D x d: Y*(x) = HinvB x */
    double *HinvCt;             /* D x p: Z*(x) = HinvCt (J_Phi x - c) */
    double *Jphi;               /* p x d */
    double *Gphi;               /* d x d: J_Phi^T J_Phi + lambda I */
    double *gvec;               /* d: J_Phi^T c;  grad Phi(x) = Gphi x - gvec */
    double *xstar;              /* d */
    /* scratch */
    double *w_p, *w_D1, *w_D2, *w_D3, *w_d;
    double *setup;              /* construction work (Haar, eigenvalue checks, Cholesky) */
    long setup_len;
    double *theory;             /* naive point: D^2 + D(d+1) + d(d+1), or NULL when D is too large */
    char log[1536];
} quad_ctx;

static const sbo_task_ops quad_ops;

static quad_ctx *ctx_of(const sbo_task *t) {
    return (t && t->ops == &quad_ops) ? (quad_ctx *)t->ctx : NULL;
}

static double linspace_at(double lo, double hi, long k, long count) {
    return count > 1 ? lo + (hi - lo) * (double)k / (double)(count - 1) : lo;
}

/* --- operator actions ------------------------------------------------------- */

/* y = alpha op(A) x + beta y with A rows x cols row-major, in a fixed summation order. The oracles use this
 * instead of BLAS dgemv, whose kernels may round differently with the alignment of the buffers: the same
 * oracle call then gives the same bits whoever owns the output (a run with every block full must be MA-SOBA
 * bit for bit). These products are memory-bound, so a loop loses nothing. */
static void matvec(int trans, long rows, long cols, double alpha, const double *A, const double *x, double beta,
                   double *y) {
    if (!trans) {
        for (long i = 0; i < rows; i++) {
            const double *Ai = A + i * cols;
            double acc = 0;
            for (long j = 0; j < cols; j++) acc += Ai[j] * x[j];
            y[i] = alpha * acc + (beta == 0 ? 0.0 : beta * y[i]);
        }
        return;
    }
    for (long j = 0; j < cols; j++) y[j] = (beta == 0 ? 0.0 : beta * y[j]);
    for (long i = 0; i < rows; i++) {
        const double *Ai = A + i * cols;
        double axi = alpha * x[i];
        for (long j = 0; j < cols; j++) y[j] += Ai[j] * axi;
    }
}

/* out = Aop V + V S on the stacked M x n matrix (kron). Aop = A or the sampled A_xi. */
static void kron_apply(const quad_ctx *q, const double *Aop, const double *V, double *out) {
    int M = q->M, n = q->n;
    const double *S = q->S;
    if ((long)M * M * n + (long)M * n * n >= QUAD_GEMM_THRESHOLD) {
        sbo_dgemm(0, 0, M, n, M, 1.0, Aop, V, 0.0, out);
        sbo_dgemm(0, 0, M, n, n, 1.0, V, S, 1.0, out);
        return;
    }
    for (int i = 0; i < M; i++) {
        double *o = out + (long)i * n;
        const double *Vi = V + (long)i * n, *Ai = Aop + (long)i * M;
        for (int a = 0; a < n; a++) {
            double acc = 0;
            for (int b = 0; b < n; b++) acc += Vi[b] * S[(long)b * n + a];
            o[a] = acc;
        }
        for (int j = 0; j < M; j++) {
            double aij = Ai[j];
            const double *Vj = V + (long)j * n;
            for (int a = 0; a < n; a++) o[a] += aij * Vj[a];
        }
    }
}

/* out = Hop v (generic, D x D). */
static void dense_apply(long D, const double *Hop, const double *v, double *out) {
    matvec(0, D, D, 1.0, Hop, v, 0.0, out);
}

/* out = H_op[V]; batch NULL: the exact H. */
static void hess_apply(const quad_ctx *q, const double *batch, const double *V, double *out) {
    if (q->structure == QUAD_KRON)
        kron_apply(q, batch ? batch : q->A, V, out);
    else
        dense_apply(q->D, batch ? batch : q->H, V, out);
}

/* out = H^{-1} r through the eigen-decomposition (exact H). tmp: D doubles. out and r must differ. */
static void hinv_apply(const quad_ctx *q, const double *r, double *out, double *tmp) {
    if (q->structure == QUAD_KRON) {
        int M = q->M, n = q->n;
        sbo_dgemm(1, 0, M, n, M, 1.0, q->U, r, 0.0, tmp);       /* tmp = U^T R */
        sbo_dgemm(0, 0, M, n, n, 1.0, tmp, q->V, 0.0, out);     /* out = U^T R V */
        for (int i = 0; i < M; i++)
            for (int a = 0; a < n; a++) out[(long)i * n + a] /= q->evA[i] + q->evS[a];
        sbo_dgemm(0, 1, M, n, n, 1.0, out, q->V, 0.0, tmp);     /* tmp = (.) V^T */
        sbo_dgemm(0, 0, M, n, M, 1.0, q->U, tmp, 0.0, out);     /* out = U (.) */
    } else {
        long D = q->D;
        sbo_dgemv(1, (int)D, (int)D, 1.0, q->W, r, 0.0, tmp);
        for (long i = 0; i < D; i++) tmp[i] /= q->evH[i];
        sbo_dgemv(0, (int)D, (int)D, 1.0, q->W, tmp, 0.0, out);
    }
}

/* Batch views: the internal functions take the batch's values (NULL: exact). */
static const double *batch_values(const sbo_batch *b) { return b ? b->values : NULL; }
static long lower_op_len(const quad_ctx *q) { return q->K * q->K; }
static const double *lower_noise(const quad_ctx *q, const double *batch) {
    return batch ? batch + lower_op_len(q) : NULL;
}
static const double *lower_B(const quad_ctx *q, const double *batch) {
    return batch ? batch + lower_op_len(q) + q->D : q->B;
}

/* --- oracles ------------------------------------------------------------------ */

static void quad_init(sbo_task *t, sbo_stream *s, double *x0, double *Y0) {
    quad_ctx *q = t->ctx;
    if (q->init == QUAD_INIT_ZERO) {
        sbo_vec_zero(q->d, x0);
        sbo_vec_zero(q->D, Y0);
    } else {
        sbo_stream_gaussian_fill(s, x0, q->d);
        sbo_stream_gaussian_fill(s, Y0, q->D);
    }
}

static void quad_sample(sbo_task *t, sbo_stream *s, sbo_batch *b) {
    quad_ctx *q = t->ctx;
    double *batch = b->values;
    int level = b->level;
    if (!batch || q->sigma == 0) return;
    long D = q->D, d = q->d;
    double sg = q->sigma;
    if (level == 0) {
        long K = q->K;
        const double *op = q->structure == QUAD_KRON ? q->A : q->H;
        /* sigma (G + G^T)/sqrt(2K) drawn as its upper triangle: (G + G^T)/sqrt(2) has iid N(0,1) entries above
         * the diagonal and N(0,2) on it, so this is the same law with K(K+1)/2 draws instead of K^2
         * (the Gaussians dominate the cost of an iteration). Row-major over i <= j. */
        double sc = sg / sqrt((double)K), sc_diag = sc * sqrt(2.0);
        for (long i = 0; i < K; i++) {
            batch[i * K + i] = op[i * K + i] + sc_diag * sbo_stream_gaussian(s);
            for (long j = i + 1; j < K; j++) {
                double e = sc * sbo_stream_gaussian(s);
                batch[i * K + j] = op[i * K + j] + e;
                batch[j * K + i] = op[j * K + i] + e;
            }
        }
        double *eps = batch + K * K;
        sbo_stream_gaussian_fill(s, eps, D);                    /* noise of grad_Y g */
        sbo_vec_scale(D, sg, eps);
        double *Bx = eps + D;
        sbo_stream_gaussian_fill(s, Bx, D * d);                 /* N */
        double sn = sg / sqrt((double)D);
        for (long i = 0; i < D * d; i++) Bx[i] = q->B[i] + sn * Bx[i];
    } else {
        sbo_stream_gaussian_fill(s, batch, D + d);              /* eps_Y, then eps_x */
        sbo_vec_scale(D + d, sg, batch);
    }
}

static void quad_grad_lower(sbo_task *t, const double *x, const double *Y, const sbo_batch *bt, double *out) {
    const double *batch = batch_values(bt);
    quad_ctx *q = t->ctx;
    hess_apply(q, batch, Y, out);
    matvec(0, q->D, q->d, -1.0, q->B, x, 1.0, out);    /* - mat(B x): exact B (§8 TC-7) */
    const double *eps = lower_noise(q, batch);
    if (eps) sbo_vec_axpy(q->D, 1.0, eps, out);
}

static void quad_hvp(sbo_task *t, const double *x, const double *Y, const sbo_batch *bt, const double *V,
                     double *out) {
    const double *batch = batch_values(bt);
    hess_apply(t->ctx, batch, V, out);
}

static void quad_cross(sbo_task *t, const double *x, const double *Y, const sbo_batch *bt, const double *Z,
                       double *out_d) {
    const double *batch = batch_values(bt);
    quad_ctx *q = t->ctx;
    matvec(1, q->D, q->d, -1.0, lower_B(q, batch), Z, 0.0, out_d);   /* J[Z] = -B_phi^T vec Z */
}

static void quad_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const sbo_batch *bt, double *out) {
    const double *batch = batch_values(bt);
    quad_ctx *q = t->ctx;
    sbo_vec_copy(q->p, q->c, q->w_p);
    matvec(0, q->p, q->D, 1.0, q->C, Y, -1.0, q->w_p);  /* C vec Y - c */
    matvec(1, q->p, q->D, 1.0, q->C, q->w_p, 0.0, out);
    if (batch) sbo_vec_axpy(q->D, 1.0, batch, out);
}

static void quad_grad_upper_x(sbo_task *t, const double *x, const double *Y, const sbo_batch *bt, double *out_d) {
    const double *batch = batch_values(bt);
    quad_ctx *q = t->ctx;
    for (int k = 0; k < q->d; k++) out_d[k] = q->lambda * x[k];
    if (batch) sbo_vec_axpy(q->d, 1.0, batch + q->D, out_d);
}

/* Y* (into Ys) and, when Zs != NULL, Z* at x; uses w_p. */
static void solution(const quad_ctx *q, const double *x, double *Ys, double *Zs) {
    if (Ys) matvec(0, q->D, q->d, 1.0, q->HinvB, x, 0.0, Ys);
    if (Zs) {
        sbo_vec_copy(q->p, q->c, q->w_p);
        matvec(0, q->p, q->d, 1.0, q->Jphi, x, -1.0, q->w_p);     /* C Y* - c = J_Phi x - c */
        matvec(0, q->D, q->p, 1.0, q->HinvCt, q->w_p, 0.0, Zs);
    }
}

static double phi_value(const quad_ctx *q, const double *x) {
    double r2 = 0, x2 = 0;
    for (int i = 0; i < q->p; i++) {
        double acc = -q->c[i];
        for (int k = 0; k < q->d; k++) acc += q->Jphi[(long)i * q->d + k] * x[k];
        r2 += acc * acc;
    }
    for (int k = 0; k < q->d; k++) x2 += x[k] * x[k];
    return 0.5 * r2 + 0.5 * q->lambda * x2;
}

static double grad_phi_sq(const quad_ctx *q, const double *x) {
    double s = 0;
    for (int i = 0; i < q->d; i++) {
        double acc = -q->gvec[i];
        for (int k = 0; k < q->d; k++) acc += q->Gphi[(long)i * q->d + k] * x[k];
        s += acc * acc;
    }
    return s;
}

static double upper_value(const quad_ctx *q, const double *x, const double *Y, const double *batch) {
    double r2 = 0, x2 = 0;
    for (int i = 0; i < q->p; i++) {
        double acc = sbo_vec_dot(q->D, q->C + (long)i * q->D, Y) - q->c[i];
        r2 += acc * acc;
    }
    for (int k = 0; k < q->d; k++) x2 += x[k] * x[k];
    double f = 0.5 * r2 + 0.5 * q->lambda * x2;
    if (batch) f += sbo_vec_dot(q->D, batch, Y) + sbo_vec_dot(q->d, batch + q->D, x);
    return f;
}

/* 1/2 <Y, H_op[Y]> without a buffer (O(K^2 n) or O(D^2)). */
static double half_quad_form(const quad_ctx *q, const double *batch, const double *Y) {
    double s = 0;
    if (q->structure == QUAD_KRON) {
        const double *Aop = batch ? batch : q->A;
        int M = q->M, n = q->n;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < M; j++) s += Aop[(long)i * M + j] * sbo_vec_dot(n, Y + (long)i * n, Y + (long)j * n);
        for (int i = 0; i < M; i++)
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) s += Y[(long)i * n + a] * q->S[(long)a * n + b] * Y[(long)i * n + b];
    } else {
        const double *Hop = batch ? batch : q->H;
        for (long i = 0; i < q->D; i++) s += Y[i] * sbo_vec_dot(q->D, Hop + i * q->D, Y);
    }
    return 0.5 * s;
}

static double lower_value(const quad_ctx *q, const double *x, const double *Y, const double *batch) {
    double lin = 0;
    for (long i = 0; i < q->D; i++) {
        double bx = 0;
        for (int k = 0; k < q->d; k++) bx += q->B[i * q->d + k] * x[k];
        lin += Y[i] * bx;
    }
    double g = half_quad_form(q, batch, Y) - lin;
    const double *eps = lower_noise(q, batch);
    if (eps) g += sbo_vec_dot(q->D, eps, Y);
    return g;
}

static void quad_metrics(sbo_task *t, const double *x, const double *Y, const double *Z, double *out) {
    quad_ctx *q = t->ctx;
    long D = q->D;
    double *Ys = q->w_D1, *Zs = q->w_D2, *e = q->w_D3;
    solution(q, x, Ys, Z ? Zs : NULL);
    double dx = 0;
    for (int k = 0; k < q->d; k++) dx += (x[k] - q->xstar[k]) * (x[k] - q->xstar[k]);
    for (long i = 0; i < D; i++) e[i] = Y[i] - Ys[i];
    double dY = sbo_vec_norm2(D, e);
    /* g(x,Y) - g(x,Y*) = 1/2 <Y - Y*, H[Y - Y*]> (g is quadratic and grad g(x,Y*) = 0): no cancellation */
    double low = half_quad_form(q, NULL, e);
    double dZ = NAN;
    if (Z) {
        for (long i = 0; i < D; i++) e[i] = Z[i] - Zs[i];
        dZ = sbo_vec_norm2(D, e);
    }
    out[0] = grad_phi_sq(q, x);
    out[1] = sqrt(dx);
    out[2] = phi_value(q, x);
    out[3] = upper_value(q, x, Y, NULL);
    out[4] = low;
    out[5] = dY;
    out[6] = dZ;
}

static void quad_destroy(sbo_task *t) {
    if (!t) return;
    sbo_arena_free(&t->arena);
    free(t->ctx);
    free(t);
}

static const sbo_task_ops quad_ops = {
    .init = quad_init, .sample = quad_sample, .grad_lower_Y = quad_grad_lower, .grad_upper_Y = quad_grad_upper_Y,
    .grad_upper_x = quad_grad_upper_x, .hvp = quad_hvp, .cross = quad_cross,
    .reduced_grad_lower = NULL, .reduced_hvp = NULL,      /* generic path of tasks/task.c */
    .metrics = quad_metrics, .destroy = quad_destroy};

/* --- configuration ----------------------------------------------------------- */

static const sbo_option quad_options[] = {
    {"task.structure", "kron", "kron | generic: H[V] = A V + V S on the stacked blocks (row-symmetric, §8 TC-7) "
                               "or a dense Haar-rotated H (not row-symmetric)"},
    {"task.blocks", "12x3", "lower blocks as a comma-separated list of MxN (e.g. 5x3,4x3); kron needs one common N"},
    {"task.d", "5", "upper dimension d"},
    {"task.p", "6", "number of upper residuals p (rows of C)"},
    {"task.lambda", "0.5", "upper ridge weight lambda"},
    {"task.sigma", "0.3", "noise level sigma of every sampled oracle (0 = exact oracles, empty minibatches)"},
    {"task.a_min", "1", "kron: smallest eigenvalue of A (spectrum linspace(a_min, a_max, M))"},
    {"task.a_max", "4", "kron: largest eigenvalue of A"},
    {"task.s_min", "0", "kron: smallest eigenvalue of S (spectrum linspace(s_min, s_max, n)); mu = a_min + s_min"},
    {"task.s_max", "1", "kron: largest eigenvalue of S"},
    {"task.h_min", "1", "generic: smallest eigenvalue of H (spectrum linspace(h_min, h_max, D)) = mu"},
    {"task.h_max", "4", "generic: largest eigenvalue of H"},
    {"task.instance_seed", "1", "seed of the problem instance (U, V or W, B, C, c), shared by all run seeds"},
    {"task.init", "zero", "zero | normal: x_0 = 0, Y_0 = 0 (TC-7), or N(0,1) entries from the init stream"},
    {NULL, NULL, NULL}};

/* Parses "m1xn1,m2xn2,...". Returns 0 or -1 with err naming task.blocks. */
static int parse_blocks(const char *s, int *L, int *m, int *n, char *err, size_t errlen) {
    const char *p = s;
    int count = 0;
    while (1) {
        while (*p == ' ' || *p == '\t') p++;
        char *end;
        long mv, nv;
        if (!(*p == '-' || *p == '+' || (*p >= '0' && *p <= '9'))) goto malformed;
        mv = strtol(p, &end, 10);
        if (end == p) goto malformed;
        p = end;
        while (*p == ' ' || *p == '\t') p++;
        if (*p != 'x' && *p != 'X') goto malformed;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        if (!(*p == '-' || *p == '+' || (*p >= '0' && *p <= '9'))) goto malformed;
        nv = strtol(p, &end, 10);
        if (end == p) goto malformed;
        p = end;
        while (*p == ' ' || *p == '\t') p++;
        if (count >= SBO_MAX_BLOCKS) {
            snprintf(err, errlen, "task.blocks = '%s' has more than %d blocks (SBO_MAX_BLOCKS)", s, SBO_MAX_BLOCKS);
            return -1;
        }
        if (mv < 1 || nv < 1 || mv > 1000000 || nv > 1000000) {
            snprintf(err, errlen, "task.blocks = '%s': block %d is %ldx%ld; m and n must be between 1 and 1000000", s,
                     count + 1, mv, nv);
            return -1;
        }
        m[count] = (int)mv;
        n[count] = (int)nv;
        count++;
        if (*p == '\0') break;
        if (*p != ',') goto malformed;
        p++;
    }
    *L = count;
    return 0;
malformed:
    snprintf(err, errlen, "task.blocks = '%s' is malformed: expected a comma-separated list of MxN, e.g. 5x3,4x3", s);
    return -1;
}

/* The blocks as text for messages: as the user gave them, or formatted from m and n. */
static void blocks_text(const sbo_quadratic_options *o, char *buf, size_t len) {
    size_t u = 0;
    buf[0] = 0;
    if (o->blocks_text[0]) { snprintf(buf, len, "%s", o->blocks_text); return; }
    for (int l = 0; l < o->L && l < SBO_MAX_BLOCKS && u < len; l++)
        u += (size_t)snprintf(buf + u, len - u, "%s%dx%d", l ? "," : "", o->m[l], o->n[l]);
}

static int check_long_min(const char *key, long v, long lo, char *err, size_t errlen) {
    if (v < lo || v > 100000000L) {
        snprintf(err, errlen, "%s = %ld is outside %ld..100000000; choose a value in that range", key, v, lo);
        return -1;
    }
    return 0;
}

/* Double precision resolves a condition number up to ~1/eps = 4.5e15, and the self-checks (eigenvalues, H H^{-1} B)
 * overflow long before 1e308: refuse such a spectrum by name instead of a failed self-check (or -nan). */
#define QUAD_MAX_EIGENVALUE 1e15
static int spectrum_too_wide(const char *hi_name, double hi, double lo, char *err, size_t errlen) {
    if (hi > QUAD_MAX_EIGENVALUE || hi > QUAD_MAX_EIGENVALUE * lo) {
        snprintf(err, errlen, "%s = %g with smallest eigenvalue mu = %g: the largest eigenvalue and the condition "
                 "number must be at most %g (double precision); lower %s", hi_name, hi, lo, QUAD_MAX_EIGENVALUE, hi_name);
        return 1;
    }
    return 0;
}

static int check_finite(const char *key, double v, char *err, size_t errlen) {
    if (!isfinite(v)) {
        snprintf(err, errlen, "%s = %g must be finite", key, v);
        return -1;
    }
    return 0;
}

int sbo_quadratic_options_check(const sbo_quadratic_options *o, char *err, size_t errlen) {
    char bt[160];
    blocks_text(o, bt, sizeof bt);
    if (o->L < 1 || o->L > SBO_MAX_BLOCKS) {
        snprintf(err, errlen, "task.blocks = '%s' must list between 1 and %d blocks (SBO_MAX_BLOCKS)", bt, SBO_MAX_BLOCKS);
        return -1;
    }
    for (int l = 0; l < o->L; l++)
        if (o->m[l] < 1 || o->n[l] < 1 || o->m[l] > 1000000 || o->n[l] > 1000000) {
            snprintf(err, errlen, "task.blocks = '%s': block %d is %dx%d; m and n must be between 1 and 1000000", bt,
                     l + 1, o->m[l], o->n[l]);
            return -1;
        }
    if (check_long_min("task.d", o->d, 1, err, errlen) || check_long_min("task.p", o->p, 1, err, errlen) ||
        check_long_min("task.instance_seed", o->instance_seed, 0, err, errlen) ||
        check_finite("task.lambda", o->lambda, err, errlen) || check_finite("task.sigma", o->sigma, err, errlen))
        return -1;
    if (o->lambda < 0) {
        snprintf(err, errlen, "task.lambda = %g must be non-negative", o->lambda);
        return -1;
    }
    if (o->sigma < 0) {
        snprintf(err, errlen, "task.sigma = %g must be non-negative (0 = exact oracles)", o->sigma);
        return -1;
    }
    long D = 0;
    int M = 0;
    for (int l = 0; l < o->L; l++) {
        D += (long)o->m[l] * o->n[l];
        M += o->m[l];
    }
    if (o->structure == SBO_QUAD_KRON) {
        for (int l = 1; l < o->L; l++)
            if (o->n[l] != o->n[0]) {
                snprintf(err, errlen,
                         "task.structure = kron needs every block of task.blocks to have the same n "
                         "(block 1 has n = %d, block %d has n = %d); use task.structure = generic",
                         o->n[0], l + 1, o->n[l]);
                return -1;
            }
        if (check_finite("task.a_min", o->a_min, err, errlen) || check_finite("task.a_max", o->a_max, err, errlen) ||
            check_finite("task.s_min", o->s_min, err, errlen) || check_finite("task.s_max", o->s_max, err, errlen))
            return -1;
        if (o->a_max < o->a_min || o->s_max < o->s_min) {
            snprintf(err, errlen, "task.a_min <= task.a_max and task.s_min <= task.s_max are required (got %g, %g, %g, %g)",
                     o->a_min, o->a_max, o->s_min, o->s_max);
            return -1;
        }
        if (!(o->a_min + o->s_min > 0)) {
            snprintf(err, errlen, "task.a_min + task.s_min = %g must be positive (it is mu, the strong convexity of g)",
                     o->a_min + o->s_min);
            return -1;
        }
        if (spectrum_too_wide("task.a_max + task.s_max", o->a_max + o->s_max, o->a_min + o->s_min, err, errlen))
            return -1;
    } else {
        if (check_finite("task.h_min", o->h_min, err, errlen) || check_finite("task.h_max", o->h_max, err, errlen))
            return -1;
        if (!(o->h_min > 0) || o->h_max < o->h_min) {
            snprintf(err, errlen, "task.h_min = %g must be positive and at most task.h_max = %g", o->h_min, o->h_max);
            return -1;
        }
        if (spectrum_too_wide("task.h_max", o->h_max, o->h_min, err, errlen)) return -1;
    }
    /* The instance is dense: generic stores H, W and a work matrix of D x D, kron three M x M. */
    if ((o->structure == SBO_QUAD_GENERIC && D > 4096) ||
        (o->structure == SBO_QUAD_KRON && (M > 4096 || o->n[0] > 4096 || D > 10000000L))) {
        snprintf(err, errlen, "task.blocks = '%s' gives D = %ld (M = %d), too large for the dense %s instance "
                 "(limits: generic D <= 4096, kron M <= 4096 and n <= 4096)", bt, D, M,
                 o->structure == SBO_QUAD_KRON ? "kron" : "generic");
        return -1;
    }
    return 0;
}

int sbo_quadratic_options_parse(const sbo_config *cfg_in, sbo_quadratic_options *o, char *err, size_t errlen) {
    /* Work on a copy with our defaults filled in, so a partial config (tests, theory checks) works. */
    sbo_config cfg_store = *cfg_in;   /* ~26 kB on the stack; keeps parsing reentrant */
    sbo_config *cfg = &cfg_store;
    sbo_config_apply_defaults(cfg, quad_options);
    memset(o, 0, sizeof *o);
    if (sbo_config_choice(cfg, "task.structure", "kron|generic", &o->structure, err, errlen) ||
        sbo_config_choice(cfg, "task.init", "zero|normal", &o->init, err, errlen))
        return -1;
    const char *blocks = sbo_config_get(cfg, "task.blocks");
    /* parse the value itself: blocks_text is only for messages and may hold a shortened copy (a long list cut there
     * used to be parsed as its first 32 blocks, silently) */
    if (parse_blocks(blocks ? blocks : "", &o->L, o->m, o->n, err, errlen)) return -1;
    if (snprintf(o->blocks_text, sizeof o->blocks_text, "%s", blocks ? blocks : "") >= (int)sizeof o->blocks_text)
        o->blocks_text[0] = 0;   /* too long to quote: messages format the blocks from m and n */
    if (sbo_config_long(cfg, "task.d", &o->d, err, errlen) || sbo_config_long(cfg, "task.p", &o->p, err, errlen) ||
        sbo_config_long(cfg, "task.instance_seed", &o->instance_seed, err, errlen) ||
        sbo_config_double(cfg, "task.lambda", &o->lambda, err, errlen) ||
        sbo_config_double(cfg, "task.sigma", &o->sigma, err, errlen))
        return -1;
    /* only the keys of the chosen structure are read (the others may hold anything) */
    if (o->structure == SBO_QUAD_KRON
            ? sbo_config_double(cfg, "task.a_min", &o->a_min, err, errlen) ||
                  sbo_config_double(cfg, "task.a_max", &o->a_max, err, errlen) ||
                  sbo_config_double(cfg, "task.s_min", &o->s_min, err, errlen) ||
                  sbo_config_double(cfg, "task.s_max", &o->s_max, err, errlen)
            : sbo_config_double(cfg, "task.h_min", &o->h_min, err, errlen) ||
                  sbo_config_double(cfg, "task.h_max", &o->h_max, err, errlen))
        return -1;
    return sbo_quadratic_options_check(o, err, errlen);
}

/* --- construction --------------------------------------------------------------- */

/* Symmetrize in place: A = (A + A^T)/2. */
static void symmetrize(long n, double *A) {
    for (long i = 0; i < n; i++)
        for (long j = i + 1; j < n; j++) {
            double v = 0.5 * (A[i * n + j] + A[j * n + i]);
            A[i * n + j] = A[j * n + i] = v;
        }
}

/* out = Q diag(ev) Q^T (n x n); tmp: n x n. */
static void spectral_build(int n, const double *Q, const double *ev, double *out, double *tmp) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) tmp[(long)i * n + k] = Q[(long)i * n + k] * ev[k];
    sbo_dgemm(0, 1, n, n, n, 1.0, tmp, Q, 0.0, out);
    symmetrize(n, out);
}

/* max |Q^T Q - I|; tmp: n x n. */
static double orth_error(int n, const double *Q, double *tmp) {
    sbo_dgemm(1, 0, n, n, n, 1.0, Q, Q, 0.0, tmp);
    double e = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) e = fmax(e, fabs(tmp[(long)i * n + j] - (i == j)));
    return e;
}

/* Jacobi eigenvalues of a symmetric n x n matrix; min and max. work: n^2 + n + 2 doubles. */
static void eig_range(int n, const double *A, double *work, double *lo, double *hi) {
    double *ev = work, *w = work + n + 2;
    sbo_sym_eig_jacobi(n, A, ev, w);
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        *lo = fmin(*lo, ev[i]);
        *hi = fmax(*hi, ev[i]);
    }
}

static sbo_task *fail(sbo_task *t, char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    quad_destroy(t);
    return NULL;
}

sbo_task *sbo_quadratic_create(const sbo_quadratic_options *o, char *err, size_t errlen) {
    if (sbo_quadratic_options_check(o, err, errlen)) return NULL;
    quad_ctx q0;
    memset(&q0, 0, sizeof q0);
    const int L = o->L, *bm = o->m, *bn = o->n;
    const long d = o->d, p = o->p, seed = o->instance_seed;
    q0.structure = o->structure;
    q0.init = o->init;
    q0.lambda = o->lambda;
    q0.sigma = o->sigma;
    long D = 0;
    int M = 0;
    for (int l = 0; l < L; l++) {
        D += (long)bm[l] * bn[l];
        M += bm[l];
    }
    if (q0.structure == QUAD_KRON) {
        q0.lo = o->a_min; q0.hi = o->a_max; q0.s_lo = o->s_min; q0.s_hi = o->s_max;
        q0.M = M;
        q0.n = bn[0];
        q0.K = M;
        q0.mu = q0.lo + q0.s_lo;
        q0.Lg = linspace_at(q0.lo, q0.hi, M - 1, M) + linspace_at(q0.s_lo, q0.s_hi, bn[0] - 1, bn[0]);
    } else {
        q0.lo = o->h_min; q0.hi = o->h_max;
        q0.K = D;
        q0.mu = q0.lo;
        q0.Lg = linspace_at(q0.lo, q0.hi, D - 1, D);
    }
    q0.L = L;
    q0.D = D;
    q0.d = (int)d;
    q0.p = (int)p;

    sbo_task *t = calloc(1, sizeof *t);
    quad_ctx *q = malloc(sizeof *q);
    if (!t || !q) {
        free(t);
        free(q);
        snprintf(err, errlen, "out of memory creating the quadratic task");
        return NULL;
    }
    *q = q0;
    t->type = &sbo_task_quadratic;
    t->ops = &quad_ops;
    t->ctx = q;
    t->d = q->d;
    t->lower.L = L;
    for (int l = 0; l < L; l++) {
        snprintf(t->lower.block[l].name, SBO_NAME_LEN, "Y%d", l + 1);
        t->lower.block[l].m = bm[l];
        t->lower.block[l].n = bn[l];
        /* kron: A_ll (x) I + I (x) S is row-symmetric. generic: H^ll is not, except for a 1 x n or m x 1 block,
         * where H^G = H holds for every symmetric H (§5.2); the test checks both declarations numerically. */
        t->lower.block[l].row_symmetric = q->structure == QUAD_KRON ? 1 : (bm[l] == 1 || bn[l] == 1);
    }
    sbo_layout_finish(&t->lower, NULL);
    long K = q->K;
    t->batch_values[0] = q->sigma > 0 ? K * K + D + D * d : 0;
    t->batch_values[1] = q->sigma > 0 ? D + d : 0;
    t->mu = q->mu;
    static const char *names[] = {"grad_phi_sq", "dist_x_star", "phi", "upper_loss", "lower_loss", "dist_Y_star",
                                  "dist_Z_star"};
    static const char *help[] = {"||grad Phi(x)||^2 (closed form)", "||x - x*|| (closed form)",
                                 "Phi(x) = f(x, Y*(x))", "f(x, Y)", "g(x, Y) - g(x, Y*(x)) (exact oracles)",
                                 "||Y - Y*(x)||", "||Z - Z*(x)||, Z* = H^{-1} grad_Y f(x, Y*)"};
    t->n_metrics = 7;
    for (int i = 0; i < 7; i++) {
        t->metric_names[i] = names[i];
        t->metric_help[i] = help[i];
    }
    t->has_x_star = 1;
    t->reduced_impl = "generic (forms P X and projects: +2mn transient per block, §9)";

    /* --- buffers: one arena (STYLE.md pattern 5) --- */
    sbo_arena *ar = &t->arena;
    sbo_arena_init(ar, "task.quadratic");
    char sh[64];
    int n = q->n;
    long Kmax = q->structure == QUAD_KRON ? (M > n ? M : n) : D;
    if (q->structure == QUAD_KRON) {
        snprintf(sh, sizeof sh, "M x M = %d x %d", M, M);
        sbo_arena_add(ar, "A (stacked rows)", sh, (long)M * M, &q->A);
        sbo_arena_add(ar, "U (eigenvectors of A)", sh, (long)M * M, &q->U);
        snprintf(sh, sizeof sh, "n x n = %d x %d", n, n);
        sbo_arena_add(ar, "S (columns)", sh, (long)n * n, &q->S);
        sbo_arena_add(ar, "V (eigenvectors of S)", sh, (long)n * n, &q->V);
        snprintf(sh, sizeof sh, "M = %d", M);
        sbo_arena_add(ar, "eigenvalues of A", sh, M, &q->evA);
        snprintf(sh, sizeof sh, "n = %d", n);
        sbo_arena_add(ar, "eigenvalues of S", sh, n, &q->evS);
    } else {
        snprintf(sh, sizeof sh, "D x D = %ld x %ld", D, D);
        sbo_arena_add(ar, "H (dense lower Hessian)", sh, D * D, &q->H);
        sbo_arena_add(ar, "W (eigenvectors of H)", sh, D * D, &q->W);
        snprintf(sh, sizeof sh, "D = %ld", D);
        sbo_arena_add(ar, "eigenvalues of H", sh, D, &q->evH);
    }
    snprintf(sh, sizeof sh, "D x d = %ld x %ld", D, d);
    sbo_arena_add(ar, "B (lower coupling)", sh, D * d, &q->B);
    sbo_arena_add(ar, "H^{-1} B (Y* = H^{-1} B x)", sh, D * d, &q->HinvB);
    snprintf(sh, sizeof sh, "p x D = %ld x %ld", p, D);
    sbo_arena_add(ar, "C (upper residual map)", sh, p * D, &q->C);
    snprintf(sh, sizeof sh, "D x p = %ld x %ld", D, p);
    sbo_arena_add(ar, "H^{-1} C^T (Z* map)", sh, D * p, &q->HinvCt);
    snprintf(sh, sizeof sh, "p = %ld", p);
    sbo_arena_add(ar, "c (upper target)", sh, p, &q->c);
    sbo_arena_add(ar, "work p (residual)", sh, p, &q->w_p);
    snprintf(sh, sizeof sh, "p x d = %ld x %ld", p, d);
    sbo_arena_add(ar, "J_Phi = C H^{-1} B", sh, p * d, &q->Jphi);
    snprintf(sh, sizeof sh, "d x d = %ld x %ld", d, d);
    sbo_arena_add(ar, "J_Phi^T J_Phi + lambda I", sh, d * d, &q->Gphi);
    snprintf(sh, sizeof sh, "d = %ld", d);
    sbo_arena_add(ar, "J_Phi^T c", sh, d, &q->gvec);
    sbo_arena_add(ar, "x*", sh, d, &q->xstar);
    sbo_arena_add(ar, "work d", sh, d, &q->w_d);
    snprintf(sh, sizeof sh, "D = %ld", D);
    sbo_arena_add(ar, "work D (metrics: Y*)", sh, D, &q->w_D1);
    sbo_arena_add(ar, "work D (metrics: Z*)", sh, D, &q->w_D2);
    sbo_arena_add(ar, "work D (metrics: difference)", sh, D, &q->w_D3);
    long haar_ws = q->structure == QUAD_KRON ? sbo_haar_work_size((int)Kmax, (int)Kmax) : sbo_haar_work_size((int)D, (int)D);
    long eig_ws = Kmax * Kmax + Kmax + 8;   /* Jacobi copy + eigenvalues; also the K x K tmp of the builders */
    q->setup_len = (haar_ws > eig_ws ? haar_ws : eig_ws) + 2 * d * d + 8;
    snprintf(sh, sizeof sh, "Haar and eigenvalue work, side %ld", Kmax);
    sbo_arena_add(ar, "construction work", sh, q->setup_len, &q->setup);
    if (D <= SBO_QUAD_THEORY_MAX_D) {
        snprintf(sh, sizeof sh, "D^2 + D(d+1) + d(d+1), D = %ld", D);
        sbo_arena_add(ar, "naive-point work (theory checks)", sh, D * D + D * (d + 1) + d * (d + 1), &q->theory);
    }
    sbo_task_declare_scratch(t);
    if (sbo_arena_commit(ar)) return fail(t, err, errlen, "out of memory creating the quadratic task (D = %ld)", D);

    /* --- the instance, drawn once (§8 TC-7); one stream per matrix so B, C, c do not depend on the structure --- */
    sbo_stream s;
    double *wk = q->setup;
    if (q->structure == QUAD_KRON) {
        sbo_stream_init(&s, (uint64_t)seed, SBO_RNG_INSTANCE, 0, 0);
        sbo_haar_sample(&s, M, M, q->U, wk);
        sbo_stream_init(&s, (uint64_t)seed, SBO_RNG_INSTANCE, 1, 0);
        sbo_haar_sample(&s, n, n, q->V, wk);
        for (int i = 0; i < M; i++) q->evA[i] = linspace_at(q->lo, q->hi, i, M);
        for (int a = 0; a < n; a++) q->evS[a] = linspace_at(q->s_lo, q->s_hi, a, n);
        spectral_build(M, q->U, q->evA, q->A, wk);
        spectral_build(n, q->V, q->evS, q->S, wk);
    } else {
        sbo_stream_init(&s, (uint64_t)seed, SBO_RNG_INSTANCE, 0, 0);
        sbo_haar_sample(&s, (int)D, (int)D, q->W, wk);
        for (long i = 0; i < D; i++) q->evH[i] = linspace_at(q->lo, q->hi, i, D);
        spectral_build((int)D, q->W, q->evH, q->H, wk);
    }
    sbo_stream_init(&s, (uint64_t)seed, SBO_RNG_INSTANCE, 2, 0);
    sbo_stream_gaussian_fill(&s, q->B, D * d);
    sbo_vec_scale(D * d, 1.5 * pow((double)D * (double)d, -0.25), q->B);
    sbo_stream_init(&s, (uint64_t)seed, SBO_RNG_INSTANCE, 3, 0);
    sbo_stream_gaussian_fill(&s, q->C, p * D);
    sbo_vec_scale(p * D, 1.5 / sqrt((double)D), q->C);
    sbo_stream_init(&s, (uint64_t)seed, SBO_RNG_INSTANCE, 4, 0);
    sbo_stream_gaussian_fill(&s, q->c, p);

    /* --- closed forms: H^{-1} B, H^{-1} C^T, J_Phi, grad Phi's matrix, x* --- */
    double *col = q->w_D1, *sol = q->w_D2, *tmp = q->w_D3;
    for (long k = 0; k < d; k++) {
        for (long i = 0; i < D; i++) col[i] = q->B[i * d + k];
        hinv_apply(q, col, sol, tmp);
        for (long i = 0; i < D; i++) q->HinvB[i * d + k] = sol[i];
    }
    for (long k = 0; k < p; k++) {
        for (long i = 0; i < D; i++) col[i] = q->C[k * D + i];
        hinv_apply(q, col, sol, tmp);
        for (long i = 0; i < D; i++) q->HinvCt[i * p + k] = sol[i];
    }
    sbo_dgemm(0, 0, (int)p, (int)d, (int)D, 1.0, q->C, q->HinvB, 0.0, q->Jphi);
    sbo_dgemm(1, 0, (int)d, (int)d, (int)p, 1.0, q->Jphi, q->Jphi, 0.0, q->Gphi);
    for (long k = 0; k < d; k++) q->Gphi[k * d + k] += q->lambda;
    symmetrize(d, q->Gphi);
    sbo_dgemv(1, (int)p, (int)d, 1.0, q->Jphi, q->c, 0.0, q->gvec);
    double *chol = wk;
    memcpy(chol, q->Gphi, sizeof(double) * (size_t)(d * d));
    if (sbo_cholesky((int)d, chol))
        return fail(t, err, errlen,
                    "quadratic task: J_Phi^T J_Phi + lambda I is not positive definite (task.lambda = %g): Phi has no "
                    "unique minimizer; use task.lambda > 0", q->lambda);
    memcpy(q->xstar, q->gvec, sizeof(double) * (size_t)d);
    sbo_cholesky_solve((int)d, chol, 1, q->xstar);

    /* --- self-checks when generated (STYLE.md pattern 10) --- */
    sbo_log_appendf(q->log, sizeof q->log, "quadratic: structure %s, L = %d blocks, D = %ld, d = %ld, p = %ld, lambda = %g, sigma = %g, instance_seed = %ld",
           q->structure == QUAD_KRON ? "kron (row-symmetric)" : "generic (not row-symmetric)", L, D, d, p, q->lambda,
           q->sigma, seed);
    double lo_num, hi_num, oerr;
    if (q->structure == QUAD_KRON) {
        double alo, ahi, slo, shi;
        eig_range(M, q->A, wk, &alo, &ahi);
        eig_range(n, q->S, wk, &slo, &shi);
        lo_num = alo + slo;
        hi_num = ahi + shi;
        oerr = fmax(orth_error(M, q->U, wk), orth_error(n, q->V, wk));
    } else {
        oerr = orth_error((int)D, q->W, wk);
        if (D <= 400) {
            eig_range((int)D, q->H, wk, &lo_num, &hi_num);
        } else {   /* Jacobi is O(D^3) per sweep: rely on the orthogonality of W */
            lo_num = q->mu;
            hi_num = q->Lg;
        }
    }
    double scale = fmax(1.0, q->Lg);
    if (oerr > 1e-10 || fabs(lo_num - q->mu) > 1e-9 * scale || fabs(hi_num - q->Lg) > 1e-9 * scale)
        return fail(t, err, errlen,
                    "quadratic task self-check failed: eigenvalues [%.12g, %.12g] vs constructed [%.12g, %.12g], "
                    "max|Q^T Q - I| = %.3g", lo_num, hi_num, q->mu, q->Lg, oerr);
    /* H (H^{-1} B) = B: the eigen-solver matches the operator the oracles apply */
    double res = 0, nb = 0;
    for (long k = 0; k < d; k++) {
        for (long i = 0; i < D; i++) col[i] = q->HinvB[i * d + k];
        hess_apply(q, NULL, col, sol);
        for (long i = 0; i < D; i++) {
            res += (sol[i] - q->B[i * d + k]) * (sol[i] - q->B[i * d + k]);
            nb += q->B[i * d + k] * q->B[i * d + k];
        }
    }
    /* a backward-stable solve leaves a relative residual of order eps * condition number */
    if (!(sqrt(res) <= 1e-11 * (q->Lg / q->mu) * sqrt(nb)))
        return fail(t, err, errlen, "quadratic task self-check failed: ||H H^{-1} B - B|| / ||B|| = %.3g", sqrt(res / nb));
    if (!sbo_vec_all_finite(d, q->xstar)) return fail(t, err, errlen, "quadratic task: x* is not finite");
    q->mu = lo_num;
    q->Lg = hi_num;
    t->mu = q->mu;
    sbo_log_appendf(q->log, sizeof q->log, "H: mu = %.6g, L_g = %.6g, condition number %.4g (eigenvalues checked numerically%s; max|Q^T Q - I| = %.2g; "
              "||H H^{-1}B - B||/||B|| = %.2g)",
           q->mu, q->Lg, q->Lg / q->mu, (q->structure == QUAD_GENERIC && D > 400) ? " through W only" : "", oerr,
           sqrt(res / nb));
    double xs = sbo_vec_norm2(d, q->xstar);
    sbo_log_appendf(q->log, sizeof q->log, "Phi: strongly convex (lambda_min >= lambda = %g), ||x*|| = %.6g, Phi(x*) = %.6g, ||grad Phi(0)||^2 = %.6g",
           q->lambda, xs, phi_value(q, q->xstar), sbo_vec_dot(d, q->gvec, q->gvec));
    if (q->sigma > 0) {
        /* sigma (G + G^T)/sqrt(2K) is a GOE matrix: spectral norm -> 2 sigma (semicircle edge) */
        double edge = 2.0 * q->sigma;
        sbo_log_appendf(q->log, sizeof q->log, "noise: ||perturbation of %s|| ~ 2 sigma = %.3g against mu = %.4g: sampled Hessians are %s",
               q->structure == QUAD_KRON ? "A" : "H", edge, q->mu,
               edge < q->mu ? "positive definite with high probability"
                            : "WARNING: often indefinite (lower the noise or raise the spectrum)");
    } else {
        sbo_log_appendf(q->log, sizeof q->log, "noise: sigma = 0, exact oracles (minibatches of 0 doubles)");
    }
    if (!q->theory) sbo_log_appendf(q->log, sizeof q->log, "naive-point closed form unavailable: D = %ld > %d", D, SBO_QUAD_THEORY_MAX_D);
    return t;
}

static sbo_task *quad_create(const sbo_config *cfg, char *err, size_t errlen) {
    sbo_quadratic_options o;
    return sbo_quadratic_options_parse(cfg, &o, err, errlen) ? NULL : sbo_quadratic_create(&o, err, errlen);
}

const sbo_task_type sbo_task_quadratic = {
    .name = "quadratic",
    .description = "quadratic bilevel problem with closed-form Phi, x*, Y*, Z* (§8 TC-7): kron (row-symmetric, "
                   "coupled blocks) or generic H; ground truth for every method",
    .options = quad_options,
    .create = quad_create};

/* --- public extras ----------------------------------------------------------------- */

int sbo_quadratic_grad_phi(const sbo_task *t, const double *x, double *out) {
    quad_ctx *q = ctx_of(t);
    if (!q) return -1;
    for (int i = 0; i < q->d; i++) {
        double acc = -q->gvec[i];
        for (int k = 0; k < q->d; k++) acc += q->Gphi[(long)i * q->d + k] * x[k];
        out[i] = acc;
    }
    return 0;
}

double sbo_quadratic_grad_phi_sq(const sbo_task *t, const double *x) {
    quad_ctx *q = ctx_of(t);
    return q ? grad_phi_sq(q, x) : NAN;
}

double sbo_quadratic_phi(const sbo_task *t, const double *x) {
    quad_ctx *q = ctx_of(t);
    return q ? phi_value(q, x) : NAN;
}

int sbo_quadratic_solution(const sbo_task *t, const double *x, double *Ystar, double *Zstar) {
    quad_ctx *q = ctx_of(t);
    if (!q) return -1;
    solution(q, x, Ystar, Zstar);
    return 0;
}

int sbo_quadratic_x_star(const sbo_task *t, double *xstar) {
    quad_ctx *q = ctx_of(t);
    if (!q) return -1;
    memcpy(xstar, q->xstar, sizeof(double) * (size_t)q->d);
    return 0;
}

double sbo_quadratic_lower_value(const sbo_task *t, const double *x, const double *Y, const sbo_batch *batch) {
    quad_ctx *q = ctx_of(t);
    return q ? lower_value(q, x, Y, batch_values(batch)) : NAN;
}

double sbo_quadratic_upper_value(const sbo_task *t, const double *x, const double *Y, const sbo_batch *batch) {
    quad_ctx *q = ctx_of(t);
    return q ? upper_value(q, x, Y, batch_values(batch)) : NAN;
}

int sbo_quadratic_dense_H(const sbo_task *t, double *Hd) {
    quad_ctx *q = ctx_of(t);
    if (!q) return -1;
    long D = q->D;
    if (q->structure == QUAD_GENERIC) {
        memcpy(Hd, q->H, sizeof(double) * (size_t)(D * D));
        return 0;
    }
    /* H_{ia,jb} = A_ij delta_ab + delta_ij S_ab on the stacked M x n matrix (row-major vec, §1) */
    int M = q->M, n = q->n;
    memset(Hd, 0, sizeof(double) * (size_t)(D * D));
    for (int i = 0; i < M; i++)
        for (int a = 0; a < n; a++) {
            double *row = Hd + ((long)i * n + a) * D;
            for (int j = 0; j < M; j++) row[(long)j * n + a] += q->A[(long)i * M + j];
            for (int b = 0; b < n; b++) row[(long)i * n + b] += q->S[(long)a * n + b];
        }
    return 0;
}

int sbo_quadratic_kron_factors(const sbo_task *t, const double **A, const double **S, int *M, int *n) {
    quad_ctx *q = ctx_of(t);
    if (!q || q->structure != QUAD_KRON) return -1;
    if (A) *A = q->A;
    if (S) *S = q->S;
    if (M) *M = q->M;
    if (n) *n = q->n;
    return 0;
}

int sbo_quadratic_naive_operator(const sbo_task *t, const int *rank, double *Md) {
    quad_ctx *q = ctx_of(t);
    if (!q || !rank) return -1;
    for (int l = 0; l < q->L; l++)
        if (rank[l] < 1) return -1;
    long D = q->D;
    sbo_quadratic_dense_H(t, Md);      /* cross blocks H^{ll'} stay: they are unbiased (§5.2) */
    for (int l = 0; l < q->L; l++) {
        int m = t->lower.block[l].m, n = t->lower.block[l].n;
        int r = rank[l] < m ? rank[l] : m;
        if (r >= m) continue;          /* full block (§3.1): M^ll = H^ll */
        sbo_haar_consts hc;
        sbo_haar_consts_compute(m, r, &hc);
        double s = ((double)m / r) * ((double)m / r), c1 = hc.c1, c2 = hc.c2;
        long off = t->lower.offset[l];
#define HX(i, a, j, b) Md[(off + (long)(i) * n + (a)) * D + off + (long)(j) * n + (b)]
        /* T_ab = sum_i H_{ia,ib} (partial trace over rows), before the block is overwritten */
        double *T = q->setup;          /* n^2 <= setup_len (>= Kmax^2 with Kmax >= n) */
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++) {
                double acc = 0;
                for (int i = 0; i < m; i++) acc += HX(i, a, i, b);
                T[(long)a * n + b] = acc;
            }
        /* M_{ia,jb} = s (c1 H_{ia,jb} + c2 H_{ja,ib} + c2 delta_ij T_ba): pair (ia,jb) with (ja,ib) in place */
        for (int i = 0; i < m; i++)
            for (int j = i; j < m; j++)
                for (int a = 0; a < n; a++)
                    for (int b = 0; b < n; b++) {
                        if (i == j) {
                            HX(i, a, i, b) = s * ((c1 + c2) * HX(i, a, i, b) + c2 * T[(long)b * n + a]);
                            continue;
                        }
                        double h1 = HX(i, a, j, b), h2 = HX(j, a, i, b);
                        HX(i, a, j, b) = s * (c1 * h1 + c2 * h2);
                        HX(j, a, i, b) = s * (c1 * h2 + c2 * h1);
                    }
#undef HX
    }
    return 0;
}

int sbo_quadratic_naive_point(const sbo_task *t, const int *rank, double *xbar, double *plateau) {
    quad_ctx *q = ctx_of(t);
    if (!q || !q->theory) return -1;
    long D = q->D, d = q->d, p = q->p;
    double *Md = q->theory, *X = Md + D * D, *aug = X + D * (d + 1);
    if (sbo_quadratic_naive_operator(t, rank, Md)) return -1;
    /* M is SPD: v^T M v = E||H^{1/2} Qs v||^2 >= mu E||Qs v||^2 >= mu ||v||^2 with Qs = blockdiag((m/r) Q_l) */
    symmetrize(D, Md);
    if (sbo_cholesky((int)D, Md)) return -1;
    /* X = M^{-1} [C^T J_Phi | C^T c]  (D x (d+1)) */
    for (long i = 0; i < D; i++) {
        for (long k = 0; k <= d; k++) {
            double acc = 0;
            for (long j = 0; j < p; j++) acc += q->C[j * D + i] * (k < d ? q->Jphi[j * d + k] : q->c[j]);
            X[i * (d + 1) + k] = acc;
        }
    }
    sbo_cholesky_solve((int)D, Md, (int)(d + 1), X);
    /* [K_n | rhs] = [lambda I + B^T M^{-1} C^T J_Phi | B^T M^{-1} C^T c] */
    sbo_dgemm(1, 0, (int)d, (int)(d + 1), (int)D, 1.0, q->B, X, 0.0, aug);
    for (long k = 0; k < d; k++) aug[k * (d + 1) + k] += q->lambda;
    double *xb = q->w_d;
    if (sbo_lu_solve((int)d, aug, xb)) return -1;
    if (xbar) memcpy(xbar, xb, sizeof(double) * (size_t)d);
    if (plateau) *plateau = grad_phi_sq(q, xb);
    return 0;
}

const char *sbo_quadratic_log(const sbo_task *t) {
    quad_ctx *q = ctx_of(t);
    return q ? q->log : NULL;
}

double sbo_quadratic_condition(const sbo_task *t) {
    quad_ctx *q = ctx_of(t);
    return q ? q->Lg / q->mu : NAN;
}
