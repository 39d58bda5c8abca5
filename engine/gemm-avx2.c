/*
 * AVX2 GEMM: packing, the 4 x 16 micro-kernel (gemm_4x16c4__avx2, the GEMM
 * kernel of DNNQ_ISA_AVX2's table, engine/kernels.c) and the fused output stage.
 *
 * Weight panel layout: 16 columns (the last panel of a matrix may be
 * narrower); for each group of 4 k, 4 bytes per column: W[j][4g..4g+3].
 * A micro-tile step broadcasts 4 activation bytes of a row and multiplies
 * them with the panel row, 8 columns (a half) at a time: vpmaddubsw (u8 x
 * s8, pairs summed to 16 bits), vpmaddwd with ones (to 32 bits, 4 k
 * summed), vpaddd. 4 rows x 16 columns = 8 accumulators; a half at a time
 * keeps the weight registers to two (w or |w|, key), with the ones, a
 * broadcast and a product: 13 of the 16 ymm, no spill.
 *
 * Saturation: vpmaddubsw sums its pairs into int16 with saturation, and
 * 255 * 127 * 2 does not fit; real per-channel weights reach +-127 in most
 * pairs. Row blocks whose bytes are all <= 127, or weights whose pairs are
 * all safe (|w0| + |w1| <= 128, gemm.h), take a * w directly. The other
 * blocks take the sign trick in every tile (block_big): the unsigned
 * operand is |w| (0..128) and the signed one a ^ key, key = 0x80 where
 * w >= 0 (a - 128) and 0x7f where w < 0 (~(a - 128), which stands for
 * -(a - 128) - 1 and, unlike the negation, exists for every a).
 * |w| * (a ^ key) = w * (a - 128), plus w where w < 0; a pair sum lies
 * in [-32768, 32512]: nothing saturates, for any weights (-128 too) and
 * activations. The sums lack 128 * sum(w) minus the
 * sum of the negative weights (sign_fix, per column, at pack time): the
 * accumulators start at it, and the result is the exact product, in one
 * pass (it used to take two, on a & 0x7f and a & 0x80). |w| and the key
 * (vpabsb, and one vpblendvb on w's sign bits) are derived from the panel
 * row once per half and step, for all the tile's rows, then one vpxor per
 * row and half: the panels stay W itself. Keys packed beside the weights
 * (tried) saved those instructions but doubled the bytes every inference
 * streams: 1 x 1000 x 1280 ran 2x slower, large tiles 5-18 % slower, not
 * faster; derived once per row block into an L1 buffer for K <= 256
 * (tried on Zen 4), 12-16 % slower with K = 16..32; an 8-row tile sharing
 * them (tried) was no faster (docs/gemm.md). With K < 64 (MobileNet's
 * small 1x1 layers, whose weights are a few KB) they are packed after the
 * panels (gemm.h, sign_off) and the full tiles load them: on Zen 5
 * 0.86-0.90x the time of those GEMMs (step_signed).
 *
 * Direct groups: a pair saturates only when its positive weights sum past
 * 128 or its negative ones past -128, so with K >= 64 the packer stores
 * each panel's groups by which halves are safe (gemm.h: group_off,
 * group_ends), and a sign tile takes the direct product on every safe
 * half of a group; sign_fix covers only the rest. Pairs of those groups
 * whose int16 lanes cannot leave int16 when added (in both halves or in
 * one) go first: their two vpmaddubsw products added by vpaddw before one
 * vpmaddwd, 3 multiplies per 64 multiply-adds instead of 4 (step2).
 */
#include <immintrin.h>
#include <string.h>

#include "engine/gemm-avx2.h"
#include "engine/gemm-kernels.h"

#define INLINE static inline __attribute__((always_inline))

