/*
 * dw_16c2__avx2, the depthwise kernel of DNNQ_ISA_AVX2's table: 16
 * channels of one output pixel a step, the taps in pairs. The input bytes of
 * a pair's two taps are interleaved per channel and widened to int16, so
 * one vpmaddwd with the pair's int16 weights gives each channel's two
 * products summed in int32 (u8 x s8 fits int16 and the pair's sum int32:
 * exact). The 16 sums stay in registers and go to the AVX2 output stage
 * (the GEMM's, so the same bits as scalar). A row's last block of channels
 * ends at cout, overlapping the one before (the same values written twice);
 * fewer than 16 channels are read through a zero-filled copy.
 *
 * conv_pairs__avx2 (dnnq_conv_pairs_avx2), the im2col path's GEMM for first
 * layers: the same int16 pairs, over k instead of taps, times the im2col
 * rows, 4 rows x 16 columns a step, through the same output stage.
 */
#include <immintrin.h>

#include "engine/conv-kernels.h"
#include "engine/gemm-avx2.h"

/* Tap pairs, int16, channel-major within a pair: w16[(p * cpad + ch) * 2 + e]
 * = w[ch][2p + e], 0 past the taps; cpad = cout rounded up to 16. */
size_t dnnq_dw_pack_avx2(const int8_t *w, size_t cout, size_t taps, void *dst)
{
	size_t cpad = (cout + 15) & ~(size_t)15, np = (taps + 1) / 2;
	size_t bytes = np * cpad * 2 * sizeof(int16_t);
	if (dst) {
		int16_t *w16 = dst;
		memset(w16, 0, bytes);
		for (size_t ch = 0; ch < cout; ch++)
			for (size_t t = 0; t < taps; t++)
				w16[(t / 2 * cpad + ch) * 2 + t % 2] = w[ch * taps + t];
	}
	return bytes;
}

/* n <= 16 bytes at p: one load when n is 16. */
DNNQ_AVX2_INLINE __m128i load16(const uint8_t *p, size_t n)
{
	if (n == 16)
		return _mm_loadu_si128((const __m128i *)p);
	uint8_t b[16] = { 0 };
	memcpy(b, p, n);
	return _mm_loadu_si128((const __m128i *)b);
}

/* The sums (and with xs the input sums) of channels cb..cb+16 of the pixel
 * whose np tap pairs tab points at; n valid channels. */
DNNQ_AVX2_INLINE void block16(const uint8_t *const *tab, ptrdiff_t off, size_t np, bool odd,
                              const int16_t *w, size_t cpad, size_t cb, size_t n, bool xs,
                              __m256i s[2], __m256i x[2])
{
	const __m256i one2 = _mm256_set1_epi16(1), one1 = _mm256_set1_epi32(1);
	s[0] = s[1] = x[0] = x[1] = _mm256_setzero_si256();
#pragma GCC unroll 2
	for (size_t p = 0; p < np; p++) {
		const uint8_t *pa = tab[2 * p] + off + cb, *pb = tab[2 * p + 1] + off + cb;
		__m128i a = load16(pa, n), b = load16(pb, n);
		__m256i lo = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b));
		__m256i hi = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b));
		const int16_t *wp = w + (p * cpad + cb) * 2;
		__m256i w0 = _mm256_loadu_si256((const __m256i *)wp);
		__m256i w1 = _mm256_loadu_si256((const __m256i *)(wp + 16));
		s[0] = _mm256_add_epi32(s[0], _mm256_madd_epi16(lo, w0));
		s[1] = _mm256_add_epi32(s[1], _mm256_madd_epi16(hi, w1));
		if (xs) {
			/* the second tap of an odd count's last pair is not a tap */
			__m256i ones = odd && p + 1 == np ? one1 : one2;
			x[0] = _mm256_add_epi32(x[0], _mm256_madd_epi16(lo, ones));
			x[1] = _mm256_add_epi32(x[1], _mm256_madd_epi16(hi, ones));
		}
	}
}

/* One block of 16 channels from cb over the row's pixels (n of them valid:
 * 16, or cout when it is smaller). */
DNNQ_AVX2_INLINE void row_block(const struct dnnq_conv *c, const struct dnnq_dw_taps *tt,
                                size_t np, size_t cb, size_t n, const struct dnnq_gemm_job *job,
                                size_t i0)
{
	const size_t cpad = (c->d.cout + 15) & ~(size_t)15;
	const bool xs = job->out->nwzp != 0, odd = c->d.kh * c->d.kw % 2;
	struct dnnq_avx2_cols cols[2];
	size_t halves = dnnq_avx2_cols_panel(job, cb, n, cols);
	for (size_t ox = 0; ox < c->ow; ox++) {
		__m256i s[2], x[2];
		ptrdiff_t off;
		const uint8_t *const *tab = dnnq_dw_pixel(tt, ox, &off);
		block16(tab, off, np, odd, c->dw_w, cpad, cb, n, xs, s, x);
		for (size_t h = 0; h < halves; h++)
			dnnq_avx2_store_cols(&cols[h], s[h], i0 + ox, x[h], job);
	}
}

