/*
 * dw_32c2__avx2, the depthwise kernel of DNNQ_ISA_AVX2's table: 32
 * channels of one output pixel a step, the taps in pairs, with the GEMM's
 * sign trick (gemm-avx2.c): vpmaddubsw of |w| (u8) with x ^ key (s8: x -
 * 128 for w >= 0, 127 - x for w < 0) is w * x - 128 w or - 127 w, the
 * difference a constant per channel (the accumulators start at its
 * opposite). The two taps of a pair are interleaved per channel (vpunpck
 * lo and hi of their keyed bytes), so one vpmaddubsw against the pair's
 * weights, packed (32 channels x 2) in that order, sums both taps of 16
 * channels: a product is in [-16384, 16256], so the pair adds in int16
 * exactly. Two pairs' int16 sums interleaved (vpunpck of words) and one
 * vpmaddwd by 1 widen four taps into int32. The unpacks leave channel
 * 4v + i (i < 4) and 16 + 4v + i in accumulator v: the sign trick's
 * constants are packed in that order, the output stage's operands are
 * gathered in natural order once per block of a row and moved there
 * (vperm2i128), and the u8 results are back in channel order after
 * vpackssdw and vpackuswb (S32 and F32 outputs: vperm2i128), float
 * requantization's zero point added in between (dnnq_avx2_zp_after_pack).
 * 3x3 kernels (five pairs) have a row_block of their own, unrolled: GCC
 * kept the pair loop rolled and spilled around it (docs/gemm.md). Blocks
 * start at multiples of 32, so a task may take any range of whole blocks
 * (DNNQ_DW_BLOCK); a last block of fewer than 32 channels is read and
 * stored with masked loads and stores (its weights 0 past cout), or of 8,
 * 16 or 24 (partial_block) with that count a constant: 8- and 16-byte
 * loads, a constant mask, 3x3's pairs unrolled. A last block of 16
 * (mobilenet_v3_small's 16-channel node, 144, 240) with u8 outputs and
 * symmetric weights takes two pixels a step, one in each 16 lanes: its
 * weights and constants are packed twice (lanes 16-31 those of 0-15),
 * each half loads its own pixel's taps, stores 16 bytes.
 *
 * conv_pairs__avx2 (dnnq_conv_pairs_avx2), the im2col path's GEMM for first
 * layers: int16 weight pairs over k times the im2col rows (vpmaddwd,
 * exact), 6 rows x 16 columns a step, through the AVX2 output stage (two
 * rows a store, dnnq_avx2_store_panel2, as the GEMM's tiles).
 *
 * Winograd F(4, 3) (dnnq_wino_avx2) for 3x3 stride-1 convolutions: int16
 * transforms of 6x6 input patches (shifted by -128) and of the weights
 * (G's rows scaled to integers; packed at create up to 128 channels, above
 * from the int8 weights per panel and chunk of channels into a per-thread
 * buffer), 36 GEMMs over channel pairs (vpmaddwd), 4 tiles x 16 columns a
 * step, the output transform 576 times the sums mod 2^32, divided exactly
 * by 9's inverse and a shift by 6 (up to 227 channels a chunk), the AVX2
 * output stage (conv-kernels.h; docs/gemm.md).
 */
#include <immintrin.h>

#include "engine/conv-kernels.h"
#include "engine/conv-pairs-avx2.h"
#include "engine/conv-wino-avx2.h"
#include "engine/gemm-avx2.h"

/* The blocks of 32 channels: block b starts at channel b * 32. */
static size_t dw_blocks(size_t cout)
{
	return (cout + 31) / 32;
}

/* A block's bytes (a block of 16 channels: twice, in lanes 0-15 and
 * 16-31): the accumulators' start (32 int32 in accumulator order),
 * then per pair of taps (the count rounded up to even; the extra tap's
 * weights 0) the two taps' keys (32 bytes each, channel order) and |w| of
 * both taps interleaved per channel, for the low then the high unpack
 * (32 bytes each). */
