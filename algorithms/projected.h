/* algorithms/projected.h: the loop shared by naive projected (§5.1) and BROS (§6, §7); they differ only in
 * the zdir variant. Exercised by: tests/test_matrix.c, theory_checks/tc6_counterexample.c, tc7_rate.c. */
#ifndef SBO_PROJECTED_H
#define SBO_PROJECTED_H
#include "algorithms/algorithm.h"   /* sbo_algo */
#include "algorithms/zdir.h"        /* sbo_zdir_plan */

/* Ranks after §3.1 and the §9 memory rule, and the zdir variant. is_bros = 0 gives naive.
 * log receives one line per decision. 0, or -1 with a one-line message. */
typedef struct {
    int rank[SBO_MAX_BLOCKS];
    int variant;                /* SBO_ZDIR_* */
    int n_full_by_rule;
    int n_projected;
    double V_max;               /* largest V_I (V_I^gen for general) over projected blocks (§6.6) */
    double min_q;               /* smallest r/m over projected blocks (1 if none) */
} sbo_projected_setup;
int sbo_projected_resolve(const sbo_task *t, const sbo_algo_options *opt, int is_bros, sbo_projected_setup *out,
                          char *log, size_t loglen, char *err, size_t errlen);

sbo_algo *sbo_projected_create(const sbo_algo_type *type, int is_bros, sbo_task *t, const sbo_config *cfg,
                               uint64_t seed, char *err, size_t errlen);
int sbo_projected_step(sbo_algo *a, long k);
void sbo_projected_destroy(sbo_algo *a);
/* The plan of a created projected algorithm (for tests). */
const sbo_zdir_plan *sbo_projected_plan(const sbo_algo *a);
#endif
