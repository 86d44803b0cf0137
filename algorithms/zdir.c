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
    p->haar_version = SBO_HAAR_V2;
    p->full = full;
    p->red = *full;
    int rows[SBO_MAX_BLOCKS];
    long probes = 0, Pd = 0, hw = 0;
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
            long w = sbo_haar_work_size_v(p->haar_version, b->m, r);
            if (w > hw) hw = w;
        }
        if (variant != SBO_ZDIR_NAIVE) probes += r + b->n + (p->general[l] ? 2L * b->n : 0);   /* naive draws none */
    }
    sbo_layout_finish(&p->red, rows);
    p->probe_doubles = probes;
    p->P_doubles = Pd;
    p->haar_work_doubles = hw;
    /* work (sbo_zdir_reduced's layout): the HVP input X (all blocks; none when every block is full, call 1 then
     * reads Z_k) and ONE shared HVP output (all blocks: RT, R1e, R3 in turn, then R1 -> Dr -> X), then per
     * projected block B_l, [R1e_l (L > 1)], [R3_l (general)], [u_l, s_l (corrected)]. A full block stores none of
     * its zero-coefficient outputs (rho = 0, 1 - 1/a = 0, A3 = 0) and no B (= Z_k^l). */
    const int corrected = variant != SBO_ZDIR_NAIVE;
    const int d1 = corrected && full->L > 1 && variant != SBO_ZDIR_BASIC_NO_D1;
    for (int l = 0; l < full->L; l++) p->n_projected += p->rank[l] < full->block[l].m;
    p->in_doubles = p->n_projected ? sbo_layout_total(&p->red) : 0;
    p->work_doubles = 0;
    for (int l = 0; l < full->L; l++) {
        long m = full->block[l].m, n = full->block[l].n, rn = (long)p->rank[l] * n;
        long w = (p->in_doubles ? rn : 0) + rn;
        if (p->rank[l] < m) w += rn + (d1 ? rn : 0) + (p->general[l] ? rn : 0) + (corrected ? m + n : 0);
        p->block_work[l] = w;
        p->work_doubles += w;
    }
    return 0;
}

