#include "CVectorMath.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define DML_HAVE_LIBMVEC 1
#include <immintrin.h>

// glibc's libmvec, by its vector-function ABI names (x86_64 vector ABI: b = SSE, d = AVX2).
extern __m128 _ZGVbN4v_expf(__m128);
extern __m128d _ZGVbN2v_exp(__m128d);
// The AVX2 variants take and return 256-bit vectors: declared for AVX2 callers only.
__attribute__((target("avx2,fma"))) extern __m256 _ZGVdN8v_expf(__m256);
__attribute__((target("avx2,fma"))) extern __m256d _ZGVdN4v_exp(__m256d);

static void expf_sse(size_t n, const float *in, float *out) {
    size_t k = 0;
    for (; k + 4 <= n; k += 4) _mm_storeu_ps(out + k, _ZGVbN4v_expf(_mm_loadu_ps(in + k)));
    if (k < n) {
        float pad[4] = {0, 0, 0, 0};
        memcpy(pad, in + k, (n - k) * sizeof(float));
        _mm_storeu_ps(pad, _ZGVbN4v_expf(_mm_loadu_ps(pad)));
        memcpy(out + k, pad, (n - k) * sizeof(float));
    }
}

static void exp_sse(size_t n, const double *in, double *out) {
    size_t k = 0;
    for (; k + 2 <= n; k += 2) _mm_storeu_pd(out + k, _ZGVbN2v_exp(_mm_loadu_pd(in + k)));
    if (k < n) {
        double pad[2] = {in[k], 0};
        _mm_storeu_pd(pad, _ZGVbN2v_exp(_mm_loadu_pd(pad)));
        out[k] = pad[0];
    }
}

__attribute__((target("avx2,fma")))
static void expf_avx2(size_t n, const float *in, float *out) {
    size_t k = 0;
    for (; k + 8 <= n; k += 8) _mm256_storeu_ps(out + k, _ZGVdN8v_expf(_mm256_loadu_ps(in + k)));
    if (k < n) {
        float pad[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(pad, in + k, (n - k) * sizeof(float));
        _mm256_storeu_ps(pad, _ZGVdN8v_expf(_mm256_loadu_ps(pad)));
        memcpy(out + k, pad, (n - k) * sizeof(float));
    }
}

__attribute__((target("avx2,fma")))
static void exp_avx2(size_t n, const double *in, double *out) {
    size_t k = 0;
    for (; k + 4 <= n; k += 4) _mm256_storeu_pd(out + k, _ZGVdN4v_exp(_mm256_loadu_pd(in + k)));
    if (k < n) {
        double pad[4] = {0, 0, 0, 0};
        memcpy(pad, in + k, (n - k) * sizeof(double));
        _mm256_storeu_pd(pad, _ZGVdN4v_exp(_mm256_loadu_pd(pad)));
        memcpy(out + k, pad, (n - k) * sizeof(double));
    }
}

static int detect_variant(void) {
    __builtin_cpu_init();
    return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 2 : 1;
}
#endif

// The variant, detected on first use (a benign race: every thread computes the same value).
static int variant = -1;

int dml_vexp_variant(void) {
#ifdef DML_HAVE_LIBMVEC
    int v = __atomic_load_n(&variant, __ATOMIC_RELAXED);
    if (v < 0) {
        v = detect_variant();
        __atomic_store_n(&variant, v, __ATOMIC_RELAXED);
    }
    return v;
#else
    return 0;
#endif
}

void dml_vexpf(size_t n, const float *in, float *out) {
#ifdef DML_HAVE_LIBMVEC
    if (dml_vexp_variant() == 2) { expf_avx2(n, in, out); return; }
    expf_sse(n, in, out);
#else
    for (size_t k = 0; k < n; k++) out[k] = expf(in[k]);
#endif
}

void dml_vexp(size_t n, const double *in, double *out) {
#ifdef DML_HAVE_LIBMVEC
    if (dml_vexp_variant() == 2) { exp_avx2(n, in, out); return; }
    exp_sse(n, in, out);
#else
    for (size_t k = 0; k < n; k++) out[k] = exp(in[k]);
#endif
}
