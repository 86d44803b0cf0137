/* theory_checks/tc_ops.c: explicit operators, the TC-3 generators, predicted means and the Monte Carlo driver
 * shared by TC-3, TC-3b and TC-4 (declarations and documentation in tc_ops.h). */
#include "theory_checks/tc_ops.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

const tc_case tc_cases[] = {

    {"generic_5_3_2", "generic SPD", TC_GEN_GENERIC, 1, {5}, {3}, {2}},

    {"rowsym_5_3_2", "row-symmetric", TC_GEN_ROWSYM, 1, {5}, {3}, {2}},

    {"vector_8_1_3", "vector", TC_GEN_GENERIC, 1, {8}, {1}, {3}},

    {"kron_6_2_2", "I_m x S", TC_GEN_KRON, 1, {6}, {2}, {2}},

    {"rowsym_r1_6_2_1", "row-symmetric, r = 1", TC_GEN_ROWSYM, 1, {6}, {2}, {1}},

    {"two_rowsym", "2 blocks, row-symmetric + cross", TC_GEN_ROWSYM, 2, {5, 4}, {3, 3}, {2, 2}},

    {"two_generic", "2 blocks, generic", TC_GEN_GENERIC, 2, {5, 4}, {3, 2}, {2, 2}},

    {"three_generic", "3 blocks, generic, last full", TC_GEN_GENERIC, 3, {5, 4, 1}, {3, 2, 4}, {2, 2, 1}},

};

_Static_assert(sizeof tc_cases / sizeof tc_cases[0] == TC_N_CASES, "TC_N_CASES must match the table");

void tc_layout_make(sbo_layout *lay, int L, const int *m, const int *n) {
    memset(lay, 0, sizeof *lay);
    lay->L = L;
    for (int l = 0; l < L; l++) {
        snprintf(lay->block[l].name, SBO_NAME_LEN, "block%d", l + 1);
        lay->block[l].m = m[l];
        lay->block[l].n = n[l];
    }
    sbo_layout_finish(lay, NULL);
}

void tc_op_alloc(tc_op *op, const sbo_layout *lay) {
    op->lay = *lay;
    op->D = sbo_layout_total(lay);
    op->identity = 0;
    op->H = calloc((size_t)(op->D * op->D), sizeof(double));
    if (!op->H) { fprintf(stderr, "tc: out of memory (H, D = %ld)\n", op->D); exit(2); }
}

void tc_op_free(tc_op *op) { free(op->H); op->H = NULL; }

void tc_gen_generic(tc_op *op, sbo_stream *s) {
    long D = op->D;
    double *B = malloc(sizeof(double) * (size_t)(D * D));
    sbo_stream_gaussian_fill(s, B, D * D);
    for (long i = 0; i < D; i++)
        for (long j = 0; j < D; j++) {
            double acc = 0;
            for (long k = 0; k < D; k++) acc += B[i * D + k] * B[j * D + k];
            op->H[i * D + j] = acc / (double)D + (i == j ? 0.5 : 0.0);
        }
    free(B);
}

void tc_gen_rowsym(tc_op *op, sbo_stream *s, int nterms) {
    const sbo_layout *lay = &op->lay;
    int n = lay->block[0].n, M = 0;
    for (int l = 0; l < lay->L; l++) {
        if (lay->block[l].n != n) { fprintf(stderr, "tc_gen_rowsym: blocks need equal n\n"); exit(2); }
        M += lay->block[l].m;
    }
    long D = op->D;
    double *c = malloc(sizeof(double) * (size_t)M), *G = malloc(sizeof(double) * (size_t)n * n),
           *S = malloc(sizeof(double) * (size_t)n * n);
    memset(op->H, 0, sizeof(double) * (size_t)(D * D));
    for (int t = 0; t < nterms; t++) {
        sbo_stream_gaussian_fill(s, c, M);
        sbo_stream_gaussian_fill(s, G, (long)n * n);
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++) {
                double acc = 0;
                for (int k = 0; k < n; k++) acc += G[a * n + k] * G[b * n + k];
                S[a * n + b] = acc / n;
            }
        for (int i = 0; i < M; i++)
            for (int a = 0; a < n; a++)
                for (int j = 0; j < M; j++)
                    for (int b = 0; b < n; b++)
                        op->H[((long)i * n + a) * D + (long)j * n + b] += c[i] * c[j] * S[a * n + b] / nterms;
    }
    for (long i = 0; i < D; i++) op->H[i * D + i] += 0.3;
    free(c); free(G); free(S);
}