void sbo_zdir_plan_haar(sbo_zdir_plan *p, int version) {
    p->haar_version = version;
    long hw = 0;
    for (int l = 0; l < p->full->L; l++)
        if (p->rank[l] < p->full->block[l].m) {
            long w = sbo_haar_work_size_v(version, p->full->block[l].m, p->rank[l]);
            if (w > hw) hw = w;
        }
    p->haar_work_doubles = hw;
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
            sbo_haar_sample_v(p->haar_version, &s, b->m, r, Pp, haar_work);
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

/* Block l alone as a one-block subspace, so that the shared helpers (sbo_subspace_project / lift_add) run on
 * one block with exactly the arithmetic they use inside a whole tuple. */
static void one_block(const sbo_zdir_plan *p, const sbo_subspace *S, int l, sbo_layout *lf, sbo_subspace *S1) {
    memset(lf, 0, sizeof *lf);
    memset(S1, 0, sizeof *S1);
    lf->L = 1;
    lf->block[0] = p->full->block[l];
    lf->offset[1] = (long)lf->block[0].m * lf->block[0].n;
    S1->full = lf;
    S1->red.L = 1;
    S1->red.block[0] = p->red.block[l];
    S1->red.offset[1] = (long)p->rank[l] * lf->block[0].n;
    S1->P[0] = S->P[l];
}

/* The reduced pieces of d_l = P_l (Dr_l - (m_l/r_l) F_l) - (rho_l/a_l)(m_l/r_l) u_l s_l^T (§7).
 * Every hvp is a pure function of its input at (x_k, Y_k, phi_k), so the call order is free: calls 2, 3, 4 run
 * first into the shared output tuple (each reduced at once to the projected blocks' s_l, R1e_l, R3_l), call 1
 * last, whose output R1 becomes Dr and X in place. */
int sbo_zdir_reduced(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_probes *pr, const double *Z,
                     const double *F_red, sbo_reduced_hvp_fn hvp, void *ctx, double *work, sbo_zdir_pieces *out) {
    const sbo_layout *full = p->full;
    const sbo_layout *red = &p->red;
    const int L = full->L;
    const int corrected = p->variant != SBO_ZDIR_NAIVE;
    const int d1 = corrected && L > 1 && p->variant != SBO_ZDIR_BASIC_NO_D1;
    /* carve the work buffer exactly as plan_init sized it */
    double *X = p->in_doubles ? work : NULL;           /* hvp input (all blocks) */
    double *O = work + p->in_doubles;                  /* the shared hvp output (all blocks) */
    double *next = O + sbo_layout_total(red);
    const double *B[SBO_MAX_BLOCKS];
    double *Bp[SBO_MAX_BLOCKS] = {0}, *R1e[SBO_MAX_BLOCKS] = {0}, *R3[SBO_MAX_BLOCKS] = {0};
    double *u[SBO_MAX_BLOCKS] = {0}, *s[SBO_MAX_BLOCKS] = {0};
    double sc[SBO_MAX_BLOCKS];
    int proj[SBO_MAX_BLOCKS];
    for (int l = 0; l < L; l++) {
        long m = full->block[l].m, n = full->block[l].n, rn = (long)p->rank[l] * n;
        sc[l] = (double)full->block[l].m / p->rank[l];
        proj[l] = p->rank[l] < m;
        B[l] = Z + full->offset[l];                    /* full block: B_l = P^T Z_k^l = Z_k^l (P = I) */
        if (!proj[l]) continue;
        Bp[l] = next; next += rn;
        if (d1) { R1e[l] = next; next += rn; }
        if (p->general[l]) { R3[l] = next; next += rn; }
        if (corrected) { u[l] = next; next += m; s[l] = next; next += n; }
        B[l] = Bp[l];
    }
    int calls = 0;

    /* cache from the OLD iterate: B_l = P_l^T Z_k^l (projected blocks; a full block reads Z_k^l) */
    for (int l = 0; l < L; l++) {
        if (!proj[l]) continue;
        sbo_layout lf;
        sbo_subspace S1;
        one_block(p, S, l, &lf, &S1);
        sbo_subspace_project(&S1, Z + full->offset[l], Bp[l]);
    }

    /* calls 2-4 have nonzero coefficients only on projected blocks: with every block full they are skipped */
    if (corrected && p->n_projected) {
        /* call 2 (all blocks at once): RT = P^T H[(P_l xi_l omega_l^T)_l]; s_l = RT_l^T xi_l (§6.1). A full
         * block's direction stays in the input (it reaches the projected blocks through H's cross blocks); its
         * output has coefficient rho/a = 0 and is not kept. */
        for (int l = 0; l < L; l++) {
            int r = p->rank[l], n = full->block[l].n;
            double *Xl = X + red->offset[l];
            for (int j = 0; j < r; j++)
                for (int a = 0; a < n; a++) Xl[j * n + a] = pr->xi[l][j] * pr->omega[l][a];
        }
        hvp(ctx, X, O); calls++;
        for (int l = 0; l < L; l++) {
            if (!proj[l]) continue;
            int m = full->block[l].m, r = p->rank[l], n = full->block[l].n;
            const double *RTl = O + red->offset[l];
            for (int a = 0; a < n; a++) {
                double acc = 0;
                for (int j = 0; j < r; j++) acc += RTl[j * n + a] * pr->xi[l][j];
                s[l][a] = acc;
            }
            /* u_l = Z_k^l omega_l with the FULL stored Z_k (§6.1: the projected version is biased) */
            const double *Zl = Z + full->offset[l];
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int a = 0; a < n; a++) acc += Zl[(long)i * n + a] * pr->omega[l][a];
                u[l][i] = acc;
            }
        }

        /* call 3 (L > 1): signed diagonal call, R1e_l = eps_l (m_l/r_l) P_l^T H[(eps_l' (m_l'/r_l') P_l' B_l')]^l
         * (§6.4); kept on projected blocks only (coefficient 1 - 1/a = 0 or A1 - 1 = 0 on a full block) */
        if (d1) {
            for (int l = 0; l < L; l++) {
                const double *Bl = B[l];
                double *Xl = X + red->offset[l];
                long len = red->offset[l + 1] - red->offset[l];
                for (long i = 0; i < len; i++) Xl[i] = pr->eps[l] * sc[l] * Bl[i];
            }
            hvp(ctx, X, O); calls++;
            for (int l = 0; l < L; l++) {
                if (!proj[l]) continue;
                const double *Ol = O + red->offset[l];
                long len = red->offset[l + 1] - red->offset[l];
                for (long i = 0; i < len; i++) R1e[l][i] = Ol[i] * (pr->eps[l] * sc[l]);
            }
        }

        /* call 4 (general): R3_l = (m_l/r_l) (P_l^T H[((m_l'/r_l') P_l' (B_l' eta_l') omega3_l'^T)]^l eta_l) omega3_l^T
         * (§6.3); general blocks are projected, the others put no direction into call 4 */
        if (p->any_general) {
            for (int l = 0; l < L; l++) {
                int r = p->rank[l], n = full->block[l].n;
                const double *Bl = B[l];
                double *Xl = X + red->offset[l];
                if (!p->general[l]) {
                    sbo_vec_zero((long)r * n, Xl);
                    continue;
                }
                for (int j = 0; j < r; j++) {
                    double be = 0;
                    for (int b = 0; b < n; b++) be += Bl[j * n + b] * pr->eta[l][b];
                    for (int a = 0; a < n; a++) Xl[j * n + a] = sc[l] * be * pr->omega3[l][a];
                }
            }
            hvp(ctx, X, O); calls++;
            for (int l = 0; l < L; l++) {
                if (!p->general[l]) continue;
                int r = p->rank[l], n = full->block[l].n;
                const double *Ol = O + red->offset[l];
                for (int j = 0; j < r; j++) {
                    double oe = 0;
                    for (int b = 0; b < n; b++) oe += Ol[j * n + b] * pr->eta[l][b];
                    for (int a = 0; a < n; a++) R3[l][j * n + a] = sc[l] * oe * pr->omega3[l][a];
                }
            }
        }
    }

    /* call 1: R1_l = (m_l/r_l) P_l^T H[((m_l'/r_l') P_l' B_l')_l']^l  (inner factor: input block; outer: output).
     * Every block full: the input (1 * Z_k^l)_l is Z_k itself, passed as is (no copy). */
    if (X) {
        for (int l = 0; l < L; l++) {
            const double *Bl = B[l];
            double *Xl = X + red->offset[l];
            long len = red->offset[l + 1] - red->offset[l];
            for (long i = 0; i < len; i++) Xl[i] = sc[l] * Bl[i];
        }
        hvp(ctx, X, O); calls++;
    } else {
        hvp(ctx, Z, O); calls++;
    }
    for (int l = 0; l < L; l++)
        for (long i = red->offset[l]; i < red->offset[l + 1]; i++) O[i] *= sc[l];

    /* Dr_l in place (naive: Dr = R1, §5.1; a full block: Dr = R1 exactly, §3.1):
     *   basic  R1 - (1 - 1/a) R1e            (§6.4; L = 1: R1/a, §6.2, with R1e = R1)
     *   general R1 + (A1 - 1) R1e + A3 R3     (§6.4; L = 1: A1 R1 + A3 R3, §6.3)
     *   no-D1   R1/a                          (§6.4 pitfall, test-only) */
    if (corrected) {
        for (int l = 0; l < L; l++) {
            if (!proj[l]) continue;
            const sbo_haar_consts *c = &p->c[l];
            double *R1 = O + red->offset[l];
            const double *R1eps = d1 ? R1e[l] : R1;
            long len = red->offset[l + 1] - red->offset[l];
            for (long i = 0; i < len; i++) {
                double v;
                if (p->variant == SBO_ZDIR_BASIC_NO_D1) v = R1[i] / c->a;
                else if (p->general[l]) v = R1[i] + (c->A1 - 1.0) * R1eps[i] + c->A3 * R3[l][i];
                else v = R1[i] - (1.0 - 1.0 / c->a) * R1eps[i];
                R1[i] = v;
            }
        }
    }

    /* X = Dr - (m/r) F, in place; d = P X - (rho/a)(m/r) u s^T is left to sbo_zdir_apply */
    if (F_red)
        for (int l = 0; l < L; l++)
            for (long i = red->offset[l]; i < red->offset[l + 1]; i++) O[i] = O[i] - sc[l] * F_red[i];
    memset(out, 0, sizeof *out);
    out->X = O;
    for (int l = 0; l < L; l++) {
        out->B[l] = B[l];
        out->u[l] = u[l];
        out->s[l] = s[l];
        out->coef[l] = corrected && proj[l] ? p->c[l].rho_over_a * sc[l] : 0.0;
    }
    out->scratch = X;
    out->calls = calls;
    return calls;
}

/* Z_l += scale P_l X_l - (scale coef_l) u_l s_l^T, block by block, in place. */
void sbo_zdir_apply(const sbo_zdir_plan *p, const sbo_subspace *S, const sbo_zdir_pieces *pc, double scale,
                    double *Z) {
    const sbo_layout *full = p->full;
    const int L = full->L;
    double sc[SBO_MAX_BLOCKS];
    for (int l = 0; l < SBO_MAX_BLOCKS; l++) sc[l] = scale;
    sbo_subspace_lift_add(S, pc->X, sc, Z);                 /* GEMM into Z for large blocks */
    for (int l = 0; l < L; l++) {
        int m = full->block[l].m, n = full->block[l].n;
        double c = scale * pc->coef[l];
        if (c == 0.0 || !pc->u[l] || !pc->s[l]) continue;
        const double *ul = pc->u[l], *sl = pc->s[l];
        double *Zl = Z + full->offset[l];
        for (int i = 0; i < m; i++) {
            double cu = c * ul[i];
            double *Zi = Zl + (long)i * n;
            for (int a = 0; a < n; a++) Zi[a] -= cu * sl[a];
        }
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
