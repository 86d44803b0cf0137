/* tests/test_cifar.c: the CIFAR-10 / CIFAR-100 binary loaders (core/sbo_cifar.c, through sbo_image_set_load) on
 * small batches generated here: labels and the channel-planar pixel order of every record, the batches in order, the
 * official subdirectories (cifar-10-batches-bin/, cifar-100-binary/) and SBO_DATA_DIR; every refusal with its one
 * line naming the file: a missing directory or batch, an empty file, a size that is not a whole number of records (a
 * cut record, a CIFAR-100 file read as CIFAR-10), a batch cut at a record boundary (unequal batches), labels out of
 * range (10; fine 100; coarse 20), a FIFO and a directory named like a batch (refused without blocking); and
 * `sbo run --task data_cleaning` (linear and MLP) on generated CIFAR-10 and CIFAR-100 through --data-dir.
 * No CIFAR data exists on the machine; nothing is downloaded.
 * Run: ctest -R test_cifar, or build/test_cifar --verbose. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/sbo_config.h"   /* SBO_ERR_LEN */
#include "core/sbo_cifar.h"    /* the code under test, and sbo_image_set_load */

static char dir[64];   /* a fresh temporary directory per test (Criterion runs each test in its own process) */

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/sbo_test_cifar_XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

static void remove_dir(void) {
    if (!dir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

TestSuite(cifar, .init = make_dir, .fini = remove_dir);

// --- generating batches -----------------------------------------------------------------------------------------

/* Pixel byte (channel c, row r, column x) of the image with global index g (its place in the split); every plane,
 * row and column gets a different value, so a transposed or channels-last copy would not match. */
static unsigned char pix(long g, int c, int r, int x) { return (unsigned char)(31 * g + 101 * c + 7 * r + 3 * x + 1); }

/* Label bytes of record g: CIFAR-10's label, CIFAR-100's fine and coarse labels. */
static unsigned char label10(long g) { return (unsigned char)((3 * g + 1) % 10); }
static unsigned char fine100(long g) { return (unsigned char)((37 * g + 5) % 100); }
static unsigned char coarse100(long g) { return (unsigned char)((7 * g + 2) % 20); }

/* Writes n records of images g0 .. g0+n-1 to sub/name (sub "" or a subdirectory, created); returns the path. */
static const char *write_batch(const char *sub, const char *name, int cifar100, long g0, long n) {
    static char paths[4][600];
    static int slot;
    char *p = paths[slot++ % 4];
    if (sub[0]) {
        snprintf(p, 600, "%s/%s", dir, sub);
        mkdir(p, 0755);
        snprintf(p, 600, "%s/%s/%s", dir, sub, name);
    } else {
        snprintf(p, 600, "%s/%s", dir, name);
    }
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "cannot write %s", p);
    for (long g = g0; g < g0 + n; g++) {
        if (cifar100) {
            fputc(coarse100(g), f);
            fputc(fine100(g), f);
        } else {
            fputc(label10(g), f);
        }
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 32; r++)
                for (int x = 0; x < 32; x++) fputc(pix(g, c, r, x), f);
    }
    cr_assert_eq(fclose(f), 0);
    return p;
}

/* CIFAR-10: data_batch_1..5 of per records each (global indices 0 .. 5 per - 1), test_batch of n_test records
 * (indices from 1000, so train and test differ). */
static void write_cifar10(const char *sub, long per, long n_test) {
    for (int k = 1; k <= 5; k++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", k);
        write_batch(sub, name, 0, (k - 1) * per, per);
    }
    write_batch(sub, "test_batch.bin", 0, 1000, n_test);
}

static void write_cifar100(const char *sub, long n_train, long n_test) {
    write_batch(sub, "train.bin", 1, 0, n_train);
    write_batch(sub, "test.bin", 1, 1000, n_test);
}

/* Appends bytes to the file at path. */
static void append_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "ab");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void set_byte(const char *path, long off, unsigned char v) {
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, off, SEEK_SET);
    fputc(v, f);
    fclose(f);
}

