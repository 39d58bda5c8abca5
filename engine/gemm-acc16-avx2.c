/*
 * AVX2 acc16 GEMM: the main part with int16 saturating accumulators, the
 * sparse outlier part in int32, then the AVX2 output stage of the 32-bit
 * path (dnnq_avx2_gemm_store8, engine/gemm-avx2.h), from registers.
 *
 * Main part: W_main in the AVX2 panel layout (gemm-avx2.c). A step (one
 * group of 4 k) is, per row and half panel, one vpmaddubsw (int16 lane 2c
 * holds a[4g] w[c][4g] + a[4g+1] w[c][4g+1], lane 2c + 1 the next pair) and
 * one vpaddsw into an int16 accumulator; every `spill` steps, and after the
 * last, the two int16 lanes of each column are sign-extended (shifts) and
 * added into the int32 sum. That is the order gemm-acc16.c
 * defines, so the results are the scalar ones, saturated or not. Two
 * instructions per 32 multiply-adds instead of three; 4 rows x 16 columns:
 * 8 int16 accumulators in the K loop, the 8 int32 sums touched only at a
 * spill.
 *
 * Outlier part, per task: the block's activations transposed once,
 * at[k][r] = a[r][k] (64 bytes per k, L2-resident), so an outlier entry
 * (two outliers k1, k2 of one column, gemm.h) is, for 16 rows, two 16-byte
 * loads, vpunpck{l,h}bw + vpmovzxbw to (a[k1], a[k2]) int16 pairs, and two
 * vpmaddwd with the broadcast weight pair: exact int32, 32 multiply-adds.
 * Rows are the vector dimension because outliers are scattered in k; the
 * column's sums for the block's rows are added to the micro-tiles' int32
 * sums before the output stage.
 */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gemm-avx2.h"
#include "engine/gemm-kernels.h"

#define INLINE static inline __attribute__((always_inline))

/* One step: h[r][half] +=(saturating) the pair sums of 4 k of mr rows. */
INLINE void step16(const int mr, const bool partial, const uint8_t *const ar[DNNQ_GEMM_MR],
                   size_t koff, size_t nb, const int8_t *b, __m256i m0, __m256i m1,
                   __m256i h[DNNQ_GEMM_MR][2])
{
	__m256i b0, b1;
	dnnq_avx2_panel_row(partial, b, m0, m1, &b0, &b1);
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		__m256i av = _mm256_set1_epi32(dnnq_load4(ar[r] + koff, nb));
		h[r][0] = _mm256_adds_epi16(h[r][0], _mm256_maddubs_epi16(av, b0));
		h[r][1] = _mm256_adds_epi16(h[r][1], _mm256_maddubs_epi16(av, b1));
	}
}

/* The two int16 lanes of each int32 lane, summed in int32: what vpmaddwd
 * with ones computes, in shifts and adds, which do not compete with
 * vpmaddubsw and vpaddsw for the multiply pipes. */
INLINE __m256i widen_pairs(__m256i h)
{
	return _mm256_add_epi32(_mm256_srai_epi32(_mm256_slli_epi32(h, 16), 16),
	                        _mm256_srai_epi32(h, 16));
}