int dnnq_gemm_pack_avx2(const int8_t *w, size_t n, size_t k, size_t ldw,
                        const uint16_t *group_off, int8_t *dst)
{
	size_t kg = (k + 3) / 4, kfull = k / 4;
	for (size_t j0 = 0; j0 < n; j0 += DNNQ_GEMM_NR) {
		size_t width = n - j0 < DNNQ_GEMM_NR ? n - j0 : DNNQ_GEMM_NR;
		int8_t *panel = dst + dnnq_gemm_panel_bytes(j0, k);
		const uint16_t *off = group_off ? group_off + j0 / DNNQ_GEMM_NR * kfull : NULL;
		for (size_t g = 0; g < kg; g++) {
			size_t k0 = off && g < kfull ? off[g] : 4 * g;
			for (size_t c = 0; c < width; c++) {
				const int8_t *src = w + (j0 + c) * ldw + k0;
				int8_t *d = panel + (g * width + c) * 4;
				for (size_t t = 0; t < 4; t++)
					d[t] = k0 + t < k ? src[t] : 0;
			}
		}
	}
	return DNNQ_OK;
}

void dnnq_gemm_pack_sign_avx2(int8_t *data, size_t n, size_t k)
{
	size_t bytes = dnnq_gemm_panel_bytes(n, k);
	int8_t *dst = data + bytes;
	/* a panel's groups are 4 * width bytes each, in both places */
	for (size_t j0 = 0; j0 < n; j0 += DNNQ_GEMM_NR) {
		size_t width = n - j0 < DNNQ_GEMM_NR ? n - j0 : DNNQ_GEMM_NR, row = 4 * width;
		const int8_t *src = data + dnnq_gemm_panel_bytes(j0, k);
		int8_t *d = dst + 2 * dnnq_gemm_panel_bytes(j0, k);
		for (size_t g = 0; g < (k + 3) / 4; g++, src += row, d += 2 * row)
			for (size_t t = 0; t < row; t++) {
				/* |-128| is 0x80, 128 as the kernel's unsigned operand */
				d[t] = (int8_t)(src[t] < 0 ? -src[t] : src[t]);
				d[row + t] = (int8_t)(src[t] < 0 ? 0x7f : 0x80);
			}
	}
}

/* One half (8 columns, h) of a panel row for mr rows: acc[r][h] +=
 * A[r][4g..4g+3] . those columns' w; sign: by the sign trick, |w| times
 * a ^ key (else w times a directly: rows without a byte above 127, or
 * weights whose pairs cannot saturate); bv is w (derive: |w| and the key
 * made here), or |w| with its key. */
INLINE void half(const int mr, const bool sign, const bool derive,
                 const uint8_t *const ar[DNNQ_GEMM_MR], size_t koff, size_t nb, __m256i bv,
                 __m256i key, const int h, __m256i acc[DNNQ_GEMM_MR][2])
{
	const __m256i ones = _mm256_set1_epi16(1);
	if (sign && derive) {
		/* by w's sign bit: one vpblendvb (vpcmpgtb and vpxor were two);
		 * here, a half at a time (both halves' operands derived first
		 * kept an accumulator of the K >= 64 sign loops on the stack) */
		key = _mm256_blendv_epi8(_mm256_set1_epi8((char)0x80), _mm256_set1_epi8(0x7f), bv);
		bv = _mm256_abs_epi8(bv);
	}
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		__m256i av = _mm256_set1_epi32(dnnq_load4(ar[r] + koff, nb));
		__m256i p = sign ? _mm256_maddubs_epi16(bv, _mm256_xor_si256(av, key))
		                 : _mm256_maddubs_epi16(av, bv);
		acc[r][h] = _mm256_add_epi32(acc[r][h], _mm256_madd_epi16(p, ones));
	}
}

/* One group of 4 k for mr rows: both halves of the panel row (the first
 * only when a partial panel has no second: its sums would be of zeros),
 * each by the sign trick or not (sign0, sign1). */
