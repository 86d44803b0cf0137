/* runners/sbo_h5.h: HDF5 results, schema v1 (docs/SCHEMA.md). One file per run (or per theory check).
 * Curves are extendible, chunked, shuffle+deflate compressed 2-D datasets (rows appended, columns named
 * by the "columns" attribute). Exercised by: tests/test_h5.c, tests/test_cli.c, `sbo run`, every theory
 * check with --out.
 *
 * Durability: the file is built in memory and published by atomic snapshots (whole image to a temporary
 * file, then rename over the path). Every change is published within SBO_H5_SNAPSHOT_INTERVAL_S by the
 * next sbo_h5_* write or sbo_h5_flush_if_due call, immediately by sbo_h5_flush, and at sbo_h5_close.
 * A reader, or a process killed at any moment, sees a complete file: the last snapshot.
 *
 * Errors: HDF5's own error-stack printing is switched off; every failing call prints ONE line on stderr
 * ("sbo: error: hdf5: cannot write attribute 'x' on '/' of 'f.h5': <HDF5's innermost message>") and
 * returns -1 (or NULL). Strings are stored as variable-length UTF-8 (h5py reads them as str). */
#ifndef SBO_H5_H
#define SBO_H5_H
#include <stddef.h>

#define SBO_SCHEMA_VERSION 1
#define SBO_H5_SNAPSHOT_INTERVAL_S 0.5   /* default minimum time between automatic snapshots */

typedef struct sbo_h5 sbo_h5;
typedef struct sbo_h5_table sbo_h5_table;

/* Create a results file in memory; nothing appears at path until the first snapshot (sbo_h5_flush, the first
 * automatic one after SBO_H5_SNAPSHOT_INTERVAL_S, or sbo_h5_close), which replaces what is there. Parent
 * directories are created (and removed again when creation fails). Refused with err, nothing created:
 * a path ending in '/', a file name over NAME_MAX, a path that exists and is not a regular file (directory, FIFO,
 * device, socket, dangling symlink), a file the process opened as an input (core/sbo_input.h), an unwritable
 * directory ("cannot write results to 'x.h5': Permission denied; choose a writable --out").
 * A symlink to a regular file is followed: the target is replaced, the link stays. */
sbo_h5 *sbo_h5_create(const char *path, char *err, size_t errlen);
/* Give up a file (bad input found after create): close it without publishing; remove it if a snapshot was
 * published and the directories that create made. */
void sbo_h5_abandon(sbo_h5 *f);
int sbo_h5_close(sbo_h5 *f);                  /* closes tables too, publishes the final file; 0 ok */
int sbo_h5_flush(sbo_h5 *f);                  /* publish a snapshot now */
/* Publish if there are unpublished changes and the last snapshot is older than the interval; cheap
 * (a clock read) otherwise. Long loops call it once per iteration so no change waits longer than that. */
int sbo_h5_flush_if_due(sbo_h5 *f);
/* Minimum seconds between automatic snapshots (0: publish at every change; tests). */
void sbo_h5_set_snapshot_interval(sbo_h5 *f, double seconds);
const char *sbo_h5_filename(const sbo_h5 *f); /* the path given to sbo_h5_create */

/* Groups are created on demand ("/", "/curves", "/tc7/soba"). Attributes are replaced when they exist.
 * group may also name an existing dataset (e.g. "/curves"). */
int sbo_h5_attr_str(sbo_h5 *f, const char *group, const char *name, const char *value);
int sbo_h5_attr_double(sbo_h5 *f, const char *group, const char *name, double value);
int sbo_h5_attr_long(sbo_h5 *f, const char *group, const char *name, long value);
int sbo_h5_attr_doubles(sbo_h5 *f, const char *group, const char *name, const double *v, int n);
int sbo_h5_attr_longs(sbo_h5 *f, const char *group, const char *name, const long *v, int n);   /* int64[n] */

/* A fixed-size dataset of doubles with shape (rows, cols); cols = 1 writes a 1-D dataset.
 * Parent groups are created; an existing dataset of that path is replaced. */
int sbo_h5_write_matrix(sbo_h5 *f, const char *path, const double *data, long rows, long cols);
/* 1-D datasets of int64 and of variable-length UTF-8 strings (n may be 0). */
int sbo_h5_write_longs(sbo_h5 *f, const char *path, const long *data, long n);
/* A 1-D double dataset written (or rewritten in place) without publishing a snapshot: several such writes that
 * belong together (a checkpoint) reach the disk in the same snapshot. */
int sbo_h5_put_doubles(sbo_h5 *f, const char *path, const double *data, long n);
int sbo_h5_write_strings(sbo_h5 *f, const char *path, const char *const *data, long n);

/* An appendable table: rows of ncols doubles, column names stored in the "columns" attribute
 * (comma-separated). Appends cost microseconds (the chunk stays in HDF5's cache until a snapshot). */
sbo_h5_table *sbo_h5_table_create(sbo_h5 *f, const char *path, int ncols, const char *const *colnames);
int sbo_h5_table_append(sbo_h5_table *t, const double *row);
long sbo_h5_table_rows(const sbo_h5_table *t);

/* Provenance common to every file: schema_version, sbo_version, git_commit, build_flags, blas_vendor,
 * blas_corename, openblas_coretype_env, hdf5_version, zlib_version, hostname, command_line,
 * start_time (ISO 8601 UTC). */
int sbo_h5_write_provenance(sbo_h5 *f, int argc, char **argv);
/* Current UTC time as ISO 8601 into buf ("2025-01-31T12:00:00Z"; 21 bytes suffice). */
void sbo_iso_time(char *buf, size_t n);

/* Reading (tests, `sbo` sanity checks): returns 0 and fills; caller frees *data. -1 (with a one-line
 * message on stderr) when the file, object or attribute is missing or unreadable.
 * A live writer's file can be read at any time: the reader sees the writer's last snapshot. */
int sbo_h5_read_attr_str(const char *path, const char *group, const char *name, char *out, size_t outlen);
/* Quiet variant: no message when the file or attribute is missing (optional attributes, files of other kinds). */
int sbo_h5_try_read_attr_str(const char *path, const char *group, const char *name, char *out, size_t outlen);
/* Numeric scalar attributes are formatted (%lld / %.17g) by read_attr_str; read_attr_double parses them. */
int sbo_h5_read_attr_double(const char *path, const char *group, const char *name, double *out);
int sbo_h5_read_matrix(const char *path, const char *dataset, double **data, long *rows, long *cols);
/* Quiet variant for polling a live file: no message on failure. */
int sbo_h5_try_read_matrix(const char *path, const char *dataset, double **data, long *rows, long *cols);
#endif
