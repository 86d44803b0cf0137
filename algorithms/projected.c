/* algorithms/projected.c: one iteration of naive projected / BROS exactly as ALGORITHMS.md §7:
 *   draw P_l, probes (zdir_draw), then phi_k, psi_k;  F_l = P_l^T grad f (reduced oracle: native through P^T a,
 *   or the generic fallback with a transient m x n in the task's scratch);
 *   pieces = zdir_reduced(P, probes, Z_k, F, hvp);  G_l = P_l^T grad g (into zdir's free HVP input tuple);
 *   D_x = grad_x f - J[Z_k]  (or J[(m/r) P B], projected);
 *   Y^l -= beta_l (m_l/r_l) P_l G_l;  Z = Pi_R(Z - gamma d), applied in place by zdir_apply (d is never
 *   formed);  x -= alpha h_k;  h = (1-theta) h + theta D_x
 * Every oracle is evaluated at (x_k, Y_k, Z_k) with phi_k / psi_k and is a pure function of them, so their order
 * within the iteration is free; G is computed after zdir so that it can reuse zdir's HVP input buffer.
 * The work arena therefore holds no m x n tuple (§9); cross_term = projected passes its direction (m/r) P B to the
 * task in reduced form, (m/r) B (r x n per projected block; a full block's Z_k^l is copied, m x n). A full block costs MA-SOBA's 3 mn of work (G, F and the
 * HVP output; the HVP input shares G's buffer, or is Z_k itself when every block is full) plus its probes.
 * Exercised by: tests/test_matrix.c, theory_checks/tc6_counterexample.c, tc7_rate.c. */
#include "algorithms/projected.h"   /* shared loop */
#include "core/sbo_log.h"            /* sbo_log_appendf: the creation log */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sbo_zdir_plan plan;
    sbo_subspace S;
    sbo_probes pr;
    double *P_buf, *probe_buf, *haar_work, *zwork;
    sbo_batch batch_lower, batch_upper;   /* arrays in a->work */
    double *G_own, *F_red, *Bq, *Dx, *JZ;   /* G_own: only when every block is full (else G uses zdir's scratch) */
    double lift_scale[SBO_MAX_BLOCKS];
} projected_impl;

