/*
 * dw_32c4__avx512vnni, the depthwise kernel of DNNQ_ISA_AVX512VNNI's table:
 * 32 channels of one output pixel a step, the taps in fours. The four taps'
 * 32 input bytes are interleaved per channel (two rounds of unpacks, within
 * 128-bit lanes) into four vectors whose 32-bit lanes hold one channel's
 * four inputs, and one vpdpbusd per vector adds their products with the
 * channel's four s8 weights into int32 (nothing to saturate: exact). The
 * unpacks leave channel 16L + 4j + i in lane (L, i) of vector j; the
 * weights are packed in that order, and two lane permutes per 16 channels
 * restore the natural one for the output stage (the VNNI GEMM's,
 * engine/gemm-avx512.h, its per-channel operands loaded once per row: the
 * same bits as scalar). Vectors are 256 bits (AVX-512 VL): a 32-channel
 * block wastes less of MobileNet's 32, 96 and 144 channels than 64, and
 * Zen 4 runs 512-bit operations at half rate anyway. The last block's
 * loads are masked (AVX-512 BW); padded taps read the zero-point pixel;
 * the tap count's padding to four reads tap 0 again, with weight 0.
 */
#include <immintrin.h>

#include "engine/conv-kernels.h"
#include "engine/gemm-avx2.h"
#include "engine/gemm-avx512.h"

/* Groups of 4 taps, blocks of 32 channels: byte
 * (((q * nb + b) * 4 + j) * 8 + 4L + i) * 4 + e = w[ch][4q + e] with
 * ch = 32b + 16L + 4j + i (0 past the taps or cout). */
size_t dnnq_dw_pack_avx512vnni(const int8_t *w, size_t cout, size_t taps, void *dst)
{
	size_t nb = (cout + 31) / 32, nq = (taps + 3) / 4, bytes = nq * nb * 128;
	if (dst) {
		int8_t *p = dst;
		memset(p, 0, bytes);
		for (size_t ch = 0; ch < cout; ch++) {
			size_t b = ch / 32, l = ch % 32 / 16, j = ch % 16 / 4, i = ch % 4;
			for (size_t t = 0; t < taps; t++)
				p[((((t / 4) * nb + b) * 4 + j) * 8 + 4 * l + i) * 4 + t % 4] =
					w[ch * taps + t];
		}
	}
	return bytes;
}

/* Sums (and with xs input sums) of the block's channels, in the packed
 * order, of the pixel whose nq tap groups tab points at. */
DNNQ_AVX512_INLINE void block32(const uint8_t *const *tab, ptrdiff_t off, size_t nq, size_t rest,
                                const int8_t *w, size_t nb, size_t c0, __mmask32 m, bool xs,
                                __m256i s[4], __m256i x[4])
{
	const __m256i one4 = _mm256_set1_epi8(1);
	/* the last group's bytes past the taps are not taps */
	const __m256i onel = _mm256_set1_epi32((int32_t)(0xffffffffu >> (8 * (4 - rest)) & 0x01010101u));
#pragma GCC unroll 4
	for (int j = 0; j < 4; j++)
		s[j] = x[j] = _mm256_setzero_si256();
	for (size_t q = 0; q < nq; q++) {
		const uint8_t *const *t = tab + 4 * q;
		ptrdiff_t o = off + (ptrdiff_t)c0;
		__m256i a = _mm256_maskz_loadu_epi8(m, t[0] + o), b = _mm256_maskz_loadu_epi8(m, t[1] + o);
		__m256i c = _mm256_maskz_loadu_epi8(m, t[2] + o), d = _mm256_maskz_loadu_epi8(m, t[3] + o);
		__m256i ab0 = _mm256_unpacklo_epi8(a, b), ab1 = _mm256_unpackhi_epi8(a, b);
		__m256i cd0 = _mm256_unpacklo_epi8(c, d), cd1 = _mm256_unpackhi_epi8(c, d);
		__m256i v[4] = { _mm256_unpacklo_epi16(ab0, cd0), _mm256_unpackhi_epi16(ab0, cd0),
		                 _mm256_unpacklo_epi16(ab1, cd1), _mm256_unpackhi_epi16(ab1, cd1) };
		const int8_t *wq = w + (q * nb + c0 / 32) * 128;
		__m256i ones = q + 1 == nq ? onel : one4;
#pragma GCC unroll 4
		for (int j = 0; j < 4; j++) {
			s[j] = _mm256_dpbusd_epi32(s[j], v[j],
			                           _mm256_loadu_si256((const __m256i *)(wq + 32 * j)));
			if (xs)
				x[j] = _mm256_dpbusd_epi32(x[j], v[j], ones);
		}
	}
}

/* Lane (L, i) of vector j holds channel 16L + 4j + i: the natural order,
 * eight channels a vector. */
DNNQ_AVX512_INLINE void natural(const __m256i v[4], __m256i n[4])
{
	n[0] = _mm256_permute2x128_si256(v[0], v[1], 0x20);
	n[1] = _mm256_permute2x128_si256(v[2], v[3], 0x20);
	n[2] = _mm256_permute2x128_si256(v[0], v[1], 0x31);
	n[3] = _mm256_permute2x128_si256(v[2], v[3], 0x31);
}

/* Channels k->j.. (cnt <= 16) of output pixel i from their sums in two
 * natural-order vectors, all but u8 by float requantization (store32_u8):
 * the AVX-512 output stage, or the AVX2 one for fixed-point
 * requantization. */
