/* algorithms/zdir.h: the projected auxiliary direction of ALGORITHMS.md §7, a pure function.
 *   d_l = P_l (Dr_l - (m_l/r_l) F_l) - (rho_l/a_l)(m_l/r_l) u_l s_l^T
 * computed in reduced form (sbo_zdir_reduced) and applied to Z in place (sbo_zdir_apply), so the production
 * loop never holds an m x n direction (§9); sbo_zdir forms d for the theory checks.
 * naive: Dr_l = R1_l and no u s^T term (§5.1); basic: §6.2/§6.4; general: §6.3/§6.4.
 * The production loop (algorithms/projected.c) and the theory checks TC-3, TC-3b, TC-4 call this same code.
 * Exercised by: theory_checks/tc3_estimators.c, tc3b_zdir.c, tc4_variance.c. */
#ifndef SBO_ZDIR_H
#define SBO_ZDIR_H
#include <stdint.h>
#include "core/sbo_tuple.h"    /* sbo_layout */
#include "core/sbo_haar.h"     /* sbo_haar_consts */
#include "tasks/task.h"        /* sbo_subspace */

enum sbo_zdir_variant {
    SBO_ZDIR_NAIVE = 0,        /* §5.1: no correction (biased) */
    SBO_ZDIR_BASIC = 1,        /* §6.2 (L = 1) / §6.4 basic with D1: unbiased for row-symmetric H */
    SBO_ZDIR_GENERAL = 2,      /* §6.3 / §6.4 general: unbiased for any symmetric H, r >= 2 */
    SBO_ZDIR_BASIC_NO_D1 = 3,  /* test-only: single-block formula applied blockwise (§6.4 pitfall, biased) */
    SBO_ZDIR_AUTO = 4          /* BROS per block: general where the task declares the block not row-symmetric,
                                * basic elsewhere (call 4 carries only the general blocks' directions) */
};
const char *sbo_zdir_variant_name(int variant);

/* Per-iteration probes of every block (§6.1), views into one flat buffer. */
typedef struct {
    double *xi[SBO_MAX_BLOCKS];      /* r_l */
    double *omega[SBO_MAX_BLOCKS];   /* n_l */
    double *eta[SBO_MAX_BLOCKS];     /* n_l (general only, else NULL) */
    double *omega3[SBO_MAX_BLOCKS];  /* n_l (general only, else NULL) */
    double eps[SBO_MAX_BLOCKS];      /* +-1 (only when L > 1, else 1) */
} sbo_probes;

typedef struct {
    int variant;
    const sbo_layout *full;          /* the task's lower layout */
    int rank[SBO_MAX_BLOCKS];
    int general[SBO_MAX_BLOCKS];     /* 1: block l uses the §6.3 general formula (and draws eta, omega3) */
    int any_general;
    sbo_haar_consts c[SBO_MAX_BLOCKS];
    sbo_layout red;                  /* reduced layout (r_l rows) */
    long probe_doubles;              /* size of the probe buffer */
    long P_doubles;                  /* size of the buffer for all P_l */
    long haar_work_doubles;
    long work_doubles;               /* zdir work: work_tuples reduced tuples, plus u_l (m_l) and s_l (n_l)
                                      * per block for the corrected variants */
    int work_tuples;                 /* reduced tuples in the work: 3 (naive) to 6 (general, L > 1) */
    long subspace_period;            /* T_P: P is redrawn every T_P iterations. 1 (the default) is the only value
                                      * inside the theory (§3.2); > 1 exists for TC-8 only */
} sbo_zdir_plan;

/* Validates ranks (1 <= r_l; r_l >= m_l makes a full block, §3.1; general needs r_l >= 2 on projected
 * blocks) and computes the constants. SBO_ZDIR_AUTO reads full->block[l].row_symmetric. 0, or -1 with a one-line message naming the block. */
int sbo_zdir_plan_init(sbo_zdir_plan *p, int variant, const sbo_layout *full, const int *rank,
                       char *err, size_t errlen);

/* Draw iteration k's randomness in the §1 order: for each block l: P_l (stream SUBSPACE,l,k; none for a
 * full block), then xi_l, omega_l, [eta_l, omega3_l], eps_l (stream PROBE,l,k). Naive draws only P.
 * P_buf: plan->P_doubles; probe_buf: plan->probe_doubles; haar_work: plan->haar_work_doubles. */
void sbo_zdir_draw(const sbo_zdir_plan *p, uint64_t seed, long k, sbo_subspace *S, double *P_buf,
                   sbo_probes *pr, double *probe_buf, double *haar_work);

/* The reduced HVP callback: out_l = P_l^T H[(P_l' X_l')_l']^l with the same P as S. */
typedef void (*sbo_reduced_hvp_fn)(void *ctx, const double *X_red, double *out_red);

/* d in reduced form: d_l = P_l X_l - coef_l u_l s_l^T. Views into the caller's work buffer (valid until it
 * is reused); everything is computed from the Z_k passed to sbo_zdir_reduced, so Z may then be updated in place. */
typedef struct {
    const double *X;                 /* reduced tuple X_l = Dr_l - (m_l/r_l) F_l (r_l x n_l) */
    const double *B;                 /* the cache B_l = P_l^T Z_k^l (reduced tuple; the cross_term = projected input) */
    const double *u;                 /* u_l = Z_k^l omega_l, blocks concatenated (sum m_l); NULL for naive */
    const double *s;                 /* s_l (sum n_l); NULL for naive */
    double coef[SBO_MAX_BLOCKS];     /* (rho_l/a_l)(m_l/r_l); 0 on naive and full blocks (no rank-one term) */
    int calls;                       /* hvp calls made */
} sbo_zdir_pieces;

/* (a) The pure part of §7's Z-direction: every HVP call and every quantity read from Z_k, in reduced form.
 * Z: full Z_k; F_red: P_l^T grad_{Y^l} f (reduced), or NULL for F = 0. work: plan->work_doubles. Makes 1
 * (naive), 2 (basic, L = 1), 3 (basic, L > 1), 3 (general, L = 1: calls 1, 2, 4) or 4 (general, L > 1) hvp
 * calls. Returns the number of calls (also in out->calls). */
int sbo_zdir_reduced(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_probes *pr, const double *Z,
                     const double *F_red, sbo_reduced_hvp_fn hvp, void *ctx, double *work, sbo_zdir_pieces *out);

/* (b) Z += scale * d without forming d: per block Z_l += scale P_l X_l (one GEMM into Z_l for large blocks),
 * then Z_l -= (scale coef_l) u_l s_l^T. No m x n temporary. */
void sbo_zdir_apply(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_zdir_pieces *pc, double scale,
                    double *Z);

/* d (full tuple) = the bracket multiplying gamma in §7: sbo_zdir_reduced, then sbo_zdir_apply with scale 1
 * into a zeroed d (bit for bit the direction the theory checks TC-3, TC-3b, TC-4 average). Returns the
 * number of hvp calls. */
int sbo_zdir(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_probes *pr, const double *Z,
             const double *F_red, sbo_reduced_hvp_fn hvp, void *ctx, double *work, double *d);
#endif
