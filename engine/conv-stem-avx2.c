/*
 * The stem by 1-D Winograd on AVX2 (dnnq_stem_avx2, conv-kernels.h): a
 * first layer's 7-tap stride-2 kernel rows split along x into the even
 * taps (w0, w2, w4, w6) on the even input columns, Winograd F(4, 4), and
 * the odd ones (w1, w3, w5) on the odd columns, F(4, 3): 13 products per 4
 * outputs against 28, each a GEMM over K' = kh * cin (the kernel rows and
 * channels, untransformed) in int16 pairs (vpmaddwd, the pairs kernel's
 * 6 x 16 tile), through the AVX2 output stage. docs/gemm.md, "The stem by
 * 1-D Winograd".
 *
 * A tile is 4 output columns, its 13 input columns x0..x12 (8 T - pad_l
 * on); e_i = x_2i (7), o_i = x_2i+1 (6). Toom-Cook at the points 0, 1, -1,
 * 2, -2, infinity and (F(4, 4) only) 3: A^T's column of a point t is (1,
 * t, t^2, t^3) ((0, 0, 0, 1) at infinity), the weights' rows its powers
 * (U: a0, a0 + a1 + a2 + a3, ..., a3, a0 + 3 a1 + 9 a2 + 27 a3), B^T the
 * inverse's transpose, its rows scaled to integers and the divisors moved
 * to the weights, 120 (the least common multiple) times the sums:
 *   even V, with t_k = 3 e_k - e_k+1: 4 t0 - 5 t2 + t4, (4 t1 - t3) + (4
 *           t2 - t4), (4 t2 - t4) - (4 t1 - t3), -(t2 - t4) - 2 (t1 - t3),
 *           2 (t1 - t3) - (t2 - t4), -4 t1 + 5 t3 - t5, 4 e1 - 5 e3 + e5
 *           (the points in that order), U times 10, 10, 5, 5, 1, 120, 1;
 *   odd V:  4 o0 - 5 o2 + o4, 4 (o1 + o2) - (o3 + o4), 4 (o2 - o1) + (o3 -
 *           o4), 2 (o3 - o1) + (o4 - o2), 2 (o1 - o3) + (o4 - o2), 4 o1 - 5
 *           o3 + o5, U times 30, 20, 20, 5, 5, 120.
 * The even and odd part of a point share A^T's column, so one GEMM over 2
 * K' (the even part's K' then the odd one's): P0..P5, and P6 the even
 * point 3 alone; Y0 = P0 + P1 + P2 + P3 + P4 + P6, Y1 = P1 - P2 + 2 P3 -
 * 2 P4 + 3 P6, Y2 = P1 + P2 + 4 P3 + 4 P4 + 9 P6, Y3 = P1 - P2 + 8 P3 - 8
 * P4 + P5 + 27 P6: 6 K' + (K' + 1) / 2 pairs per 4 outputs (137 for
 * ResNet's stem, K' = 21) against the pairs kernel's 4 (7 K' + 1) / 2
 * (296) and F(2, 4) / F(2, 3)'s 2 (4 K' + (K' + 1) / 2) (190).
 *
 * Exact: the input is not shifted (u8); a row of B^T has positive and
 * negative coefficients summing to at most 21 each (V1: 12, 8, 1 and -7,
 * -2), so |V| <= 21 * 255 = 5355, and its int16 intermediates wrap to
 * it (int16 is a ring mod 2^16); |U| <= 120 * 128 = 15360 (the others
 * less: 5 * 15 * 128, 40 * 128, 20 * 3 * 128), so a vpmaddwd pair (< 2 *
 * 5355 * 15360 < 2^28) is exact; the int32 sums and the output transform
 * wrap, a ring homomorphism mod 2^32, so Y = 120 S mod 2^32, S the raw
 * sums of x w over the kernel's kh * 7 * cin taps. |S| <= 7 * 28 * 255 *
 * 128 < 2^23 (kh * cin <= DNNQ_STEM_MAX_K), so Y times 15's inverse mod
 * 2^32 is exactly 8 S and an arithmetic shift by 3 gives S, the pairs
 * kernel's sums, bit for bit; the output stage then as the pairs kernel's
 * (its column term as the accumulators' start there, added here), or, u8
 * outputs with column terms that keep |S + col| < 2^28, folded into the
 * transform and the float multiplier (stem_folds).
 */
#include <immintrin.h>