DNNQ_AVX512_INLINE void store16(const struct dnnq_gemm_job *job, const struct dnnq_avx512_cols *k,
                                const __m256i s[2], const __m256i x[2], size_t i, size_t cnt)
{
	const struct dnnq_gemm_output *o = job->out;
	if (o->dtype == DNNQ_DTYPE_U8 && o->rq.kind == DNNQ_REQUANT_FIXED) {
		dnnq_avx2_gemm_store8(s[0], i, k->j, cnt < 8 ? cnt : 8, x[0], job);
		if (cnt > 8)
			dnnq_avx2_gemm_store8(s[1], i, k->j + 8, cnt - 8, x[1], job);
		return;
	}
	dnnq_avx512_gemm_store16(job, k, _mm512_inserti64x4(_mm512_castsi256_si512(s[0]), s[1], 1),
	                         i, _mm512_inserti64x4(_mm512_castsi256_si512(x[0]), x[1], 1));
}

/* The block's channels (mask m) of output pixel i, u8 by float
 * requantization, from their sums in natural order: both halves' bytes
 * packed (dnnq_avx512_pack_u8) for one store. */
DNNQ_AVX512_INLINE void store32_u8(const struct dnnq_gemm_job *job,
                                   const struct dnnq_avx512_cols k[2],
                                   const struct dnnq_avx512_u8 *u, const __m256i s[4],
                                   const __m256i x[4], size_t i, __mmask32 m)
{
	__m512i q[4] = { _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
	                 _mm512_setzero_si512() };
#pragma GCC unroll 2
	for (int h = 0; h < 2; h++) {
		__m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(s[2 * h]), s[2 * h + 1], 1);
		v = _mm512_add_epi32(v, k[h].add);
		if (job->out->nwzp)
			v = _mm512_sub_epi32(v, _mm512_mullo_epi32(k[h].zw,
			        _mm512_inserti64x4(_mm512_castsi256_si512(x[2 * h]), x[2 * h + 1], 1)));
		q[h] = dnnq_avx512_u8_float(u, v, k[h].mult);
	}
	_mm256_mask_storeu_epi8((uint8_t *)job->c + i * job->ldc + k[0].j, m,
	                        _mm512_castsi512_si256(dnnq_avx512_pack_u8(q)));
}

/* One block of n channels from c0 over the row's pixels; full: n is 32;
 * u8f: u8 outputs by float requantization (store32_u8). */
DNNQ_AVX512_INLINE void row_block(const struct dnnq_conv *c, const struct dnnq_dw_taps *tt,
                                  size_t nq, size_t rest, size_t c0, const bool full, size_t n,
                                  const bool u8f, const struct dnnq_gemm_job *job, size_t i0)
{
	const size_t nb = (c->d.cout + 31) / 32, n0 = full || n >= 16 ? 16 : n;
	const size_t n1 = full ? 16 : n > 16 ? n - 16 : 0;
	const bool xs = job->out->nwzp != 0;
	const __mmask32 m = (__mmask32)(full ? 0xffffffffu : (1u << n) - 1);
	const struct dnnq_avx512_cols k[2] = { dnnq_avx512_gemm_cols(job, c0, n0),
	                                       dnnq_avx512_gemm_cols(job, c0 + 16, n1) };
	const struct dnnq_avx512_u8 u = dnnq_avx512_u8_of(&job->out->rq);
	for (size_t ox = 0; ox < c->ow; ox++) {
		__m256i s[4], x[4], sn[4], xn[4];
		ptrdiff_t off;
		const uint8_t *const *tab = dnnq_dw_pixel(tt, ox, &off);
		block32(tab, off, nq, rest, c->dw_w, nb, c0, m, xs, s, x);
		natural(s, sn);
		natural(x, xn);
		if (u8f) {
			store32_u8(job, k, &u, sn, xn, i0 + ox, m);
			continue;
		}
		store16(job, &k[0], sn, xn, i0 + ox, n0);
		if (n1)
			store16(job, &k[1], sn + 2, xn + 2, i0 + ox, n1);
	}
}

void dnnq_dw_row_avx512vnni(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0,
                            size_t c1, void *scratch)
{
	const size_t taps = c->d.kh * c->d.kw, nq = (taps + 3) / 4;
	const size_t rest = taps - 4 * (nq - 1), i0 = (img * c->oh + oy) * c->ow;
	const struct dnnq_dw_taps tt = dnnq_dw_tap_table(c, img, oy, 4 * nq, scratch);
	/* a local copy: the output stores cannot change it, so its loads and
	 * broadcasts leave the loops */
	const struct dnnq_gemm_output out = c->gout[0];
	struct dnnq_gemm_job job = dnnq_dw_job(c);
	job.out = &out;
	const bool u8f = out.dtype == DNNQ_DTYPE_U8 && out.rq.kind == DNNQ_REQUANT_FLOAT;
	for (; c0 + 32 <= c1; c0 += 32) {
		if (u8f)
			row_block(c, &tt, nq, rest, c0, true, 32, true, &job, i0);
		else
			row_block(c, &tt, nq, rest, c0, true, 32, false, &job, i0);
	}
	if (c0 < c1)
		row_block(c, &tt, nq, rest, c0, false, c1 - c0, u8f, &job, i0);
}
