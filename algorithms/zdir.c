/* algorithms/zdir.c: the projected auxiliary direction of ALGORITHMS.md §7 (naive §5.1, BROS §6.2-§6.4).
 * A pure function of (P, probes, Z_k, F, hvp): the production loop (algorithms/projected.c) and the theory
 * checks TC-3, TC-3b, TC-4 call this same code (sbo_zdir_reduced; the loop applies it to Z in place with
 * sbo_zdir_apply, the checks form d with sbo_zdir). Exercised by: theory_checks/tc3b_zdir.c. */
#include "algorithms/zdir.h"   /* plan, probes, sbo_zdir */
#include <stdio.h>
#include <string.h>
#include "core/sbo_rng.h"      /* streams for P and probes */

const char *sbo_zdir_variant_name(int variant) {
    switch (variant) {
    case SBO_ZDIR_NAIVE: return "naive";
    case SBO_ZDIR_BASIC: return "basic";
    case SBO_ZDIR_GENERAL: return "general";
    case SBO_ZDIR_BASIC_NO_D1: return "basic-without-D1";
    case SBO_ZDIR_AUTO: return "per-block";
    default: return "?";
    }
}

int sbo_zdir_plan_init(sbo_zdir_plan *p, int variant, const sbo_layout *full, const int *rank,
                       char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    if (variant < SBO_ZDIR_NAIVE || variant > SBO_ZDIR_AUTO) {
        snprintf(err, errlen, "internal: unknown zdir variant %d", variant);
        return -1;
    }
    p->variant = variant;
    p->subspace_period = 1;
    p->full = full;
    p->red = *full;
    int rows[SBO_MAX_BLOCKS];
    long probes = 0, Pd = 0, hw = 0, sum_m = 0, sum_n = 0;
    for (int l = 0; l < full->L; l++) {
        const sbo_block *b = &full->block[l];
        int r = rank[l];
        if (r < 1) {
            snprintf(err, errlen, "block '%s' has rank %d: ranks must be >= 1", b->name, r);
            return -1;
        }
        if (r > b->m) r = b->m;                 /* §3.1: r_l >= m_l makes a full block */
        /* A full block has A3 = 0: its R3 is never used, so it draws no eta/omega3 and puts no direction into
         * call 4, which would only add zero-mean noise to the other blocks' R3 (docs/DEVIATIONS.md D8). */
        p->general[l] = (variant == SBO_ZDIR_GENERAL || (variant == SBO_ZDIR_AUTO && !b->row_symmetric)) && r < b->m;
        p->any_general |= p->general[l];
        /* §3.1: BROS-general needs r >= 2 on every projected block (A1, A3 divide by r - 1) */
        if (p->general[l] && r < 2 && r < b->m) {
            snprintf(err, errlen, "BROS-general needs r >= 2 on every projected block; block '%s' has m = %d, "
                     "r = %d: raise r or use BROS-basic", b->name, b->m, r);
            return -1;
        }
        p->rank[l] = r;
        rows[l] = r;
        p->red.block[l].m = r;             /* the reduced layout: r_l rows (sbo_subspace_* read r from here) */
        sbo_haar_consts_compute(b->m, r, &p->c[l]);
        if (r < b->m) {
            Pd += (long)b->m * r;
            long w = sbo_haar_work_size(b->m, r);
            if (w > hw) hw = w;
        }
        if (variant != SBO_ZDIR_NAIVE) probes += r + b->n + (p->general[l] ? 2L * b->n : 0);   /* naive draws none */
        sum_m += b->m;
        sum_n += b->n;
    }
    sbo_layout_finish(&p->red, rows);
    p->probe_doubles = probes;
    p->P_doubles = Pd;
    p->haar_work_doubles = hw;
    /* work (reduced tuples): B, X (hvp input), R1; corrected variants add RT (which then holds Dr), R1e when
     * L > 1, R3 (call-4 output, overwritten in place) when a block is general; plus u_l (m_l) and s_l (n_l). */
    int tuples = 3;
    if (variant != SBO_ZDIR_NAIVE) tuples += 1 + (full->L > 1 && variant != SBO_ZDIR_BASIC_NO_D1) + p->any_general;
    p->work_tuples = tuples;
    p->work_doubles = tuples * sbo_layout_total(&p->red) + (variant != SBO_ZDIR_NAIVE ? sum_m + sum_n : 0);
    return 0;
}