int sbo_projected_resolve(const sbo_task *t, const sbo_algo_options *opt, int is_bros, sbo_projected_setup *o,
                          char *log, size_t loglen, char *err, size_t errlen) {
    const sbo_layout *lay = &t->lower;
    memset(o, 0, sizeof *o);
    if (log && loglen) log[0] = 0;
    char dummy[8];
    if (!log) { log = dummy; loglen = sizeof dummy; log[0] = 0; }
    if (opt->n_ranks) {
        if (opt->n_ranks != lay->L) {
            snprintf(err, errlen, "algo.ranks = '%s' lists %d ranks but the task has %d blocks; give one rank per block",
                     opt->ranks_text, opt->n_ranks, lay->L);
            return -1;
        }
        for (int l = 0; l < lay->L; l++) {
            o->rank[l] = opt->ranks[l];
            if (o->rank[l] > lay->block[l].m) {
                snprintf(err, errlen, "algo.ranks: rank %d for block '%s' exceeds its dimension m = %d; "
                         "choose 1 <= r <= %d", o->rank[l], lay->block[l].name, lay->block[l].m, lay->block[l].m);
                return -1;
            }
        }
    } else if (opt->rank_half) {
        for (int l = 0; l < lay->L; l++) o->rank[l] = (lay->block[l].m + 1) / 2;
    } else {
        long r = opt->rank;
        int mmax = 0;
        for (int l = 0; l < lay->L; l++) if (lay->block[l].m > mmax) mmax = lay->block[l].m;
        if (r < 1 || r > mmax) {
            snprintf(err, errlen, "algo.rank = %ld is impossible: the largest block dimension is m = %d; "
                     "choose 1 <= r <= %d", r, mmax, mmax);
            return -1;
        }
        for (int l = 0; l < lay->L; l++) o->rank[l] = (int)r;
    }
    int rule = opt->memory_rule;
    for (int l = 0; l < lay->L; l++) {
        const sbo_block *b = &lay->block[l];
        if (o->rank[l] >= b->m) {
            sbo_log_appendf(log, loglen, "block '%s' (m = %d, n = %d) is full: r >= m (§3.1)", b->name, b->m, b->n);
            o->rank[l] = b->m;
            continue;
        }
        if (b->keep_full) {
            sbo_log_appendf(log, loglen, "block '%s' (m = %d, n = %d) is full: the task cannot project it (§3.1)",
                            b->name, b->m, b->n);
            o->rank[l] = b->m;
            continue;
        }
        long r = o->rank[l];
        if (rule && r * (b->m + 4L * b->n) >= 2L * b->m * b->n) {
            sbo_log_appendf(log, loglen, "block '%s' (m = %d, n = %d) kept full by the §9 memory rule: r = %ld gives "
                    "r(m+4n) = %ld >= 2mn = %ld (set algo.memory_rule=off to project it)",
                    b->name, b->m, b->n, r, r * (b->m + 4L * b->n), 2L * b->m * b->n);
            o->rank[l] = b->m;
            o->n_full_by_rule++;
        }
    }
    int n_rowsym = 0;
    o->min_q = 1;
    for (int l = 0; l < lay->L; l++)
        if (o->rank[l] < lay->block[l].m) {
            o->n_projected++;
            n_rowsym += lay->block[l].row_symmetric != 0;
            double q = (double)o->rank[l] / lay->block[l].m;
            if (q < o->min_q) o->min_q = q;
        }
    o->variant = SBO_ZDIR_NAIVE;
    if (is_bros) {
        int v = opt->variant;
        if (v == 1) o->variant = SBO_ZDIR_BASIC;
        else if (v == 2) o->variant = SBO_ZDIR_GENERAL;
        else if (n_rowsym == o->n_projected) o->variant = SBO_ZDIR_BASIC;      /* every projected block row-symmetric */
        else if (n_rowsym == 0) o->variant = SBO_ZDIR_GENERAL;
        else o->variant = SBO_ZDIR_AUTO;                                       /* mixed: per block */
        if (v == 0)
            sbo_log_appendf(log, loglen, "BROS variant: %s (auto, from the task's row-symmetry declarations: %d of %d "
                    "projected blocks row-symmetric)", sbo_zdir_variant_name(o->variant), n_rowsym, o->n_projected);
        if (o->variant == SBO_ZDIR_BASIC && n_rowsym < o->n_projected)
            sbo_log_appendf(log, loglen, "WARNING: BROS-basic on a block that is not row-symmetric is biased: "
                    "E = (c1 H + c2 H^Gamma)/(c1+c2) (§6.2); use algo.variant=auto or general");
    }
    for (int l = 0; l < lay->L; l++) {
        const sbo_block *b = &lay->block[l];
        if (o->rank[l] >= b->m) continue;
        int general = o->variant == SBO_ZDIR_GENERAL || (o->variant == SBO_ZDIR_AUTO && !b->row_symmetric);
        double V = general ? sbo_variance_VI_gen(b->m, b->n, o->rank[l]) : sbo_variance_VI(b->m, b->n, o->rank[l]);
        if (V > o->V_max) o->V_max = V;
    }
    if (o->n_projected == 0)
        sbo_log_appendf(log, loglen, "every block is full: this %s run is exactly MA-SOBA (no subspace is used)",
                is_bros ? "BROS" : "naive");
    else
        sbo_log_appendf(log, loglen, "largest V over projected blocks: %.4g (%s, §6.6)%s", o->V_max,
                o->variant == SBO_ZDIR_BASIC || o->variant == SBO_ZDIR_NAIVE ? "V_I" : "V_I^gen on general blocks",
                o->V_max > 100 ? "  WARNING: above 100, outside BROS's operating range (§6.8)" : "");
    return 0;
}

