/* algorithms/common.c: what SOBA, MA-SOBA, naive projected and BROS share: the options table, state
 * allocation and initialization (x_0, Y_0 from the init stream, Z_0 = 0, h_0 = 0), the radius R of §2.2,
 * step schedules, and the MA-SOBA upper update with its one-step delay (§1 index convention).
 * Exercised by: tests/test_matrix.c. */
#include "algorithms/algorithm.h"   /* descriptor, sbo_algo */
#include "core/sbo_log.h"            /* sbo_log_appendf */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sbo_option sbo_algo_common_options[] = {
    {"algo.alpha", "0.01", "upper step alpha (x)"},
    {"algo.beta", "0.1", "lower step beta (Y); projected methods scale it per block by r/m (algo.beta_scaling)"},
    {"algo.gamma", "0.1", "auxiliary step gamma (Z); projected methods scale it (algo.gamma_scaling, §6.6)"},
    {"algo.theta", "0.1", "moving-average weight theta of h (MA-SOBA, naive, BROS), clipped to 1"},
    {"algo.schedule", "constant", "constant | inv_sqrt (every step times 1/sqrt(k+1))"},
    {"algo.R", "auto", "radius of the Z ball (MA-SOBA, naive, BROS); auto = max(R_min, 2||grad_Y f(x0,Y0)||/mu) (§2.2)"},
    {"algo.R_min", "1", "floor of the automatic radius (§2.2)"},
    {"algo.rank", "half", "subspace rank r for every projected block (projected methods); half = ceil(m/2); "
                          "blocks with m <= r are full (§3.1)"},
    {"algo.ranks", "", "per-block ranks, comma-separated in block order (overrides algo.rank)"},
    {"algo.memory_rule", "on", "on | off: keep a block full unless r(m+4n) < 2mn (§9 rule)"},
    {"algo.beta_scaling", "r_over_m", "r_over_m | none: beta_l = beta * r_l/m_l on projected blocks (§6.6)"},
    {"algo.gamma_scaling", "inv_1pV", "inv_1pV | cubic | none: gamma/(1+V) with V the largest V_I (or V_I^gen), "
                                      "or gamma*(r/m)^3 (§6.6 shortcut)"},
    {"algo.variant", "auto", "auto | basic | general (BROS): auto = basic when every projected block is "
                             "row-symmetric, else general (§6.2, §6.3)"},
    {"algo.subspace_period", "1", "T_P: redraw P every T_P iterations. Only 1 is inside the theory (§3.2); "
                                  "T_P > 1 biases BROS (TC-8)"},
    {"algo.haar", "2", "2 | 1: version of the Haar frame sampler (projected methods). 2: vectorized normals and "
                       "CholeskyQR2; 1: libm Box-Muller and Householder, the sampler of results before 2026-12-03 "
                       "(core/sbo_haar.h). Same law, different rounding"},
    {"algo.cross_term", "full", "full | projected: J[Z_k] or J[(m/r) Q Z_k] in the hypergradient (§7)"},
    {NULL, NULL, NULL}};

void sbo_algo_logf(sbo_algo *a, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sbo_log_appendf(a->log, sizeof a->log, "%s", line);
}