#include "engine/conv-kernels.h"
#include "engine/conv-pairs-avx2.h"
#include "engine/gemm-avx2.h"

_Static_assert(8 * DNNQ_STEM_MAX_K * 7 * 255 * 128 < INT32_MAX, "stem exact");

/* The GEMMs: the merged points P0..P5, P6 (the even part alone) last. */
#define STEM_P 7

/* Bytes of one input column's kernel rows (K' <= DNNQ_STEM_MAX_K u8). */
#define STEM_SLOT 32

/* Position p's pairs: 2 K' values (K' the even part's, K' the odd one's)
 * or, P6, K' (the last pair's second value against weight 0 when odd). */
static size_t stem_nq(size_t p, size_t kk)
{
	return p < STEM_P - 1 ? kk : (kk + 1) / 2;
}

/* int16 of a panel's weights: per position its pairs x 16 columns. */
static size_t stem_panel(size_t kk)
{
	return ((STEM_P - 1) * kk + (kk + 1) / 2) * 32;
}

/* The weights per panel of 16 columns and position p (from p * kk * 32 in
 * the panel): u16[jp / 16 * stem_panel + p * kk * 32 + q * 32 + j % 16 * 2
 * + e] = U_p[j][2 q + e], value t of U_p the even part's U at t = ky * cin
 * + c (t < K'), the odd part's at K' + t, 0 past cout. */
size_t dnnq_stem_pack_avx2(const int8_t *w, size_t cout, size_t kh, size_t cin, int16_t *dst)
{
	const size_t kk = kh * cin, per = stem_panel(kk);
	size_t bytes = (cout + 15) / 16 * per * sizeof *dst;
	if (!dst)
		return bytes;
	memset(dst, 0, bytes);
	for (size_t j = 0; j < cout; j++)
		for (size_t t = 0; t < kk; t++) {
			/* tap (ky, kx) of channel c at (ky * 7 + kx) * cin + c */
			const int8_t *k = w + (j * kh + t / cin) * 7 * cin + t % cin;
			int a[4], b[3];
			for (size_t i = 0; i < 4; i++)
				a[i] = k[2 * i * cin];
			for (size_t i = 0; i < 3; i++)
				b[i] = k[(2 * i + 1) * cin];
			/* the points 0, 1, -1, 2, -2, infinity, 3, times 120 over
			 * their divisors */
			const int even[STEM_P] = {
				10 * a[0], 10 * (a[0] + a[1] + a[2] + a[3]),
				5 * (a[0] - a[1] + a[2] - a[3]), 5 * (a[0] + 2 * a[1] + 4 * a[2] + 8 * a[3]),
				a[0] - 2 * a[1] + 4 * a[2] - 8 * a[3], 120 * a[3],
				a[0] + 3 * a[1] + 9 * a[2] + 27 * a[3]
			};
			const int odd[STEM_P - 1] = { 30 * b[0], 20 * (b[0] + b[1] + b[2]),
			                              20 * (b[0] - b[1] + b[2]),
			                              5 * (b[0] + 2 * b[1] + 4 * b[2]),
			                              5 * (b[0] - 2 * b[1] + 4 * b[2]), 120 * b[2] };
			int16_t *panel = dst + j / 16 * per + j % 16 * 2;
			for (size_t p = 0; p < STEM_P; p++) {
				int16_t *u = panel + p * kk * 32;
				u[t / 2 * 32 + t % 2] = (int16_t)even[p];
				if (p < STEM_P - 1)
					u[(kk + t) / 2 * 32 + (kk + t) % 2] = (int16_t)odd[p];
			}
		}
	return bytes;
}

/* A block's scratch: the input columns (8 tiles + 5 slots and one of
 * slack, which stem_columns' shift reads), then per position the tiles' V
 * (row stride 2 * stem_nq int16, one vector of slack: the stores run past
 * a row into the next one's, written after), then a tile group's sums
 * (PAIRS_MR tiles x STEM_P positions x 16 columns int32). */
static size_t stem_x_bytes(void)
{
	return (8 * DNNQ_STEM_TILES + 6) * STEM_SLOT;
}

static size_t stem_v_count(size_t p, size_t kk)
{
	return DNNQ_STEM_TILES * 2 * stem_nq(p, kk) + 32;
}

