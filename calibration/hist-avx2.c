/*
 * The histogram passes in AVX2 (calibration/hist-kernels.h). Eight values a
 * step; a step holding a NaN or an infinity goes through the scalar code,
 * so the vector path only ever sees finite values. The bin index is
 * computed as the scalar code does, in double: the float widened (exact),
 * times the power of two inv (exact), floored (exact), less base (both
 * integers below 2^52: exact), then narrowed to int32 (an integer in
 * [0, nbins)); only the increments stay scalar, alternating between the
 * two arrays.
 */
#include <immintrin.h>

#include "calibration/hist-kernels.h"

/* The lanes of v that are NaN or infinite: exponent bits all set. */
static inline __m256i nonfinite(__m256 v)
{
	__m256i a = _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fffffff));
	return _mm256_cmpgt_epi32(a, _mm256_set1_epi32(0x7f7fffff));
}

static inline float hmin(__m256 v)
{
	__m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_min_ps(m, _mm_movehl_ps(m, m));
	m = _mm_min_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

static inline float hmax(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

void hist_scan_avx2(struct hist_scan *s, const float *x, size_t n)
{
	__m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY);
	size_t i = 0, vec = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		__m256i bad = nonfinite(v);
		if (!_mm256_testz_si256(bad, bad)) {
			hist_scan_scalar(s, x + i, 8);
			continue;
		}
		lo = _mm256_min_ps(lo, v);
		hi = _mm256_max_ps(hi, v);
		vec += 8;
	}
	hist_scan_scalar(s, x + i, n - i);
	float a = hmin(lo), b = hmax(hi);
	s->lo = a < s->lo ? a : s->lo;
	s->hi = b > s->hi ? b : s->hi;
	s->finite += vec;
}

void hist_count_avx2(uint64_t *counts, uint64_t *spare, const float *x, size_t n, double inv,
                     int64_t base)
{
	const __m256d vinv = _mm256_set1_pd(inv), vbase = _mm256_set1_pd((double)base);
	int32_t k[8];
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		__m256i bad = nonfinite(v);
		if (!_mm256_testz_si256(bad, bad)) {
			hist_count_scalar(counts, x + i, 8, inv, base);
			continue;
		}
		__m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
		__m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
		a = _mm256_sub_pd(_mm256_floor_pd(_mm256_mul_pd(a, vinv)), vbase);
		b = _mm256_sub_pd(_mm256_floor_pd(_mm256_mul_pd(b, vinv)), vbase);
		_mm_storeu_si128((__m128i *)k, _mm256_cvtpd_epi32(a));
		_mm_storeu_si128((__m128i *)(k + 4), _mm256_cvtpd_epi32(b));
		for (int j = 0; j < 8; j += 2) {
			counts[k[j]]++;
			spare[k[j + 1]]++;
		}
	}
	hist_count_scalar(counts, x + i, n - i, inv, base);
}
