/* tests/test_cli.c: the `sbo` command end to end (runners/main.c, runners/sbo_run.c, runners/memory_report.c,
 * docs/SCHEMA.md).
 * Spawns SBO_BIN_DIR/sbo and checks: every bad input exits 2 with exactly one stderr line "sbo: error: ..."
 * and leaves no file behind; a completed run has status "done" and the schema's attributes and columns;
 * same seed gives bit-identical curves (except step_time_s); a SIGKILLed run leaves a readable file;
 * SIGINT gives status "interrupted" and exit 130; divergence gives status "diverged" and exit 3;
 * --data-dir sets task.data_dir (and is refused by a task without data); `sbo memory` prints one row per
 * algorithm (--algos, --steps, --csv); a run's root memory_* attributes hold the memory after the last step.
 * Suite sweep (runners/sweep.c, runners/summarize.c): a --jobs 2 sweep completes every run with its manifest row and
 * log, and a re-run touches nothing; a child killed mid-run is resumed by the next sweep with curves bit-identical to
 * an uninterrupted run; SIGTERM stops the children (status interrupted, exit 130) and a re-run finishes them; failed
 * runs are left unless --rerun-failed; --dry-run writes nothing; a changed configuration is refused (manifest, then
 * the file itself); summarize groups seeds, keeps another commit's run in its own row with a note, names incomplete
 * and foreign files; bad [sweep] and command-line inputs exit 2 with one line and write nothing. The Slurm path:
 * tests/test_slurm.sh (ctest slurm_sweep).
 * Run: ctest -R test_cli, or build/test_cli --verbose (build/test_cli --filter 'sweep/\*' runs the sweep suite). */
#define _XOPEN_SOURCE 700   /* mknod: a character device of the test's own */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "runners/sbo_h5.h"   /* reading the results files */
#include "core/sbo_cuda.h"    /* sbo_cuda_available: whether --device cuda can be refused here */
#include <hdf5.h>             /* a run file "from another commit" (sbo summarize) */

extern char **environ;

static const char *const SBO = SBO_BIN_DIR "/sbo";
static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sbo_test_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void rm_tmpdir(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

TestSuite(cli, .init = make_tmpdir, .fini = rm_tmpdir);

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

// --- spawning ----------------------------------------------------------------------------------

/* environ plus OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1 (one thread: reproducible curves). */
static char **child_env(void) {
    static char *env[1024];
    int n = 0;
    for (char **e = environ; *e && n < 1020; e++)
        if (strncmp(*e, "OMP_NUM_THREADS=", 16) != 0 && strncmp(*e, "OPENBLAS_NUM_THREADS=", 21) != 0) env[n++] = *e;
    env[n++] = "OMP_NUM_THREADS=1";
    env[n++] = "OPENBLAS_NUM_THREADS=1";
    env[n] = NULL;
    return env;
}

/* Start sbo with args (NULL-terminated, without argv[0]); stdout and stderr go to files in tmpdir. */
static pid_t spawn_sbo(const char *const *args, const char *tag) {
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)SBO;
    for (int i = 0; args[i] && n < 62; i++) argv[n++] = (char *)args[i];
    argv[n] = NULL;
    char out[512], err[512];
    snprintf(out, sizeof out, "%s/%s.stdout", tmpdir, tag);
    snprintf(err, sizeof err, "%s/%s.stderr", tmpdir, tag);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, SBO, &fa, NULL, argv, child_env());
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "posix_spawn %s: %s (build the sbo target first)", SBO, strerror(rc));
    return pid;
}

/* Wait; returns the exit code, or 128 + signal. */
static int wait_sbo(pid_t pid) {
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static char *captured(const char *tag, const char *stream) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s.%s", tmpdir, tag, stream);
    char *s = slurp(p);
    unlink(p);
    return s;
}

/* Run to completion; *err_out / *out_out receive stderr / stdout (caller frees; NULL: discard). */
static int run_sbo(const char *const *args, char **err_out, char **out_out) {
    int code = wait_sbo(spawn_sbo(args, "run"));
    char *e = captured("run", "stderr"), *o = captured("run", "stdout");
    if (err_out) *err_out = e; else free(e);
    if (out_out) *out_out = o; else free(o);
    return code;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static int dir_entries(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    return system(cmd) == 0 ? 0 : 1;
}

// --- bad input: exit 2, one line, nothing written ------------------------------------------------

typedef struct {
    const char *what;
    const char *args[32];
    const char *expect[3];   /* substrings the one stderr line must contain */
} bad_case;

static void check_bad(const bad_case *c, const char *outdir) {
    char *err = NULL;
    int code = run_sbo(c->args, &err, NULL);
    cr_expect_eq(code, 2, "[%s] exit code %d, expected 2; stderr: %s", c->what, code, err);
    cr_expect_eq(count_lines(err), 1, "[%s] stderr must be exactly one line, got %d: '%s'", c->what, count_lines(err), err);
    cr_expect(strncmp(err, "sbo: error: ", 12) == 0, "[%s] stderr must start with 'sbo: error: ': '%s'", c->what, err);
    for (int i = 0; i < 3 && c->expect[i]; i++)
        cr_expect(strstr(err, c->expect[i]) != NULL, "[%s] stderr lacks '%s': '%s'", c->what, c->expect[i], err);
    cr_expect_eq(dir_entries(outdir), 0, "[%s] something was written into %s (no partial garbage allowed)", c->what, outdir);
    free(err);
}

Test(cli, bad_inputs_exit_2_with_one_line_and_no_file, .timeout = 60) {
    char outdir[400], out[500], ini[500], ini_unknown[500];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(out, sizeof out, "%s/sub/dir/x.h5", outdir);   /* nested: not even the directories may appear */
    snprintf(ini, sizeof ini, "%s/bad.ini", tmpdir);
    FILE *f = fopen(ini, "w");
    fprintf(f, "[algo]\nalpha = 0.01\nthis line is garbage\n");
    fclose(f);
    snprintf(ini_unknown, sizeof ini_unknown, "%s/unknown.ini", tmpdir);
    f = fopen(ini_unknown, "w");
    fprintf(f, "[algo]\nalpah = 0.01\n");
    fclose(f);
    const char *cx = "counterexample";
    bad_case cases[] = {
        {"unknown task", {"run", "--task", "nosuchtask", "--algo", "bros", "--seed", "1", "--out", out, NULL},
         {"nosuchtask", "counterexample", "quadratic"}},
        {"unknown algorithm", {"run", "--task", cx, "--algo", "nosuchalgo", "--seed", "1", "--out", out, NULL},
         {"nosuchalgo", "ma_soba", "bros"}},
        {"rank above dimension", {"run", "--task", cx, "--algo", "bros", "--set", "algo.rank=5", "--seed", "1", "--out", out, NULL},
         {"algo.rank", "5"}},
        {"negative step", {"run", "--task", cx, "--algo", "bros", "--set", "algo.alpha=-1", "--seed", "1", "--out", out, NULL},
         {"algo.alpha"}},
        {"malformed config", {"run", "--task", cx, "--algo", "bros", "--config", ini, "--seed", "1", "--out", out, NULL},
         {"bad.ini", "3"}},
        {"unknown key in config", {"run", "--task", cx, "--algo", "bros", "--config", ini_unknown, "--seed", "1", "--out", out, NULL},
         {"alpah"}},
        {"unknown key", {"run", "--task", cx, "--algo", "bros", "--set", "algo.nosuchkey=1", "--seed", "1", "--out", out, NULL},
         {"algo.nosuchkey"}},
        {"key without section", {"run", "--task", cx, "--algo", "bros", "--set", "alpha=1", "--seed", "1", "--out", out, NULL},
         {"alpha"}},
        {"invalid value", {"run", "--task", cx, "--algo", "bros", "--set", "algo.schedule=weird", "--seed", "1", "--out", out, NULL},
         {"algo.schedule", "weird"}},
        {"non-numeric iters", {"run", "--task", cx, "--algo", "bros", "--set", "run.iters=many", "--seed", "1", "--out", out, NULL},
         {"run.iters"}},
        {"zero eval_every", {"run", "--task", cx, "--algo", "bros", "--set", "run.eval_every=0", "--seed", "1", "--out", out, NULL},
         {"run.eval_every"}},
        {"missing seed", {"run", "--task", cx, "--algo", "bros", "--out", out, NULL}, {"--seed"}},
        {"non-numeric seed", {"run", "--task", cx, "--algo", "bros", "--seed", "abc", "--out", out, NULL}, {"abc", "--seed"}},
        {"negative seed", {"run", "--task", cx, "--algo", "bros", "--seed", "-1", "--out", out, NULL}, {"--seed"}},
        {"missing out", {"run", "--task", cx, "--algo", "bros", "--seed", "1", NULL}, {"--out"}},
        {"missing task", {"run", "--algo", "bros", "--seed", "1", "--out", out, NULL}, {"--task", "counterexample"}},
        {"unknown flag", {"run", "--task", cx, "--algo", "bros", "--seed", "1", "--out", out, "--frobnicate", NULL},
         {"--frobnicate"}},
        {"flag without value", {"run", "--task", cx, "--algo", "bros", "--seed", "1", "--out", NULL}, {"--out"}},
        {"unwritable output", {"run", "--task", cx, "--algo", "bros", "--seed", "1", "--out", "/proc/nonexistent/x.h5", NULL},
         {"/proc/nonexistent", "--out"}},
        {"output is a directory", {"run", "--task", cx, "--algo", "bros", "--seed", "1", "--out", "/tmp", NULL},
         {"/tmp", "--out"}},
        {"unknown subcommand", {"frobnicate", NULL}, {"frobnicate", "run"}},
        {"no subcommand", {NULL}, {"--help"}},
        {"memory: unknown task", {"memory", "--task", "nosuchtask", NULL}, {"nosuchtask", "counterexample"}},
        {"memory: rank above dimension", {"memory", "--task", cx, "--set", "algo.rank=5", NULL}, {"algo.rank"}},
        {"help for unknown command", {"help", "frobnicate", NULL}, {"frobnicate"}},
        {"--data-dir on a task without data", {"run", "--task", "quadratic", "--algo", "bros", "--seed", "1", "--out", out,
                                               "--data-dir", tmpdir, NULL},
         {"task 'quadratic' reads no data; drop --data-dir"}},
        {"--data-dir without the files", {"run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--out", out,
                                          "--data-dir", "/nonexistent/sbo-data", NULL},
         {"/nonexistent/sbo-data", "train-images-idx3-ubyte"}},
        {"--data-dir and --set task.data_dir", {"run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--out",
                                                out, "--data-dir", tmpdir, "--set", "task.data_dir=/x", NULL},
         {"--data-dir", "task.data_dir"}},
        {"memory: --data-dir on a task without data", {"memory", "--task", cx, "--data-dir", tmpdir, NULL},
         {"task 'counterexample' reads no data; drop --data-dir"}},
        {"memory: unknown algorithm in --algos", {"memory", "--task", "quadratic", "--algos", "soba,nosuchalgo", NULL},
         {"nosuchalgo", "--algos", "ma_soba"}},
        {"memory: algorithm twice in --algos", {"memory", "--task", "quadratic", "--algos", "bros,bros", NULL},
         {"bros", "twice"}},
        {"memory: negative --steps", {"memory", "--task", "quadratic", "--steps", "-1", NULL}, {"--steps", "-1"}},
        {"memory: --csv into a missing directory", {"memory", "--task", "quadratic", "--csv", "/nonexistent/m.csv", NULL},
         {"--csv", "/nonexistent"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_bad(&cases[i], outdir);
}

// --- a completed run -----------------------------------------------------------------------------

static void read_curves(const char *path, double **d, long *rows, long *cols) {
    cr_assert_eq(sbo_h5_read_matrix(path, "/curves", d, rows, cols), 0, "cannot read /curves from %s", path);
}

static int column_index(const char *path, const char *name) {
    char cols[4096];
    cr_assert_eq(sbo_h5_read_attr_str(path, "/curves", "columns", cols, sizeof cols), 0);
    int idx = 0;
    for (char *tok = strtok(cols, ","); tok; tok = strtok(NULL, ","), idx++)
        if (strcmp(tok, name) == 0) return idx;
    return -1;
}

Test(cli, completed_run_has_status_done_and_the_schema, .timeout = 60) {
    char out[512], s[8192];
    snprintf(out, sizeof out, "%s/results/cx_ma_soba.h5", tmpdir);
    const char *args[] = {"run", "--task", "counterexample", "--algo", "ma_soba", "--seed", "7", "--set", "run.iters=200",
                          "--set", "run.eval_every=10", "--out", out, NULL};
    char *err = NULL, *sout = NULL;
    int code = run_sbo(args, &err, &sout);
    cr_assert_eq(code, 0, "exit %d; stderr: %s", code, err);
    cr_assert_str_empty(err, "a successful run prints nothing on stderr (no terminal): '%s'", err);
    cr_assert(strstr(sout, "done: 200 iterations") != NULL, "stdout lacks the summary: %s", sout);
    free(err);
    free(sout);

    struct { const char *name, *value; } exact[] = {
        {"status", "done"}, {"schema_version", "1"}, {"task", "counterexample"}, {"algorithm", "ma_soba"},
        {"seed", "7"}, {"iterations", "200"}, {"iterations_requested", "200"}, {"eval_every", "10"},
        {"cross_term", "full"}, {"exit_code", "0"}};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
        cr_assert_eq(sbo_h5_read_attr_str(out, "/", exact[i].name, s, sizeof s), 0, "missing attribute %s", exact[i].name);
        cr_assert_str_eq(s, exact[i].value, "attribute %s = '%s', expected '%s'", exact[i].name, s, exact[i].value);
    }
    const char *present[] = {"sbo_version", "git_commit", "build_flags", "blas_vendor", "blas_corename",
                             "openblas_coretype_env", "hdf5_version", "zlib_version", "hostname", "command_line",
                             "start_time", "end_time", "config", "algo_log", "R", "V_max", "variant", "step_time_s"};
    for (size_t i = 0; i < sizeof present / sizeof *present; i++)
        cr_assert_eq(sbo_h5_read_attr_str(out, "/", present[i], s, sizeof s), 0, "missing attribute %s", present[i]);
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "config", s, sizeof s), 0);
    cr_assert(strstr(s, "run.iters = 200") && strstr(s, "algo.alpha = ") && strstr(s, "task.h = "),
              "config dump incomplete: '%s'", s);
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "command_line", s, sizeof s), 0);
    cr_assert(strstr(s, "--task counterexample --algo ma_soba --seed 7") != NULL, "command_line = '%s'", s);
    double R;
    cr_assert_eq(sbo_h5_read_attr_double(out, "/", "R", &R), 0);
    cr_assert(R >= 1.0, "MA-SOBA's R = %g must be at least R_min = 1 (§2.2)", R);
    double peak;
    cr_assert_eq(sbo_h5_read_attr_double(out, "/memory", "arena_peak_bytes", &peak), 0);
    cr_assert(peak > 0, "arena_peak_bytes = %g", peak);
    cr_assert_eq(sbo_h5_read_attr_double(out, "/memory", "process_peak_bytes", &peak), 0);
    cr_assert(peak > 1e6, "process_peak_bytes = %g (VmHWM of a real process is megabytes)", peak);
    cr_assert_eq(sbo_h5_read_attr_str(out, "/memory", "model_note", s, sizeof s), 0);

    double *mem;
    long mr, mc;
    cr_assert_eq(sbo_h5_read_matrix(out, "/memory/bytes", &mem, &mr, &mc), 0);
    cr_assert(mr >= 4, "/memory/bytes has %ld entries (x, h, Y, Z at least)", mr);
    double sum = 0;
    for (long i = 0; i < mr; i++) sum += mem[i];
    cr_assert(sum > 0, "memory table sums to %g bytes", sum);
    free(mem);

    cr_assert_eq(sbo_h5_read_attr_str(out, "/curves", "columns", s, sizeof s), 0);
    cr_assert(strncmp(s, "iteration,step_time_s,grad_lower,grad_upper_Y,grad_upper_x,hvp,reduced_hvp,cross,"
                         "lower_samples,upper_samples,", 108) == 0, "columns = '%s'", s);
    size_t L = strlen(s);
    /* the counterexample has d = 1, so the upper variable x follows n_clips (docs/SCHEMA.md) */
    cr_assert(L > 10 && strcmp(s + L - 10, ",n_clips,x") == 0, "the last columns must be n_clips, x: '%s'", s);
    int ncols = 1;
    for (char *p = s; *p; p++) ncols += *p == ',';

    double *d;
    long rows, cols;
    read_curves(out, &d, &rows, &cols);
    cr_assert_eq(cols, ncols, "/curves has %ld columns, the columns attribute names %d", cols, ncols);
    cr_assert_eq(rows, 21, "rows %ld, expected 21 (k = 0, 10, ..., 200)", rows);
    int gl = column_index(out, "grad_lower"), dx = column_index(out, "dist_x_star");
    cr_assert(gl == 2 && dx > 0, "column indices grad_lower %d dist_x_star %d", gl, dx);
    for (long r = 0; r < rows; r++) {
        cr_assert_eq(d[r * cols], 10.0 * r, "row %ld iteration %g", r, d[r * cols]);
        /* MA-SOBA makes one lower-gradient call per step; evaluation must not be counted */
        cr_assert_eq(d[r * cols + gl], 10.0 * r, "row %ld grad_lower %g, expected %g", r, d[r * cols + gl], 10.0 * r);
        if (r > 0) cr_assert(d[r * cols + 1] >= d[(r - 1) * cols + 1], "step_time_s must be cumulative (row %ld)", r);
    }
    cr_assert_eq(d[1], 0.0, "step_time_s at k = 0 is %g", d[1]);
    cr_assert(d[(rows - 1) * cols + dx] < 0.5 * d[dx], "dist_x_star did not fall: %g -> %g (metrics not evaluated at the "
              "current iterate?)", d[dx], d[(rows - 1) * cols + dx]);
    free(d);
}