#define DW_PAIR_BYTES 128

/* The tap pairs of a 3x3 kernel, the common one: a row_block of its own. */
#define DW_PAIRS_3X3 5

static size_t dw_block_bytes(size_t taps)
{
	return 32 * sizeof(int32_t) + (taps + 1) / 2 * DW_PAIR_BYTES;
}

/* Where channel i (< 32) of a block is in the accumulators, and in the
 * unpacked weights (vpunpcklbw: channels 0-7 | 16-23; hi: 8-15 | 24-31). */
static size_t acc_index(size_t i)
{
	return i % 16 / 4 * 8 + i % 4 + i / 16 * 4;
}

static size_t unpack_index(size_t i)
{
	return i % 16 / 8 * 32 + i / 16 * 16 + i % 8 * 2;
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
			uint8_t *pair = blk + 32 * sizeof(int32_t) + t / 2 * DW_PAIR_BYTES;
			for (size_t i = 0; i < 32; i++) {
				size_t ch = n == 16 ? i % 16 : i;   /* two pixels a step */
				int v = ch < n && t < taps ? w[(c0 + ch) * taps + t] : 0;
				pair[t % 2 * 32 + i] = v < 0 ? 0x7f : 0x80;
				pair[64 + unpack_index(i) + t % 2] = (uint8_t)(v < 0 ? -v : v);
				fix[acc_index(i)] += v * (v < 0 ? 127 : 128);
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
	if (n == 16)
		return _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)p));
	if (n == 8)
		return _mm256_zextsi128_si256(_mm_loadl_epi64((const __m128i *)p));
	if (n % 4 == 0)
		return _mm256_maskload_epi32((const int *)p, dnnq_avx2_lane_mask(n / 4));
	uint8_t b[32] = { 0 };
	memcpy(b, p, n);
	return _mm256_loadu_si256((const __m256i *)b);
}

/* The pixel (or with two the two pixels) a step reads: tap t of pixel
 * k is at tab[k][t] + off[k]. */
struct dw_px {
	const uint8_t *const *tab[2];
	ptrdiff_t off[2];
};

/* Tap t's n bytes from cb of px's pixel, or with two (n 16) of its two
 * pixels in the low and high half. */
