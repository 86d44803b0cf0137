/* algorithms/options.c: every algo.* option parsed and validated once into sbo_algo_options (liblinear's
 * check_parameter pattern): the algorithms, the projected setup and the §9 memory model read the struct, never an
 * option string. What needs the task (ranks against block sizes, R = auto against mu) is checked where the task is
 * known (sbo_projected_resolve, sbo_algo_setup). Exercised by: tests/test_cli.c (bad options), tests/test_matrix.c. */
#include "algorithms/algorithm.h"   /* sbo_algo_options */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int get_positive(const sbo_config *cfg, const char *key, double *out, int allow_zero, char *err, size_t errlen) {
    if (sbo_config_double(cfg, key, out, err, errlen)) return -1;
    if (*out < 0 || (!allow_zero && *out == 0)) {
        snprintf(err, errlen, "%s = %g must be %s; set e.g. --set %s=0.01", key, *out,
                 allow_zero ? "non-negative" : "positive", key);
        return -1;
    }
    return 0;
}

/* algo.ranks: positive integers separated by commas (their number is checked against the task later) */
static int parse_rank_list(const char *s, sbo_algo_options *o, char *err, size_t errlen) {
    const char *p = s;
    o->n_ranks = 0;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000000000L || (*end && *end != ',')) {
            snprintf(err, errlen, "algo.ranks = '%s' must be a comma-separated list of positive integers, one per block", s);
            return -1;
        }
        if (o->n_ranks < SBO_MAX_BLOCKS) o->ranks[o->n_ranks] = (int)v;
        o->n_ranks++;
        if (*end == ',' && end[1] == 0) {
            snprintf(err, errlen, "algo.ranks = '%s' ends with a comma; give one positive integer per block", s);
            return -1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

int sbo_algo_options_parse(const sbo_config *cfg, sbo_algo_options *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (get_positive(cfg, "algo.alpha", &o->alpha, 1, err, errlen) ||
        get_positive(cfg, "algo.beta", &o->beta, 0, err, errlen) ||
        get_positive(cfg, "algo.gamma", &o->gamma, 0, err, errlen) ||
        get_positive(cfg, "algo.theta", &o->theta, 0, err, errlen))
        return -1;
    if (o->theta > 1) o->theta = 1;
    if (sbo_config_choice(cfg, "algo.schedule", "constant|inv_sqrt", &o->schedule, err, errlen) ||
        sbo_config_choice(cfg, "algo.cross_term", "full|projected", &o->cross_term, err, errlen) ||
        get_positive(cfg, "algo.R_min", &o->R_min, 0, err, errlen))
        return -1;
    const char *Rs = sbo_config_get(cfg, "algo.R");
    o->R_auto = !Rs || strcmp(Rs, "auto") == 0;
    if (!o->R_auto && get_positive(cfg, "algo.R", &o->R, 0, err, errlen)) return -1;
    /* the projected methods' options (the full-space methods ignore them, but a bad value is still an error) */
    const char *ranks = sbo_config_get(cfg, "algo.ranks"), *rank = sbo_config_get(cfg, "algo.rank");
    if (ranks && *ranks) {
        snprintf(o->ranks_text, sizeof o->ranks_text, "%s", ranks);
        if (parse_rank_list(ranks, o, err, errlen)) return -1;
    } else if (!rank || strcmp(rank, "half") == 0) {
        o->rank_half = 1;
    } else {
        long r;
        if (sbo_config_long(cfg, "algo.rank", &r, err, errlen)) return -1;
        if (r < 1 || r > 1000000000L) {
            snprintf(err, errlen, "algo.rank = %ld is outside 1..1000000000; choose a rank up to the block size m, "
                     "or 'half'", r);
            return -1;
        }
        o->rank = (int)r;
    }
    if (sbo_config_choice(cfg, "algo.memory_rule", "off|on", &o->memory_rule, err, errlen) ||
        sbo_config_choice(cfg, "algo.variant", "auto|basic|general", &o->variant, err, errlen) ||
        sbo_config_choice(cfg, "algo.beta_scaling", "r_over_m|none", &o->beta_scaling, err, errlen) ||
        sbo_config_choice(cfg, "algo.gamma_scaling", "inv_1pV|cubic|none", &o->gamma_scaling, err, errlen))
        return -1;
    int haar = 0;
    if (sbo_config_choice(cfg, "algo.haar", "2|1", &haar, err, errlen)) return -1;
    o->haar_version = haar == 0 ? SBO_HAAR_V2 : SBO_HAAR_V1;
    o->subspace_period = 1;
    if (sbo_config_get(cfg, "algo.subspace_period") &&
        sbo_config_long(cfg, "algo.subspace_period", &o->subspace_period, err, errlen))
        return -1;
    if (o->subspace_period < 1) {
        snprintf(err, errlen, "algo.subspace_period = %ld must be >= 1 (1 is the only value inside the theory)",
                 o->subspace_period);
        return -1;
    }
    return 0;
}
