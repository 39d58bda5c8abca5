/*
 * The stem by 1-D Winograd on AVX2 (dnnq_stem_avx2, conv-kernels.h): a
 * first layer's 7-tap stride-2 kernel rows split along x into the even
 * taps (w0, w2, w4, w6) on the even input columns, Winograd F(2, 4), and
 * the odd ones (w1, w3, w5) on the odd columns, F(2, 3): 9 products per 2
 * outputs against 14, each a GEMM over K' = kh * cin (the kernel rows and
 * channels, untransformed) in int16 pairs (vpmaddwd, the pairs kernel's
 * 6 x 16 tile), through the AVX2 output stage. docs/gemm.md, "The stem by
 * 1-D Winograd".
 *
 * A tile is 2 output columns, its 9 input columns x0..x8 (4 T - pad_l
 * on); e_i = x_2i (5), o_i = x_2i+1 (4). Toom-Cook at 0, 1, -1, 2 and
 * infinity (F(2, 4)) and 0, 1, -1, infinity (F(2, 3)), B^T's rows scaled
 * to integers and the divisors moved to A^T:
 *   even V: 2 e0 - e1 - 2 e2 + e3, 2 e1 + e2 - e3, -2 e1 + 3 e2 - e3,
 *           e3 - e1, 2 e1 - e2 - 2 e3 + e4;
 *   even U: a0, a0 + a1 + a2 + a3, a0 - a1 + a2 - a3, a0 + 2 a1 + 4 a2 +
 *           8 a3, a3 (a_i = w_2i), A^T [[3, 3, 1, 1, 0], [0, 3, -1, 2, 6]]:
 *           6 times the even taps' sums;
 *   odd V:  o0 - o2, o1 + o2, o2 - o1, o3 - o1;
 *   odd U:  b0, b0 + b1 + b2, b0 - b1 + b2, b2 (b_i = w_2i+1), A^T [[2, 1,
 *           1, 0], [0, 1, -1, 2]], times 3: 6 times the odd taps' sums.
 * Positions whose A^T columns are proportional share one GEMM over 2 K'
 * (the even position's K' then the odd one's), their factors in U:
 *   P0 = 3 M0 + 6 M'0, P1 = 3 M1 + 3 M'1, P2 = M2 + 3 M'2, P3 = 6 M4 + 6
 *   M'3 (A^T column (3, 0), (3, 3), (1, -1), (0, 6)) and P4 = M3 (1, 2),
 * so Y0 = P0 + P1 + P2 + P4 and Y1 = P1 - P2 + P3 + 2 P4: 4 K' + (K' + 1) /
 * 2 pairs per 2 outputs (95 for ResNet's stem, K' = 21) against the pairs
 * kernel's 2 (7 K' + 1) / 2 (148).
 *
 * Exact: the input is not shifted (u8), |V| <= 3 * 255 = 765 (a row's
 * positive and negative coefficients sum to at most 3 each), |U| <= 15 *
 * 128 = 1920 (a0 + 2 a1 + 4 a2 + 8 a3; the others at most 6 * 128), so
 * int16 holds both and a vpmaddwd pair (< 2^22) is exact; the int32 sums
 * and the output transform wrap, a ring homomorphism mod 2^32, so Y = 6 S
 * mod 2^32, S the raw sums of x w over the kernel's kh * 7 * cin taps.
 * |S| <= 7 * 28 * 255 * 128 < 2^23 (kh * cin <= DNNQ_STEM_MAX_K), so Y
 * times 3's inverse mod 2^32 is exactly 2 S and an arithmetic shift by 1
 * gives S, the pairs kernel's sums, bit for bit; the output stage then as
 * the pairs kernel's (its column term as the accumulators' start there,
 * added here).
 */
#include <immintrin.h>

#include "engine/conv-kernels.h"
#include "engine/conv-pairs-avx2.h"
#include "engine/gemm-avx2.h"

_Static_assert(2 * DNNQ_STEM_MAX_K * 7 * 255 * 128 < INT32_MAX, "stem exact");

/* The merged positions, P4 (the even part alone) last. */
#define STEM_P 5

/* Bytes of one input column's kernel rows (K' <= DNNQ_STEM_MAX_K u8). */
#define STEM_SLOT 32

/* Position p's pairs: 2 K' values (K' the even part's, K' the odd one's)
 * or, P4, K' (the last pair's second value against weight 0 when odd). */
static size_t stem_nq(size_t p, size_t kk)
{
	return p < STEM_P - 1 ? kk : (kk + 1) / 2;
}

