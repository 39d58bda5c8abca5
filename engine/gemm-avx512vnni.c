/*
 * gemm_6x64c4__avx512vnni, the GEMM kernel of DNNQ_ISA_AVX512VNNI's table
 * (engine/kernels.c), on the AVX2 panel layout (gemm-avx2.c): a panel row
 * of one group of 4 k is 16 columns x 4 bytes = one zmm, so a tile of up
 * to 6 rows x 4 panels takes per group one weight load per panel, one
 * 4-byte activation broadcast per row and one vpdpbusd per row and panel: 64
 * multiply-adds an instruction into int32 lanes. vpdpbusd has no 16-bit
 * intermediate, so there is nothing to saturate and no split path. u8
 * outputs by float requantization of symmetric weights go from the
 * accumulators to the output stage (struct direct), other outputs' raw
 * sums through a small tile (engine/gemm-avx512.h; u8 by fixed point: the
 * AVX2 one); either gives the scalar's bits.
 */
#include <immintrin.h>
#include <string.h>

#include "engine/gemm-avx512.h"

#define INLINE static inline __attribute__((always_inline))
#define VMR 6

/* The raw sums of mr rows x np panels (np 1, 2 or 4; the panels after the
 * first always full, pstride bytes apart; the first gstride bytes a group,
 * masked by m0) into tile (row stride TILE_LD). Few rows get more panels, so
 * the independent accumulators still hide vpdpbusd's latency. */
#define TILE_LD 64

/* Group g of the tile: nb (1..4) bytes of each row against the panels. */
INLINE void step(const int mr, const int np, const uint8_t *const *ar, size_t g, const size_t nb,
                 const int8_t *b0, size_t pstride, size_t gstride, __mmask16 m0,
                 __m512i c[VMR][4])
{
	__m512i wv[4];
	wv[0] = _mm512_maskz_loadu_epi32(m0, b0 + g * gstride);
#pragma GCC unroll 4
	for (int p = 1; p < np; p++)
		wv[p] = _mm512_loadu_si512(b0 + p * pstride + g * 64);
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++) {
		__m512i av = _mm512_set1_epi32(dnnq_load4(ar[r] + 4 * g, nb));
#pragma GCC unroll 4
		for (int p = 0; p < np; p++)
			c[r][p] = _mm512_dpbusd_epi32(c[r][p], av, wv[p]);
	}
}

/* The direct output stage (u8 by float requantization, symmetric weights:
 * most convolutions): the accumulators go from registers, with the column
 * term added, to dnnq_avx512_u8_float and one store a row, masked to
 * width; no tile, and the column operands loaded once per column block
 * (store_u8_rows takes both a tile: ResNet-18's downsamples, K 64-256,
 * docs/gemm.md). Accumulators that started from the column term had GCC
 * copy and spill them in the K loop. */
struct direct {
	__m512i add[4];
	__m512 mult[4];
	struct dnnq_avx512_u8 u;
	uint8_t *c;                 /* the tile's first output row */
	size_t ldc;
	__mmask64 m;
};

INLINE void tile_zero(const int mr, const int np, __m512i c[VMR][4])
{
#pragma GCC unroll 6
	for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
		for (int p = 0; p < np; p++)
			c[r][p] = _mm512_setzero_si512();
}

/* The tile's end: with d its u8 outputs, else its raw sums into tile (row
 * stride TILE_LD). */
INLINE void tile_end(const int mr, const int np, const struct direct *d, __m512i c[VMR][4],
                     int32_t *tile)
{
#pragma GCC unroll 6
	for (int r = 0; r < mr; r++) {
		if (!d) {
#pragma GCC unroll 4
			for (int p = 0; p < np; p++)
				_mm512_storeu_si512(tile + r * TILE_LD + 16 * p, c[r][p]);
			continue;
		}
		__m512i q[4];
#pragma GCC unroll 4
		for (int p = 0; p < 4; p++)
			q[p] = p < np ? dnnq_avx512_u8_float(&d->u, _mm512_add_epi32(c[r][p],
			                                                              d->add[p]),
			                                     d->mult[p])
			              : _mm512_setzero_si512();
		_mm512_mask_storeu_epi8(d->c + r * d->ldc, d->m, dnnq_avx512_pack_u8(q));
	}
}

