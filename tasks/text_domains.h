/* tasks/text_domains.h: text domains for a byte-level language model (tasks/data_mixture.c), read from Debian
 * packages (docs/DATA.md "Text domains"), capped, and split into train / validation / test.
 *
 * A domain is the bytes of its files read in a fixed order (the file names sorted byte-wise, C locale, directories
 * walked depth first in the same order; symbolic links skipped), through zlib's gzread, which inflates .gz and the
 * dictzip .dz files and passes plain files through. Reading stops at a byte budget (the last file cut there). The
 * bytes are cut into contiguous chunks of `chunk` bytes (the tail shorter than a chunk is dropped) and the chunks
 * are dealt to the splits by a permutation keyed by (seed, the domain's name): the first n_val of the permutation
 * to validation, the next n_test to test, the rest to training, n_val = n_test = max(1, n_chunks / 10). A sample
 * (a sequence of T + 1 bytes) lies inside one chunk, so no byte is shared by two splits.
 * Exercised by: tests/test_mixture.c (generated domain files: order, budget, a missing domain, a corrupt .gz, the
 * split deterministic and disjoint), `sbo run --task data_mixture`. */
#ifndef SBO_TEXT_DOMAINS_H
#define SBO_TEXT_DOMAINS_H
#include <stddef.h>
#include <stdint.h>

#define SBO_TEXT_MAX_DOMAINS 16

/* Where a domain's text comes from. */
typedef struct {
    const char *name;       /* the domain's name (task.target, task.domains, metric names) */
    const char *package;    /* the Debian package that installs it (the error message names it) */
    const char *root;       /* a directory (or, with only, a directory holding that file) */
    int recursive;          /* walk subdirectories too */
    const char *include;    /* '|'-separated name suffixes a file must end with ("": any) */
    const char *exclude;    /* '|'-separated name suffixes to skip ("": none) */
    const char *what;       /* one line for the docs and `sbo list` */
} sbo_text_source;

/* One loaded domain: its bytes and its split. chunks[k][0 .. n[k]) are chunk indices of split k (0 train,
 * 1 validation, 2 test), in permutation order; chunk c covers bytes [c chunk, (c + 1) chunk). */
typedef struct {
    char name[32];
    unsigned char *bytes;
    long n_bytes;           /* read (<= the budget) */
    long n_files;           /* files read, the last possibly cut */
    long chunk, n_chunks;
    long *chunks[3];
    long n[3];
} sbo_text_domain;

/* The built-in sources, NULL-name terminated: fortunes_en, fortunes_de, fortunes_es, fortunes_it, jargon, foldoc,
 * manpages, c_headers, python. */
const sbo_text_source *sbo_text_sources(void);
const sbo_text_source *sbo_text_source_find(const char *name);

/* Reads source src (dir: a directory that replaces src->root, e.g. generated test files; NULL: src->root) up to
 * budget bytes, and splits it with chunk-byte chunks keyed by seed. 0, or -1 with a one-line message: the root
 * missing or no file found ("... install the Debian package P"), a file that cannot be read or inflated (its path
 * and zlib's message), fewer than 3 chunks. */
int sbo_text_domain_load(const sbo_text_source *src, const char *dir, long budget, long chunk, uint64_t seed,
                         sbo_text_domain *d, char *err, size_t errlen);
void sbo_text_domain_free(sbo_text_domain *d);
#endif
