/*
 * engine/conv-wino-avx2.h — Winograd F(4, 3) for 3x3 stride-1
 * convolutions (conv-kernels.h), everything but the products: the layout,
 * the input transform, the weights' transform on the fly, the output
 * transform and the AVX2 output stage, shared by the AVX2 table
 * (conv-avx2.c, vpmaddwd products) and the AVX-512 VNNI one
 * (conv-wino-avx512vnni.c, vpdpwssd products); only for files compiled for
 * AVX2 or more. The includer defines wino_position, the products of one
 * position (below). docs/gemm.md, "Winograd on the VNNI table".
 */
#ifndef DNNQ_ENGINE_CONV_WINO_AVX2_H
#define DNNQ_ENGINE_CONV_WINO_AVX2_H

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "engine/conv-kernels.h"
#include "engine/gemm-avx2.h"

/* Winograd F(4, 3) (conv-kernels.h): 4x4 tiles of outputs, 6x6 patches,
 * 36 positions. Packed (up to DNNQ_WINO_F43_MAX_CIN channels), the weights
 * per panel of 16 columns, position p and pair of channels q (nq of them): u16[((j / 16 * n * n + p) * nq + q) * 32 + j % 16 * 2 + e]
 * = U_p[j][2q + e], 0 past cin and cout, so a panel's weights are one run
 * (per: a position's size, all panels), the next position's where the
 * last ends; then per column (cout rounded up to 16) 128 times the sum of
 * its weights, int32 (the input's shift by 128, wino_in16). */
#define WINO_M ((size_t)DNNQ_WINO_M)
#define WINO_N (WINO_M + 2)
#define WINO_P (WINO_N * WINO_N)

static inline size_t wino_per(size_t cout, size_t cin)
{
	return (cin + 1) / 2 * ((cout + 15) & ~(size_t)15) * 2;
}

/* F(4, 3) on the fly: a panel's int8 weights, 9 taps x 32 bytes a pair of
 * channels (dnnq_wino_fly_pack_avx2). */
static inline size_t wino_fly_panel_bytes(size_t cin)
{
	return (cin + 1) / 2 * 9 * 32;
}

/* The chunks of the pairs (nq of them) on the fly: as even as can be, at
 * most DNNQ_WINO_FLY_PAIRS each; per, the first ones' pairs. */
static inline size_t wino_fly_per(size_t cin)
{
	size_t nq = (cin + 1) / 2, chunks = (nq + DNNQ_WINO_FLY_PAIRS - 1) / DNNQ_WINO_FLY_PAIRS;
	return (nq + chunks - 1) / chunks;
}

/* U's position stride (int16): the most pairs a chunk and a cache line
 * more (at a multiple of 4 KiB the 36 positions' stores of a pair met in
 * one L1 set), a constant (wino_fly_u). */
#define WINO_FLY_US (DNNQ_WINO_FLY_PAIRS * 32 + 32)

/* The per-thread U, and a tile's S' of 16 columns (2 halves x 16 outputs x
 * 8 int32) on the fly. */
#define WINO_FLY_U_BYTES (WINO_P * WINO_FLY_US * sizeof(int16_t))
#define WINO_FLY_S_BYTES (2 * 16 * sizeof(__m256i))

/* A block's scratch: V (36 positions x wino_vs int16), then a panel's
 * int32 sums per tile (36 positions x 16 columns); on the fly U and S'.
 * V's position stride (int16): a line more than the block's values (at
 * a multiple of 4 KiB, ResNet's 14x14 and 7x7 layers, the input
 * transform's 36 stores met in one L1 set); the gap's first value 0, the
 * channel an odd cin's last pair reads past its last tile. */
static inline size_t wino_vs(size_t tiles, size_t cin)
{
	return tiles * cin + 32;
}

static inline size_t wino_v_bytes(size_t tiles, size_t cin)
{
	return (WINO_P * wino_vs(tiles, cin) * sizeof(int16_t) + 31) & ~(size_t)31;
}

