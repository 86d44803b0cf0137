/* core/sbo_cifar.h: the CIFAR-10 and CIFAR-100 loaders (the "binary version" of Krizhevsky's sets), behind
 * sbo_image_set_load("cifar10" | "cifar100", ...) of core/sbo_idx.h, which is what the tasks call.
 * Exercised by: tests/test_cifar.c (generated batches: labels, pixel order, every corrupt case, a data_cleaning run),
 * fuzz/fuzz_cifar.c (sbo_cifar_read_batch).
 *
 * The files (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"; data_fetch/fetch_cifar.sh gets them):
 *   CIFAR-10:  cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin, records of 3073 bytes:
 *              1 label byte (0..9), then 3072 pixel bytes
 *   CIFAR-100: cifar-100-binary/{train,test}.bin, records of 3074 bytes:
 *              1 coarse label byte (0..19), 1 fine label byte (0..99), then 3072 pixel bytes
 * The 3072 pixel bytes are three 32 x 32 planes, R then G then B, each row-major. They are kept in that order:
 * sbo_image_split.pixels holds image after image, each channels (3) x rows (32) x cols (32), channel-planar
 * (PyTorch's (N, C, H, W)), so byte (i, c, r, x) = pixels[i * 3072 + c * 1024 + r * 32 + x]. labels holds the label
 * byte (CIFAR-100: the fine label, 100 classes); coarse_labels holds CIFAR-100's coarse label (20 superclasses).
 * Train = the five data batches in order 1..5 (CIFAR-10) or train.bin; test = test_batch.bin or test.bin. The batches
 * have no header, so the record count is the file size over the record size; the five CIFAR-10 data batches must
 * hold equal counts (10,000 each in the official set): a batch cut at a record boundary is caught that way. */
#ifndef SBO_CIFAR_H
#define SBO_CIFAR_H
#include <stddef.h>
#include "core/sbo_idx.h"   /* sbo_image_set, sbo_image_split */

#define SBO_CIFAR_SIDE 32
#define SBO_CIFAR_CHANNELS 3
#define SBO_CIFAR_PIXELS (SBO_CIFAR_CHANNELS * SBO_CIFAR_SIDE * SBO_CIFAR_SIDE)   /* 3072 bytes per image */

/* 1 when name is "cifar10" or "cifar100". */
int sbo_cifar_known(const char *name);

/* Loads dataset ("cifar10" or "cifar100") from data_dir (NULL or "": $SBO_DATA_DIR, else SBO_CIFAR10_DIR or
 * SBO_CIFAR100_DIR). The files may lie in data_dir itself or in its official subdirectory (cifar-10-batches-bin/,
 * cifar-100-binary/: where the archive extracts). out->dir is the directory they came from. Returns 0, or -1 with a
 * one-line message naming the file and the fix; out is then empty and needs no free. */
int sbo_cifar_load(const char *dataset, const char *data_dir, sbo_image_set *out, char *err, size_t errlen);

/* Reads one binary batch at path (cifar100: 0 = CIFAR-10 records, 1 = CIFAR-100 records) and appends its records to
 * sp (zeroed before the first batch; 32 x 32 x 3; coarse_labels kept for CIFAR-100). Refuses a file that is not a
 * regular file, is empty or not a whole number of records, is cut short while read, or holds a label out of range.
 * 0, or -1 with a one-line message; sp is then as it was. */
int sbo_cifar_read_batch(const char *path, int cifar100, sbo_image_split *sp, char *err, size_t errlen);
#endif