static void check_split(const sbo_image_split *sp, long n, long g0, int cifar100) {
    cr_assert_eq(sp->n, n);
    cr_assert_eq(sp->rows, 32);
    cr_assert_eq(sp->cols, 32);
    cr_assert_eq(sp->channels, 3);
    if (cifar100) cr_assert_not_null(sp->coarse_labels);
    else cr_assert_null(sp->coarse_labels, "CIFAR-10 has no coarse labels");
    for (long i = 0; i < n; i++) {
        long g = g0 + i;
        cr_assert_eq(sp->labels[i], cifar100 ? fine100(g) : label10(g), "label of image %ld", i);
        if (cifar100) cr_assert_eq(sp->coarse_labels[i], coarse100(g), "coarse label of image %ld", i);
        /* byte (i, c, r, x) = pixels[i * 3072 + c * 1024 + r * 32 + x]: the order core/sbo_cifar.h documents */
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < 32; r++)
                for (int x = 0; x < 32; x++)
                    cr_assert_eq(sp->pixels[i * 3072 + c * 1024 + r * 32 + x], pix(g, c, r, x),
                                 "image %ld channel %d pixel (%d, %d)", i, c, r, x);
    }
}

static void assert_one_line(const char *err) {
    cr_assert(err[0] != '\0', "an error message is expected");
    cr_assert(strchr(err, '\n') == NULL, "one line: %s", err);
}

/* Loading dataset from dir must fail with one line holding want and want2 (NULL: nothing more), and keep nothing. */
static void expect_fail(const char *dataset, const char *want, const char *want2) {
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load(dataset, dir, &s, err, sizeof err), -1, "%s in %s was accepted", dataset, dir);
    assert_one_line(err);
    cr_assert(strstr(err, want), "expected '%s' in: %s", want, err);
    if (want2) cr_assert(strstr(err, want2), "expected '%s' in: %s", want2, err);
    cr_assert_null(s.train.pixels, "nothing is kept after an error");
    cr_assert_null(s.test.pixels);
}

// --- valid sets ------------------------------------------------------------------------------------------------

