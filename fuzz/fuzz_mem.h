/* fuzz/fuzz_mem.h: the harnesses' bytes as a file without writing one. The readers under test take a path and open
 * it themselves (sbo_input_open: regular files only), so each input goes into an anonymous in-memory file
 * (memfd_create: a regular file with no name on any disk) reached as /proc/self/fd/N. One memfd per harness, rewritten
 * per input; the kernel frees it when the process ends. Used by fuzz/fuzz_{idx,config,cli}.c. */
#ifndef SBO_FUZZ_MEM_H
#define SBO_FUZZ_MEM_H
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>   /* memfd_create (_GNU_SOURCE, defined by the including harness) */
#include <unistd.h>

typedef struct {
    int fd;
    char path[64];      /* "/proc/self/fd/N" */
} fuzz_mem_file;

/* Creates the memfd once (name shows only in /proc/self/fd links); aborts when the kernel has no memfd. */
static inline void fuzz_mem_open(fuzz_mem_file *f, const char *name) {
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("fuzz: memfd_create");
        abort();
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* The file's content becomes data[0..size); readers open f->path afresh, so they start at offset 0. */
static inline void fuzz_mem_set(fuzz_mem_file *f, const void *data, size_t size) {
    if (ftruncate(f->fd, 0) != 0) abort();
    const unsigned char *p = data;
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(f->fd, p + done, size - done, (off_t)done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
}
#endif
