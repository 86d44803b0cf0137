/* algorithms/soba.c: SOBA (Dagreou et al. 2022), ALGORITHMS.md §2.1, in our sign convention (Z = -v):
 *   D_Y = grad_Y g(phi_k),  D_Z = H_phi[Z_k] - grad_Y f(psi_k),  D_x = grad_x f(psi_k) - J_phi[Z_k]
 *   Y -= beta D_Y;  Z -= gamma D_Z;  x -= alpha D_x        (no projection of Z, no moving average)
 * Exercised by: tests/test_matrix.c, theory_checks/tc7_rate.c. */
#include "algorithms/algorithm.h"   /* descriptor, shared pieces */

extern const sbo_algo_type sbo_algo_soba;

static sbo_algo *soba_create(sbo_task *t, const sbo_config *cfg, uint64_t seed, char *err, size_t errlen) {
    return sbo_full_space_create(&sbo_algo_soba, 0, t, cfg, seed, err, errlen);
}

static int soba_step(sbo_algo *a, long k) {
    sbo_full_space_work *w = a->impl;
    sbo_full_space_directions(a, k, w);     /* every oracle at the old iterate (Jacobi, §1) */
    double f = sbo_algo_step_factor(a, k);
    long D = sbo_layout_total(&a->task->lower);
    sbo_vec_axpy(D, -a->beta * f, w->DY, a->Y);
    sbo_vec_axpy(D, -a->gamma * f, w->DZ, a->Z);
    sbo_vec_axpy(a->task->d, -a->alpha * f, w->Dx, a->x);
    return sbo_algo_state_finite(a) ? 0 : 1;
}

static const sbo_memory_traits soba_memory_traits = {.label = "soba", .momentum = 0, .projected = 0};

static int soba_memory(const sbo_task *t, const sbo_config *cfg, sbo_memory_model *out, char *err, size_t errlen) {
    return sbo_memory_model_compute(&soba_memory_traits, t, cfg, out, err, errlen);
}

/* set by --config or --set, these draw a warning: this method never reads them */
static const char *const soba_unread[] = {"algo.theta", "algo.R", "algo.R_min", SBO_PROJECTED_ONLY_OPTIONS, NULL};

const sbo_algo_type sbo_algo_soba = {
    .name = "soba",
    .description = "SOBA (§2.1): single-loop SGD on Y, Z, x with full-space Hessian actions",
    .options = sbo_algo_common_options,
    .unread_options = soba_unread,
    .create = soba_create,
    .step = soba_step,
    .destroy = sbo_full_space_destroy,
    .memory_model = soba_memory};
