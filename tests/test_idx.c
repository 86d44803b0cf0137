/* tests/test_idx.c: the image data layer (core/sbo_idx.c): the IDX reader on small files generated here, gzipped
 * (zlib gzwrite) and plain, valid and broken (bad magic, ndim 0 and 4, truncated, trailing bytes, corrupt gzip,
 * absurd dims, a huge header on a tiny file, data beyond the first 1 MiB buffer, missing file); the image-set loader
 * on a generated directory (.gz and plain names, SBO_DATA_DIR, mismatched counts, a label 10, unknown set); the split permutation (a permutation, deterministic, uniform by
 * chi-square on fixed seeds); and the real Fashion-MNIST of Debian's dataset-fashion-mnist when it is installed.
 * Nothing is downloaded. Run: ctest -R test_idx, or build/test_idx --verbose. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "core/sbo_config.h"   /* SBO_ERR_LEN */
#include "core/sbo_idx.h"      /* the code under test */

static char dir[64];   /* a fresh temporary directory per test (Criterion runs each test in its own process) */

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/sbo_test_idx_XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

static void remove_dir(void) {
    if (!dir[0]) return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

TestSuite(idx, .init = make_dir, .fini = remove_dir);
TestSuite(loader, .init = make_dir, .fini = remove_dir);

// --- generating IDX files ------------------------------------------------------------------------------------

/* buf = IDX header (00 00 type ndim, big-endian dims) followed by ndata bytes of data; returns its length. */
static size_t make_idx(unsigned char *buf, int type, int ndim, const uint32_t *dims, const unsigned char *data,
                       size_t ndata) {
    size_t k = 0;
    buf[k++] = 0;
    buf[k++] = 0;
    buf[k++] = (unsigned char)type;
    buf[k++] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++) {
        buf[k++] = (unsigned char)(dims[d] >> 24);
        buf[k++] = (unsigned char)(dims[d] >> 16);
        buf[k++] = (unsigned char)(dims[d] >> 8);
        buf[k++] = (unsigned char)dims[d];
    }
    if (ndata) memcpy(buf + k, data, ndata);
    return k + ndata;
}

/* Writes bytes to dir/name, gzipped (zlib gzwrite) when gz. Returns the full path (static buffer per slot). */
static const char *write_file(const char *name, int gz, const unsigned char *bytes, size_t n) {
    static char paths[4][600];
    static int slot;
    char *p = paths[slot++ % 4];
    snprintf(p, 600, "%s/%s", dir, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        cr_assert_not_null(f, "gzopen(%s) for writing failed", p);
        if (n) cr_assert_eq(gzwrite(f, bytes, (unsigned)n), (int)n);
        cr_assert_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(p, "wb");
        cr_assert_not_null(f, "fopen(%s) for writing failed", p);
        if (n) cr_assert_eq(fwrite(bytes, 1, n, f), n);
        fclose(f);
    }
    return p;
}

/* The test images: pixel (i, r, c) of a rows x cols set; every byte differs from its neighbours. */
static unsigned char pix(long i, int r, int c) {
    return (unsigned char)(37 * i + 5 * r + 11 * c + 1);
}

/* Writes an image file of n rows x cols images (named name) and returns its path. */
static const char *write_images(const char *name, int gz, uint32_t n, uint32_t rows, uint32_t cols) {
    size_t nd = (size_t)n * rows * cols;
    unsigned char *data = malloc(nd), *buf = malloc(nd + 16);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t r = 0; r < rows; r++)
            for (uint32_t c = 0; c < cols; c++) data[((size_t)i * rows + r) * cols + c] = pix(i, (int)r, (int)c);
    uint32_t dims[3] = {n, rows, cols};
    size_t len = make_idx(buf, 0x08, 3, dims, data, nd);
    const char *p = write_file(name, gz, buf, len);
    free(data);
    free(buf);
    return p;
}

static const char *write_labels(const char *name, int gz, uint32_t n, const unsigned char *labels) {
    unsigned char buf[64];
    cr_assert(n + 8 <= sizeof buf);
    size_t len = make_idx(buf, 0x08, 1, &n, labels, n);
    return write_file(name, gz, buf, len);
}

static void assert_one_line(const char *err) {
    cr_assert(err[0] != '\0', "an error message is expected");
    cr_assert(strchr(err, '\n') == NULL, "one line: %s", err);
}