Test(cli, small_upper_variable_is_stored_in_the_curves, .timeout = 60) {
    /* Issue 10: the tail mean of the counterexample's x (BROS oscillates around x* = -1) must be recomputable from
     * the file, so x is a column when d <= 16: "x" for d = 1, x_0 .. x_{d-1} above. dist_x_star = |x + 1| checks it
     * is the iterate of the same row; data cleaning (d = 5000) must not get 5000 columns. */
    char out[512];
    snprintf(out, sizeof out, "%s/cx_bros_x.h5", tmpdir);
    const char *a[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "3", "--set", "run.iters=300",
                       "--set", "run.eval_every=20", "--out", out, "--quiet", NULL};
    char *err = NULL;
    int code = run_sbo(a, &err, NULL);
    cr_assert_eq(code, 0, "exit %d: %s", code, err);
    free(err);
    int ix = column_index(out, "x"), id = column_index(out, "dist_x_star");
    cr_assert(ix >= 0 && id >= 0, "columns x (%d) and dist_x_star (%d)", ix, id);
    double *d;
    long rows, cols;
    read_curves(out, &d, &rows, &cols);
    cr_assert_eq(rows, 16, "rows %ld", rows);
    for (long r = 0; r < rows; r++)
        cr_assert(fabs(fabs(d[r * cols + ix] + 1.0) - d[r * cols + id]) < 1e-12, "row %ld: x = %g, dist_x_star = %g", r,
                  d[r * cols + ix], d[r * cols + id]);
    free(d);
    snprintf(out, sizeof out, "%s/q_x.h5", tmpdir);
    const char *q[] = {"run", "--task", "quadratic", "--algo", "soba", "--seed", "3", "--set", "run.iters=20",
                       "--set", "run.eval_every=10", "--out", out, "--quiet", NULL};
    code = run_sbo(q, &err, NULL);
    cr_assert_eq(code, 0, "exit %d: %s", code, err);
    free(err);
    cr_assert(column_index(out, "x") < 0 && column_index(out, "x_0") >= 0, "quadratic (d > 1): x_0 .. x_{d-1}");
}

Test(cli, list_memory_version_help, .timeout = 30) {
    char *err, *out;
    const char *a1[] = {"list", NULL};
    cr_assert_eq(run_sbo(a1, &err, &out), 0, "sbo list failed: %s", err);
    const char *want[] = {"run.iters", "run.eval_every", "counterexample", "quadratic", "soba", "ma_soba",
                          "naive_projected", "bros", "algo.alpha", "task.h"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert(strstr(out, want[i]) != NULL, "sbo list lacks '%s'", want[i]);
    free(err); free(out);
    const char *a2[] = {"memory", "--task", "counterexample", NULL};
    cr_assert_eq(run_sbo(a2, &err, &out), 0, "sbo memory failed: %s", err);
    for (size_t i = 4; i < 8; i++) cr_assert(strstr(out, want[i]) != NULL, "sbo memory lacks '%s': %s", want[i], out);
    cr_assert(strstr(out, "VmHWM") != NULL && strstr(out, "§9") != NULL, "sbo memory lacks its columns: %s", out);
    free(err); free(out);
    const char *a3[] = {"version", NULL};
    cr_assert_eq(run_sbo(a3, &err, &out), 0);
    cr_assert(strstr(out, "BLAS") && strstr(out, "HDF5") && strstr(out, "git"), "sbo version: %s", out);
    free(err); free(out);
    const char *helps[][3] = {{"--help", NULL}, {"help", "run", NULL}, {"run", "--help", NULL}, {"memory", "--help", NULL},
                              {"help", "list", NULL}, {"version", "--help", NULL}};
    for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
        cr_assert_eq(run_sbo(helps[i], &err, &out), 0, "%s %s failed: %s", helps[i][0], helps[i][1] ? helps[i][1] : "", err);
        cr_assert(strstr(out, "usage") != NULL, "help output lacks 'usage': %s", out);
        free(err); free(out);
    }
}

// --- determinism ---------------------------------------------------------------------------------

static void run_ok(const char *algo, const char *seed, const char *out) {
    const char *args[] = {"run", "--task", "quadratic", "--algo", algo, "--seed", seed, "--set", "run.iters=300",
                          "--set", "run.eval_every=7", "--set", "task.sigma=0.3", "--out", out, "--quiet", NULL};
    char *err;
    int code = run_sbo(args, &err, NULL);
    cr_assert_eq(code, 0, "run %s seed %s: exit %d: %s", algo, seed, code, err);
    free(err);
}

Test(cli, same_seed_gives_bit_identical_curves, .timeout = 120) {
    const char *algos[] = {"bros", "ma_soba"};
    for (int ai = 0; ai < 2; ai++) {
        char a[512], b[512], c[512];
        snprintf(a, sizeof a, "%s/%s_a.h5", tmpdir, algos[ai]);
        snprintf(b, sizeof b, "%s/%s_b.h5", tmpdir, algos[ai]);
        snprintf(c, sizeof c, "%s/%s_c.h5", tmpdir, algos[ai]);
        run_ok(algos[ai], "11", a);
        run_ok(algos[ai], "11", b);
        run_ok(algos[ai], "12", c);
        double *da, *db, *dc;
        long ra, ca, rb, cb, rc, cc;
        read_curves(a, &da, &ra, &ca);
        read_curves(b, &db, &rb, &cb);
        read_curves(c, &dc, &rc, &cc);
        cr_assert(ra == rb && ca == cb && ra == rc && ca == cc, "shapes differ: %ldx%ld %ldx%ld %ldx%ld", ra, ca, rb, cb, rc, cc);
        cr_assert_eq(ra, 44, "rows %ld, expected 44 (k = 0, 7, ..., 294, 300)", ra);
        long differ_other_seed = 0;
        for (long r = 0; r < ra; r++)
            for (long k = 0; k < ca; k++) {
                if (k == 1) continue;   /* step_time_s: wall time */
                double x = da[r * ca + k], y = db[r * ca + k];
                cr_assert(memcmp(&x, &y, sizeof x) == 0, "%s: seed 11 twice differs at row %ld col %ld: %.17g vs %.17g",
                          algos[ai], r, k, x, y);
                if (memcmp(&x, &dc[r * ca + k], sizeof x) != 0) differ_other_seed++;
            }
        cr_assert(differ_other_seed > ra, "%s: seeds 11 and 12 give (almost) the same curves (%ld differing entries): "
                  "is the seed used?", algos[ai], differ_other_seed);
        free(da); free(db); free(dc);
    }
}

// --- interrupted, killed and diverged runs -------------------------------------------------------

/* Start a run that would take hours; return once its file shows at least min_rows rows. */
static pid_t start_long_run(const char *out, const char *tag, long min_rows) {
    const char *args[] = {"run", "--task", "quadratic", "--algo", "bros", "--seed", "3", "--set", "run.iters=2000000000",
                          "--set", "run.eval_every=50", "--out", out, "--quiet", NULL};
    pid_t pid = spawn_sbo(args, tag);
    long rows = 0;
    for (int w = 0; w < 300 && rows < min_rows; w++) {   /* up to 30 s */
        sleep_ms(100);
        double *d;
        long c;
        if (sbo_h5_try_read_matrix(out, "/curves", &d, &rows, &c) == 0) free(d);
        else rows = 0;
        int st;
        cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "the long run exited early (status %d): %s", st,
                     captured(tag, "stderr"));
    }
    cr_assert(rows >= min_rows, "the live file never showed %ld rows (got %ld)", min_rows, rows);
    return pid;
}

Test(cli, sigkill_leaves_a_readable_file, .timeout = 90) {
    for (int trial = 0; trial < 3; trial++) {
        char out[512];
        snprintf(out, sizeof out, "%s/killed_%d.h5", tmpdir, trial);
        pid_t pid = start_long_run(out, "killed", 2);
        sleep_ms(37 * trial);
        kill(pid, SIGKILL);
        int code = wait_sbo(pid);
        cr_assert_eq(code, 128 + SIGKILL, "trial %d: the run was not killed (code %d)", trial, code);
        double *d;
        long rows, cols;
        cr_assert_eq(sbo_h5_read_matrix(out, "/curves", &d, &rows, &cols), 0, "trial %d: the killed run's file does not open", trial);
        cr_assert(rows >= 2, "trial %d: %ld rows after the kill", trial, rows);
        for (long r = 0; r < rows; r++)
            cr_assert_eq(d[r * cols], 50.0 * r, "trial %d row %ld: iteration %g", trial, r, d[r * cols]);
        free(d);
        char s[64];
        cr_assert_eq(sbo_h5_read_attr_str(out, "/", "status", s, sizeof s), 0);
        cr_assert_str_eq(s, "running", "a killed run keeps status 'running', got '%s'", s);
        free(captured("killed", "stderr"));
        free(captured("killed", "stdout"));
    }
}

