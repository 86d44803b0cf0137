/* tests/test_config.c: the run configuration (core/sbo_config.c): INI parsing through inih into
 * "section.key", one-line errors naming file:line, unknown keys, --set arguments, typed getters that
 * reject malformed numbers, defaults and the sorted dump.
 * Run: ctest -R test_config, or build-core/test_config --verbose. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/sbo_config.h"   /* the code under test */

static char path[64];

/* Writes text to a fresh temporary file; its name is in path. */
static void write_ini(const char *text) {
    snprintf(path, sizeof path, "/tmp/sbo_test_config_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

static void cleanup(void) {
    if (path[0]) unlink(path);
}

TestSuite(config, .fini = cleanup);

Test(config, parse_sections_into_dotted_keys) {
    write_ini("; a comment\n"
              "# another comment\n"
              "[algo]\n"
              "alpha = 0.01\n"
              "  beta=0.5   ; inline comment\n"
              "\n"
              "[task]\n"
              "name = quadratic\n"
              "rank.fc1 = 4\n");
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_config_load_ini(&c, path, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(sbo_config_get(&c, "algo.alpha"), "0.01");
    cr_assert_str_eq(sbo_config_get(&c, "algo.beta"), "0.5", "an indented key is a key, not a continuation");
    cr_assert_str_eq(sbo_config_get(&c, "task.name"), "quadratic");
    cr_assert_str_eq(sbo_config_get(&c, "task.rank.fc1"), "4");
    cr_assert_null(sbo_config_get(&c, "algo.gamma"));
    cr_assert_eq(c.n, 4);
    cr_assert_str_eq(c.origin[0], "file");
}

Test(config, bad_line_names_file_and_line) {
    write_ini("[algo]\nalpha = 0.1\nthis line is not valid\nbeta = 1\n");
    sbo_config c;
    sbo_config_init(&c);
    sbo_config_set(&c, "algo.keep", "1", "--set", NULL, 0);
    char err[SBO_ERR_LEN] = "", where[96];
    cr_assert_eq(sbo_config_load_ini(&c, path, err, sizeof err), -1);
    snprintf(where, sizeof where, "%s:3:", path);
    cr_assert(strstr(err, where), "error should name %s, got: %s", where, err);
    cr_assert(strstr(err, "this line is not valid"), "error should quote the line: %s", err);
    cr_assert(strchr(err, '\n') == NULL, "one line");
    cr_assert_eq(c.n, 1, "a file with an error changes nothing");
    cr_assert_null(sbo_config_get(&c, "algo.alpha"));
}

Test(config, key_outside_section_is_an_error) {
    write_ini("alpha = 1\n[algo]\nbeta = 2\n");
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN] = "", where[96];
    cr_assert_eq(sbo_config_load_ini(&c, path, err, sizeof err), -1);
    snprintf(where, sizeof where, "%s:1:", path);
    cr_assert(strstr(err, where) && strstr(err, "section"), "got: %s", err);
}

Test(config, error_after_comments_reports_the_right_line) {
    write_ini("# c\n; c\n\n[algo]\nalpha = 1\n[\n");
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN] = "", where[96];
    cr_assert_eq(sbo_config_load_ini(&c, path, err, sizeof err), -1);
    snprintf(where, sizeof where, "%s:6:", path);
    cr_assert(strstr(err, where), "expected line 6, got: %s", err);
}

Test(config, missing_file) {
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_config_load_ini(&c, "/nonexistent/sbo.ini", err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/sbo.ini") && strstr(err, "cannot open"), "got: %s", err);
}

static const sbo_option algo_opts[] = {
    {"algo.alpha", "0.01", "upper step"},
    {"algo.beta", "0.05", "lower step"},
    {"algo.R", "", "radius (computed when unset)"},
    {NULL, NULL, NULL}};
static const sbo_option task_opts[] = {{"task.name", "quadratic", "task"}, {NULL, NULL, NULL}};

Test(config, unknown_key_message) {
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_config_set_arg(&c, "algo.alpah=0.1", err, sizeof err), 0, "%s", err);
    const sbo_option *const tables[] = {algo_opts, task_opts, NULL};
    cr_assert_eq(sbo_config_check_known(&c, tables, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown option 'algo.alpah'"), "got: %s", err);
    cr_assert(strstr(err, "`sbo list` shows the options of each task and algorithm"), "got: %s", err);
    cr_assert(strstr(err, "did you mean 'algo.alpha'"), "got: %s", err);
    sbo_config_init(&c);
    sbo_config_set_arg(&c, "task.name=x", err, sizeof err);
    sbo_config_set_arg(&c, "algo.R=3", err, sizeof err);
    cr_assert_eq(sbo_config_check_known(&c, tables, err, sizeof err), 0, "%s", err);
}

Test(config, set_arg_forms) {
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN] = "";
    cr_assert_eq(sbo_config_set_arg(&c, "algo.alpha = 0.5", err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(sbo_config_get(&c, "algo.alpha"), "0.5");
    cr_assert_str_eq(c.origin[0], "--set");
    cr_assert_eq(sbo_config_set_arg(&c, "algo.alpha=0.7", err, sizeof err), 0);
    cr_assert_eq(c.n, 1, "later --set replaces");
    cr_assert_str_eq(sbo_config_get(&c, "algo.alpha"), "0.7");
    cr_assert_eq(sbo_config_set_arg(&c, "alpha=1", err, sizeof err), -1);
    cr_assert(strstr(err, "no section") && strstr(err, "algo.alpha=1"), "got: %s", err);
    cr_assert_eq(sbo_config_set_arg(&c, "algo.alpha", err, sizeof err), -1);
    cr_assert(strstr(err, "section.key=value"), "got: %s", err);
    cr_assert_eq(sbo_config_set_arg(&c, ".alpha=1", err, sizeof err), -1);
    cr_assert_eq(sbo_config_set_arg(&c, "algo.=1", err, sizeof err), -1);
}

Test(config, typed_getters_reject_malformed_values) {
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN];
    double d;
    long l;
    int k;
    const char *bad_doubles[] = {"abc", "1.0x", "", "nan", "inf", "-inf", "1e999", "0.1 # comment"};
    for (size_t i = 0; i < sizeof bad_doubles / sizeof bad_doubles[0]; i++) {
        sbo_config_set(&c, "algo.alpha", bad_doubles[i], "--set", NULL, 0);
        err[0] = '\0';
        cr_assert_eq(sbo_config_double(&c, "algo.alpha", &d, err, sizeof err), -1, "'%s' accepted", bad_doubles[i]);
        cr_assert(strstr(err, "algo.alpha"), "error must name the key: %s", err);
    }
    sbo_config_set(&c, "algo.alpha", "abc", "--set", NULL, 0);
    sbo_config_double(&c, "algo.alpha", &d, err, sizeof err);
    cr_assert(strstr(err, "algo.alpha = 'abc' is not a number"), "got: %s", err);
    sbo_config_set(&c, "algo.alpha", "0.1 # x", "file", NULL, 0);
    sbo_config_double(&c, "algo.alpha", &d, err, sizeof err);
    cr_assert(strstr(err, "inline comments start with ';'"), "got: %s", err);
    sbo_config_set(&c, "algo.alpha", "-1.5e-3", "--set", NULL, 0);
    cr_assert_eq(sbo_config_double(&c, "algo.alpha", &d, err, sizeof err), 0, "%s", err);
    cr_assert(d == -1.5e-3);

    const char *bad_longs[] = {"12abc", "1.5", "", "x", "99999999999999999999", "1e300"};
    for (size_t i = 0; i < sizeof bad_longs / sizeof bad_longs[0]; i++) {
        sbo_config_set(&c, "algo.K", bad_longs[i], "--set", NULL, 0);
        cr_assert_eq(sbo_config_long(&c, "algo.K", &l, err, sizeof err), -1, "'%s' accepted", bad_longs[i]);
    }
    sbo_config_set(&c, "algo.K", "1e5", "--set", NULL, 0);
    cr_assert_eq(sbo_config_long(&c, "algo.K", &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(l, 100000);
    sbo_config_set(&c, "algo.K", "-42", "--set", NULL, 0);
    cr_assert_eq(sbo_config_long(&c, "algo.K", &l, err, sizeof err), 0);
    cr_assert_eq(l, -42);

    cr_assert_eq(sbo_config_double(&c, "algo.unset", &d, err, sizeof err), -1);
    cr_assert(strstr(err, "algo.unset is not set"), "got: %s", err);

    sbo_config_set(&c, "algo.cross_term", "projected", "--set", NULL, 0);
    cr_assert_eq(sbo_config_choice(&c, "algo.cross_term", "full|projected", &k, err, sizeof err), 0);
    cr_assert_eq(k, 1);
    sbo_config_set(&c, "algo.cross_term", "ful", "--set", NULL, 0);
    cr_assert_eq(sbo_config_choice(&c, "algo.cross_term", "full|projected", &k, err, sizeof err), -1);
    cr_assert(strstr(err, "'ful' is not one of full|projected"), "got: %s", err);
}

Test(config, defaults_and_dump) {
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN];
    sbo_config_set_arg(&c, "algo.beta=0.2", err, sizeof err);
    sbo_config_apply_defaults(&c, algo_opts);
    sbo_config_apply_defaults(&c, task_opts);
    cr_assert_str_eq(sbo_config_get(&c, "algo.beta"), "0.2", "defaults never override");
    cr_assert_str_eq(sbo_config_get(&c, "algo.alpha"), "0.01");
    cr_assert_null(sbo_config_get(&c, "algo.R"), "an empty default means computed: stays unset");
    char buf[256];
    size_t n = sbo_config_dump(&c, buf, sizeof buf);
    cr_assert_str_eq(buf, "algo.alpha = 0.01\nalgo.beta = 0.2\ntask.name = quadratic\n");
    cr_assert_eq(n, strlen(buf));
    char small[10];
    cr_assert_eq(sbo_config_dump(&c, small, sizeof small), n, "returns the full length when truncated");
    cr_assert_eq(strlen(small), sizeof small - 1);
}

Test(config, too_long_values_are_rejected) {
    sbo_config c;
    sbo_config_init(&c);
    char err[SBO_ERR_LEN], big[SBO_CONFIG_VALUE_LEN + 10];   /* a value holds up to PATH_MAX - 1 characters */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(sbo_config_set(&c, "algo.x", big, "--set", err, sizeof err), -1);
    cr_assert(strstr(err, "longer than"), "got: %s", err);
}