void sbo_zdir_draw(const sbo_zdir_plan *p, uint64_t seed, long k, sbo_subspace *S, double *P_buf,
                   sbo_probes *pr, double *probe_buf, double *haar_work) {
    const sbo_layout *full = p->full;
    S->full = full;
    S->red = p->red;
    double *Pp = P_buf, *q = probe_buf;
    memset(pr, 0, sizeof *pr);
    for (int l = 0; l < full->L; l++) {
        const sbo_block *b = &full->block[l];
        int r = p->rank[l];
        /* §1 draw order per block: P_l, then xi, omega, [eta, omega3], eps. Keyed streams make each
         * (purpose, block, iteration) independent; the order within a stream is the spec's order. */
        if (r < b->m) {
            sbo_stream s;
            sbo_stream_init(&s, seed, SBO_RNG_SUBSPACE, (uint32_t)l, (uint64_t)(k / p->subspace_period));
            sbo_haar_sample(&s, b->m, r, Pp, haar_work);
            S->P[l] = Pp;
            Pp += (long)b->m * r;
        } else {
            S->P[l] = NULL;                     /* full block: P = I, no draw (§3.1) */
        }
        pr->eps[l] = 1.0;
        if (p->variant == SBO_ZDIR_NAIVE) continue;   /* naive draws only P (§1) */
        sbo_stream s;
        sbo_stream_init(&s, seed, SBO_RNG_PROBE, (uint32_t)l, (uint64_t)k);
        pr->xi[l] = q;      sbo_stream_rademacher_fill(&s, q, r);    q += r;
        pr->omega[l] = q;   sbo_stream_rademacher_fill(&s, q, b->n); q += b->n;
        if (p->general[l]) {
            pr->eta[l] = q;    sbo_stream_rademacher_fill(&s, q, b->n); q += b->n;
            pr->omega3[l] = q; sbo_stream_rademacher_fill(&s, q, b->n); q += b->n;
        }
        if (full->L > 1) pr->eps[l] = sbo_stream_rademacher(&s);  /* eps only when L > 1 (§1) */
    }
}