Test(cli, sigint_gives_status_interrupted_and_exit_130, .timeout = 60) {
    char out[512];
    snprintf(out, sizeof out, "%s/interrupted.h5", tmpdir);
    pid_t pid = start_long_run(out, "int", 1);
    kill(pid, SIGINT);
    int code = wait_sbo(pid);
    char *err = captured("int", "stderr");
    cr_assert_eq(code, 130, "exit %d after SIGINT, expected 130; stderr: %s", code, err);
    cr_assert_eq(count_lines(err), 1, "stderr must be one line: '%s'", err);
    cr_assert(strstr(err, "interrupted") != NULL, "stderr: '%s'", err);
    free(err);
    char s[64];
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "status", s, sizeof s), 0);
    cr_assert_str_eq(s, "interrupted");
    double iters, *d;
    long rows, cols;
    cr_assert_eq(sbo_h5_read_attr_double(out, "/", "iterations", &iters), 0);
    read_curves(out, &d, &rows, &cols);
    cr_assert_eq(d[(rows - 1) * cols], iters, "the last row (iteration %g) must be the final iterate (%g)",
                 d[(rows - 1) * cols], iters);
    free(d);
}

Test(cli, divergence_gives_status_diverged_and_exit_3, .timeout = 30) {
    char out[512];
    snprintf(out, sizeof out, "%s/diverged.h5", tmpdir);
    const char *args[] = {"run", "--task", "counterexample", "--algo", "soba", "--seed", "1", "--set", "algo.beta=5",
                          "--set", "algo.gamma=5", "--set", "run.iters=100000", "--out", out, "--quiet", NULL};
    char *err;
    int code = run_sbo(args, &err, NULL);
    cr_assert_eq(code, 3, "exit %d, expected 3; stderr: %s", code, err);
    cr_assert_eq(count_lines(err), 1, "stderr must be one line: '%s'", err);
    cr_assert(strstr(err, "diverged at iteration") && strstr(err, "algo.alpha/beta/gamma"), "stderr: '%s'", err);
    free(err);
    char s[64];
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "status", s, sizeof s), 0);
    cr_assert_str_eq(s, "diverged");
    double iters, *d;
    long rows, cols;
    cr_assert_eq(sbo_h5_read_attr_double(out, "/", "iterations", &iters), 0);
    cr_assert(iters > 0 && iters < 100000, "iterations = %g", iters);
    read_curves(out, &d, &rows, &cols);
    cr_assert_eq(d[(rows - 1) * cols], iters, "the last row must be the diverged iterate: %g vs %g", d[(rows - 1) * cols], iters);
    free(d);
}

// --- --data-dir, sbo memory, the memory_* attributes --------------------------------------------

/* A tiny image set in IDX format (uncompressed; the loader reads both): 40 training and 20 test images of 4x4. */
static void write_fake_images(const char *dir) {
    const char *prefix[2] = {"train", "t10k"};
    const unsigned n[2] = {40, 20};
    for (int s = 0; s < 2; s++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, prefix[s]);
        FILE *f = fopen(p, "wb");
        cr_assert_not_null(f, "cannot write %s", p);
        unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n[s], 0, 0, 0, 4, 0, 0, 0, 4};
        fwrite(hdr, 1, sizeof hdr, f);
        for (unsigned i = 0; i < n[s] * 16; i++) fputc((int)((i * 37u + 11u * s) % 256u), f);
        fclose(f);
        snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, prefix[s]);
        f = fopen(p, "wb");
        cr_assert_not_null(f, "cannot write %s", p);
        unsigned char lh[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)n[s]};
        fwrite(lh, 1, sizeof lh, f);
        for (unsigned i = 0; i < n[s]; i++) fputc((int)(i % 10), f);
        fclose(f);
    }
}

/* The line of out that starts with "name " (a table row), or NULL. */
static const char *row_of(const char *out, const char *name) {
    size_t l = strlen(name);
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, l) == 0 && p[l] == ' ') return p;
    return NULL;
}

/* A 3-step bros run of data_cleaning on the fake images of dir (write_fake_images), results to out. */
static const char *const *image_run_args(const char *dir, const char *out) {
    static const char *args[32];
    const char *a[] = {"run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--data-dir", dir,
                       "--set", "task.n_train=20", "--set", "task.n_val=20", "--set", "task.n_test=20",
                       "--set", "task.batch=8", "--set", "task.upper_batch=8", "--set", "run.iters=3", "--out", out,
                       "--quiet", NULL};
    memcpy(args, a, sizeof a);
    return args;
}

/* Issue 10: a run killed with SIGKILL at a random moment and resumed with --resume has the curves of a run that
 * was never interrupted, bit for bit (step_time_s aside), on the counterexample and on data cleaning (fake images,
 * an MLP with a projected first layer: engine, subspaces and minibatches). 10 trials each; each trial waits for the
 * file's header, then kills after a fraction 0.05-0.9 of the uninterrupted run's wall time (fractions from a fixed
 * seed), so the kills land mid-run on a fast or a slow machine. */
static void resume_trials(const char *tag, const char *const *base, int nbase) {
    char ref[600];
    snprintf(ref, sizeof ref, "%s/%s_ref.h5", tmpdir, tag);
    const char *args[64];
    int n = 0;
    for (int i = 0; i < nbase; i++) args[n++] = base[i];
    args[n++] = "--out"; args[n++] = ref; args[n++] = "--quiet"; args[n] = NULL;
    char *err = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int code = run_sbo(args, &err, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long wall_ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
    cr_assert_eq(code, 0, "%s reference run: exit %d: %s", tag, code, err);
    free(err);
    double *R;
    long rr, rc;
    read_curves(ref, &R, &rr, &rc);
    unsigned state = 12345u;
    int resumed_mid = 0;
    for (int trial = 0; trial < 10; trial++) {
        char out[600];
        snprintf(out, sizeof out, "%s/%s_trial%d.h5", tmpdir, tag, trial);
        n = 0;
        for (int i = 0; i < nbase; i++) args[n++] = base[i];
        args[n++] = "--checkpoint-every"; args[n++] = "1500"; args[n++] = "--out"; args[n++] = out;
        args[n++] = "--quiet"; args[n] = NULL;
        pid_t pid = spawn_sbo(args, "resume");
        struct stat st;
        for (int w = 0; w < 20000 && stat(out, &st) != 0; w++) sleep_ms(1);
        state = state * 1103515245u + 12345u;
        sleep_ms((long)(wall_ms * (0.05 + 0.85 * (double)((state >> 16) % 1000) / 1000.0)));
        kill(pid, SIGKILL);
        wait_sbo(pid);
        cr_assert_eq(stat(out, &st), 0, "%s trial %d: no file after the kill", tag, trial);
        double at = -1;
        char status[32] = "";
        sbo_h5_read_attr_str(out, "/", "status", status, sizeof status);
        const char *res[] = {"run", "--resume", out, "--quiet", NULL};
        code = run_sbo(res, &err, NULL);
        cr_assert_eq(code, 0, "%s trial %d: --resume exit %d: %s", tag, trial, code, err);
        free(err);
        if (strcmp(status, "done") != 0 && sbo_h5_read_attr_double(out, "/", "resumed_at", &at) == 0 && at > 0)
            resumed_mid++;
        double *B;
        long br, bc;
        read_curves(out, &B, &br, &bc);
        cr_assert(br == rr && bc == rc, "%s trial %d: %ld x %ld rows/cols, uninterrupted %ld x %ld", tag, trial, br, bc,
                  rr, rc);
        for (long i = 0; i < rr * rc; i++) {
            if (i % rc == 1) continue;   /* step_time_s */
            int same = R[i] == B[i] || (isnan(R[i]) && isnan(B[i]));
            cr_assert(same, "%s trial %d: row %ld column %ld: %.17g, uninterrupted %.17g", tag, trial, i / rc, i % rc,
                      B[i], R[i]);
        }
        free(B);
    }
    free(R);
    /* power: the trials exercised real resumes, not only finished or never-started runs */
    cr_assert(resumed_mid >= 5, "%s: only %d of 10 trials resumed from a checkpoint", tag, resumed_mid);
    cr_log_info("%s: %d of 10 trials resumed from a checkpoint, all bit-identical", tag, resumed_mid);
}

Test(cli, resume_after_sigkill_is_bit_identical, .timeout = 300) {
    const char *cx[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "5", "--set",
                        "run.iters=3000000", "--set", "run.eval_every=20000"};
    resume_trials("cx", cx, (int)(sizeof cx / sizeof *cx));
    char dir[400];
    snprintf(dir, sizeof dir, "%s/resume_images", tmpdir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    write_fake_images(dir);
    const char *dc[] = {"run", "--task", "data_cleaning", "--algo", "bros", "--seed", "1", "--data-dir", dir,
                        "--set", "task.n_train=20", "--set", "task.n_val=20", "--set", "task.n_test=20",
                        "--set", "task.batch=8", "--set", "task.upper_batch=8", "--set", "task.model=mlp",
                        "--set", "task.hidden=8", "--set", "algo.memory_rule=off", "--set", "algo.rank=4",
                        "--set", "run.iters=60000", "--set", "run.eval_every=1000"};
    resume_trials("dc", dc, (int)(sizeof dc / sizeof *dc));
}

Test(cli, resume_refuses_options_and_leaves_a_complete_file, .timeout = 60) {
    char out[512];
    snprintf(out, sizeof out, "%s/resume_done.h5", tmpdir);
    const char *a[] = {"run", "--task", "counterexample", "--algo", "soba", "--seed", "2", "--set", "run.iters=50",
                       "--out", out, "--quiet", NULL};
    char *err = NULL;
    cr_assert_eq(run_sbo(a, &err, NULL), 0, "%s", err);
    free(err);
    struct stat st0, st1;
    cr_assert_eq(stat(out, &st0), 0);
    const char *r[] = {"run", "--resume", out, NULL};
    char *sout = NULL;
    cr_assert_eq(run_sbo(r, &err, &sout), 0, "%s", err);
    cr_assert(strstr(sout, "nothing to resume") != NULL, "stdout: %s", sout);
    free(err); free(sout);
    cr_assert_eq(stat(out, &st1), 0);
    cr_assert(st0.st_mtime == st1.st_mtime && st0.st_ino == st1.st_ino, "a complete file must be left as it is");
    const char *bad[] = {"run", "--resume", out, "--seed", "3", NULL};
    cr_assert_eq(run_sbo(bad, &err, NULL), 2);
    cr_assert(strstr(err, "--resume takes the task") != NULL, "stderr: %s", err);
    free(err);
    const char *badn[] = {"run", "--task", "counterexample", "--algo", "soba", "--seed", "2", "--out", out,
                          "--checkpoint-every", "0", NULL};
    cr_assert_eq(run_sbo(badn, &err, NULL), 2);
    cr_assert(strstr(err, "--checkpoint-every") != NULL, "stderr: %s", err);
    free(err);
}

Test(cli, data_dir_sets_task_data_dir, .timeout = 60) {
    char dir[400], out[500], s[8192];
    snprintf(dir, sizeof dir, "%s/images", tmpdir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    write_fake_images(dir);
    snprintf(out, sizeof out, "%s/dc.h5", tmpdir);
    char *err;
    int code = run_sbo(image_run_args(dir, out), &err, NULL);
    cr_assert_eq(code, 0, "exit %d: %s", code, err);
    free(err);
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "config", s, sizeof s), 0);
    char want[600];
    snprintf(want, sizeof want, "task.data_dir = %s\n", dir);
    cr_assert(strstr(s, want) != NULL, "config lacks '%s': %s", want, s);

    /* sbo memory takes it too, and passes it to every child */
    const char *margs[] = {"memory", "--task", "data_cleaning", "--data-dir", dir, "--set", "task.n_train=20",
                           "--set", "task.n_val=20", "--set", "task.n_test=20", "--set", "task.batch=8",
                           "--set", "task.upper_batch=8", "--algos", "ma_soba,bros", "--steps", "1", NULL};
    char *mout;
    code = run_sbo(margs, &err, &mout);
    cr_assert_eq(code, 0, "sbo memory exit %d: %s", code, err);
    cr_assert(row_of(mout, "ma_soba") && row_of(mout, "bros"), "rows missing: %s", mout);
    free(err);
    free(mout);
}

Test(cli, memory_measures_each_algorithm_after_steps, .timeout = 60) {
    const char *args[] = {"memory", "--task", "quadratic", "--steps", "2", NULL};
    char *err, *out;
    int code = run_sbo(args, &err, &out);
    cr_assert_eq(code, 0, "exit %d: %s", code, err);
    cr_assert_str_empty(err, "stderr: '%s'", err);
    const char *algos[] = {"soba", "ma_soba", "naive_projected", "bros"};
    for (int i = 0; i < 4; i++) cr_assert(row_of(out, algos[i]) != NULL, "no row for %s: %s", algos[i], out);
    cr_assert(strstr(out, "§9") && strstr(out, "VmHWM") && strstr(out, "ma_soba") && strstr(out, "task only") &&
              strstr(out, "run 2 steps") && strstr(out, "algo.work"), "header, baseline or arena table missing: %s", out);
    /* MA-SOBA against itself: both ratio columns read 1.000 */
    const char *r = row_of(out, "ma_soba");
    const char *nl = strchr(r, '\n');
    int ones = 0;
    for (const char *p = r; (p = strstr(p, "1.000")) && (!nl || p < nl); p++) ones++;
    cr_assert(ones >= 2, "the ma_soba row lacks its two 1.000 ratios: %.*s", nl ? (int)(nl - r) : 200, r);
    free(err);
    free(out);
}

Test(cli, memory_algos_subset_and_csv, .timeout = 60) {
    char csv[500];
    snprintf(csv, sizeof csv, "%s/mem.csv", tmpdir);
    const char *args[] = {"memory", "--task", "quadratic", "--algos", "soba,bros", "--steps", "1", "--csv", csv, NULL};
    char *err, *out;
    int code = run_sbo(args, &err, &out);
    cr_assert_eq(code, 0, "exit %d: %s", code, err);
    cr_assert(row_of(out, "soba") && row_of(out, "bros"), "rows missing: %s", out);
    cr_assert(!row_of(out, "ma_soba") && !row_of(out, "naive_projected"), "--algos soba,bros printed others: %s", out);
    free(err);
    free(out);

    char *text = slurp(csv);
    cr_assert_eq(count_lines(text), 3, "CSV: a header and 2 rows expected: '%s'", text);
    const char *want[] = {"task", "algorithm", "model_persistent_bytes", "algo_total_bytes", "algo_total_vs_ma_soba",
                          "arena_peak_bytes", "vmhwm_bytes", "task_only_vmhwm_bytes", "arenas"};
    char *row2 = strchr(text, '\n') + 1;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *hit = strstr(text, want[i]);
        cr_assert(hit && hit < row2, "CSV header lacks %s: '%s'", want[i], text);
    }
    /* the rows: columns by the header's positions */
    char *hdr = strndup(text, (size_t)(row2 - 1 - text));
    const char *names[32];
    int nh = 0;
    for (char *tok = strtok(hdr, ","); tok && nh < 32; tok = strtok(NULL, ",")) names[nh++] = tok;
    const char *expect_algo[2] = {"soba", "bros"};
    char *line = row2;
    for (int rr = 0; rr < 2; rr++) {
        char *end = strchr(line, '\n');
        *end = '\0';
        char *field[32] = {0};
        int nf = 0;
        for (char *p = line; nf < 32;) {   /* no quoted fields in these rows */
            field[nf++] = p;
            char *c = strchr(p, ',');
            if (!c) break;
            *c = '\0';
            p = c + 1;
        }
        cr_assert_eq(nf, nh, "row %d has %d fields, the header %d", rr, nf, nh);
        double st = -1, wk = -1, tot = -1, peak = -1, hwm = -1;
        for (int k = 0; k < nf; k++) {
            if (strcmp(names[k], "algorithm") == 0) cr_assert_str_eq(field[k], expect_algo[rr]);
            if (strcmp(names[k], "task") == 0) cr_assert_str_eq(field[k], "quadratic");
            if (strcmp(names[k], "algo_total_vs_ma_soba") == 0)
                cr_assert_str_empty(field[k], "no ma_soba measured, yet a ratio '%s'", field[k]);
            if (strcmp(names[k], "algo_state_bytes") == 0) st = atof(field[k]);
            if (strcmp(names[k], "algo_work_bytes") == 0) wk = atof(field[k]);
            if (strcmp(names[k], "algo_total_bytes") == 0) tot = atof(field[k]);
            if (strcmp(names[k], "arena_peak_bytes") == 0) peak = atof(field[k]);
            if (strcmp(names[k], "vmhwm_bytes") == 0) hwm = atof(field[k]);
            if (strcmp(names[k], "arenas") == 0)
                cr_assert(strstr(field[k], "task.quadratic=") && strstr(field[k], "algo.state="), "arenas '%s'", field[k]);
        }
        cr_assert(st > 0 && wk > 0 && tot == st + wk, "state %g + work %g != total %g", st, wk, tot);
        cr_assert(peak >= tot, "arena peak %g below the algorithm's own arenas %g", peak, tot);
        cr_assert(hwm > 1e6, "VmHWM %g", hwm);
        line = end + 1;
    }
    free(hdr);
    free(text);
}