DNNQ_AVX2_INLINE __m256i load_tap(const struct dw_px *px, size_t t, size_t cb, size_t n,
                                  const bool two)
{
	if (!two)
		return load32(px->tab[0][t] + px->off[0] + cb, n);
	__m128i lo = _mm_loadu_si128((const __m128i *)(px->tab[0][t] + px->off[0] + cb));
	__m128i hi = _mm_loadu_si128((const __m128i *)(px->tab[1][t] + px->off[1] + cb));
	return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

/* Pair p's int16 sums of the block's channels, lo (channels 0-7 | 16-23)
 * and hi (8-15 | 24-31), and with xs the pair's input sums; a tap past
 * the count (odd: p's second) adds nothing to those. */
DNNQ_AVX2_INLINE void pair16(const struct dw_px *px, size_t p, const bool odd,
                             const __m256i *wt, size_t cb, size_t n, const bool two,
                             const bool xs, __m256i s[2], __m256i x[2])
{
	__m256i a = load_tap(px, 2 * p, cb, n, two), b = load_tap(px, 2 * p + 1, cb, n, two);
	__m256i ak = _mm256_xor_si256(a, _mm256_loadu_si256(wt));
	__m256i bk = _mm256_xor_si256(b, _mm256_loadu_si256(wt + 1));
	s[0] = _mm256_maddubs_epi16(_mm256_loadu_si256(wt + 2), _mm256_unpacklo_epi8(ak, bk));
	s[1] = _mm256_maddubs_epi16(_mm256_loadu_si256(wt + 3), _mm256_unpackhi_epi8(ak, bk));
	if (xs) {
		const __m256i one = _mm256_set1_epi8(1);
		if (odd)
			b = _mm256_setzero_si256();
		x[0] = _mm256_maddubs_epi16(_mm256_unpacklo_epi8(a, b), one);
		x[1] = _mm256_maddubs_epi16(_mm256_unpackhi_epi8(a, b), one);
	}
}

/* acc[v] += the int16 sums of two pairs (e, f: lo and hi), widened. */
DNNQ_AVX2_INLINE void widen_add(const __m256i e[2], const __m256i f[2], __m256i acc[4])
{
	const __m256i one = _mm256_set1_epi16(1);
#pragma GCC unroll 2
	for (int h = 0; h < 2; h++) {
		acc[2 * h] = _mm256_add_epi32(acc[2 * h],
		                              _mm256_madd_epi16(_mm256_unpacklo_epi16(e[h], f[h]), one));
		acc[2 * h + 1] = _mm256_add_epi32(acc[2 * h + 1],
		                                  _mm256_madd_epi16(_mm256_unpackhi_epi16(e[h], f[h]),
		                                                    one));
	}
}

/* Pairs p and p + 1 (np in all) added to s (and with xs the input sums to
 * x). */
DNNQ_AVX2_INLINE void two_pairs(const struct dw_px *px, size_t p, size_t np, bool odd,
                                const __m256i *wt, size_t cb, size_t n, const bool two,
                                const bool xs, __m256i s[4], __m256i x[4])
{
	__m256i e[2], f[2], xe[2], xf[2];
	pair16(px, p, false, wt, cb, n, two, xs, e, xe);
	pair16(px, p + 1, odd && p + 2 == np, wt + 4, cb, n, two, xs, f, xf);
	widen_add(e, f, s);
	if (xs)
		widen_add(xe, xf, x);
}

/* The sums from start (and with xs the input sums) of channels cb..cb+32
 * of px's pixel (np tap pairs), in accumulator order; n valid channels
 * (with two 16 of each of two pixels); blk the block's packed weights. */
DNNQ_AVX2_INLINE void block32(const struct dw_px *px, size_t np, bool odd, const uint8_t *blk,
                              size_t cb, size_t n, const bool two, const bool xs,
                              const __m256i start[4], __m256i s[4], __m256i x[4])
{
	const __m256i zero[2] = { _mm256_setzero_si256(), _mm256_setzero_si256() };
#pragma GCC unroll 4
	for (int r = 0; r < 4; r++) {
		s[r] = start[r];
		x[r] = _mm256_setzero_si256();
	}
	const __m256i *wt = (const __m256i *)(blk + 32 * sizeof(int32_t));
	size_t p = 0;
	if (np == DW_PAIRS_3X3) {
		/* unrolled: GCC leaves the loop of two steps rolled, and around
		 * it stores and reloads two of the output stage's registers
		 * every pixel (a pragma on the loop below unrolls it for every
		 * tap count, which slowed the others down) */
		two_pairs(px, 0, np, odd, wt, cb, n, two, xs, s, x);
		two_pairs(px, 2, np, odd, wt + 8, cb, n, two, xs, s, x);
		p = 4;
		wt += 16;
	} else {
		for (; p + 2 <= np; p += 2, wt += 8)
			two_pairs(px, p, np, odd, wt, cb, n, two, xs, s, x);
	}
	if (p < np) {
		__m256i e[2], xe[2];
		pair16(px, p, odd, wt, cb, n, two, xs, e, xe);
		widen_add(e, zero, s);
		if (xs)
			widen_add(xe, zero, x);
	}
}

/* Lanes 0-3 | 4-7 of accumulator v are channels 4v.. | 16 + 4v..: the
 * natural order, eight channels a vector, and back. */
DNNQ_AVX2_INLINE void to_channel_order(const __m256i v[4], __m256i y[4])
{
	y[0] = _mm256_permute2x128_si256(v[0], v[1], 0x20);
	y[1] = _mm256_permute2x128_si256(v[2], v[3], 0x20);
	y[2] = _mm256_permute2x128_si256(v[0], v[1], 0x31);
	y[3] = _mm256_permute2x128_si256(v[2], v[3], 0x31);
}

DNNQ_AVX2_INLINE void to_acc_order(const __m256i y[4], __m256i v[4])
{
	v[0] = _mm256_permute2x128_si256(y[0], y[2], 0x20);
	v[1] = _mm256_permute2x128_si256(y[0], y[2], 0x31);
	v[2] = _mm256_permute2x128_si256(y[1], y[3], 0x20);
	v[3] = _mm256_permute2x128_si256(y[1], y[3], 0x31);
}

/* The output stage's operands of channels cb..cb+n (natural order, eight a
 * vector; with two n is 16, twice) moved to accumulator order. */
DNNQ_AVX2_INLINE void acc_cols(const struct dnnq_gemm_job *job, size_t cb, size_t n,
                               const bool two, struct dnnq_avx2_cols cols[4])
{
	struct dnnq_avx2_cols nat[4];
	for (size_t g = 0; g < 4; g++) {   /* no lane past n: none, from a channel that exists */
		size_t o = two ? 8 * (g % 2) : 8 * g;
		dnnq_avx2_cols(job, n > o ? cb + o : cb, n > o ? (n - o < 8 ? n - o : 8) : 0, &nat[g]);
	}
#define DW_PERMUTE(f)                                                        \
	do {                                                                 \
		__m256i y[4] = { nat[0].f, nat[1].f, nat[2].f, nat[3].f }, v[4]; \
		to_acc_order(y, v);                                          \
		for (int r = 0; r < 4; r++)                                  \
			cols[r].f = v[r];                                    \
	} while (0)
	DW_PERMUTE(col);
	DW_PERMUTE(zw);
	DW_PERMUTE(mult);
	DW_PERMUTE(shift);
	DW_PERMUTE(zp);
	DW_PERMUTE(lo);
	DW_PERMUTE(hi);
#undef DW_PERMUTE
}

/* Output pixel i's n channels from cb: the four finished vectors q, zp16
 * the zero point in int16 lanes where added after the first pack
 * (dnnq_avx2_zp_after_pack), else 0. With two (u8 kinds, n 16) the high
 * half is pixel i + 1's, stored where next. */
DNNQ_AVX2_INLINE void store_block(const enum dnnq_avx2_kind kind, const __m256i q[4],
                                  __m256i zp16, size_t i, size_t cb, size_t n, const bool two,
                                  bool next, const struct dnnq_gemm_job *job)
{
	const size_t at = i * job->ldc + cb;
	if (!dnnq_avx2_kind_u8(kind)) {
		__m256i y[4];
		to_channel_order(q, y);
		for (size_t v = 0; v * 8 < n; v++)
			dnnq_avx2_store_i32((int32_t *)job->c + at + v * 8, y[v],
			                    n - v * 8 < 8 ? n - v * 8 : 8);
		return;
	}
	/* u8 values in int32 lanes: packed, the lanes in channel order again */
	__m256i b = _mm256_packus_epi16(_mm256_adds_epi16(_mm256_packs_epi32(q[0], q[1]), zp16),
	                                _mm256_adds_epi16(_mm256_packs_epi32(q[2], q[3]), zp16));
	uint8_t *dst = (uint8_t *)job->c + at;
	if (two) {
		_mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(b));
		if (next)
			_mm_storeu_si128((__m128i *)(dst + job->ldc), _mm256_extracti128_si256(b, 1));
	} else if (n == 32) {
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
 * 32, or fewer in the last block; with two 16 channels of two pixels a
 * step, the block's weights packed twice). */
DNNQ_AVX2_INLINE void row_block(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                const struct dnnq_dw_taps *tt, size_t np, const uint8_t *blk,
                                size_t cb, size_t n, const bool two, const bool xs,
                                const struct dnnq_gemm_job *job, size_t i0)
{
	const bool odd = c->d.kh * c->d.kw % 2;
	struct dnnq_avx2_cols cols[4];
	__m256i start[4];   /* the sign trick's constant and the column term */
	acc_cols(job, cb, n, two, cols);
	__m256i zp16 = _mm256_setzero_si256();
	if (dnnq_avx2_zp_after_pack(kind))
		zp16 = _mm256_set1_epi16((int16_t)job->out->rq.zero_point);
#pragma GCC unroll 4
	for (size_t r = 0; r < 4; r++) {
		start[r] = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)blk + r),
		                            cols[r].col);
		if (dnnq_avx2_zp_after_pack(kind))
			cols[r].zp = _mm256_setzero_si256();
	}
	for (size_t ox = 0; ox < c->ow; ox += two ? 2 : 1) {
		__m256i s[4], x[4], q[4];
		struct dw_px px;
		px.tab[0] = dnnq_dw_pixel(tt, ox, &px.off[0]);
		bool next = two && ox + 1 < c->ow;   /* else the high half pixel ox again */
		px.tab[1] = px.tab[0];
		px.off[1] = px.off[0];
		if (next)
			px.tab[1] = dnnq_dw_pixel(tt, ox + 1, &px.off[1]);
		block32(&px, np, odd, blk, cb, n, two, xs, start, s, x);
#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
			q[r] = dnnq_avx2_finish_as(kind, &cols[r], s[r], x[r], job->out);
		store_block(kind, q, zp16, i0 + ox, cb, n, two, next, job);
	}
}

