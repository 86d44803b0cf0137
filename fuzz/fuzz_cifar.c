/* fuzz/fuzz_cifar.c: libFuzzer harness for the CIFAR binary batch reader (core/sbo_cifar.c: sbo_cifar_read_batch).
 * Input: one mode byte, then the file.
 *   mode bit 0     0: read as CIFAR-10 (3073-byte records), 1: as CIFAR-100 (3074-byte records)
 *   mode bit 1     1: append the file twice to one split (the five CIFAR-10 batches go into one split this way)
 * On success the split must hold exactly the file's records (size = n x record size), every label in range (10;
 * 100 fine and 20 coarse), and labels and pixels equal to the file's bytes in the order core/sbo_cifar.h documents;
 * on failure err holds a message and the split is as it was. Any breach aborts. No file is written (fuzz/fuzz_mem.h).
 * Run: make fuzz (FUZZ_SECONDS=...), or build-fuzz/fuzz_cifar fuzz/corpus/fuzz_cifar. */
#define _GNU_SOURCE
#include "fuzz/fuzz_mem.h"     /* the input as /proc/self/fd/N */
#include "core/sbo_cifar.h"    /* the code under test */
#include "core/sbo_config.h"   /* SBO_ERR_LEN */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static fuzz_mem_file g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_mem_open(&g_file, "fuzz_cifar");
    return 0;
}

/* The split must hold copies of the file's records, `times` times over. */
static void check_split(const sbo_image_split *sp, const unsigned char *file, size_t n, int cifar100, int times) {
    const size_t rec = (size_t)(cifar100 ? 2 : 1) + SBO_CIFAR_PIXELS;
    if (n == 0 || n % rec != 0) abort();   /* an empty file or a partial record must never load */
    long per = (long)(n / rec);
    if (sp->n != per * times || sp->rows != 32 || sp->cols != 32 || sp->channels != 3) abort();
    if (!sp->pixels || !sp->labels || (cifar100 != (sp->coarse_labels != NULL))) abort();
    for (long i = 0; i < sp->n; i++) {
        const unsigned char *r = file + (size_t)(i % per) * rec;
        if (cifar100 && (sp->coarse_labels[i] != r[0] || r[0] >= 20)) abort();
        if (sp->labels[i] != r[cifar100] || sp->labels[i] >= (cifar100 ? 100 : 10)) abort();
        if (memcmp(sp->pixels + (size_t)i * SBO_CIFAR_PIXELS, r + 1 + cifar100, SBO_CIFAR_PIXELS) != 0) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int cifar100 = data[0] & 1, twice = (data[0] >> 1) & 1;
    const unsigned char *file = data + 1;
    size_t n = size - 1;
    fuzz_mem_set(&g_file, file, n);

    sbo_image_split sp;
    memset(&sp, 0, sizeof sp);
    char err[SBO_ERR_LEN];
    int loaded = 0;
    for (int k = 0; k <= twice; k++) {
        err[0] = '\0';
        long before = sp.n;
        if (sbo_cifar_read_batch(g_file.path, cifar100, &sp, err, sizeof err) != 0) {
            if (!err[0] || sp.n != before) abort();   /* an error has a message and leaves the split as it was */
            break;
        }
        loaded++;
    }
    if (loaded > 0) check_split(&sp, file, n, cifar100, loaded);
    else if (sp.n != 0 || sp.pixels || sp.labels || sp.coarse_labels) abort();
    free(sp.pixels);
    free(sp.labels);
    free(sp.coarse_labels);
    return 0;
}