void tc_gen_kron(tc_op *op, sbo_stream *s) {
    int m = op->lay.block[0].m, n = op->lay.block[0].n;
    long D = op->D;
    double *G = malloc(sizeof(double) * (size_t)n * n), *S = malloc(sizeof(double) * (size_t)n * n);
    sbo_stream_gaussian_fill(s, G, (long)n * n);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            double acc = 0;
            for (int k = 0; k < n; k++) acc += G[a * n + k] * G[b * n + k];
            S[a * n + b] = acc / n + (a == b ? 0.5 : 0.0);
        }
    memset(op->H, 0, sizeof(double) * (size_t)(D * D));
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++) op->H[((long)i * n + a) * D + (long)i * n + b] = S[a * n + b];
    free(G); free(S);
}

void tc_gen_identity(tc_op *op) {
    memset(op->H, 0, sizeof(double) * (size_t)(op->D * op->D));
    for (long i = 0; i < op->D; i++) op->H[i * op->D + i] = 1.0;
    op->identity = 1;
}

void tc_case_instance(const tc_case *cs, int case_id, tc_op *op, double **Z, double **gradf) {
    sbo_layout lay;
    tc_layout_make(&lay, cs->L, cs->m, cs->n);
    tc_op_alloc(op, &lay);
    sbo_stream s;
    sbo_stream_init(&s, TC_INSTANCE_SEED, SBO_RNG_INSTANCE, (uint32_t)case_id, 0);
    switch (cs->gen) {
    case TC_GEN_GENERIC: tc_gen_generic(op, &s); break;
    case TC_GEN_ROWSYM: tc_gen_rowsym(op, &s, cs->L == 1 ? 6 : 8); break;
    case TC_GEN_KRON: tc_gen_kron(op, &s); break;
    default: tc_gen_identity(op); break;
    }
    *Z = malloc(sizeof(double) * (size_t)op->D);
    sbo_stream_gaussian_fill(&s, *Z, op->D);
    if (gradf) {
        *gradf = malloc(sizeof(double) * (size_t)op->D);
        sbo_stream_gaussian_fill(&s, *gradf, op->D);
    }
}

void tc_apply(const tc_op *op, const double *x, double *y) {
    long D = op->D;
    if (op->identity) { memcpy(y, x, sizeof(double) * (size_t)D); return; }
    for (long i = 0; i < D; i++) y[i] = 0.0;
    for (long j = 0; j < D; j++) {
        const double xj = x[j], *Hj = op->H + j * D;
        if (xj == 0.0) continue;
#pragma omp simd
        for (long i = 0; i < D; i++) y[i] += xj * Hj[i];
    }
}

double tc_Hll(const tc_op *op, int l, int i, int a, int j, int b) {
    long off = op->lay.offset[l];
    int n = op->lay.block[l].n;
    return op->H[(off + (long)i * n + a) * op->D + off + (long)j * n + b];
}

void tc_apply_diag(const tc_op *op, int l, const double *Zl, double *out) {
    int m = op->lay.block[l].m, n = op->lay.block[l].n;
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++) {
            double acc = 0;
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++) acc += tc_Hll(op, l, i, a, j, b) * Zl[j * n + b];
            out[i * n + a] = acc;
        }
}

