/* tests/test_arena.c: named arenas and the process registry (core/sbo_arena.c): carving, alignment,
 * zero fill, live and peak accounting, a memory provider and device bytes, the printed table, the entry limit, and
 * VmHWM.
 * Criterion runs every test in its own process, so the registry starts empty in each.
 * Run: ctest -R test_arena, or build-core/test_arena --verbose. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/sbo_arena.h"   /* the code under test */

Test(arena, carve_align_zero) {
    sbo_arena a;
    double *x = (double *)1, *Y = (double *)1, *empty = (double *)1;
    sbo_arena_init(&a, "state");
    sbo_arena_add(&a, "x", "5 (d)", 5, &x);
    sbo_arena_add(&a, "empty", "0", 0, &empty);
    sbo_arena_add(&a, "Y", "3x4 (m x n)", 12, &Y);
    cr_assert_eq(sbo_arena_commit(&a), 0);
    cr_assert_not_null(x);
    cr_assert_not_null(Y);
    cr_assert_null(empty, "a zero-size buffer gets a NULL pointer");
    cr_assert_eq((uintptr_t)x % 64, 0, "buffers start on 64-byte boundaries");
    cr_assert_eq((uintptr_t)Y % 64, 0);
    cr_assert(Y >= x + 5, "buffers must not overlap");
    for (int i = 0; i < 5; i++) cr_assert(x[i] == 0.0);
    for (int i = 0; i < 12; i++) cr_assert(Y[i] == 0.0);
    /* 5 -> 8 doubles, 12 -> 16 doubles of 64-byte granules */
    cr_assert_eq(sbo_arena_bytes(&a), (8 + 16) * sizeof(double));
    sbo_arena_free(&a);
    cr_assert_null(x, "free clears the views");
    cr_assert_eq(sbo_arena_bytes(&a), 0);
}

Test(arena, live_and_peak_accounting) {
    cr_assert_eq(sbo_arena_live_bytes(), 0);
    sbo_arena a, b;
    double *p, *q;
    sbo_arena_init(&a, "a");
    sbo_arena_add(&a, "p", "1000", 1000, &p);
    sbo_arena_init(&b, "b");
    sbo_arena_add(&b, "q", "2000", 2000, &q);
    cr_assert_eq(sbo_arena_live_bytes(), 0, "nothing is live before commit");
    cr_assert_eq(sbo_arena_commit(&a), 0);
    cr_assert_eq(sbo_arena_commit(&b), 0);
    size_t A = sbo_arena_bytes(&a), B = sbo_arena_bytes(&b);
    cr_assert_eq(A, 1000 * sizeof(double));
    cr_assert_eq(B, 2000 * sizeof(double));
    cr_assert_eq(sbo_arena_live_bytes(), A + B);
    cr_assert_eq(sbo_arena_peak_bytes(), A + B);
    int n = 0;
    for (const sbo_arena *it = sbo_arena_first_live(); it; it = it->next_live) n++;
    cr_assert_eq(n, 2, "registry lists both arenas");
    sbo_arena_free(&a);
    cr_assert_eq(sbo_arena_live_bytes(), B);
    cr_assert_eq(sbo_arena_peak_bytes(), A + B, "peak remembers the high-water mark");
    sbo_arena_reset_peak();
    cr_assert_eq(sbo_arena_peak_bytes(), B);
    sbo_arena c;
    double *r;
    sbo_arena_init(&c, "c");
    sbo_arena_add(&c, "r", "500", 500, &r);
    cr_assert_eq(sbo_arena_commit(&c), 0);
    cr_assert_eq(sbo_arena_peak_bytes(), B + sbo_arena_bytes(&c));
    sbo_arena_free(&b);
    sbo_arena_free(&c);
    cr_assert_eq(sbo_arena_live_bytes(), 0);
    cr_assert_null(sbo_arena_first_live());
    sbo_arena_free(&c);   /* a second free is harmless */
}

