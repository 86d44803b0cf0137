/* core/sbo_cifar.c: the CIFAR-10 / CIFAR-100 binary loaders (the format and the pixel order: core/sbo_cifar.h). Every
 * error is one line naming the file and the fix (STYLE.md pattern 12; docs/ERRORS.md), as in core/sbo_idx.c.
 * Exercised by: tests/test_cifar.c, fuzz/fuzz_cifar.c. */
#include "core/sbo_cifar.h"   /* the interface */
#include "core/sbo_input.h"   /* sbo_input_open: regular files only (a FIFO never blocks), remembered as inputs */
#include "core/sbo_log.h"     /* sbo_errf */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CIFAR_MAX_BYTES 2147483647L   /* 2^31 - 1 bytes of pixels per split: 14x the 153.6 MB of CIFAR's training set */
#define CIFAR_PATH_LEN (4096 + 64)    /* a data directory (PATH_MAX) and a file name */

typedef struct {
    const char *name;          /* the task.dataset value */
    const char *title;         /* for messages */
    const char *default_dir;
    const char *subdir;        /* where the official archive extracts */
    const char *train[5];
    int n_train;
    const char *test;
    const char *files;         /* the file list, for messages */
    int n_classes, n_coarse;
} cifar_kind;

static const cifar_kind k_cifar[2] = {
    {"cifar10", "CIFAR-10", SBO_CIFAR10_DIR, "cifar-10-batches-bin",
     {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}, 5,
     "test_batch.bin", "data_batch_1..5.bin and test_batch.bin", 10, 0},
    {"cifar100", "CIFAR-100", SBO_CIFAR100_DIR, "cifar-100-binary", {"train.bin"}, 1, "test.bin",
     "train.bin and test.bin", 100, 20},
};

/* How to get the files, the end of every message. */
#define CIFAR_HOW(k) "get them with `data_fetch/fetch_cifar.sh %s` (run from the repository root), or point "      \
                     "--data-dir (or SBO_DATA_DIR) at the directory holding %s"

static const cifar_kind *kind_of(const char *name) {
    for (int i = 0; i < 2; i++)
        if (name && strcmp(name, k_cifar[i].name) == 0) return &k_cifar[i];
    return NULL;
}

int sbo_cifar_known(const char *name) { return kind_of(name) != NULL; }

// --- one batch file ---------------------------------------------------------------------------------------------