/* B^T x of 6 vectors of int16 x[0], x[s], ... (in place), the rows 4 x0 -
 * 5 x2 + x4, -4 x1 - 4 x2 + x3 + x4, 4 x1 - 4 x2 - x3 + x4, -2 x1 - x2 + 2
 * x3 + x4, 2 x1 - x2 - 2 x3 + x4, 4 x1 - 5 x3 + x5. */
DNNQ_AVX2_INLINE void wino_bt(__m256i *x, size_t s)
{
	__m256i x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s], x5 = x[5 * s];
	__m256i a = _mm256_sub_epi16(x4, _mm256_slli_epi16(x2, 2));
	__m256i b = _mm256_sub_epi16(x3, _mm256_slli_epi16(x1, 2));
	__m256i e = _mm256_sub_epi16(x4, x2);
	__m256i d = _mm256_slli_epi16(_mm256_sub_epi16(x3, x1), 1);
	x[0] = _mm256_add_epi16(_mm256_slli_epi16(_mm256_sub_epi16(x0, x2), 2), e);
	x[s] = _mm256_add_epi16(a, b);
	x[2 * s] = _mm256_sub_epi16(a, b);
	x[3 * s] = _mm256_add_epi16(e, d);
	x[4 * s] = _mm256_sub_epi16(e, d);
	x[5 * s] = _mm256_add_epi16(_mm256_slli_epi16(_mm256_sub_epi16(x1, x3), 2),
	                            _mm256_sub_epi16(x5, x3));
}

/* V = B^T (x - 128) B of one tile for channels [ci, ci + 16): d[i * 6 + j]
 * points at the patch's pixel (i, j); position p's values to v + p * vs.
 * The bytes go in unshifted: the rows of B^T sum to 0 but row 1's (-6), so
 * the shift is -128 times 36 at position (1, 1) alone, and int16 wraps (a
 * ring homomorphism mod 2^16) while the result, |V| <= 100 * 128, fits.
 * Row by row, X B of a patch row into t (6 loads, 6 stores), then B^T of
 * t's columns to v: the live vectors fit the 16 registers (all 36 at once,
 * GCC spilled them in no order). */
DNNQ_AVX2_INLINE void wino_in16(const uint8_t *const *d, size_t ci, int16_t *v, size_t vs)
{
	const size_t n = WINO_N;
	__m256i t[36];
#pragma GCC unroll 6
	for (size_t i = 0; i < n; i++) {
		__m256i x[6];
#pragma GCC unroll 6
		for (size_t j = 0; j < n; j++)
			x[j] = _mm256_cvtepu8_epi16(
				_mm_loadu_si128((const __m128i *)(d[i * n + j] + ci)));
		wino_bt(x, 1);
#pragma GCC unroll 6
		for (size_t j = 0; j < n; j++)
			_mm256_store_si256(t + i * n + j, x[j]);
		__asm__ volatile("" ::: "memory");   /* t stays memory, rows not merged */
	}
#pragma GCC unroll 6
	for (size_t j = 0; j < n; j++) {
		__m256i x[6];
#pragma GCC unroll 6
		for (size_t i = 0; i < n; i++)
			x[i] = _mm256_load_si256(t + i * n + j);
		wino_bt(x, 1);
		if (j == 1)
			x[1] = _mm256_sub_epi16(x[1], _mm256_set1_epi16(128 * 36));
#pragma GCC unroll 6
		for (size_t i = 0; i < n; i++)
			_mm256_storeu_si256((__m256i *)(v + (i * n + j) * vs + ci), x[i]);
	}
}

/* The block's tiles (t0 onwards in the image, tw a row) into v: tile t of
 * position p at v + p * wino_vs + t * cin. A patch pixel outside the image
 * reads the zero point's row (wino_zero). */