Test(arena, print_table) {
    sbo_arena a;
    double *Z;
    sbo_arena_init(&a, "bros.state");
    sbo_arena_add(&a, "Z", "784x10 (m x n)", 7840, &Z);
    cr_assert_eq(sbo_arena_commit(&a), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sbo_arena_print(&a, f);
    fclose(f);
    cr_assert(strstr(buf, "bros.state") && strstr(buf, "784x10 (m x n)") && strstr(buf, "62720"),
              "table lacks name, shape or bytes:\n%s", buf);
    cr_assert(strstr(buf, "total"), "table lacks the total:\n%s", buf);
    free(buf);
    sbo_arena_free(&a);
}

/* A memory provider: commit takes the block from it and zeroes it through it (never a host memset), free gives it
 * back; device = 1 counts the bytes apart from the host's and marks the printed table. */
static int n_alloc, n_zero, n_release;
static void *prov_alloc(size_t bytes) { n_alloc++; return aligned_alloc(64, bytes); }
static void prov_zero(void *p, size_t bytes) { n_zero++; memset(p, 0, bytes); }
static void prov_release(void *p) { n_release++; free(p); }

Test(arena, memory_provider_and_device_bytes) {
    sbo_arena h, d;
    double *x, *y;
    sbo_arena_init(&h, "host");
    sbo_arena_add(&h, "x", "3", 3, &x);
    sbo_arena_init(&d, "device");
    sbo_arena_set_memory(&d, prov_alloc, prov_release, prov_zero, 1);
    sbo_arena_add(&d, "y", "20", 20, &y);
    cr_assert_eq(sbo_arena_commit(&h), 0);
    cr_assert_eq(sbo_arena_commit(&d), 0);
    cr_assert(n_alloc == 1 && n_zero == 1 && n_release == 0, "alloc %d, zero %d", n_alloc, n_zero);
    cr_assert_eq((uintptr_t)y % 64, 0);
    cr_assert_eq(sbo_arena_live_bytes(), 8 * sizeof(double), "the device arena is not host bytes");
    cr_assert_eq(sbo_arena_device_live_bytes(), 24 * sizeof(double));
    cr_assert_eq(sbo_arena_device_peak_bytes(), 24 * sizeof(double));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sbo_arena_print(&d, f);
    sbo_arena_print(&h, f);
    fclose(f);
    cr_assert(strstr(buf, "arena 'device' (device memory)") && strstr(buf, "arena 'host'\n"), "%s", buf);
    free(buf);
    sbo_arena_free(&d);
    cr_assert(n_release == 1 && y == NULL);
    cr_assert_eq(sbo_arena_device_live_bytes(), 0);
    cr_assert_eq(sbo_arena_device_peak_bytes(), 24 * sizeof(double), "the device peak remembers");
    sbo_arena_reset_peak();
    cr_assert_eq(sbo_arena_device_peak_bytes(), 0);
    sbo_arena_free(&h);
}

Test(arena, more_than_64_buffers_aborts, .signal = SIGABRT) {
    sbo_arena a;
    double *p[SBO_ARENA_MAX_ENTRIES + 1];
    sbo_arena_init(&a, "too_many");
    for (int i = 0; i <= SBO_ARENA_MAX_ENTRIES; i++) sbo_arena_add(&a, "buf", "1", 1, &p[i]);
}

Test(arena, process_peak_rss) {
    size_t before = sbo_process_peak_rss();
    cr_assert_gt(before, 0, "VmHWM unreadable");
    /* Touch 64 MiB resident. */
    size_t n = 64u << 20;
    char *big = malloc(n);
    cr_assert_not_null(big);
    memset(big, 1, n);
    size_t after = sbo_process_peak_rss();
    /* The peak may already exceed the current RSS, so require only what must hold: it covers the block. */
    cr_assert_geq(after, before);
    cr_assert_geq(after, n, "VmHWM %zu -> %zu after touching %zu bytes", before, after, n);
    free(big);
}