/* sbo_idx_read must fail with a message containing path and want. */
static void expect_fail(const char *path, const char *want) {
    sbo_idx x;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_idx_read(path, &x, err, sizeof err), -1, "'%s' was accepted", path);
    cr_assert_null(x.data, "out is empty after an error");
    assert_one_line(err);
    cr_assert(strstr(err, path), "the message names the file: %s", err);
    cr_assert(strstr(err, want), "expected '%s' in: %s", want, err);
}

// --- the IDX reader ------------------------------------------------------------------------------------------

static const unsigned char k_labels5[5] = {3, 0, 9, 1, 7};

Test(idx, valid_images_and_labels_read_back_byte_for_byte) {
    for (int gz = 0; gz <= 1; gz++) {
        const char *ip = write_images(gz ? "img.gz" : "img", gz, 5, 4, 3);
        sbo_idx x;
        char err[SBO_ERR_LEN] = "";
        cr_assert_eq(sbo_idx_read(ip, &x, err, sizeof err), 0, "%s", err);
        cr_assert_eq(x.ndim, 3);
        cr_assert_eq(x.dims[0], 5);
        cr_assert_eq(x.dims[1], 4);
        cr_assert_eq(x.dims[2], 3);
        cr_assert_eq(x.count, 60);
        for (long i = 0; i < 5; i++)
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 3; c++)
                    cr_assert_eq(x.data[(i * 4 + r) * 3 + c], pix(i, r, c),
                                 "gz=%d image %ld pixel (%d,%d)", gz, i, r, c);
        sbo_idx_free(&x);
        cr_assert_null(x.data);
        sbo_idx_free(&x);   /* twice is harmless */

        const char *lp = write_labels(gz ? "lab.gz" : "lab", gz, 5, k_labels5);
        cr_assert_eq(sbo_idx_read(lp, &x, err, sizeof err), 0, "%s", err);
        cr_assert_eq(x.ndim, 1);
        cr_assert_eq(x.dims[0], 5);
        cr_assert_eq(x.dims[1], 0);
        cr_assert_eq(x.count, 5);
        cr_assert_eq(memcmp(x.data, k_labels5, 5), 0);
        sbo_idx_free(&x);
    }
}

Test(idx, wrong_magic_and_element_type) {
    unsigned char buf[64];
    uint32_t n = 5;
    make_idx(buf, 0x08, 1, &n, k_labels5, 5);
    buf[0] = 0x01;
    buf[1] = 0x02;
    expect_fail(write_file("magic", 0, buf, 13), "not an IDX file: magic bytes 01 02 08 01");
    expect_fail(write_file("magic.gz", 1, buf, 13), "not an IDX file");
    size_t len = make_idx(buf, 0x0D, 1, &n, k_labels5, 5);   /* 0x0D = float: not supported */
    expect_fail(write_file("float.gz", 1, buf, len), "element type 0x0d is not supported");
}

Test(idx, ndim_0_and_4_are_rejected) {
    unsigned char buf[64];
    uint32_t dims[4] = {1, 1, 1, 1};
    unsigned char data[1] = {0};
    size_t len = make_idx(buf, 0x08, 0, dims, data, 1);
    expect_fail(write_file("ndim0.gz", 1, buf, len), "declares 0 dimensions");
    len = make_idx(buf, 0x08, 4, dims, data, 1);
    expect_fail(write_file("ndim4.gz", 1, buf, len), "declares 4 dimensions");
}

Test(idx, short_header_and_bad_dims) {
    unsigned char buf[64] = {0, 0};
    expect_fail(write_file("short", 0, buf, 2), "too short for an IDX header (2 bytes)");
    uint32_t dims[3] = {5, 4, 3};
    make_idx(buf, 0x08, 3, dims, NULL, 0);
    expect_fail(write_file("short_dims.gz", 1, buf, 10),
                "truncated IDX header: expected 12 bytes of dimensions, got 6");
    uint32_t zero[3] = {5, 0, 3};
    size_t len = make_idx(buf, 0x08, 3, zero, NULL, 0);
    expect_fail(write_file("zero.gz", 1, buf, len), "dimension 1 of the IDX header is 0");
    uint32_t huge[3] = {65536, 65536, 1};   /* 2^32 bytes: a corrupt header, not an allocation attempt */
    len = make_idx(buf, 0x08, 3, huge, NULL, 0);
    expect_fail(write_file("huge.gz", 1, buf, len), "more than 2^31-1 bytes");
    uint32_t over[1] = {0x80000000u};
    len = make_idx(buf, 0x08, 1, over, NULL, 0);
    expect_fail(write_file("over.gz", 1, buf, len), "more than 2^31-1 bytes");
}

