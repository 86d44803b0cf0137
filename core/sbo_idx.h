/* core/sbo_idx.h: the data layer of the image tasks. An IDX reader (the MNIST / Fashion-MNIST format) that reads
 * .gz and uncompressed files alike through zlib, the loader of a whole image set (train + test images and labels),
 * and the deterministic split permutation (Philox stream SBO_RNG_DATA_SPLIT).
 * Exercised by: tests/test_idx.c (generated IDX files, corrupt and truncated ones, the Debian Fashion-MNIST).
 *
 * Use:   sbo_image_set s; char err[SBO_ERR_LEN];
 *        if (sbo_image_set_load("fashion_mnist", NULL, &s, err, sizeof err)) { fprintf(stderr, "%s\n", err); ... }
 *        long *perm = malloc(s.train.n * sizeof *perm);
 *        sbo_split_permutation(seed, s.train.n, perm);   -> first n_train = train, next n_val = validation
 *        sbo_image_set_free(&s); */
#ifndef SBO_IDX_H
#define SBO_IDX_H
#include <stddef.h>
#include <stdint.h>

/* One IDX file of unsigned bytes (element type 0x08; the only type MNIST-like sets use). */
typedef struct {
    int ndim;               /* 1..3 */
    int dims[3];            /* dims[0] = number of items; unused dims are 0 */
    long count;             /* product of the dims = bytes in data */
    unsigned char *data;    /* row-major, malloc'd; NULL after sbo_idx_free */
} sbo_idx;

/* Reads path (.gz or uncompressed). Returns 0, or -1 with a one-line message in err (missing file, bad magic,
 * bad dims, truncated or trailing data, corrupt gzip); out is then empty and needs no free. */
int sbo_idx_read(const char *path, sbo_idx *out, char *err, size_t errlen);
void sbo_idx_free(sbo_idx *x);

/* n images of rows x cols pixels (row-major, image after image) and their n labels. */
typedef struct {
    long n;
    int rows, cols;
    unsigned char *pixels;  /* n * rows * cols */
    unsigned char *labels;  /* n, each < n_classes */
} sbo_image_split;

typedef struct {
    char name[32];          /* "fashion_mnist" or "mnist" */
    char dir[4096];         /* the directory the files came from (PATH_MAX) */
    sbo_image_split train, test;
    int n_classes;          /* 10 */
} sbo_image_set;

/* Default directories, used when data_dir is NULL (or "") and the environment variable SBO_DATA_DIR is unset. */
#define SBO_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"   /* Debian package dataset-fashion-mnist */
#define SBO_MNIST_DIR "data/mnist"                                  /* data_fetch/fetch_mnist.sh, repo root */

/* Loads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] of dataset ("fashion_mnist" or "mnist") from data_dir
 * (NULL or "": $SBO_DATA_DIR, else the default above). Checks images 3-d, labels 1-d, equal counts, labels < 10.
 * Returns 0, or -1 with a one-line message in err; out is then empty and needs no free. */
int sbo_image_set_load(const char *dataset, const char *data_dir, sbo_image_set *out, char *err, size_t errlen);
void sbo_image_set_free(sbo_image_set *s);

/* perm_out[0..n-1] = a uniformly random permutation of 0..n-1, a function of seed only: Fisher-Yates on the
 * Philox stream (seed, SBO_RNG_DATA_SPLIT, block 0, iteration 0) with unbiased bounded draws. n <= 2^32. */
void sbo_split_permutation(uint64_t seed, long n, long *perm_out);
#endif
