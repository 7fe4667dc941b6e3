#ifndef DML_CVECTORMATH_H
#define DML_CVECTORMATH_H

#include <stddef.h>

/// Vectorized elementwise exp over a buffer: out[k] = exp(in[k]) for k < n (in == out allowed).
/// On x86-64 Linux with glibc these call libmvec (the AVX2 variant where the CPU has AVX2 and
/// FMA, the SSE variant otherwise), whose results are within 4 ulp of the correctly rounded
/// value (glibc's documented bound for its vector math functions); elsewhere they loop over the
/// scalar libm function. The variant is chosen once per process from the CPU's features, so one
/// machine always gives the same numbers. Every element goes through the vector function, the
/// tail of fewer than one vector's lanes too (through a padded copy), so a value does not depend
/// on its position in the buffer.
void dml_vexpf(size_t n, const float *in, float *out);
void dml_vexp(size_t n, const double *in, double *out);

/// The implementation `dml_vexpf` / `dml_vexp` use on this machine: 2 = AVX2 libmvec,
/// 1 = SSE libmvec, 0 = scalar libm.
int dml_vexp_variant(void);

#endif
