/* core/sbo_arena.h: named arenas (STYLE.md pattern 5). Every buffer of a task or an algorithm is
 * declared once with its name and shape, then ONE flat allocation is carved by that size table.
 * A process-wide registry sums live bytes and keeps the peak, so memory is a sum we can print.
 * Exercised by: tests/test_arena.c, `sbo memory`.
 *
 * Use:   sbo_arena a; sbo_arena_init(&a, "bros.state");
 *        sbo_arena_add(&a, "Y", "L blocks m x n", n_Y, &Y);   ... more adds ...
 *        if (sbo_arena_commit(&a)) error;   -> Y now points into the flat block (zeroed)
 *        sbo_arena_free(&a); */
#ifndef SBO_ARENA_H
#define SBO_ARENA_H
#include <stddef.h>
#include <stdio.h>

#define SBO_ARENA_MAX_ENTRIES 64

typedef struct {
    char name[48];
    char shape[64];     /* human-readable shape formula with its values, e.g. "3x1 (m x n)" */
    long count;         /* number of doubles the buffer occupies (elements rounded up for float / int) */
    long elems;         /* number of elements of its own type */
    int kind;           /* 0 double, 1 float, 2 int, 3 long */
    void *dst;          /* where commit writes the pointer: a double **, float **, int ** or long ** by kind */
} sbo_arena_entry;

typedef struct sbo_arena {
    char name[48];
    int n;
    sbo_arena_entry entry[SBO_ARENA_MAX_ENTRIES];
    long total;         /* doubles */
    double *base;
    int committed;
    struct sbo_arena *next_live;    /* registry link */
    /* The memory provider (sbo_arena_set_memory); NULL alloc: host memory (aligned_alloc, free, memset). */
    void *(*mem_alloc)(size_t bytes);
    void (*mem_release)(void *p);
    void (*mem_zero)(void *p, size_t bytes);
    int device;         /* its memory is device memory: counted apart, never dereferenced on the host */
} sbo_arena;

void sbo_arena_init(sbo_arena *a, const char *name);
/* Declares a buffer; count may be 0 (the pointer is then NULL). Aborts on more than SBO_ARENA_MAX_ENTRIES. */
void sbo_arena_add(sbo_arena *a, const char *name, const char *shape, long count, double **dst);
/* The same for float32 buffers (the neural-network engine), int buffers (labels, indices) and long buffers
 * (minibatch sample ids). */
void sbo_arena_add_f32(sbo_arena *a, const char *name, const char *shape, long count, float **dst);
void sbo_arena_add_int(sbo_arena *a, const char *name, const char *shape, long count, int **dst);
void sbo_arena_add_long(sbo_arena *a, const char *name, const char *shape, long count, long **dst);
/* Gives the arena its memory from a provider (between init and commit): commit takes the block from alloc
 * (64-byte aligned bytes, NULL when out of memory) and zeroes it with zero, which the provider implements (commit
 * never writes the block from the host: a device provider's block may not be host-addressable); free gives it
 * back with release. device = 1: the block is device memory, counted in the registry's device bytes (apart from
 * the host bytes) and marked as such by sbo_arena_print. Without a provider: aligned_alloc, memset, free (host).
 * The views commit writes are then pointers into the provider's memory, to hand to the provider's functions. */
void sbo_arena_set_memory(sbo_arena *a, void *(*alloc)(size_t bytes), void (*release)(void *p),
                          void (*zero)(void *p, size_t bytes), int device);
int sbo_arena_commit(sbo_arena *a);      /* 0 ok, -1 out of memory; zero-fills */
void sbo_arena_free(sbo_arena *a);
size_t sbo_arena_bytes(const sbo_arena *a);
void sbo_arena_print(const sbo_arena *a, FILE *out);

/* Registry over all committed arenas of the process: host arenas (live_bytes, peak_bytes) and device arenas
 * (device_*) are summed apart; reset_peak resets both peaks. */
size_t sbo_arena_live_bytes(void);
size_t sbo_arena_peak_bytes(void);
size_t sbo_arena_device_live_bytes(void);
size_t sbo_arena_device_peak_bytes(void);
void sbo_arena_reset_peak(void);
const sbo_arena *sbo_arena_first_live(void);   /* iterate with ->next_live */

/* Process peak resident set (VmHWM from /proc/self/status), in bytes; 0 when unavailable. */
size_t sbo_process_peak_rss(void);
#endif