Test(idx, truncated_data_gz_and_raw) {
    unsigned char data[60], buf[128];
    memset(data, 7, sizeof data);
    uint32_t dims[3] = {5, 4, 3};
    size_t len = make_idx(buf, 0x08, 3, dims, data, 50);   /* header says 60 bytes, 50 follow */
    expect_fail(write_file("trunc", 0, buf, len), "truncated: expected 60 bytes of data, got 50");
    expect_fail(write_file("trunc.gz", 1, buf, len), "truncated: expected 60 bytes of data, got 50");
}

/* Found by fuzz/fuzz_idx.c (fuzz/corpus/fuzz_idx/crash-header-declares-2g): a 12-byte file whose header declares
 * 2^31-1 bytes made the reader allocate all of them before reading. The buffer now grows with the data, so the file
 * is refused as truncated with little memory: checked under an address-space limit of +256 MiB (not under ASan,
 * whose shadow memory needs terabytes of address space). */
Test(idx, huge_header_on_a_tiny_file_allocates_little) {
#if !defined(__SANITIZE_ADDRESS__)
    long pages = 0, page = sysconf(_SC_PAGESIZE);
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm) {
        cr_assert_eq(fscanf(statm, "%ld", &pages), 1);
        fclose(statm);
        struct rlimit lim = {.rlim_cur = (rlim_t)(pages * page) + (256u << 20), .rlim_max = RLIM_INFINITY};
        cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
    }
#endif
    unsigned char buf[16];
    uint32_t dims[1] = {0x7fffffffu};
    size_t len = make_idx(buf, 0x08, 1, dims, (const unsigned char *)"abc", 3);
    expect_fail(write_file("huge_hdr", 0, buf, len), "truncated: expected 2147483647 bytes of data, got 3");
    expect_fail(write_file("huge_hdr.gz", 1, buf, len), "truncated: expected 2147483647 bytes of data, got 3");
}

/* Data of more than 1 MiB: the buffer grows 1 MiB -> 2 MiB -> the count, and every byte arrives (raw and gzip). */
Test(idx, data_above_the_first_buffer_reads_back) {
    for (int gz = 0; gz <= 1; gz++) {
        const char *p = write_images(gz ? "big.gz" : "big", gz, 3001, 28, 28);   /* 2.35 MB */
        sbo_idx x;
        char err[SBO_ERR_LEN] = "";
        cr_assert_eq(sbo_idx_read(p, &x, err, sizeof err), 0, "%s", err);
        cr_assert_eq(x.count, 3001L * 28 * 28);
        for (long i = 0; i < 3001; i += 1000)
            for (int r = 0; r < 28; r++)
                for (int c = 0; c < 28; c++)
                    cr_assert_eq(x.data[(i * 28 + r) * 28 + c], pix(i, r, c), "gz=%d image %ld (%d,%d)", gz, i, r, c);
        sbo_idx_free(&x);
    }
}

Test(idx, gzip_stream_cut_short) {
    /* A whole IDX file, gzipped, then the .gz itself cut in half: zlib reports the early end. */
    const char *p = write_images("cut.gz", 1, 40, 16, 16);
    FILE *f = fopen(p, "rb");
    unsigned char gzbytes[1 << 16];
    size_t n = fread(gzbytes, 1, sizeof gzbytes, f);
    fclose(f);
    cr_assert(n > 100 && n < sizeof gzbytes);
    write_file("cut.gz", 0, gzbytes, n / 2);
    expect_fail(p, "truncated");
}

Test(idx, trailing_garbage_gz_and_raw) {
    unsigned char buf[64];
    uint32_t n = 5;
    size_t len = make_idx(buf, 0x08, 1, &n, k_labels5, 5);
    memcpy(buf + len, "junk", 4);
    expect_fail(write_file("trail", 0, buf, len + 4), "4 bytes of trailing data after the 5 bytes");
    expect_fail(write_file("trail.gz", 1, buf, len + 4), "4 bytes of trailing data");
}

