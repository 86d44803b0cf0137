/* algorithms/algorithm.h: the algorithm descriptor (STYLE.md pattern 2) and the state every method shares.
 * One file per method exports a descriptor: soba.c, ma_soba.c, naive_projected.c, bros.c.
 * The runner owns the loop, logging and evaluation; an algorithm never prints or writes files.
 * Exercised by: tests/test_matrix.c (every algorithm on every quadratic task), `sbo run`. */
#ifndef SBO_ALGORITHM_H
#define SBO_ALGORITHM_H
#include <stdint.h>
#include "tasks/task.h"        /* the oracle table */
#include "core/sbo_arena.h"    /* state and work arenas */
#include "core/sbo_haar.h"     /* sbo_haar_consts */

enum sbo_schedule { SBO_SCHEDULE_CONSTANT = 0, SBO_SCHEDULE_INV_SQRT = 1 };   /* step_k = step / sqrt(k+1) */
enum sbo_cross_term { SBO_CROSS_FULL = 0, SBO_CROSS_PROJECTED = 1 };          /* §7 */

typedef struct sbo_algo sbo_algo;

/* Every algo.* option, parsed and validated once by sbo_algo_options_parse (algorithms/options.c); nothing else reads
 * an option string. */
typedef struct {
    double alpha, beta, gamma, theta;   /* theta clipped to 1 */
    int schedule;                       /* enum sbo_schedule */
    int cross_term;                     /* enum sbo_cross_term */
    int R_auto;                         /* algo.R = auto (§2.2) */
    double R, R_min;
    /* projected methods */
    int rank_half;                      /* algo.rank = half: ceil(m_l / 2) per block */
    int rank;                           /* algo.rank as a number (rank_half = 0, n_ranks = 0) */
    int n_ranks;                        /* algo.ranks given: its count (checked against the task's blocks) */
    int ranks[SBO_MAX_BLOCKS];
    char ranks_text[128];               /* algo.ranks as given, for messages */
    int memory_rule;                    /* 0 off, 1 on (§9 rule) */
    int variant;                        /* 0 auto, 1 basic, 2 general (BROS) */
    int beta_scaling;                   /* 0 r_over_m, 1 none (§6.6) */
    int gamma_scaling;                  /* 0 inv_1pV, 1 cubic, 2 none (§6.6) */
    long subspace_period;               /* T_P >= 1 */
    int haar_version;                   /* SBO_HAAR_V2 (default) or SBO_HAAR_V1 (core/sbo_haar.h) */
} sbo_algo_options;
/* 0, or -1 with a one-line message naming the option and the fix. */
int sbo_algo_options_parse(const sbo_config *cfg, sbo_algo_options *o, char *err, size_t errlen);

/* Analytic memory model of §9, in scalars (multiply by sizeof(double)). */
typedef struct {
    double persistent;      /* Y, Z, x, h, D_x ... */
    double work;            /* largest simultaneously live set of work buffers */
    double per_block_state[SBO_MAX_BLOCKS];
    char note[512];         /* which implementation the numbers assume (generic HVPs, cross_term mode) */
} sbo_memory_model;

typedef struct {
    const char *name;
    const char *description;
    const sbo_option *options;      /* keys "algo.*" (the shared table plus the method's own) */
    const char *const *unread_options;  /* keys of options this method ignores (NULL-terminated; NULL: none):
                                         * `sbo run` warns when one is set (runners/sbo_run.c) */
    /* Validates cfg against the task and allocates; NULL with a one-line message on error. */
    sbo_algo *(*create)(sbo_task *t, const sbo_config *cfg, uint64_t seed, char *err, size_t errlen);
    /* One iteration k (Jacobi updates, §1). Returns 0, or 1 when an iterate became non-finite. */
    int (*step)(sbo_algo *a, long k);
    void (*destroy)(sbo_algo *a);
    /* §9 analytic model for this method on this task with this config. 0 ok, -1 with err. */
    int (*memory_model)(const sbo_task *t, const sbo_config *cfg, sbo_memory_model *out, char *err, size_t errlen);
} sbo_algo_type;

struct sbo_algo {
    const sbo_algo_type *type;
    sbo_task *task;
    uint64_t seed;
    /* iterate (views into state) */
    double *x, *Y, *Z, *h;
    sbo_arena state;        /* persistent: x, h, Y, Z */
    sbo_arena work;         /* per-iteration buffers */
    /* resolved steps: base values after the §6.6 scalings; the schedule multiplies them by 1/sqrt(k+1) */
    double alpha, beta, gamma, theta;
    double beta_block[SBO_MAX_BLOCKS];  /* per-block beta (beta * r_l/m_l for projected methods) */
    int schedule;
    int uses_momentum;      /* MA-SOBA, naive, BROS: x_{k+1} = x_k - alpha h_k, h averaged */
    int uses_radius;        /* Z ball projection */
    double R;
    long n_clips;
    int cross_term;
    /* projected methods */
    int rank[SBO_MAX_BLOCKS];           /* r_l after §3.1 and §9 (r_l = m_l: full block) */
    int n_full_by_rule;                 /* blocks kept full by the §9 memory rule */
    double V_max;                       /* largest V over projected blocks (§6.6, §6.8) */
    char variant_name[32];              /* "naive", "basic", "general", or "" */
    char log[8192];                     /* what create decided (R, ranks, full blocks, warnings), one item per line */
    void *impl;
};