/* acc[r][half] = the main part's sums of mr rows against one panel. */
INLINE void kernel16(const int mr, const bool partial, const uint8_t *a, size_t lda,
                     const int8_t *b, size_t width, size_t k, size_t spill,
                     __m256i acc[DNNQ_GEMM_MR][2])
{
	const __m256i m0 = dnnq_avx2_lane_mask(width < 8 ? width : 8);
	const __m256i m1 = dnnq_avx2_lane_mask(width > 8 ? width - 8 : 0);
	const size_t gstride = 4 * width, kfull = k / 4, groups = (k + 3) / 4;
	const uint8_t *ar[DNNQ_GEMM_MR];
	__m256i c[DNNQ_GEMM_MR][2];
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		ar[r] = a + r * lda;
		c[r][0] = c[r][1] = _mm256_setzero_si256();
	}
	for (size_t g = 0; g < groups;) {
		size_t gend = groups - g < spill ? groups : g + spill;
		size_t gfull = gend < kfull ? gend : kfull;
		__m256i h[DNNQ_GEMM_MR][2];
#pragma GCC unroll 4
		for (int r = 0; r < mr; r++)
			h[r][0] = h[r][1] = _mm256_setzero_si256();
		/* a block of the default interval: a constant trip count,
		 * unrolled whole (4-13 % faster than the loop, interleaved A/B
		 * on 784x128x1152) */
		if (gfull - g == DNNQ_ACC16_DEFAULT_SPILL) {
#pragma GCC unroll 8
			for (int u = 0; u < DNNQ_ACC16_DEFAULT_SPILL; u++, g++, b += gstride)
				step16(mr, partial, ar, 4 * g, 4, b, m0, m1, h);
		}
		for (; g < gfull; g++, b += gstride)
			step16(mr, partial, ar, 4 * g, 4, b, m0, m1, h);
		if (g < gend) {   /* the last group, k % 4 values */
			step16(mr, partial, ar, 4 * g, k % 4, b, m0, m1, h);
			g++;
			b += gstride;
		}
#pragma GCC unroll 4
		for (int r = 0; r < mr; r++) {
			c[r][0] = _mm256_add_epi32(c[r][0], widen_pairs(h[r][0]));
			c[r][1] = _mm256_add_epi32(c[r][1], widen_pairs(h[r][1]));
		}
	}
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		acc[r][0] = c[r][0];
		acc[r][1] = c[r][1];
	}
}

#define KERNEL16_CASES(PART)                                                           \
	switch (mr) {                                                                  \
	case 1: kernel16(1, PART, a, lda, b, width, k, spill, acc); break;            \
	case 2: kernel16(2, PART, a, lda, b, width, k, spill, acc); break;            \
	case 3: kernel16(3, PART, a, lda, b, width, k, spill, acc); break;            \
	default: kernel16(4, PART, a, lda, b, width, k, spill, acc); break;           \
	}

static void tile16(int mr, const uint8_t *a, size_t lda, const int8_t *b, size_t width,
                   size_t k, size_t spill, __m256i acc[DNNQ_GEMM_MR][2])
{
	if (width == DNNQ_GEMM_NR) {
		KERNEL16_CASES(false)
	} else {
		KERNEL16_CASES(true)
	}
}

/* In each 128-bit lane, the 8 x 8 int16 transpose of rows x[0..7]. */
INLINE void transpose8x16(__m256i x[8])
{
	__m256i b[8], c[8];
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++) {
		b[2 * i] = _mm256_unpacklo_epi16(x[2 * i], x[2 * i + 1]);
		b[2 * i + 1] = _mm256_unpackhi_epi16(x[2 * i], x[2 * i + 1]);
	}
#pragma GCC unroll 2
	for (int i = 0; i < 2; i++) {
		c[4 * i] = _mm256_unpacklo_epi32(b[4 * i], b[4 * i + 2]);
		c[4 * i + 1] = _mm256_unpackhi_epi32(b[4 * i], b[4 * i + 2]);
		c[4 * i + 2] = _mm256_unpacklo_epi32(b[4 * i + 1], b[4 * i + 3]);
		c[4 * i + 3] = _mm256_unpackhi_epi32(b[4 * i + 1], b[4 * i + 3]);
	}
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++) {
		x[2 * i] = _mm256_unpacklo_epi64(c[i], c[i + 4]);
		x[2 * i + 1] = _mm256_unpackhi_epi64(c[i], c[i + 4]);
	}
}

/* 8 rows from row r0 (`rows` of them real, the rest 0) of k t..t+15 as
 * int16, transposed in each lane: x[i] = k t + i (low lane), t + 8 + i. */
