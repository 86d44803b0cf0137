/* algorithms/bros.c: BROS (ALGORITHMS.md §6-§7): the naive method's subspaces plus the Rademacher bi-probe
 * correction, which makes the projected Hessian-action estimate unbiased: basic (§6.2, row-symmetric blocks,
 * 2-3 reduced HVPs) or general (§6.3, any symmetric H, r >= 2, 3-4 reduced HVPs), multi-block with the signed
 * diagonal call D1 (§6.4). The variant is chosen per task from its row-symmetry declarations (algo.variant).
 * Exercised by: theory_checks/tc6_counterexample.c, tc7_rate.c, tests/test_matrix.c. */
#include "algorithms/projected.h"   /* the shared projected loop */

extern const sbo_algo_type sbo_algo_bros;

static sbo_algo *bros_create(sbo_task *t, const sbo_config *cfg, uint64_t seed, char *err, size_t errlen) {
    return sbo_projected_create(&sbo_algo_bros, 1, t, cfg, seed, err, errlen);
}

static int bros_memory(const sbo_task *t, const sbo_config *cfg, sbo_memory_model *out, char *err, size_t errlen) {
    return sbo_memory_model_compute("bros", t, cfg, out, err, errlen);
}

const sbo_algo_type sbo_algo_bros = {
    .name = "bros",
    .description = "BROS (§6, §7): random subspaces + Rademacher bi-probe correction (unbiased Hessian action)",
    .options = sbo_algo_common_options,
    .create = bros_create,
    .step = sbo_projected_step,
    .destroy = sbo_projected_destroy,
    .memory_model = bros_memory};
