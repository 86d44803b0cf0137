/* core/sbo_blas.c: which BLAS and which core kernels ran (PLATFORM.md "BLAS warning": OpenBLAS 0.3.21
 * falls back to Prescott kernels on this CPU, so every result records the core name).
 * OPENBLAS_CORETYPE is only read, never set: some machines preset it because old builds break there.
 * Exercised by: `sbo list`, every result file (runners/sbo_h5.c provenance). */
#include "core/sbo_blas.h"   /* the interface */

#include <stdio.h>
#include <stdlib.h>

#if defined(SBO_BLAS_BLIS)
#include <blis.h>            /* bli_info_get_version_str, bli_arch_query_id, bli_arch_string, bli_thread_set_num_threads */
#else
#include <cblas.h>           /* OpenBLAS's: openblas_get_config, openblas_get_corename, openblas_set_num_threads */
#endif

const char *sbo_blas_vendor(void) {
    /* Recomputed on each call into a per-thread buffer: cheap, and no initialization race. */
    static _Thread_local char buf[96];
#if defined(SBO_BLAS_BLIS)
    snprintf(buf, sizeof buf, "BLIS %s", bli_info_get_version_str());
#else
    /* openblas_get_config() is e.g. "OpenBLAS 0.3.21 NO_AFFINITY Prescott MAX_THREADS=64": keep
     * the first two words (name and version); the core is reported by sbo_blas_corename. */
    const char *cfg = openblas_get_config();
    int words = 0;
    size_t k = 0;
    for (const char *p = cfg; *p && k + 1 < sizeof buf; p++) {
        if (*p == ' ' && ++words == 2) break;
        buf[k++] = *p;
    }
    buf[k] = '\0';
#endif
    return buf;
}

const char *sbo_blas_corename(void) {
#if defined(SBO_BLAS_BLIS)
    return bli_arch_string(bli_arch_query_id());
#else
    return openblas_get_corename();
#endif
}

const char *sbo_blas_coretype_env(void) {
    const char *v = getenv("OPENBLAS_CORETYPE");
    return v ? v : "(unset)";
}

void sbo_blas_set_threads(int n) {
    if (n < 1) n = 1;
#if defined(SBO_BLAS_BLIS)
    bli_thread_set_num_threads(n);
#else
    openblas_set_num_threads(n);
#endif
}