typedef struct {
    sbo_task *t;
    const double *x, *Y;
    const sbo_batch *batch;
    const sbo_subspace *S;
    const double *Z;      /* Z_k: a sweep along it can return J[Z_k] too (every block full, cross_term = full) */
    double *JZ;           /* where J[Z_k] goes; NULL once it has been computed, or when the cross term differs */
} hvp_ctx;

/* The production hvp callback of zdir: X -> P^T H_phi[P X] at (x_k, Y_k), one tangent sweep at the iteration's
 * linearization of g. */
static void task_reduced_hvp(void *vctx, const double *X_red, double *out_red) {
    hvp_ctx *c = vctx;
    sbo_tangent tan = {.V = X_red, .hvp = out_red};
    if (c->JZ && X_red == c->Z) {   /* zdir passes Z_k itself only when every block is full: H[Z_k] and J[Z_k] at once */
        tan.cross = c->JZ;
        c->JZ = NULL;
    }
    sbo_task_lower_tangent(c->t, c->x, c->Y, &tan);
}

sbo_algo *sbo_projected_create(const sbo_algo_type *type, int is_bros, sbo_task *t, const sbo_config *cfg,
                               uint64_t seed, char *err, size_t errlen) {
    sbo_algo *a = calloc(1, sizeof *a);
    projected_impl *im = calloc(1, sizeof *im);
    if (!a || !im) {
        free(a); free(im);
        snprintf(err, errlen, "out of memory creating %s", type->name);
        return NULL;
    }
    a->impl = im;
    a->uses_momentum = 1;    /* MA-SOBA skeleton (§5.1, §7) */
    a->uses_radius = 1;
    char name[48];
    snprintf(name, sizeof name, "%s.work", type->name);
    sbo_arena_init(&a->work, name);
    sbo_projected_setup ps;
    sbo_algo_options opt;
    if (sbo_algo_options_parse(cfg, &opt, err, errlen) ||
        sbo_projected_resolve(t, &opt, is_bros, &ps, a->log, sizeof a->log, err, errlen) ||
        sbo_algo_setup(a, type, t, &opt, seed, err, errlen) ||
        sbo_zdir_plan_init(&im->plan, ps.variant, &t->lower, ps.rank, err, errlen)) {
        sbo_projected_destroy(a);
        return NULL;
    }
    sbo_zdir_plan_haar(&im->plan, opt.haar_version);
    long period = opt.subspace_period;
    im->plan.subspace_period = period;
    if (period > 1)
        sbo_algo_logf(a, "WARNING: P frozen for T_P = %ld iterations: outside the theory (§3.2), BROS is biased", period);
    snprintf(a->variant_name, sizeof a->variant_name, "%s", sbo_zdir_variant_name(ps.variant));
    a->V_max = ps.V_max;
    a->n_full_by_rule = ps.n_full_by_rule;
    for (int l = 0; l < t->lower.L; l++) a->rank[l] = im->plan.rank[l];

    /* §6.6 step scalings */
    int bs = opt.beta_scaling, gs = opt.gamma_scaling;
    for (int l = 0; l < t->lower.L; l++)   /* full blocks keep beta exactly (a full-space run is MA-SOBA bit for bit) */
        a->beta_block[l] = bs == 0 && a->rank[l] < t->lower.block[l].m
                               ? a->beta * ((double)a->rank[l] / t->lower.block[l].m) : a->beta;
    double g0 = a->gamma;
    if (gs == 0) a->gamma = g0 / (1 + ps.V_max);
    else if (gs == 1) a->gamma = g0 * ps.min_q * ps.min_q * ps.min_q;
    sbo_algo_logf(a, "steps: alpha = %g, theta = %g, gamma = %g (%s of %g), beta_l = beta%s",
                  a->alpha, a->theta, a->gamma, gs == 0 ? "1/(1+V)" : gs == 1 ? "(r/m)^3" : "unscaled", g0,
                  bs == 0 ? " * r_l/m_l" : "");
    sbo_algo_logf(a, "cross_term = %s; reduced oracles: %s", a->cross_term ? "projected" : "full",
                  t->reduced_impl ? t->reduced_impl : "?");

    /* work buffers (one flat allocation, §9 table) */
    const sbo_zdir_plan *p = &im->plan;
    long nred = sbo_layout_total(&p->red);
    char sh[64];
    snprintf(sh, sizeof sh, "sum m_l r_l = %ld", p->P_doubles);
    sbo_arena_add(&a->work, "P (Haar frames)", sh, p->P_doubles, &im->P_buf);
    if (p->probe_doubles) {     /* naive draws no probes */
        snprintf(sh, sizeof sh, "%ld", p->probe_doubles);
        sbo_arena_add(&a->work, "probes xi, omega, [eta, omega3]", sh, p->probe_doubles, &im->probe_buf);
    }
    snprintf(sh, sizeof sh, "%ld", p->haar_work_doubles);
    sbo_arena_add(&a->work, "Haar QR workspace", sh, p->haar_work_doubles, &im->haar_work);
    {
        long extra = p->work_doubles - p->in_doubles - nred;   /* per projected block: B, [R1e], [R3], [u, s] */
        snprintf(sh, sizeof sh, "%s%ld + %ld = %ld", p->in_doubles ? "2 x " : "", nred, extra, p->work_doubles);
        sbo_arena_add(&a->work, p->in_doubles ? "zdir work (X=G, out; proj.: B,[R1e,R3],u,s)"
                                              : "zdir work (hvp out; every block full)", sh, p->work_doubles,
                      &im->zwork);
    }
    sbo_batch_declare(&im->batch_lower, t, 0, &a->work, "lower minibatch phi_k", "");
    sbo_batch_declare(&im->batch_upper, t, 1, &a->work, "upper minibatch psi_k", "");
    snprintf(sh, sizeof sh, "sum r_l n_l = %ld", nred);
    if (!p->in_doubles)   /* otherwise G lives in zdir's HVP input tuple, free once zdir_reduced has returned */
        sbo_arena_add(&a->work, "G = P^T grad_Y g (every block full)", sh, nred, &im->G_own);
    sbo_arena_add(&a->work, t->ops->reduced_grad_upper_Y ? "F = P^T grad_Y f (native reduced)"
                                                         : "F = P^T grad_Y f (generic: +mn in task)", sh, nred, &im->F_red);
    if (a->cross_term == SBO_CROSS_PROJECTED) {
        /* the cross direction (m/r) P B in reduced form: (m/r) B (B is zdir's cache; a full block's is Z_k^l) */
        snprintf(sh, sizeof sh, "sum r_l n_l = %ld", nred);
        sbo_arena_add(&a->work, "(m/r) B: reduced cross direction", sh, nred, &im->Bq);
    }
    snprintf(sh, sizeof sh, "d = %d", t->d);
    sbo_arena_add(&a->work, "D_x", sh, t->d, &im->Dx);
    sbo_arena_add(&a->work, "J[Z]", sh, t->d, &im->JZ);
    if (sbo_arena_commit(&a->work)) {
        snprintf(err, errlen, "out of memory allocating %s work buffers", type->name);
        sbo_projected_destroy(a);
        return NULL;
    }
    if (sbo_task_reserve(t, im->plan.rank, a->cross_term == SBO_CROSS_FULL, err, errlen)) {   /* the engine's buffers for these ranks, before step 0 */
        sbo_projected_destroy(a);
        return NULL;
    }
    return a;
}