INLINE void kernel(const int mr, const int np, const uint8_t *a, size_t lda,
                   const int8_t *b0, size_t pstride, size_t gstride, __mmask16 m0,
                   size_t k, const struct direct *d, int32_t *tile)
{
	const uint8_t *ar[VMR];
	__m512i c[VMR][4];
#pragma GCC unroll 12
	for (int r = 0; r < mr; r++)
		ar[r] = a + r * lda;
	tile_zero(mr, np, c);
	size_t kfull = k / 4;
	for (size_t g = 0; g < kfull; g++)
		step(mr, np, ar, g, 4, b0, pstride, gstride, m0, c);
	/* the partial group after the loop: inside it (a test per group) GCC
	 * kept one of the 6 x 4 tile's accumulators on the stack, a load and a
	 * store around its vpdpbusd every group */
	if (k % 4)
		step(mr, np, ar, kfull, k % 4, b0, pstride, gstride, m0, c);
	tile_end(mr, np, d, c, tile);
}

#define KERNEL(MR, D)                                                                    \
	if (np == 4)                                                                     \
		kernel(MR, 4, a, lda, b0, pstride, 64, 0xffff, k, D, tile);              \
	else if (np == 2)                                                                \
		kernel(MR, 2, a, lda, b0, pstride, 64, 0xffff, k, D, tile);              \
	else                                                                             \
		kernel(MR, 1, a, lda, b0, pstride, gstride, m0, k, D, tile);
#define CASE(MR)                                                                         \
	case MR:                                                                         \
		if (d) {                                                                 \
			KERNEL(MR, d)                                                    \
		} else {                                                                 \
			KERNEL(MR, NULL)                                                 \
		}                                                                        \
		break;

static void tile_sums(int mr, int np, const uint8_t *a, size_t lda, const int8_t *b0,
                      size_t pstride, size_t gstride, __mmask16 m0, size_t k,
                      const struct direct *d, int32_t *tile)
{
	switch (mr) {
	CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
	}
}

/* u8 outputs by float requantization with weight zero points (the row
 * sums; without them: struct direct), a tile row of nv x 16 columns
 * (width of them) at a time (dnnq_avx512_u8_float, dnnq_avx512_pack_u8),
 * one store a row. */
INLINE void store_u8_rows(const int nv, const struct dnnq_gemm_job *job, size_t i0, size_t mr,
                          size_t j0, size_t width, const int32_t *tile, const int32_t *rowsum)
{
	const struct dnnq_gemm_output *o = job->out;
	const struct dnnq_avx512_u8 u = dnnq_avx512_u8_of(&o->rq);
	const bool wzp = o->nwzp != 0;
	const __mmask64 m = width >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << width) - 1;
	struct dnnq_avx512_cols k[4];
#pragma GCC unroll 4
	for (int h = 0; h < nv; h++)
		k[h] = dnnq_avx512_gemm_cols(job, j0 + 16 * (size_t)h, width - 16 * (size_t)h);
	uint8_t *c = (uint8_t *)job->c + i0 * job->ldc + j0;
	for (size_t r = 0; r < mr; r++, c += job->ldc) {
		__m512i q[4];
		const __m512i xs = _mm512_set1_epi32(rowsum[r]);
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++) {
			if (h >= nv) {
				q[h] = _mm512_setzero_si512();
				continue;
			}
			__m512i v = _mm512_add_epi32(_mm512_load_si512(tile + r * TILE_LD + 16 * h),
			                             k[h].add);
			if (wzp)
				v = _mm512_sub_epi32(v, _mm512_mullo_epi32(k[h].zw, xs));
			q[h] = dnnq_avx512_u8_float(&u, v, k[h].mult);
		}
		_mm512_mask_storeu_epi8(c, m, dnnq_avx512_pack_u8(q));
	}
}

/* The tile's output stage: u8 by float requantization a tile row at a time
 * (store_u8_rows), by fixed point the AVX2 stage's, int32 and float 16
 * lanes at a time (dnnq_avx512_gemm_store16), each column block's operands
 * loaded once. */
