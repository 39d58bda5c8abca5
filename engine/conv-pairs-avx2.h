/*
 * engine/conv-pairs-avx2.h — the int16 pairs GEMM tile shared by the AVX2
 * first-layer kernel and Winograd (conv-avx2.c) and the stem by 1-D
 * Winograd (conv-stem-avx2.c); only for files compiled for AVX2.
 */
#ifndef DNNQ_ENGINE_CONV_PAIRS_AVX2_H
#define DNNQ_ENGINE_CONV_PAIRS_AVX2_H

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "engine/gemm-avx2.h"

/* The rows of a pairs tile: 6 x 16 columns, 12 accumulators and the two
 * weight vectors, the broadcast and a product in the 16 ymm registers. */
#define PAIRS_MR 6

/* s0, s1 += the int16 pair at a (in every 32-bit lane) times w0, w1. */
DNNQ_AVX2_INLINE void pairs_step(const int16_t *a, __m256i w0, __m256i w1, __m256i *s0,
                                 __m256i *s1)
{
	int32_t pair;
	memcpy(&pair, a, sizeof pair);
	__m256i b = _mm256_set1_epi32(pair);
	*s0 = _mm256_add_epi32(*s0, _mm256_madd_epi16(b, w0));
	*s1 = _mm256_add_epi32(*s1, _mm256_madd_epi16(b, w1));
}

/* The sums of mr rows of int16 pairs (a16, row stride lda: the im2col rows
 * after widen_rows) with 16 columns of pair-packed weights (w at the
 * block's first column, wstep int16 from one pair of k to the next), nq
 * pairs, from start: per pair, the row's two values as the int16 pair of
 * every 32-bit lane (one broadcast load), one vpmaddwd per 8 columns (u8 x
 * s8 fits int16 and the pair's sum int32: exact). The accumulators are
 * named, not an array: with s[4][2] GCC moved them between registers
 * every step (8 vmovdqa a pair of k). pf: also prefetch the weights that
 * follow these (wstep * nq on) into L2 (Winograd's next position). */
DNNQ_AVX2_INLINE void pairs_rows(const int mr, const bool pf, const int16_t *a16, size_t lda,
                                 size_t nq, const int16_t *w, size_t wstep,
                                 const __m256i start[2], __m256i s[PAIRS_MR][2])
{
	__m256i s00 = start[0], s01 = start[1], s10 = s00, s11 = s01, s20 = s00, s21 = s01;
	__m256i s30 = s00, s31 = s01, s40 = s00, s41 = s01, s50 = s00, s51 = s01;
	const int16_t *a1 = a16 + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda;
	const int16_t *a5 = a4 + lda;
	for (size_t q = 0; q < nq; q++, w += wstep) {
		__m256i w0 = _mm256_loadu_si256((const __m256i *)w);
		__m256i w1 = _mm256_loadu_si256((const __m256i *)(w + 16));
		if (pf)
			_mm_prefetch((const char *)(w + wstep * nq), _MM_HINT_T1);
		pairs_step(a16 + 2 * q, w0, w1, &s00, &s01);
		if (mr > 1)
			pairs_step(a1 + 2 * q, w0, w1, &s10, &s11);
		if (mr > 2)
			pairs_step(a2 + 2 * q, w0, w1, &s20, &s21);
		if (mr > 3)
			pairs_step(a3 + 2 * q, w0, w1, &s30, &s31);
		if (mr > 4)
			pairs_step(a4 + 2 * q, w0, w1, &s40, &s41);
		if (mr > 5)
			pairs_step(a5 + 2 * q, w0, w1, &s50, &s51);
	}
	const __m256i out[PAIRS_MR][2] = { { s00, s01 }, { s10, s11 }, { s20, s21 },
	                                   { s30, s31 }, { s40, s41 }, { s50, s51 } };
#pragma GCC unroll 6
	for (int r = 0; r < mr; r++) {
		s[r][0] = out[r][0];
		s[r][1] = out[r][1];
	}
}

/* One Winograd position's sums of mr tiles (v: their transformed inputs,
 * row stride lda int16) over nq pairs with 16 columns of its weights (w, at
 * the panel's first column, 32 int16 a pair) into m (tile stride ms int32,
 * column stride 1): pairs_rows from 0, stored. pf: also prefetch the next
 * position's weights (they follow these) into L2, streamed from memory on
 * ResNet's 14x14 layers of 256 channels (into L1 or two positions ahead:
 * slower). */
DNNQ_AVX2_INLINE void dnnq_pairs_dot(const int mr, const bool pf, const int16_t *v, size_t lda,
                                     size_t nq, const int16_t *w, int32_t *m, size_t ms)
{
	const __m256i zero[2] = { _mm256_setzero_si256(), _mm256_setzero_si256() };
	__m256i s[PAIRS_MR][2];
	pairs_rows(mr, pf, v, lda, nq, w, 32, zero, s);
#pragma GCC unroll 6
	for (int r = 0; r < mr; r++) {
		_mm256_storeu_si256((__m256i *)(m + r * ms), s[r][0]);
		_mm256_storeu_si256((__m256i *)(m + r * ms + 8), s[r][1]);
	}
}

#endif