DNNQ_AVX2_INLINE void wino_input(const struct dnnq_conv *c, size_t img,
                                 size_t t0, size_t tiles, int16_t *v)
{
	const size_t n = WINO_N, cin = c->d.cin, vs = wino_vs(tiles, cin);
	const size_t tw = (c->ow + WINO_M - 1) / WINO_M;
	const uint8_t *zero = c->wino_zero;
	const uint8_t *image = c->in + img * c->h * c->w * cin;
	for (size_t t = 0; t < tiles; t++) {
		ptrdiff_t iy0 = (ptrdiff_t)(WINO_M * ((t0 + t) / tw)) - (ptrdiff_t)c->d.pad_t;
		ptrdiff_t ix0 = (ptrdiff_t)(WINO_M * ((t0 + t) % tw)) - (ptrdiff_t)c->d.pad_l;
		const uint8_t *d[36];
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++) {
				ptrdiff_t iy = iy0 + (ptrdiff_t)i, ix = ix0 + (ptrdiff_t)j;
				bool in = iy >= 0 && iy < (ptrdiff_t)c->h && ix >= 0 &&
				          ix < (ptrdiff_t)c->w;
				d[i * n + j] = in ? image + ((size_t)iy * c->w + (size_t)ix) * cin
				                  : zero;
			}
		int16_t *vt = v + t * cin;
		size_t ci = 0;
		for (; ci + 16 <= cin; ci += 16)
			wino_in16(d, ci, vt, vs);
		/* the last cin % 16 channels: the last 16 again (cin >= 16), the
		 * ones done already rewritten with the same values */
		if (ci < cin)
			wino_in16(d, cin - 16, vt, vs);
	}
	for (size_t p = 0; p < WINO_P; p++)
		v[p * vs + tiles * cin] = 0;
}

/* The includer's micro-kernel: position p's sums of a block's tiles (v:
 * their transformed inputs, tile stride cin int16) over nq pairs with 16
 * columns of its weights (w, 32 int16 a pair) into m (tile stride ms
 * int32, 16 columns), exact (|V| <= 12800, |U| <= 6272: no saturation,
 * int32 sums). pf: also prefetch the next position's weights (they follow
 * these; into L2 on AVX2, L1 on VNNI). */
static void wino_position(bool pf, size_t tiles, const int16_t *v, size_t cin, size_t nq,
                          const int16_t *w, int32_t *m, size_t ms);

/* Its steps: the includer's KERNEL(mr, pf, v, cin, nq, w, m, ms), the sums
 * of mr tiles, as one function per (mr, pf), KERNEL_MR_0 and KERNEL_MR_1
 * (inlined in wino_panels' loops, GCC moved every accumulator between
 * registers after its add and reloaded a stride from the stack each step:
 * 1.15x the time of ResNet's 14x14 layers); WINO_CASE, a case of a switch
 * on a step's tile count, MR tiles from tile t, the first step (t == 0)
 * prefetching with pf. */
#define WINO_DOT(KERNEL, MR)                                                                \
	static __attribute__((noinline)) void KERNEL##_##MR##_0(                          \
		const int16_t *v, size_t cin, size_t nq, const int16_t *w, int32_t *m,    \
		size_t ms)                                                                \
	{                                                                                 \
		KERNEL(MR, false, v, cin, nq, w, m, ms);                                  \
	}                                                                                 \
	static __attribute__((noinline)) void KERNEL##_##MR##_1(                          \
		const int16_t *v, size_t cin, size_t nq, const int16_t *w, int32_t *m,    \
		size_t ms)                                                                \
	{                                                                                 \
		KERNEL(MR, true, v, cin, nq, w, m, ms);                                   \
	}
#define WINO_CASE(KERNEL, MR)                                                         \
	case MR:                                                                      \
		if (t || !pf)                                                         \
			KERNEL##_##MR##_0(v + t * cin, cin, nq, w, m + t * ms, ms);   \
		else                                                                  \
			KERNEL##_##MR##_1(v, cin, nq, w, m, ms);                      \
		break;

