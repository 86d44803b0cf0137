/* theory_checks/tc_ops.h: explicit Hessian operators and the Monte Carlo driver shared by TC-3, TC-3b
 * and TC-4 (ALGORITHMS.md §8): the TC-3 generators (generic, row-symmetric, Kronecker, identity), H[V] on
 * tuples as one dense D x D matrix in the row-major vec order of §1, the partial transpose H^Γ and the
 * partial trace T of a diagonal block (§5.2), the predicted means of §8 TC-3, the reduced-HVP callback
 * X -> (P_l^T H[(P_l' X_l')_l']^l)_l that drives the production sbo_zdir, and a chunked OpenMP draw loop.
 * Definitions in tc_ops.c, linked into every theory check. Exercised by: tc3_estimators, tc3b_zdir, tc4_variance. */
#ifndef SBO_TC_OPS_H
#define SBO_TC_OPS_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "algorithms/zdir.h"          /* the function under test: plan, draw, sbo_zdir */
#include "core/sbo_rng.h"             /* instance streams */
#include "core/sbo_tuple.h"           /* sbo_layout */
#include "tasks/task.h"               /* sbo_subspace, project / lift */
#include "theory_checks/tc_common.h"  /* sbo_mc_acc */

/* --- the TC-3 cases (§6.5 rows; the three-block case is TC-3b's addition) --- */
enum tc_gen { TC_GEN_GENERIC = 0, TC_GEN_ROWSYM = 1, TC_GEN_KRON = 2, TC_GEN_IDENTITY = 3 };

typedef struct {
    const char *key;      /* HDF5 group name and short id */
    const char *label;    /* table label (the shapes are printed by tc_case_shape) */
    int gen;
    int L;
    int m[3], n[3], r[3];
} tc_case;

/* Case ids key the instance streams (SBO_RNG_INSTANCE, block = id), so TC-3 and TC-3b use identical
 * H, Z for the same id. Never renumber: the fixed-threshold POWER checks depend on these draws (§8.1). */
extern const tc_case tc_cases[];
#define TC_N_CASES 8
#define TC_INSTANCE_SEED 0x5B0C3ULL   /* fixed generator seed (§8 TC-3: "a fixed generator seed per case") */

/* --- the explicit operator -------------------------------------------------- */
typedef struct {
    sbo_layout lay;
    long D;
    int identity;   /* H = I: the callback skips the matrix product */
    double *H;      /* D x D, row-major, symmetric */
} tc_op;

void tc_layout_make(sbo_layout *lay, int L, const int *m, const int *n);

void tc_op_alloc(tc_op *op, const sbo_layout *lay);
void tc_op_free(tc_op *op);

/* generic: H = B B^T / D + 0.5 I with B in R^{D x D} iid N(0,1) (D = mn for one block). */
void tc_gen_generic(tc_op *op, sbo_stream *s);

/* row-symmetric: stack the blocks as one (sum m_l) x n matrix (all n_l equal) and take
 * H = sum_{s<nterms} (c_s c_s^T) ⊗ (G_s G_s^T / n) / nterms + 0.3 I; draws c_s then G_s for each s.
 * nterms = 6 for one block, 8 for two (§8 TC-3). With row-major vec, (A ⊗ S)_{(i,a),(j,b)} = A_ij S_ab,
 * and the stacked matrix's vec is exactly the tuple's flat order. */
void tc_gen_rowsym(tc_op *op, sbo_stream *s, int nterms);

/* Kronecker: H = I_m ⊗ (S S^T / n + 0.5 I), one block: H[V] = V S'. */
void tc_gen_kron(tc_op *op, sbo_stream *s);

void tc_gen_identity(tc_op *op);

/* Builds case c's instance from its fixed stream: H (by the case's generator), then Z, then grad f
 * (each iid N(0,1), one full tuple). gradf may be NULL (then it is not drawn). */
void tc_case_instance(const tc_case *cs, int case_id, tc_op *op, double **Z, double **gradf);

/* --- operator algebra (§5.2) --------------------------------------------------- */
/* y = H x (full tuples). H is symmetric, so y = sum_j x_j H[j,:]: the column form makes the inner loop a
 * vectorizable axpy (a dot-product reduction would stay scalar without fast-math, which we never use). */
void tc_apply(const tc_op *op, const double *x, double *y);

double tc_Hll(const tc_op *op, int l, int i, int a, int j, int b);

/* out = H^{ll}[Zl] (diagonal block only) */
void tc_apply_diag(const tc_op *op, int l, const double *Zl, double *out);

/* out = H^{llΓ}[Zl], H^Γ_{ia,jb} = H_{ja,ib} (partial transpose on the projected row index) */
void tc_apply_gamma(const tc_op *op, int l, const double *Zl, double *out);

/* T^{ll}_{ab} = sum_i H^{ll}_{ia,ib} (n x n) */
void tc_partial_trace(const tc_op *op, int l, double *T);