/* The reduced pieces of d_l = P_l (Dr_l - (m_l/r_l) F_l) - (rho_l/a_l)(m_l/r_l) u_l s_l^T (§7). */
int sbo_zdir_reduced(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_probes *pr, const double *Z,
                     const double *F_red, sbo_reduced_hvp_fn hvp, void *ctx, double *work, sbo_zdir_pieces *out) {
    const sbo_layout *full = p->full;
    const sbo_layout *red = &p->red;
    const int L = full->L;
    const long nred = sbo_layout_total(red);
    /* carve the work buffer exactly as plan_init sized it */
    double *B = work, *X = B + nred, *R1 = X + nred, *next = R1 + nred;
    double *RT = NULL, *R1e = NULL, *R3 = NULL;
    if (p->variant != SBO_ZDIR_NAIVE) {
        RT = next; next += nred;
        if (L > 1 && p->variant != SBO_ZDIR_BASIC_NO_D1) { R1e = next; next += nred; }
        if (p->any_general) { R3 = next; next += nred; }
    }
    long sum_m = 0;
    for (int l = 0; l < L; l++) sum_m += full->block[l].m;
    double *u = p->variant != SBO_ZDIR_NAIVE ? next : NULL;    /* naive holds no u, s */
    double *s = u ? u + sum_m : NULL;
    double sc[SBO_MAX_BLOCKS];
    for (int l = 0; l < L; l++) sc[l] = (double)full->block[l].m / p->rank[l];
    int calls = 0;

    /* cache from the OLD iterate: B_l = P_l^T Z_k^l */
    sbo_subspace_project(S, Z, B);

    /* call 1: R1_l = (m_l/r_l) P_l^T H[((m_l'/r_l') P_l' B_l')_l']^l  (inner factor: input block; outer: output) */
    for (int l = 0; l < L; l++)
        for (long i = red->offset[l]; i < red->offset[l + 1]; i++) X[i] = sc[l] * B[i];
    hvp(ctx, X, R1); calls++;
    for (int l = 0; l < L; l++)
        for (long i = red->offset[l]; i < red->offset[l + 1]; i++) R1[i] *= sc[l];

    double *Dr = R1;   /* naive: Dr = R1 (§5.1) */
    const int corrected = p->variant != SBO_ZDIR_NAIVE;
    if (corrected) {
        /* call 2 (all blocks at once): RT = P^T H[(P_l xi_l omega_l^T)_l]; s_l = RT_l^T xi_l (§6.1) */
        for (int l = 0; l < L; l++) {
            int r = p->rank[l], n = full->block[l].n;
            double *Xl = X + red->offset[l];
            for (int j = 0; j < r; j++)
                for (int a = 0; a < n; a++) Xl[j * n + a] = pr->xi[l][j] * pr->omega[l][a];
        }
        hvp(ctx, X, RT); calls++;
        double *sl = s, *ul = u;
        for (int l = 0; l < L; l++) {
            int m = full->block[l].m, r = p->rank[l], n = full->block[l].n;
            const double *RTl = RT + red->offset[l];
            for (int a = 0; a < n; a++) {
                double acc = 0;
                for (int j = 0; j < r; j++) acc += RTl[j * n + a] * pr->xi[l][j];
                sl[a] = acc;
            }
            /* u_l = Z_k^l omega_l with the FULL stored Z_k (§6.1: the projected version is biased) */
            const double *Zl = Z + full->offset[l];
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int a = 0; a < n; a++) acc += Zl[(long)i * n + a] * pr->omega[l][a];
                ul[i] = acc;
            }
            sl += n;
            ul += m;
        }

        /* call 3 (L > 1): signed diagonal call, R1e_l = eps_l (m_l/r_l) P_l^T H[(eps_l' (m_l'/r_l') P_l' B_l')]^l (§6.4) */
        const double *R1eps = R1;
        if (L > 1 && p->variant != SBO_ZDIR_BASIC_NO_D1) {
            for (int l = 0; l < L; l++)
                for (long i = red->offset[l]; i < red->offset[l + 1]; i++) X[i] = pr->eps[l] * sc[l] * B[i];
            hvp(ctx, X, R1e); calls++;
            for (int l = 0; l < L; l++)
                for (long i = red->offset[l]; i < red->offset[l + 1]; i++) R1e[i] *= pr->eps[l] * sc[l];
            R1eps = R1e;
        }

        /* call 4 (general): R3_l = (m_l/r_l) (P_l^T H[((m_l'/r_l') P_l' (B_l' eta_l') omega3_l'^T)]^l eta_l) omega3_l^T (§6.3) */
        if (p->any_general) {
            for (int l = 0; l < L; l++) {
                int r = p->rank[l], n = full->block[l].n;
                const double *Bl = B + red->offset[l];
                double *Xl = X + red->offset[l];
                if (!p->general[l]) {               /* basic blocks put no direction into call 4 */
                    sbo_vec_zero((long)r * n, Xl);
                    continue;
                }
                for (int j = 0; j < r; j++) {
                    double be = 0;
                    for (int b = 0; b < n; b++) be += Bl[j * n + b] * pr->eta[l][b];
                    for (int a = 0; a < n; a++) Xl[j * n + a] = sc[l] * be * pr->omega3[l][a];
                }
            }
            hvp(ctx, X, R3); calls++;
            for (int l = 0; l < L; l++) {
                if (!p->general[l]) continue;
                int r = p->rank[l], n = full->block[l].n;
                double *R3l = R3 + red->offset[l];
                for (int j = 0; j < r; j++) {      /* in place: row j's contraction is read before row j is written */
                    double oe = 0;
                    for (int b = 0; b < n; b++) oe += R3l[j * n + b] * pr->eta[l][b];
                    for (int a = 0; a < n; a++) R3l[j * n + a] = sc[l] * oe * pr->omega3[l][a];
                }
            }
        }

        /* Dr_l: basic  R1 - (1 - 1/a) R1e            (§6.4; L = 1: R1/a, §6.2)
         *       general R1 + (A1 - 1) R1e + A3 R3     (§6.4; L = 1: A1 R1 + A3 R3, §6.3)
         *       no-D1   R1/a                          (§6.4 pitfall, test-only) */
        Dr = RT;    /* RT is no longer needed once s is formed */
        for (int l = 0; l < L; l++) {
            const sbo_haar_consts *c = &p->c[l];
            for (long i = red->offset[l]; i < red->offset[l + 1]; i++) {
                double v;
                if (p->variant == SBO_ZDIR_BASIC_NO_D1) v = R1[i] / c->a;
                else if (p->general[l]) v = R1[i] + (c->A1 - 1.0) * R1eps[i] + c->A3 * R3[i];
                else v = R1[i] - (1.0 - 1.0 / c->a) * R1eps[i];
                Dr[i] = v;
            }
        }
    }

    /* X = Dr - (m/r) F (the hvp input X is free again); d = P X - (rho/a)(m/r) u s^T is left to sbo_zdir_apply */
    for (int l = 0; l < L; l++) {
        long lo = red->offset[l], hi = red->offset[l + 1];
        if (F_red)
            for (long i = lo; i < hi; i++) X[i] = Dr[i] - sc[l] * F_red[i];
        else
            for (long i = lo; i < hi; i++) X[i] = Dr[i];
    }
    memset(out, 0, sizeof *out);
    out->X = X;
    out->B = B;
    out->u = corrected ? u : NULL;
    out->s = corrected ? s : NULL;
    for (int l = 0; l < L; l++) out->coef[l] = corrected ? p->c[l].rho_over_a * sc[l] : 0.0;
    out->calls = calls;
    return calls;
}