/* A'^T x of 6 vectors of int32 x[0], x[s], ... into y[0], y[s], ...: A^T
 * times diag(6, 4, 4, 1, 1, 24), 24 over G's row divisors (dnnq_wino_pack_avx2):
 * the rows 6 x0 + 4 (x1 + x2) + x3 + x4, 4 (x1 - x2) + 2 (x3 - x4), 4 (x1 +
 * x2 + x3 + x4), 4 (x1 - x2) + 8 (x3 - x4) + 24 x5. */
DNNQ_AVX2_INLINE void wino_at(const __m256i *x, size_t s, __m256i *y)
{
	__m256i s12 = _mm256_add_epi32(x[s], x[2 * s]), d12 = _mm256_sub_epi32(x[s], x[2 * s]);
	__m256i s34 = _mm256_add_epi32(x[3 * s], x[4 * s]);
	__m256i d34 = _mm256_sub_epi32(x[3 * s], x[4 * s]);
	__m256i x0 = _mm256_add_epi32(_mm256_slli_epi32(x[0], 2), _mm256_slli_epi32(x[0], 1));
	__m256i d12x4 = _mm256_slli_epi32(d12, 2);
	__m256i x5 = _mm256_add_epi32(_mm256_slli_epi32(x[5 * s], 4),
	                              _mm256_slli_epi32(x[5 * s], 3));
	y[0] = _mm256_add_epi32(_mm256_add_epi32(x0, _mm256_slli_epi32(s12, 2)), s34);
	y[s] = _mm256_add_epi32(d12x4, _mm256_slli_epi32(d34, 1));
	y[2 * s] = _mm256_slli_epi32(_mm256_add_epi32(s12, s34), 2);
	y[3 * s] = _mm256_add_epi32(_mm256_add_epi32(d12x4, _mm256_slli_epi32(d34, 3)), x5);
}

/* The 16 outputs of one tile's sums (36 positions x 16 columns), 8
 * columns at h: y[r * 4 + c] for output pixel (r, c) is S', the tile's raw
 * sums of (x - 128) w, from Y = A'^T M A' (int32, wrapping: a ring
 * homomorphism mod 2^32): Y = 576 S' mod 2^32, times the inverse of 9 mod
 * 2^32 that is 64 S' mod 2^32, and |S'| <= 9 * cin * 128 * 128 < 2^25 (cin
 * <= 227: DNNQ_WINO_F43_MAX_CIN packed, a chunk of 2 * DNNQ_WINO_FLY_PAIRS
 * on the fly), so an arithmetic shift by 6 gives S'. */
_Static_assert(9 * DNNQ_WINO_F43_MAX_CIN * 128 * 128 < 1 << 25, "F(4, 3) exact");
_Static_assert(9 * 2 * DNNQ_WINO_FLY_PAIRS * 128 * 128 < 1 << 25, "F(4, 3) exact by chunks");

/* The first pass of wino_output, A'^T M a column of M at a time: t[r * 6
 * + j] = (A'^T M)[r][j] (6 loads, 4 stores a column: the live vectors fit
 * the 16 registers). */
DNNQ_AVX2_INLINE void wino_out_cols(const int32_t *m, size_t h, __m256i t[24])
{
	const size_t n = WINO_N;
#pragma GCC unroll 6
	for (size_t j = 0; j < n; j++) {
		__m256i x[6], y[4];
#pragma GCC unroll 6
		for (size_t i = 0; i < n; i++)
			x[i] = _mm256_loadu_si256((const __m256i *)(m + (i * n + j) * 16 + 8 * h));
		wino_at(x, 1, y);
#pragma GCC unroll 4
		for (size_t r = 0; r < WINO_M; r++)
			_mm256_store_si256(t + r * n + j, y[r]);
	}
	__asm__ volatile("" ::: "memory");   /* t stays memory (GCC spilled it in no order) */
}

/* Output row r of wino_out_cols' t, its second pass (A'^T M) A' and the
 * division by 576: y[c] the S' of output pixel (r, c). */
DNNQ_AVX2_INLINE void wino_out_row(const __m256i t[24], size_t r, __m256i y[4])
{
	const __m256i inv9 = _mm256_set1_epi32((int32_t)0x38e38e39);
	wino_at(t + r * WINO_N, 1, y);
#pragma GCC unroll 4
	for (size_t c = 0; c < WINO_M; c++)
		y[c] = _mm256_srai_epi32(_mm256_mullo_epi32(y[c], inv9), 6);
}