Test(cli, run_records_memory_after_the_last_step, .timeout = 60) {
    char out[500], s[4096];
    snprintf(out, sizeof out, "%s/q_mem.h5", tmpdir);
    const char *args[] = {"run", "--task", "quadratic", "--algo", "bros", "--seed", "1", "--set", "run.iters=20",
                          "--out", out, "--quiet", NULL};
    char *err;
    int code = run_sbo(args, &err, NULL);
    cr_assert_eq(code, 0, "exit %d: %s", code, err);
    free(err);
    double peak, hwm, mp, mw;
    cr_assert_eq(sbo_h5_read_attr_double(out, "/", "memory_arena_peak_bytes", &peak), 0);
    cr_assert_eq(sbo_h5_read_attr_double(out, "/", "memory_process_peak_bytes", &hwm), 0);
    cr_assert_eq(sbo_h5_read_attr_double(out, "/", "memory_model_persistent_bytes", &mp), 0);
    cr_assert_eq(sbo_h5_read_attr_double(out, "/", "memory_model_work_bytes", &mw), 0);
    cr_assert(peak > 0 && hwm > 1e6 && mp > 0 && mw > 0, "peak %g VmHWM %g model %g + %g", peak, hwm, mp, mw);
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "memory_model_note", s, sizeof s), 0);
    cr_assert(strlen(s) > 0, "memory_model_note is empty");
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "memory_arenas", s, sizeof s), 0);
    cr_assert(strstr(s, "task.quadratic=") && strstr(s, "bros.state=") && strstr(s, "bros.work="), "memory_arenas '%s'", s);
    /* name=bytes;name=bytes: the live bytes at the end, at most the peak */
    double live = 0;
    for (char *tok = strtok(s, ";"); tok; tok = strtok(NULL, ";")) {
        char *eq = strchr(tok, '=');
        cr_assert(eq && eq[1], "malformed memory_arenas item '%s'", tok);
        live += atof(eq + 1);
    }
    cr_assert(live > 0 && live <= peak, "arenas at the end sum to %g, the peak is %g", live, peak);
}

// --- issue 10: what an independent probe found (docs/ERRORS.md) --------------------------------

/* One bad input: exit 2, one line "sbo: error: ..." holding want (NULL: any), nothing left in outdir. */
static void check_refused(const char *what, const char *const *args, const char *want, const char *outdir) {
    bad_case c = {.what = what, .expect = {want}};
    int n = 0;
    for (; args[n] && n < 23; n++) c.args[n] = args[n];
    c.args[n] = NULL;
    check_bad(&c, outdir);
}

static void write_text(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(text, 1, n, f), n);
    fclose(f);
}