Test(cifar, cifar10_batches_load_in_order_with_labels_and_planar_pixels) {
    write_cifar10("", 3, 2);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("cifar10", dir, &s, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(s.name, "cifar10");
    cr_assert_str_eq(s.dir, dir);
    cr_assert_eq(s.n_classes, 10);
    cr_assert_eq(s.n_coarse_classes, 0);
    check_split(&s.train, 15, 0, 0);   /* batch 1's three records, then batch 2's, ... */
    check_split(&s.test, 2, 1000, 0);
    sbo_image_set_free(&s);
    cr_assert_null(s.train.pixels);
}

Test(cifar, cifar100_loads_fine_and_coarse_labels) {
    write_cifar100("", 4, 3);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("cifar100", dir, &s, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(s.name, "cifar100");
    cr_assert_eq(s.n_classes, 100);
    cr_assert_eq(s.n_coarse_classes, 20);
    check_split(&s.train, 4, 0, 1);
    check_split(&s.test, 3, 1000, 1);
    sbo_image_set_free(&s);
}

Test(cifar, official_subdirectories_and_sbo_data_dir) {
    write_cifar10("cifar-10-batches-bin", 2, 2);
    write_cifar100("cifar-100-binary", 2, 2);
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "", want[600];
    cr_assert_eq(sbo_image_set_load("cifar10", dir, &s, err, sizeof err), 0, "%s", err);
    snprintf(want, sizeof want, "%s/cifar-10-batches-bin", dir);
    cr_assert_str_eq(s.dir, want, "the directory the files came from");
    check_split(&s.train, 10, 0, 0);
    sbo_image_set_free(&s);
    setenv("SBO_DATA_DIR", dir, 1);
    int rc = sbo_image_set_load("cifar100", NULL, &s, err, sizeof err);
    unsetenv("SBO_DATA_DIR");
    cr_assert_eq(rc, 0, "%s", err);
    snprintf(want, sizeof want, "%s/cifar-100-binary", dir);
    cr_assert_str_eq(s.dir, want);
    check_split(&s.test, 2, 1000, 1);
    sbo_image_set_free(&s);
    cr_assert(sbo_image_set_known("cifar10") && sbo_image_set_known("cifar100") && sbo_image_set_known("mnist"));
    cr_assert(!sbo_image_set_known("cifar") && !sbo_image_set_known(""));
}

// --- refusals ----------------------------------------------------------------------------------------------------

Test(cifar, missing_directory_and_missing_batch_name_the_file_and_the_fetcher) {
    char p[600];
    snprintf(p, sizeof p, "%s/data_batch_1.bin", dir);
    expect_fail("cifar10", p, "data_fetch/fetch_cifar.sh cifar10");
    expect_fail("cifar10", "cifar-10-batches-bin", "--data-dir");
    expect_fail("cifar100", "train.bin", "data_fetch/fetch_cifar.sh cifar100");
    write_cifar10("", 2, 2);
    snprintf(p, sizeof p, "%s/data_batch_4.bin", dir);
    unlink(p);
    expect_fail("cifar10", p, "missing");
    write_cifar10("", 2, 2);
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    unlink(p);
    expect_fail("cifar10", p, "No such file");
}

Test(cifar, sizes_that_are_not_whole_records) {
    write_cifar10("", 2, 2);
    const char *p = write_batch("", "data_batch_2.bin", 0, 2, 2);
    append_bytes(p, "xyzzy", 5);   /* 6151 bytes: 2 records and 5 bytes over */
    expect_fail("cifar10", p, "is 6151 bytes, not a whole number of 3073-byte CIFAR-10 records (2 records and 5 bytes");
    /* a record cut short (a truncated download) */
    p = write_batch("", "data_batch_2.bin", 0, 2, 2);
    cr_assert_eq(truncate(p, 3073 + 1000), 0);
    expect_fail("cifar10", p, "not a whole number");
    /* empty */
    p = write_batch("", "data_batch_2.bin", 0, 2, 0);
    expect_fail("cifar10", p, "is empty");
    /* CIFAR-100's records (3074 bytes) read as CIFAR-10 */
    write_cifar10("", 2, 2);
    p = write_batch("", "test_batch.bin", 1, 1000, 2);
    expect_fail("cifar10", p, "not a whole number of 3073-byte");
    write_cifar100("", 3, 2);
    p = write_batch("", "test.bin", 0, 1000, 2);   /* 6146 = 2 x 3073: not a multiple of 3074 */
    expect_fail("cifar100", p, "not a whole number of 3074-byte CIFAR-100 records");
}

Test(cifar, a_batch_cut_at_a_record_boundary_is_caught_by_its_size) {
    write_cifar10("", 3, 2);
    const char *p = write_batch("", "data_batch_3.bin", 0, 6, 2);   /* 2 records where the others hold 3 */
    expect_fail("cifar10", p, "holds 2 records but 'data_batch_1.bin' holds 3");
}

Test(cifar, labels_out_of_range) {
    write_cifar10("", 2, 3);
    char p[600];
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    set_byte(p, 2 * 3073, 10);   /* record 2's label */
    expect_fail("cifar10", p, "label 10 in record 2 (byte 6146) is not a class 0..9");
    write_cifar100("", 3, 2);
    snprintf(p, sizeof p, "%s/train.bin", dir);
    set_byte(p, 3074 + 1, 100);   /* record 1's fine label */
    expect_fail("cifar100", p, "fine label 100 in record 1 (byte 3075) is not a class 0..99");
    write_cifar100("", 3, 2);
    set_byte(p, 2 * 3074, 20);    /* record 2's coarse label */
    expect_fail("cifar100", p, "coarse label 20 in record 2 (byte 6148) is not a superclass 0..19");
    write_cifar100("", 3, 2);
    set_byte(p, 255, 0);          /* a pixel byte may hold anything: still valid */
    sbo_image_set s;
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_image_set_load("cifar100", dir, &s, err, sizeof err), 0, "%s", err);
    sbo_image_set_free(&s);
}

Test(cifar, fifo_and_directory_named_like_a_batch_are_refused_without_blocking, .timeout = 10) {
    write_cifar10("", 2, 2);
    char p[600];
    snprintf(p, sizeof p, "%s/data_batch_2.bin", dir);
    unlink(p);
    cr_assert_eq(mkfifo(p, 0644), 0);
    expect_fail("cifar10", p, "is a FIFO (named pipe), not a regular file; get them with `data_fetch/fetch_cifar.sh");
    unlink(p);
    write_cifar100("", 2, 2);
    snprintf(p, sizeof p, "%s/test.bin", dir);
    unlink(p);
    cr_assert_eq(mkdir(p, 0755), 0);
    expect_fail("cifar100", p, "is a directory, not a regular file");
}

Test(cifar, read_batch_leaves_the_split_as_it_was_on_error) {
    const char *good = write_batch("", "a.bin", 0, 0, 2);
    sbo_image_split sp;
    memset(&sp, 0, sizeof sp);
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_cifar_read_batch(good, 0, &sp, err, sizeof err), 0, "%s", err);
    const char *bad = write_batch("", "b.bin", 0, 2, 2);
    set_byte(bad, 3073, 200);
    cr_assert_eq(sbo_cifar_read_batch(bad, 0, &sp, err, sizeof err), -1);
    cr_assert(strstr(err, bad) && strstr(err, "label 200 in record 1"), "got: %s", err);
    check_split(&sp, 2, 0, 0);
    free(sp.pixels);
    free(sp.labels);
}

