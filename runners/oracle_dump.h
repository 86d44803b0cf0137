/* runners/oracle_dump.h: `sbo oracle-dump` (runners/oracle_dump.c): one point and every oracle output there,
 * written to HDF5 (docs/SCHEMA.md, "oracle dumps"). Exercised by: tests/test_cli.c. */
#ifndef SBO_ORACLE_DUMP_H
#define SBO_ORACLE_DUMP_H
#include <stddef.h>
#include <stdint.h>
#include "tasks/task.h"   /* sbo_task_type, sbo_config */

/* Returns 0, 1 (the file could not be written) or 2 (bad input: task creation failed), with err filled. */
int sbo_oracle_dump(const sbo_task_type *tt, const sbo_config *cfg, uint64_t seed, const char *out, int argc,
                    char **argv, char *err, size_t errlen);
#endif