Test(cli, out_that_exists_and_is_not_a_regular_file_is_refused, .timeout = 60) {
    char outdir[400], fifo[500], dang[500], lnk[500], target[500];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(fifo, sizeof fifo, "%s/fifo.h5", tmpdir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    snprintf(dang, sizeof dang, "%s/dangling.h5", tmpdir);
    cr_assert_eq(symlink("/nonexistent/sbo/target.h5", dang), 0);
    const char *cx[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "1", "--set", "run.iters=3",
                        "--out", NULL, NULL};
    /* a device node of our own (never the system's /dev/null: a regression run as root would replace it) */
    char dev[500];
    snprintf(dev, sizeof dev, "%s/null.h5", tmpdir);
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        cx[10] = dev;
        check_refused("--out a character device", cx, "is a character device", outdir);
    } else {
        cr_log_warn("mknod needs root: the character-device case is not tested (FIFO and symlink cases are)");
    }
    cx[10] = fifo;
    check_refused("--out FIFO", cx, "is a FIFO", outdir);
    cx[10] = dang;
    check_refused("--out dangling symlink", cx, "symbolic link whose target does not exist", outdir);
    struct stat st;
    cr_assert_eq(lstat(fifo, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode), "the FIFO was replaced");
    cr_assert_eq(lstat(dang, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the dangling link was replaced");

    /* a symlink to a regular file is followed: the target gets the results, the link stays */
    snprintf(target, sizeof target, "%s/target.h5", tmpdir);
    write_text(target, "old", 3);
    snprintf(lnk, sizeof lnk, "%s/link.h5", tmpdir);
    cr_assert_eq(symlink(target, lnk), 0);
    cx[10] = lnk;
    char *err;
    int code = run_sbo(cx, &err, NULL);
    cr_assert_eq(code, 0, "--out symlink to a file: exit %d: %s", code, err);
    free(err);
    cr_assert_eq(lstat(lnk, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link itself was replaced");
    char s[64];
    cr_assert_eq(sbo_h5_read_attr_str(target, "/", "status", s, sizeof s), 0, "the link's target holds no results");
    cr_assert_str_eq(s, "done");
}

Test(cli, out_naming_an_input_is_refused, .timeout = 60) {
    char outdir[400], ini[500], dir[500], data[600];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(ini, sizeof ini, "%s/c.ini", tmpdir);
    const char *text = "[algo]\nalpha = 0.01\n";
    write_text(ini, text, strlen(text));
    const char *a1[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "1", "--config", ini,
                        "--out", ini, NULL};
    check_refused("--config c.ini --out c.ini", a1, "same file as the input", outdir);
    char *kept = slurp(ini);
    cr_assert_str_eq(kept, text, "the config file was changed: '%s'", kept);
    free(kept);

    snprintf(dir, sizeof dir, "%s/images", tmpdir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    write_fake_images(dir);
    snprintf(data, sizeof data, "%s/images/../images/train-labels-idx1-ubyte", tmpdir);   /* another spelling */
    check_refused("--out a data file", image_run_args(dir, data), "same file as the input", outdir);
    struct stat st;
    cr_assert_eq(stat(data, &st), 0);
    cr_assert_eq(st.st_size, 8 + 40, "the labels file was replaced (%ld bytes)", (long)st.st_size);
}

Test(cli, non_regular_config_is_refused_without_hanging, .timeout = 30) {
    char outdir[400], fifo[500], sub[500];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(fifo, sizeof fifo, "%s/c.fifo", tmpdir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    snprintf(sub, sizeof sub, "%s/confdir", tmpdir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    char out[600];
    snprintf(out, sizeof out, "%s/x.h5", outdir);
    const char *a[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "1", "--config", fifo,
                       "--out", out, NULL};
    /* no writer ever opens the FIFO: before the fix, sbo blocked in open(2) until the timeout */
    check_refused("--config FIFO", a, "is a FIFO (named pipe), not a regular file", outdir);
    a[8] = sub;
    check_refused("--config directory", a, "is a directory, not a regular file", outdir);
}

Test(cli, config_bytes_are_named_and_escaped, .timeout = 30) {
    char outdir[400], nul[500], bin[500], out[600];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(out, sizeof out, "%s/x.h5", outdir);
    snprintf(nul, sizeof nul, "%s/nul.ini", tmpdir);
    write_text(nul, "[algo]\nalpha = 0.0\0001\n", 20);
    const char *a[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "1", "--config", nul,
                       "--out", out, NULL};
    check_refused("NUL byte in an INI line", a, "nul.ini:2: NUL byte", outdir);
    snprintf(bin, sizeof bin, "%s/bin.ini", tmpdir);
    write_text(bin, "[algo]\n\033[31mred\007 = 1\n", 19);
    a[8] = bin;
    check_refused("terminal escapes in a key", a, "\\x1b[31mred\\x07", outdir);
    /* and no raw control byte at all reached stderr */
    char *err;
    cr_assert_eq(run_sbo(a, &err, NULL), 2);
    for (const char *p = err; *p; p++)
        cr_assert(*p == '\n' || (unsigned char)*p >= 0x20, "raw control byte 0x%02x on stderr: %s", *p, err);
    free(err);
}

Test(cli, refused_out_leaves_no_directory_behind, .timeout = 30) {
    char outdir[400], out[1000];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    const char *a[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "1", "--set", "run.iters=3",
                       "--out", out, NULL};
    snprintf(out, sizeof out, "%s/D/new/", outdir);
    check_refused("--out D/new/", a, "ends with '/'", outdir);
    char longname[300];
    memset(longname, 'n', 290);
    longname[290] = '\0';
    snprintf(out, sizeof out, "%s/D/new/%s.h5", outdir, longname);
    check_refused("over-long file name", a, "characters long (max 255)", outdir);
    snprintf(out, sizeof out, "%s/D/%s/x.h5", outdir, longname);   /* D is made, the long one fails */
    check_refused("over-long directory name", a, "cannot create directory", outdir);
}

Test(cli, values_above_a_cap_name_the_range, .timeout = 30) {
    char outdir[400], out[600];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(out, sizeof out, "%s/x.h5", outdir);
    const char *a[] = {"run", "--task", "quadratic", "--algo", "soba", "--seed", "1", "--set", NULL,
                       "--set", "task.structure=generic", "--out", out, NULL};
    a[8] = "task.d=1000000000";
    check_refused("task.d above its cap", a, "task.d = 1000000000 is outside 1..100000000", outdir);
    a[8] = "task.h_max=1e308";
    check_refused("huge spectrum", a, "task.h_max = 1e+308", outdir);
    a[10] = "task.structure=kron";
    a[8] = "task.a_max=1e300";
    check_refused("huge kron spectrum", a, "task.a_max + task.s_max", outdir);
    a[1] = "--task";
    a[2] = "counterexample";
    a[4] = "bros";
    a[8] = "algo.rank=2000000000";
    a[10] = "run.iters=1";
    check_refused("rank above its cap", a, "outside 1..1000000000", outdir);
}

Test(cli, options_the_algorithm_ignores_draw_a_warning, .timeout = 30) {
    /* soba reads neither algo.rank nor algo.theta: one warning line, recorded; bros reads both: silence */
    const char *algo[2] = {"soba", "bros"}, *warning[2] = {"sbo: warning: soba does not read algo.rank, algo.theta", ""};
    const char *attr[2] = {"algo.rank, algo.theta", ""};
    for (int i = 0; i < 2; i++) {
        char out[600], s[256];
        snprintf(out, sizeof out, "%s/w_%s.h5", tmpdir, algo[i]);
        const char *a[] = {"run", "--task", "counterexample", "--algo", algo[i], "--seed", "1", "--set",
                           "run.iters=3", "--set", "algo.rank=1", "--set", "algo.theta=0.5", "--out", out, "--quiet",
                           NULL};
        char *err;
        int code = run_sbo(a, &err, NULL);
        cr_assert_eq(code, 0, "%s: exit %d: %s", algo[i], code, err);
        cr_assert_eq(count_lines(err), warning[i][0] ? 1 : 0, "%s: stderr '%s'", algo[i], err);
        cr_assert(strstr(err, warning[i]) != NULL, "%s: stderr '%s'", algo[i], err);
        free(err);
        cr_assert_eq(sbo_h5_read_attr_str(out, "/", "unread_options", s, sizeof s), 0);
        cr_assert_str_eq(s, attr[i], "%s: unread_options = '%s'", algo[i], s);
    }
}

Test(cli, data_dir_longer_than_128_characters, .timeout = 60) {
    char dir[1200], out[1300];
    int n = snprintf(dir, sizeof dir, "%s/", tmpdir);
    for (int i = 0; i < 4; i++) {   /* 4 levels of 100 characters: a 420-character directory */
        memset(dir + n, 'd', 99);
        dir[n + 99] = '/';
        n += 100;
        dir[n] = '\0';
        cr_assert(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
    }
    dir[n - 1] = '\0';
    write_fake_images(dir);
    snprintf(out, sizeof out, "%s/dc.h5", tmpdir);
    char *err;
    int code = run_sbo(image_run_args(dir, out), &err, NULL);
    cr_assert_eq(code, 0, "a %zu-character --data-dir: exit %d: %s", strlen(dir), code, err);
    free(err);
}

Test(cli, a_run_killed_at_once_leaves_its_header, .timeout = 60) {
    /* Before the fix the file appeared empty at creation and got its header only at the next snapshot, half a
     * second later: a kill in between left a file with no attributes. Now the first file is the header. */
    for (int trial = 0; trial < 3; trial++) {
        char out[512];
        snprintf(out, sizeof out, "%s/early_%d.h5", tmpdir, trial);
        const char *a[] = {"run", "--task", "quadratic", "--algo", "bros", "--seed", "3", "--set",
                           "run.iters=2000000000", "--set", "run.eval_every=50", "--out", out, "--quiet", NULL};
        pid_t pid = spawn_sbo(a, "early");
        struct stat st;
        for (int w = 0; w < 20000 && stat(out, &st) != 0; w++) sleep_ms(1);
        kill(pid, SIGKILL);
        cr_assert_eq(wait_sbo(pid), 128 + SIGKILL, "trial %d: the run was not killed", trial);
        char s[256];
        cr_assert_eq(sbo_h5_read_attr_str(out, "/", "status", s, sizeof s), 0, "trial %d: no status", trial);
        cr_assert_str_eq(s, "running");
        cr_assert_eq(sbo_h5_read_attr_str(out, "/", "algorithm", s, sizeof s), 0, "trial %d: no header", trial);
        cr_assert_eq(sbo_h5_read_attr_str(out, "/curves", "columns", s, sizeof s), 0, "trial %d: no /curves", trial);
        free(captured("early", "stderr"));
        free(captured("early", "stdout"));
    }
}

/* A full disk, simulated without root: RLIMIT_FSIZE makes every write past the limit fail (EFBIG, with SIGXFSZ
 * ignored), as ENOSPC does. The run must say so once, exit 1 and keep its last good snapshot. */
Test(cli, a_full_disk_is_reported_once, .timeout = 120) {
    char out[512], errpath[600];
    snprintf(out, sizeof out, "%s/full.h5", tmpdir);
    snprintf(errpath, sizeof errpath, "%s/full.stderr", tmpdir);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {64 * 1024, 64 * 1024};
        signal(SIGXFSZ, SIG_IGN);
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 2) < 0 || setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(99);
        char *argv[] = {(char *)SBO, "run", "--task", "quadratic", "--algo", "soba", "--seed", "1", "--set",
                        "run.iters=100000000", "--set", "run.eval_every=1", "--out", out, "--quiet", NULL};
        execve(SBO, argv, child_env());
        _exit(98);
    }
    int code = wait_sbo(pid);
    char *err = slurp(errpath);
    cr_assert_eq(code, 1, "exit %d, expected 1 (a results write failed); stderr: %s", code, err);
    cr_assert_eq(count_lines(err), 2, "the write error once, then the summary; got: '%s'", err);
    cr_assert(strstr(err, "File too large") && strstr(err, "failed after"), "stderr: '%s'", err);
    free(err);
    char s[64];
    cr_assert_eq(sbo_h5_read_attr_str(out, "/", "status", s, sizeof s), 0, "the last good snapshot is unreadable");
    cr_assert_str_eq(s, "running");
}

// --- run.device (--device): the engine's backend ----------------------------------------------------

/* base (NULL-terminated) with extra appended, into out (NULL-terminated). */
static void args_plus(const char *const *base, const char *const *extra, const char **out, int max) {
    int n = 0;
    for (int i = 0; base[i] && n < max - 1; i++) out[n++] = base[i];
    for (int i = 0; extra && extra[i] && n < max - 1; i++) out[n++] = extra[i];
    out[n] = NULL;
}

/* tmpdir/images holding the fake images (write_fake_images), its path into dir. */
static void fake_images_dir(char *dir, size_t n) {
    snprintf(dir, n, "%s/images", tmpdir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    write_fake_images(dir);
}

/* The options of a small data_cleaning problem on the fake images of dir (write_fake_images). */
#define TINY_DC(dir) "--task", "data_cleaning", "--data-dir", dir, "--set", "task.n_train=20", "--set", \
    "task.n_val=20", "--set", "task.n_test=20", "--set", "task.batch=8", "--set", "task.upper_batch=8"

/* Every dataset of a and b, byte for byte (HDF5's own copy of each, read as its native type). */
typedef struct { hid_t other; int n, bad; char first_bad[256]; } ds_cmp;
static herr_t compare_one(hid_t loc, const char *name, const H5L_info_t *info, void *op) {
    ds_cmp *c = op;
    (void)info;
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    int is_ds = o >= 0 && H5Iget_type(o) == H5I_DATASET;
    if (o >= 0) H5Oclose(o);
    if (!is_ds) return 0;
    hid_t da = H5Dopen2(loc, name, H5P_DEFAULT), db = H5Dopen2(c->other, name, H5P_DEFAULT);
    int same = 0;
    if (da >= 0 && db >= 0) {
        hid_t ft = H5Dget_type(da), mt = H5Tget_native_type(ft, H5T_DIR_DEFAULT);
        hid_t sa = H5Dget_space(da), sb = H5Dget_space(db);
        hssize_t na = H5Sget_simple_extent_npoints(sa), nb = H5Sget_simple_extent_npoints(sb);
        size_t bytes = (size_t)(na > 0 ? na : 1) * H5Tget_size(mt);
        char *ba = calloc(1, bytes), *bb = calloc(1, bytes);
        same = na == nb && H5Dread(da, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, ba) >= 0 &&
               H5Dread(db, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, bb) >= 0 && memcmp(ba, bb, bytes) == 0;
        free(ba); free(bb);
        H5Sclose(sa); H5Sclose(sb); H5Tclose(mt); H5Tclose(ft);
    }
    if (da >= 0) H5Dclose(da);
    if (db >= 0) H5Dclose(db);
    c->n++;
    if (!same && !c->bad++) snprintf(c->first_bad, sizeof c->first_bad, "%s", name);
    return 0;
}

/* Issue: --device cpu-grid runs every kernel one index per emulated GPU thread; the run is the cpu run bit for bit
 * (step_time_s aside), and the file says where it ran. */
Test(cli, device_cpu_grid_run_equals_cpu_and_is_recorded, .timeout = 120) {
    char dir[400], cpu[600], grid[600], sdir[500], s[512];
    fake_images_dir(dir, sizeof dir);
    snprintf(sdir, sizeof sdir, "%s/runs", tmpdir);
    cr_assert_eq(mkdir(sdir, 0755), 0);
    snprintf(cpu, sizeof cpu, "%s/cpu.h5", sdir);
    snprintf(grid, sizeof grid, "%s/grid.h5", sdir);
    const char *args[48], *dev[] = {"--device", "cpu-grid", NULL};
    char *err;
    int code = run_sbo(image_run_args(dir, cpu), &err, NULL);
    cr_assert_eq(code, 0, "cpu: exit %d: %s", code, err);
    free(err);
    args_plus(image_run_args(dir, grid), dev, args, 48);
    code = run_sbo(args, &err, NULL);
    cr_assert_eq(code, 0, "cpu-grid: exit %d: %s", code, err);
    free(err);
    double *a, *b;
    long ra, ca, rb, cb;
    read_curves(cpu, &a, &ra, &ca);
    read_curves(grid, &b, &rb, &cb);
    cr_assert(ra == rb && ca == cb && ra >= 2, "shapes %ldx%ld and %ldx%ld", ra, ca, rb, cb);
    int ts = column_index(cpu, "step_time_s");
    for (long i = 0; i < ra * ca; i++)
        if (i % ca != ts)
            cr_assert(memcmp(&a[i], &b[i], sizeof(double)) == 0, "row %ld column %ld: cpu %.17g, cpu-grid %.17g",
                      i / ca, i % ca, a[i], b[i]);
    free(a);
    free(b);
    cr_assert_eq(sbo_h5_read_attr_str(cpu, "/", "device", s, sizeof s), 0);
    cr_assert_str_eq(s, "cpu");
    cr_assert_eq(sbo_h5_read_attr_str(cpu, "/", "backend", s, sizeof s), 0);
    cr_assert(strncmp(s, "cpu (", 5) == 0, "backend '%s'", s);
    cr_assert_eq(sbo_h5_read_attr_str(grid, "/", "device", s, sizeof s), 0);
    cr_assert_str_eq(s, "cpu-grid");
    cr_assert_eq(sbo_h5_read_attr_str(grid, "/", "backend", s, sizeof s), 0);
    cr_assert(strncmp(s, "cpu-grid", 8) == 0, "backend '%s'", s);
    cr_assert_neq(sbo_h5_try_read_attr_str(grid, "/", "device_info", s, sizeof s), 0, "device_info is for cuda only");

    /* sbo summarize keeps them apart: run.device is part of the configuration */
    const char *sum[] = {"summarize", sdir, NULL};
    char *out;
    code = run_sbo(sum, &err, &out);
    cr_assert_eq(code, 0, "summarize: exit %d: %s", code, err);
    cr_assert(strstr(out, "(2 runs, 2 rows)") && strstr(out, "run.device=cpu-grid") && strstr(out, "run.device=cpu "),
              "the two devices must be two rows, labelled by run.device: %s", out);
    free(err);
    free(out);

    /* sbo memory --device cpu-grid: the device named, and no device arenas (cpu-grid's memory is host memory) */
    const char *mem[] = {"memory", TINY_DC(dir), "--algos", "ma_soba,bros", "--steps", "1", "--device", "cpu-grid", NULL};
    code = run_sbo(mem, &err, &out);
    cr_assert_eq(code, 0, "sbo memory: exit %d: %s", code, err);
    cr_assert(row_of(out, "ma_soba") && row_of(out, "bros") && strstr(out, "device: cpu-grid"), "memory: %s", out);
    cr_assert(!strstr(out, "(device)") && !strstr(out, "device arena peak") && !strstr(out, "cuda used"),
              "cpu-grid has no device memory: %s", out);
    free(err);
    free(out);
}

/* oracle-dump --device cpu-grid (and --set run.device=cpu-grid): every dataset equals the cpu dump's bit for bit. */
Test(cli, device_cpu_grid_oracle_dump_equals_cpu, .timeout = 120) {
    char dir[400], cpu[500], grid[500], set[500], s[512];
    fake_images_dir(dir, sizeof dir);
    snprintf(cpu, sizeof cpu, "%s/od_cpu.h5", tmpdir);
    snprintf(grid, sizeof grid, "%s/od_grid.h5", tmpdir);
    snprintf(set, sizeof set, "%s/od_set.h5", tmpdir);
    const char *a1[] = {"oracle-dump", TINY_DC(dir), "--seed", "3", "--out", cpu, NULL};
    const char *a2[] = {"oracle-dump", TINY_DC(dir), "--seed", "3", "--out", grid, "--device", "cpu-grid", NULL};
    const char *a3[] = {"oracle-dump", TINY_DC(dir), "--seed", "3", "--out", set, "--set", "run.device=cpu-grid", NULL};
    const char *const *runs[] = {a1, a2, a3};
    for (int i = 0; i < 3; i++) {
        char *err;
        int code = run_sbo(runs[i], &err, NULL);
        cr_assert_eq(code, 0, "oracle-dump %d: exit %d: %s", i, code, err);
        free(err);
    }
    for (int i = 0; i < 2; i++) {
        const char *other = i ? set : grid;
        cr_assert_eq(sbo_h5_read_attr_str(other, "/", "device", s, sizeof s), 0);
        cr_assert_str_eq(s, "cpu-grid");
        hid_t fa = H5Fopen(cpu, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(other, H5F_ACC_RDONLY, H5P_DEFAULT);
        cr_assert(fa >= 0 && fb >= 0);
        ds_cmp c = {.other = fb};
        H5Lvisit(fa, H5_INDEX_NAME, H5_ITER_NATIVE, compare_one, &c);
        H5Fclose(fa);
        H5Fclose(fb);
        cr_assert(c.n >= 10, "only %d datasets in %s", c.n, cpu);
        cr_assert_eq(c.bad, 0, "%s: %d of %d datasets differ from the cpu dump, first %s", other, c.bad, c.n,
                     c.first_bad);
    }
    cr_assert_eq(sbo_h5_read_attr_str(cpu, "/", "device", s, sizeof s), 0);
    cr_assert_str_eq(s, "cpu");
}

/* Refusals of --device: one line, exit 2, nothing written. */
Test(cli, device_refusals_exit_2_with_one_line_and_no_file, .timeout = 60) {
    char outdir[400], out[500], dir[400];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    cr_assert_eq(mkdir(outdir, 0755), 0);
    snprintf(out, sizeof out, "%s/sub/x.h5", outdir);
    fake_images_dir(dir, sizeof dir);
    const char *cx = "counterexample";
    bad_case cases[] = {
        {"unknown device", {"run", TINY_DC(dir), "--algo", "bros", "--seed", "1", "--out", out, "--device", "gpu", NULL},
         {"run.device = 'gpu'", "cpu, cpu-grid, cuda"}},
        {"unknown device by --set", {"run", "--task", cx, "--algo", "bros", "--seed", "1", "--out", out, "--set",
                                     "run.device=GPU", NULL},
         {"'GPU'", "cpu, cpu-grid, cuda"}},
        {"cpu-grid on a task without a network", {"run", "--task", cx, "--algo", "bros", "--seed", "1", "--out", out,
                                                  "--device", "cpu-grid", NULL},
         {"network tasks", "data_cleaning, hyper_rep, vit_reweight, data_mixture", "counterexample"}},
        {"cuda on quadratic", {"run", "--task", "quadratic", "--algo", "soba", "--seed", "1", "--out", out, "--device",
                               "cuda", NULL},
         {"network tasks", "quadratic"}},
        {"--device and --set run.device", {"run", TINY_DC(dir), "--algo", "bros", "--seed", "1", "--out", out,
                                           "--device", "cpu-grid", "--set", "run.device=cpu", NULL},
         {"both --device and --set run.device=cpu"}},
        {"oracle-dump: unknown device", {"oracle-dump", TINY_DC(dir), "--seed", "1", "--out", out, "--device", "tpu", NULL},
         {"'tpu'", "cpu, cpu-grid, cuda"}},
        {"oracle-dump: cpu-grid on quadratic", {"oracle-dump", "--task", "quadratic", "--seed", "1", "--out", out,
                                                "--device", "cpu-grid", NULL},
         {"network tasks"}},
        {"memory: unknown device", {"memory", "--task", cx, "--device", "gpu", NULL}, {"'gpu'", "cpu-grid"}},
        {"memory: cpu-grid on counterexample", {"memory", "--task", cx, "--device", "cpu-grid", NULL}, {"network tasks"}},
        {"--resume with --device", {"run", "--resume", out, "--device", "cpu", NULL}, {"--resume", "--device"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_bad(&cases[i], outdir);

    /* cuda where there is no device (or no CUDA in this build): refused before anything is written */
    char why[512] = "";
    if (sbo_cuda_available(why, sizeof why)) {
        cr_log_warn("a CUDA device is here: the no-device refusal of --device cuda is not exercised");
        return;
    }
    bad_case nodev[] = {
        {"cuda without a device", {"run", TINY_DC(dir), "--algo", "bros", "--seed", "1", "--out", out, "--device",
                                   "cuda", NULL},
         {"run.device = cuda", "--device cpu"}},
        {"oracle-dump: cuda without a device", {"oracle-dump", TINY_DC(dir), "--seed", "1", "--out", out, "--device",
                                                "cuda", NULL},
         {"run.device = cuda", "--device cpu"}},
        {"memory: cuda without a device", {"memory", TINY_DC(dir), "--device", "cuda", NULL},
         {"run.device = cuda", "--device cpu"}},
    };
    for (size_t i = 0; i < sizeof nodev / sizeof *nodev; i++) {
        check_bad(&nodev[i], outdir);
        /* the reason: sbo_cuda_available's, or the build's */
        char *err = NULL;
        run_sbo(nodev[i].args, &err, NULL);
        cr_expect(strstr(err, "no CUDA device here (") || strstr(err, "built without CUDA ("), "[%s] no reason: %s",
                  nodev[i].what, err);
        free(err);
    }
}

// --- sbo sweep and sbo summarize (runners/sweep.c, runners/summarize.c; the Slurm path: tests/test_slurm.sh) --------

TestSuite(sweep, .init = make_tmpdir, .fini = rm_tmpdir);

/* A sweep config in tmpdir/name.ini: [sweep] lines, then a base of tiny counterexample runs. */
static void sweep_ini(const char *name, const char *sweep_lines, const char *base, char *path, size_t n) {
    snprintf(path, n, "%s/%s.ini", tmpdir, name);
    char text[4096];
    int len = snprintf(text, sizeof text, "[sweep]\n%s\n%s", sweep_lines,
                       base ? base : "[run]\niters = 2000\neval_every = 100\n[algo]\nmemory_rule = off\n");
    write_text(path, text, (size_t)len);
}

static int sweep_run(const char *const *args, char **err, char **out) { return run_sbo(args, err, out); }

static void assert_status(const char *path, const char *want) {
    char s[64] = "";
    cr_assert_eq(sbo_h5_read_attr_str(path, "/", "status", s, sizeof s), 0, "cannot read the status of %s", path);
    cr_assert_str_eq(s, want, "%s: status '%s', expected '%s'", path, s, want);
}

/* The manifest row of a run: its state and exit columns. */
static void manifest_state(const char *dir, const char *name, char *state, char *exit_text) {
    char p[600];
    snprintf(p, sizeof p, "%s/manifest.tsv", dir);
    char *m = slurp(p);
    state[0] = exit_text[0] = '\0';
    for (char *line = strtok(m, "\n"); line; line = strtok(NULL, "\n")) {
        char f[9][256];
        if (sscanf(line, "%255[^\t]\t%255[^\t]\t%255[^\t]\t%255[^\t]\t%255[^\t]\t%255[^\t]\t%255[^\t]\t%255[^\t]\t%255[^\n]",
                   f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]) == 9 && strcmp(f[1], name) == 0) {
            strcpy(state, f[6]);
            strcpy(exit_text, f[7]);
        }
    }
    free(m);
}

Test(sweep, jobs_2_runs_every_run_and_a_rerun_skips_them, .timeout = 120) {
    char ini[600], dir[600];
    sweep_ini("grid", "task = counterexample\nalgorithms = soba, bros\nseeds = 1-2\nalgo.rank = 1, 2\n", NULL, ini,
              sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *args[] = {"sweep", ini, "--out", dir, "--jobs", "2", NULL};
    char *err, *out;
    int code = sweep_run(args, &err, &out);
    cr_assert_eq(code, 0, "sweep exit %d: %s", code, err);
    cr_assert(strstr(err, "6/6 done, 0 running, 0 failed, 0 pending") != NULL, "no final progress line: %s", err);
    free(err); free(out);
    /* soba reads no algo.rank: one run per seed, without the rank in its name */
    const char *names[] = {"soba_s1", "soba_s2", "bros_rank1_s1", "bros_rank1_s2", "bros_rank2_s1", "bros_rank2_s2"};
    struct stat st0[6];
    for (int i = 0; i < 6; i++) {
        char f[700], state[64], ex[64];
        snprintf(f, sizeof f, "%s/%s.h5", dir, names[i]);
        assert_status(f, "done");
        cr_assert_eq(stat(f, &st0[i]), 0);
        manifest_state(dir, names[i], state, ex);
        cr_assert_str_eq(state, "done", "%s: manifest state '%s'", names[i], state);
        cr_assert_str_eq(ex, "0", "%s: manifest exit '%s'", names[i], ex);
        snprintf(f, sizeof f, "%s/logs/%s.log", dir, names[i]);
        char *log = slurp(f);
        cr_assert(strstr(log, "starting run") != NULL, "log of %s: %s", names[i], log);
        free(log);
    }
    /* the child's command line: the base configuration and the grid value as --set, checkpoints by default */
    char f0[700], cl[8192];
    snprintf(f0, sizeof f0, "%s/%s.h5", dir, names[2]);
    cr_assert_eq(sbo_h5_read_attr_str(f0, "/", "command_line", cl, sizeof cl), 0);
    cr_assert(strstr(cl, "--checkpoint-every 1000") && strstr(cl, "--set algo.rank=1"), "command line: %s", cl);
    /* again: everything is skipped, no file is touched */
    code = sweep_run(args, &err, &out);
    cr_assert_eq(code, 0, "second sweep exit %d: %s", code, err);
    cr_assert(strstr(err, "0 to run or resume, 6 complete (skipped)") != NULL, "second sweep: %s", err);
    free(err); free(out);
    for (int i = 0; i < 6; i++) {
        char f[700];
        struct stat st1;
        snprintf(f, sizeof f, "%s/%s.h5", dir, names[i]);
        cr_assert_eq(stat(f, &st1), 0);
        cr_assert(st1.st_ino == st0[i].st_ino && st1.st_mtim.tv_nsec == st0[i].st_mtim.tv_nsec &&
                  st1.st_mtime == st0[i].st_mtime, "%s was rewritten by a sweep that had nothing to do", names[i]);
    }
}

/* The children of pid: the processes whose /proc/N/stat names pid as parent. */
static int children_of(pid_t pid, pid_t *out, int max) {
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], buf[1024] = "";
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = '\0';
        const char *rp = strrchr(buf, ')');   /* after "pid (comm)": state, then the parent's pid */
        int ppid = 0;
        char state;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == (int)pid && state != 'Z')
            out[n++] = (pid_t)atol(e->d_name);
    }
    closedir(d);
    return n;
}

/* A child killed mid-run (SIGKILL) leaves its file with a checkpoint; the sweep goes on and exits 1 naming it; the
 * same sweep again resumes it, and its curves equal an uninterrupted `sbo run`'s bit for bit (step_time_s aside). */
Test(sweep, a_killed_child_is_resumed_by_the_next_sweep_bit_for_bit, .timeout = 180) {
    char ini[600], dir[600];
    sweep_ini("long", "task = counterexample\nalgorithms = bros\nseeds = 5, 6\ncheckpoint_every = 1500\n",
              "[run]\niters = 3000000\neval_every = 20000\n", ini, sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    char ref[600];
    snprintf(ref, sizeof ref, "%s/ref.h5", tmpdir);
    const char *ra[] = {"run", "--task", "counterexample", "--algo", "bros", "--seed", "5", "--set", "run.iters=3000000",
                        "--set", "run.eval_every=20000", "--out", ref, "--quiet", NULL};
    char *err = NULL, *out = NULL;
    cr_assert_eq(run_sbo(ra, &err, NULL), 0, "reference run: %s", err);
    free(err);
    const char *args[] = {"sweep", ini, "--out", dir, "--jobs", "2", NULL};
    pid_t sw = spawn_sbo(args, "sweep");
    char target[700];
    snprintf(target, sizeof target, "%s/bros_s5.h5", dir);
    long rows = 0;
    for (int w = 0; w < 600 && rows < 20; w++) {   /* until the run is well under way (rows every 20000 iterations) */
        sleep_ms(20);
        double *d;
        long c;
        if (sbo_h5_try_read_matrix(target, "/curves", &d, &rows, &c) == 0) free(d);
        else rows = 0;
    }
    cr_assert(rows >= 20, "the run never got under way (%ld rows)", rows);
    pid_t kids[8];
    int nk = children_of(sw, kids, 8);
    int killed = 0;
    for (int i = 0; i < nk; i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "/proc/%d/cmdline", (int)kids[i]);
        FILE *f = fopen(cmd, "rb");
        char buf[8192] = "";
        size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        for (size_t k = 0; k < got; k++) if (!buf[k]) buf[k] = ' ';
        if (strstr(buf, "--seed 5 ")) { kill(kids[i], SIGKILL); killed = 1; }
    }
    cr_assert(killed, "no child running seed 5 among %d children", nk);
    int code = wait_sbo(sw);
    err = captured("sweep", "stderr");
    free(captured("sweep", "stdout"));
    cr_assert_eq(code, 1, "the sweep with a killed child exited %d, expected 1: %s", code, err);
    cr_assert(strstr(err, "bros_s5 (pending, exit sig9)") != NULL, "the sweep does not name the killed run: %s", err);
    free(err);
    assert_status(target, "running");
    char state[64], ex[64];
    manifest_state(dir, "bros_s5", state, ex);
    cr_assert(strcmp(state, "pending") == 0 && strcmp(ex, "sig9") == 0, "manifest: %s %s", state, ex);
    manifest_state(dir, "bros_s6", state, ex);
    cr_assert_str_eq(state, "done");
    code = sweep_run(args, &err, &out);
    cr_assert_eq(code, 0, "the re-run exited %d: %s", code, err);
    cr_assert(strstr(err, "1 to run or resume, 1 complete (skipped)") != NULL, "re-run: %s", err);
    free(err); free(out);
    assert_status(target, "done");
    double at = 0;
    cr_assert_eq(sbo_h5_read_attr_double(target, "/", "resumed_at", &at), 0);
    cr_assert(at > 0, "the run started over instead of resuming (resumed_at %g)", at);
    double *R, *B;
    long rr, rc, br, bc;
    read_curves(ref, &R, &rr, &rc);
    read_curves(target, &B, &br, &bc);
    cr_assert(rr == br && rc == bc, "shapes %ldx%ld vs %ldx%ld", br, bc, rr, rc);
    for (long i = 0; i < rr * rc; i++) {
        if (i % rc == 1) continue;   /* step_time_s */
        cr_assert(memcmp(&R[i], &B[i], sizeof R[i]) == 0, "row %ld column %ld: %.17g, uninterrupted %.17g", i / rc,
                  i % rc, B[i], R[i]);
    }
    free(R); free(B);
    cr_log_info("resumed at iteration %g; %ld rows bit-identical", at, rr);
}

Test(sweep, sigterm_stops_the_children_and_a_rerun_resumes, .timeout = 120) {
    char ini[600], dir[600];
    sweep_ini("term", "task = counterexample\nalgorithms = soba, bros\nseeds = 1\ncheckpoint_every = 1500\n",
              "[run]\niters = 3000000\neval_every = 20000\n", ini, sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *args[] = {"sweep", ini, "--out", dir, "--jobs", "2", NULL};
    pid_t sw = spawn_sbo(args, "sweep");
    char f1[700], f2[700];
    snprintf(f1, sizeof f1, "%s/soba_s1.h5", dir);
    snprintf(f2, sizeof f2, "%s/bros_s1.h5", dir);
    struct stat st;
    for (int w = 0; w < 1000 && (stat(f1, &st) != 0 || stat(f2, &st) != 0); w++) sleep_ms(10);
    sleep_ms(300);
    pid_t kids[4];
    int nk = children_of(sw, kids, 4);
    cr_assert_eq(nk, 2, "%d children running, expected 2 (--jobs 2)", nk);
    kill(sw, SIGTERM);
    int code = wait_sbo(sw);
    char *err = captured("sweep", "stderr");
    free(captured("sweep", "stdout"));
    cr_assert_eq(code, 130, "exit %d after SIGTERM, expected 130: %s", code, err);
    cr_assert(strstr(err, "run the same command again to resume") != NULL, "stderr: %s", err);
    free(err);
    assert_status(f1, "interrupted");
    assert_status(f2, "interrupted");
    for (int i = 0; i < nk; i++)   /* the sweep waited for its children: none is left running */
        cr_assert(kill(kids[i], 0) != 0 && errno == ESRCH, "child %d still exists after the sweep exited", (int)kids[i]);
    char *out;
    code = sweep_run(args, &err, &out);
    cr_assert_eq(code, 0, "re-run exit %d: %s", code, err);
    free(err); free(out);
    assert_status(f1, "done");
    assert_status(f2, "done");
}

Test(sweep, failed_runs_are_left_unless_rerun_failed, .timeout = 60) {
    char ini[600], dir[600];
    /* beta = 5 diverges (exit 3, status diverged) */
    sweep_ini("fail", "task = counterexample\nalgorithms = soba\nseeds = 1\nalgo.beta = 0.05, 5\n", NULL, ini, sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *args[] = {"sweep", ini, "--out", dir, NULL};
    char *err, *out;
    int code = sweep_run(args, &err, &out);
    cr_assert_eq(code, 1, "exit %d: %s", code, err);
    cr_assert(strstr(err, "soba_beta5_s1 (failed, exit 3)") != NULL, "stderr: %s", err);
    free(err); free(out);
    char state[64], ex[64], f[700];
    manifest_state(dir, "soba_beta5_s1", state, ex);
    cr_assert(strcmp(state, "failed") == 0 && strcmp(ex, "3") == 0, "manifest: %s %s", state, ex);
    manifest_state(dir, "soba_beta0.05_s1", state, ex);
    cr_assert_str_eq(state, "done");
    snprintf(f, sizeof f, "%s/logs/soba_beta5_s1.log", dir);
    char *log1 = slurp(f);
    code = sweep_run(args, &err, &out);
    cr_assert_eq(code, 1);
    cr_assert(strstr(err, "0 to run or resume, 1 complete (skipped), 1 failed (left as they are; --rerun-failed") != NULL,
              "second sweep: %s", err);
    free(err); free(out);
    char *log2 = slurp(f);
    cr_assert_str_eq(log1, log2, "a failed run was run again without --rerun-failed");
    const char *again[] = {"sweep", ini, "--out", dir, "--rerun-failed", NULL};
    code = sweep_run(again, &err, &out);
    cr_assert_eq(code, 1);
    cr_assert(strstr(err, "1 to run or resume") != NULL, "--rerun-failed: %s", err);
    free(err); free(out);
    char *log3 = slurp(f);
    cr_assert(strlen(log3) > strlen(log2), "--rerun-failed did not run the failed run");
    free(log1); free(log2); free(log3);
}

Test(sweep, dry_run_writes_nothing, .timeout = 60) {
    char ini[600], dir[600];
    sweep_ini("dry", "task = counterexample\nalgorithms = soba, bros\nseeds = 1-2\nslurm_throttle = 3\n", NULL, ini,
              sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *a1[] = {"sweep", ini, "--out", dir, "--dry-run", NULL};
    const char *a2[] = {"sweep", ini, "--out", dir, "--dry-run", "--slurm", NULL};
    char *err, *out;
    cr_assert_eq(sweep_run(a1, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "bros_s2") && strstr(out, " run ") && strstr(out, "--seed 2"), "dry run: %s", out);
    free(err); free(out);
    cr_assert_eq(sweep_run(a2, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "#SBATCH --array=0-3%3") && strstr(out, "--run-index \"$SLURM_ARRAY_TASK_ID\"") &&
              strstr(out, "--dependency=afterany:JOBID") && strstr(out, "#SBATCH --mem=") &&
              strstr(out, "summarize"), "dry run --slurm: %s", out);
    free(err); free(out);
    struct stat st;
    cr_assert_neq(stat(dir, &st), 0, "--dry-run created %s", dir);
}

/* run.device passes through a sweep: as a [sweep] list (one run per device, summarized in separate rows), as --set
 * (on every run, and in the Slurm script's command), and a bad value is refused before anything is written. */
Test(sweep, run_device_as_a_grid_key_and_by_set, .timeout = 120) {
    char ini[600], dir[600], img[500], base[1200];
    fake_images_dir(img, sizeof img);
    snprintf(base, sizeof base, "[run]\niters = 3\neval_every = 1\n[task]\ndata_dir = %s\nn_train = 20\nn_val = 20\n"
             "n_test = 20\nbatch = 8\nupper_batch = 8\n", img);
    sweep_ini("dev", "task = data_cleaning\nalgorithms = bros\nseeds = 1\nrun.device = cpu, cpu-grid\n", base, ini,
              sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *args[] = {"sweep", ini, "--out", dir, "--jobs", "2", NULL};
    char *err, *out;
    cr_assert_eq(sweep_run(args, &err, &out), 0, "%s", err);
    free(err); free(out);
    const char *sum[] = {"summarize", dir, NULL};
    cr_assert_eq(sweep_run(sum, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "(2 runs, 2 rows)") && strstr(out, "run.device=cpu-grid"), "summary: %s", out);
    free(err); free(out);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int grid = 0, cpu = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 3 || strcmp(e->d_name + l - 3, ".h5") != 0) continue;
        char f[1200], v[64];
        snprintf(f, sizeof f, "%s/%s", dir, e->d_name);
        cr_assert_eq(sbo_h5_read_attr_str(f, "/", "device", v, sizeof v), 0);
        grid += strcmp(v, "cpu-grid") == 0;
        cpu += strcmp(v, "cpu") == 0;
    }
    closedir(d);
    cr_assert(grid == 1 && cpu == 1, "runs on cpu-grid %d, on cpu %d", grid, cpu);

    /* --set run.device: every run's command, and the Slurm script's */
    sweep_ini("dev2", "task = data_cleaning\nalgorithms = bros\nseeds = 1-2\n", base, ini, sizeof ini);
    char dir2[700];
    snprintf(dir2, sizeof dir2, "%s/out2", tmpdir);
    const char *dry[] = {"sweep", ini, "--out", dir2, "--dry-run", "--set", "run.device=cpu-grid", NULL};
    cr_assert_eq(sweep_run(dry, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "--set run.device=cpu-grid"), "dry run: %s", out);
    free(err); free(out);
    const char *slurm[] = {"sweep", ini, "--out", dir2, "--dry-run", "--slurm", "--set", "run.device=cpu-grid", NULL};
    cr_assert_eq(sweep_run(slurm, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "--set run.device=cpu-grid --run-index") && !strstr(out, "--gres"), "dry run --slurm: %s",
              out);
    free(err); free(out);
    /* cuda: each array task asks for a GPU (resources given, so nothing is measured on this GPU-less machine) */
    sweep_ini("dev5", "task = data_cleaning\nalgorithms = bros\nseeds = 1-2\nrun.device = cpu, cuda\n"
              "slurm_mem = 2G\nslurm_time = 1:00:00\n", base, ini, sizeof ini);
    const char *gpu[] = {"sweep", ini, "--out", dir2, "--dry-run", "--slurm", NULL};
    cr_assert_eq(sweep_run(gpu, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "#SBATCH --gres=gpu:1\n") && strstr(out, "#SBATCH --array=0-3"), "dry run --slurm cuda: %s",
              out);
    free(err); free(out);

    /* a bad device in the grid, or one on a task without a network: refused up front */
    sweep_ini("dev3", "task = data_cleaning\nalgorithms = bros\nseeds = 1\nrun.device = cpu, gpu\n", base, ini,
              sizeof ini);
    const char *bad[] = {"sweep", ini, "--out", dir2, NULL};
    cr_assert_eq(sweep_run(bad, &err, &out), 2, "%s", err);
    cr_assert(count_lines(err) == 1 && strstr(err, "'gpu'") && strstr(err, "cpu, cpu-grid, cuda"), "%s", err);
    free(err); free(out);
    sweep_ini("dev4", "task = counterexample\nalgorithms = bros\nseeds = 1\n", NULL, ini, sizeof ini);
    const char *bad2[] = {"sweep", ini, "--out", dir2, "--set", "run.device=cpu-grid", NULL};
    cr_assert_eq(sweep_run(bad2, &err, &out), 2, "%s", err);
    cr_assert(count_lines(err) == 1 && strstr(err, "network tasks"), "%s", err);
    free(err); free(out);
    struct stat st;
    cr_assert_neq(stat(dir2, &st), 0, "a refused sweep created %s", dir2);
}

/* name templates (name, name.<algo>), seeds.<algo>, base = FILE and --set give the runs and options asked for; --fresh
 * removes this sweep's files, logs and manifest rows and nothing else, and the sweep runs them all again. */
Test(sweep, name_templates_set_and_fresh, .timeout = 120) {
    char ini[600], dir[600], basep[600];
    snprintf(basep, sizeof basep, "%s/base.ini", tmpdir);
    write_text(basep, "[run]\niters = 5000\neval_every = 100\n[algo]\nalpha = 0.002\n", 56);
    sweep_ini("named", "task = counterexample\nalgorithms = ma_soba, bros\nseeds = 1-2\nseeds.ma_soba = 7\n"
              "base = base.ini\nalgo.rank = 1, 2\nname = ce_b_r{algo.rank}_s{seed}\nname.ma_soba = ce_ma_s{seed}\n",
              "[run]\neval_every = 50\n[algo]\nmemory_rule = off\n", ini, sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *dry[] = {"sweep", ini, "--out", dir, "--dry-run", "--set", "run.iters=300", NULL};
    char *err, *out;
    cr_assert_eq(sweep_run(dry, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "5 runs") && strstr(out, "ce_ma_s7 ") && strstr(out, "ce_b_r2_s2 ") &&
              strstr(out, "--set run.iters=300") && !strstr(out, "iters=5000") && strstr(out, "eval_every=50") &&
              strstr(out, "algo.alpha=0.002"), "dry run: %s", out);
    free(err); free(out);
    const char *dry2[] = {"sweep", ini, "--out", dir, "--dry-run", "--set", "sweep.seeds=3", "--set",
                          "sweep.algo.rank=3", "--slurm", NULL};
    cr_assert_eq(sweep_run(dry2, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "2 runs") && strstr(out, "ce_b_r3_s3 ") && strstr(out, "ce_ma_s7 ") &&
              strstr(out, "--set sweep.seeds=3 --set sweep.algo.rank=3 --run-index"), "dry run --set: %s", out);
    free(err); free(out);
    const char *run[] = {"sweep", ini, "--out", dir, "--jobs", "2", "--set", "run.iters=300", NULL};
    cr_assert_eq(sweep_run(run, &err, &out), 0, "%s", err);
    free(err); free(out);
    char f[700], other[700];
    snprintf(f, sizeof f, "%s/ce_b_r1_s2.h5", dir);
    assert_status(f, "done");
    snprintf(other, sizeof other, "%s/other.h5", dir);
    write_text(other, "x", 1);
    struct stat st0, st1;
    cr_assert_eq(stat(f, &st0), 0);
    sleep(1);
    const char *fresh[] = {"sweep", ini, "--out", dir, "--jobs", "2", "--set", "run.iters=300", "--fresh", NULL};
    cr_assert_eq(sweep_run(fresh, &err, &out), 0, "%s", err);
    cr_assert(strstr(err, "--fresh: removed 11 files") && strstr(err, "5 to run or resume, 0 complete"), "fresh: %s",
              err);
    free(err); free(out);
    cr_assert_eq(stat(f, &st1), 0);
    cr_assert(st1.st_mtime > st0.st_mtime, "--fresh did not run %s again", f);
    assert_status(f, "done");
    cr_assert_eq(stat(other, &st1), 0, "--fresh removed a file that is not the sweep's");
}

Test(sweep, a_changed_configuration_is_refused, .timeout = 60) {
    char ini[600], dir[600], f[700];
    sweep_ini("chg", "task = counterexample\nalgorithms = soba\nseeds = 1\n", NULL, ini, sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *args[] = {"sweep", ini, "--out", dir, NULL};
    char *err, *out;
    cr_assert_eq(sweep_run(args, &err, &out), 0, "%s", err);
    free(err); free(out);
    snprintf(f, sizeof f, "%s/soba_s1.h5", dir);
    struct stat st0, st1;
    cr_assert_eq(stat(f, &st0), 0);
    sweep_ini("chg", "task = counterexample\nalgorithms = soba\nseeds = 1\n",
              "[run]\niters = 2500\neval_every = 100\n[algo]\nmemory_rule = off\n", ini, sizeof ini);
    cr_assert_eq(sweep_run(args, &err, &out), 2);
    cr_assert_eq(count_lines(err), 1, "%s", err);
    cr_assert(strstr(err, "sbo: error: run 'soba_s1' has changed configuration") && strstr(err, "restore the sweep config"),
              "stderr: %s", err);
    free(err); free(out);
    /* without the manifest the file itself tells */
    char man[700];
    snprintf(man, sizeof man, "%s/manifest.tsv", dir);
    cr_assert_eq(unlink(man), 0);
    cr_assert_eq(sweep_run(args, &err, &out), 2);
    cr_assert(strstr(err, "holds another configuration ('run.iters = 2000' there, 'run.iters = 2500' now)"),
              "stderr: %s", err);
    free(err); free(out);
    cr_assert_eq(stat(f, &st1), 0);
    cr_assert(st0.st_ino == st1.st_ino && st0.st_mtime == st1.st_mtime, "the refused sweep touched %s", f);
    assert_status(f, "done");
}

/* Replaces a string attribute of a run file (git_commit: a file "from another commit"; status). */
static void set_attr(const char *path, const char *name, const char *commit) {
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(file >= 0, "cannot open %s", path);
    cr_assert(H5Adelete(file, name) >= 0);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(file, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(H5Awrite(a, t, &commit) >= 0);
    H5Aclose(a); H5Sclose(sp); H5Tclose(t); H5Fclose(file);
}

Test(sweep, summarize_groups_seeds_and_never_merges_commits, .timeout = 60) {
    char ini[600], dir[600];
    sweep_ini("sum", "task = counterexample\nalgorithms = soba, bros\nseeds = 1-3\n", NULL, ini, sizeof ini);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    const char *args[] = {"sweep", ini, "--out", dir, "--jobs", "2", NULL};
    char *err, *out;
    cr_assert_eq(sweep_run(args, &err, &out), 0, "%s", err);
    free(err); free(out);
    char csv[700], md[700];
    snprintf(csv, sizeof csv, "%s/s.csv", tmpdir);
    snprintf(md, sizeof md, "%s/s.md", tmpdir);
    const char *s1[] = {"summarize", dir, "--csv", csv, "--md", md, NULL};
    cr_assert_eq(sweep_run(s1, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "## counterexample (6 runs, 2 rows)") && strstr(out, "| bros | (base) |") &&
              strstr(out, "| 3 (1 2 3) | 2000 |"), "summary: %s", out);
    cr_assert(strstr(out, "Notes:") == NULL, "notes on a clean sweep: %s", out);
    char *m = slurp(md), *c = slurp(csv);
    cr_assert_str_eq(m, out, "--md differs from stdout");
    cr_assert(strstr(c, "task,algorithm,configuration,commit,n_seeds,seeds,quantity,median,p20,p80\n") == c &&
              strstr(c, "counterexample,soba,,") && strstr(c, ",3,1 2 3,final:grad_phi_sq,"), "csv: %.400s", c);
    free(m); free(c); free(err); free(out);
    /* seed 3 of bros "from another commit": its own row and a note, never merged */
    char f[700];
    snprintf(f, sizeof f, "%s/bros_s3.h5", dir);
    set_attr(f, "git_commit", "0123456789ab");
    const char *s2[] = {"summarize", dir, NULL};
    cr_assert_eq(sweep_run(s2, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "## counterexample (6 runs, 3 rows)") && strstr(out, "| 2 (1 2) |") &&
              strstr(out, "| bros | (base) | 0123456789ab | 1 (3) |"), "summary: %s", out);
    cr_assert(strstr(out, "runs of the same configuration from different commits") != NULL, "no note: %s", out);
    free(err); free(out);
    /* an incomplete run and a file that is not a run file are left out, and a note names them */
    char extra[650], cmd[3000];
    snprintf(extra, sizeof extra, "%s/extra", dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp '%s/soba_s1.h5' '%s/killed.h5' && echo x > '%s/junk.h5'", extra, dir,
             extra, extra);
    cr_assert_eq(system(cmd), 0);
    snprintf(f, sizeof f, "%.600s/killed.h5", extra);
    set_attr(f, "status", "running");
    cr_assert_eq(sweep_run(s2, &err, &out), 0, "%s", err);
    cr_assert(strstr(out, "## counterexample (6 runs, 3 rows)") &&
              strstr(out, "- 1 runs are not complete and are left out: killed (running)") &&
              strstr(out, "- 1 .h5 files are not `sbo run` files and are left out: ") && strstr(out, "junk.h5"),
              "summary: %s", out);
    free(err); free(out);
}

Test(sweep, bad_inputs_exit_2_with_one_line_and_nothing_written, .timeout = 60) {
    char dir[700], file[600], watch[600];
    snprintf(watch, sizeof watch, "%s/watch", tmpdir);   /* stays empty: a refused sweep writes nothing */
    cr_assert_eq(mkdir(watch, 0755), 0);
    snprintf(dir, sizeof dir, "%s/never", watch);
    snprintf(file, sizeof file, "%s/a_file", tmpdir);
    write_text(file, "x", 1);
    const char *ok = "task = counterexample\nalgorithms = soba\nseeds = 1\n";
    struct { const char *what, *sweep, *want; } cases[] = {
        {"unknown sweep key", "task = counterexample\nalgorithms = soba\nseeds = 1\nthrottle = 2\n",
         "unknown [sweep] key 'throttle'"},
        {"empty list", "task = counterexample\nalgorithms = soba\nseeds = 1\nalgo.rank = 1, , 2\n", "has an empty value"},
        {"empty value", "task = counterexample\nalgorithms = soba\nseeds = 1\nalgo.rank =\n", "has an empty value"},
        {"grid key sbo run does not know", "task = counterexample\nalgorithms = soba\nseeds = 1\nalgo.rnk = 1, 2\n",
         "unknown option 'algo.rnk' (from [sweep]; did you mean 'algo.rank'?)"},
        {"grid key of another section", "task = counterexample\nalgorithms = soba\nseeds = 1\nfoo.bar = 1, 2\n",
         "unknown [sweep] key 'foo.bar'"},
        {"backwards range", "task = counterexample\nalgorithms = soba\nseeds = 5-1\n", "seeds: '5-1' is not a seed"},
        {"open range", "task = counterexample\nalgorithms = soba\nseeds = 1-\n", "seeds: '1-' is not a seed"},
        {"seed twice", "task = counterexample\nalgorithms = soba\nseeds = 1-3, 2\n", "seed 2 twice"},
        {"unknown algorithm", "task = counterexample\nalgorithms = soba, brso\nseeds = 1\n", "'brso' is not an algorithm"},
        {"unknown task", "task = counter\nalgorithms = soba\nseeds = 1\n", "task = 'counter' is not a task"},
        {"no seeds", "task = counterexample\nalgorithms = soba\n", "has no 'seeds' list"},
        {"bad algo value", "task = counterexample\nalgorithms = soba\nseeds = 1\nalgo.alpha = 0.1, abc\n",
         "run soba_alpha-abc_s1: algo.alpha = 'abc' is not a number"},
        {"bad throttle", "task = counterexample\nalgorithms = soba\nseeds = 1\nslurm_throttle = 0\n", "slurm_throttle = '0'"},
        {"bad slurm_mem", "task = counterexample\nalgorithms = soba\nseeds = 1\nslurm_mem = lots\n", "slurm_mem = 'lots'"},
        {"unclosed quote", "task = counterexample\nalgorithms = soba\nseeds = 1\ntask.h = \"1,2,3\n", "is not closed"},
        {"unknown placeholder", "task = counterexample\nalgorithms = bros\nseeds = 1\nname = b_{rank}_s{seed}\n",
         "unknown placeholder {rank}"},
        {"placeholder an algorithm does not read",
         "task = counterexample\nalgorithms = soba, bros\nseeds = 1\nalgo.rank = 1, 2\nname = {algo}_r{algo.rank}\n",
         "soba does not read algo.rank"},
        {"duplicate names", "task = counterexample\nalgorithms = bros\nseeds = 1-2\nname = b_r1\n",
         "give runs 0 and 1 the same name 'b_r1'"},
        {"a name no file can have", "task = counterexample\nalgorithms = bros\nseeds = 1\nname = b/{seed}\n",
         "'/' cannot be part of a file name"},
        {"seeds of no algorithm", "task = counterexample\nalgorithms = bros\nseeds = 1\nseeds.sobaa = 2\n",
         "seeds.sobaa: 'sobaa' is not an algorithm"},
        {"missing base", "task = counterexample\nalgorithms = bros\nseeds = 1\nbase = nothere.ini\n",
         "[sweep] base = 'nothere.ini'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char ini[600];
        sweep_ini("bad", cases[i].sweep, NULL, ini, sizeof ini);
        const char *args[] = {"sweep", ini, "--out", dir, NULL};
        check_refused(cases[i].what, args, cases[i].want, watch);
    }
    char ini[600], noswp[600];
    sweep_ini("good", ok, NULL, ini, sizeof ini);
    snprintf(noswp, sizeof noswp, "%s/plain.ini", tmpdir);
    write_text(noswp, "[run]\niters = 10\n", 17);
    struct { const char *what; const char *args[10]; const char *want; } cli[] = {
        {"--out is a file", {"sweep", ini, "--out", file, NULL}, "exists and is not a directory"},
        {"no [sweep]", {"sweep", noswp, "--out", dir, NULL}, "has no [sweep] section"},
        {"--jobs 0", {"sweep", ini, "--out", dir, "--jobs", "0", NULL}, "--jobs '0' is not an integer in 1..1024"},
        {"no config", {"sweep", "--out", dir, NULL}, "missing CONFIG.ini"},
        {"unknown flag", {"sweep", ini, "--out", dir, "--fast", NULL}, "unknown option '--fast' for 'sbo sweep'"},
        {"missing config file", {"sweep", "/nonexistent.ini", "--out", dir, NULL}, "/nonexistent.ini"},
        {"run index out of range", {"sweep", ini, "--out", dir, "--run-index", "5", NULL}, "--run-index 5 is outside 0..0"},
        {"--set without =", {"sweep", ini, "--out", dir, "--set", "run.iters", NULL}, "--set 'run.iters': expected KEY=VALUE"},
        {"--set of an unknown key", {"sweep", ini, "--out", dir, "--set", "run.iter=5", NULL}, "run.iter"},
        {"--fresh with --run-index", {"sweep", ini, "--out", dir, "--fresh", "--run-index", "0", NULL},
         "--fresh removes every run of the sweep"},
        {"summarize a file", {"summarize", file, NULL}, "is not a directory"},
        {"summarize --csv a directory", {"summarize", tmpdir, "--csv", tmpdir, NULL}, "is not a file name"},
        {"summarize unknown option", {"summarize", tmpdir, "--html", "x", NULL}, "unknown option '--html'"},
    };
    for (size_t i = 0; i < sizeof cli / sizeof *cli; i++) check_refused(cli[i].what, cli[i].args, cli[i].want, watch);
    struct stat st;
    cr_assert_neq(stat(dir, &st), 0, "a refused sweep created %s", dir);
}
