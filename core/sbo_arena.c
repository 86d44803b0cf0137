/* core/sbo_arena.c: named arenas carved from one flat allocation (STYLE.md pattern 5), a process-wide
 * registry of the committed ones with live and peak bytes, and the process peak RSS (VmHWM).
 * The memory model of ALGORITHMS.md §9 is held against these numbers.
 * Exercised by: build/tests/test_arena, `sbo memory`. */
#include "core/sbo_arena.h"   /* the interface */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every buffer starts on a 64-byte boundary (a cache line, a full AVX-512 vector), so two buffers
 * never share a line and vector loads are aligned. The padding (< 64 bytes per buffer) is counted in
 * the arena's bytes: those are the bytes the process really holds. */
#define SBO_ARENA_ALIGN_DOUBLES 8L

static long round_up(long n) {
    return (n + SBO_ARENA_ALIGN_DOUBLES - 1) / SBO_ARENA_ALIGN_DOUBLES * SBO_ARENA_ALIGN_DOUBLES;
}

// --- registry --------------------------------------------------------------------------------------

/* A mutex, because theory checks commit per-thread arenas inside OpenMP regions. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sbo_arena *g_live = NULL;
static size_t g_live_bytes = 0, g_peak_bytes = 0;   /* host arenas */
static size_t g_dev_live = 0, g_dev_peak = 0;         /* device arenas */

static void registry_add(sbo_arena *a) {
    pthread_mutex_lock(&g_lock);
    a->next_live = g_live;
    g_live = a;
    size_t *live = a->device ? &g_dev_live : &g_live_bytes, *peak = a->device ? &g_dev_peak : &g_peak_bytes;
    *live += sbo_arena_bytes(a);
    if (*live > *peak) *peak = *live;
    pthread_mutex_unlock(&g_lock);
}

static void registry_remove(sbo_arena *a) {
    pthread_mutex_lock(&g_lock);
    for (sbo_arena **p = &g_live; *p; p = &(*p)->next_live) {
        if (*p == a) {
            *p = a->next_live;
            *(a->device ? &g_dev_live : &g_live_bytes) -= sbo_arena_bytes(a);
            break;
        }
    }
    a->next_live = NULL;
    pthread_mutex_unlock(&g_lock);
}

static size_t locked_read(const size_t *counter) {
    pthread_mutex_lock(&g_lock);
    size_t b = *counter;
    pthread_mutex_unlock(&g_lock);
    return b;
}

size_t sbo_arena_live_bytes(void) { return locked_read(&g_live_bytes); }
size_t sbo_arena_peak_bytes(void) { return locked_read(&g_peak_bytes); }
size_t sbo_arena_device_live_bytes(void) { return locked_read(&g_dev_live); }
size_t sbo_arena_device_peak_bytes(void) { return locked_read(&g_dev_peak); }

void sbo_arena_reset_peak(void) {
    pthread_mutex_lock(&g_lock);
    g_peak_bytes = g_live_bytes;
    g_dev_peak = g_dev_live;
    pthread_mutex_unlock(&g_lock);
}

const sbo_arena *sbo_arena_first_live(void) {
    return g_live;
}

// --- one arena -------------------------------------------------------------------------------------

/* Writes the view pointer of an entry through its own pointer type. */
static void set_view(sbo_arena_entry *e, double *p) {
    if (!e->dst) return;
    if (e->kind == 0) *(double **)e->dst = p;
    else if (e->kind == 1) *(float **)e->dst = (float *)p;
    else if (e->kind == 2) *(int **)e->dst = (int *)p;
    else *(long **)e->dst = (long *)p;
}

void sbo_arena_init(sbo_arena *a, const char *name) {
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name ? name : "");
}

static void arena_add(sbo_arena *a, const char *name, const char *shape, long count, int kind, void *dst) {
    if (a->committed) {
        fprintf(stderr, "sbo_arena_add: arena '%s' is already committed; declare '%s' before sbo_arena_commit\n",
                a->name, name);
        abort();
    }
    if (a->n >= SBO_ARENA_MAX_ENTRIES) {
        fprintf(stderr, "sbo_arena_add: arena '%s' has more than %d buffers (adding '%s'); "
                "raise SBO_ARENA_MAX_ENTRIES in core/sbo_arena.h or split the arena\n",
                a->name, SBO_ARENA_MAX_ENTRIES, name);
        abort();
    }
    if (count < 0) {
        fprintf(stderr, "sbo_arena_add: arena '%s', buffer '%s' (%s): negative size %ld\n", a->name, name,
                shape ? shape : "", count);
        abort();
    }
    sbo_arena_entry *e = &a->entry[a->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->shape, sizeof e->shape, "%s", shape ? shape : "");
    e->elems = count;
    e->kind = kind;
    size_t elem = kind == 0 ? sizeof(double) : kind == 1 ? sizeof(float) : kind == 2 ? sizeof(int) : sizeof(long);
    e->count = (long)(((size_t)count * elem + sizeof(double) - 1) / sizeof(double));
    e->dst = dst;
    set_view(e, NULL);
}