size_t dnnq_stem_scratch_bytes(const struct dnnq_conv *c)
{
	size_t kk = c->d.kh * c->d.cin, v = 0;
	for (size_t p = 0; p < STEM_P; p++)
		v += stem_v_count(p, kk);
	return stem_x_bytes() + v * sizeof(int16_t) + PAIRS_MR * STEM_P * 16 * sizeof(int32_t);
}

/* Slots [0, n) of the block from tile t0 of output row (img, oy): slot s
 * holds input column 8 t0 + s - pad_l's kernel rows, value ky * cin + c,
 * the zero point in the padding. Kernel row by kernel row, each value a
 * 4-byte store: its bytes past cin (the next pixel's, or the zero point)
 * land on the next kernel row's, stored after, or past K' (at most
 * DNNQ_STEM_MAX_K + 3 < STEM_SLOT), where only a weight 0 meets them.
 * ky0 > 0: the slots hold the previous output row's (oy - 1), whose
 * kernel rows ky0 = kh - stride_h on are this one's first (no dilation
 * down): moved down by stride_h rows (a 32-byte load and store a slot, in
 * order: each reads the next one's first bytes, into its lanes past K'),
 * only rows ky0 on gathered (2 of 7 for ResNet's stem). */
static void stem_columns(const struct dnnq_conv *c, size_t img, size_t oy, size_t t0, size_t n,
                         size_t ky0, uint8_t *x)
{
	const size_t cin = c->d.cin, w = c->w;
	const uint32_t zx4 = (uint8_t)c->d.in_qp.zero_point * 0x01010101u;
	const uint8_t *image = c->in + img * c->h * w * cin;
	/* slots [lo, hi) are in the image, [lo, hw) with 4 bytes of the row
	 * from their first (not past its last pixel) */
	ptrdiff_t ix0 = (ptrdiff_t)(8 * t0) - (ptrdiff_t)c->d.pad_l;
	ptrdiff_t l = -ix0, h = (ptrdiff_t)w - ix0;
	ptrdiff_t hx = w * cin < 4 ? l : (ptrdiff_t)((w * cin - 4) / cin) + 1 - ix0;
	size_t lo = l < 0 ? 0 : (size_t)l < n ? (size_t)l : n;
	size_t hi = h < (ptrdiff_t)lo ? lo : (size_t)h < n ? (size_t)h : n;
	size_t hw = hx < (ptrdiff_t)lo ? lo : (size_t)hx < hi ? (size_t)hx : hi;
	if (ky0 == 0) {
		/* every lane past K' defined, and the slack the shift reads */
		memset(x, 0, (n + 1) * STEM_SLOT);
	} else {
		for (size_t s = 0; s < n; s++)
			_mm256_storeu_si256((__m256i *)(x + s * STEM_SLOT),
			                    _mm256_loadu_si256((const __m256i *)(x + s * STEM_SLOT +
			                                                         (c->d.kh - ky0) * cin)));
	}
	for (size_t ky = ky0; ky < c->d.kh; ky++) {
		ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
		uint8_t *d = x + ky * cin;
		size_t s = 0;
		if (iy < 0) {
			for (; s < n; s++)
				memcpy(d + s * STEM_SLOT, &zx4, 4);
			continue;
		}
		const uint8_t *row = image + (size_t)iy * w * cin;
		for (; s < lo; s++)
			memcpy(d + s * STEM_SLOT, &zx4, 4);
		/* an offset, not a pointer: at slot lo a block wholly in the
		 * left or the right padding would point outside the row
		 * (undefined, though not read; size_t wraps defined) */
		for (size_t at = (size_t)(ix0 + (ptrdiff_t)s) * cin; s < hw; s++, at += cin)
			memcpy(d + s * STEM_SLOT, row + at, 4);
		for (; s < hi; s++)
			for (size_t i = 0; i < cin; i++)
				d[s * STEM_SLOT + i] = row[(size_t)(ix0 + (ptrdiff_t)s) * cin + i];
		for (; s < n; s++)
			memcpy(d + s * STEM_SLOT, &zx4, 4);
	}
}

/* The positions' V (ve: the even parts, vo: the odd ones) of 16 values
 * of a tile's 13 slots widened (e: the even ones, o: the odd). */
