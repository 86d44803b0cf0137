/* fuzz/fuzz_idx.c: libFuzzer harness for the IDX reader (core/sbo_idx.c: sbo_idx_read), raw and gzip paths.
 * Input: one mode byte, then the payload.
 *   mode % 4 == 0  the payload is the file as it is (a payload starting 1f 8b takes the gzip path)
 *   mode % 4 == 1  the payload gzipped here (zlib, in memory): the IDX parser behind a valid gzip stream
 *   mode % 4 == 2  gzipped, then the last 1 + (mode >> 2) % 16 bytes cut off (trailer / stream cut short)
 *   mode % 4 == 3  gzipped, then (mode >> 2) % 8 + 1 bytes of the payload's start appended (trailing garbage)
 * On success the result must be self-consistent (1 <= ndim <= 3, count = product of dims, the payload exactly
 * header + data, the data equal to the payload's), every data byte is read (so ASan sees a buffer shorter than
 * count), and modes 2 and 3 must never succeed; on failure err holds a message and out is empty. Any breach
 * aborts. No file is written (fuzz/fuzz_mem.h).
 * Run: make fuzz (FUZZ_SECONDS=...), or build-fuzz/fuzz_idx fuzz/corpus/fuzz_idx. */
#define _GNU_SOURCE
#include "fuzz/fuzz_mem.h"     /* the input as /proc/self/fd/N */
#include "core/sbo_idx.h"      /* the code under test */
#include "core/sbo_config.h"   /* SBO_ERR_LEN */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static fuzz_mem_file g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_mem_open(&g_file, "fuzz_idx");
    return 0;
}

/* gzip of src[0..n) into a malloc'd buffer; *out_n its length. NULL when zlib fails (out of memory). */
static unsigned char *gzip_bytes(const unsigned char *src, size_t n, size_t *out_n) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    uLong cap = deflateBound(&zs, (uLong)n) + 32;
    unsigned char *dst = malloc(cap);
    if (!dst) { deflateEnd(&zs); return NULL; }
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    *out_n = cap - zs.avail_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) { free(dst); return NULL; }
    return dst;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned mode = data[0];
    const unsigned char *payload = data + 1;
    size_t n = size - 1;
    unsigned char *file = NULL;
    size_t file_n = n;
    if (mode % 4 == 0) {
        fuzz_mem_set(&g_file, payload, n);
    } else {
        file = gzip_bytes(payload, n, &file_n);
        if (!file) return 0;
        if (mode % 4 == 2) {
            size_t cut = 1 + (mode >> 2) % 16;
            file_n = file_n > cut ? file_n - cut : 0;
        } else if (mode % 4 == 3) {
            size_t extra = (mode >> 2) % 8 + 1;
            unsigned char *grown = realloc(file, file_n + extra);
            if (!grown) { free(file); return 0; }
            file = grown;
            for (size_t i = 0; i < extra; i++) file[file_n + i] = i < n ? payload[i] : 0;
            file_n += extra;
        }
        fuzz_mem_set(&g_file, file, file_n);
        free(file);
    }

    sbo_idx x;
    char err[SBO_ERR_LEN];
    err[0] = '\0';
    if (sbo_idx_read(g_file.path, &x, err, sizeof err) != 0) {
        if (!err[0] || x.data || x.count || x.ndim) abort();   /* an error has a message and leaves out empty */
        return 0;
    }
    if (x.ndim < 1 || x.ndim > 3 || !x.data) abort();
    long prod = 1;
    for (int d = 0; d < x.ndim; d++) {
        if (x.dims[d] <= 0) abort();
        prod *= x.dims[d];
    }
    for (int d = x.ndim; d < 3; d++)
        if (x.dims[d] != 0) abort();
    if (prod != x.count) abort();
    /* every byte is readable (ASan); the payload was exactly header + data; a cut or extended stream never passes */
    unsigned sum = 0;
    for (long i = 0; i < x.count; i++) sum += x.data[i];
    size_t expect = (size_t)(4 + 4 * x.ndim + x.count);
    int raw_gz = mode % 4 == 0 && n >= 2 && payload[0] == 0x1f && payload[1] == 0x8b;
    if (mode % 4 == 2 || mode % 4 == 3) abort();
    if (!raw_gz && expect != n) abort();
    if (mode % 4 == 1 && memcmp(x.data, payload + 4 + 4 * x.ndim, (size_t)x.count) != 0) abort();
    (void)sum;
    sbo_idx_free(&x);
    return 0;
}