/* A last block of 8, 16 or 24 channels (mobilenet_v3_small's 16, 72, 88,
 * 120, 144, 240; MobileNetV2's 144), the count a constant: loads of 8 or
 * 16 bytes or with a constant mask, and 3x3's pairs unrolled; 16 channels
 * of u8 outputs two pixels a step. */
#define DW_PARTIAL(N)                                                                  \
	case N: {                                                                      \
		const bool two = N == 16 && dnnq_avx2_kind_u8(kind);                   \
		if (np == DW_PAIRS_3X3)                                                \
			row_block(kind, c, tt, DW_PAIRS_3X3, blk, cb, N, two, false, job, i0); \
		else                                                                   \
			row_block(kind, c, tt, np, blk, cb, N, two, false, job, i0);   \
		break;                                                                 \
	}

DNNQ_AVX2_INLINE void partial_block(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                    const struct dnnq_dw_taps *tt, size_t np,
                                    const uint8_t *blk, size_t cb, size_t n,
                                    const struct dnnq_gemm_job *job, size_t i0)
{
	switch (n) {
	DW_PARTIAL(8) DW_PARTIAL(16) DW_PARTIAL(24)
	}
}
#undef DW_PARTIAL

/* The row's blocks of channels [c0, c1) (kind: the output stage's). */
DNNQ_AVX2_INLINE void row_blocks(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                 const struct dnnq_dw_taps *tt, size_t c0, size_t c1,
                                 const struct dnnq_gemm_job *job, size_t i0)
{
	const struct dnnq_gemm_output *out = job->out;
	const size_t taps = c->d.kh * c->d.kw, np = (taps + 1) / 2;
	const size_t bb = dw_block_bytes(taps);
	for (size_t cb = c0; cb < c1; cb += 32) {
		const uint8_t *blk = (const uint8_t *)c->dw_w + cb / 32 * bb;
		/* constant arguments for the common blocks: no test in the loops,
		 * and 3x3's tap pairs unrolled */
		if (c1 - cb < 32 && (c1 - cb) % 8 == 0 && !out->nwzp)
			partial_block(kind, c, tt, np, blk, cb, c1 - cb, job, i0);
		else if (c1 - cb < 32)
			row_block(kind, c, tt, np, blk, cb, c1 - cb, false, out->nwzp != 0, job, i0);
		else if (np == DW_PAIRS_3X3 && !out->nwzp)
			row_block(kind, c, tt, DW_PAIRS_3X3, blk, cb, 32, false, false, job, i0);
		else if (out->nwzp)
			row_block(kind, c, tt, np, blk, cb, 32, false, true, job, i0);
		else
			row_block(kind, c, tt, np, blk, cb, 32, false, false, job, i0);
	}
}

