/* algorithms/memory_model.c: the analytic memory model of ALGORITHMS.md §9, in scalars per buffer.
 * Per block (m, n, r): SOBA / MA-SOBA 4mn; naive 2mn + mr + 3rn; BROS-basic 2mn + mr + 4rn + m + 2n + r
 * (+ rn when L > 1; general + rn + 2n + r); a full block in a projected method costs 4mn + O(m+n) probes.
 * Upper: x, D_x (SOBA) and h (the others). Persistent = Y, Z, x, h; work = the rest.
 * Exercised by: `sbo memory`, tests/test_matrix.c (model against the arenas). */
#include "algorithms/projected.h"   /* rank resolution, variants */
#include <stdio.h>
#include <string.h>

int sbo_memory_model_compute(const char *method, const sbo_task *t, const sbo_config *cfg, sbo_memory_model *o,
                             char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    const sbo_layout *lay = &t->lower;
    int projected = strcmp(method, "naive_projected") == 0 || strcmp(method, "bros") == 0;
    int is_bros = strcmp(method, "bros") == 0;
    sbo_projected_setup ps;
    memset(&ps, 0, sizeof ps);
    if (projected && sbo_projected_resolve(t, cfg, is_bros, &ps, NULL, 0, err, errlen)) return -1;
    int L = lay->L;
    for (int l = 0; l < L; l++) {
        double m = lay->block[l].m, n = lay->block[l].n;
        double r = projected ? ps.rank[l] : m;
        int full = r >= m;
        double persist = 2 * m * n, work;
        if (!projected) {
            work = 2 * m * n;
        } else if (!is_bros) {
            work = full ? 2 * m * n : m * r + 3 * r * n;
        } else {
            /* probe buffers: s, Z omega, xi, omega: n + m + r + n */
            /* a full block: SOBA's 4mn plus O(m+n) probe buffers; its zero-coefficient outputs (1 - 1/a = 0,
             * A3 = 0) need not be stored (§9) */
            work = full ? 2 * m * n + m + 2 * n + r : m * r + 4 * r * n + m + 2 * n + r;
            int general = ps.variant == SBO_ZDIR_GENERAL || (ps.variant == SBO_ZDIR_AUTO && !lay->block[l].row_symmetric);
            if (!full && L > 1) work += r * n;
            if (!full && general) work += r * n + 2 * n + r;
        }
        if (projected && !full && t->reduced_impl && strncmp(t->reduced_impl, "generic", 7) == 0)
            work += 2 * m * n;   /* generic HVP: transient P X in and H[P X] out (§9) */
        o->per_block_state[l] = persist + work;
        o->persistent += persist;
        o->work += work;
    }
    double upper_persist = strcmp(method, "soba") == 0 ? t->d : 2.0 * t->d;   /* x (+ h) */
    o->persistent += upper_persist;
    o->work += t->d;                                                           /* D_x */
    snprintf(o->note, sizeof o->note, "%s%s; reduced oracles: %s; cross_term = %s%s",
             projected ? (is_bros ? (ps.variant == SBO_ZDIR_GENERAL ? "BROS-general"
                                   : ps.variant == SBO_ZDIR_AUTO ? "BROS per-block basic/general" : "BROS-basic") : "naive")
                      : method,
             projected && ps.n_projected == 0 ? " (every block full: equals MA-SOBA)" : "",
             projected ? (t->reduced_impl ? t->reduced_impl : "?") : "full-space HVPs",
             !projected ? "n/a (full-space method: J[Z_k])"
                        : sbo_config_get(cfg, "algo.cross_term") ? sbo_config_get(cfg, "algo.cross_term") : "full",
             projected ? "; the measured arena also holds minibatches, the HVP input X, G and F, and two full tuples "
                         "(grad_Y f before projection, the Z direction d) that §9 fuses away"
                       : "; the measured arena also holds the minibatches and grad_Y f");
    return 0;
}