/* The gzip member of a valid labels file, as bytes (zlib gzwrite). */
static size_t gz_labels(unsigned char *out, size_t cap) {
    unsigned char buf[64];
    uint32_t n = 5;
    size_t len = make_idx(buf, 0x08, 1, &n, k_labels5, 5);
    const char *p = write_file("whole.gz", 1, buf, len);
    FILE *f = fopen(p, "rb");
    size_t got = fread(out, 1, cap, f);
    fclose(f);
    cr_assert(got > 18 && got < cap, "gzip file of %zu bytes", got);
    return got;
}

Test(idx, gzip_trailer_cut_off_by_1_to_9_bytes) {
    /* The last 8 bytes of a gzip member are its CRC-32 and length: gzread accepted a file without them (issue 10),
     * so a corrupted label went unnoticed. Every cut of 1..9 bytes must be an error. */
    unsigned char gz[256];
    size_t n = gz_labels(gz, sizeof gz);
    for (size_t cut = 1; cut <= 9; cut++) {
        const char *p = write_file("cut_trailer.gz", 0, gz, n - cut);
        sbo_idx x;
        char err[SBO_ERR_LEN] = "";
        cr_assert_eq(sbo_idx_read(p, &x, err, sizeof err), -1, "a .gz without its last %zu bytes was accepted", cut);
        assert_one_line(err);
        cr_assert(strstr(err, p) && (strstr(err, "gzip stream ends early") || strstr(err, "truncated")),
                  "cut %zu: %s", cut, err);
    }
    /* and a flipped CRC byte is caught by the check that the complete trailer allows */
    gz[n - 6] ^= 0x40;
    expect_fail(write_file("bad_crc.gz", 0, gz, n), "corrupt gzip data");
}

Test(idx, trailing_garbage_after_the_gzip_stream) {
    unsigned char gz[256];
    size_t n = gz_labels(gz, sizeof gz);
    memcpy(gz + n, "GARBAGE", 7);
    expect_fail(write_file("garbage_after.gz", 0, gz, n + 7), "7 bytes of trailing garbage after the gzip stream");
    /* a second gzip member is not one IDX array either */
    memcpy(gz + n, gz, n);
    expect_fail(write_file("two_members.gz", 0, gz, 2 * n), "trailing garbage after the gzip stream");
}

Test(idx, fifo_named_like_a_data_file_is_refused_without_blocking, .timeout = 10) {
    /* gzopen on a FIFO blocks until a writer appears (issue 10): the reader must refuse it up front */
    char p[600];
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte.gz", dir);
    cr_assert_eq(mkfifo(p, 0644), 0);
    expect_fail(p, "is a FIFO (named pipe), not a regular file");
}

Test(idx, corrupt_gzip_is_an_error_not_a_crash) {
    /* 40 noisy images of 16x16 (4-bit pixels from an LCG) compress to about 5 KB of Huffman-coded literals;
     * flipping 8 bytes anywhere in the middle half of the deflate stream must give -1 with a one-line message
     * (zlib: invalid code / distance, or the CRC-32 and length check of the trailer, which the reader reaches
     * by reading to the end). */
    enum { NPIX = 40 * 16 * 16 };
    static unsigned char idx[NPIX + 16], orig[1 << 16], bytes[1 << 16];
    static unsigned char noise[NPIX];
    uint32_t lcg = 12345;
    for (int i = 0; i < NPIX; i++) {
        lcg = lcg * 1664525u + 1013904223u;
        noise[i] = (unsigned char)(lcg >> 28);
    }
    uint32_t dims[3] = {40, 16, 16};
    const char *p = write_file("corrupt.gz", 1, idx, make_idx(idx, 0x08, 3, dims, noise, NPIX));
    FILE *f = fopen(p, "rb");
    size_t n = fread(orig, 1, sizeof orig, f);
    fclose(f);
    cr_assert(n > 2000 && n < sizeof orig, "compressed size %zu", n);
    sbo_idx ok;
    char err0[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_idx_read(p, &ok, err0, sizeof err0), 0, "the intact file reads: %s", err0);
    cr_assert_eq(memcmp(ok.data, noise, NPIX), 0);
    sbo_idx_free(&ok);
    int n_gz_messages = 0, n_cases = 0;
    for (size_t at = n / 4; at + 8 < 3 * n / 4; at += n / 40) {
        memcpy(bytes, orig, n);
        for (int k = 0; k < 8; k++) bytes[at + k] ^= 0xA5;
        write_file("corrupt.gz", 0, bytes, n);
        sbo_idx x;
        char err[SBO_ERR_LEN] = "";
        cr_assert_eq(sbo_idx_read(p, &x, err, sizeof err), -1, "corruption at byte %zu of %zu not detected", at, n);
        assert_one_line(err);
        cr_assert(strstr(err, p), "names the file: %s", err);
        if (strstr(err, "corrupt gzip data")) n_gz_messages++;
        if (n_cases++ == 0) cr_log_info("e.g. %s", err);
    }
    cr_log_info("%d corruptions of a %zu-byte .gz: all rejected, %d by zlib itself", n_cases, n, n_gz_messages);
    cr_assert(n_gz_messages > 0, "at least one corruption is reported by zlib itself");
}