/* out^l = sum_{l' != l} H^{ll'}[Z^{l'}] */
void tc_apply_cross(const tc_op *op, int l, const double *Z, double *out);

/* max |H^{ll} - H^{llΓ}| / max |H^{ll}|: 0 for a row-symmetric diagonal block (§5.2). */
double tc_row_asymmetry(const tc_op *op, int l);

/* Predicted mean of sbo_zdir's direction (§8 TC-3), minus grad f when gradf != NULL (E[(m/r)Q grad f] = grad f):
 *   naive   (m/r)^2 (c1 H^{ll}Z + c2 H^{llΓ}Z + c2 Z T^{ll}) + sum_{l'≠l} H^{ll'} Z^{l'}
 *   basic   (c1 H^{ll}Z + c2 H^{llΓ}Z)/(c1+c2) + cross
 *   general H[Z]
 *   no-D1   H^{ll}Z + (rho/a)(H^{llΓ} - H^{ll})Z + cross / a
 * The constants are the plan's (§4, with the §3.1 values for full blocks). */
void tc_predicted_mean(const tc_op *op, const sbo_zdir_plan *p, int variant, const double *Z,
                                     const double *gradf, double *out);

/* --- the reduced-HVP callback (§7: X -> (P_l^T H[(P_l' X_l')_l']^l)_l with the draw's P) --- */
typedef struct {
    const tc_op *op;
    const sbo_subspace *S;
    double *v, *w;          /* two full tuples (the §9 "generic HVP" transient) */
    long calls;
} tc_hvp_ctx;

void tc_reduced_hvp(void *ctx, const double *X_red, double *out_red);

/* --- the Monte Carlo driver ---------------------------------------------------
 * Draw k (k = 0..N-1) is iteration k of the production draw sbo_zdir_draw(plan, seed, k, ...), so every
 * P and probe comes from its own keyed stream. Draws are grouped in fixed chunks of TC_CHUNK; each chunk
 * has its own accumulators, and the chunks are merged in chunk order, so the result does not depend on the
 * number of threads. All buffers are allocated once per thread, none per draw. */
#define TC_CHUNK 5000L

typedef struct {
    const sbo_zdir_plan *plan;
    const tc_op *op;
    const double *Z;
    const double *gradf;        /* full grad f (F_l = P_l^T grad_{Y^l} f per draw), or NULL for F = 0 */
    const double *err_target;   /* if non-NULL: also accumulate e = ||d - err_target||^2 per draw */
    uint64_t seed;
    long N;
} tc_mc_job;

typedef struct {
    sbo_mc_acc mean;            /* of d, dimension D */
    sbo_mc_acc err;             /* of e (dimension 1), when err_target was given */
    long hvp_calls;
    double seconds;
} tc_mc_result;

void tc_mc_run(const tc_mc_job *job, tc_mc_result *res);

void tc_mc_result_free(tc_mc_result *res);

/* Sum of the per-entry sample variances of d (the trace of its covariance). */
double tc_mc_total_var(const sbo_mc_acc *acc);

/* Index of the entry with the largest |mean - target| / se (for reporting which entries are off). */
int tc_mc_argmax_z(const sbo_mc_acc *acc, const double *target, double *zmax);

/* "block l (i,a)" for a flat tuple index */
void tc_entry_name(const sbo_layout *lay, int idx, char *buf, size_t len);

/* 1 when every projected block of the case has r >= 2 (BROS-general applies, §3.1). */
int tc_case_general_ok(const tc_case *cs);

void tc_case_shape(const tc_case *cs, char *buf, size_t len);

/* "label (m,n,r),..." */
void tc_case_name(const tc_case *cs, char *buf, size_t len);
/* One estimator on one case, as TC-3 and TC-3b tabulate it. */
typedef struct {
    int ran, unbiased;           /* unbiased: expected unbiased (general; basic on row-symmetric H) */
    double z_target, z_pred;     /* max|z| against the target and against the closed-form predicted mean */
    double lambda;               /* §8.1 noncentrality of the predicted mean against the target */
    double relvar, thr, seconds; /* filled by the caller where used */
} tc_cell;

/* One Monte Carlo cell of TC-3 / TC-3b: plan variant v with the case's ranks, run job (seed, N) through the
 * production zdir, form the closed-form predicted mean (minus gradf when given), and fill c against target
 * (rowsym: the case's H is row-symmetric). A plan_init failure is reported as a FAIL row named
 * "<label>: plan_init" and returns -1; else 0 (free res with tc_mc_result_free). */
int tc_mc_variant(sbo_tc_report *r, const char *label, const tc_op *op, const int *rank, int v, int rowsym,
                  const double *Z, const double *gradf, const double *target, uint64_t seed, long N, sbo_zdir_plan *p,
                  tc_mc_result *res, double *pred, tc_cell *c);
/* A note naming the entry with the largest |z| of mean against target (printed under a failing row). */
void tc_note_largest_z(sbo_tc_report *r, const tc_op *op, const sbo_mc_acc *mean, const double *target);
#endif
