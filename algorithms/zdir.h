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
    int n_projected;                 /* blocks with r_l < m_l; 0: every block full, zdir is MA-SOBA's H[Z] - grad f */
    sbo_haar_consts c[SBO_MAX_BLOCKS];
    sbo_layout red;                  /* reduced layout (r_l rows) */
    long probe_doubles;              /* size of the probe buffer */
    long P_doubles;                  /* size of the buffer for all P_l */
    long haar_work_doubles;
    long in_doubles;                 /* the HVP input tuple (sum r_l n_l), or 0 when every block is full (call 1
                                      * then reads Z_k itself); free after sbo_zdir_reduced (pieces.scratch) */
    long block_work[SBO_MAX_BLOCKS]; /* zdir work of block l: r_l n_l in the HVP input (when in_doubles > 0) and
                                      * r_l n_l in the shared HVP output; a projected block adds B_l, [R1e_l],
                                      * [R3_l general], [u_l (m_l), s_l (n_l) corrected]; a full block nothing */
    long work_doubles;               /* zdir work = sum of block_work */
    int haar_version;                /* frame sampler, SBO_HAAR_V2 unless sbo_zdir_plan_haar says otherwise */
    long subspace_period;            /* T_P: P is redrawn every T_P iterations. 1 (the default) is the only value
                                      * inside the theory (§3.2); > 1 exists for TC-8 only */
} sbo_zdir_plan;

/* Validates ranks (1 <= r_l; r_l >= m_l makes a full block, §3.1; general needs r_l >= 2 on projected
 * blocks) and computes the constants. SBO_ZDIR_AUTO reads full->block[l].row_symmetric. 0, or -1 with a one-line message naming the block. */
int sbo_zdir_plan_init(sbo_zdir_plan *p, int variant, const sbo_layout *full, const int *rank,
                       char *err, size_t errlen);
/* The Haar sampler version (algo.haar) and its workspace. */
void sbo_zdir_plan_haar(sbo_zdir_plan *p, int version);

/* Draw iteration k's randomness in the §1 order: for each block l: P_l (stream SUBSPACE,l,k; none for a
 * full block), then xi_l, omega_l, [eta_l, omega3_l], eps_l (stream PROBE,l,k). Naive draws only P.
 * P_buf: plan->P_doubles; probe_buf: plan->probe_doubles; haar_work: plan->haar_work_doubles. */
void sbo_zdir_draw(const sbo_zdir_plan *p, uint64_t seed, long k, sbo_subspace *S, double *P_buf,
                   sbo_probes *pr, double *probe_buf, double *haar_work);

/* The reduced HVP callback: out_l = P_l^T H[(P_l' X_l')_l']^l with the same P as S. */
typedef void (*sbo_reduced_hvp_fn)(void *ctx, const double *X_red, double *out_red);

/* d in reduced form: d_l = P_l X_l - coef_l u_l s_l^T. Views into the caller's work buffer (valid until it
 * is reused); everything is computed from the Z_k passed to sbo_zdir_reduced, so Z may then be updated in place
 * (except B_l of a full block, which is Z_k^l itself). */
typedef struct {
    const double *X;                 /* reduced tuple X_l = Dr_l - (m_l/r_l) F_l (r_l x n_l), every block */
    const double *B[SBO_MAX_BLOCKS]; /* the cache B_l = P_l^T Z_k^l (r_l x n_l) of a projected block; for a full
                                      * block Z_k^l itself (a view into Z, not a copy: read it before Z changes) */
    const double *u[SBO_MAX_BLOCKS]; /* u_l = Z_k^l omega_l (m_l); NULL where coef_l = 0 (naive, full blocks) */
    const double *s[SBO_MAX_BLOCKS]; /* s_l = RT_l^T xi_l (n_l); NULL where coef_l = 0 */
    double coef[SBO_MAX_BLOCKS];     /* (rho_l/a_l)(m_l/r_l); 0 on naive and full blocks (no rank-one term) */
    double *scratch;                 /* the HVP input tuple (plan->in_doubles = sum r_l n_l doubles), free once
                                      * sbo_zdir_reduced returns (the loop puts G there); NULL if every block is full */
    int calls;                       /* hvp calls made */
} sbo_zdir_pieces;

/* (a) The pure part of §7's Z-direction: every HVP call and every quantity read from Z_k, in reduced form.
 * Z: full Z_k; F_red: P_l^T grad_{Y^l} f (reduced), or NULL for F = 0. work: plan->work_doubles.
 * Makes 1 (naive), 2 (basic, L = 1), 3 (basic, L > 1), 3 (general, L = 1: calls 1, 2, 4) or 4 (general, L > 1)
 * hvp calls; 1 whenever every block is full (calls 2-4 then have only zero-coefficient outputs, §3.1: skipped;
 * the probes are still drawn by sbo_zdir_draw). Returns the number of calls (also in out->calls).
 * Work layout (§9): the calls run in the order 2, 3, 4, 1 and share ONE all-blocks output tuple; each of calls
 * 2-4 is reduced, before the next call, to what its nonzero coefficients need on the projected blocks (s_l,
 * R1e_l, R3_l), and call 1's output R1 becomes Dr and then X in place. A full block therefore holds no
 * zero-coefficient output (its Dr = R1 exactly: a = 1, rho = 0, A1 = 1, A3 = 0) and no copy of B = Z_k. */
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