DNNQ_AVX2_INLINE void stem_v_of(const __m256i e[7], const __m256i o[6], __m256i ve[STEM_P],
                                __m256i vo[STEM_P - 1])
{
	__m256i tk[6];
	/* t_k = 3 e_k - e_k+1 */
#pragma GCC unroll 6
	for (int k = 0; k < 6; k++)
		tk[k] = _mm256_sub_epi16(_mm256_add_epi16(_mm256_add_epi16(e[k], e[k]), e[k]),
		                         e[k + 1]);
	__m256i r1 = _mm256_sub_epi16(tk[1], tk[3]), r2 = _mm256_sub_epi16(tk[2], tk[4]);
	__m256i q1 = _mm256_sub_epi16(_mm256_slli_epi16(tk[1], 2), tk[3]);
	__m256i q2 = _mm256_sub_epi16(_mm256_slli_epi16(tk[2], 2), tk[4]);
	__m256i r1x2 = _mm256_add_epi16(r1, r1), e13 = _mm256_sub_epi16(e[1], e[3]);
	/* 4 (t0 - t2) - (t2 - t4) */
	ve[0] = _mm256_sub_epi16(_mm256_slli_epi16(_mm256_sub_epi16(tk[0], tk[2]), 2), r2);
	ve[1] = _mm256_add_epi16(q1, q2);
	ve[2] = _mm256_sub_epi16(q2, q1);
	ve[3] = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_add_epi16(r2, r1x2));
	ve[4] = _mm256_sub_epi16(r1x2, r2);
	/* -4 (t1 - t3) + (t3 - t5) */
	ve[5] = _mm256_sub_epi16(_mm256_sub_epi16(tk[3], tk[5]), _mm256_slli_epi16(r1, 2));
	/* 4 (e1 - e3) + (e5 - e3) */
	ve[6] = _mm256_add_epi16(_mm256_slli_epi16(e13, 2), _mm256_sub_epi16(e[5], e[3]));
	__m256i d31 = _mm256_sub_epi16(o[3], o[1]), d42 = _mm256_sub_epi16(o[4], o[2]);
	__m256i d31x2 = _mm256_add_epi16(d31, d31);
	vo[0] = _mm256_add_epi16(_mm256_slli_epi16(_mm256_sub_epi16(o[0], o[2]), 2),
	                         _mm256_sub_epi16(o[4], o[2]));
	vo[1] = _mm256_sub_epi16(_mm256_slli_epi16(_mm256_add_epi16(o[1], o[2]), 2),
	                         _mm256_add_epi16(o[3], o[4]));
	vo[2] = _mm256_add_epi16(_mm256_slli_epi16(_mm256_sub_epi16(o[2], o[1]), 2),
	                         _mm256_sub_epi16(o[3], o[4]));
	vo[3] = _mm256_add_epi16(d31x2, d42);
	vo[4] = _mm256_sub_epi16(d42, d31x2);
	vo[5] = _mm256_sub_epi16(_mm256_sub_epi16(o[5], o[3]), _mm256_slli_epi16(d31, 2));
}

/* A tile's 13 slots from xh (16 bytes each), or two tiles' (8 bytes each,
 * from xh and from the next tile's, 8 slots on), widened: the even slots
 * e, the odd ones o. */
DNNQ_AVX2_INLINE void stem_widen(const bool two, const uint8_t *xh, __m256i e[7], __m256i o[6])
{
#pragma GCC unroll 13
	for (int i = 0; i < 13; i++) {
		const uint8_t *s = xh + i * STEM_SLOT;
		__m128i b = two ? _mm_castpd_si128(_mm_loadh_pd(
		                          _mm_castsi128_pd(_mm_loadl_epi64((const __m128i *)s)),
		                          (const double *)(s + 8 * STEM_SLOT)))
		                : _mm_loadu_si128((const __m128i *)s);
		if (i % 2)
			o[i / 2] = _mm256_cvtepu8_epi16(b);
		else
			e[i / 2] = _mm256_cvtepu8_epi16(b);
	}
}

/* V of tile t (its slots x at 8 t on) into the positions' rows (v[p] + t
 * * ls[p]): H halves of 16 values (K' <= 16: one). Each position's even
 * part at 0, its odd part at K', in that order, so each store's lanes past
 * its part are rewritten by the next store or the next tile's. */
