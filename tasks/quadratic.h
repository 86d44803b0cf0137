/* tasks/quadratic.h: the quadratic bilevel task with closed-form Phi (ALGORITHMS.md §8 TC-7, generalized to
 * L blocks and to a generic, non-row-symmetric Hessian), and its closed-form extras for the theory checks.
 *
 *   lower  g(x,Y) = 1/2 <Y, H[Y]> - <Y, mat(B x)>      grad_Y g = H[Y] - mat(Bx),  J[Z] = -B^T vec Z
 *   upper  f(x,Y) = 1/2 ||C vec Y - c||^2 + 1/2 lambda ||x||^2
 *   Y*(x) = H^{-1} B x,  Z*(x) = H^{-1} C^T (C Y* - c),  grad Phi(x) = J_Phi^T (J_Phi x - c) + lambda x,
 *   J_Phi = C H^{-1} B,  x* = (J_Phi^T J_Phi + lambda I)^{-1} J_Phi^T c.
 *
 * The task type itself is `sbo_task_quadratic` (tasks/registry.c); everything below is for theory checks and
 * tests that need the closed forms. All functions return -1 (or NAN) when t is not a quadratic task.
 * They share the task's scratch buffers: not reentrant, call them from one thread per task.
 * Exercised by: tests/test_quadratic.c, theory_checks/tc7_rate.c. */
#ifndef SBO_QUADRATIC_H
#define SBO_QUADRATIC_H
#include "tasks/task.h"   /* sbo_task */

extern const sbo_task_type sbo_task_quadratic;

/* --- options: every task.* key parsed and checked once (liblinear's check_parameter pattern) ------------------ */
enum { SBO_QUAD_KRON = 0, SBO_QUAD_GENERIC = 1 };            /* task.structure */
enum { SBO_QUAD_INIT_ZERO = 0, SBO_QUAD_INIT_NORMAL = 1 };   /* task.init */

typedef struct {
    int structure;                                  /* task.structure: SBO_QUAD_KRON or SBO_QUAD_GENERIC */
    int L, m[SBO_MAX_BLOCKS], n[SBO_MAX_BLOCKS];    /* task.blocks: L blocks of m_l x n_l */
    char blocks_text[128];                          /* task.blocks as given, for messages ("": formatted from m, n) */
    long d, p;                                      /* task.d, task.p */
    double lambda, sigma;                           /* task.lambda, task.sigma */
    double a_min, a_max, s_min, s_max;              /* kron: task.a_min .. task.s_max */
    double h_min, h_max;                            /* generic: task.h_min, task.h_max */
    long instance_seed;                             /* task.instance_seed */
    int init;                                       /* task.init: SBO_QUAD_INIT_ZERO or SBO_QUAD_INIT_NORMAL */
} sbo_quadratic_options;

/* Reads every task.* key of the quadratic (unset keys take the option table's defaults; only the spectrum keys of the
 * chosen structure are read) and checks them. 0, or -1 with a one-line message. */
int sbo_quadratic_options_parse(const sbo_config *cfg, sbo_quadratic_options *o, char *err, size_t errlen);
/* 0, or -1 with a one-line message when a value is out of its domain or the instance would be too large. */
int sbo_quadratic_options_check(const sbo_quadratic_options *o, char *err, size_t errlen);
/* The task from options (checked again here): builds the instance of o->instance_seed. NULL with a message. */
sbo_task *sbo_quadratic_create(const sbo_quadratic_options *o, char *err, size_t errlen);

/* Minibatch layout (tasks/quadratic.c; the values of an sbo_batch, no sample ids): the lower batch starts with the
 * sampled operator, A_xi (M x M, kron) or H_xi (D x D, generic), followed by the noise of grad_Y g (D) and the
 * perturbed B (D x d); the upper batch is the noise of grad_Y f (D) then of grad_x f (d). sigma = 0 gives batches of
 * 0 values (exact oracles). */