int sbo_cifar_read_batch(const char *path, int cifar100, sbo_image_split *sp, char *err, size_t errlen) {
    const cifar_kind *k = &k_cifar[cifar100 ? 1 : 0];
    const int nlab = cifar100 ? 2 : 1;
    const long rec = nlab + SBO_CIFAR_PIXELS;
    char fix[400];
    snprintf(fix, sizeof fix, CIFAR_HOW(k), k->name, k->files);
    int fd = sbo_input_open(path, "data file", fix, err, errlen);
    if (fd < 0) return -1;
    struct stat st;
    unsigned char *buf = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        sbo_errf(err, errlen, "cannot read '%s': %s; %s", path, strerror(errno), fix);
        goto done;
    }
    long long size = (long long)st.st_size;
    if (size == 0) {
        sbo_errf(err, errlen, "'%s' is empty; a %s batch holds records of %ld bytes: replace the file (re-run "
                 "data_fetch/fetch_cifar.sh %s)", path, k->title, rec, k->name);
        goto done;
    }
    if (size % rec != 0) {
        sbo_errf(err, errlen, "'%s' is %lld bytes, not a whole number of %ld-byte %s records (%lld records and %lld "
                 "bytes over): the file is truncated or not the %s binary version; replace it (data_fetch/"
                 "fetch_cifar.sh %s)", path, size, rec, k->title, size / rec, size % rec, k->title, k->name);
        goto done;
    }
    long long n = size / rec;
    if (n > CIFAR_MAX_BYTES / SBO_CIFAR_PIXELS - sp->n) {   /* no overflow: n < 2^63 / 3073 */
        sbo_errf(err, errlen, "'%s' is %lld bytes: the split would hold more than 2^31-1 bytes of pixels; this is "
                 "not a %s batch (one is 30 MB), replace it", path, size, k->title);
        goto done;
    }
    buf = malloc((size_t)size);
    if (!buf) {
        sbo_errf(err, errlen, "out of memory reading '%s' (%lld bytes)", path, size);
        goto done;
    }
    long long got = 0;
    while (got < size) {   /* the file may shrink while read (a download still running): that is a truncation */
        ssize_t r = read(fd, buf + got, (size_t)(size - got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            sbo_errf(err, errlen, "cannot read '%s': %s; %s", path, strerror(errno), fix);
            goto done;
        }
        if (r == 0) break;
        got += r;
    }
    unsigned char probe;
    ssize_t more = got == size ? read(fd, &probe, 1) : 0;
    if (got < size || more > 0) {
        sbo_errf(err, errlen, "'%s' changed while it was read (%lld bytes, then %s): is a download still writing it? "
                 "Wait for it, or replace the file", path, size, got < size ? "it ended early" : "it grew");
        goto done;
    }
    for (long long i = 0; i < n; i++) {
        const unsigned char *r = buf + i * rec;
        if (cifar100 && r[0] >= k->n_coarse) {
            sbo_errf(err, errlen, "'%s': coarse label %u in record %lld (byte %lld) is not a superclass 0..%d; the "
                     "file is corrupt or not CIFAR-100 binary, replace it", path, r[0], i, i * rec, k->n_coarse - 1);
            goto done;
        }
        if (r[nlab - 1] >= k->n_classes) {
            sbo_errf(err, errlen, "'%s': %slabel %u in record %lld (byte %lld) is not a class 0..%d; the file is "
                     "corrupt or not %s binary%s, replace it", path, cifar100 ? "fine " : "", r[nlab - 1], i,
                     i * rec + nlab - 1, k->n_classes - 1, k->title,
                     cifar100 ? "" : " (CIFAR-100's train.bin/test.bin? use task.dataset=cifar100)");
            goto done;
        }
    }
    /* append: grow the split's arrays, then copy (on failure sp stays as it was: realloc keeps the old block) */
    long n0 = sp->n, n1 = sp->n + (long)n;
    unsigned char *px = realloc(sp->pixels, (size_t)n1 * SBO_CIFAR_PIXELS);
    if (px) sp->pixels = px;
    unsigned char *lb = px ? realloc(sp->labels, (size_t)n1) : NULL;
    if (lb) sp->labels = lb;
    unsigned char *cl = NULL;
    if (lb && cifar100) {
        cl = realloc(sp->coarse_labels, (size_t)n1);
        if (cl) sp->coarse_labels = cl;
    }
    if (!px || !lb || (cifar100 && !cl)) {
        sbo_errf(err, errlen, "out of memory loading '%s' (%ld images)", path, n1);
        goto done;
    }
    for (long i = 0; i < (long)n; i++) {
        const unsigned char *r = buf + i * rec;
        if (cifar100) sp->coarse_labels[n0 + i] = r[0];
        sp->labels[n0 + i] = r[nlab - 1];
        memcpy(sp->pixels + (size_t)(n0 + i) * SBO_CIFAR_PIXELS, r + nlab, SBO_CIFAR_PIXELS);
    }
    sp->n = n1;
    sp->rows = sp->cols = SBO_CIFAR_SIDE;
    sp->channels = SBO_CIFAR_CHANNELS;
    rc = 0;
done:
    close(fd);
    free(buf);
    return rc;
}

// --- the set ------------------------------------------------------------------------------------------------------

