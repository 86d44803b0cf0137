/* core/sbo_idx.h: the data layer of the image tasks. An IDX reader (the MNIST / Fashion-MNIST format) that reads
 * .gz and uncompressed files alike through zlib, the loader of a whole image set (train + test images and labels:
 * fashion_mnist and mnist from IDX files here, cifar10 and cifar100 from their binary batches in core/sbo_cifar.c),
 * and the deterministic split permutation (Philox stream SBO_RNG_DATA_SPLIT).
 * Exercised by: tests/test_idx.c (generated IDX files, corrupt and truncated ones, the Debian Fashion-MNIST),
 * tests/test_cifar.c (generated CIFAR-10/100 batches).
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

/* n images of channels x rows x cols bytes and their n labels. The pixel order is channel-planar, image after image:
 * byte (i, c, r, x) of image i, channel c, row r, column x is pixels[((i * channels + c) * rows + r) * cols + x]
 * (PyTorch's (N, C, H, W)). Grey sets (fashion_mnist, mnist) have channels = 1, so this is the IDX order; CIFAR has
 * channels = 3 (R, G, B planes of 32 x 32, row-major), exactly the order of its binary records. A network that wants
 * patches or channels-last gathers from this order itself. */
typedef struct {
    long n;
    int rows, cols;
    int channels;           /* 1 (grey) or 3 (R, G, B) */
    unsigned char *pixels;  /* n * channels * rows * cols */
    unsigned char *labels;  /* n, each < n_classes (CIFAR-100: the fine label) */
    unsigned char *coarse_labels;   /* CIFAR-100 only: n superclass labels, each < n_coarse_classes; else NULL */
} sbo_image_split;

typedef struct {
    char name[32];          /* "fashion_mnist", "mnist", "cifar10" or "cifar100" */
    char dir[4096];         /* the directory the files came from (PATH_MAX) */
    sbo_image_split train, test;
    int n_classes;          /* 10 (CIFAR-100: 100, its fine labels) */
    int n_coarse_classes;   /* CIFAR-100: 20 (the superclasses in coarse_labels); 0 for the other sets */
} sbo_image_set;

/* Default directories, used when data_dir is NULL (or "") and the environment variable SBO_DATA_DIR is unset. */
#define SBO_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"   /* Debian package dataset-fashion-mnist */
#define SBO_MNIST_DIR "data/mnist"                                  /* data_fetch/fetch_mnist.sh, repo root */
#define SBO_CIFAR10_DIR "data/cifar10"      /* data_fetch/fetch_cifar.sh cifar10 (holds cifar-10-batches-bin/) */
#define SBO_CIFAR100_DIR "data/cifar100"    /* data_fetch/fetch_cifar.sh cifar100 (holds cifar-100-binary/) */

/* The directory set `name` loads from: data_dir when given (not NULL or ""), else $SBO_DATA_DIR when set, else
 * default_dir. NULL with a one-line message when it does not fit sbo_image_set.dir (PATH_MAX). */
const char *sbo_image_dir(const char *name, const char *data_dir, const char *default_dir, char *err, size_t errlen);

/* The names sbo_image_set_load knows, for option help and messages. */
#define SBO_IMAGE_SET_NAMES "fashion_mnist, mnist, cifar10, cifar100"
/* 1 when name is one of SBO_IMAGE_SET_NAMES. */
int sbo_image_set_known(const char *name);

/* Loads dataset from data_dir (NULL or "": $SBO_DATA_DIR, else the default above). fashion_mnist, mnist:
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; checks images 3-d, labels 1-d, equal counts, labels < 10.
 * cifar10, cifar100: the binary batches (core/sbo_cifar.h), in data_dir or in its official subdirectory.
 * Returns 0, or -1 with a one-line message in err; out is then empty and needs no free. */
int sbo_image_set_load(const char *dataset, const char *data_dir, sbo_image_set *out, char *err, size_t errlen);
void sbo_image_set_free(sbo_image_set *s);

/* perm_out[0..n-1] = a uniformly random permutation of 0..n-1, a function of seed only: Fisher-Yates on the
 * Philox stream (seed, SBO_RNG_DATA_SPLIT, block 0, iteration 0) with unbiased bounded draws. n <= 2^32. */
void sbo_split_permutation(uint64_t seed, long n, long *perm_out);
#endif