DNNQ_AVX2_INLINE void stem_tile_v(const int H, const uint8_t *x, size_t kk,
                                  int16_t *const v[STEM_P], const size_t ls[STEM_P], size_t t)
{
	__m256i vo[2][STEM_P - 1];
#pragma GCC unroll 2
	for (int h = 0; h < H; h++) {
		__m256i e[7], o[6], ve[STEM_P];
		stem_widen(false, x + 8 * t * STEM_SLOT + 16 * h, e, o);
		stem_v_of(e, o, ve, vo[h]);
#pragma GCC unroll 7
		for (int p = 0; p < STEM_P; p++)
			_mm256_storeu_si256((__m256i *)(v[p] + t * ls[p] + 16 * h), ve[p]);
	}
	/* the odd parts after both halves of the even ones */
#pragma GCC unroll 2
	for (int h = 0; h < H; h++)
#pragma GCC unroll 6
		for (int p = 0; p < STEM_P - 1; p++)
			_mm256_storeu_si256((__m256i *)(v[p] + t * ls[p] + kk + 16 * h), vo[h][p]);
}

/* Tiles t and t + 1 for 16 < K' <= 24: the first halves as stem_tile_v's,
 * the second ones (values 16..23 of each slot) of both tiles in one
 * vector (one tile's 16-lane half was at most 8 values: 5 at K' = 21),
 * stored 8 values a tile, in stem_tile_v's order. */
DNNQ_AVX2_INLINE void stem_tile_v2(const uint8_t *x, size_t kk, int16_t *const v[STEM_P],
                                   const size_t ls[STEM_P], size_t t)
{
	__m256i e[7], o[6], ve2[STEM_P], vo2[STEM_P - 1];
	stem_widen(true, x + 8 * t * STEM_SLOT + 16, e, o);
	stem_v_of(e, o, ve2, vo2);
#pragma GCC unroll 2
	for (size_t u = 0; u < 2; u++) {
		__m256i ve[STEM_P], vo[STEM_P - 1];
		stem_widen(false, x + 8 * (t + u) * STEM_SLOT, e, o);
		stem_v_of(e, o, ve, vo);
#pragma GCC unroll 7
		for (int p = 0; p < STEM_P; p++) {
			int16_t *r = v[p] + (t + u) * ls[p];
			_mm256_storeu_si256((__m256i *)r, ve[p]);
			_mm_storeu_si128((__m128i *)(r + 16), u ? _mm256_extracti128_si256(ve2[p], 1)
			                                        : _mm256_castsi256_si128(ve2[p]));
		}
#pragma GCC unroll 6
		for (int p = 0; p < STEM_P - 1; p++) {
			int16_t *r = v[p] + (t + u) * ls[p] + kk;
			_mm256_storeu_si256((__m256i *)r, vo[p]);
			_mm_storeu_si128((__m128i *)(r + 16), u ? _mm256_extracti128_si256(vo2[p], 1)
			                                        : _mm256_castsi256_si128(vo2[p]));
		}
	}
}

/* The 4 outputs of a tile's sums m (STEM_P positions x 16 columns), 8
 * columns at h, col120 added to P1 (every Y's once): Y0 = P0 + P1 + P2 +
 * P3 + P4 + P6, Y1 = P1 - P2 + 2 (P3 - P4) + 3 P6, Y2 = P1 + P2 + 4 (P3 +
 * P4) + 9 P6, Y3 = P1 - P2 + 8 (P3 - P4) + P5 + 27 P6, 120 S (plus
 * col120) mod 2^32; times 15's inverse 8 S (the file's comment; with
 * col120 = 120 col, 8 (S + col) mod 2^32: stem_folds). */
DNNQ_AVX2_INLINE void stem_output(const int32_t *m, size_t h, __m256i col120, __m256i y[4])
{
	const __m256i inv15 = _mm256_set1_epi32((int32_t)0xeeeeeeef);
	__m256i p[STEM_P];
#pragma GCC unroll 7
	for (int i = 0; i < STEM_P; i++)
		p[i] = _mm256_loadu_si256((const __m256i *)(m + i * 16 + 8 * h));
	p[1] = _mm256_add_epi32(p[1], col120);
	__m256i s12 = _mm256_add_epi32(p[1], p[2]), d12 = _mm256_sub_epi32(p[1], p[2]);
	__m256i s34 = _mm256_add_epi32(p[3], p[4]), d34 = _mm256_sub_epi32(p[3], p[4]);
	__m256i p6x2 = _mm256_add_epi32(p[6], p[6]), p6x3 = _mm256_add_epi32(p6x2, p[6]);
	const __m256i yy[4] = {
		_mm256_add_epi32(_mm256_add_epi32(p[0], p[6]), _mm256_add_epi32(s12, s34)),
		/* d12 + 3 P6 + 2 d34 */
		_mm256_add_epi32(_mm256_add_epi32(d12, p6x3), _mm256_slli_epi32(d34, 1)),
		/* s12 + P6 + 4 (s34 + 2 P6) */
		_mm256_add_epi32(_mm256_add_epi32(s12, p[6]),
		                 _mm256_slli_epi32(_mm256_add_epi32(s34, p6x2), 2)),
		/* d12 + P5 + 3 P6 + 8 (d34 + 3 P6) */
		_mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(d12, p[5]), p6x3),
		                 _mm256_slli_epi32(_mm256_add_epi32(d34, p6x3), 3)),
	};
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++)
		y[i] = _mm256_mullo_epi32(yy[i], inv15);
}

