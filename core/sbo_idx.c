/* core/sbo_idx.c: the IDX reader (MNIST / Fashion-MNIST format, .gz or not, through zlib's inflate), the
 * image-set loader, and the deterministic split permutation (STYLE.md pattern 12: every error one line naming the
 * file and the fix).
 * Exercised by: tests/test_idx.c (generated, truncated, corrupt files; the Debian Fashion-MNIST when installed).
 *
 * IDX layout (big-endian): bytes 0,0, element type (0x08 = unsigned byte), ndim; then ndim 32-bit dims; then
 * exactly prod(dims) bytes of data, row-major. Anything after the data is an error, as is a short file. */
#include "core/sbo_idx.h"   /* the interface */
#include "core/sbo_log.h"   /* sbo_errf */

#include "core/sbo_rng.h"   /* sbo_stream, SBO_RNG_DATA_SPLIT */

#include "core/sbo_input.h" /* sbo_input_open: regular files only, remembered as inputs */
#include "core/sbo_cifar.h" /* sbo_cifar_load: the cifar10 and cifar100 sets */

#include <zlib.h>           /* inflate: .gz files, trailer and trailing bytes checked */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_MAX_BYTES 2147483647L   /* 2^31 - 1: far above any MNIST-like set; beyond it the header is corrupt */
#define IDX_N_CLASSES 10
#define SBO_IDX_PATH_LEN (4096 + 64)   /* a data directory (PATH_MAX) and a file name */

/* How to get the data, appended to "cannot open" messages of the IDX reader (which does not know the set). */
#define IDX_HOW_TO_GET "get the data with `sudo apt-get install dataset-fashion-mnist` (Fashion-MNIST) or " \
                       "`data_fetch/fetch_mnist.sh` (MNIST), or point --data-dir (or SBO_DATA_DIR) at its directory"

/* The source of an IDX file: the bytes of a plain file, or the inflated bytes of a gzip file (inflate directly,
 * not gzread: gzread accepts a gzip stream whose CRC trailer is cut off, and ignores what follows the stream). */
typedef struct {
    int fd;
    int gz;                     /* 1: the file starts with the gzip magic 1f 8b */
    z_stream zs;
    int zs_live;
    int ended;                  /* gzip: inflate reached Z_STREAM_END (the trailer's CRC-32 and length checked) */
    int eof;                    /* no more bytes in the file */
    unsigned char in[1 << 17];
    size_t in_pos, in_len;      /* unread input bytes in[in_pos .. in_len) */
} idx_src;

/* Fill the input buffer when it is empty. 0, or -1 on a read error (errno set). */
static int src_fill(idx_src *s) {
    if (s->in_pos < s->in_len || s->eof) return 0;
    for (;;) {
        ssize_t r = read(s->fd, s->in, sizeof s->in);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        s->in_pos = 0;
        s->in_len = (size_t)r;
        if (r == 0) s->eof = 1;
        return 0;
    }
}

/* Reads up to n bytes; *got = bytes read. 0 (end of data or n reached), -1 with err on a read or gzip error. */
static int src_read(idx_src *s, const char *path, unsigned char *buf, long n, long *got, char *err, size_t errlen) {
    *got = 0;
    while (*got < n) {
        if (src_fill(s) != 0) {
            sbo_errf(err, errlen, "cannot read '%s': %s; %s", path, strerror(errno), IDX_HOW_TO_GET);
            return -1;
        }
        if (!s->gz) {
            size_t k = s->in_len - s->in_pos;
            if (k == 0) return 0;
            if ((long)k > n - *got) k = (size_t)(n - *got);
            memcpy(buf + *got, s->in + s->in_pos, k);
            s->in_pos += k;
            *got += (long)k;
            continue;
        }
        if (s->ended) return 0;
        if (s->in_pos == s->in_len && s->eof) return 0;   /* the stream ends early: the caller reports it */
        long want = n - *got;
        if (want > (1L << 30)) want = 1L << 30;
        s->zs.next_in = s->in + s->in_pos;
        s->zs.avail_in = (uInt)(s->in_len - s->in_pos);
        s->zs.next_out = buf + *got;
        s->zs.avail_out = (uInt)want;
        int zr = inflate(&s->zs, Z_NO_FLUSH);
        s->in_pos = s->in_len - s->zs.avail_in;
        *got += want - (long)s->zs.avail_out;
        if (zr == Z_STREAM_END) s->ended = 1;
        else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            sbo_errf(err, errlen, "'%s': corrupt gzip data (%s); replace the file (re-run data_fetch/fetch_mnist.sh, "
                     "or `sudo apt-get install --reinstall dataset-fashion-mnist`)",
                     path, s->zs.msg ? s->zs.msg : zr == Z_MEM_ERROR ? "out of memory" : "zlib error");
            return -1;
        }
    }
    return 0;
}