/* Largest D = sum m_l n_l for which the task reserves the dense workspace of sbo_quadratic_naive_point
 * (D^2 + D(d+1) + d(d+1) doubles). Larger instances return -1 from that function. */
#define SBO_QUAD_THEORY_MAX_D 1024

/* grad Phi(x) (d) from the precomputed d x d matrix: O(d^2). */
int sbo_quadratic_grad_phi(const sbo_task *t, const double *x, double *out);
/* ||grad Phi(x)||^2, O(d^2), no buffer: cheap enough for every iteration of TC-7. */
double sbo_quadratic_grad_phi_sq(const sbo_task *t, const double *x);
/* Phi(x) = f(x, Y*(x)) = 1/2 ||J_Phi x - c||^2 + 1/2 lambda ||x||^2. */
double sbo_quadratic_phi(const sbo_task *t, const double *x);
/* Y*(x) and Z*(x) (lower tuples, D doubles each; either may be NULL). */
int sbo_quadratic_solution(const sbo_task *t, const double *x, double *Ystar, double *Zstar);
/* x* (d). */
int sbo_quadratic_x_star(const sbo_task *t, double *xstar);

/* Function values of the sampled objectives, for finite-difference tests of the oracles. batch as in the
 * oracles (NULL = exact). The lower value is g_phi(x,Y) = 1/2 <Y, H_phi[Y]> - <Y, mat(Bx)> + <noise, Y>,
 * whose Y-gradient and Y-Hessian are the lower oracles. Its x-derivative uses B, not the perturbed B_phi of
 * the cross oracle (§8 TC-7: only J uses B + sigma N/sqrt(D)), so J matches differences of grad_Y g only for
 * batch = NULL. The upper value is f(x,Y) + <noise_Y, Y> + <noise_x, x>. */
double sbo_quadratic_lower_value(const sbo_task *t, const double *x, const double *Y, const sbo_batch *batch);
double sbo_quadratic_upper_value(const sbo_task *t, const double *x, const double *Y, const sbo_batch *batch);

/* The lower Hessian as a dense D x D matrix in the row-major vec of the block tuple (§1). */
int sbo_quadratic_dense_H(const sbo_task *t, double *Hdense);
/* kron structure only: the stacked M x M matrix A and the n x n matrix S (H[V] = A V + V S); -1 for generic. */
int sbo_quadratic_kron_factors(const sbo_task *t, const double **A, const double **S, int *M, int *n);

/* Mean operator of the naive projected Z-update (§5.2 diagonal blocks, unbiased cross blocks, §5.1 tuple form),
 * as a dense D x D matrix: M[Z]^l = (m_l/r_l)^2 (c1 H^ll[Z^l] + c2 H^llG[Z^l] + c2 Z^l T^ll) + sum_{l' != l} H^ll'[Z^l'],
 * with c1, c2 of (m_l, r_l); a full block (r_l >= m_l) has M^ll = H^ll. rank: L entries >= 1. */
int sbo_quadratic_naive_operator(const sbo_task *t, const int *rank, double *Mdense);
/* Naive predicted stationary point (§8 TC-7 "Plateau", generalized): x_bar = K_n^{-1} B^T M^{-1} C^T c,
 * K_n = lambda I + B^T M^{-1} C^T C H^{-1} B, plateau = ||grad Phi(x_bar)||^2. Either output may be NULL.
 * Returns 0, or -1 for a bad rank or D > SBO_QUAD_THEORY_MAX_D. */
int sbo_quadratic_naive_point(const sbo_task *t, const int *rank, double *xbar, double *plateau);

/* What create decided and checked (structure, spectra, mu, condition number, noise scale against mu,
 * self-checks), one item per line. */
const char *sbo_quadratic_log(const sbo_task *t);
/* The condition number L_g / mu of H. */
double sbo_quadratic_condition(const sbo_task *t);
#endif