void sbo_arena_add(sbo_arena *a, const char *name, const char *shape, long count, double **dst) {
    arena_add(a, name, shape, count, 0, dst);
}
void sbo_arena_add_f32(sbo_arena *a, const char *name, const char *shape, long count, float **dst) {
    arena_add(a, name, shape, count, 1, dst);
}
void sbo_arena_add_int(sbo_arena *a, const char *name, const char *shape, long count, int **dst) {
    arena_add(a, name, shape, count, 2, dst);
}
void sbo_arena_add_long(sbo_arena *a, const char *name, const char *shape, long count, long **dst) {
    arena_add(a, name, shape, count, 3, dst);
}

void sbo_arena_set_memory(sbo_arena *a, void *(*alloc)(size_t bytes), void (*release)(void *p),
                          void (*zero)(void *p, size_t bytes), int device) {
    if (a->committed || !alloc || !release || !zero) {
        fprintf(stderr, "sbo_arena_set_memory: arena '%s': %s\n", a->name,
                a->committed ? "already committed; give the provider before sbo_arena_commit"
                             : "a provider needs alloc, release and zero");
        abort();
    }
    a->mem_alloc = alloc;
    a->mem_release = release;
    a->mem_zero = zero;
    a->device = device;
}

int sbo_arena_commit(sbo_arena *a) {
    if (a->committed) return 0;
    long total = 0;
    for (int i = 0; i < a->n; i++) total += round_up(a->entry[i].count);
    a->total = total;
    a->base = NULL;
    if (total > 0) {
        size_t bytes = (size_t)total * sizeof(double);   /* a multiple of 64, as aligned_alloc wants */
        a->base = a->mem_alloc ? a->mem_alloc(bytes) : aligned_alloc(SBO_ARENA_ALIGN_DOUBLES * sizeof(double), bytes);
        if (!a->base) return -1;
        if (a->mem_alloc) a->mem_zero(a->base, bytes);   /* the provider's memory: zeroed by the provider */
        else memset(a->base, 0, bytes);
    }
    long off = 0;
    for (int i = 0; i < a->n; i++) {
        sbo_arena_entry *e = &a->entry[i];
        set_view(e, e->count > 0 ? a->base + off : NULL);
        off += round_up(e->count);
    }
    a->committed = 1;
    registry_add(a);
    return 0;
}

void sbo_arena_free(sbo_arena *a) {
    if (a->committed) registry_remove(a);
    if (a->base && a->mem_alloc) a->mem_release(a->base);
    else free(a->base);
    a->base = NULL;
    /* Stale views would point into freed memory; NULL makes a use after free fail loudly. */
    for (int i = 0; i < a->n; i++)
        set_view(&a->entry[i], NULL);
    a->committed = 0;
}

size_t sbo_arena_bytes(const sbo_arena *a) {
    return a->committed ? (size_t)a->total * sizeof(double) : 0;
}

void sbo_arena_print(const sbo_arena *a, FILE *out) {
    /* Before commit the table shows the declared sizes (what commit will allocate). */
    long total = 0;
    for (int i = 0; i < a->n; i++) total += round_up(a->entry[i].count);
    fprintf(out, "arena '%s'%s%s\n", a->name, a->device ? " (device memory)" : "",
            a->committed ? "" : " (not committed)");
    fprintf(out, "  %-24s %-28s %14s %10s\n", "name", "shape", "bytes", "MiB");
    for (int i = 0; i < a->n; i++) {
        const sbo_arena_entry *e = &a->entry[i];
        double b = (double)e->count * sizeof(double);
        fprintf(out, "  %-24s %-28s %14.0f %10.3f\n", e->name, e->shape, b, b / 1048576.0);
    }
    double tb = (double)total * sizeof(double);
    fprintf(out, "  %-24s %-28s %14.0f %10.3f\n", "total", "(incl. 64-byte alignment)", tb, tb / 1048576.0);
}

// --- process peak ----------------------------------------------------------------------------------

size_t sbo_process_peak_rss(void) {
    /* VmHWM includes the runtime's and the libraries' own memory (PLATFORM.md): report it beside the
     * arena peak, never instead of it. */
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            unsigned long long v = 0;
            if (sscanf(line + 6, "%llu", &v) == 1) kb = (size_t)v;
            break;
        }
    }
    fclose(f);
    return kb * 1024;
}