// --- the image tasks on CIFAR (the sbo command) ----------------------------------------------------------------

/* Runs build/sbo with args (NULL-terminated, no argv[0]), one thread; returns its exit code, its stdout and stderr
 * in out / err (static buffers). */
static int run_sbo(const char *const *args, char **out, char **err) {
    static char obuf[1 << 16], ebuf[1 << 14];
    char opath[600], epath[600];
    snprintf(opath, sizeof opath, "%s/sbo.stdout", dir);
    snprintf(epath, sizeof epath, "%s/sbo.stderr", dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        setenv("OMP_NUM_THREADS", "1", 1);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        char *argv[64];
        int n = 0;
        argv[n++] = SBO_BIN_DIR "/sbo";
        for (int i = 0; args[i] && n < 63; i++) argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    FILE *f = fopen(opath, "rb");
    size_t k = f ? fread(obuf, 1, sizeof obuf - 1, f) : 0;
    obuf[k] = '\0';
    if (f) fclose(f);
    f = fopen(epath, "rb");
    k = f ? fread(ebuf, 1, sizeof ebuf - 1, f) : 0;
    ebuf[k] = '\0';
    if (f) fclose(f);
    *out = obuf;
    *err = ebuf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A few steps of data cleaning on the generated set of dataset in dir: model linear or mlp; the run must finish and
 * its log must show the 3072 inputs (and the classes) in the shape of the first lower block. */
static void dc_run(const char *dataset, const char *model, const char *want_param) {
    char out[600], ds[64], md[64];
    snprintf(out, sizeof out, "%s/dc_%s_%s.h5", dir, dataset, model);
    snprintf(ds, sizeof ds, "task.dataset=%s", dataset);
    snprintf(md, sizeof md, "task.model=%s", model);
    const char *args[] = {"run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--data-dir", dir,
                          "--set", ds, "--set", md, "--set", "task.hidden=8", "--set", "task.n_train=20",
                          "--set", "task.n_val=20", "--set", "task.n_test=20", "--set", "task.batch=8",
                          "--set", "task.upper_batch=8", "--set", "run.iters=5", "--out", out, NULL};
    char *o, *e;
    int code = run_sbo(args, &o, &e);
    cr_assert_eq(code, 0, "%s %s: exit %d; stderr: %s", dataset, model, code, e);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0, "no results file %s", out);
    cr_assert(strstr(o, want_param) || strstr(e, want_param), "%s %s: '%s' not in the log: %s", dataset, model,
              want_param, o);
}

Test(cifar, data_cleaning_runs_on_generated_cifar10_and_cifar100, .timeout = 120) {
    write_cifar10("", 8, 20);   /* 40 training images: 20 train + 20 validation */
    dc_run("cifar10", "linear", "block 'W' (m = 3072, n = 10)");   /* the run's log of its lower blocks */
    dc_run("cifar10", "mlp", "block 'W1' (m = 3072, n = 8)");
    write_cifar100("cifar-100-binary", 40, 20);
    dc_run("cifar100", "linear", "block 'W' (m = 3072, n = 100)");
    /* a name the loader does not know is refused with the list, before any data is read */
    const char *bad[] = {"run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--data-dir", dir, "--set",
                         "task.dataset=cifar", "--out", "/nonexistent/x.h5", NULL};
    char *o, *e;
    int code = run_sbo(bad, &o, &e);
    cr_assert_eq(code, 2, "exit %d: %s", code, e);
    cr_assert(strstr(e, "task.dataset = 'cifar' is not an image set; choose one of fashion_mnist, mnist, cifar10, "
                        "cifar100"), "stderr: %s", e);
    /* a corrupt batch reaches the user as one line, exit 2, and no results file (docs/ERRORS.md) */
    char p[600], out[600], want[700];
    snprintf(p, sizeof p, "%s/data_batch_5.bin", dir);
    set_byte(p, 3073, 10);
    snprintf(out, sizeof out, "%s/corrupt.h5", dir);
    const char *corrupt[] = {"run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--data-dir", dir,
                             "--set", "task.dataset=cifar10", "--set", "task.n_train=20", "--set", "task.n_val=20",
                             "--set", "task.n_test=20", "--out", out, NULL};
    code = run_sbo(corrupt, &o, &e);
    snprintf(want, sizeof want, "sbo: error: '%s': label 10 in record 1 (byte 3073) is not a class 0..9", p);
    cr_assert_eq(code, 2, "exit %d: %s", code, e);
    cr_assert(strncmp(e, want, strlen(want)) == 0, "stderr: %s", e);
    cr_assert(strchr(e, '\n') == e + strlen(e) - 1, "one line: %s", e);
    struct stat st;
    cr_assert_neq(stat(out, &st), 0, "no results file after a refused input");
}

/* The ViT task on generated CIFAR-10: patches of 8 (T = 16 tokens of 3 x 8 x 8 values, channel-planar inside the
 * patch), a few BROS steps at r = 4; the Haar frames hold sum m_l r_l = 4 (192 + 4 x 8 + 8 + 8 + 8) = 992 values:
 * the patch embedding has 3 x 8 x 8 = 192 inputs (1 channel would give 480). */
Test(cifar, vit_reweight_runs_on_generated_cifar10, .timeout = 120) {
    write_cifar10("", 8, 20);
    char out[600];
    snprintf(out, sizeof out, "%s/vit.h5", dir);
    const char *args[] = {"run", "--task", "vit_reweight", "--algo", "bros", "--seed", "1", "--data-dir", dir,
                          "--set", "task.dataset=cifar10", "--set", "task.patch=8", "--set", "task.width=8",
                          "--set", "task.heads=2", "--set", "task.hidden=8", "--set", "task.depth=1",
                          "--set", "task.n_train=20", "--set", "task.n_val=20", "--set", "task.n_test=20",
                          "--set", "task.batch=8", "--set", "task.upper_batch=8", "--set", "run.iters=3",
                          "--set", "algo.rank=4", "--set", "algo.memory_rule=off", "--out", out, NULL};
    char *o, *e;
    int code = run_sbo(args, &o, &e);
    cr_assert_eq(code, 0, "vit_reweight on cifar10: exit %d; stderr: %s", code, e);
    cr_assert(strstr(o, "sum m_l r_l = 992"), "the Haar frames of a 192-input patch embedding not in the log: %s", o);
}