void tc_apply_gamma(const tc_op *op, int l, const double *Zl, double *out) {
    int m = op->lay.block[l].m, n = op->lay.block[l].n;
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++) {
            double acc = 0;
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++) acc += tc_Hll(op, l, j, a, i, b) * Zl[j * n + b];
            out[i * n + a] = acc;
        }
}

void tc_partial_trace(const tc_op *op, int l, double *T) {
    int m = op->lay.block[l].m, n = op->lay.block[l].n;
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            double acc = 0;
            for (int i = 0; i < m; i++) acc += tc_Hll(op, l, i, a, i, b);
            T[a * n + b] = acc;
        }
}

void tc_apply_cross(const tc_op *op, int l, const double *Z, double *out) {
    long lo = op->lay.offset[l], hi = op->lay.offset[l + 1];
    for (long p = lo; p < hi; p++) {
        double acc = 0;
        for (long q = 0; q < op->D; q++)
            if (q < lo || q >= hi) acc += op->H[p * op->D + q] * Z[q];
        out[p - lo] = acc;
    }
}

double tc_row_asymmetry(const tc_op *op, int l) {
    int m = op->lay.block[l].m, n = op->lay.block[l].n;
    double mx = 0, dev = 0;
    for (int i = 0; i < m; i++)
        for (int a = 0; a < n; a++)
            for (int j = 0; j < m; j++)
                for (int b = 0; b < n; b++) {
                    double h = tc_Hll(op, l, i, a, j, b), g = tc_Hll(op, l, j, a, i, b);
                    if (fabs(h) > mx) mx = fabs(h);
                    if (fabs(h - g) > dev) dev = fabs(h - g);
                }
    return mx > 0 ? dev / mx : 0.0;
}

void tc_predicted_mean(const tc_op *op, const sbo_zdir_plan *p, int variant, const double *Z,
                                     const double *gradf, double *out) {
    const sbo_layout *lay = &op->lay;
    long maxb = 0;
    for (int l = 0; l < lay->L; l++) {
        long sz = (long)lay->block[l].m * lay->block[l].n;
        if (sz > maxb) maxb = sz;
        if ((long)lay->block[l].n * lay->block[l].n > maxb) maxb = (long)lay->block[l].n * lay->block[l].n;
    }
    double *dg = malloc(sizeof(double) * (size_t)maxb * 5);
    double *gm = dg + maxb, *cr = gm + maxb, *ZT = cr + maxb, *T = ZT + maxb;
    for (int l = 0; l < lay->L; l++) {
        const sbo_haar_consts *c = &p->c[l];
        int m = lay->block[l].m, n = lay->block[l].n;
        const double *Zl = Z + lay->offset[l];
        double sc = (double)m / p->rank[l];
        tc_apply_diag(op, l, Zl, dg);
        tc_apply_gamma(op, l, Zl, gm);
        tc_apply_cross(op, l, Z, cr);
        tc_partial_trace(op, l, T);
        for (int i = 0; i < m; i++)
            for (int a = 0; a < n; a++) {
                double acc = 0;
                for (int b = 0; b < n; b++) acc += Zl[i * n + b] * T[b * n + a];
                ZT[i * n + a] = acc;
            }
        double *o = out + lay->offset[l];
        for (long e = 0; e < (long)m * n; e++) {
            double v;
            switch (variant) {
            case SBO_ZDIR_NAIVE: v = sc * sc * (c->c1 * dg[e] + c->c2 * gm[e] + c->c2 * ZT[e]) + cr[e]; break;
            case SBO_ZDIR_BASIC: v = (c->c1 * dg[e] + c->c2 * gm[e]) / (c->c1 + c->c2) + cr[e]; break;
            case SBO_ZDIR_BASIC_NO_D1: v = dg[e] + c->rho_over_a * (gm[e] - dg[e]) + cr[e] / c->a; break;
            default: v = dg[e] + cr[e]; break;
            }
            o[e] = v - (gradf ? gradf[lay->offset[l] + e] : 0.0);
        }
    }
    free(dg);
}

