/* core/sbo_nn_exec.c: the two executors of core/sbo_nn.h (float32 and float64), made from the one template
 * core/sbo_nn_exec.h, and the precision-free entry points that dispatch to them.
 * Exercised by: tests/test_nn.c, tests/test_neural.c, every neural task. */
#include "core/sbo_nn.h"      /* the interface */
#include "core/sbo_arena.h"   /* every buffer lives in an arena */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(SBO_BLAS_BLIS)
#include <blis.h>
#else
#include <cblas.h>
#endif

#define real float
#define SFX(name) name##_f32
#define CBLAS_GEMM cblas_sgemm
#define SBO_NN_REAL_IS_FLOAT 1
#include "core/sbo_nn_exec.h"
#undef real
#undef SFX
#undef CBLAS_GEMM
#undef SBO_NN_REAL_IS_FLOAT

#define real double
#define SFX(name) name##_f64
#define CBLAS_GEMM cblas_dgemm
#define SBO_NN_REAL_IS_FLOAT 0
#include "core/sbo_nn_exec.h"
#undef real
#undef SFX
#undef CBLAS_GEMM
#undef SBO_NN_REAL_IS_FLOAT

struct sbo_nn_exec {
    int precision;   /* 32 or 64 */
    void *impl;
};

sbo_nn_exec *sbo_nn_exec_create(const sbo_nn_graph *g, const sbo_layout *lower, int d_upper, int precision,
                                const char *name, char *err, size_t errlen) {
    if (precision != 32 && precision != 64) {
        snprintf(err, errlen, "sbo_nn: precision %d is not supported; use 32 (float32) or 64 (float64)", precision);
        return NULL;
    }
    if (sbo_nn_graph_check(g, lower, d_upper, err, errlen)) return NULL;
    sbo_nn_exec *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory creating the network executor '%s'", name);
        return NULL;
    }
    e->precision = precision;
    e->impl = precision == 32 ? create_f32(g, lower, d_upper, name, err, errlen)
                              : create_f64(g, lower, d_upper, name, err, errlen);
    if (!e->impl) {
        free(e);
        return NULL;
    }
    return e;
}

void sbo_nn_exec_destroy(sbo_nn_exec *e) {
    if (!e) return;
    if (e->precision == 32) destroy_f32(e->impl); else destroy_f64(e->impl);
    free(e);
}

void sbo_nn_set_input_u8(sbo_nn_exec *e, int input, const unsigned char *base, const int *ids, int b, double scale,
                         double shift) {
    if (e->precision == 32) set_input_u8_f32(e->impl, input, base, ids, b, scale, shift);
    else set_input_u8_f64(e->impl, input, base, ids, b, scale, shift);
}

void sbo_nn_set_input(sbo_nn_exec *e, int input, const double *rows, int b) {
    if (e->precision == 32) set_input_f32(e->impl, input, rows, b); else set_input_f64(e->impl, input, rows, b);
}

void sbo_nn_set_labels(sbo_nn_exec *e, const int *labels, int b) {
    memcpy(e->precision == 32 ? labels_f32(e->impl) : labels_f64(e->impl), labels, sizeof(int) * (size_t)b);
}

void sbo_nn_set_ids(sbo_nn_exec *e, const int *ids, int b) {
    memcpy(e->precision == 32 ? ids_f32(e->impl) : ids_f64(e->impl), ids, sizeof(int) * (size_t)b);
}

void sbo_nn_run(sbo_nn_exec *e, const double *x, const double *Y, const sbo_nn_call *c) {
    int rc = e->precision == 32 ? run_f32(e->impl, x, Y, c) : run_f64(e->impl, x, Y, c);
    if (rc) {
        fprintf(stderr, "sbo_nn: out of memory allocating derivative buffers\n");
        exit(1);
    }
}

void sbo_nn_read_value(const sbo_nn_exec *e, int value, int b, double *out) {
    if (e->precision == 32) read_value_f32(e->impl, value, b, out); else read_value_f64(e->impl, value, b, out);
}

size_t sbo_nn_exec_bytes(const sbo_nn_exec *e) {
    return e->precision == 32 ? bytes_f32(e->impl) : bytes_f64(e->impl);
}

void sbo_nn_exec_print(const sbo_nn_exec *e, FILE *out) {
    if (e->precision == 32) print_f32(e->impl, out); else print_f64(e->impl, out);
}