INLINE void store_tile(const struct dnnq_gemm_job *job, size_t i0, size_t mr, size_t j0,
                       size_t width, const int32_t *tile, const int32_t *rowsum)
{
	const struct dnnq_gemm_output *o = job->out;
	if (o->dtype == DNNQ_DTYPE_U8 && o->rq.kind == DNNQ_REQUANT_FIXED) {
		dnnq_gemm_store_tile_avx2(job, i0, mr, j0, width, tile, TILE_LD, rowsum);
		return;
	}
	if (o->dtype == DNNQ_DTYPE_U8) {
		if (width > 32)
			store_u8_rows(4, job, i0, mr, j0, width, tile, rowsum);
		else if (width > 16)
			store_u8_rows(2, job, i0, mr, j0, width, tile, rowsum);
		else
			store_u8_rows(1, job, i0, mr, j0, width, tile, rowsum);
		return;
	}
	for (size_t h = 0; h * 16 < width; h++) {
		struct dnnq_avx512_cols k = dnnq_avx512_gemm_cols(job, j0 + 16 * h, width - 16 * h);
		for (size_t r = 0; r < mr; r++)
			dnnq_avx512_gemm_store16(job, &k, _mm512_loadu_si512(tile + r * TILE_LD + 16 * h),
			                         i0 + r, _mm512_set1_epi32(rowsum[r]));
	}
}

/* The direct output stage's operands for columns [j0, j0 + width) (np
 * panels) of job in *d, or NULL where it does not apply (store_tile's
 * other cases). */
INLINE struct direct *direct_of(const struct dnnq_gemm_job *job, int np, size_t j0,
                                size_t width, struct direct *d)
{
	const struct dnnq_gemm_output *o = job->out;
	if (o->dtype != DNNQ_DTYPE_U8 || o->rq.kind != DNNQ_REQUANT_FLOAT || o->nwzp)
		return NULL;
	for (int h = 0; h < np; h++) {
		struct dnnq_avx512_cols k = dnnq_avx512_gemm_cols(job, j0 + 16 * (size_t)h,
		                                                  width - 16 * (size_t)h);
		d->add[h] = k.add;
		d->mult[h] = k.mult;
	}
	d->u = dnnq_avx512_u8_of(&o->rq);
	d->ldc = job->ldc;
	d->m = width >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << width) - 1;
	return d;
}

void dnnq_gemm_6x64c4__avx512vnni(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                                  size_t j0, size_t j1)
{
	const struct dnnq_gemm_weights *w = job->w;
	int32_t rowsum[DNNQ_GEMM_MC] = { 0 };
	int32_t tile[VMR * TILE_LD] __attribute__((aligned(64)));
	size_t kpad = (w->k + 3) & ~(size_t)3;
	if (job->out->nwzp)
		dnnq_gemm_scan_avx2(job->a + i0 * job->lda, job->lda, i1 - i0, w->k, NULL, rowsum);
	for (size_t jp = j0; jp < j1;) {
		size_t rem = j1 - jp;
		/* four panels a step for up to 3 rows (weight streaming), else two */
		int np = rem >= 64 ? 4 : rem >= 32 ? 2 : 1;
		size_t width = np > 1 ? 16 * (size_t)np : rem < 16 ? rem : 16;
		const int8_t *b0 = w->data + dnnq_gemm_panel_bytes(jp, w->k);
		size_t pw = w->n - jp < 16 ? w->n - jp : 16;   /* the first panel's width */
		__mmask16 m0 = (__mmask16)((1u << pw) - 1);
		struct direct dd, *d = direct_of(job, np, jp, width, &dd);
		for (size_t i = i0; i < i1; i += VMR) {
			int mr = i1 - i < VMR ? (int)(i1 - i) : VMR;
			dd.c = (uint8_t *)job->c + i * job->ldc + jp;
			tile_sums(mr, np, job->a + i * job->lda, job->lda, b0, 16 * kpad, 4 * pw, m0,
			          w->k, d, tile);
			if (!d)
				store_tile(job, i, (size_t)mr, jp, width, tile, rowsum + (i - i0));
		}
		jp += width;
	}
}

/* kernel()'s sums of rows given as kh segments of seg bytes each (seg a
 * multiple of 4): row r's segment s at segs[r * kh + s], against the
 * weights' groups from s * seg / 4 on. A kernel of its own: the segment
 * loop in kernel() cost the plain GEMM's small-K 1x1 layers 4-5 % of
 * MobileNetV2's and mobilenet_v3_small's time (chrt, alternated). */