INLINE void step(const int mr, const bool partial, const bool second, const bool sign0,
                 const bool sign1, const uint8_t *const ar[DNNQ_GEMM_MR], size_t koff,
                 size_t nb, const int8_t *b, __m256i m0, __m256i m1,
                 __m256i acc[DNNQ_GEMM_MR][2])
{
	const __m256i none = _mm256_setzero_si256();
	__m256i b0, b1;
	dnnq_avx2_panel_row(partial, b, m0, m1, &b0, &b1);
	half(mr, sign0, true, ar, koff, nb, b0, none, 0, acc);
	if (!partial || second)
		half(mr, sign1, true, ar, koff, nb, b1, none, 1, acc);
}

/* The same for a group all by the sign trick, |w| and the keys loaded
 * from the panel's sign rows at s (gstride bytes each: struct
 * dnnq_gemm_weights, sign_off): two loads more a step, and no vpabsb nor
 * vpblendvb on the multipliers' pipes (12544 x 16 x 96 0.86x the time,
 * docs/gemm.md). */
INLINE void step_signed(const int mr, const bool partial, const bool second,
                        const uint8_t *const ar[DNNQ_GEMM_MR], size_t koff, size_t nb,
                        const int8_t *s, size_t gstride, __m256i m0, __m256i m1,
                        __m256i acc[DNNQ_GEMM_MR][2])
{
	__m256i b0, b1, k0, k1;
	dnnq_avx2_panel_row(partial, s, m0, m1, &b0, &b1);
	dnnq_avx2_panel_row(partial, s + gstride, m0, m1, &k0, &k1);
	half(mr, true, false, ar, koff, nb, b0, k0, 0, acc);
	if (!partial || second)
		half(mr, true, false, ar, koff, nb, b1, k1, 1, acc);
}

/* How a half of a pair step multiplies its two groups (gemm.h,
 * group_ends): P their vpmaddubsw products added by vpaddw before one
 * vpmaddwd (3 multiplies per 64 multiply-adds of a row, not 4; the packer
 * pairs only groups whose int16 lanes no u8 activation can take out of
 * int16, gemm.c pair_groups), D each direct. */
enum { MODE_P, MODE_D };

/* acc + the products p0, p1 of a half's two groups, by mode */
INLINE __m256i pair_sum(const int mode, __m256i acc, __m256i p0, __m256i p1)
{
	const __m256i ones = _mm256_set1_epi16(1);
	if (mode == MODE_P)
		return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones));
	acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p0, ones));
	return _mm256_add_epi32(acc, _mm256_madd_epi16(p1, ones));
}

/* vpmaddubsw of a (u8) with the 32 weight bytes at p as its memory
 * operand. With the intrinsics GCC loaded a pair step's four panel rows
 * into registers and, with 8 accumulators, kept 3 of them on the stack. */
INLINE __m256i maddubs_mem(__m256i a, const int8_t *p)
{
	__m256i v;
	__asm__("vpmaddubsw %2, %1, %0" : "=x"(v) : "x"(a), "m"(*(const __m256i *)p));
	return v;
}

/* The 4 bytes at p broadcast, half h's own: one `vpbroadcastd` that GCC
 * does not share between the halves of a step (the operand h tells the
 * two apart); sharing them spilled accumulators too. */
#define BCAST4_HALF(p, h) ({                                                        \
	__m256i v_;                                                                  \
	__asm__("vpbroadcastd %1, %0" : "=x"(v_) : "m"(*(const uint32_t *)(p)), "i"(h)); \
	v_;                                                                          \
})

/* Two groups of 4 k for mr rows (koff0 with the panel row b, koff1 with the
 * next one, gstride bytes on), each half by its mode (mode0, mode1): a
 * full panel with a row's two broadcasts for both halves and the weights
 * as memory operands (13 registers), a partial one a half at a time with
 * its masked rows in registers. */
