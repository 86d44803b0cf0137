/* core/sbo_blas.h: which BLAS ran. Vendor is fixed at configure time (SBO_BLAS_VENDOR);
 * the core-kernel name is queried at run time (openblas_get_corename / BLIS arch query).
 * Never overrides a preset OPENBLAS_CORETYPE (PLATFORM.md). Exercised by: sbo list, every result file. */
#ifndef SBO_BLAS_H
#define SBO_BLAS_H
const char *sbo_blas_vendor(void);      /* "OpenBLAS 0.3.21" / "BLIS 0.9.0" */
const char *sbo_blas_corename(void);    /* e.g. "Prescott", "SkylakeX", "skx" */
const char *sbo_blas_coretype_env(void);/* value of OPENBLAS_CORETYPE or "(unset)" */
void sbo_blas_set_threads(int n);       /* BLAS threads (1 when the program runs OpenMP loops) */
#endif