void dnnq_dw_row_avx2(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0, size_t c1,
                      void *scratch)
{
	const size_t taps = c->d.kh * c->d.kw, np = (taps + 1) / 2;
	const size_t i0 = (img * c->oh + oy) * c->ow;
	const struct dnnq_dw_taps tt = dnnq_dw_tap_table(c, img, oy, 2 * np, scratch);
	/* a local copy: the output stores cannot change it, so its loads and
	 * broadcasts leave the loops */
	const struct dnnq_gemm_output out = c->gout[0];
	struct dnnq_gemm_job job = dnnq_dw_job(c);
	job.out = &out;
	/* the stores pack with saturation (store_block) */
	enum dnnq_avx2_kind kind = dnnq_avx2_packed_kind_of(&out, c0, c1);
	if (kind == DNNQ_AVX2_U8_FLOAT_FULL)
		row_blocks(DNNQ_AVX2_U8_FLOAT_FULL, c, &tt, c0, c1, &job, i0);
	else
		row_blocks(kind, c, &tt, c0, c1, &job, i0);
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

/* The m im2col rows a (k bytes each, contiguous) zero-extended into a16,
 * one more 0 after them: pair q of row r is the int32 at a16 + r * k + 2q
 * (an odd k's last byte is paired with the next row's first or that 0,
 * against the pair's weight 0). */
static void widen_rows(const uint8_t *a, size_t n, int16_t *a16)
{
	size_t t = 0;
	for (; t + 16 <= n; t += 16)
		_mm256_storeu_si256((__m256i *)(a16 + t),
		                    _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a + t))));
	for (; t < n; t++)
		a16[t] = a[t];
	a16[n] = 0;
}