/* The positions' sums of mr tiles (v[p]: the first one's row) into m (tile
 * stride STEM_P * 16): a function per mr, as Winograd's (conv-avx2.c). */
#define STEM_DOT(MR)                                                                      \
	static __attribute__((noinline)) void stem_dot_##MR(                            \
		int16_t *const v[STEM_P], const size_t ls[STEM_P], size_t kk,            \
		const int16_t *w, int32_t *m)                                           \
	{                                                                               \
		for (size_t p = 0; p < STEM_P; p++)                                     \
			dnnq_pairs_dot(MR, false, v[p], ls[p], stem_nq(p, kk),          \
			               w + p * kk * 32, m + p * 16, STEM_P * 16);       \
	}
STEM_DOT(1) STEM_DOT(2) STEM_DOT(3) STEM_DOT(4) STEM_DOT(5) STEM_DOT(6)

#define STEM_CASE(MR)                               \
	case MR:                                    \
		stem_dot_##MR(vt, ls, kk, w, m); \
		break;

/* Panels of 16 columns a chunk: a group's tiles run through all of them
 * (their V rows hot), so a pixel's 64 output bytes are written together
 * (panel after panel over the whole block: 1.04x the time). */
#define STEM_CHUNK 4

/* The outputs of one tile's sums m (STEM_P positions x 16 columns), its
 * first pixel ox of the output row from row0, in the columns cols
 * (halves of them), kind the output stage's. */
DNNQ_AVX2_INLINE void stem_store(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                 const struct dnnq_gemm_job *job,
                                 const struct dnnq_avx2_cols cols[2], size_t halves,
                                 const int32_t *m, size_t row0, size_t ox)
{
	const __m256i zero = _mm256_setzero_si256();
	__m256i y[2][4], a[4][2];
	stem_output(m, 0, zero, y[0]);
	stem_output(m, 1, zero, y[1]);
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++) {
		a[i][0] = _mm256_add_epi32(_mm256_srai_epi32(y[0][i], 3), cols[0].col);
		a[i][1] = _mm256_add_epi32(_mm256_srai_epi32(y[1][i], 3), cols[1].col);
	}
	/* two pixels a store; a whole tile apart (a loop kept a[] on the
	 * stack: 1.04x the node's time) */
	if (ox + 3 < c->ow) {
		dnnq_avx2_store_panel2(kind, cols, halves, a[0], a[1], row0 + ox, zero, zero, job);
		dnnq_avx2_store_panel2(kind, cols, halves, a[2], a[3], row0 + ox + 2, zero, zero,
		                       job);
		return;
	}
	for (size_t i = 0; i < 4 && ox + i < c->ow; i += 2)
		if (ox + i + 1 < c->ow)
			dnnq_avx2_store_panel2(kind, cols, halves, a[i], a[i + 1], row0 + ox + i,
			                       zero, zero, job);
		else
			dnnq_avx2_store_panel(kind, cols, halves, a[i], row0 + ox + i, zero, job);
}

/* The folded output stage (stem_folds): a full panel's column term times
 * 120 (added to P1, so that stem_output gives 8 (S + col)), float
 * multipliers over 8 and the zero point in int16 lanes. */
struct stem_fold {
	__m256i col120[2], zp16;
	__m256 mult8[2];
};

DNNQ_AVX2_INLINE void stem_fold_of(const struct dnnq_avx2_cols cols[2], struct stem_fold *f)
{
	for (int h = 0; h < 2; h++) {
		f->col120[h] = _mm256_mullo_epi32(cols[h].col, _mm256_set1_epi32(120));
		f->mult8[h] = _mm256_mul_ps(_mm256_castsi256_ps(cols[h].mult), _mm256_set1_ps(0.125f));
	}
	f->zp16 = _mm256_set1_epi16((int16_t)_mm256_extract_epi32(cols[0].zp, 0));
}