/* The tile's 16 outputs of half h (above), y[r * 4 + c]. */
DNNQ_AVX2_INLINE void wino_output(const int32_t *m, size_t h, __m256i *y)
{
	__m256i t[24];
	wino_out_cols(m, h, t);
#pragma GCC unroll 4
	for (size_t r = 0; r < WINO_M; r++)
		wino_out_row(t, r, y + r * WINO_M);
}

/* The output stage's operands of the panel of width columns from jp (its
 * halves returned), colw their column terms plus 128 times the columns'
 * weight sums (sum128 at the panel's first): S = S' + that undoes the
 * input's shift. */
DNNQ_AVX2_INLINE size_t wino_cols(const struct dnnq_gemm_job *job, size_t jp, size_t width,
                                  const int32_t *sum128, struct dnnq_avx2_cols cols[2],
                                  __m256i colw[2])
{
	size_t halves = dnnq_avx2_cols_panel(job, jp, width, cols);
	for (size_t h = 0; h < 2; h++)
		colw[h] = _mm256_add_epi32(cols[h].col,
		                           _mm256_loadu_si256((const __m256i *)(sum128 + 8 * h)));
	return halves;
}

/* A row of a tile through the output stage: y0[x], y1[x] the S' of its
 * pixel x (pix, the row's first in the output, onwards; width of them in
 * the output), columns 0-7 and 8-15 of the panel. */
DNNQ_AVX2_INLINE void wino_store_row(const enum dnnq_avx2_kind kind,
                                     const struct dnnq_gemm_job *job,
                                     const struct dnnq_avx2_cols cols[2], size_t halves,
                                     const __m256i colw[2], size_t pix, size_t width,
                                     const __m256i y0[4], const __m256i y1[4])
{
	const __m256i zero = _mm256_setzero_si256();
	for (size_t x = 0; x < width; x += 2) {
		__m256i a[2] = { _mm256_add_epi32(y0[x], colw[0]), _mm256_add_epi32(y1[x], colw[1]) };
		__m256i b[2] = { _mm256_add_epi32(y0[x + 1], colw[0]),
		                 _mm256_add_epi32(y1[x + 1], colw[1]) };
		if (x + 1 < width)
			dnnq_avx2_store_panel2(kind, cols, halves, a, b, pix + x, zero, zero, job);
		else
			dnnq_avx2_store_panel(kind, cols, halves, a, pix + x, zero, job);
	}
}

/* Tile t of image img in the output: its first pixel (the rows c->ow
 * apart), its rows and width inside the output (at most 4). */
struct wino_tile {
	size_t pix, rows, width;
};

static inline struct wino_tile wino_tile_at(const struct dnnq_conv *c, size_t img, size_t t)
{
	const size_t M = WINO_M, tw = (c->ow + M - 1) / M, oy = M * (t / tw), ox = M * (t % tw);
	return (struct wino_tile){ .pix = (img * c->oh + oy) * c->ow + ox,
	                           .rows = c->oh - oy < M ? c->oh - oy : M,
	                           .width = c->ow - ox < M ? c->ow - ox : M };
}