void tc_reduced_hvp(void *ctx, const double *X_red, double *out_red) {
    tc_hvp_ctx *c = ctx;
    sbo_vec_zero(c->op->D, c->v);
    sbo_subspace_lift_add(c->S, X_red, NULL, c->v);
    tc_apply(c->op, c->v, c->w);
    sbo_subspace_project(c->S, c->w, out_red);
    c->calls++;
}

void tc_mc_run(const tc_mc_job *job, tc_mc_result *res) {
    const sbo_zdir_plan *p = job->plan;
    const long D = job->op->D, nred = sbo_layout_total(&p->red);
    const long nchunks = (job->N + TC_CHUNK - 1) / TC_CHUNK;
    sbo_mc_acc *cm = calloc((size_t)nchunks, sizeof(sbo_mc_acc));
    sbo_mc_acc *ce = calloc((size_t)nchunks, sizeof(sbo_mc_acc));
    long *ccalls = calloc((size_t)nchunks, sizeof(long));
    if (!cm || !ce || !ccalls) { fprintf(stderr, "tc: out of memory (accumulators)\n"); exit(2); }
    double t0 = omp_get_wtime();
#pragma omp parallel
    {
        long nbuf = p->P_doubles + p->probe_doubles + p->haar_work_doubles + p->work_doubles + 3 * D + nred;
        double *buf = malloc(sizeof(double) * (size_t)(nbuf > 0 ? nbuf : 1));
        if (!buf) { fprintf(stderr, "tc: out of memory (draw buffers)\n"); exit(2); }
        double *P_buf = buf, *probe_buf = P_buf + p->P_doubles, *haar_work = probe_buf + p->probe_doubles,
               *work = haar_work + p->haar_work_doubles, *d = work + p->work_doubles, *v = d + D, *w = v + D,
               *F_red = w + D;
        sbo_subspace S;
        sbo_probes pr;
        tc_hvp_ctx hc = {job->op, &S, v, w, 0};
#pragma omp for schedule(dynamic, 1)
        for (long c = 0; c < nchunks; c++) {
            long k0 = c * TC_CHUNK, k1 = k0 + TC_CHUNK < job->N ? k0 + TC_CHUNK : job->N;
            sbo_mc_init(&cm[c], (int)D);
            if (job->err_target) sbo_mc_init(&ce[c], 1);
            long calls = 0;
            for (long k = k0; k < k1; k++) {
                sbo_zdir_draw(p, job->seed, k, &S, P_buf, &pr, probe_buf, haar_work);
                if (job->gradf) sbo_subspace_project(&S, job->gradf, F_red);
                calls += sbo_zdir(p, &S, &pr, job->Z, job->gradf ? F_red : NULL, tc_reduced_hvp, &hc, work, d);
                sbo_mc_add(&cm[c], d);
                if (job->err_target) {
                    double e = 0;
                    for (long i = 0; i < D; i++) {
                        double t = d[i] - job->err_target[i];
                        e += t * t;
                    }
                    sbo_mc_add(&ce[c], &e);
                }
            }
            ccalls[c] = calls;
        }
        free(buf);
    }
    sbo_mc_init(&res->mean, (int)D);
    if (job->err_target) sbo_mc_init(&res->err, 1); else memset(&res->err, 0, sizeof res->err);
    res->hvp_calls = 0;
    for (long c = 0; c < nchunks; c++) {     /* chunk order: thread-count independent */
        sbo_mc_merge(&res->mean, &cm[c]);
        sbo_mc_free(&cm[c]);
        if (job->err_target) { sbo_mc_merge(&res->err, &ce[c]); sbo_mc_free(&ce[c]); }
        res->hvp_calls += ccalls[c];
    }
    res->seconds = omp_get_wtime() - t0;
    free(cm); free(ce); free(ccalls);
}