/* int16 of a panel's weights: per position its pairs x 16 columns. */
static size_t stem_panel(size_t kk)
{
	return (4 * kk + (kk + 1) / 2) * 32;
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
			const int even[STEM_P] = { 3 * a[0], 3 * (a[0] + a[1] + a[2] + a[3]),
			                           a[0] - a[1] + a[2] - a[3], 6 * a[3],
			                           a[0] + 2 * a[1] + 4 * a[2] + 8 * a[3] };
			const int odd[STEM_P - 1] = { 6 * b[0], 3 * (b[0] + b[1] + b[2]),
			                              3 * (b[0] - b[1] + b[2]), 6 * b[2] };
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

/* A block's scratch: the input columns (4 tiles + 5 slots and one of
 * slack, which stem_columns' shift reads), then per position the tiles' V
 * (row stride 2 * stem_nq int16, one vector of slack: the stores run past
 * a row into the next one's, written after), then a tile group's sums
 * (PAIRS_MR tiles x STEM_P positions x 16 columns int32). */
static size_t stem_x_bytes(void)
{
	return (4 * DNNQ_STEM_TILES + 6) * STEM_SLOT;
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
 * holds input column 4 t0 + s - pad_l's kernel rows, value ky * cin + c,
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
	ptrdiff_t ix0 = (ptrdiff_t)(4 * t0) - (ptrdiff_t)c->d.pad_l;
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

/* V of tile t (its slots x at 4 t on) into the positions' rows (v[p] + t
 * * ls[p]): H halves of 16 values (K' <= 16: one). Each position's even
 * part at 0, its odd part at K', in that order, so each store's lanes past
 * its part are rewritten by the next store or the next tile's. */
DNNQ_AVX2_INLINE void stem_tile_v(const int H, const uint8_t *x, size_t kk,
                                  int16_t *const v[STEM_P], const size_t ls[STEM_P], size_t t)
{
	__m256i vo[2][STEM_P - 1];
#pragma GCC unroll 2
	for (int h = 0; h < H; h++) {
		__m256i e[5], o[4];
		const uint8_t *xh = x + 4 * t * STEM_SLOT + 16 * h;
#pragma GCC unroll 5
		for (int i = 0; i < 5; i++)
			e[i] = _mm256_cvtepu8_epi16(
				_mm_loadu_si128((const __m128i *)(xh + 2 * i * STEM_SLOT)));
#pragma GCC unroll 4
		for (int i = 0; i < 4; i++)
			o[i] = _mm256_cvtepu8_epi16(
				_mm_loadu_si128((const __m128i *)(xh + (2 * i + 1) * STEM_SLOT)));
		__m256i e1x2 = _mm256_add_epi16(e[1], e[1]);
		const __m256i ve[STEM_P] = {
			/* 2 e0 - e1 - 2 e2 + e3 */
			_mm256_add_epi16(_mm256_slli_epi16(_mm256_sub_epi16(e[0], e[2]), 1),
			                 _mm256_sub_epi16(e[3], e[1])),
			/* 2 e1 + e2 - e3 */
			_mm256_sub_epi16(_mm256_add_epi16(e1x2, e[2]), e[3]),
			/* -2 e1 + 3 e2 - e3 */
			_mm256_sub_epi16(_mm256_add_epi16(_mm256_slli_epi16(e[2], 1), e[2]),
			                 _mm256_add_epi16(e1x2, e[3])),
			/* 2 e1 - e2 - 2 e3 + e4 */
			_mm256_add_epi16(_mm256_sub_epi16(e1x2, e[2]),
			                 _mm256_sub_epi16(e[4], _mm256_add_epi16(e[3], e[3]))),
			/* e3 - e1 */
			_mm256_sub_epi16(e[3], e[1]),
		};
		vo[h][0] = _mm256_sub_epi16(o[0], o[2]);
		vo[h][1] = _mm256_add_epi16(o[1], o[2]);
		vo[h][2] = _mm256_sub_epi16(o[2], o[1]);
		vo[h][3] = _mm256_sub_epi16(o[3], o[1]);
#pragma GCC unroll 5
		for (int p = 0; p < STEM_P; p++)
			_mm256_storeu_si256((__m256i *)(v[p] + t * ls[p] + 16 * h), ve[p]);
	}
	/* the odd parts after both halves of the even ones */
#pragma GCC unroll 2
	for (int h = 0; h < H; h++)
#pragma GCC unroll 4
		for (int p = 0; p < STEM_P - 1; p++)
			_mm256_storeu_si256((__m256i *)(v[p] + t * ls[p] + kk + 16 * h), vo[h][p]);
}

/* The 2 outputs of a tile's sums m (STEM_P positions x 16 columns), 8
 * columns at h: Y0 = P0 + P1 + P2 + P4 and Y1 = P1 - P2 + P3 + 2 P4, 6 S
 * mod 2^32; times 3's inverse 2 S, shifted S (the file's comment). */
DNNQ_AVX2_INLINE void stem_output(const int32_t *m, size_t h, __m256i y[2])
{
	const __m256i inv3 = _mm256_set1_epi32((int32_t)0xaaaaaaab);
	__m256i p[STEM_P];
#pragma GCC unroll 5
	for (int i = 0; i < STEM_P; i++)
		p[i] = _mm256_loadu_si256((const __m256i *)(m + i * 16 + 8 * h));
	__m256i y0 = _mm256_add_epi32(_mm256_add_epi32(p[0], p[1]), _mm256_add_epi32(p[2], p[4]));
	__m256i y1 = _mm256_add_epi32(_mm256_sub_epi32(p[1], p[2]),
	                              _mm256_add_epi32(p[3], _mm256_add_epi32(p[4], p[4])));
	y[0] = _mm256_srai_epi32(_mm256_mullo_epi32(y0, inv3), 1);
	y[1] = _mm256_srai_epi32(_mm256_mullo_epi32(y1, inv3), 1);
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

/* Columns [j0, j1) of the block's tiles (t0 on in output row row0 / ow:
 * its first pixel row0), kind the output stage's. */
DNNQ_AVX2_INLINE void stem_panels(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                  const struct dnnq_gemm_job *job, size_t row0, size_t t0,
                                  size_t tiles, int16_t *const v[STEM_P],
                                  const size_t ls[STEM_P], int32_t *m, size_t j0, size_t j1)
{
	const size_t kk = c->d.kh * c->d.cin, ow = c->ow;
	const __m256i zero = _mm256_setzero_si256();
	for (size_t jp = j0; jp < j1; jp += 16) {
		size_t width = j1 - jp < 16 ? j1 - jp : 16;
		struct dnnq_avx2_cols cols[2];
		size_t halves = dnnq_avx2_cols_panel(job, jp, width, cols);
		const int16_t *w = c->stem + jp / 16 * stem_panel(kk);
		/* groups of as even a size as can be: ResNet's 56 tiles 6 x 6
		 * and 4 x 5, not 9 x 6 and 2 (1.04x the time: 2 rows run at a
		 * third of 6's multiply rate) */
		size_t groups = (tiles + PAIRS_MR - 1) / PAIRS_MR;
		for (size_t g = 0, t = 0, mr; g < groups; g++, t += mr) {
			mr = tiles / groups + (g < tiles % groups);
			int16_t *vt[STEM_P];
			for (size_t p = 0; p < STEM_P; p++)
				vt[p] = v[p] + t * ls[p];
			switch (mr) {
			STEM_CASE(1) STEM_CASE(2) STEM_CASE(3) STEM_CASE(4) STEM_CASE(5)
			STEM_CASE(6)
			}
			for (size_t r = 0; r < mr; r++) {
				size_t ox = 2 * (t0 + t + r);
				__m256i y0[2], y1[2];
				stem_output(m + r * STEM_P * 16, 0, y0);
				stem_output(m + r * STEM_P * 16, 1, y1);
				const __m256i a[2] = { _mm256_add_epi32(y0[0], cols[0].col),
				                       _mm256_add_epi32(y1[0], cols[1].col) };
				const __m256i b[2] = { _mm256_add_epi32(y0[1], cols[0].col),
				                       _mm256_add_epi32(y1[1], cols[1].col) };
				if (ox + 1 < ow)
					dnnq_avx2_store_panel2(kind, cols, halves, a, b, row0 + ox, zero,
					                       zero, job);
				else
					dnnq_avx2_store_panel(kind, cols, halves, a, row0 + ox, zero, job);
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
	/* the next row's kernel rows from ky0 on are new */
	size_t ky0 = d->dil_h == 1 && d->stride_h < d->kh ? d->kh - d->stride_h : 0;
	for (size_t oy = oy0; oy < oy1; oy++) {
		stem_columns(c, img, oy, t0, 4 * tiles + 5, oy > oy0 ? ky0 : 0, x);
		for (size_t t = 0; t < tiles; t++)
			if (kk > 16)
				stem_tile_v(2, x, kk, v, ls, t);
			else
				stem_tile_v(1, x, kk, v, ls, t);
		size_t row0 = (img * c->oh + oy) * c->ow;
		if (kind == DNNQ_AVX2_U8_FLOAT_FULL)
			stem_panels(DNNQ_AVX2_U8_FLOAT_FULL, c, &job, row0, t0, tiles, v, ls, m, j0,
			            j1);
		else
			stem_panels(kind, c, &job, row0, t0, tiles, v, ls, m, j0, j1);
	}
}
