/* algorithms/bros.c: BROS (ALGORITHMS.md §6-§7): the naive method's subspaces plus the Rademacher bi-probe
 * correction, which makes the projected Hessian-action estimate unbiased: basic (§6.2, row-symmetric blocks,
 * 2-3 reduced HVPs) or general (§6.3, any symmetric H, r >= 2, 3-4 reduced HVPs), multi-block with the signed
 * diagonal call D1 (§6.4). The variant is chosen per task from its row-symmetry declarations (algo.variant).
 * Exercised by: theory_checks/tc6_counterexample.c, tc7_rate.c, tests/test_matrix.c. */
#include "algorithms/projected.h"   /* the shared projected loop, the zdir variants SBO_ZDIR_* */

extern const sbo_algo_type sbo_algo_bros;

static sbo_algo *bros_create(sbo_task *t, const sbo_config *cfg, uint64_t seed, char *err, size_t errlen) {
    return sbo_projected_create(&sbo_algo_bros, 1, t, cfg, seed, err, errlen);
}

// --- §9 memory model: what the bi-probe correction adds ---------------------------------------------
/* The Rademacher probes of one block (§6.1): xi (r) and omega (n); a general block (§6.3) also draws eta and
 * omega3 (n each). A full block draws xi and omega too (§9). */
static double bros_probe_work(int general_block, double r, double n) {
    return r + n + (general_block ? 2 * n : 0);
}

static const char *bros_label(int variant) {
    return variant == SBO_ZDIR_GENERAL ? "BROS-general"
           : variant == SBO_ZDIR_AUTO  ? "BROS per-block basic/general"
                                       : "BROS-basic";
}

static const sbo_bi_probe_memory bros_bi_probe_memory = {.probe_work = bros_probe_work, .label = bros_label};
static const sbo_memory_traits bros_memory_traits = {.momentum = 1, .projected = 1, .bi_probe = &bros_bi_probe_memory};

static int bros_memory(const sbo_task *t, const sbo_config *cfg, sbo_memory_model *out, char *err, size_t errlen) {
    return sbo_memory_model_compute(&bros_memory_traits, t, cfg, out, err, errlen);
}

const sbo_algo_type sbo_algo_bros = {
    .name = "bros",
    .description = "BROS (§6, §7): random subspaces + Rademacher bi-probe correction (unbiased Hessian action)",
    .options = sbo_algo_common_options,
    .create = bros_create,
    .step = sbo_projected_step,
    .destroy = sbo_projected_destroy,
    .memory_model = bros_memory};