int sbo_algo_setup(sbo_algo *a, const sbo_algo_type *type, sbo_task *t, const sbo_algo_options *opt, uint64_t seed,
                   char *err, size_t errlen) {
    a->type = type;
    a->task = t;
    a->seed = seed;
    a->alpha = opt->alpha;
    a->beta = opt->beta;
    a->gamma = opt->gamma;
    a->theta = opt->theta;
    a->schedule = opt->schedule;
    a->cross_term = opt->cross_term;
    for (int l = 0; l < t->lower.L; l++) {
        a->beta_block[l] = a->beta;
        a->rank[l] = t->lower.block[l].m;
    }

    long D = sbo_layout_total(&t->lower);
    sbo_arena_init(&a->state, type->name);
    strncat(a->state.name, ".state", sizeof a->state.name - strlen(a->state.name) - 1);
    char shape[64];
    snprintf(shape, sizeof shape, "d = %d", t->d);
    sbo_arena_add(&a->state, "x (upper variable)", shape, t->d, &a->x);
    if (a->uses_momentum) sbo_arena_add(&a->state, "h (averaged hypergradient)", shape, t->d, &a->h);
    snprintf(shape, sizeof shape, "sum m_l n_l = %ld", D);
    sbo_arena_add(&a->state, "Y (lower variable)", shape, D, &a->Y);
    sbo_arena_add(&a->state, "Z (auxiliary variable)", shape, D, &a->Z);
    if (sbo_arena_commit(&a->state)) {
        snprintf(err, errlen, "out of memory allocating the %s state (%ld doubles)", type->name, a->state.total);
        return -1;
    }
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_INIT, 0, 0);
    t->ops->init(t, &s, a->x, a->Y);        /* Z_0 = 0, h_0 = 0: the arena is zero-filled */

    if (a->uses_radius) {
        double Rmin = opt->R_min;
        if (opt->R_auto) {
            /* §2.2 default: R = max(R_min, 2 ||grad_Y f(x0, Y0)|| / mu), exact oracle, not counted */
            double *g = t->scratch_full_a;
            t->ops->grad_upper_Y(t, a->x, a->Y, NULL, g);
            double gn = sbo_vec_norm2(D, g);
            if (!(t->mu > 0)) {   /* §2.2 needs mu: a guessed R could clip Z below sup ||Z*|| and bias the run */
                snprintf(err, errlen, "algo.R = auto needs the task's strong-convexity constant mu, which task '%s' "
                         "does not declare; set algo.R explicitly (at least sup ||Z*||)", t->type ? t->type->name : "?");
                return -1;
            }
            a->R = fmax(Rmin, 2 * gn / t->mu);
            sbo_algo_logf(a, "R = %g (auto: max(R_min = %g, 2 ||grad_Y f(x0,Y0)|| / mu = 2*%g/%g), §2.2)", a->R, Rmin,
                          gn, t->mu);
        } else {
            a->R = opt->R;
            sbo_algo_logf(a, "R = %g (configured)", a->R);
        }
    }
    return 0;
}

double sbo_algo_step_factor(const sbo_algo *a, long k) {
    return a->schedule == SBO_SCHEDULE_INV_SQRT ? 1.0 / sqrt((double)k + 1.0) : 1.0;
}

void sbo_algo_update_x_momentum(sbo_algo *a, long k, const double *D_x) {
    double f = sbo_algo_step_factor(a, k);
    double alpha = a->alpha * f, theta = fmin(1.0, a->theta * f);
    /* x_{k+1} = x_k - alpha h_k uses the OLD h_k; then h_{k+1} = (1 - theta) h_k + theta D_x (§1, §2.2) */
    for (int i = 0; i < a->task->d; i++) {
        a->x[i] -= alpha * a->h[i];
        a->h[i] = (1 - theta) * a->h[i] + theta * D_x[i];
    }
}

void sbo_algo_project_Z(sbo_algo *a) {
    if (sbo_ball_project(sbo_layout_total(&a->task->lower), a->R, a->Z)) a->n_clips++;
}

int sbo_algo_state_finite(const sbo_algo *a) {
    long D = sbo_layout_total(&a->task->lower);
    return sbo_vec_all_finite(a->task->d, a->x) && sbo_vec_all_finite(D, a->Y) && sbo_vec_all_finite(D, a->Z) &&
           (!a->h || sbo_vec_all_finite(a->task->d, a->h));
}

void sbo_algo_free_common(sbo_algo *a) {
    if (!a) return;
    sbo_arena_free(&a->work);      /* arenas first: freeing NULLs the views, some of which live in impl */
    sbo_arena_free(&a->state);
    free(a->impl);
    free(a);
}

