/* algorithms/memory_model.c: the analytic memory model of ALGORITHMS.md §9, in scalars per buffer.
 * Per block (m, n, r): SOBA / MA-SOBA 4mn. The projected methods are counted as algorithms/projected.c and
 * algorithms/zdir.c allocate them, every work buffer in reduced form (no m x n work tuple; the Z-direction is
 * applied in place; the HVP calls share one output tuple; G reuses the HVP input once zdir has returned):
 *   naive       2mn + mr + 4rn                          (§9: 2mn + mr + 3rn, + rn for F, not fused)
 *   BROS-basic  2mn + mr + 4rn + m + 2n + r             (§9 exactly: G=X, out (RT, R1), B, F)
 *   + rn when L > 1 (R1e); + rn on a general block (R3), + 2n there (eta, omega3).
 * §9's B eta (+r, general) is never stored (one scalar per row). A full block (r = m) costs MA-SOBA's 3mn of
 * work (G, F and the HVP output; the HVP input shares G's buffer, or is Z_k itself when every block is full)
 * plus its probes xi, omega (m + n, BROS): its zero-coefficient outputs (rho = 0, 1 - 1/a = 0, A3 = 0) and its
 * B (= Z_k) are not stored (§9), and with every block full the probe calls are skipped.
 * Task-side transients (generic reduced oracles, in the task's scratch): + 2mn per projected block without a
 * native reduced HVP, else + mn without native reduced gradients. cross_term = projected: + rn per block (the
 * reduced direction (m/r) B of J[(m/r) P B]; mn on a full block, whose Z_k^l is copied). Plus the Haar QR workspace (max over
 * blocks). Upper: x, D_x (SOBA) and h (the others). Persistent = Y, Z, x, h; work = the rest. Not modelled:
 * the minibatches and J[Z] (d).
 * What distinguishes one method from another (projected, momentum, the bi-probe correction's probes and name)
 * comes from its own file as an sbo_memory_traits (algorithm.h); nothing here looks at a method's name.
 * Exercised by: `sbo memory`, tests/test_matrix.c (model against the arenas). */
#include "algorithms/projected.h"   /* rank resolution, variants, zdir plan */
#include <stdio.h>
#include <string.h>

int sbo_memory_model_compute(const sbo_memory_traits *method, const sbo_task *t, const sbo_config *cfg,
                             sbo_memory_model *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    const sbo_layout *lay = &t->lower;
    int projected = method->projected;
    const sbo_bi_probe_memory *bi_probe = projected ? method->bi_probe : NULL;
    sbo_projected_setup ps;
    memset(&ps, 0, sizeof ps);
    sbo_zdir_plan plan;
    memset(&plan, 0, sizeof plan);
    sbo_algo_options opt;
    if (sbo_algo_options_parse(cfg, &opt, err, errlen)) return -1;
    if (projected && (sbo_projected_resolve(t, &opt, bi_probe != NULL, &ps, NULL, 0, err, errlen) ||
                      sbo_zdir_plan_init(&plan, ps.variant, lay, ps.rank, err, errlen)))
        return -1;
    if (projected) sbo_zdir_plan_haar(&plan, opt.haar_version);
    int cross_projected = projected && opt.cross_term == SBO_CROSS_PROJECTED;
    int native_hvp = t->ops->reduced_hvp != NULL;
    int native_grads = t->ops->reduced_grad_lower != NULL && t->ops->reduced_grad_upper_Y != NULL;
    int L = lay->L;
    for (int l = 0; l < L; l++) {
        double m = lay->block[l].m, n = lay->block[l].n;
        double r = projected ? ps.rank[l] : m;
        int full = r >= m;
        double persist = 2 * m * n, work;
        if (!projected) {
            work = 2 * m * n;
        } else {
            work = plan.block_work[l]                  /* zdir: X (= G after zdir) and the shared HVP output; a
                                                        * projected block adds B, [R1e, R3], [u, s] (reduced) */
                   + r * n                             /* F = P^T grad_Y f (reduced) */
                   + (plan.in_doubles ? 0 : r * n);    /* G's own buffer when every block is full (no HVP input) */
            if (!full) work += m * r;                  /* P */
            if (bi_probe) work += bi_probe->probe_work(plan.general[l], r, n);   /* the probes (bros.c) */
            if (cross_projected) work += r * n;        /* (m/r) B: the reduced cross direction (m n on a full block) */
            if (!full) work += !native_hvp ? 2 * m * n    /* generic HVP: transient P X in, H[P X] out (§9) */
                             : !native_grads ? m * n : 0; /* generic reduced gradient: transient full gradient */
        }
        o->per_block_state[l] = persist + work;
        o->persistent += persist;
        o->work += work;
    }
    if (projected) o->work += plan.haar_work_doubles;                          /* Haar QR workspace */
    double upper_persist = method->momentum ? 2.0 * t->d : t->d;              /* x (+ h) */
    o->persistent += upper_persist;
    o->work += t->d;                                                           /* D_x */
    if (!projected) {
        snprintf(o->note, sizeof o->note, "%s; reduced oracles: full-space HVPs; cross_term = n/a (full-space "
                 "method: J[Z_k]); the measured arena also holds the minibatches and grad_Y f", method->label);
        return 0;
    }
    snprintf(o->note, sizeof o->note,
             "%s%s; reduced oracles: %s; grad_Y f: %s; cross_term = %s; work = the buffers as allocated (Z -= gamma d in "
             "place, no full d or grad_Y f; one shared HVP output; G in the HVP input): §9 per projected block (F "
             "counted)%s%s; minibatches and J[Z] not modelled",
             bi_probe ? bi_probe->label(ps.variant) : method->label,
             ps.n_projected == 0 ? " (every block full: equals MA-SOBA)" : "",
             t->reduced_impl ? t->reduced_impl : "?",
             t->ops->reduced_grad_upper_Y ? "fused/reduced (native P^T oracle)" : "generic: +mn transient",
             opt.cross_term == SBO_CROSS_PROJECTED ? "projected" : "full",
             cross_projected ? " + rn per block ((m/r) B: the reduced cross direction)" : "",
             ps.n_projected < L ? "; a full block: 3mn (G, F, HVP output) + probes, no zero-coefficient outputs" : "");
    return 0;
}