/* Columns [j0, j1) of a block of tiles (kind: the output stage's). */
DNNQ_AVX2_INLINE void wino_panels(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                  const struct dnnq_gemm_job *job,
                                  size_t img, size_t t0, size_t tiles, const int16_t *v,
                                  int32_t *m, size_t j0, size_t j1)
{
	const size_t np = WINO_P, ms = np * 16, cin = c->d.cin, nq = (cin + 1) / 2;
	const int16_t *wino = c->wino;
	const int32_t *sum128 =
		(const int32_t *)(const void *)(wino + np * wino_per(c->d.cout, cin));
	for (size_t jp = j0; jp < j1; jp += 16) {
		struct dnnq_avx2_cols cols[2];
		__m256i colw[2];
		size_t halves = wino_cols(job, jp, j1 - jp < 16 ? j1 - jp : 16, sum128 + jp, cols,
		                          colw);
		for (size_t p = 0; p < np; p++) {
			const int16_t *w = wino + (jp / 16 * np + p) * nq * 32;
			const int16_t *vp = v + p * wino_vs(tiles, cin);
			int32_t *mp = m + p * 16;
			/* the next position's weights, but after the last
			 * panel's last: its prefetch pointers, up to 64 nq
			 * bytes past U, would leave the blob (past sum128's
			 * 4 npad bytes: a pointer past its object, UB however
			 * harmless the prefetch) */
			wino_position(p + 1 < np || jp + 16 < c->d.cout, tiles, vp, cin, nq, w, mp, ms);
		}
		/* each output row of a tile from A'^T's second pass straight
		 * to the output stage */
		for (size_t t = 0; t < tiles; t++) {
			__m256i tc[2][24];
			wino_out_cols(m + t * ms, 0, tc[0]);
			wino_out_cols(m + t * ms, 1, tc[1]);
			struct wino_tile at = wino_tile_at(c, img, t0 + t);
			for (size_t i = 0; i < at.rows; i++) {
				__m256i y[2][4];
				wino_out_row(tc[0], i, y[0]);
				wino_out_row(tc[1], i, y[1]);
				wino_store_row(kind, job, cols, halves, colw, at.pix + i * c->ow,
				               at.width, y[0], y[1]);
			}
		}
	}
}

/* U's row of position i * 6 + j, j < 6: G' (x0, x1, x2), G''s rows
 * (dnnq_wino_pack_avx2's g4) x0, -x0 - x1 - x2, -x0 + x1 - x2, x0 + 2 x1 +
 * 4 x2, x0 - 2 x1 + 4 x2, x2 (|G' g G'^T| <= 49 * 128 fits), stored at u
 * + j * WINO_FLY_US. */
DNNQ_AVX2_INLINE void wino_g_row(__m256i x0, __m256i x1, __m256i x2, int16_t *u)
{
	__m256i s02 = _mm256_add_epi16(x0, x2);
	_mm256_storeu_si256((__m256i *)u, x0);
	_mm256_storeu_si256((__m256i *)(u + 5 * WINO_FLY_US), x2);
	_mm256_storeu_si256((__m256i *)(u + WINO_FLY_US),
	                    _mm256_sub_epi16(_mm256_sub_epi16(_mm256_setzero_si256(), s02), x1));
	_mm256_storeu_si256((__m256i *)(u + 2 * WINO_FLY_US), _mm256_sub_epi16(x1, s02));
	__m256i q = _mm256_add_epi16(x0, _mm256_slli_epi16(x2, 2)), h = _mm256_add_epi16(x1, x1);
	_mm256_storeu_si256((__m256i *)(u + 3 * WINO_FLY_US), _mm256_add_epi16(q, h));
	_mm256_storeu_si256((__m256i *)(u + 4 * WINO_FLY_US), _mm256_sub_epi16(q, h));
}

/* U = G' g G'^T of nqc pairs of a panel (w8 at the first, its int8 layout:
 * dnnq_wino_fly_pack_avx2) into u: position p's pair q at u + p *
 * WINO_FLY_US + q * 32, as dnnq_wino_pack_avx2's (8 columns a half,
 * sign-extended). Row by row of G' g, so that the live vectors fit the 16
 * registers: the kernel's rows 0 and 2 (U's rows 0 and 5), then the sums
 * rows 1 to 4 share. The constant stride keeps the 36 positions' stores
 * at offsets of one pointer. Unused on the VNNI table (packed only). */
