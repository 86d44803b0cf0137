/* runners/oracle_dump.c: `sbo oracle-dump --task T --seed S --out F.h5 [--config F] [--set k=v ...]`.
 * Writes one point (x, Y), one lower and one upper minibatch, directions V and Z, a subspace P with a reduced
 * direction X, and every oracle output there, so that anyone can check sbo's engine against another autodiff
 * framework (paper_figures/check_oracle_dump.py does it with an independent NumPy implementation).
 * Layout: docs/SCHEMA.md, "oracle dumps". Exercised by: tests/test_cli.c, `make test` (check_oracle_dump.py). */
#include "runners/oracle_dump.h"   /* the interface */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "algorithms/algorithm.h"  /* sbo_algo_find: the init stream convention of sbo_algo_setup */
#include "core/sbo_haar.h"         /* Haar P */
#include "runners/sbo_h5.h"        /* HDF5 output */
#include "runners/sbo_run.h"       /* sbo_run_resolve_config, SBO_ERR_LEN, sbo_run_select_device */
#include "tasks/neural.h"          /* batch contents and the network description of image tasks */
#include "core/nn/backend.h"       /* sbo_nn_backend: run.device's backend */
#include "core/nn/nn.h"            /* sbo_nn_set_default_backend */

/* Writes a lower tuple block by block under group/<block name>. */
static int write_tuple(sbo_h5 *f, const char *group, const sbo_layout *lay, const double *v) {
    int rc = 0;
    for (int l = 0; l < lay->L; l++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", group, lay->block[l].name);
        rc |= sbo_h5_write_matrix(f, path, v + lay->offset[l], lay->block[l].m, lay->block[l].n);
    }
    return rc;
}

static int write_batch(sbo_h5 *f, sbo_task *t, const char *name, int level, const sbo_batch *batch) {
    char path[128];
    if (!sbo_neural_is(t)) {   /* a task's own minibatch encoding (quadratic: a sampled operator and noise;
                                * data_mixture: sample ids (domain << 32) | offset) */
        snprintf(path, sizeof path, "/batch/%s/values", name);
        int rc = sbo_h5_write_matrix(f, path, batch->values, batch->n_values, 1);
        snprintf(path, sizeof path, "/batch/%s/sample_ids", name);
        return batch->n_ids ? rc | sbo_h5_write_longs(f, path, batch->ids, batch->n_ids) : rc;
    }
    long b = batch->n_ids;
    long *pos = malloc(sizeof(long) * (size_t)(b > 0 ? b : 1));
    snprintf(path, sizeof path, "/batch/%s/positions", name);
    int rc = sbo_h5_write_longs(f, path, batch->ids, b);
    if (b > 0) {
        const sbo_neural *nn = t->ctx;
        double *in = malloc(sizeof(double) * (size_t)b * nn->pixels);
        int *lab = malloc(sizeof(int) * (size_t)b), *ids = malloc(sizeof(int) * (size_t)b);
        sbo_neural_batch_data(t, level, batch, in, lab, ids);
        snprintf(path, sizeof path, "/batch/%s/inputs", name);
        rc |= sbo_h5_write_matrix(f, path, in, b, nn->pixels);
        for (long i = 0; i < b; i++) pos[i] = lab[i];
        snprintf(path, sizeof path, "/batch/%s/labels", name);
        rc |= sbo_h5_write_longs(f, path, pos, b);
        for (long i = 0; i < b; i++) pos[i] = ids[i];
        snprintf(path, sizeof path, "/batch/%s/sample_ids", name);
        rc |= sbo_h5_write_longs(f, path, pos, b);
        free(in); free(lab); free(ids);
    }
    free(pos);
    return rc;
}