Test(idx, missing_file_says_how_to_get_the_data) {
    char p[600];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    sbo_idx x;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_idx_read(p, &x, err, sizeof err), -1);
    assert_one_line(err);
    cr_assert(strstr(err, p) && strstr(err, "No such file"), "got: %s", err);
    cr_assert(strstr(err, "apt-get install dataset-fashion-mnist") && strstr(err, "data_fetch/fetch_mnist.sh"),
              "got: %s", err);
    cr_assert_eq(sbo_idx_read(dir, &x, err, sizeof err), -1, "a directory is not a file");
    assert_one_line(err);
    cr_assert(strstr(err, dir) && strstr(err, "is a directory, not a regular file"), "got: %s", err);
}

// --- the image-set loader ------------------------------------------------------------------------------------

static const unsigned char k_labels3[3] = {2, 8, 5};

/* A complete tiny set in dir: train 5 images 4x3, t10k 3 images 4x3. */
static void write_set(int gz) {
    write_images(gz ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte", gz, 5, 4, 3);
    write_labels(gz ? "train-labels-idx1-ubyte.gz" : "train-labels-idx1-ubyte", gz, 5, k_labels5);
    write_images(gz ? "t10k-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte", gz, 3, 4, 3);
    write_labels(gz ? "t10k-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte", gz, 3, k_labels3);
}

static void check_set(const sbo_image_set *s, const char *name) {
    cr_assert_str_eq(s->name, name);
    cr_assert_str_eq(s->dir, dir);
    cr_assert_eq(s->n_classes, 10);
    const sbo_image_split *sp[2] = {&s->train, &s->test};
    const long ns[2] = {5, 3};
    const unsigned char *labs[2] = {k_labels5, k_labels3};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(sp[k]->n, ns[k]);
        cr_assert_eq(sp[k]->rows, 4);
        cr_assert_eq(sp[k]->cols, 3);
        cr_assert_eq(sp[k]->channels, 1, "IDX sets are grey");
        cr_assert_null(sp[k]->coarse_labels);
        for (long i = 0; i < ns[k]; i++) {
            cr_assert_eq(sp[k]->labels[i], labs[k][i]);
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 3; c++) cr_assert_eq(sp[k]->pixels[(i * 4 + r) * 3 + c], pix(i, r, c));
        }
    }
}

Test(loader, generated_directory_gz) {
    write_set(1);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), 0, "%s", err);
    check_set(&s, "mnist");
    sbo_image_set_free(&s);
    cr_assert_null(s.train.pixels);
    cr_assert_eq(sbo_image_set_load("fashion_mnist", dir, &s, err, sizeof err), 0, "%s", err);
    check_set(&s, "fashion_mnist");
    sbo_image_set_free(&s);
}

Test(loader, uncompressed_names_are_accepted) {
    write_set(0);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), 0, "%s", err);
    check_set(&s, "mnist");
    sbo_image_set_free(&s);
}