INLINE void step2(const int mr, const bool partial, const bool second, const int mode0,
                  const int mode1, const uint8_t *const ar[DNNQ_GEMM_MR], size_t koff0,
                  size_t koff1, const int8_t *b, size_t gstride, __m256i m0, __m256i m1,
                  __m256i acc[DNNQ_GEMM_MR][2])
{
	if (!partial) {
#pragma GCC unroll 4
		for (int r = 0; r < mr; r++) {
			__m256i a0 = _mm256_set1_epi32(dnnq_load4(ar[r] + koff0, 4));
			__m256i a1 = _mm256_set1_epi32(dnnq_load4(ar[r] + koff1, 4));
			acc[r][0] = pair_sum(mode0, acc[r][0], maddubs_mem(a0, b),
			                     maddubs_mem(a1, b + gstride));
			acc[r][1] = pair_sum(mode1, acc[r][1], maddubs_mem(a0, b + 32),
			                     maddubs_mem(a1, b + gstride + 32));
		}
		return;
	}
	__m256i bv[2][2];
	dnnq_avx2_panel_row(true, b, m0, m1, &bv[0][0], &bv[0][1]);
	dnnq_avx2_panel_row(true, b + gstride, m0, m1, &bv[1][0], &bv[1][1]);
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		__m256i a0 = BCAST4_HALF(ar[r] + koff0, 0), a1 = BCAST4_HALF(ar[r] + koff1, 0);
		acc[r][0] = pair_sum(mode0, acc[r][0], _mm256_maddubs_epi16(a0, bv[0][0]),
		                     _mm256_maddubs_epi16(a1, bv[1][0]));
	}
	if (!second)
		return;
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		__m256i a0 = BCAST4_HALF(ar[r] + koff0, 1), a1 = BCAST4_HALF(ar[r] + koff1, 1);
		acc[r][1] = pair_sum(mode1, acc[r][1], _mm256_maddubs_epi16(a0, bv[0][1]),
		                     _mm256_maddubs_epi16(a1, bv[1][1]));
	}
}

/* A panel's group order (struct dnnq_gemm_weights: group_off,
 * group_ends). */
struct order {
	const uint16_t *off, *end;
};

/*
 * acc[r][h] += sum over k of A[r][k] * W[j0 + 8h + lane][k] for mr rows
 * (sign: minus the columns' sign_fix, each half's unsafe groups by the
 * sign trick; signed_rows: all of them, b the panel's sign rows).
 * partial: the panel has `width` < 16 columns (masked weight loads).
 */
