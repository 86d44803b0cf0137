/* tests/curand_device_on_host.cu: cuRAND's DEVICE-API Philox (curand_init, skipahead, curand4, curand_Philox4x32_10
 * from curand_kernel.h / curand_philox4x32_x.h) compiled as host code, so tests/test_curand.c can run it without a GPU
 * and hold it against the project's Philox (core/sbo_rng.h) bit for bit.
 * Why this works: the device API is header-only, and every function is declared with the macro QUALIFIERS
 * (default "static __forceinline__ __device__"). Defining QUALIFIERS with __host__ added before the include makes the
 * same source callable from the host; the only target-specific line on this path, mulhilo32, already has a host
 * branch (NV_IF_ELSE_TARGET(NV_IS_HOST, 64-bit product, __umulhi)). CMakeLists.txt checks at configure time that this
 * compiles with the installed nvcc (SBO_CURAND_DEVICE_ON_HOST); if it does not, this file is not built and the test
 * skips with that reason. No kernel is launched and no CUDA runtime call is made here.
 * Exercised by: build/test_curand --verbose (ctest -R test_curand). */
#define QUALIFIERS static __forceinline__ __host__ __device__
#include <curand_kernel.h>
#include <stdint.h>

/* One call of the raw block function: out = curand_Philox4x32_10(ctr, key), words x, y, z, w. */
extern "C" void sbo_test_curand_device_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint4 c = make_uint4(ctr[0], ctr[1], ctr[2], ctr[3]);
    uint2 k = make_uint2(key[0], key[1]);
    uint4 r = curand_Philox4x32_10(c, k);
    out[0] = r.x; out[1] = r.y; out[2] = r.z; out[3] = r.w;
}

/* n words (n a multiple of 4) of the device stream curand_init(seed, subsequence, offset) followed by
 * skipahead(4 * 2^32 * extra_hi) (extra_hi blocks of 2^32: moves ctr.y up by extra_hi, in steps that keep the 64-bit
 * argument of skipahead from overflowing), drawn with curand4 as a kernel thread would. */
extern "C" void sbo_test_curand_device_words(uint64_t seed, uint64_t subsequence, uint64_t offset, uint64_t extra_hi,
                                             long n, uint32_t *out) {
    curandStatePhilox4_32_10_t s;
    curand_init((unsigned long long)seed, (unsigned long long)subsequence, (unsigned long long)offset, &s);
    while (extra_hi > 0) {
        uint64_t step = extra_hi < (1ull << 29) ? extra_hi : (1ull << 29);   /* step * 2^34 < 2^64 */
        skipahead((unsigned long long)(step << 34), &s);
        extra_hi -= step;
    }
    for (long i = 0; i + 4 <= n; i += 4) {
        uint4 r = curand4(&s);
        out[i] = r.x; out[i + 1] = r.y; out[i + 2] = r.z; out[i + 3] = r.w;
    }
}
