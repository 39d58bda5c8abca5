/*
 * dw_32c2__avx2, the depthwise kernel of DNNQ_ISA_AVX2's table: 32
 * channels of one output pixel a step, the taps in pairs, with the GEMM's
 * sign trick (gemm-avx2.c): vpmaddubsw of |w| (u8) with x ^ key (s8: x -
 * 128 for w >= 0, 127 - x for w < 0) is w * x - 128 w or - 127 w, the
 * difference a constant per channel (the accumulators start at its
 * opposite). No shuffle: the 32 input bytes of a tap stay as loaded, and
 * two vpmaddubsw take the even channels (weights 0 at the odd bytes) and
 * the odd ones. A product is in [-16384, 16256], so a pair of taps adds in
 * int16 exactly; vpmaddwd with (1, 0) or (0, 1) widens every other int16
 * lane to int32. Accumulator r's lane k is channel 4k + r; the output
 * stage's operands are gathered in that order once per block of a row
 * (dnnq_avx2_cols_at, stride 4), and the four vectors of u8 results are
 * one vector of the 32 bytes in channel order by shifts and ors (S32 and
 * F32 outputs transpose instead). Blocks start at multiples of 32, so a
 * task may take any range of whole blocks (DNNQ_DW_BLOCK); a last block
 * of fewer than 32 channels is read and stored with masked loads and
 * stores (its weights 0 past cout).
 *
 * conv_pairs__avx2 (dnnq_conv_pairs_avx2), the im2col path's GEMM for first
 * layers: int16 weight pairs over k times the im2col rows (vpmaddwd,
 * exact), 4 rows x 16 columns a step, through the AVX2 output stage.
 */
#include <immintrin.h>

#include "engine/conv-kernels.h"
#include "engine/gemm-avx2.h"

/* The blocks of 32 channels: block b starts at channel b * 32. */
static size_t dw_blocks(size_t cout)
{
	return (cout + 31) / 32;
}

/* A block's bytes: the accumulators' start (32 int32, accumulator order:
 * [r * 8 + k] is channel 4k + r), then per tap (the count rounded up to
 * even; the extra tap's weights 0) the keys, |w| of the even channels and
 * |w| of the odd ones, 32 bytes each. */
#define DW_TAP_BYTES 96

static size_t dw_block_bytes(size_t taps)
{
	return 32 * sizeof(int32_t) + (taps + 1) / 2 * 2 * DW_TAP_BYTES;
}

size_t dnnq_dw_pack_avx2(const int8_t *w, size_t cout, size_t taps, void *dst)
{
	size_t nb = dw_blocks(cout), bb = dw_block_bytes(taps), tp = (taps + 1) / 2 * 2;
	if (!dst)
		return nb * bb;
	memset(dst, 0, nb * bb);
	for (size_t b = 0; b < nb; b++) {
		uint8_t *blk = (uint8_t *)dst + b * bb;
		int32_t fix[32] = { 0 };
		size_t c0 = b * 32, n = cout - c0 < 32 ? cout - c0 : 32;
		for (size_t t = 0; t < tp; t++) {
			uint8_t *key = blk + 32 * sizeof(int32_t) + t * DW_TAP_BYTES;
			for (size_t i = 0; i < 32; i++) {
				int v = i < n && t < taps ? w[(c0 + i) * taps + t] : 0;
				key[i] = v < 0 ? 0x7f : 0x80;
				key[32 * (1 + i % 2) + i] = (uint8_t)(v < 0 ? -v : v);
				fix[i / 4 + i % 4 * 8] += v * (v < 0 ? 127 : 128);
			}
		}
		memcpy(blk, fix, sizeof fix);
	}
	return nb * bb;
}

/* n <= 32 bytes at p, 0 past n: masked 4 bytes a lane when n is a multiple
 * of 4. */
DNNQ_AVX2_INLINE __m256i load32(const uint8_t *p, size_t n)
{
	if (n == 32)
		return _mm256_loadu_si256((const __m256i *)p);
	if (n % 4 == 0)
		return _mm256_maskload_epi32((const int *)p, dnnq_avx2_lane_mask(n / 4));
	uint8_t b[32] = { 0 };
	memcpy(b, p, n);
	return _mm256_loadu_si256((const __m256i *)b);
}

/* acc[r] += lanes 2k (lo) and 2k + 1 (hi) of the int16 sums e (even
 * channels: r 0 and 2) and o (odd: r 1 and 3). */
DNNQ_AVX2_INLINE void widen_add(__m256i e, __m256i o, __m256i acc[4])
{
	const __m256i lo = _mm256_set1_epi32(1), hi = _mm256_set1_epi32(1 << 16);
	acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(e, lo));
	acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(o, lo));
	acc[2] = _mm256_add_epi32(acc[2], _mm256_madd_epi16(e, hi));
	acc[3] = _mm256_add_epi32(acc[3], _mm256_madd_epi16(o, hi));
}