INLINE void kernel(const int mr, const bool partial, const bool sign, const bool signed_rows,
                   const uint8_t *a, size_t lda, const int8_t *b, size_t width, size_t k,
                   struct order o, __m256i acc[DNNQ_GEMM_MR][2])
{
	const __m256i m0 = dnnq_avx2_lane_mask(width < 8 ? width : 8);
	const __m256i m1 = dnnq_avx2_lane_mask(width > 8 ? width - 8 : 0);
	const size_t gstride = 4 * width, kfull = k / 4;
	const bool second = width > 8;
	const uint8_t *ar[DNNQ_GEMM_MR];
	/* a private copy: `acc` lives in memory that the byte pointers a and b
	 * may alias as far as the compiler knows, so it would be stored back
	 * every step; this one never has its address taken: registers */
	__m256i c[DNNQ_GEMM_MR][2];
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		ar[r] = a + r * lda;
		c[r][0] = acc[r][0];
		c[r][1] = acc[r][1];
	}
	size_t g = 0;
	if (signed_rows) {
		/* K < 64: one class, in k order; b the panel's sign rows */
		for (; g < kfull; g++, b += 2 * gstride)
			step_signed(mr, partial, second, ar, 4 * g, 4, b, gstride, m0, m1, c);
		if (k % 4)
			step_signed(mr, partial, second, ar, 4 * kfull, k % 4, b, gstride, m0, m1, c);
		goto out;
	}
	/* the classes of group_ends (gemm.c): pairs, then single groups */
	for (; g < o.end[0]; g += 2, b += 2 * gstride)
		step2(mr, partial, second, MODE_P, MODE_P, ar, o.off[g], o.off[g + 1], b, gstride,
		      m0, m1, c);
	for (; g < o.end[1]; g += 2, b += 2 * gstride)
		step2(mr, partial, second, MODE_P, MODE_D, ar, o.off[g], o.off[g + 1], b, gstride,
		      m0, m1, c);
	for (; g < o.end[2]; g += 2, b += 2 * gstride)
		step2(mr, partial, second, MODE_D, MODE_P, ar, o.off[g], o.off[g + 1], b, gstride,
		      m0, m1, c);
	for (; g < (sign ? o.end[3] : kfull); g++, b += gstride)
		step(mr, partial, second, false, false, ar, o.off[g], 4, b, m0, m1, c);
	if (sign) {
		/* each half direct where it is safe */
		for (; g < o.end[4]; g++, b += gstride)
			step(mr, partial, second, false, true, ar, o.off[g], 4, b, m0, m1, c);
		for (; g < o.end[5]; g++, b += gstride)
			step(mr, partial, second, true, false, ar, o.off[g], 4, b, m0, m1, c);
		for (; g < kfull; g++, b += gstride)
			step(mr, partial, second, true, true, ar, o.off[g], 4, b, m0, m1, c);
	}
	if (k % 4)
		step(mr, partial, second, sign, sign, ar, 4 * kfull, k % 4, b, m0, m1, c);
out:
#pragma GCC unroll 4
	for (int r = 0; r < mr; r++) {
		acc[r][0] = c[r][0];
		acc[r][1] = c[r][1];
	}
}

/* One micro-tile's raw sums (with sign: less sign_fix). */
#define TILE_CASE(MR)                                                                  \
	case MR:                                                                       \
		if (full && sign)                                                      \
			kernel(MR, false, true, false, a, lda, b, width, k, o, acc);             \
		else if (full)                                                         \
			kernel(MR, false, false, false, a, lda, b, width, k, o, acc);            \
		else if (sign)                                                         \
			kernel(MR, true, true, false, a, lda, b, width, k, o, acc);              \
		else                                                                   \
			kernel(MR, true, false, false, a, lda, b, width, k, o, acc);             \
		break;

static void tile(int mr, bool sign, const uint8_t *a, size_t lda, const int8_t *b,
                 size_t width, size_t k, struct order o, __m256i acc[DNNQ_GEMM_MR][2])
{
	const bool full = width == DNNQ_GEMM_NR;
	switch (mr) {
	TILE_CASE(1)
	TILE_CASE(2)
	TILE_CASE(3)
	TILE_CASE(4)
	}
}

/* The n < 32 bytes at p OR-ed into one vector, whose bytes' high bits
 * are all clear iff none of them exceeds 127: two overlapping loads of 16,
 * 8 or 4 bytes, fewer than 4 one by one (the 1x1 convolutions of K = 16 or
 * 24 spend most of the scan here). */
static inline __m128i tail_or(const uint8_t *p, size_t n)
{
	if (n >= 16)
		return _mm_or_si128(_mm_loadu_si128((const __m128i *)p),
		                    _mm_loadu_si128((const __m128i *)(p + n - 16)));
	uint64_t v = 0, u = 0;
	if (n >= 8) {
		memcpy(&v, p, 8);
		memcpy(&u, p + n - 8, 8);
	} else if (n >= 4) {
		uint32_t x, y;
		memcpy(&x, p, 4);
		memcpy(&y, p + n - 4, 4);
		v = x | y;
	} else {
		for (size_t t = 0; t < n; t++)
			v |= p[t];
	}
	return _mm_cvtsi64_si128((int64_t)(v | u));
}

/* Per row, with sum its byte sum (gemm-kernels.h), with big whether a byte
 * of the rows exceeds 127, in one pass. */
