/* tasks/task.c: counted oracle wrappers (STYLE.md pattern 9) and the generic reduced oracles (built on the
 * subspace helpers P^T V and P X of core/sbo_subspace.c).
 * Exercised by: tests/test_tasks.c, every algorithm. */
#include "tasks/task.h"         /* the oracle table */
#include <string.h>

void sbo_task_sample(sbo_task *t, int level, sbo_stream *s, double *batch) {
    if (level == 0) t->counts.lower_samples++; else t->counts.upper_samples++;
    t->ops->sample(t, level, s, batch);
}
void sbo_task_grad_lower(sbo_task *t, const double *x, const double *Y, const double *batch, double *out) {
    t->counts.grad_lower++;
    t->ops->grad_lower_Y(t, x, Y, batch, out);
}
void sbo_task_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const double *batch, double *out) {
    t->counts.grad_upper_Y++;
    t->ops->grad_upper_Y(t, x, Y, batch, out);
}
void sbo_task_grad_upper_x(sbo_task *t, const double *x, const double *Y, const double *batch, double *out_d) {
    t->counts.grad_upper_x++;
    t->ops->grad_upper_x(t, x, Y, batch, out_d);
}
void sbo_task_hvp(sbo_task *t, const double *x, const double *Y, const double *batch, const double *V, double *out) {
    t->counts.hvp++;
    t->ops->hvp(t, x, Y, batch, V, out);
}
void sbo_task_cross(sbo_task *t, const double *x, const double *Y, const double *batch, const double *Z, double *out_d) {
    t->counts.cross++;
    t->ops->cross(t, x, Y, batch, Z, out_d);
}

/* Generic reduced oracles (§9 "generic HVPs"): form the full tuple, call the full oracle, project.
 * Costs a transient m x n per block in and out; t->reduced_impl says so in every printout. */
void sbo_task_reduced_grad_lower(sbo_task *t, const double *x, const double *Y, const double *batch,
                                 const sbo_subspace *S, double *out_red) {
    t->counts.grad_lower++;
    if (t->ops->reduced_grad_lower) {
        t->ops->reduced_grad_lower(t, x, Y, batch, S, out_red);
        return;
    }
    t->ops->grad_lower_Y(t, x, Y, batch, t->scratch_full_a);
    sbo_subspace_project(S, t->scratch_full_a, out_red);
}
void sbo_task_reduced_hvp(sbo_task *t, const double *x, const double *Y, const double *batch,
                          const sbo_subspace *S, const double *X_red, double *out_red) {
    t->counts.reduced_hvp++;
    if (t->ops->reduced_hvp) {
        t->ops->reduced_hvp(t, x, Y, batch, S, X_red, out_red);
        return;
    }
    sbo_vec_zero(sbo_layout_total(&t->lower), t->scratch_full_a);
    sbo_subspace_lift_add(S, X_red, NULL, t->scratch_full_a);
    t->ops->hvp(t, x, Y, batch, t->scratch_full_a, t->scratch_full_b);
    sbo_subspace_project(S, t->scratch_full_b, out_red);
}

void sbo_task_reduced_grad_upper_Y(sbo_task *t, const double *x, const double *Y, const double *batch,
                                   const sbo_subspace *S, double *out_red) {
    t->counts.grad_upper_Y++;
    if (t->ops->reduced_grad_upper_Y) {
        t->ops->reduced_grad_upper_Y(t, x, Y, batch, S, out_red);
        return;
    }
    t->ops->grad_upper_Y(t, x, Y, batch, t->scratch_full_a);
    sbo_subspace_project(S, t->scratch_full_a, out_red);
}

sbo_task *sbo_task_create(const sbo_task_type *type, const sbo_config *cfg, char *err, size_t errlen) {
    sbo_task *t = type->create(cfg, err, errlen);
    if (t) {
        t->type = type;
        memset(&t->counts, 0, sizeof t->counts);
    }
    return t;
}

void sbo_task_destroy(sbo_task *t) {
    if (!t) return;
    if (t->ops && t->ops->destroy) t->ops->destroy(t);
}

void sbo_task_declare_scratch(sbo_task *t) {
    long D = sbo_layout_total(&t->lower);
    sbo_arena_add(&t->arena, "generic-reduced scratch a", "D (one lower tuple)", D, &t->scratch_full_a);
    sbo_arena_add(&t->arena, "generic-reduced scratch b", "D (one lower tuple)", D, &t->scratch_full_b);
}