/* The sums from start (and with xs the input sums) of channels cb..cb+32
 * of the pixel whose np tap pairs tab points at, in accumulator order; n
 * valid channels; blk the block's packed weights. */
DNNQ_AVX2_INLINE void block32(const uint8_t *const *tab, ptrdiff_t off, size_t np, bool odd,
                              const uint8_t *blk, size_t cb, size_t n, const bool xs,
                              const __m256i start[4], __m256i s[4], __m256i x[4])
{
	const __m256i one_e = _mm256_set1_epi16(1), one_o = _mm256_set1_epi16(0x100);
#pragma GCC unroll 4
	for (int r = 0; r < 4; r++) {
		s[r] = start[r];
		x[r] = _mm256_setzero_si256();
	}
	const __m256i *wt = (const __m256i *)(blk + 32 * sizeof(int32_t));
#pragma GCC unroll 2
	for (size_t p = 0; p < np; p++, wt += 6) {
		__m256i a = load32(tab[2 * p] + off + cb, n), b = load32(tab[2 * p + 1] + off + cb, n);
		__m256i ak = _mm256_xor_si256(a, _mm256_loadu_si256(wt));
		__m256i bk = _mm256_xor_si256(b, _mm256_loadu_si256(wt + 3));
		__m256i e = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256(wt + 1), ak),
		                             _mm256_maddubs_epi16(_mm256_loadu_si256(wt + 4), bk));
		__m256i o = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_loadu_si256(wt + 2), ak),
		                             _mm256_maddubs_epi16(_mm256_loadu_si256(wt + 5), bk));
		widen_add(e, o, s);
		if (xs) {
			/* the second tap of an odd count's last pair is not a tap */
			if (odd && p + 1 == np)
				b = _mm256_setzero_si256();
			widen_add(_mm256_add_epi16(_mm256_maddubs_epi16(a, one_e),
			                           _mm256_maddubs_epi16(b, one_e)),
			          _mm256_add_epi16(_mm256_maddubs_epi16(a, one_o),
			                           _mm256_maddubs_epi16(b, one_o)), x);
		}
	}
}

/* Four vectors in accumulator order (v[r] lane k: channel 4k + r) as the
 * 32 lanes in channel order, 8 a vector. */
DNNQ_AVX2_INLINE void to_channel_order(const __m256i v[4], __m256i y[4])
{
	__m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpacklo_epi32(v[2], v[3]);
	__m256i t2 = _mm256_unpackhi_epi32(v[0], v[1]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
	/* channels 0-3 | 16-19, 4-7 | 20-23, 8-11 | 24-27, 12-15 | 28-31 */
	__m256i u0 = _mm256_unpacklo_epi64(t0, t1), u1 = _mm256_unpackhi_epi64(t0, t1);
	__m256i u2 = _mm256_unpacklo_epi64(t2, t3), u3 = _mm256_unpackhi_epi64(t2, t3);
	y[0] = _mm256_permute2x128_si256(u0, u1, 0x20);
	y[1] = _mm256_permute2x128_si256(u2, u3, 0x20);
	y[2] = _mm256_permute2x128_si256(u0, u1, 0x31);
	y[3] = _mm256_permute2x128_si256(u2, u3, 0x31);
}

/* Output pixel i's n channels from cb: the four finished vectors q. */
DNNQ_AVX2_INLINE void store_block(const __m256i q[4], size_t i, size_t cb, size_t n,
                                  const struct dnnq_gemm_job *job)
{
	const size_t at = i * job->ldc + cb;
	if (job->out->dtype != DNNQ_DTYPE_U8) {
		__m256i y[4];
		to_channel_order(q, y);
		for (size_t v = 0; v * 8 < n; v++)
			dnnq_avx2_store_i32((int32_t *)job->c + at + v * 8, y[v],
			                    n - v * 8 < 8 ? n - v * 8 : 8);
		return;
	}
	/* u8 values in int32 lanes: lane k's four bytes are channels 4k..4k+3 */
	__m256i b = _mm256_or_si256(_mm256_or_si256(q[0], _mm256_slli_epi32(q[1], 8)),
	                            _mm256_or_si256(_mm256_slli_epi32(q[2], 16),
	                                            _mm256_slli_epi32(q[3], 24)));
	uint8_t *dst = (uint8_t *)job->c + at;
	if (n == 32) {
		_mm256_storeu_si256((__m256i *)dst, b);
	} else if (n % 4 == 0) {
		_mm256_maskstore_epi32((int *)dst, dnnq_avx2_lane_mask(n / 4), b);
	} else {
		uint8_t tmp[32];
		_mm256_storeu_si256((__m256i *)tmp, b);
		memcpy(dst, tmp, n);
	}
}

/* One block of 32 channels from cb over the row's pixels (n of them valid:
 * 32, or fewer in the last block). */
DNNQ_AVX2_INLINE void row_block(const struct dnnq_conv *c, const struct dnnq_dw_taps *tt,
                                size_t np, const uint8_t *blk, size_t cb, size_t n,
                                const bool xs, const struct dnnq_gemm_job *job, size_t i0)
{
	const bool odd = c->d.kh * c->d.kw % 2;
	const enum dnnq_avx2_kind kind = dnnq_avx2_kind_of(job->out);
	struct dnnq_avx2_cols cols[4];
	__m256i start[4];   /* the sign trick's constant and the column term */
#pragma GCC unroll 4
	for (size_t r = 0; r < 4; r++) {
		/* no lane past n (fewer than 4 channels: none, from a channel that
		 * exists) */
		dnnq_avx2_cols_at(job, n > r ? cb + r : cb, 4, n > r ? (n - r + 3) / 4 : 0,
		                  &cols[r]);
		start[r] = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)blk + r),
		                            cols[r].col);
	}
	for (size_t ox = 0; ox < c->ow; ox++) {
		__m256i s[4], x[4], q[4];
		ptrdiff_t off;
		const uint8_t *const *tab = dnnq_dw_pixel(tt, ox, &off);
		block32(tab, off, np, odd, blk, cb, n, xs, start, s, x);
#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
			q[r] = dnnq_avx2_finish_as(kind, &cols[r], s[r], x[r], job->out);
		store_block(q, i0 + ox, cb, n, job);
	}
}

