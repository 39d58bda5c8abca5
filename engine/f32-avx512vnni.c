/*
 * The fp32 twins' AVX-512 product (engine/f32-kernels.h): c = a times B,
 * B packed once when the operator is created (panels of DNNQ_F32_NR
 * columns, k x DNNQ_F32_NR floats each, zero past n), a read in place (an
 * im2col block, or the NHWC activations of a 1x1 convolution).
 *
 * A tile is MR rows by one panel: MR x 2 accumulators, each k step two
 * loads of B, MR broadcasts of a and 2 MR FMAs. k goes by KC (a panel's
 * KC x 32 floats stay in L1 while every tile of the block uses them), the
 * tile written back between blocks: each element is the FMA chain of its
 * k terms in k order whatever m, n and the caller's blocking, so results
 * depend on the shapes only (not the thread count). The epilogue (bias,
 * ReLU, Clip) is applied to the last block's tile before it is stored.
 */
#include <immintrin.h>

#include "engine/f32-kernels.h"

#define MR 12
#define KC 256
#define DW_VECTORS 4   /* depthwise: vectors of 16 channels a pass */
#define NR DNNQ_F32_NR

/* The epilogue of one vector: the operations of engine/f32-avx2.c's epi,
 * in its order (bias: its 16 columns, or NULL). */
static inline __m512 post(__m512 t, const __m512 *bias, const struct dnnq_f32_epi *e)
{
	if (bias)
		t = _mm512_add_ps(t, *bias);
	if (e->relu)
		t = _mm512_max_ps(_mm512_setzero_ps(), t);
	if (e->clip)
		t = _mm512_min_ps(_mm512_set1_ps(e->clip->max),
		                  _mm512_max_ps(_mm512_set1_ps(e->clip->min), t));
	return t;
}

/* mr rows of c, one panel: c = c (0 when first) + a times b over kc, then
 * e's epilogue when e is not NULL (the last k block). */
static inline __attribute__((always_inline)) void tile(size_t mr, size_t kc, bool first,
                                                       const float *a, size_t lda,
                                                       const float *b, float *c, size_t ldc,
                                                       __mmask16 m0, __mmask16 m1,
                                                       const struct dnnq_f32_epi *e)
{
	__m512 acc[MR][2];
#pragma GCC unroll 12
	for (size_t i = 0; i < mr; i++) {
		acc[i][0] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, c + i * ldc);
		acc[i][1] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, c + i * ldc + 16);
	}
	for (size_t p = 0; p < kc; p++) {
		__m512 b0 = _mm512_load_ps(b + p * NR), b1 = _mm512_load_ps(b + p * NR + 16);
#pragma GCC unroll 12
		for (size_t i = 0; i < mr; i++) {
			__m512 ai = _mm512_set1_ps(a[i * lda + p]);
			acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
			acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
		}
	}
	if (e) {
		__m512 b0 = e->bias ? _mm512_maskz_loadu_ps(m0, e->bias) : _mm512_setzero_ps();
		__m512 b1 = e->bias ? _mm512_maskz_loadu_ps(m1, e->bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
		for (size_t i = 0; i < mr; i++) {
			acc[i][0] = post(acc[i][0], e->bias ? &b0 : NULL, e);
			acc[i][1] = post(acc[i][1], e->bias ? &b1 : NULL, e);
		}
	}
#pragma GCC unroll 12
	for (size_t i = 0; i < mr; i++) {
		_mm512_mask_storeu_ps(c + i * ldc, m0, acc[i][0]);
		_mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc[i][1]);
	}
}

/* One tile of mr rows, mr a constant in each case (the unrolled loops). */
#define TILE_CASE(r) \
	case r: \
		tile(r, kc, first, a, lda, b, c, ldc, m0, m1, e); \
		break;

static void tile_any(size_t mr, size_t kc, bool first, const float *a, size_t lda,
                     const float *b, float *c, size_t ldc, __mmask16 m0, __mmask16 m1,
                     const struct dnnq_f32_epi *e)
{
	switch (mr) {
	TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
	TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
	}
}

static __mmask16 lanes(size_t n)
{
	return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

void dnnq_f32_gemm_pk_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda,
                             const float *bp, float *c, size_t ldc,
                             const struct dnnq_f32_epi *epi)
{
	for (size_t k0 = 0; k0 < k; k0 += KC) {
		size_t kc = k - k0 < KC ? k - k0 : KC;
		for (size_t j0 = 0; j0 < n; j0 += NR) {
			size_t nc = n - j0 < NR ? n - j0 : NR;
			__mmask16 m0 = lanes(nc), m1 = lanes(nc > 16 ? nc - 16 : 0);
			const float *b = bp + j0 * k + k0 * NR;
			struct dnnq_f32_epi e = { epi->bias ? epi->bias + j0 : NULL, epi->relu,
			                          epi->clip };
			bool last = k0 + kc == k && (e.bias || e.relu || e.clip);
			for (size_t i0 = 0; i0 < m; i0 += MR)
				tile_any(m - i0 < MR ? m - i0 : MR, kc, k0 == 0, a + i0 * lda + k0, lda, b,
				         c + i0 * ldc + j0, ldc, m0, m1, last ? &e : NULL);
		}
	}
}

/* nv vectors of channels from ch (the last one's lanes m): the taps in
 * order, the vectors' chains interleaved. */
static inline __attribute__((always_inline)) void dw_block(size_t nv, const struct dnnq_f32_win *win,
                                                           const float *w, size_t wsh,
                                                           size_t wsw, __mmask16 m, float *y)
{
	__m512 s[DW_VECTORS];
	const float *x = win->x;
	size_t nh = win->nh, nw = win->nw, sh = win->sh, sw = win->sw;
#pragma GCC unroll 4
	for (size_t v = 0; v < nv; v++)
		s[v] = _mm512_setzero_ps();
	for (size_t i = 0; i < nh; i++)
		for (size_t j = 0; j < nw; j++) {
			const float *xt = x + i * sh + j * sw, *wt = w + i * wsh + j * wsw;
#pragma GCC unroll 4
			for (size_t v = 0; v < nv; v++) {
				__mmask16 mv = v + 1 < nv ? (__mmask16)0xffff : m;
				s[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mv, xt + 16 * v),
				                       _mm512_maskz_loadu_ps(mv, wt + 16 * v), s[v]);
			}
		}
#pragma GCC unroll 4
	for (size_t v = 0; v < nv; v++)
		_mm512_mask_storeu_ps(y + 16 * v, v + 1 < nv ? (__mmask16)0xffff : m, s[v]);
}

#define DW_CASE(v) \
	case v: \
		dw_block(v, &at, w + ch, wsh, wsw, m, y + ch); \
		break;

/* engine/f32-avx2.c's depthwise kernel 16 channels a vector, DW_VECTORS
 * vectors a pass, the channels past the last 16 masked: the same FMA chain
 * for every channel. */
void dnnq_f32_dw_avx512(const struct dnnq_f32_win *win, const float *w, size_t wsh,
                        size_t wsw, size_t c, float *y)
{
	for (size_t ch = 0; ch < c; ch += 16 * DW_VECTORS) {
		size_t left = c - ch, nv = left < 16 * DW_VECTORS ? (left + 15) / 16 : DW_VECTORS;
		__mmask16 m = lanes(left - 16 * (nv - 1));
		struct dnnq_f32_win at = { win->x + ch, win->nh, win->nw, win->sh, win->sw };
		switch (nv) {
		DW_CASE(1) DW_CASE(2) DW_CASE(3) DW_CASE(4)
		}
	}
}
