/* tasks/text_domains.c: the text domains of tasks/text_domains.h: sources, reading (zlib), budget and split.
 * Exercised by: tests/test_mixture.c, `sbo run --task data_mixture`. */
#include "tasks/text_domains.h"   /* the interface */
#include "core/sbo_idx.h"         /* sbo_split_permutation: the keyed permutation of the image splits */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const sbo_text_source sources[] = {
    {"fortunes_en", "fortunes", "/usr/share/games/fortunes", 0, "", ".dat|.u8",
     "English fortune cookies (fortunes, fortunes-min): the files of /usr/share/games/fortunes, not the links"},
    {"fortunes_de", "fortunes-de", "/usr/share/games/fortunes/de", 0, "", ".dat|.u8", "German fortune cookies"},
    {"fortunes_es", "fortunes-es", "/usr/share/games/fortunes/es", 0, "", ".dat|.u8", "Spanish fortune cookies"},
    {"fortunes_it", "fortunes-it", "/usr/share/games/fortunes/it", 0, "", ".dat|.u8", "Italian fortune cookies"},
    {"jargon", "dict-jargon", "/usr/share/dictd", 0, "jargon.dict.dz", "",
     "the Jargon File as a dictd dictionary (dictzip, inflated)"},
    {"foldoc", "dict-foldoc", "/usr/share/dictd", 0, "foldoc.dict.dz", "",
     "the Free On-line Dictionary of Computing as a dictd dictionary (dictzip, inflated)"},
    {"manpages", "manpages", "/usr/share/man/man1", 0, ".gz", "",
     "section-1 manual pages (groff source, inflated); not a default: container images often drop /usr/share/man"},
    {"c_headers", "libc6-dev", "/usr/include", 1, ".h", "", "C headers under /usr/include"},
    {"python", "libpython3-stdlib", "/usr/lib/python3.*", 1, ".py", "",
     "the Python standard library's sources (the newest /usr/lib/python3.N)"},
    {NULL, NULL, NULL, 0, NULL, NULL, NULL}};

const sbo_text_source *sbo_text_sources(void) { return sources; }

const sbo_text_source *sbo_text_source_find(const char *name) {
    for (int i = 0; sources[i].name; i++)
        if (strcmp(sources[i].name, name) == 0) return &sources[i];
    return NULL;
}

/* name ends with one of the '|'-separated suffixes of list */
static int ends_with_any(const char *name, const char *list) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, '|');
        size_t k = q ? (size_t)(q - p) : strlen(p);
        if (k && k <= n && memcmp(name + n - k, p, k) == 0) return 1;
        p += k + (q != NULL);
    }
    return 0;
}

static int byte_order(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

typedef struct {
    const sbo_text_source *src;
    sbo_text_domain *d;
    long budget;
    char *err;
    size_t errlen;
    int failed;
} reader;

/* Appends the file's (inflated) bytes up to the budget. 0, or -1 with a message. */
static int read_file(reader *r, const char *path) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(r->err, r->errlen, "text domain '%s': cannot open %s: %s", r->src->name, path, strerror(errno));
        return -1;
    }
    sbo_text_domain *d = r->d;
    d->n_files++;
    while (d->n_bytes < r->budget) {
        long want = r->budget - d->n_bytes;
        int got = gzread(f, d->bytes + d->n_bytes, (unsigned)(want < (1 << 20) ? want : (1 << 20)));
        int errnum = Z_OK;
        const char *msg = gzerror(f, &errnum);
        if (got < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
            snprintf(r->err, r->errlen, "text domain '%s': %s is corrupt or truncated (zlib: %s); reinstall the "
                     "Debian package %s", r->src->name, path, msg, r->src->package);
            gzclose(f);
            return -1;
        }
        if (got == 0) break;
        d->n_bytes += got;
    }
    gzclose(f);
    return 0;
}

