/*
 * The error model's saw at a run of bin edges in AVX2 (calib-internal.h
 * saws_avx2), four edges a step: the same operations as view.c's saw() in
 * the same order, each an IEEE operation that rounds alike in a vector
 * lane (no contraction: -ffp-contract=off), so the same bits
 * (tests/test_calib.c saws_agree).
 */
#include <immintrin.h>

#include "calibration/calib-internal.h"

void saws_avx2(const double *x, size_t n, double lo, double s, int p, double *out)
{
	const __m256d vlo = _mm256_set1_pd(lo), vs = _mm256_set1_pd(s);
	const __m256d magic = _mm256_set1_pd(0x1.8p52), zero = _mm256_setzero_pd();
	const __m256d dn = _mm256_set1_pd(p == 2 ? 12 : 4), dt = _mm256_set1_pd(p == 2 ? 3 : 2);
	size_t k = 0;
	for (; k + 4 <= n; k += 4) {
		__m256d u = _mm256_div_pd(_mm256_sub_pd(_mm256_loadu_pd(x + k), vlo), vs);
		__m256d r = _mm256_sub_pd(_mm256_add_pd(u, magic), magic);
		__m256d t = _mm256_sub_pd(u, r), tt = _mm256_mul_pd(t, t), v;
		if (p == 2) {
			v = _mm256_mul_pd(tt, t);
		} else {            /* (-t) t where t < 0: t t with the sign flipped */
			__m256d neg = _mm256_cmp_pd(t, zero, _CMP_LT_OQ);
			v = _mm256_blendv_pd(tt, _mm256_xor_pd(tt, _mm256_set1_pd(-0.0)), neg);
		}
		_mm256_storeu_pd(out + k, _mm256_add_pd(_mm256_div_pd(r, dn), _mm256_div_pd(v, dt)));
	}
	saws_scalar(x + k, n - k, lo, s, p, out + k);
}