void dnnq_gemm_scan_avx2(const uint8_t *a, size_t lda, size_t rows, size_t k, bool *big,
                         int32_t *sum)
{
	if (big)
		*big = false;
	for (size_t r = 0; r < rows; r++) {
		const uint8_t *p = a + r * lda;
		__m256i orv = _mm256_setzero_si256(), s = _mm256_setzero_si256();
		size_t t = 0;
		for (; t + 32 <= k; t += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(p + t));
			orv = _mm256_or_si256(orv, v);
			s = _mm256_add_epi64(s, _mm256_sad_epu8(v, _mm256_setzero_si256()));
		}
		if (big)
			*big |= _mm256_movemask_epi8(orv) ||
			        (t < k && _mm_movemask_epi8(tail_or(p + t, k - t)));
		if (!sum)
			continue;
		int64_t total = _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) +
		                _mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3);
		for (; t < k; t++)
			total += p[t];
		sum[r] = (int32_t)total;
	}
}

/* Whether a block's tiles take the sign trick, without the row sums:
 * whether one of its rows has a byte above 127. A tile's rows (a short
 * tile's last one again) are OR-ed together 32 bytes at a time, one test
 * a tile and step, the scan stopping at the first 32 bytes with such a
 * byte (a test a row branched on the data: a mispredicted branch most
 * tiles of a ReLU6 input, 17 % of 12544 x 32 x 16). The whole block takes
 * the trick if one tile needs it: with a flag a tile, a block of tiles
 * some direct and some not mispredicted the branch between the two (and
 * scanned every tile), MobileNetV2's AVX2 GEMMs 0.97x the time without
 * it, features.1's 12544 x 32 x 16 chain 0.88x (docs/gemm.md). */
static bool block_big(const uint8_t *a, size_t lda, size_t rows, size_t k)
{
	for (size_t r0 = 0; r0 < rows; r0 += DNNQ_GEMM_MR) {
		const uint8_t *p[DNNQ_GEMM_MR];
		for (size_t r = 0; r < DNNQ_GEMM_MR; r++)
			p[r] = a + (r0 + r < rows ? r0 + r : rows - 1) * lda;
		size_t t = 0;
		for (; t + 32 <= k; t += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(p[0] + t));
			for (size_t r = 1; r < DNNQ_GEMM_MR; r++)
				v = _mm256_or_si256(v, _mm256_loadu_si256((const __m256i *)(p[r] + t)));
			if (_mm256_movemask_epi8(v))
				return true;
		}
		if (t < k) {
			__m128i v = tail_or(p[0] + t, k - t);
			for (size_t r = 1; r < DNNQ_GEMM_MR; r++)
				v = _mm_or_si128(v, tail_or(p[r] + t, k - t));
			if (_mm_movemask_epi8(v))
				return true;
		}
	}
	return false;
}

/* The outputs of mr rows from i (sums with the column term, the rows'
 * activation sums at rowsum), two rows a store where a panel allows; full:
 * a full tile (DNNQ_GEMM_MR rows, a full panel), whose u8 stores need no
 * test and whose sums stay in registers. */
INLINE void store_rows(const enum dnnq_avx2_kind kind, const bool full,
                       const struct dnnq_avx2_cols cols[2], size_t halves, __m256i acc[][2],
                       int mr, size_t i, const int32_t *rowsum, const struct dnnq_gemm_job *job)
{
	if (full && dnnq_avx2_kind_u8(kind)) {
#pragma GCC unroll 2
		for (int r = 0; r < DNNQ_GEMM_MR; r += 2)
			dnnq_avx2_store_full2(kind, cols, acc[r], acc[r + 1], i + r,
			                      _mm256_set1_epi32(rowsum[r]),
			                      _mm256_set1_epi32(rowsum[r + 1]), job);
		return;
	}
	int r = 0;
	for (; r + 1 < mr; r += 2)
		dnnq_avx2_store_panel2(kind, cols, halves, acc[r], acc[r + 1], i + r,
		                       _mm256_set1_epi32(rowsum[r]), _mm256_set1_epi32(rowsum[r + 1]),
		                       job);
	if (r < mr)
		dnnq_avx2_store_panel(kind, cols, halves, acc[r], i + r, _mm256_set1_epi32(rowsum[r]),
		                      job);
}