Test(loader, sbo_data_dir_is_used_when_data_dir_is_null) {
    write_set(1);
    setenv("SBO_DATA_DIR", dir, 1);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    int rc = sbo_image_set_load("mnist", NULL, &s, err, sizeof err);
    unsetenv("SBO_DATA_DIR");
    cr_assert_eq(rc, 0, "%s", err);
    check_set(&s, "mnist");
    sbo_image_set_free(&s);
}

Test(loader, missing_directory_says_how_to_get_the_data) {
    char absent[600];
    snprintf(absent, sizeof absent, "%s/absent", dir);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("mnist", absent, &s, err, sizeof err), -1);
    assert_one_line(err);
    cr_assert(strstr(err, absent) && strstr(err, "train-images-idx3-ubyte.gz"), "names the path: %s", err);
    cr_assert(strstr(err, "data_fetch/fetch_mnist.sh") && strstr(err, "--data-dir"), "got: %s", err);
    cr_assert_eq(sbo_image_set_load("fashion_mnist", absent, &s, err, sizeof err), -1);
    cr_assert(strstr(err, absent) && strstr(err, "apt-get install dataset-fashion-mnist"), "got: %s", err);
    /* a set with its test labels missing */
    write_set(1);
    char p[600];
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dir);
    unlink(p);
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), -1);
    cr_assert(strstr(err, p), "got: %s", err);
    cr_assert_null(s.train.pixels, "nothing is kept after an error");
}

Test(loader, unknown_dataset_lists_the_known_ones) {
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("svhn", dir, &s, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown image data set 'svhn'; known: fashion_mnist, mnist, cifar10, cifar100"), "got: %s",
              err);
}

Test(loader, label_count_differs_from_image_count) {
    write_set(1);
    const char *lp = write_labels("train-labels-idx1-ubyte.gz", 1, 4, k_labels5);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), -1);
    assert_one_line(err);
    cr_assert(strstr(err, lp) && strstr(err, "holds 4 labels") && strstr(err, "holds 5 images"), "got: %s", err);
}

Test(loader, label_10_names_the_file_and_index) {
    write_set(1);
    const unsigned char bad[3] = {2, 8, 10};
    const char *lp = write_labels("t10k-labels-idx1-ubyte.gz", 1, 3, bad);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), -1);
    assert_one_line(err);
    cr_assert(strstr(err, lp) && strstr(err, "label 10 at index 2"), "got: %s", err);
    cr_assert_null(s.train.pixels, "the train split loaded first is freed");
}

Test(loader, images_must_be_3d_and_labels_1d) {
    write_set(1);
    unsigned char buf[64];
    uint32_t n = 5;
    size_t len = make_idx(buf, 0x08, 1, &n, k_labels5, 5);
    const char *ip = write_file("train-images-idx3-ubyte.gz", 1, buf, len);   /* 1-d "images" */
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), -1);
    cr_assert(strstr(err, ip) && strstr(err, "3-d"), "got: %s", err);
    write_set(1);
    const char *lp = write_images("train-labels-idx1-ubyte.gz", 1, 5, 1, 1);   /* 3-d "labels" */
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), -1);
    cr_assert(strstr(err, lp) && strstr(err, "1-d"), "got: %s", err);
}

Test(loader, train_and_test_image_sizes_must_agree) {
    write_set(1);
    write_images("t10k-images-idx3-ubyte.gz", 1, 3, 3, 4);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("mnist", dir, &s, err, sizeof err), -1);
    cr_assert(strstr(err, "train images are 4 x 3 but test images are 3 x 4"), "got: %s", err);
}

// --- the split permutation -----------------------------------------------------------------------------------

static void assert_permutation(const long *p, long n) {
    char *seen = calloc((size_t)n + 1, 1);
    for (long i = 0; i < n; i++) {
        cr_assert(p[i] >= 0 && p[i] < n, "perm[%ld] = %ld out of range", i, p[i]);
        cr_assert(!seen[p[i]], "value %ld appears twice", p[i]);
        seen[p[i]] = 1;
    }
    free(seen);
}

Test(perm, is_a_permutation) {
    const long sizes[] = {0, 1, 2, 10, 1000, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        long n = sizes[k];
        long *p = malloc(((size_t)n + 1) * sizeof *p);
        sbo_split_permutation(42, n, p);
        assert_permutation(p, n);
        free(p);
    }
}