INLINE void transpose_8rows(const bool full, const uint8_t *a, size_t lda, size_t rows,
                            size_t t, size_t r0, __m256i x[8])
{
#pragma GCC unroll 8
	for (size_t r = 0; r < 8; r++)
		x[r] = full || r < rows ? _mm256_cvtepu8_epi16(_mm_loadu_si128(
			(const __m128i *)(a + (r0 + r) * lda + t))) : _mm256_setzero_si256();
	transpose8x16(x);
}

/* Rows 16p..16p+15 of k t..t+15 into at (bytes). */
INLINE void transpose_block(const bool full, const uint8_t *a, size_t lda, size_t nr,
                            size_t t, size_t p, uint8_t *at)
{
	__m256i x[8], y[8];
	size_t r0 = 16 * p, r1 = r0 + 8;
	transpose_8rows(full, a, lda, nr > r0 ? nr - r0 : 0, t, r0, x);
	transpose_8rows(full, a, lda, nr > r1 ? nr - r1 : 0, t, r1, y);
#pragma GCC unroll 8
	for (size_t i = 0; i < 8; i++) {
		__m256i b = _mm256_packus_epi16(x[i], y[i]);
		_mm_storeu_si128((__m128i *)(at + (t + i) * 64 + r0), _mm256_castsi256_si128(b));
		_mm_storeu_si128((__m128i *)(at + (t + 8 + i) * 64 + r0),
		                 _mm256_extracti128_si256(b, 1));
	}
}

/* at[t * 64 + r] = a[r][t], t < k, r < 16 * ceil(nr / 16) (rows from nr
 * on are 0): 8 x 8 int16 transposes per lane, packed back to bytes; k
 * outer, so each line of `at` is completed while it is in L1. */
static void transpose_rows(const uint8_t *a, size_t lda, size_t nr, size_t k, uint8_t *at)
{
	size_t kvec = k / 16 * 16, groups = (nr + 15) / 16, full = nr / 16;
	for (size_t t = 0; t < kvec; t += 16) {
		for (size_t p = 0; p < full; p++)
			transpose_block(true, a, lda, nr, t, p, at);
		for (size_t p = full; p < groups; p++)
			transpose_block(false, a, lda, nr, t, p, at);
	}
	for (size_t t = kvec; t < k; t++)
		for (size_t r = 0; r < 16 * groups; r++)
			at[t * 64 + r] = r < nr ? a[r * lda + t] : 0;
}

/* o[r] = the outlier sum of column j for rows r < 16 * NG: per entry and
 * 16 rows, the two outliers' activations interleaved (vpunpck*bw), widened
 * to int16 pairs and one vpmaddwd per 8 rows with the weight pair. */
INLINE void outlier_col(const int ng, const struct dnnq_gemm_weights *w, size_t j,
                        const uint8_t *at, int32_t o[DNNQ_GEMM_MC])
{
	__m256i lo[4], hi[4];
#pragma GCC unroll 4
	for (int p = 0; p < ng; p++)
		lo[p] = hi[p] = _mm256_setzero_si256();
	for (uint32_t e = w->out_ptr[j]; e < w->out_ptr[j + 1]; e++) {
		uint32_t idx = w->out_idx[e];
		const uint8_t *x1 = at + (size_t)(idx & 0xffff) * 64, *x2 = at + (size_t)(idx >> 16) * 64;
		__m256i v = _mm256_set1_epi32(w->out_val[e]);
#pragma GCC unroll 4
		for (int p = 0; p < ng; p++) {
			__m128i y1 = _mm_loadu_si128((const __m128i *)(x1 + 16 * p));
			__m128i y2 = _mm_loadu_si128((const __m128i *)(x2 + 16 * p));
			lo[p] = _mm256_add_epi32(lo[p], _mm256_madd_epi16(
				_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(y1, y2)), v));
			hi[p] = _mm256_add_epi32(hi[p], _mm256_madd_epi16(
				_mm256_cvtepu8_epi16(_mm_unpackhi_epi8(y1, y2)), v));
		}
	}
