/* core/sbo_input.c: see sbo_input.h. Exercised by: tests/test_inputs.c, tests/test_idx.c. */
#include "core/sbo_input.h"   /* the interface */
#include "core/sbo_log.h"     /* sbo_errf */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A run reads a config file and at most 8 IDX files; more are remembered as "the first 64". */
#define SBO_INPUT_MAX 64

static struct {
    dev_t dev;
    ino_t ino;
    char path[256];
} g_inputs[SBO_INPUT_MAX];
static int g_n_inputs = 0;

const char *sbo_file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISREG(mode)) return "a regular file";
    return "not a regular file";
}

int sbo_input_open(const char *path, const char *what, const char *fix, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        sbo_errf(err, errlen, "cannot open %s '%s': %s; %s", what, path, strerror(errno), fix);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        sbo_errf(err, errlen, "cannot open %s '%s': %s; %s", what, path, strerror(e), fix);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        sbo_errf(err, errlen, "%s '%s' is %s, not a regular file; %s", what, path, sbo_file_kind(st.st_mode), fix);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (!sbo_input_is_one(&st) && g_n_inputs < SBO_INPUT_MAX) {
        g_inputs[g_n_inputs].dev = st.st_dev;
        g_inputs[g_n_inputs].ino = st.st_ino;
        snprintf(g_inputs[g_n_inputs].path, sizeof g_inputs[0].path, "%s", path);
        g_n_inputs++;
    }
    return fd;
}

const char *sbo_input_name(const struct stat *st) {
    for (int i = 0; i < g_n_inputs; i++)
        if (g_inputs[i].dev == st->st_dev && g_inputs[i].ino == st->st_ino) return g_inputs[i].path;
    return "";
}

int sbo_input_is_one(const struct stat *st) { return sbo_input_name(st)[0] != '\0'; }