void tc_mc_result_free(tc_mc_result *res) {
    sbo_mc_free(&res->mean);
    if (res->err.dim > 0) sbo_mc_free(&res->err);
}

double tc_mc_total_var(const sbo_mc_acc *acc) {
    double v = 0;
    for (int i = 0; i < acc->dim; i++) {
        double se = sbo_mc_se(acc, i);
        v += se * se * (double)acc->n;
    }
    return v;
}

int tc_mc_argmax_z(const sbo_mc_acc *acc, const double *target, double *zmax) {
    int arg = -1;
    double best = -1;
    for (int i = 0; i < acc->dim; i++) {
        double se = sbo_mc_se(acc, i), z = se > 0 ? fabs(acc->mean[i] - target[i]) / se : 0.0;
        if (z > best) { best = z; arg = i; }
    }
    if (zmax) *zmax = best;
    return arg;
}

void tc_entry_name(const sbo_layout *lay, int idx, char *buf, size_t len) {
    for (int l = 0; l < lay->L; l++)
        if (idx < lay->offset[l + 1]) {
            int e = idx - (int)lay->offset[l], n = lay->block[l].n;
            snprintf(buf, len, "block %d entry (%d,%d)", l + 1, e / n, e % n);
            return;
        }
    snprintf(buf, len, "?");
}

int tc_case_general_ok(const tc_case *cs) {
    for (int l = 0; l < cs->L; l++)
        if (cs->r[l] < cs->m[l] && cs->r[l] < 2) return 0;
    return 1;
}

void tc_case_shape(const tc_case *cs, char *buf, size_t len) {
    size_t o = 0;
    for (int l = 0; l < cs->L && o < len; l++)
        o += (size_t)snprintf(buf + o, len - o, "%s(%d,%d,%d)", l ? "," : "", cs->m[l], cs->n[l], cs->r[l]);
}

void tc_case_name(const tc_case *cs, char *buf, size_t len) {
    char shape[96];
    tc_case_shape(cs, shape, sizeof shape);
    snprintf(buf, len, "%s %s", cs->label, shape);
}

int tc_mc_variant(sbo_tc_report *r, const char *label, const tc_op *op, const int *rank, int v, int rowsym,
                  const double *Z, const double *gradf, const double *target, uint64_t seed, long N, sbo_zdir_plan *p,
                  tc_mc_result *res, double *pred, tc_cell *c) {
    char err[256] = "", what[320];
    if (sbo_zdir_plan_init(p, v, &op->lay, rank, err, sizeof err) != 0) {
        snprintf(what, sizeof what, "%s: plan_init", label);
        sbo_tc_check(r, 0, what, -1.0, "==", 0.0);
        sbo_tc_note(r, "  plan_init failed: %s", err);
        return -1;
    }
    tc_mc_job job = {p, op, Z, gradf, NULL, seed, N};
    tc_mc_run(&job, res);
    tc_predicted_mean(op, p, v, Z, gradf, pred);
    c->ran = 1;
    c->seconds = res->seconds;
    c->z_target = sbo_mc_max_abs_z(&res->mean, target);
    c->z_pred = sbo_mc_max_abs_z(&res->mean, pred);
    c->lambda = sbo_mc_noncentrality(&res->mean, pred, target);
    /* §8 TC-3: unbiased are BROS-general everywhere and BROS-basic (with D1) on row-symmetric H */
    c->unbiased = v == SBO_ZDIR_GENERAL || (v == SBO_ZDIR_BASIC && rowsym);
    return 0;
}

void tc_note_largest_z(sbo_tc_report *r, const tc_op *op, const sbo_mc_acc *mean, const double *target) {
    double zm;
    char ent[64];
    tc_entry_name(&op->lay, tc_mc_argmax_z(mean, target, &zm), ent, sizeof ent);
    sbo_tc_note(r, "  largest |z| = %.2f at %s", zm, ent);
}