__attribute__((unused)) static void wino_fly_u(const int8_t *w8, size_t nqc, int16_t *u)
{
	for (size_t q = 0; q < nqc; q++, w8 += 9 * 32)
		for (size_t h = 0; h < 2; h++) {
			const int8_t *g = w8 + h * 16;
			int16_t *uq = u + q * 32 + h * 16;
			__m256i g0[3], g1[3], g2[3], s[3], e[3];
#pragma GCC unroll 3
			for (size_t k = 0; k < 3; k++) {
				g0[k] = _mm256_cvtepi8_epi16(
					_mm_loadu_si128((const __m128i *)(g + k * 32)));
				g1[k] = _mm256_cvtepi8_epi16(
					_mm_loadu_si128((const __m128i *)(g + (3 + k) * 32)));
				g2[k] = _mm256_cvtepi8_epi16(
					_mm_loadu_si128((const __m128i *)(g + (6 + k) * 32)));
			}
			wino_g_row(g0[0], g0[1], g0[2], uq);
			wino_g_row(g2[0], g2[1], g2[2], uq + 30 * WINO_FLY_US);
#pragma GCC unroll 3
			for (size_t k = 0; k < 3; k++) {
				s[k] = _mm256_add_epi16(g0[k], g2[k]);
				e[k] = _mm256_add_epi16(g0[k], _mm256_slli_epi16(g2[k], 2));
			}
			const __m256i zero = _mm256_setzero_si256();
			wino_g_row(_mm256_sub_epi16(_mm256_sub_epi16(zero, s[0]), g1[0]),
			           _mm256_sub_epi16(_mm256_sub_epi16(zero, s[1]), g1[1]),
			           _mm256_sub_epi16(_mm256_sub_epi16(zero, s[2]), g1[2]),
			           uq + 6 * WINO_FLY_US);
			wino_g_row(_mm256_sub_epi16(g1[0], s[0]), _mm256_sub_epi16(g1[1], s[1]),
			           _mm256_sub_epi16(g1[2], s[2]), uq + 12 * WINO_FLY_US);
#pragma GCC unroll 3
			for (size_t k = 0; k < 3; k++)
				g1[k] = _mm256_add_epi16(g1[k], g1[k]);
			wino_g_row(_mm256_add_epi16(e[0], g1[0]), _mm256_add_epi16(e[1], g1[1]),
			           _mm256_add_epi16(e[2], g1[2]), uq + 18 * WINO_FLY_US);
			wino_g_row(_mm256_sub_epi16(e[0], g1[0]), _mm256_sub_epi16(e[1], g1[1]),
			           _mm256_sub_epi16(e[2], g1[2]), uq + 24 * WINO_FLY_US);
		}
}

/* Columns [j0, j1) of a block of tiles by F(4, 3) on the fly: per panel
 * and chunk of pairs its U (wino_fly_u), the 36 positions' products and
 * each tile's S' of the chunk (wino_output: exact per chunk) summed in s,
 * then the output stage. */