INLINE void kernel_segs(const int mr, const int np, const uint8_t *const *segs, size_t kh,
                        size_t seg, const int8_t *b0, size_t pstride, size_t gstride,
                        __mmask16 m0, const struct direct *d, int32_t *tile)
{
	__m512i c[VMR][4];
	tile_zero(mr, np, c);
	for (size_t s = 0, g0 = 0; s < kh; s++, g0 += seg / 4) {
		const uint8_t *ar[VMR];
#pragma GCC unroll 6
		for (int r = 0; r < mr; r++)
			ar[r] = segs[(size_t)r * kh + s];
		for (size_t g = 0; g < seg / 4; g++) {
			__m512i wv[4];
			wv[0] = _mm512_maskz_loadu_epi32(m0, b0 + (g0 + g) * gstride);
#pragma GCC unroll 4
			for (int p = 1; p < np; p++)
				wv[p] = _mm512_loadu_si512(b0 + p * pstride + (g0 + g) * 64);
#pragma GCC unroll 6
			for (int r = 0; r < mr; r++) {
				__m512i av = _mm512_set1_epi32(dnnq_load4(ar[r] + 4 * g, 4));
#pragma GCC unroll 4
				for (int p = 0; p < np; p++)
					c[r][p] = _mm512_dpbusd_epi32(c[r][p], av, wv[p]);
			}
		}
	}
	tile_end(mr, np, d, c, tile);
}

#define KERNEL_SEGS(MR, D)                                                               \
	if (np == 4)                                                                     \
		kernel_segs(MR, 4, segs, kh, seg, b0, pstride, 64, 0xffff, D, tile);     \
	else if (np == 2)                                                                \
		kernel_segs(MR, 2, segs, kh, seg, b0, pstride, 64, 0xffff, D, tile);     \
	else                                                                             \
		kernel_segs(MR, 1, segs, kh, seg, b0, pstride, gstride, m0, D, tile);
#define CASE_SEGS(MR)                                                                    \
	case MR:                                                                         \
		if (d) {                                                                 \
			KERNEL_SEGS(MR, d)                                               \
		} else {                                                                 \
			KERNEL_SEGS(MR, NULL)                                            \
		}                                                                        \
		break;

static void tile_sums_segs(int mr, int np, const uint8_t *const *segs, size_t kh, size_t seg,
                           const int8_t *b0, size_t pstride, size_t gstride, __mmask16 m0,
                           const struct direct *d, int32_t *tile)
{
	switch (mr) {
	CASE_SEGS(1) CASE_SEGS(2) CASE_SEGS(3) CASE_SEGS(4) CASE_SEGS(5) CASE_SEGS(6)
	}
}

void dnnq_gemm_segs_avx512vnni(const struct dnnq_gemm_weights *w, size_t m,
                               const uint8_t *const *segs, size_t kh, size_t seg, void *c,
                               size_t ldc, const struct dnnq_gemm_output *out, size_t j0,
                               size_t j1)
{
	struct dnnq_gemm_job job = { w, m, NULL, 0, c, ldc, out, DNNQ_GEMM_MC, w->n, 1, 1 };
	static const int32_t rowsum[VMR];       /* out->nwzp is 0: no row sums */
	int32_t tile[VMR * TILE_LD] __attribute__((aligned(64)));
	size_t kpad = (w->k + 3) & ~(size_t)3;
	for (size_t jp = j0; jp < j1;) {
		size_t rem = j1 - jp;
		int np = rem >= 64 ? 4 : rem >= 32 ? 2 : 1;
		size_t width = np > 1 ? 16 * (size_t)np : rem < 16 ? rem : 16;
		const int8_t *b0 = w->data + dnnq_gemm_panel_bytes(jp, w->k);
		size_t pw = w->n - jp < 16 ? w->n - jp : 16;
		__mmask16 m0 = (__mmask16)((1u << pw) - 1);
		struct direct dd, *d = direct_of(&job, np, jp, width, &dd);
		for (size_t i = 0; i < m; i += VMR) {
			int mr = m - i < VMR ? (int)(m - i) : VMR;
			dd.c = (uint8_t *)c + i * ldc + jp;
			tile_sums_segs(mr, np, segs + i * kh, kh, seg, b0, 16 * kpad, 4 * pw, m0, d,
			               tile);
			if (!d)
				store_tile(&job, i, (size_t)mr, jp, width, tile, rowsum);
		}
		jp += width;
	}
	dnnq_gemm_apply_post(w->isa, out, c, ldc, 0, m, j0, j1);
}