/* Reads the matching files under dir in byte-wise name order, depth first, until the budget is met. */
static int walk(reader *r, const char *dir) {
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, byte_order);
    if (n < 0) {
        snprintf(r->err, r->errlen, "text domain '%s': cannot read %s (%s); install the Debian package %s "
                 "(apt-get install %s)", r->src->name, dir, strerror(errno), r->src->package, r->src->package);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (rc || r->d->n_bytes >= r->budget || nm[0] == '.') continue;
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, nm) >= (int)sizeof path || lstat(path, &st)) continue;
        if (S_ISDIR(st.st_mode) && r->src->recursive) rc = walk(r, path);
        else if (S_ISREG(st.st_mode) && (!r->src->include[0] || ends_with_any(nm, r->src->include)) &&
                 !ends_with_any(nm, r->src->exclude))
            rc = read_file(r, path);
    }
    for (int i = 0; i < n; i++) free(ents[i]);
    free(ents);
    return rc;
}

void sbo_text_domain_free(sbo_text_domain *d) {
    free(d->bytes);
    for (int k = 0; k < 3; k++) free(d->chunks[k]);
    memset(d, 0, sizeof *d);
}

/* FNV-1a of the name: keys the domain's split independently of the other domains */
static uint64_t name_key(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int sbo_text_domain_load(const sbo_text_source *src, const char *dir, long budget, long chunk, uint64_t seed,
                         sbo_text_domain *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", src->name);
    char root[4096];
    snprintf(root, sizeof root, "%s", dir ? dir : src->root);
    if (strchr(root, '*')) {   /* the newest match of a pattern (python3.N) */
        glob_t gl;
        int g = glob(root, 0, NULL, &gl);
        if (g == 0 && gl.gl_pathc > 0) snprintf(root, sizeof root, "%s", gl.gl_pathv[gl.gl_pathc - 1]);
        globfree(&gl);
    }
    d->bytes = malloc((size_t)budget);
    if (!d->bytes) {
        snprintf(err, errlen, "out of memory reading text domain '%s' (%ld bytes)", src->name, budget);
        return -1;
    }
    reader r = {.src = src, .d = d, .budget = budget, .err = err, .errlen = errlen};
    if (walk(&r, root)) {
        sbo_text_domain_free(d);
        return -1;
    }
    if (d->n_bytes == 0) {
        snprintf(err, errlen, "text domain '%s': no file under %s%s%s; install the Debian package %s (apt-get "
                 "install %s)", src->name, root, src->include[0] ? " ending in " : "", src->include, src->package,
                 src->package);
        sbo_text_domain_free(d);
        return -1;
    }
    d->chunk = chunk;
    d->n_chunks = d->n_bytes / chunk;
    if (d->n_chunks < 3) {
        snprintf(err, errlen, "text domain '%s': %ld bytes under %s make %ld chunks of %ld; at least 3 are needed "
                 "(one per split)", src->name, d->n_bytes, root, d->n_chunks, chunk);
        sbo_text_domain_free(d);
        return -1;
    }
    long *perm = malloc(sizeof(long) * (size_t)d->n_chunks);
    long nv = d->n_chunks / 10 > 1 ? d->n_chunks / 10 : 1;
    d->n[1] = d->n[2] = nv;
    d->n[0] = d->n_chunks - 2 * nv;
    for (int k = 0; k < 3; k++) d->chunks[k] = malloc(sizeof(long) * (size_t)d->n[k]);
    if (!perm || !d->chunks[0] || !d->chunks[1] || !d->chunks[2]) {
        free(perm);
        sbo_text_domain_free(d);
        snprintf(err, errlen, "out of memory splitting text domain '%s'", src->name);
        return -1;
    }
    sbo_split_permutation(seed ^ name_key(src->name), d->n_chunks, perm);
    memcpy(d->chunks[1], perm, sizeof(long) * (size_t)nv);
    memcpy(d->chunks[2], perm + nv, sizeof(long) * (size_t)nv);
    memcpy(d->chunks[0], perm + 2 * nv, sizeof(long) * (size_t)d->n[0]);
    free(perm);
    return 0;
}
