/* tests/test_alloc.h: two helpers the task tests share (tests/test_neural.c, tests/test_mixture.c): a zeroed double
 * array that fails the test when memory runs out, and the inf-norm. Static functions: include once per test
 * program. */
#ifndef SBO_TESTS_TEST_ALLOC_H
#define SBO_TESTS_TEST_ALLOC_H
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

static double *dalloc(long n) {
    double *p = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    cr_assert(p);
    return p;
}

static double max_abs(long n, const double *v) {
    double m = 0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}
#endif