void dnnq_dw_row_avx2(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0, size_t c1,
                      void *scratch)
{
	const size_t taps = c->d.kh * c->d.kw, np = (taps + 1) / 2;
	const size_t i0 = (img * c->oh + oy) * c->ow, bb = dw_block_bytes(taps);
	const struct dnnq_dw_taps tt = dnnq_dw_tap_table(c, img, oy, 2 * np, scratch);
	/* a local copy: the output stores cannot change it, so its loads and
	 * broadcasts leave the loops */
	const struct dnnq_gemm_output out = c->gout[0];
	struct dnnq_gemm_job job = dnnq_dw_job(c);
	job.out = &out;
	for (size_t cb = c0; cb < c1; cb += 32) {
		const uint8_t *blk = (const uint8_t *)c->dw_w + cb / 32 * bb;
		/* constant arguments for the common blocks: no test in the loops */
		if (c1 - cb < 32)
			row_block(c, &tt, np, blk, cb, c1 - cb, out.nwzp != 0, &job, i0);
		else if (out.nwzp)
			row_block(c, &tt, np, blk, cb, 32, true, &job, i0);
		else
			row_block(c, &tt, np, blk, cb, 32, false, &job, i0);
	}
}

/* First layers' weights: int16 pairs over k, column-major within a pair:
 * w16[(p * cpad + j) * 2 + e] = w[j][2p + e], 0 past k; cpad = cout
 * rounded up to 16. */
size_t dnnq_conv_pairs_pack_avx2(const int8_t *w, size_t cout, size_t k, void *dst)
{
	size_t cpad = (cout + 15) & ~(size_t)15, np = (k + 1) / 2;
	size_t bytes = np * cpad * 2 * sizeof(int16_t);
	if (dst) {
		int16_t *w16 = dst;
		memset(w16, 0, bytes);
		for (size_t j = 0; j < cout; j++)
			for (size_t t = 0; t < k; t++)
				w16[(t / 2 * cpad + j) * 2 + t % 2] = w[j * k + t];
	}
	return bytes;
}

/* The sums of mr im2col rows (a, row stride k) with 16 columns of the
 * pair-packed weights (w at the block's first column): per pair of k, the
 * row's two bytes as the int16 pair of every 32-bit lane, one vpmaddwd per
 * 8 columns (u8 x s8 fits int16 and the pair's sum int32: exact), from
 * the column term. An odd k's last byte is paired with 0, so no row is
 * read past its end. */
DNNQ_AVX2_INLINE void pairs_rows(const int mr, const uint8_t *a, size_t k, const int16_t *w,
                                 size_t cpad, const struct dnnq_avx2_cols cols[2],
                                 __m256i s[4][2])
{
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		s[r][0] = cols[0].col;
		s[r][1] = cols[1].col;
	}
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
	const enum dnnq_avx2_kind kind = dnnq_avx2_kind_of(job->out);
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++)
		dnnq_avx2_store_panel(kind, cols, halves, s[r], i + r, _mm256_set1_epi32(rowsum[r]),
		                      job);
}

#define PAIRS_CASE(MR)                                                     \
	case MR:                                                           \
		pairs_rows(MR, a + i * c->k, c->k, w, cpad, cols, s);     \
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