int sbo_oracle_dump(const sbo_task_type *tt, const sbo_config *cfg, uint64_t seed, const char *out, int argc,
                    char **argv, char *err, size_t errlen) {
    /* run.device (--device): the engine's backend, before the task creates its executors on the default one */
    sbo_device device = SBO_DEVICE_CPU;
    const sbo_nn_backend *backend = NULL;
    if (sbo_run_select_device(tt, cfg, &device, &backend, err, errlen) != 0) return 2;
    sbo_task *t = sbo_task_create(tt, cfg, err, errlen);
    if (!t) {
        sbo_nn_set_default_backend(NULL);
        return 2;
    }
    const sbo_layout *lay = &t->lower;
    long D = sbo_layout_total(lay), d = t->d;
    /* the point: the task's own init (stream SBO_RNG_INIT, as every run), then a Gaussian perturbation so that no
     * coordinate sits at a special value (x = 0 gives every weight 1/2; zero heads give uniform softmax) */
    double *x = calloc((size_t)d, sizeof(double)), *Y = calloc((size_t)D, sizeof(double));
    double *V = malloc(sizeof(double) * (size_t)D), *Z = malloc(sizeof(double) * (size_t)D);
    double *gY = malloc(sizeof(double) * (size_t)D), *gfY = malloc(sizeof(double) * (size_t)D);
    double *HV = malloc(sizeof(double) * (size_t)D), *gx = malloc(sizeof(double) * (size_t)(d + 1));
    double *JZ = malloc(sizeof(double) * (size_t)(d + 1));
    sbo_batch *bl = sbo_batch_create(t, 0), *bu = sbo_batch_create(t, 1);
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_INIT, 0, 0);
    t->ops->init(t, &s, x, Y);
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 0, 0);
    for (long i = 0; i < d; i++) x[i] += 0.5 * sbo_stream_gaussian(&s);
    for (long i = 0; i < D; i++) Y[i] += 0.05 * sbo_stream_gaussian(&s);
    for (long i = 0; i < D; i++) V[i] = sbo_stream_gaussian(&s);
    for (long i = 0; i < D; i++) Z[i] = sbo_stream_gaussian(&s);
    sbo_stream_init(&s, seed, SBO_RNG_LOWER_BATCH, 0, 0);
    if (t->ops->sample) sbo_task_sample(t, 0, &s, bl);
    sbo_stream_init(&s, seed, SBO_RNG_UPPER_BATCH, 0, 0);
    if (t->ops->sample) sbo_task_sample(t, 1, &s, bu);
    /* an empty minibatch (no samples, no noise) means the exact oracles */
    const sbo_batch *BL = sbo_batch_doubles(t, 0) ? bl : NULL, *BU = sbo_batch_doubles(t, 1) ? bu : NULL;

    sbo_task_grad_lower(t, x, Y, BL, gY);
    sbo_task_grad_upper_Y(t, x, Y, BU, gfY);
    sbo_task_grad_upper_x(t, x, Y, BU, gx);
    sbo_task_hvp(t, x, Y, BL, V, HV);
    sbo_task_cross(t, x, Y, BL, Z, JZ);

    /* a subspace: P_l Haar with r_l = ceil(m_l / 2) on blocks with m_l > 1 (§3.2), P = I on the others (§3.1) and
     * on blocks the task marks not projectable */
    int rows[SBO_MAX_BLOCKS];
    sbo_subspace S;
    memset(&S, 0, sizeof S);
    S.full = lay;
    S.red = *lay;
    long Pn = 0, hw = 0;
    for (int l = 0; l < lay->L; l++) {
        int m = lay->block[l].m;
        rows[l] = m > 1 && !lay->block[l].not_projectable ? (m + 1) / 2 : m;
        if (rows[l] < m) {
            Pn += (long)m * rows[l];
            long w = sbo_haar_work_size(m, rows[l]);
            if (w > hw) hw = w;
        }
    }
    sbo_layout_finish(&S.red, rows);
    long R = sbo_layout_total(&S.red);
    double *Pbuf = malloc(sizeof(double) * (size_t)(Pn + 1)), *work = malloc(sizeof(double) * (size_t)(hw + 1));
    double *X = malloc(sizeof(double) * (size_t)R), *rg = malloc(sizeof(double) * (size_t)R);
    double *rh = malloc(sizeof(double) * (size_t)R), *rf = malloc(sizeof(double) * (size_t)R);
    double *Pp = Pbuf;
    for (int l = 0; l < lay->L; l++) {
        S.P[l] = NULL;
        if (rows[l] == lay->block[l].m) continue;
        sbo_stream_init(&s, seed, SBO_RNG_SUBSPACE, (uint32_t)l, 0);
        sbo_haar_sample(&s, lay->block[l].m, rows[l], Pp, work);
        S.P[l] = Pp;
        Pp += (long)lay->block[l].m * rows[l];
    }
    sbo_stream_init(&s, seed, SBO_RNG_TEST, 1, 0);
    for (long i = 0; i < R; i++) X[i] = sbo_stream_gaussian(&s);
    sbo_task_reduced_grad_lower(t, x, Y, BL, &S, rg);
    sbo_task_reduced_hvp(t, x, Y, BL, &S, X, rh);
    sbo_task_reduced_grad_upper_Y(t, x, Y, BU, &S, rf);

    sbo_h5 *f = sbo_h5_create(out, err, errlen);
    int rc = f ? 0 : 2;
    if (f) {
        char cbuf[8192];
        sbo_config_dump(cfg, cbuf, sizeof cbuf);
        rc |= sbo_h5_write_provenance(f, argc, argv);
        rc |= sbo_h5_attr_str(f, "/", "kind", "oracle_dump");
        rc |= sbo_h5_attr_str(f, "/", "task", tt->name);
        rc |= sbo_h5_attr_long(f, "/", "seed", (long)seed);
        rc |= sbo_h5_attr_str(f, "/", "config", cbuf);
        rc |= sbo_h5_attr_str(f, "/", "reduced_impl", t->reduced_impl ? t->reduced_impl : "");
        rc |= sbo_run_write_device(f, device, backend);
        rc |= sbo_h5_attr_str(f, "/", "conventions",
                              "g lower, f upper (ALGORITHMS.md §1); blocks are Y = W^T (fan-in rows, §3.1), row-major; "
                              "H[V] = d/dt grad_Y g(x, Y + tV); J[Z] = grad_x <grad_Y g, Z>; reduced: P^T grad, "
                              "P^T H[P X], P^T grad_Y f");
        if (sbo_neural_is(t)) {
            size_t dlen = 1 << 16;   /* a depth-4 ViT's graph is ~10 kB of text; 4 kB truncated depth 2 */
            char *desc = malloc(dlen);
            if (desc) {
                sbo_neural_describe(t, SBO_LEVEL_LOWER, desc, dlen);
                rc |= sbo_h5_attr_str(f, "/", "network_lower", desc);
                sbo_neural_describe(t, SBO_LEVEL_UPPER, desc, dlen);
                rc |= sbo_h5_attr_str(f, "/", "network_upper", desc);
                free(desc);
            } else {
                rc = 1;
            }
            const sbo_neural *nn = t->ctx;
            rc |= sbo_h5_attr_long(f, "/", "n_train", nn->n_train);
            rc |= sbo_h5_attr_long(f, "/", "precision", nn->precision);
            rc |= sbo_h5_attr_double(f, "/", "loss_lower_batch", sbo_neural_batch_loss(t, SBO_LEVEL_LOWER, x, Y, BL));
            rc |= sbo_h5_attr_double(f, "/", "loss_upper_batch", sbo_neural_batch_loss(t, SBO_LEVEL_UPPER, x, Y, BU));
        }
        rc |= sbo_h5_write_matrix(f, "/point/x", x, d, 1);
        rc |= write_tuple(f, "/point/Y", lay, Y);
        rc |= write_tuple(f, "/directions/V", lay, V);
        rc |= write_tuple(f, "/directions/Z", lay, Z);
        rc |= write_batch(f, t, "lower", SBO_LEVEL_LOWER, bl);
        rc |= write_batch(f, t, "upper", SBO_LEVEL_UPPER, bu);
        rc |= write_tuple(f, "/oracles/grad_lower_Y", lay, gY);
        rc |= write_tuple(f, "/oracles/grad_upper_Y", lay, gfY);
        rc |= sbo_h5_write_matrix(f, "/oracles/grad_upper_x", gx, d, 1);
        rc |= write_tuple(f, "/oracles/hvp_V", lay, HV);
        rc |= sbo_h5_write_matrix(f, "/oracles/cross_Z", JZ, d, 1);
        for (int l = 0; l < lay->L; l++) {
            if (!S.P[l]) continue;
            char path[256];
            snprintf(path, sizeof path, "/reduced/P/%s", lay->block[l].name);
            rc |= sbo_h5_write_matrix(f, path, S.P[l], lay->block[l].m, rows[l]);
        }
        rc |= write_tuple(f, "/reduced/X", &S.red, X);
        rc |= write_tuple(f, "/reduced/grad_lower_Y", &S.red, rg);
        rc |= write_tuple(f, "/reduced/hvp_X", &S.red, rh);
        rc |= write_tuple(f, "/reduced/grad_upper_Y", &S.red, rf);
        if (sbo_h5_close(f)) rc = 1;
        if (rc) snprintf(err, errlen, "could not write the oracle dump '%s'", out);
    }
    free(x); free(Y); free(V); free(Z); free(gY); free(gfY); free(HV); free(gx); free(JZ);
    sbo_batch_free(bl); sbo_batch_free(bu);
    free(Pbuf); free(work); free(X); free(rg); free(rh); free(rf);
    sbo_task_destroy(t);
    sbo_nn_set_default_backend(NULL);
    return rc ? (f ? 1 : 2) : 0;
}