/* path = dir/name; -1 with a message when it does not fit. */
static int join(char *path, size_t len, const char *dir, const char *name, const cifar_kind *k, char *err,
                size_t errlen) {
    int n = snprintf(path, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) {
        sbo_errf(err, errlen, "%s: data directory path '%.200s...' is too long; use a shorter --data-dir", k->name,
                 dir);
        return -1;
    }
    return 0;
}

/* The directory that holds the files: dir when its first training file exists (as any kind of file: a FIFO is
 * refused later, by name), else dir/<official subdirectory> when that holds it; else the "missing" message. */
static int find_dir(const cifar_kind *k, const char *dir, char *out, size_t outlen, char *err, size_t errlen) {
    char p[CIFAR_PATH_LEN], sub[CIFAR_PATH_LEN];
    struct stat st;
    if (join(p, sizeof p, dir, k->train[0], k, err, errlen)) return -1;
    if (stat(p, &st) == 0) {
        snprintf(out, outlen, "%s", dir);
        return 0;
    }
    if (join(sub, sizeof sub, dir, k->subdir, k, err, errlen) ||
        join(p, sizeof p, sub, k->train[0], k, err, errlen))
        return -1;
    if (stat(p, &st) == 0) {
        if (strlen(sub) >= outlen) {
            sbo_errf(err, errlen, "%s: data directory path '%.200s...' is too long; use a shorter --data-dir",
                     k->name, sub);
            return -1;
        }
        snprintf(out, outlen, "%s", sub);
        return 0;
    }
    char how[400];
    snprintf(how, sizeof how, CIFAR_HOW(k), k->name, k->files);
    sbo_errf(err, errlen, "%s: missing '%s/%s' (nor found in '%s/'); %s", k->name, dir, k->train[0], k->subdir, how);
    return -1;
}

/* Loads the named files of dir into sp, in order. */
static int load_files(const cifar_kind *k, const char *dir, const char *const *names, int n_names,
                      sbo_image_split *sp, char *err, size_t errlen) {
    long first = -1;
    for (int i = 0; i < n_names; i++) {
        char p[CIFAR_PATH_LEN];
        struct stat st;
        if (join(p, sizeof p, dir, names[i], k, err, errlen)) return -1;
        if (stat(p, &st) != 0) {
            char how[400];
            snprintf(how, sizeof how, CIFAR_HOW(k), k->name, k->files);
            sbo_errf(err, errlen, "%s: missing '%s' (%s); %s", k->name, p, strerror(errno), how);
            return -1;
        }
        long before = sp->n;
        if (sbo_cifar_read_batch(p, k->n_coarse > 0, sp, err, errlen)) return -1;
        long got = sp->n - before;
        if (first < 0) first = got;
        else if (got != first) {
            sbo_errf(err, errlen, "'%s' holds %ld records but '%s' holds %ld; the batches must be of one size (10000 "
                     "each in %s): one is cut short or from another set, replace it", p, got, names[0], first,
                     k->title);
            return -1;
        }
    }
    return 0;
}

int sbo_cifar_load(const char *dataset, const char *data_dir, sbo_image_set *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    const cifar_kind *k = kind_of(dataset);
    if (!k) {
        sbo_errf(err, errlen, "unknown image data set '%s'; known: " SBO_IMAGE_SET_NAMES, dataset ? dataset : "(null)");
        return -1;
    }
    const char *dir = sbo_image_dir(k->name, data_dir, k->default_dir, err, errlen);
    if (!dir) return -1;
    snprintf(out->name, sizeof out->name, "%s", k->name);
    if (find_dir(k, dir, out->dir, sizeof out->dir, err, errlen)) return -1;
    out->n_classes = k->n_classes;
    out->n_coarse_classes = k->n_coarse;
    if (load_files(k, out->dir, k->train, k->n_train, &out->train, err, errlen) ||
        load_files(k, out->dir, &k->test, 1, &out->test, err, errlen)) {
        sbo_image_set_free(out);
        return -1;
    }
    return 0;
}