DNNQ_AVX2_INLINE void pairs_store(const enum dnnq_avx2_kind kind, const int mr,
                                  const __m256i s[PAIRS_MR][2], size_t i,
                                  const struct dnnq_avx2_cols cols[2], size_t halves,
                                  const int32_t *rowsum, const struct dnnq_gemm_job *job)
{
	int r = 0;
#pragma GCC unroll 3
	for (; r + 1 < mr; r += 2)
		dnnq_avx2_store_panel2(kind, cols, halves, s[r], s[r + 1], i + r,
		                       _mm256_set1_epi32(rowsum[r]), _mm256_set1_epi32(rowsum[r + 1]),
		                       job);
	if (r < mr)
		dnnq_avx2_store_panel(kind, cols, halves, s[r], i + r, _mm256_set1_epi32(rowsum[r]),
		                      job);
}

#define PAIRS_CASE(MR)                                                                   \
	case MR:                                                                         \
		pairs_rows(MR, false, a16 + i * c->k, c->k, (c->k + 1) / 2, w, cpad * 2, start, s); \
		pairs_store(kind, MR, s, i, cols, halves, rowsum + i, job);                  \
		break;

/* Columns [j0, j1) of the m rows in a16 (kind: the output stage's). */
DNNQ_AVX2_INLINE void pairs_panels(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                   const struct dnnq_gemm_job *job, const int16_t *a16,
                                   const int32_t *rowsum, size_t j0, size_t j1)
{
	const size_t cpad = (c->d.cout + 15) & ~(size_t)15, m = job->m;
	for (size_t jp = j0; jp < j1; jp += 16) {
		const int16_t *w = c->pairs + jp * 2;
		size_t width = j1 - jp < 16 ? j1 - jp : 16;
		struct dnnq_avx2_cols cols[2];
		size_t halves = dnnq_avx2_cols_panel(job, jp, width, cols);
		const __m256i start[2] = { cols[0].col, cols[1].col };
		for (size_t i = 0; i < m; i += PAIRS_MR) {
			__m256i s[PAIRS_MR][2];
			switch (m - i < PAIRS_MR ? m - i : PAIRS_MR) {
			PAIRS_CASE(1) PAIRS_CASE(2) PAIRS_CASE(3) PAIRS_CASE(4) PAIRS_CASE(5)
			PAIRS_CASE(6)
			}
		}
	}
}