/* Panels [j0, j1) of rows [i0, i1), kind the output's (a constant); sign:
 * whether the tiles take the sign trick. */
INLINE void panels(const enum dnnq_avx2_kind kind, const struct dnnq_gemm_job *job, size_t i0,
                   size_t i1, size_t j0, size_t j1, const bool sign, const int32_t *rowsum)
{
	const struct dnnq_gemm_weights *w = job->w;
	for (size_t jp = j0; jp < j1; jp += DNNQ_GEMM_NR) {
		size_t width = w->n - jp < DNNQ_GEMM_NR ? w->n - jp : DNNQ_GEMM_NR;
		const int8_t *b = w->data + dnnq_gemm_panel_bytes(jp, w->k);
		/* the panel's sign rows (K < 64), for the full tiles */
		const int8_t *sb = w->sign_off ? w->data + w->sign_off +
		                                 2 * dnnq_gemm_panel_bytes(jp, w->k) : NULL;
		const uint16_t *end = w->group_ends + DNNQ_GEMM_ENDS * (jp / DNNQ_GEMM_NR);
		const struct order o = { w->group_off + jp / DNNQ_GEMM_NR * (w->k / 4), end };
		struct dnnq_avx2_cols cols[2];
		size_t halves = dnnq_avx2_cols_panel(job, jp, width, cols);
		/* the accumulators start at the column term, and the sign trick's
		 * lack sign_fix too */
		__m256i start[2] = { cols[0].col, cols[1].col };
		__m256i fix[2] = { start[0], start[1] };
		for (size_t h = 0; h < halves && !w->pair_safe; h++)
			fix[h] = _mm256_add_epi32(start[h], dnnq_avx2_load_i32(w->sign_fix + jp + 8 * h,
			                                                       cols[h].cnt));
		for (size_t i = i0; i < i1; i += DNNQ_GEMM_MR) {
			int mr = i1 - i < DNNQ_GEMM_MR ? (int)(i1 - i) : DNNQ_GEMM_MR;
			const uint8_t *a = job->a + i * job->lda;
			__m256i acc[DNNQ_GEMM_MR][2];
			for (int r = 0; r < DNNQ_GEMM_MR; r++) {
				acc[r][0] = sign ? fix[0] : start[0];
				acc[r][1] = sign ? fix[1] : start[1];
			}
			/* the common tile inline: its sums stay in registers for the
			 * stores (a call passes them through memory) */
			if (mr == DNNQ_GEMM_MR && width == DNNQ_GEMM_NR) {
				if (sign && sb)
					kernel(DNNQ_GEMM_MR, false, true, true, a, job->lda, sb, width,
					       w->k, o, acc);
				else if (sign)
					kernel(DNNQ_GEMM_MR, false, true, false, a, job->lda, b, width,
					       w->k, o, acc);
				else
					kernel(DNNQ_GEMM_MR, false, false, false, a, job->lda, b, width,
					       w->k, o, acc);
				store_rows(kind, true, cols, 2, acc, DNNQ_GEMM_MR, i, rowsum + (i - i0),
				           job);
			} else if (mr == DNNQ_GEMM_MR && width == 8) {
				/* a last panel of 8 columns (N = 24, 72, 88, 120) too */
				if (sign && sb)
					kernel(DNNQ_GEMM_MR, true, true, true, a, job->lda, sb, 8, w->k,
					       o, acc);
				else if (sign)
					kernel(DNNQ_GEMM_MR, true, true, false, a, job->lda, b, 8, w->k,
					       o, acc);
				else
					kernel(DNNQ_GEMM_MR, true, false, false, a, job->lda, b, 8, w->k,
					       o, acc);
				store_rows(kind, false, cols, 1, acc, DNNQ_GEMM_MR, i, rowsum + (i - i0),
				           job);
			} else {
				tile(mr, sign, a, job->lda, b, width, w->k, o, acc);
				store_rows(kind, false, cols, halves, acc, mr, i, rowsum + (i - i0), job);
			}
		}
	}
}