DNNQ_AVX2_INLINE void wino_fly_panels(const enum dnnq_avx2_kind kind, const struct dnnq_conv *c,
                                      const struct dnnq_gemm_job *job, size_t img, size_t t0,
                                      size_t tiles, const int16_t *v, int32_t *m, int16_t *u,
                                      __m256i (*s)[2][16], size_t j0, size_t j1)
{
	const size_t np = WINO_P, ms = np * 16, cin = c->d.cin, nq = (cin + 1) / 2;
	const size_t per = wino_fly_per(cin), pb = wino_fly_panel_bytes(cin);
	const int8_t *w8 = c->wino;
	const int8_t *end = w8 + (c->d.cout + 15) / 16 * pb;
	const int32_t *sum128 = (const int32_t *)(const void *)end;
	for (size_t jp = j0; jp < j1; jp += 16) {
		struct dnnq_avx2_cols cols[2];
		__m256i colw[2];
		size_t halves = wino_cols(job, jp, j1 - jp < 16 ? j1 - jp : 16, sum128 + jp, cols,
		                          colw);
		for (size_t q0 = 0; q0 < nq; q0 += per) {
			size_t nqc = nq - q0 < per ? nq - q0 : per;
			const int8_t *w = w8 + jp / 16 * pb + q0 * 9 * 32;
			wino_fly_u(w, nqc, u);
			/* the next chunk's int8 weights (or the next panel's
			 * first), a share each position, into L2: from memory
			 * in the model, the transform waited on them */
			const int8_t *next = w + nqc * 9 * 32;
			size_t ahead = next < end ? (size_t)(end - next) : 0;
			size_t lines = (ahead < per * 9 * 32 ? ahead : per * 9 * 32) / 64;
			for (size_t p = 0; p < np; p++) {
				const int16_t *vp = v + p * wino_vs(tiles, cin) + 2 * q0;
				for (size_t l = p * lines / np; l < (p + 1) * lines / np; l++)
					_mm_prefetch((const char *)(next + l * 64), _MM_HINT_T1);
				/* no prefetch: U is in L2 */
				wino_position(false, tiles, vp, cin, nqc, u + p * WINO_FLY_US, m + p * 16,
				              ms);
			}
			for (size_t t = 0; t < tiles; t++)
				for (size_t h = 0; h < 2; h++) {
					__m256i y[16];
					wino_output(m + t * ms, h, y);
					for (size_t i = 0; i < 16; i++)
						s[t][h][i] = q0 ? _mm256_add_epi32(s[t][h][i], y[i]) : y[i];
				}
		}
		for (size_t t = 0; t < tiles; t++) {
			struct wino_tile at = wino_tile_at(c, img, t0 + t);
			for (size_t i = 0; i < at.rows; i++)
				wino_store_row(kind, job, cols, halves, colw, at.pix + i * c->ow,
				               at.width, s[t][0] + i * WINO_M, s[t][1] + i * WINO_M);
		}
	}
}

/* wino_fly_panels or wino_panels. */
DNNQ_AVX2_INLINE void wino_panels_of(const enum dnnq_avx2_kind kind, const bool fly,
                                     const struct dnnq_conv *c, const struct dnnq_gemm_job *job,
                                     size_t img, size_t t0, size_t tiles, const int16_t *v,
                                     int32_t *m, int16_t *u, __m256i (*s)[2][16], size_t j0,
                                     size_t j1)
{
	if (fly)
		wino_fly_panels(kind, c, job, img, t0, tiles, v, m, u, s, j0, j1);
	else
		wino_panels(kind, c, job, img, t0, tiles, v, m, j0, j1);
}

/* One block, its weights packed or on the fly (dnnq_wino_avx2; the VNNI
 * table packed only). */
DNNQ_AVX2_INLINE void wino_block(const bool fly, const struct dnnq_conv *c, size_t img, size_t t0,
                                 size_t tiles, size_t j0, size_t j1, void *scratch)
{
	int16_t *v = scratch;
	int32_t *m = (int32_t *)(void *)((char *)scratch + wino_v_bytes(tiles, c->d.cin));
	/* on the fly, U and S' then (dnnq_wino_scratch_bytes) */
	int16_t *u = (int16_t *)(void *)(m + tiles * WINO_P * 16);
	__m256i(*s)[2][16] = (__m256i(*)[2][16])(void *)((char *)u + (fly ? WINO_FLY_U_BYTES : 0));
	wino_input(c, img, t0, tiles, v);
	/* a local copy, as in dnnq_dw_row_avx2 */
	const struct dnnq_gemm_output out = c->gout[0];
	const struct dnnq_gemm_job job = { .w = &c->gw[0], .c = c->out, .ldc = c->d.cout,
	                                   .out = &out };
	/* the stores pack with saturation (dnnq_avx2_store_panel) */
	enum dnnq_avx2_kind kind = dnnq_avx2_packed_kind_of(&out, j0, j1);
	if (kind == DNNQ_AVX2_U8_FLOAT_FULL)
		wino_panels_of(DNNQ_AVX2_U8_FLOAT_FULL, fly, c, &job, img, t0, tiles, v, m, u, s, j0,
		               j1);
	else
		wino_panels_of(kind, fly, c, &job, img, t0, tiles, v, m, u, s, j0, j1);
}

#endif