/* --- full-space directions (SOBA §2.1, MA-SOBA §2.2) ----------------------------------------- */
/* Work buffers of the full-space methods, declared in a->work by sbo_full_space_declare. */
void sbo_full_space_declare(sbo_algo *a, sbo_full_space_work *w) {
    sbo_task *t = a->task;
    long D = sbo_layout_total(&t->lower);
    char shape[64];
    sbo_batch_declare(&w->batch_lower, t, 0, &a->work, "lower minibatch phi_k", " (task lower batch)");
    sbo_batch_declare(&w->batch_upper, t, 1, &a->work, "upper minibatch psi_k", " (task upper batch)");
    snprintf(shape, sizeof shape, "sum m_l n_l = %ld", D);
    sbo_arena_add(&a->work, "D_Y = grad_Y g", shape, D, &w->DY);
    sbo_arena_add(&a->work, "D_Z = H[Z] - grad_Y f", shape, D, &w->DZ);
    sbo_arena_add(&a->work, "grad_Y f", shape, D, &w->gf);
    snprintf(shape, sizeof shape, "d = %d", t->d);
    sbo_arena_add(&a->work, "D_x = grad_x f - J[Z]", shape, t->d, &w->Dx);
    sbo_arena_add(&a->work, "J[Z]", shape, t->d, &w->JZ);
}

/* Draw phi_k then psi_k (§1 order; SOBA and MA-SOBA draw only the minibatches). */
void sbo_algo_draw_batches(sbo_algo *a, long k, sbo_batch *batch_lower, sbo_batch *batch_upper) {
    sbo_stream s;
    sbo_stream_init(&s, a->seed, SBO_RNG_LOWER_BATCH, 0, (uint64_t)k);
    sbo_task_sample(a->task, 0, &s, batch_lower);
    sbo_stream_init(&s, a->seed, SBO_RNG_UPPER_BATCH, 0, (uint64_t)k);
    sbo_task_sample(a->task, 1, &s, batch_upper);
}

/* D_Y = grad_Y g(phi), D_Z = H_phi[Z] - grad_Y f(psi), D_x = grad_x f(psi) - J_phi[Z], all at (x_k, Y_k, Z_k),
 * from the fused oracles: one linearization of g with one tangent sweep along Z_k (H[Z] and J[Z] together), and one
 * pass of f for both of its gradients. */
void sbo_full_space_directions(sbo_algo *a, long k, sbo_full_space_work *w) {
    sbo_task *t = a->task;
    long D = sbo_layout_total(&t->lower);
    sbo_algo_draw_batches(a, k, &w->batch_lower, &w->batch_upper);
    sbo_task_lower_at(t, a->x, a->Y, &w->batch_lower, NULL);
    sbo_task_lower_grad(t, w->DY);
    sbo_tangent along_Z = {.V = a->Z, .hvp = w->DZ, .cross = w->JZ};
    sbo_task_lower_tangent(t, a->x, a->Y, &along_Z);
    sbo_task_upper(t, a->x, a->Y, &w->batch_upper, NULL, w->gf, w->Dx);
    sbo_vec_axpy(D, -1.0, w->gf, w->DZ);
    sbo_vec_axpy(t->d, -1.0, w->JZ, w->Dx);
}

/* Shared constructor of the full-space methods: state + work arenas; impl = sbo_full_space_work. */
sbo_algo *sbo_full_space_create(const sbo_algo_type *type, int momentum, sbo_task *t, const sbo_config *cfg,
                                uint64_t seed, char *err, size_t errlen) {
    sbo_algo *a = calloc(1, sizeof *a);
    sbo_full_space_work *w = calloc(1, sizeof *w);
    if (!a || !w) {
        free(a); free(w);
        snprintf(err, errlen, "out of memory creating %s", type->name);
        return NULL;
    }
    a->impl = w;
    a->uses_momentum = momentum;
    a->uses_radius = momentum;      /* MA-SOBA: moving average and the Z ball go together (§2.2) */
    char name[48];
    snprintf(name, sizeof name, "%s.work", type->name);
    sbo_arena_init(&a->work, name);
    sbo_algo_options opt;
    if (sbo_algo_options_parse(cfg, &opt, err, errlen) || sbo_algo_setup(a, type, t, &opt, seed, err, errlen)) {
        sbo_algo_free_common(a);
        return NULL;
    }
    sbo_full_space_declare(a, w);
    if (sbo_task_reserve(t, NULL, 1, err, errlen)) {   /* the engine's buffers of full-space calls, before step 0 */
        sbo_algo_free_common(a);
        return NULL;
    }
    if (sbo_arena_commit(&a->work)) {
        snprintf(err, errlen, "out of memory allocating %s work buffers", type->name);
        sbo_algo_free_common(a);
        return NULL;
    }
    return a;
}

void sbo_full_space_destroy(sbo_algo *a) { sbo_algo_free_common(a); }
