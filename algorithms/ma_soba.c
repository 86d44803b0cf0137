/* algorithms/ma_soba.c: MA-SOBA (Chen, Xiao, Balasubramanian 2023), ALGORITHMS.md §2.2:
 *   Y_{k+1} = Y_k - beta D_Y;  Z_{k+1} = Pi_R(Z_k - gamma D_Z);
 *   x_{k+1} = x_k - alpha h_k;  h_{k+1} = (1 - theta) h_k + theta D_x      (h_0 = 0, one-step delay, §1)
 * with SOBA's D_Y, D_Z, D_x. Exercised by: tests/test_matrix.c, theory_checks/tc6_counterexample.c, tc7_rate.c. */
#include "algorithms/algorithm.h"   /* descriptor, shared pieces */

extern const sbo_algo_type sbo_algo_ma_soba;

static sbo_algo *ma_soba_create(sbo_task *t, const sbo_config *cfg, uint64_t seed, char *err, size_t errlen) {
    return sbo_full_space_create(&sbo_algo_ma_soba, 1, t, cfg, seed, err, errlen);
}

static int ma_soba_step(sbo_algo *a, long k) {
    sbo_full_space_work *w = a->impl;
    sbo_full_space_directions(a, k, w);     /* every oracle at the old iterate (Jacobi, §1) */
    double f = sbo_algo_step_factor(a, k);
    long D = sbo_layout_total(&a->task->lower);
    sbo_vec_axpy(D, -a->beta * f, w->DY, a->Y);
    sbo_vec_axpy(D, -a->gamma * f, w->DZ, a->Z);
    sbo_algo_project_Z(a);
    sbo_algo_update_x_momentum(a, k, w->Dx);
    return sbo_algo_state_finite(a) ? 0 : 1;
}

static const sbo_memory_traits ma_soba_memory_traits = {.label = "ma_soba", .momentum = 1, .projected = 0};

static int ma_soba_memory(const sbo_task *t, const sbo_config *cfg, sbo_memory_model *out, char *err, size_t errlen) {
    return sbo_memory_model_compute(&ma_soba_memory_traits, t, cfg, out, err, errlen);
}

/* set by --config or --set, these draw a warning: this method never reads them */
static const char *const ma_soba_unread[] = {SBO_PROJECTED_ONLY_OPTIONS, NULL};

const sbo_algo_type sbo_algo_ma_soba = {
    .name = "ma_soba",
    .description = "MA-SOBA (§2.2): SOBA directions, moving-average hypergradient h, Z kept in a ball of radius R",
    .options = sbo_algo_common_options,
    .unread_options = ma_soba_unread,
    .create = ma_soba_create,
    .step = ma_soba_step,
    .destroy = sbo_full_space_destroy,
    .memory_model = ma_soba_memory};