void dnnq_gemm_4x16c4__avx2(const struct dnnq_gemm_job *jobp, size_t i0, size_t i1,
                            size_t j0, size_t j1)
{
	struct dnnq_avx2_job copy;
	dnnq_avx2_job_copy(jobp, &copy);
	const struct dnnq_gemm_job *job = &copy.job;
	const struct dnnq_gemm_weights *w = job->w;
	int32_t rowsum[DNNQ_GEMM_MC];
	/* the block's rows only (an initializer cleared all of it with `rep
	 * stos` every call) */
	memset(rowsum, 0, (i1 - i0) * sizeof *rowsum);
	bool big = false;
	if (!w->pair_safe && !job->out->nwzp)
		big = block_big(job->a + i0 * job->lda, job->lda, i1 - i0, w->k);
	else if (!w->pair_safe || job->out->nwzp)
		dnnq_gemm_scan_avx2(job->a + i0 * job->lda, job->lda, i1 - i0, w->k,
		                    w->pair_safe ? NULL : &big, job->out->nwzp ? rowsum : NULL);
	switch (dnnq_avx2_packed_kind_of(job->out, j0, j1)) {
	case DNNQ_AVX2_S32: panels(DNNQ_AVX2_S32, job, i0, i1, j0, j1, big, rowsum); break;
	case DNNQ_AVX2_F32: panels(DNNQ_AVX2_F32, job, i0, i1, j0, j1, big, rowsum); break;
	case DNNQ_AVX2_U8_FLOAT: panels(DNNQ_AVX2_U8_FLOAT, job, i0, i1, j0, j1, big, rowsum); break;
	case DNNQ_AVX2_U8_FIXED: panels(DNNQ_AVX2_U8_FIXED, job, i0, i1, j0, j1, big, rowsum); break;
	case DNNQ_AVX2_U8_FLOAT_Q0:
		panels(DNNQ_AVX2_U8_FLOAT_Q0, job, i0, i1, j0, j1, big, rowsum);
		break;
	case DNNQ_AVX2_U8_FLOAT_FULL:
		panels(DNNQ_AVX2_U8_FLOAT_FULL, job, i0, i1, j0, j1, big, rowsum);
		break;
	}
}

void dnnq_gemm_store_tile_avx2(const struct dnnq_gemm_job *jobp, size_t i0, size_t mr,
                               size_t j0, size_t width, const int32_t *tile, size_t ldt,
                               const int32_t *rowsum)
{
	struct dnnq_avx2_job copy;
	dnnq_avx2_job_copy(jobp, &copy);
	const struct dnnq_gemm_job *job = &copy.job;
	for (size_t jp = j0; jp < j0 + width; jp += DNNQ_GEMM_NR) {
		struct dnnq_avx2_cols cols[2];
		size_t halves = dnnq_avx2_cols_panel(job, jp, j0 + width - jp < DNNQ_GEMM_NR
		                                              ? j0 + width - jp : DNNQ_GEMM_NR, cols);
		for (size_t r = 0; r < mr; r++)
			for (size_t h = 0; h < halves; h++)
				dnnq_avx2_store_cols(&cols[h], dnnq_avx2_load_i32(tile + r * ldt + jp - j0 +
				                                                  8 * h, cols[h].cnt),
				                     i0 + r, _mm256_set1_epi32(rowsum[r]), job);
	}
}