void dnnq_conv_pairs_avx2(const struct dnnq_conv *c, size_t m, const uint8_t *a, int16_t *a16,
                          void *y, size_t j0, size_t j1)
{
	/* a local copy, as in dnnq_dw_row_avx2 */
	const struct dnnq_gemm_output out = c->gout[0];
	const struct dnnq_gemm_job job = { .w = &c->gw[0], .m = m, .a = a, .lda = c->k, .c = y,
	                                   .ldc = c->d.cout, .out = &out };
	int32_t rowsum[DNNQ_GEMM_MC];
	memset(rowsum, 0, m * sizeof *rowsum);   /* not all MC rows (a rep stos) */
	if (out.nwzp)
		dnnq_gemm_scan_avx2(a, c->k, m, c->k, NULL, rowsum);
	widen_rows(a, m * c->k, a16);
	/* the stores pack with saturation (dnnq_avx2_store_panel) */
	enum dnnq_avx2_kind kind = dnnq_avx2_packed_kind_of(&out, j0, j1);
	if (kind == DNNQ_AVX2_U8_FLOAT_FULL)
		pairs_panels(DNNQ_AVX2_U8_FLOAT_FULL, c, &job, a16, rowsum, j0, j1);
	else
		pairs_panels(kind, c, &job, a16, rowsum, j0, j1);
}

/* 128 times column j's weight sum (OHWI: 9 * cin a column). */
static int32_t wino_sum128(const int8_t *w, size_t j, size_t cin)
{
	int32_t s = 0;
	for (size_t i = 0; i < 9 * cin; i++)
		s += w[j * 9 * cin + i];
	return 128 * s;
}

size_t dnnq_wino_pack_avx2(const int8_t *w, size_t cout, size_t cin, int16_t *dst)
{
	/* G' = diag(4, 6, 6, 24, 24, 1) G: integers (the divisors go to A,
	 * wino_output) */
	static const int g[6][3] = { { 1, 0, 0 }, { -1, -1, -1 }, { -1, 1, -1 },
	                             { 1, 2, 4 }, { 1, -2, 4 }, { 0, 0, 1 } };
	const size_t n = WINO_N, np = WINO_P;
	size_t per = wino_per(cout, cin), nq = (cin + 1) / 2, npad = (cout + 15) & ~(size_t)15;
	size_t bytes = np * per * sizeof *dst + npad * sizeof(int32_t);
	if (!dst)
		return bytes;
	memset(dst, 0, bytes);
	int32_t *sum128 = (int32_t *)(void *)(dst + np * per);
	for (size_t j = 0; j < cout; j++)
		for (size_t ci = 0; ci < cin; ci++) {
			const int8_t *k = w + j * 9 * cin + ci;   /* tap (ky, kx) at (ky * 3 + kx) * cin */
			int t[6][3];
			for (size_t i = 0; i < n; i++)
				for (int kx = 0; kx < 3; kx++) {
					t[i][kx] = 0;
					for (int ky = 0; ky < 3; ky++)
						t[i][kx] += g[i][ky] * k[(size_t)(ky * 3 + kx) * cin];
				}
			for (size_t i = 0; i < n; i++)
				for (size_t jj = 0; jj < n; jj++) {
					int u = 0;
					for (int kx = 0; kx < 3; kx++)
						u += t[i][kx] * g[jj][kx];
					dst[((j / 16 * np + i * n + jj) * nq + ci / 2) * 32 + j % 16 * 2 +
					    ci % 2] = (int16_t)u;
				}
		}
	for (size_t j = 0; j < cout; j++)
		sum128[j] = wino_sum128(w, j, cin);
	return bytes;
}