/* Whether the task's columns [j0, j1) take the folded output stage: u8
 * outputs of kind DNNQ_AVX2_U8_FLOAT_FULL in full panels, each column
 * term within 2^28 - 1 - STEM_S_MAX, so that |S + col| < 2^28 and 8 (S +
 * col), stem_output's product, is not wrapped: its float is 8 times S +
 * col's (a power of 2 commutes with the rounding), and its product with
 * the multiplier's eighth the scalar's product, rounded from the same real
 * value. The eighth is exact but for multipliers below 2^-123, and then
 * both products are below 2^31 * 2^-123 and round to the integer 0. The
 * zero point after the first pack: dnnq_avx2_zp_after_pack. */
#define STEM_S_MAX (DNNQ_STEM_MAX_K * 7 * 255 * 128)
static bool stem_folds(enum dnnq_avx2_kind kind, const struct dnnq_gemm_job *job, size_t j0,
                       size_t j1)
{
	if (kind != DNNQ_AVX2_U8_FLOAT_FULL || (j1 - j0) % 16)
		return false;
	const __m256i lim = _mm256_set1_epi32((1 << 28) - 1 - STEM_S_MAX);
	const __m256i nlim = _mm256_sub_epi32(_mm256_setzero_si256(), lim);
	__m256i bad = _mm256_setzero_si256();
	for (size_t j = j0; j < j1; j += 8) {
		struct dnnq_avx2_cols c;
		dnnq_avx2_cols(job, j, 8, &c);
		bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(c.col, lim));
		bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(nlim, c.col));
	}
	return _mm256_testz_si256(bad, bad);
}

/* The folded stage's u8 of 8 outputs 8 (S + col) (stem_folds). */
DNNQ_AVX2_INLINE __m256i stem_requant(__m256i v8, __m256 mult8)
{
	return _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(v8), mult8));
}

/* stem_store's folded form (stem_folds): a pixel's 16 columns packed to
 * int16 with the zero point, two pixels a store as
 * dnnq_avx2_store_full2's. */
DNNQ_AVX2_INLINE void stem_store_folded(const struct dnnq_conv *c,
                                        const struct dnnq_gemm_job *job, size_t j,
                                        const struct stem_fold *f, const int32_t *m,
                                        size_t row0, size_t ox)
{
	__m256i y[2][4], q[4];
	stem_output(m, 0, f->col120[0], y[0]);
	stem_output(m, 1, f->col120[1], y[1]);
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++)
		q[i] = _mm256_adds_epi16(_mm256_packs_epi32(stem_requant(y[0][i], f->mult8[0]),
		                                            stem_requant(y[1][i], f->mult8[1])),
		                         f->zp16);
	uint8_t *dst = (uint8_t *)job->c + (row0 + ox) * job->ldc + j;
	if (ox + 3 < c->ow) {
		const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
#pragma GCC unroll 2
		for (int i = 0; i < 4; i += 2) {
			__m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(q[i], q[i + 1]),
			                                        order);
			_mm_storeu_si128((__m128i *)(dst + i * job->ldc), _mm256_castsi256_si128(b));
			_mm_storeu_si128((__m128i *)(dst + (i + 1) * job->ldc),
			                 _mm256_extracti128_si256(b, 1));
		}
		return;
	}
	for (size_t i = 0; ox + i < c->ow; i++) {
		__m256i b = _mm256_permute4x64_epi64(q[i], 0xD8);
		_mm_storeu_si128((__m128i *)(dst + i * job->ldc),
		                 _mm_packus_epi16(_mm256_castsi256_si128(b),
		                                  _mm256_extracti128_si256(b, 1)));
	}
}

/* Columns [j0, j1) of the block's tiles (t0 on in output row row0 / ow:
 * its first pixel row0), kind the output stage's, folded: stem_folds. */