Test(perm, deterministic_for_a_seed_and_different_for_another) {
    enum { N = 1000 };
    static long a[N], b[N], c[N];
    sbo_split_permutation(7, N, a);
    sbo_split_permutation(7, N, b);
    sbo_split_permutation(8, N, c);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "the same seed gives the same permutation");
    long same = 0, fixed = 0;
    for (long i = 0; i < N; i++) {
        same += a[i] == c[i];
        fixed += a[i] == i;
    }
    /* Two independent uniform permutations agree on Poisson(1) positions; so does one with the identity. */
    cr_assert(same < 10, "seeds 7 and 8 agree on %ld of %d positions", same, N);
    cr_assert(fixed < 10, "seed 7 leaves %ld of %d elements in place", fixed, N);
}

/* Pearson's chi-square of counts against equal expectations. */
static double chi2_uniform(const long *counts, int k, long total) {
    double e = (double)total / k, x = 0;
    for (int i = 0; i < k; i++) x += (counts[i] - e) * (counts[i] - e) / e;
    return x;
}

Test(perm, uniform_over_seeds) {
    /* Seeds 1..2000 (fixed, so the outcome is deterministic), n = 10. Under uniformity the slot holding element 0
     * and the element in slot 0 are each uniform over 10 values: Pearson chi-square with 9 degrees of freedom
     * (expected 200 per cell) has mean 9, and P(chi2 > 45) = 9.2e-7, the tolerance used here. The joint law is
     * checked on n = 3: the 6 orders over 6000 seeds, chi-square with 5 degrees of freedom, P(chi2 > 36) = 9.5e-7. */
    enum { SEEDS = 2000, N = 10 };
    long where0[N] = {0}, first[N] = {0};
    long p[N];
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        sbo_split_permutation(seed, N, p);
        for (int i = 0; i < N; i++)
            if (p[i] == 0) where0[i]++;
        first[p[0]]++;
    }
    double c_where = chi2_uniform(where0, N, SEEDS), c_first = chi2_uniform(first, N, SEEDS);
    cr_log_info("n = 10, 2000 seeds: chi2 (slot of element 0) = %.2f, chi2 (element in slot 0) = %.2f, 9 dof, tol 45",
                c_where, c_first);
    cr_assert(c_where < 45.0, "slot of element 0 not uniform: chi2 = %.2f (9 dof)", c_where);
    cr_assert(c_first < 45.0, "element in slot 0 not uniform: chi2 = %.2f (9 dof)", c_first);

    long orders[6] = {0};
    for (uint64_t seed = 1; seed <= 6000; seed++) {
        long q[3];
        sbo_split_permutation(seed, 3, q);
        int code = (int)(q[0] * 2 + (q[1] > q[2]));   /* the 6 orders of {0,1,2} -> 0..5 */
        orders[code]++;
    }
    double c_orders = chi2_uniform(orders, 6, 6000);
    cr_log_info("n = 3, 6000 seeds: chi2 over the 6 orders = %.2f, 5 dof, tol 36", c_orders);
    cr_assert(c_orders < 36.0, "orders of 3 elements not uniform: chi2 = %.2f (5 dof)", c_orders);
}

// --- the real data, when installed --------------------------------------------------------------------------

Test(fashion_mnist, debian_package_loads) {
    struct stat st;
    if (stat(SBO_FASHION_MNIST_DIR, &st) != 0)
        cr_skip_test("%s not installed (sudo apt-get install dataset-fashion-mnist)", SBO_FASHION_MNIST_DIR);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("fashion_mnist", SBO_FASHION_MNIST_DIR, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.train.n, 60000);
    cr_assert_eq(s.test.n, 10000);
    cr_assert_eq(s.train.rows, 28);
    cr_assert_eq(s.train.cols, 28);
    cr_assert_eq(s.test.rows, 28);
    cr_assert_eq(s.test.cols, 28);
    long per_class[10] = {0};
    for (long i = 0; i < s.train.n; i++) {
        cr_assert(s.train.labels[i] < 10);
        per_class[s.train.labels[i]]++;
    }
    for (long i = 0; i < s.test.n; i++) cr_assert(s.test.labels[i] < 10);
    for (int k = 0; k < 10; k++) cr_assert_eq(per_class[k], 6000, "Fashion-MNIST train has 6000 of class %d", k);
    sbo_image_set_free(&s);
}
