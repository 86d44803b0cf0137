/* algorithms/naive_projected.c: the naive randomized-subspace method of ALGORITHMS.md §5.1: MA-SOBA's skeleton
 * with the lower and auxiliary updates in a fresh Haar subspace per block and iteration, scaled by m/r, and NO
 * bias correction. It converges to a biased point (19/39 on the counterexample, §5.3).
 * Exercised by: theory_checks/tc6_counterexample.c, tc7_rate.c, tests/test_matrix.c. */
#include "algorithms/projected.h"   /* the shared projected loop */

extern const sbo_algo_type sbo_algo_naive_projected;

static sbo_algo *naive_create(sbo_task *t, const sbo_config *cfg, uint64_t seed, char *err, size_t errlen) {
    return sbo_projected_create(&sbo_algo_naive_projected, 0, t, cfg, seed, err, errlen);
}

/* No correction: no probes (bi_probe = NULL). */
static const sbo_memory_traits naive_memory_traits = {.label = "naive", .momentum = 1, .projected = 1};

static int naive_memory(const sbo_task *t, const sbo_config *cfg, sbo_memory_model *out, char *err, size_t errlen) {
    return sbo_memory_model_compute(&naive_memory_traits, t, cfg, out, err, errlen);
}

/* set by --config or --set, these draw a warning: this method never reads them */
static const char *const naive_unread[] = {"algo.variant", NULL};

const sbo_algo_type sbo_algo_naive_projected = {
    .name = "naive_projected",
    .description = "naive projected (§5.1): random-subspace Y and Z updates scaled by m/r, no correction (biased)",
    .options = sbo_algo_common_options,
    .unread_options = naive_unread,
    .create = naive_create,
    .step = sbo_projected_step,
    .destroy = sbo_projected_destroy,
    .memory_model = naive_memory};