void dnnq_dw_row_avx2(const struct dnnq_conv *c, size_t img, size_t oy, void *scratch)
{
	const size_t cout = c->d.cout, np = (c->d.kh * c->d.kw + 1) / 2;
	const size_t i0 = (img * c->oh + oy) * c->ow;
	const struct dnnq_dw_taps tt = dnnq_dw_tap_table(c, img, oy, 2 * np, scratch);
	/* a local copy: the output stores cannot change it, so its loads and
	 * broadcasts leave the loops */
	const struct dnnq_gemm_output out = c->gout[0];
	struct dnnq_gemm_job job = dnnq_dw_job(c);
	job.out = &out;
	if (cout < 16) {
		row_block(c, &tt, np, 0, cout, &job, i0);
		return;
	}
	for (size_t c0 = 0; c0 < cout; c0 += 16)
		row_block(c, &tt, np, c0 + 16 <= cout ? c0 : cout - 16, 16, &job, i0);
}

/* The sums of mr im2col rows (a, row stride k) with 16 columns of the
 * pair-packed weights (w at the block's first column): per pair of k, the
 * row's two bytes as the int16 pair of every 32-bit lane, one vpmaddwd per
 * 8 columns (exact, as in block16). An odd k's last byte is paired with 0,
 * so no row is read past its end. */
DNNQ_AVX2_INLINE void pairs_rows(const int mr, const uint8_t *a, size_t k, const int16_t *w,
                                 size_t cpad, __m256i s[4][2])
{
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++)
		s[r][0] = s[r][1] = _mm256_setzero_si256();
	for (size_t q = 0; q < (k + 1) / 2; q++) {
		const int16_t *wp = w + q * cpad * 2;
		__m256i w0 = _mm256_loadu_si256((const __m256i *)wp);
		__m256i w1 = _mm256_loadu_si256((const __m256i *)(wp + 16));
		bool pair = 2 * q + 1 < k;
#pragma GCC unroll 4
		for (int r = 0; r < mr; r++) {
			const uint8_t *p = a + r * k + 2 * q;
			__m256i av = _mm256_set1_epi32(p[0] | (pair ? p[1] << 16 : 0));
			s[r][0] = _mm256_add_epi32(s[r][0], _mm256_madd_epi16(av, w0));
			s[r][1] = _mm256_add_epi32(s[r][1], _mm256_madd_epi16(av, w1));
		}
	}
}

DNNQ_AVX2_INLINE void pairs_store(const int mr, const __m256i s[4][2], size_t i,
                                  const struct dnnq_avx2_cols cols[2], size_t halves,
                                  const int32_t *rowsum, const struct dnnq_gemm_job *job)
{
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++)
		for (size_t h = 0; h < halves; h++)
			dnnq_avx2_store_cols(&cols[h], s[r][h], i + r, _mm256_set1_epi32(rowsum[r]),
			                     job);
}

#define PAIRS_CASE(MR)                                                     \
	case MR:                                                           \
		pairs_rows(MR, a + i * c->k, c->k, w, cpad, s);           \
		pairs_store(MR, s, i, cols, halves, rowsum + i, &job);        \
		break;

void dnnq_conv_pairs_avx2(const struct dnnq_conv *c, size_t m, const uint8_t *a, void *y,
                          size_t j0, size_t j1)
{
	const size_t cpad = (c->d.cout + 15) & ~(size_t)15;
	/* a local copy, as in dnnq_dw_row_avx2 */
	const struct dnnq_gemm_output out = c->gout[0];
	const struct dnnq_gemm_job job = { .w = &c->gw[0], .m = m, .a = a, .lda = c->k, .c = y,
	                                   .ldc = c->d.cout, .out = &out };
	int32_t rowsum[DNNQ_GEMM_MC] = { 0 };
	if (out.nwzp)
		dnnq_gemm_scan_avx2(a, c->k, m, c->k, NULL, rowsum);
	for (size_t jp = j0; jp < j1; jp += 16) {
		const int16_t *w = c->pairs + jp * 2;
		size_t width = j1 - jp < 16 ? j1 - jp : 16;
		struct dnnq_avx2_cols cols[2];
		size_t halves = dnnq_avx2_cols_panel(&job, jp, width, cols);
		for (size_t i = 0; i < m; i += 4) {
			__m256i s[4][2];
			switch (m - i < 4 ? m - i : 4) {
			PAIRS_CASE(1) PAIRS_CASE(2) PAIRS_CASE(3) PAIRS_CASE(4)
			}
		}
	}
}