/* --- registry ---------------------------------------------------------------- */
const sbo_algo_type *const *sbo_algo_types(void);       /* NULL-terminated */
const sbo_algo_type *sbo_algo_find(const char *name);
void sbo_algo_names(char *buf, size_t n);               /* "soba, ma_soba, ..." (for error messages) */

/* --- shared pieces (algorithms/common.c) -------------------------------------- */
extern const sbo_option sbo_algo_common_options[];       /* algo.alpha, ... */
/* The shared options only the projected methods read (the full-space methods' unread_options). */
#define SBO_PROJECTED_ONLY_OPTIONS "algo.rank", "algo.ranks", "algo.memory_rule", "algo.beta_scaling", \
    "algo.gamma_scaling", "algo.variant", "algo.subspace_period", "algo.haar", "algo.cross_term"
/* Parse the shared options, allocate x, h, Y, Z (state arena), draw x_0, Y_0 from the init stream,
 * Z_0 = 0, h_0 = 0, and resolve R (§2.2). Returns 0 or -1 with err. */
int sbo_algo_setup(sbo_algo *a, const sbo_algo_type *type, sbo_task *t, const sbo_algo_options *opt,
                   uint64_t seed, char *err, size_t errlen);
/* Step sizes at iteration k. */
double sbo_algo_step_factor(const sbo_algo *a, long k);
/* x_{k+1} = x_k - alpha h_k, h_{k+1} = (1-theta) h_k + theta D_x (MA-SOBA skeleton, §2.2, §1 index convention). */
void sbo_algo_update_x_momentum(sbo_algo *a, long k, const double *D_x);
/* Z <- Pi_R(Z), counting clips. */
void sbo_algo_project_Z(sbo_algo *a);
int sbo_algo_state_finite(const sbo_algo *a);
void sbo_algo_free_common(sbo_algo *a);   /* frees the arenas, then a->impl, then a */
void sbo_algo_logf(sbo_algo *a, const char *fmt, ...);
/* Draw phi_k (stream LOWER_BATCH, k) then psi_k (UPPER_BATCH, k) through the counted wrapper. */
void sbo_algo_draw_batches(sbo_algo *a, long k, sbo_batch *batch_lower, sbo_batch *batch_upper);

/* Full-space directions shared by SOBA and MA-SOBA (§2.1): buffers live in a->work (the batches' arrays too). */
typedef struct {
    sbo_batch batch_lower, batch_upper;
    double *DY, *DZ, *gf, *Dx, *JZ;
} sbo_full_space_work;
void sbo_full_space_declare(sbo_algo *a, sbo_full_space_work *w);
void sbo_full_space_directions(sbo_algo *a, long k, sbo_full_space_work *w);
/* Constructor / destructor shared by SOBA (momentum = 0) and MA-SOBA (momentum = 1: h and the Z ball). */
sbo_algo *sbo_full_space_create(const sbo_algo_type *type, int momentum, sbo_task *t, const sbo_config *cfg,
                                uint64_t seed, char *err, size_t errlen);
void sbo_full_space_destroy(sbo_algo *a);

/* --- §9 analytic memory model (algorithms/memory_model.c) ------------------------ */
/* What the bi-probe correction (§6) adds to the model; algorithms/bros.c supplies it. */
typedef struct {
    /* scalars of block l's probes: xi (r), omega (n) and, on a general block, eta and omega3 (n each) */
    double (*probe_work)(int general_block, double r, double n);
    /* the method's name in the note, for the zdir variant that sbo_projected_resolve chose (SBO_ZDIR_*) */
    const char *(*label)(int variant);
} sbo_bi_probe_memory;

/* What sets a method apart in the model; each method's file fills one and passes it to
 * sbo_memory_model_compute, which reads these fields and never the method's name. */
typedef struct {
    const char *label;                      /* the method's name in the note (bi_probe->label replaces it) */
    int momentum;                           /* stores h (MA-SOBA skeleton, §2.2); SOBA moves x along D_x */
    int projected;                          /* Y, Z in random subspaces (§5.1): P, the zdir plan, reduced oracles */
    const sbo_bi_probe_memory *bi_probe;    /* the bi-probe correction (BROS); NULL: none */
} sbo_memory_traits;

int sbo_memory_model_compute(const sbo_memory_traits *method, const sbo_task *t, const sbo_config *cfg,
                             sbo_memory_model *out, char *err, size_t errlen);
#endif