DNNQ_AVX2_INLINE void stem_panels(const enum dnnq_avx2_kind kind, const bool folded,
                                  const struct dnnq_conv *c,
                                  const struct dnnq_gemm_job *job, size_t row0, size_t t0,
                                  size_t tiles, int16_t *const v[STEM_P],
                                  const size_t ls[STEM_P], int32_t *m, size_t j0, size_t j1)
{
	const size_t kk = c->d.kh * c->d.cin;
	for (size_t jc = j0; jc < j1; jc += 16 * STEM_CHUNK) {
		size_t np = 0, halves[STEM_CHUNK];
		struct dnnq_avx2_cols cols[STEM_CHUNK][2];
		struct stem_fold fold[STEM_CHUNK];
		for (size_t jp = jc; jp < j1 && np < STEM_CHUNK; jp += 16, np++) {
			halves[np] = dnnq_avx2_cols_panel(job, jp, j1 - jp < 16 ? j1 - jp : 16,
			                                  cols[np]);
			if (folded)
				stem_fold_of(cols[np], &fold[np]);
		}
		/* groups of as even a size as can be: ResNet's 28 tiles 6, 6,
		 * 6, 5, 5 (2 rows run at a third of 6's multiply rate) */
		size_t groups = (tiles + PAIRS_MR - 1) / PAIRS_MR;
		for (size_t g = 0, t = 0, mr; g < groups; g++, t += mr) {
			mr = tiles / groups + (g < tiles % groups);
			int16_t *vt[STEM_P];
			for (size_t p = 0; p < STEM_P; p++)
				vt[p] = v[p] + t * ls[p];
			for (size_t q = 0; q < np; q++) {
				const int16_t *w = c->stem + (jc / 16 + q) * stem_panel(kk);
				switch (mr) {
				STEM_CASE(1) STEM_CASE(2) STEM_CASE(3) STEM_CASE(4) STEM_CASE(5)
				STEM_CASE(6)
				}
				for (size_t r = 0; r < mr; r++)
					if (folded)
						stem_store_folded(c, job, jc + 16 * q, &fold[q],
						                  m + r * STEM_P * 16, row0,
						                  4 * (t0 + t + r));
					else
						stem_store(kind, c, job, cols[q], halves[q],
						           m + r * STEM_P * 16, row0,
						           4 * (t0 + t + r));
			}
		}
	}
}

void dnnq_stem_avx2(const struct dnnq_conv *c, size_t img, size_t oy0, size_t oy1, size_t t0,
                    size_t t1, size_t j0, size_t j1, void *scratch)
{
	const struct dnnq_conv_desc *d = &c->d;
	const size_t kk = c->d.kh * c->d.cin, tiles = t1 - t0;
	uint8_t *x = scratch;
	int16_t *v[STEM_P], *vp = (int16_t *)(void *)(x + stem_x_bytes());
	size_t ls[STEM_P];
	for (size_t p = 0; p < STEM_P; p++) {
		v[p] = vp;
		ls[p] = 2 * stem_nq(p, kk);
		vp += stem_v_count(p, kk);
	}
	int32_t *m = (int32_t *)(void *)vp;
	/* a local copy, as in dnnq_dw_row_avx2 */
	const struct dnnq_gemm_output out = c->gout[0];
	const struct dnnq_gemm_job job = { .w = &c->gw[0], .c = c->out, .ldc = d->cout,
	                                   .out = &out };
	/* the stores pack with saturation (dnnq_avx2_store_panel) */
	enum dnnq_avx2_kind kind = dnnq_avx2_packed_kind_of(&out, j0, j1);
	const bool folded = stem_folds(kind, &job, j0, j1);
	/* the next row's kernel rows from ky0 on are new */
	size_t ky0 = d->dil_h == 1 && d->stride_h < d->kh ? d->kh - d->stride_h : 0;
	for (size_t oy = oy0; oy < oy1; oy++) {
		stem_columns(c, img, oy, t0, 8 * tiles + 5, oy > oy0 ? ky0 : 0, x);
		size_t t = 0;
		if (kk > 16 && kk <= 24)
			for (; t + 1 < tiles; t += 2)
				stem_tile_v2(x, kk, v, ls, t);
		for (; t < tiles; t++)
			if (kk > 16)
				stem_tile_v(2, x, kk, v, ls, t);
			else
				stem_tile_v(1, x, kk, v, ls, t);
		size_t row0 = (img * c->oh + oy) * c->ow;
		if (folded)
			stem_panels(DNNQ_AVX2_U8_FLOAT_FULL, true, c, &job, row0, t0, tiles, v, ls,
			            m, j0, j1);
		else
			stem_panels(kind, false, c, &job, row0, t0, tiles, v, ls, m, j0, j1);
	}
}