/* After the data: a gzip file must end with its stream (trailer included) and hold nothing after it. */
static int src_check_end(idx_src *s, const char *path, char *err, size_t errlen) {
    if (!s->gz) return 0;
    if (!s->ended) {
        sbo_errf(err, errlen, "'%s': the gzip stream ends early (its CRC-32 trailer is missing or cut off: a truncated "
                 "download?); replace the file", path);
        return -1;
    }
    long extra = (long)(s->in_len - s->in_pos);
    for (;;) {
        s->in_pos = s->in_len;
        if (src_fill(s) != 0) {
            sbo_errf(err, errlen, "cannot read '%s': %s; %s", path, strerror(errno), IDX_HOW_TO_GET);
            return -1;
        }
        if (s->eof) break;
        extra += (long)s->in_len;
    }
    if (extra > 0) {
        sbo_errf(err, errlen, "'%s': %ld bytes of trailing garbage after the gzip stream; the file is corrupt, "
                 "replace it", path, extra);
        return -1;
    }
    return 0;
}

static uint32_t be32(const unsigned char *b) {
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

void sbo_idx_free(sbo_idx *x) {
    if (!x) return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

int sbo_idx_read(const char *path, sbo_idx *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    idx_src *src = calloc(1, sizeof *src);
    if (!src) {
        sbo_errf(err, errlen, "out of memory opening '%s'", path);
        return -1;
    }
    src->fd = sbo_input_open(path, "data file", IDX_HOW_TO_GET, err, errlen);
    if (src->fd < 0) {
        free(src);
        return -1;
    }
    unsigned char head[16];
    long got = 0;
    int rc = -1;
    unsigned char *data = NULL;

    if (src_fill(src) != 0) {
        sbo_errf(err, errlen, "cannot read '%s': %s; %s", path, strerror(errno), IDX_HOW_TO_GET);
        goto done;
    }
    if (src->in_len >= 2 && src->in[0] == 0x1f && src->in[1] == 0x8b) {
        src->gz = 1;
        if (inflateInit2(&src->zs, 15 + 16) != Z_OK) {   /* 15 + 16: a gzip wrapper, CRC-32 checked */
            sbo_errf(err, errlen, "out of memory reading '%s' (zlib)", path);
            goto done;
        }
        src->zs_live = 1;
    }

    if (src_read(src, path, head, 4, &got, err, errlen)) goto done;
    if (got < 4) {
        sbo_errf(err, errlen, "'%s' is too short for an IDX header (%ld bytes); the file is truncated or not IDX",
                path, got);
        goto done;
    }
    if (head[0] != 0 || head[1] != 0) {
        sbo_errf(err, errlen, "'%s' is not an IDX file: magic bytes %02x %02x %02x %02x, expected 00 00 08 <ndim 1..3>",
                path, head[0], head[1], head[2], head[3]);
        goto done;
    }
    if (head[2] != 0x08) {
        sbo_errf(err, errlen, "'%s': IDX element type 0x%02x is not supported, only unsigned bytes (0x08)",
                path, head[2]);
        goto done;
    }
    int ndim = head[3];
    if (ndim < 1 || ndim > 3) {
        sbo_errf(err, errlen, "'%s': the IDX header declares %d dimensions, expected 1 (labels) to 3 (images)",
                path, ndim);
        goto done;
    }
    if (src_read(src, path, head + 4, 4L * ndim, &got, err, errlen)) goto done;
    if (got < 4L * ndim) {
        sbo_errf(err, errlen, "'%s': truncated IDX header: expected %d bytes of dimensions, got %ld",
                path, 4 * ndim, got);
        goto done;
    }
    long count = 1;
    char dimtext[48] = "";
    for (int d = 0; d < ndim; d++) {
        uint32_t v = be32(head + 4 + 4 * d);
        size_t used = strlen(dimtext);
        snprintf(dimtext + used, sizeof dimtext - used, "%s%lu", d ? " x " : "", (unsigned long)v);
        if (v == 0) {
            sbo_errf(err, errlen, "'%s': dimension %d of the IDX header is 0; the file is empty or corrupt", path, d);
            goto done;
        }
        /* count < 2^31 and v < 2^32 before each product, so p < 2^63: no overflow in 64 bits. */
        uint64_t p = (uint64_t)count * v;
        if (v > (uint32_t)INT_MAX || p > (uint64_t)IDX_MAX_BYTES) {
            sbo_errf(err, errlen, "'%s': IDX dims %s%s declare more than 2^31-1 bytes; the header is corrupt",
                    path, dimtext, d + 1 < ndim ? " x ..." : "");
            goto done;
        }
        count = (long)p;
        out->dims[d] = (int)v;
    }
    /* The buffer grows (doubling from 1 MiB) as data arrives, so a header that declares more than the file holds
     * costs at most twice the file's data, not the 2 GiB it may declare (found by fuzz/fuzz_idx.c). */
    long cap = count < (1L << 20) ? count : (1L << 20);
    data = malloc((size_t)cap);
    got = 0;
    for (;;) {
        if (!data) {
            sbo_errf(err, errlen, "out of memory reading '%s' (%ld bytes of data)", path, count);
            goto done;
        }
        long r = 0;
        if (src_read(src, path, data + got, cap - got, &r, err, errlen)) goto done;
        got += r;
        if (got < cap || cap == count) break;   /* the data ended, or all of it is in */
        cap = cap > count / 2 ? count : 2 * cap;
        unsigned char *grown = realloc(data, (size_t)cap);
        if (!grown) free(data);
        data = grown;
    }
    if (got < count) {
        sbo_errf(err, errlen, "'%s' is truncated: expected %ld bytes of data, got %ld (dims %s)%s; replace the file",
                path, count, got, dimtext, src->gz && !src->ended ? " (the gzip stream ends early)" : "");
        goto done;
    }
    /* Nothing may follow the data. Reading on also makes inflate reach the gzip trailer and check its CRC. */
    long extra = 0;
    for (;;) {
        unsigned char sink[4096];
        long r = 0;
        if (src_read(src, path, sink, sizeof sink, &r, err, errlen)) goto done;
        if (r == 0) break;
        extra += r;
    }
    if (extra > 0) {
        sbo_errf(err, errlen, "'%s': %ld bytes of trailing data after the %ld bytes the IDX header declares (dims %s); "
                "the file is corrupt or not one IDX array", path, extra, count, dimtext);
        goto done;
    }
    if (src_check_end(src, path, err, errlen)) goto done;
    out->ndim = ndim;
    out->count = count;
    out->data = data;
    data = NULL;
    rc = 0;
done:
    if (src->zs_live) inflateEnd(&src->zs);
    close(src->fd);
    free(src);
    free(data);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

// --- image sets ------------------------------------------------------------------------------------------------

typedef struct {
    const char *name;
    const char *default_dir;
    const char *how;        /* how to get the files, for the "missing" message */
} known_set;

static const known_set k_sets[] = {
    {"fashion_mnist", SBO_FASHION_MNIST_DIR, "install it with `sudo apt-get install dataset-fashion-mnist`"},
    {"mnist", SBO_MNIST_DIR, "download it with `data_fetch/fetch_mnist.sh` (writes data/mnist; run from the "
                             "repository root)"},
};
#define N_KNOWN_SETS (sizeof k_sets / sizeof k_sets[0])

/* path = dir/base.gz if it exists, else dir/base if that exists; else -1 with the message. */
static int find_file(const known_set *ks, const char *dir, const char *base, char *path, size_t pathlen,
                     char *err, size_t errlen) {
    struct stat st;
    int n = snprintf(path, pathlen, "%s/%s.gz", dir, base);
    if (n < 0 || (size_t)n >= pathlen) {
        sbo_errf(err, errlen, "%s: data directory path '%.200s...' is too long; use a shorter --data-dir",
                ks->name, dir);
        return -1;
    }
    if (stat(path, &st) == 0) return 0;
    n = snprintf(path, pathlen, "%s/%s", dir, base);
    if (n >= 0 && (size_t)n < pathlen && stat(path, &st) == 0) return 0;
    sbo_errf(err, errlen, "%s: missing '%s/%s.gz' (nor found without .gz); %s, or pass --data-dir (or set "
            "SBO_DATA_DIR) to the directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
            ks->name, dir, base, ks->how);
    return -1;
}

static void split_free(sbo_image_split *s) {
    free(s->pixels);
    free(s->labels);
    free(s->coarse_labels);
    memset(s, 0, sizeof *s);
}

/* Loads prefix-images-idx3-ubyte and prefix-labels-idx1-ubyte of dir into sp. */
static int load_split(const known_set *ks, const char *dir, const char *prefix, sbo_image_split *sp,
                      char *err, size_t errlen) {
    char base[64], ipath[SBO_IDX_PATH_LEN], lpath[SBO_IDX_PATH_LEN];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    if (find_file(ks, dir, base, ipath, sizeof ipath, err, errlen)) return -1;
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    if (find_file(ks, dir, base, lpath, sizeof lpath, err, errlen)) return -1;

    sbo_idx im, lb;
    if (sbo_idx_read(ipath, &im, err, errlen)) return -1;
    if (sbo_idx_read(lpath, &lb, err, errlen)) { sbo_idx_free(&im); return -1; }
    int rc = -1;
    if (im.ndim != 3) {
        sbo_errf(err, errlen, "'%s': images must be a 3-d IDX array (n x rows x cols), this one is %d-d",
                ipath, im.ndim);
        goto done;
    }
    if (lb.ndim != 1) {
        sbo_errf(err, errlen, "'%s': labels must be a 1-d IDX array (n), this one is %d-d", lpath, lb.ndim);
        goto done;
    }
    if (lb.dims[0] != im.dims[0]) {
        sbo_errf(err, errlen, "'%s' holds %d labels but '%s' holds %d images; the two files do not belong together",
                lpath, lb.dims[0], ipath, im.dims[0]);
        goto done;
    }
    for (long i = 0; i < lb.count; i++)
        if (lb.data[i] >= IDX_N_CLASSES) {
            sbo_errf(err, errlen, "'%s': label %u at index %ld is not a class 0..%d; the file is corrupt or not %s",
                    lpath, lb.data[i], i, IDX_N_CLASSES - 1, ks->name);
            goto done;
        }
    sp->n = im.dims[0];
    sp->rows = im.dims[1];
    sp->cols = im.dims[2];
    sp->channels = 1;
    sp->pixels = im.data;
    sp->labels = lb.data;
    im.data = lb.data = NULL;
    rc = 0;
done:
    sbo_idx_free(&im);
    sbo_idx_free(&lb);
    return rc;
}

void sbo_image_set_free(sbo_image_set *s) {
    if (!s) return;
    split_free(&s->train);
    split_free(&s->test);
    memset(s, 0, sizeof *s);
}

int sbo_image_set_known(const char *name) {
    if (!name) return 0;
    for (size_t i = 0; i < N_KNOWN_SETS; i++)
        if (strcmp(name, k_sets[i].name) == 0) return 1;
    return sbo_cifar_known(name);
}

const char *sbo_image_dir(const char *name, const char *data_dir, const char *default_dir, char *err, size_t errlen) {
    const char *dir = data_dir;
    if (!dir || !dir[0]) dir = getenv("SBO_DATA_DIR");
    if (!dir || !dir[0]) dir = default_dir;
    if (strlen(dir) >= sizeof ((sbo_image_set *)0)->dir) {
        sbo_errf(err, errlen, "%s: data directory path '%.200s...' is longer than %zu characters; use a shorter one",
                 name, dir, sizeof ((sbo_image_set *)0)->dir - 1);
        return NULL;
    }
    return dir;
}

int sbo_image_set_load(const char *dataset, const char *data_dir, sbo_image_set *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (dataset && sbo_cifar_known(dataset)) return sbo_cifar_load(dataset, data_dir, out, err, errlen);
    const known_set *ks = NULL;
    for (size_t i = 0; i < N_KNOWN_SETS; i++)
        if (dataset && strcmp(dataset, k_sets[i].name) == 0) ks = &k_sets[i];
    if (!ks) {
        sbo_errf(err, errlen, "unknown image data set '%s'; known: " SBO_IMAGE_SET_NAMES, dataset ? dataset : "(null)");
        return -1;
    }
    const char *dir = sbo_image_dir(ks->name, data_dir, ks->default_dir, err, errlen);
    if (!dir) return -1;
    snprintf(out->name, sizeof out->name, "%s", ks->name);
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    out->n_classes = IDX_N_CLASSES;
    if (load_split(ks, dir, "train", &out->train, err, errlen) ||
        load_split(ks, dir, "t10k", &out->test, err, errlen)) {
        sbo_image_set_free(out);
        return -1;
    }
    if (out->train.rows != out->test.rows || out->train.cols != out->test.cols) {
        sbo_errf(err, errlen, "%s in '%s': train images are %d x %d but test images are %d x %d; the files do not "
                "belong together", ks->name, dir, out->train.rows, out->train.cols, out->test.rows, out->test.cols);
        sbo_image_set_free(out);
        return -1;
    }
    return 0;
}

// --- split permutation ---------------------------------------------------------------------------------------

/* Uniform integer in [0, range), range >= 1, without modulo bias: Lemire's multiply-shift with rejection
 * (Lemire 2019, "Fast random integer generation in an interval", algorithm 5). */
static uint32_t bounded_u32(sbo_stream *s, uint32_t range) {
    uint64_t m = (uint64_t)sbo_stream_u32(s) * range;
    uint32_t low = (uint32_t)m;
    if (low < range) {
        uint32_t threshold = (uint32_t)(-range) % range;   /* 2^32 mod range */
        while (low < threshold) {
            m = (uint64_t)sbo_stream_u32(s) * range;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void sbo_split_permutation(uint64_t seed, long n, long *perm_out) {
    if (n < 0 || (uint64_t)n > UINT32_MAX) {
        fprintf(stderr, "sbo_split_permutation: n = %ld is outside 0..2^32-1\n", n);
        abort();
    }
    for (long i = 0; i < n; i++) perm_out[i] = i;
    sbo_stream s;
    sbo_stream_init(&s, seed, SBO_RNG_DATA_SPLIT, 0, 0);
    for (long i = n - 1; i > 0; i--) {   /* Fisher-Yates: slot i gets a uniform pick of the first i+1 */
        long j = (long)bounded_u32(&s, (uint32_t)(i + 1));
        long t = perm_out[i];
        perm_out[i] = perm_out[j];
        perm_out[j] = t;
    }
}