#pragma GCC unroll 4
	for (int p = 0; p < ng; p++) {
		_mm256_storeu_si256((__m256i *)(o + 16 * p), lo[p]);
		_mm256_storeu_si256((__m256i *)(o + 16 * p + 8), hi[p]);
	}
}

/* out[r][c] = the outlier sums of the block's rows, columns jp..jp+width. */
static void outlier_panel(const struct dnnq_gemm_weights *w, size_t jp, size_t width,
                          size_t nr, const uint8_t *at, int32_t out[DNNQ_GEMM_MC][DNNQ_GEMM_NR])
{
	int32_t o[DNNQ_GEMM_MC];
	for (size_t c = 0; c < width; c++) {
		switch ((nr + 15) / 16) {
		case 1: outlier_col(1, w, jp + c, at, o); break;
		case 2: outlier_col(2, w, jp + c, at, o); break;
		case 3: outlier_col(3, w, jp + c, at, o); break;
		default: outlier_col(4, w, jp + c, at, o); break;
		}
		for (size_t r = 0; r < nr; r++)
			out[r][c] = o[r];
	}
}

void dnnq_gemm_acc16_4x16c4__avx2(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                                  size_t j0, size_t j1)
{
	const struct dnnq_gemm_weights *w = job->w;
	size_t nr = i1 - i0;
	int32_t rowsum[DNNQ_GEMM_MC] = { 0 };
	int32_t outl[DNNQ_GEMM_MC][DNNQ_GEMM_NR] __attribute__((aligned(32)));
	uint8_t *at = NULL;
	bool any_outl = w->out_ptr[j1] > w->out_ptr[j0];
	if (job->out->nwzp)
		dnnq_gemm_scan_avx2(job->a + i0 * job->lda, job->lda, nr, w->k, NULL, rowsum);
	if (any_outl) {
		memset(outl, 0, sizeof outl);
		/* without memory for it, the outlier sums come one by one */
		at = dnnq_aligned_alloc(w->k * DNNQ_GEMM_MC);
		if (at)
			transpose_rows(job->a + i0 * job->lda, job->lda, nr, w->k, at);
	}
	for (size_t jp = j0; jp < j1; jp += DNNQ_GEMM_NR) {
		size_t width = w->n - jp < DNNQ_GEMM_NR ? w->n - jp : DNNQ_GEMM_NR;
		const int8_t *b = w->data + dnnq_gemm_panel_bytes(jp, w->k);
		bool has_outl = any_outl && w->out_ptr[jp + width] > w->out_ptr[jp];
		if (has_outl && at)
			outlier_panel(w, jp, width, nr, at, outl);
		else if (has_outl)
			for (size_t r = 0; r < nr; r++)
				for (size_t c = 0; c < width; c++)
					outl[r][c] = dnnq_gemm_acc16_outlier_dot(w, jp + c,
						job->a + (i0 + r) * job->lda);
		for (size_t i = i0; i < i1; i += DNNQ_GEMM_MR) {
			int mr = i1 - i < DNNQ_GEMM_MR ? (int)(i1 - i) : DNNQ_GEMM_MR;
			__m256i acc[DNNQ_GEMM_MR][2];
			tile16(mr, job->a + i * job->lda, job->lda, b, width, w->k, w->acc16_spill, acc);
			for (int r = 0; r < mr; r++) {
				__m256i xs = _mm256_set1_epi32(rowsum[i - i0 + r]);
				for (size_t h = 0; h * 8 < width; h++) {
					size_t cnt = width - h * 8 < 8 ? width - h * 8 : 8;
					__m256i v = acc[r][h];
					if (has_outl)
						v = _mm256_add_epi32(v, _mm256_load_si256(
							(const __m256i *)(outl[i - i0 + r] + 8 * h)));
					dnnq_avx2_gemm_store8(v, i + r, jp + 8 * h, cnt, xs, job);
				}
			}
		}
	}
	free(at);
}