size_t dnnq_wino_fly_pack_avx2(const int8_t *w, size_t cout, size_t cin, int8_t *dst)
{
	size_t npad = (cout + 15) & ~(size_t)15, pb = wino_fly_panel_bytes(cin);
	size_t bytes = npad / 16 * pb + npad * sizeof(int32_t);
	if (!dst)
		return bytes;
	memset(dst, 0, bytes);
	int32_t *sum128 = (int32_t *)(void *)(dst + npad / 16 * pb);
	for (size_t j = 0; j < cout; j++) {
		for (size_t tap = 0; tap < 9; tap++)
			for (size_t ci = 0; ci < cin; ci++)
				dst[j / 16 * pb + (ci / 2 * 9 + tap) * 32 + j % 16 * 2 + ci % 2] =
					w[(j * 9 + tap) * cin + ci];
		sum128[j] = wino_sum128(w, j, cin);
	}
	return bytes;
}

size_t dnnq_wino_block_tiles(const struct dnnq_conv *c)
{
	size_t cin = c->d.cin, budget = DNNQ_WINO_BLOCK_BYTES, tile = 0;
	if (c->wino_fly) {   /* U shares L2 with the block */
		budget -= WINO_FLY_U_BYTES;
		tile = WINO_FLY_S_BYTES;
	}
	size_t t = budget / (wino_v_bytes(1, cin) + WINO_P * 16 * sizeof(int32_t) + tile);
	t = t < DNNQ_WINO_TILES ? t : DNNQ_WINO_TILES;
	return t < 4 ? 4 : t & ~(size_t)3;
}

size_t dnnq_wino_scratch_bytes(const struct dnnq_conv *c)
{
	size_t tiles = dnnq_wino_block_tiles(c);
	size_t bytes = wino_v_bytes(tiles, c->d.cin) + tiles * WINO_P * 16 * sizeof(int32_t);
	if (c->wino_fly)
		bytes += WINO_FLY_U_BYTES + tiles * WINO_FLY_S_BYTES;
	return bytes;
}

/* The sums of mr <= 4 tiles (WINO_DOT): dnnq_pairs_dot. */
DNNQ_AVX2_INLINE void wino_dot(const int mr, const bool pf, const int16_t *v, size_t cin, size_t nq,
                               const int16_t *w, int32_t *m, size_t ms)
{
	dnnq_pairs_dot(mr, pf, v, cin, nq, w, m, ms);
}
WINO_DOT(wino_dot, 1) WINO_DOT(wino_dot, 2) WINO_DOT(wino_dot, 3) WINO_DOT(wino_dot, 4)

/* 4 tiles a step, the first prefetching with pf. */
static void wino_position(bool pf, size_t tiles, const int16_t *v, size_t cin, size_t nq,
                          const int16_t *w, int32_t *m, size_t ms)
{
	for (size_t t = 0; t < tiles; t += 4) {
		switch (tiles - t < 4 ? tiles - t : 4) {
		WINO_CASE(wino_dot, 1) WINO_CASE(wino_dot, 2) WINO_CASE(wino_dot, 3)
		WINO_CASE(wino_dot, 4)
		}
	}
}

void dnnq_wino_avx2(const struct dnnq_conv *c, size_t img, size_t t0, size_t t1, size_t j0,
                    size_t j1, void *scratch)
{
	if (c->wino_fly)
		wino_block(true, c, img, t0, t1 - t0, j0, j1, scratch);
	else
		wino_block(false, c, img, t0, t1 - t0, j0, j1, scratch);
}
