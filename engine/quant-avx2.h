/*
 * engine/quant-avx2.h — the steps of quant-scalar.h, eight lanes at a time.
 * Only for files built with -mavx2 -mfma (named *-avx2.c). Each function
 * matches its scalar twin bit for bit; the comments say why.
 */
#ifndef DNNQ_ENGINE_QUANT_AVX2_H
#define DNNQ_ENGINE_QUANT_AVX2_H

#include <immintrin.h>

#include "engine/quant.h"

/* dnnq_saturate_rne: roundps is round-half-even like rintf; maxps returns its
 * second operand when the first is NaN, which is the scalar's NaN -> qmin;
 * cvtps is exact on the integral result. */
static inline __m256i dnnq_avx2_saturate_rne(__m256 v, __m256 zp, __m256 qmin,
                                             __m256 qmax)
{
	v = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
	v = _mm256_min_ps(_mm256_max_ps(v, qmin), qmax);
	return _mm256_cvtps_epi32(v);
}

/* dnnq_srdhm for b in [2^30, 2^31): gemmlowp's nudged, truncating division
 * equals floor((a*b + 2^30) / 2^31) for every product, i.e. bits 31..62 of
 * a*b + 2^30, which a logical 64-bit shift extracts. */
static inline __m256i dnnq_avx2_srdhm(__m256i a, __m256i b)
{
	const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
	__m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, b), nudge);
	__m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32),
	                                                _mm256_srli_epi64(b, 32)), nudge);
	even = _mm256_srli_epi64(even, 31);
	odd = _mm256_slli_epi64(odd, 1);
	return _mm256_blend_epi32(even, odd, 0xAA);
}

/* dnnq_rdbpot, lane by lane with per-lane exponents. */
static inline __m256i dnnq_avx2_rdbpot(__m256i x, __m256i e)
{
	const __m256i one = _mm256_set1_epi32(1);
	__m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, e), one);
	__m256i rem = _mm256_and_si256(x, mask);
	__m256i thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_srai_epi32(x, 31));
	return _mm256_sub_epi32(_mm256_srav_epi32(x, e), _mm256_cmpgt_epi32(rem, thr));
}

/* dnnq_requant_fixed_1; lo = qmin - zp, hi = qmax - zp. */
static inline __m256i dnnq_avx2_requant_fixed(__m256i acc, __m256i mult, __m256i shift,
                                              __m256i zp, __m256i lo, __m256i hi)
{
	__m256i v = dnnq_avx2_rdbpot(dnnq_avx2_srdhm(acc, mult), shift);
	v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
	return _mm256_add_epi32(v, zp);
}

/* Stores 8 int32 lanes already clamped to the range of dt (U8, S8, S32). */
static inline void dnnq_avx2_store8(void *p, enum dnnq_dtype dt, __m256i v)
{
	if (dt == DNNQ_DTYPE_S32) {
		_mm256_storeu_si256((__m256i *)p, v);
		return;
	}
	__m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	w = dt == DNNQ_DTYPE_U8 ? _mm_packus_epi16(w, w) : _mm_packs_epi16(w, w);
	_mm_storel_epi64((__m128i *)p, w);
}

/* Loads 8 elements of dt (U8, S8, S32) as int32 lanes. */
static inline __m256i dnnq_avx2_load8(const void *p, enum dnnq_dtype dt)
{
	if (dt == DNNQ_DTYPE_S32)
		return _mm256_loadu_si256((const __m256i *)p);
	__m128i b = _mm_loadl_epi64((const __m128i *)p);
	return dt == DNNQ_DTYPE_U8 ? _mm256_cvtepu8_epi32(b) : _mm256_cvtepi8_epi32(b);
}

#endif