/* Z_l += scale P_l X_l - (scale coef_l) u_l s_l^T, block by block, in place. */
void sbo_zdir_apply(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_zdir_pieces *pc, double scale,
                    double *Z) {
    const sbo_layout *full = p->full;
    const int L = full->L;
    double sc[SBO_MAX_BLOCKS];
    for (int l = 0; l < L; l++) sc[l] = scale;
    sbo_subspace_lift_add(S, pc->X, sc, Z);                 /* GEMM into Z for large blocks */
    if (!pc->u || !pc->s) return;
    const double *sl = pc->s, *ul = pc->u;
    for (int l = 0; l < L; l++) {
        int m = full->block[l].m, n = full->block[l].n;
        double c = scale * pc->coef[l];
        if (c != 0.0) {
            double *Zl = Z + full->offset[l];
            for (int i = 0; i < m; i++) {
                double cu = c * ul[i];
                double *Zi = Zl + (long)i * n;
                for (int a = 0; a < n; a++) Zi[a] -= cu * sl[a];
            }
        }
        sl += n;
        ul += m;
    }
}

int sbo_zdir(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_probes *pr, const double *Z,
             const double *F_red, sbo_reduced_hvp_fn hvp, void *ctx, double *work, double *d) {
    sbo_zdir_pieces pc;
    int calls = sbo_zdir_reduced(p, S, pr, Z, F_red, hvp, ctx, work, &pc);
    sbo_vec_zero(sbo_layout_total(p->full), d);
    sbo_zdir_apply(p, S, &pc, 1.0, d);
    return calls;
}