int sbo_projected_step(sbo_algo *a, long k) {
    projected_impl *im = a->impl;
    sbo_task *t = a->task;
    const sbo_zdir_plan *p = &im->plan;
    const sbo_layout *lay = &t->lower;
    double f = sbo_algo_step_factor(a, k);

    /* §1 draw order: per block P_l, probes; then phi_k, psi_k */
    sbo_zdir_draw(p, a->seed, k, &im->S, im->P_buf, &im->pr, im->probe_buf, im->haar_work);
    sbo_algo_draw_batches(a, k, &im->batch_lower, &im->batch_upper);

    /* every oracle at the old iterate (x_k, Y_k, Z_k): Jacobi updates (§1). One pass of f gives F and grad_x f;
     * one linearization of g in the subspace serves zdir's reduced HVPs, G and the cross term (tangent sweeps). */
    sbo_task_upper(t, a->x, a->Y, &im->batch_upper, &im->S, im->F_red, im->Dx);
    sbo_task_lower_at(t, a->x, a->Y, &im->batch_lower, &im->S);
    hvp_ctx hc = {t, a->x, a->Y, &im->batch_lower, &im->S, a->Z, a->cross_term == SBO_CROSS_FULL ? im->JZ : NULL};
    /* every Z_k-dependent quantity (B = P^T Z_k, u = Z_k omega) is cached here, before Z is updated in place */
    sbo_zdir_pieces pc;
    sbo_zdir_reduced(p, &im->S, &im->pr, a->Z, im->F_red, task_reduced_hvp, &hc, im->zwork, &pc);
    double *G_red = pc.scratch ? pc.scratch : im->G_own;       /* zdir's HVP input is free now */
    sbo_task_lower_grad(t, G_red);

    sbo_tangent cross = {.V = a->Z, .V_full = 1, .cross = im->JZ};          /* J_phi[Z_k], full Z_k */
    if (a->cross_term == SBO_CROSS_FULL) {
        if (hc.JZ) sbo_task_lower_tangent(t, a->x, a->Y, &cross);   /* not yet computed with H[Z_k] */
    } else {
        /* J_phi[((m_l/r_l) P_l B_l)_l]: unbiased since E[(m/r) Q] = I (§7); the direction goes in reduced form,
         * so the engine needs P^T a, not the layer input a (§9: the activation saving) */
        for (int l = 0; l < lay->L; l++) {
            const sbo_block *b = &lay->block[l];
            double sc = (double)b->m / p->rank[l];   /* 1 exactly on a full block */
            long len = (long)p->rank[l] * b->n;
            double *dst = im->Bq + p->red.offset[l];
            for (long i = 0; i < len; i++) dst[i] = sc * pc.B[l][i];   /* pc.B = P^T Z_k (Z_k^l on a full block) */
        }
        cross.V = im->Bq;
        cross.V_full = 0;
        sbo_task_lower_tangent(t, a->x, a->Y, &cross);
    }
    sbo_vec_axpy(t->d, -1.0, im->JZ, im->Dx);

    /* updates */
    for (int l = 0; l < lay->L; l++)
        im->lift_scale[l] = -a->beta_block[l] * f * ((double)lay->block[l].m / p->rank[l]);   /* m/r first: 1 exactly on full blocks */
    sbo_subspace_lift_add(&im->S, G_red, im->lift_scale, a->Y);      /* Y^l -= beta_l (m/r) P_l G_l */
    sbo_zdir_apply(p, &im->S, &pc, -a->gamma * f, a->Z);             /* Z -= gamma d, in place */
    sbo_algo_project_Z(a);
    sbo_algo_update_x_momentum(a, k, im->Dx);
    return sbo_algo_state_finite(a) ? 0 : 1;
}

void sbo_projected_destroy(sbo_algo *a) { sbo_algo_free_common(a); }

const sbo_zdir_plan *sbo_projected_plan(const sbo_algo *a) { return &((const projected_impl *)a->impl)->plan; }
