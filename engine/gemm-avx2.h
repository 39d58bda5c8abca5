/*
 * engine/gemm-avx2.h — inline pieces shared by the AVX2 GEMM kernels
 * (gemm-avx2.c, the 32-bit one, and gemm-acc16-avx2.c, the 16-bit one).
 * Include only from translation units compiled with -mavx2.
 */
#ifndef DNNQ_ENGINE_GEMM_AVX2_H
#define DNNQ_ENGINE_GEMM_AVX2_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "engine/gemm-kernels.h"
#include "engine/quant-avx2.h"

#define DNNQ_AVX2_INLINE static inline __attribute__((always_inline))

/* Lanes [0, cnt) set, for masked loads and stores of a partial vector. */
DNNQ_AVX2_INLINE __m256i dnnq_avx2_lane_mask(size_t cnt)
{
	const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cnt), idx);
}

/* One row of a weight panel (one group of 4 k of 16 columns, 64 bytes) as
 * two registers; partial: a narrower panel, columns masked by m0 / m1
 * (dnnq_avx2_lane_mask of the two halves' widths). */
DNNQ_AVX2_INLINE void dnnq_avx2_panel_row(const bool partial, const int8_t *b, __m256i m0,
                                          __m256i m1, __m256i *b0, __m256i *b1)
{
	if (partial) {
		*b0 = _mm256_maskload_epi32((const int *)b, m0);
		*b1 = _mm256_maskload_epi32((const int *)(b + 32), m1);
	} else {
		*b0 = _mm256_loadu_si256((const __m256i *)b);
		*b1 = _mm256_loadu_si256((const __m256i *)(b + 32));
	}
}

DNNQ_AVX2_INLINE __m256i dnnq_avx2_load_i32(const int32_t *p, size_t cnt)
{
	return cnt == 8 ? _mm256_loadu_si256((const __m256i *)p)
	                : _mm256_maskload_epi32((const int *)p, dnnq_avx2_lane_mask(cnt));
}

DNNQ_AVX2_INLINE __m256 dnnq_avx2_load_f32(const float *p, size_t cnt)
{
	return cnt == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, dnnq_avx2_lane_mask(cnt));
}

/* cnt values at p, p + stride, ... (lanes past cnt 0): one load when
 * stride is 1 (the GEMM's columns), else a gather (the depthwise kernel's
 * lanes of every fourth channel, once per block of a row). */
DNNQ_AVX2_INLINE __m256i dnnq_avx2_strided_idx(size_t stride)
{
	return _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
	                          _mm256_set1_epi32((int)stride));
}

DNNQ_AVX2_INLINE __m256i dnnq_avx2_load_i32s(const int32_t *p, size_t stride, size_t cnt)
{
	if (stride == 1)
		return dnnq_avx2_load_i32(p, cnt);
	return _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *)p,
	                                   dnnq_avx2_strided_idx(stride),
	                                   dnnq_avx2_lane_mask(cnt), 4);
}

DNNQ_AVX2_INLINE __m256 dnnq_avx2_load_f32s(const float *p, size_t stride, size_t cnt)
{
	if (stride == 1)
		return dnnq_avx2_load_f32(p, cnt);
	return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, dnnq_avx2_strided_idx(stride),
	                                _mm256_castsi256_ps(dnnq_avx2_lane_mask(cnt)), 4);
}

/* The per-channel (or broadcast) parameter vector for columns j, j +
 * stride, ... (cnt of them). */
DNNQ_AVX2_INLINE __m256i dnnq_avx2_chan_i32(const int32_t *p, size_t nchan, size_t j,
                                            size_t stride, size_t cnt)
{
	return nchan == 1 ? _mm256_set1_epi32(p[0]) : dnnq_avx2_load_i32s(p + j, stride, cnt);
}

DNNQ_AVX2_INLINE __m256 dnnq_avx2_chan_f32(const float *p, size_t nchan, size_t j,
                                           size_t stride, size_t cnt)
{
	return nchan == 1 ? _mm256_set1_ps(p[0]) : dnnq_avx2_load_f32s(p + j, stride, cnt);
}

/* A job with its weights and output pipeline copied: the output stage's
 * byte stores may alias whatever the compiler reaches through pointers, so
 * it reloads (and converts) their parameters on every store; copies whose
 * address does not escape the kernel stay in registers or leave the loops. */
struct dnnq_avx2_job {
	struct dnnq_gemm_job job;
	struct dnnq_gemm_weights w;
	struct dnnq_gemm_output out;
};

DNNQ_AVX2_INLINE void dnnq_avx2_job_copy(const struct dnnq_gemm_job *src, struct dnnq_avx2_job *d)
{
	d->job = *src;
	d->w = *src->w;
	d->out = *src->out;
	d->job.w = &d->w;
	d->job.out = &d->out;
}

/*
 * The output stage of 8 columns j..j+cnt: dnnq_gemm_correct and
 * dnnq_gemm_store_1, eight lanes at a time, in two parts. dnnq_avx2_cols
 * gathers what depends on the columns only (the column term, zero points,
 * multipliers, converted constants), once for all the rows that store to
 * them; dnnq_avx2_store_cols finishes one row (dnnq_avx2_finish, the
 * values, then the store). dnnq_avx2_cols_at's lanes may be columns j,
 * j + stride, ... (the depthwise kernel's). The column term folds the
 * corrections: v = acc + col - zw * xsum with col = colterm, or bias -
 * za * row_sums + zw * k * za; int32 arithmetic wraps, so any order gives
 * the scalar's bits.
 */
struct dnnq_avx2_cols {
	size_t j, cnt;
	__m256i col, zw;
	/* small enough to live in registers: by the output's kind, F32: scale,
	 * bias (floats); U8 float requant: multiplier, -, zero point (int32),
	 * qmin - zero point, qmax - zero point (floats); U8 fixed point:
	 * multiplier, shift, zero point, qmin - zero point, qmax - zero point */
	__m256i mult, shift, zp, lo, hi;
};

DNNQ_AVX2_INLINE void dnnq_avx2_cols_at(const struct dnnq_gemm_job *job, size_t j,
                                        size_t stride, size_t cnt, struct dnnq_avx2_cols *c)
{
	const struct dnnq_gemm_output *o = job->out;
	const struct dnnq_gemm_weights *w = job->w;
	/* field by field: a compound literal's zeroing of the whole struct
	 * was a `rep stos` (30-odd cycles to start) per panel and half */
	const __m256i zero = _mm256_setzero_si256();
	c->j = j;
	c->cnt = cnt;
	c->mult = c->shift = c->zp = c->lo = c->hi = zero;
	c->zw = o->nwzp ? dnnq_avx2_chan_i32(o->w_zero_points, o->nwzp, j, stride, cnt)
	                : _mm256_setzero_si256();
	if (o->colterm) {
		c->col = dnnq_avx2_load_i32s(o->colterm + j, stride, cnt);
	} else {
		c->col = _mm256_mullo_epi32(_mm256_set1_epi32(-o->a_zero_point),
		                            dnnq_avx2_load_i32s(w->row_sums + j, stride, cnt));
		if (o->nwzp)
			c->col = _mm256_add_epi32(c->col, _mm256_mullo_epi32(c->zw,
				_mm256_set1_epi32((int32_t)((uint32_t)w->k *
				                            (uint32_t)o->a_zero_point))));
		if (o->bias)
			c->col = _mm256_add_epi32(c->col, dnnq_avx2_load_i32s(o->bias + j, stride, cnt));
	}
	const struct dnnq_requant *rq = &o->rq;
	if (o->dtype == DNNQ_DTYPE_F32) {
		c->mult = _mm256_castps_si256(dnnq_avx2_chan_f32(o->scale, o->nscale, j, stride, cnt));
		if (o->fbias)
			c->shift = _mm256_castps_si256(dnnq_avx2_load_f32s(o->fbias + j, stride, cnt));
	} else if (o->dtype == DNNQ_DTYPE_U8 && rq->kind == DNNQ_REQUANT_FLOAT) {
		c->mult = _mm256_castps_si256(dnnq_avx2_chan_f32(rq->fmult, rq->nchan, j, stride,
		                                                 cnt));
		c->zp = _mm256_set1_epi32(rq->zero_point);
		c->lo = _mm256_castps_si256(_mm256_set1_ps((float)(rq->qmin - rq->zero_point)));
		c->hi = _mm256_castps_si256(_mm256_set1_ps((float)(rq->qmax - rq->zero_point)));
	} else if (o->dtype == DNNQ_DTYPE_U8) {
		c->mult = dnnq_avx2_chan_i32(rq->qmult, rq->nchan, j, stride, cnt);
		c->shift = dnnq_avx2_chan_i32(rq->qshift, rq->nchan, j, stride, cnt);
		c->zp = _mm256_set1_epi32(rq->zero_point);
		c->lo = _mm256_set1_epi32(rq->qmin - rq->zero_point);
		c->hi = _mm256_set1_epi32(rq->qmax - rq->zero_point);
	}
}

DNNQ_AVX2_INLINE void dnnq_avx2_cols(const struct dnnq_gemm_job *job, size_t j, size_t cnt,
                                     struct dnnq_avx2_cols *c)
{
	dnnq_avx2_cols_at(job, j, 1, cnt, c);
}

/* The columns of a panel, j..j + width (width <= 16): c[0], and c[1] for
 * those past 8 (else a copy of c[0], so that both may be read); returns
 * how many. */
DNNQ_AVX2_INLINE size_t dnnq_avx2_cols_panel(const struct dnnq_gemm_job *job, size_t j,
                                             size_t width, struct dnnq_avx2_cols c[2])
{
	dnnq_avx2_cols(job, j, width < 8 ? width : 8, &c[0]);
	if (width > 8)
		dnnq_avx2_cols(job, j + 8, width - 8, &c[1]);
	else
		c[1] = c[0];
	return width > 8 ? 2 : 1;
}

/* The output stage's forms. A kernel that passes a constant one (a switch
 * on dnnq_avx2_kind_of outside its loops) gets a store without a test of
 * the output's type. */
enum dnnq_avx2_kind { DNNQ_AVX2_S32, DNNQ_AVX2_F32, DNNQ_AVX2_U8_FLOAT, DNNQ_AVX2_U8_FIXED,
                      /* float requantization with qmin 0 (u8 after a ReLU or a
                       * full range), for stores that pack with saturation
                       * only (dnnq_avx2_gemm_kind_of) */
                      DNNQ_AVX2_U8_FLOAT_Q0,
                      /* float requantization to the whole of [0, 255] with
                       * multipliers within +-0.5: no clamp at all, the packs
                       * saturate (dnnq_avx2_packed_kind_of) */
                      DNNQ_AVX2_U8_FLOAT_FULL };

DNNQ_AVX2_INLINE bool dnnq_avx2_kind_u8(const enum dnnq_avx2_kind kind)
{
	return kind == DNNQ_AVX2_U8_FLOAT || kind == DNNQ_AVX2_U8_FIXED ||
	       kind == DNNQ_AVX2_U8_FLOAT_Q0 || kind == DNNQ_AVX2_U8_FLOAT_FULL;
}

/* Whether a store that packs (vpackssdw, then vpackuswb) may add the zero
 * point after the first pack, in int16 with saturation (vpaddsw: one add
 * per 16 outputs where vpaddd took two), its columns' zp set to 0 for
 * dnnq_avx2_finish_as: float requantization's u8 kinds. The int32 values
 * before the zero point lie in [qmin - zp, qmax - zp] (U8_FLOAT), or
 * below that by any amount (Q0, FULL: qmin is 0, zp in [0, 255]); a value
 * the first pack saturates to -32768 stays negative plus zp and one
 * saturated to 32767 stays above 255, so vpackuswb gives the bytes the
 * int32 sum with zp would (docs/gemm.md). */
DNNQ_AVX2_INLINE bool dnnq_avx2_zp_after_pack(const enum dnnq_avx2_kind kind)
{
	return kind == DNNQ_AVX2_U8_FLOAT || kind == DNNQ_AVX2_U8_FLOAT_Q0 ||
	       kind == DNNQ_AVX2_U8_FLOAT_FULL;
}

DNNQ_AVX2_INLINE enum dnnq_avx2_kind dnnq_avx2_kind_of(const struct dnnq_gemm_output *o)
{
	return o->dtype == DNNQ_DTYPE_S32 ? DNNQ_AVX2_S32
	     : o->dtype == DNNQ_DTYPE_F32 ? DNNQ_AVX2_F32
	     : o->rq.kind == DNNQ_REQUANT_FLOAT ? DNNQ_AVX2_U8_FLOAT : DNNQ_AVX2_U8_FIXED;
}

/* Whether the float multipliers of columns [j0, j1) are all within
 * +-0.5 (NaN is not). */
DNNQ_AVX2_INLINE bool dnnq_avx2_small_mults(const struct dnnq_requant *rq, size_t j0, size_t j1)
{
	if (rq->nchan == 1)
		return __builtin_fabsf(rq->fmult[0]) <= 0.5f;
	const __m256 half = _mm256_set1_ps(0.5f);
	const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256 bad = _mm256_setzero_ps();
	size_t j = j0;
	for (; j + 8 <= j1; j += 8) {
		__m256 m = _mm256_and_ps(_mm256_loadu_ps(rq->fmult + j), abs);
		bad = _mm256_or_ps(bad, _mm256_cmp_ps(m, half, _CMP_NLE_UQ));
	}
	bool big = _mm256_movemask_ps(bad);
	for (; j < j1; j++)
		big |= !(__builtin_fabsf(rq->fmult[j]) <= 0.5f);
	return !big;
}

/* The same for the GEMM, whose u8 stores all go through vpackssdw and
 * vpackuswb: with qmin 0 their saturation is the lower clamp, so float
 * requantization only clamps above (DNNQ_AVX2_U8_FLOAT_Q0). */
DNNQ_AVX2_INLINE enum dnnq_avx2_kind dnnq_avx2_gemm_kind_of(const struct dnnq_gemm_output *o)
{
	enum dnnq_avx2_kind kind = dnnq_avx2_kind_of(o);
	return kind == DNNQ_AVX2_U8_FLOAT && o->rq.qmin == 0 ? DNNQ_AVX2_U8_FLOAT_Q0 : kind;
}

/* For stores that pack with saturation (the GEMM's, the depthwise and
 * first-layer kernels'), columns [j0, j1): with qmax 255 too and
 * multipliers within +-0.5 the packs are the upper clamp as well
 * (DNNQ_AVX2_U8_FLOAT_FULL: |v * mult| <= 2^30, so vcvtps2dq and the zero
 * point's addition stay in range and the packs saturate the integer to
 * [0, 255] as the scalar's clamp does). The GEMM's sixth instance of its
 * panel loop does not spill (docs/gemm.md: check after touching it). */
DNNQ_AVX2_INLINE enum dnnq_avx2_kind dnnq_avx2_packed_kind_of(const struct dnnq_gemm_output *o,
                                                             size_t j0, size_t j1)
{
	enum dnnq_avx2_kind kind = dnnq_avx2_gemm_kind_of(o);
	return kind == DNNQ_AVX2_U8_FLOAT_Q0 && o->rq.qmax == 255 &&
	       dnnq_avx2_small_mults(&o->rq, j0, j1) ? DNNQ_AVX2_U8_FLOAT_FULL : kind;
}

/* The output values of sums v that include the column term (kernels start
 * their sums at c->col, so that no add per store remains), with the
 * activation sums xsum (used only with weight zero points): int32 (S32),
 * float bits (F32) or the u8 values in int32 lanes (U8); kind is o's.
 * Float requantization clamps before it rounds (cvtps2dq, to nearest even
 * as rintf) and adds the zero point after: the same integers as
 * dnnq_saturate_rne's round, add, clamp, since the bounds are integers
 * (NaN: maxps returns the bound, qmin). */
DNNQ_AVX2_INLINE __m256i dnnq_avx2_finish_as(const enum dnnq_avx2_kind kind,
                                             const struct dnnq_avx2_cols *c, __m256i v,
                                             __m256i xsum, const struct dnnq_gemm_output *o)
{
	if (o->nwzp)
		v = _mm256_sub_epi32(v, _mm256_mullo_epi32(c->zw, xsum));
	if (kind == DNNQ_AVX2_S32)
		return v;
	if (kind == DNNQ_AVX2_F32) {
		__m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_castsi256_ps(c->mult));
		if (o->fbias)
			y = _mm256_add_ps(y, _mm256_castsi256_ps(c->shift));
		if (o->relu)
			y = _mm256_max_ps(y, _mm256_setzero_ps());
		return _mm256_castps_si256(y);
	}
	if (kind == DNNQ_AVX2_U8_FIXED)
		return dnnq_avx2_requant_fixed(v, c->mult, c->shift, c->zp, c->lo, c->hi);
	__m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_castsi256_ps(c->mult));
	if (kind == DNNQ_AVX2_U8_FLOAT_FULL)
		return _mm256_add_epi32(_mm256_cvtps_epi32(y), c->zp);
	if (kind == DNNQ_AVX2_U8_FLOAT_Q0)
		/* below qmin - zp (or NaN, which minps passes on as its second
		 * operand), vcvtps2dq gives an integer below -zp or INT32_MIN,
		 * and the sum with zp a negative one, which the packs take to
		 * 0 = qmin: the scalar's bits without the lower clamp */
		y = _mm256_min_ps(_mm256_castsi256_ps(c->hi), y);
	else
		y = _mm256_min_ps(_mm256_max_ps(y, _mm256_castsi256_ps(c->lo)),
		                  _mm256_castsi256_ps(c->hi));
	return _mm256_add_epi32(_mm256_cvtps_epi32(y), c->zp);
}

/* cnt <= 8 int32 lanes (S32, or F32's bits) to p. */
DNNQ_AVX2_INLINE void dnnq_avx2_store_i32(int32_t *p, __m256i v, size_t cnt)
{
	if (cnt == 8)
		_mm256_storeu_si256((__m256i *)p, v);
	else
		_mm256_maskstore_epi32((int *)p, dnnq_avx2_lane_mask(cnt), v);
}

/* Row i of the columns c: sums v with the column term, the row's
 * activation sums xsum. */
DNNQ_AVX2_INLINE void dnnq_avx2_store_as(const enum dnnq_avx2_kind kind,
                                         const struct dnnq_avx2_cols *c, __m256i v, size_t i,
                                         __m256i xsum, const struct dnnq_gemm_job *job)
{
	const size_t cnt = c->cnt, at = i * job->ldc + c->j;
	v = dnnq_avx2_finish_as(kind, c, v, xsum, job->out);
	if (kind == DNNQ_AVX2_S32 || kind == DNNQ_AVX2_F32) {
		dnnq_avx2_store_i32((int32_t *)job->c + at, v, cnt);
		return;
	}
	uint8_t *dst = (uint8_t *)job->c + at;
	if (cnt == 8) {
		dnnq_avx2_store8(dst, DNNQ_DTYPE_U8, v);
	} else {
		uint8_t tmp[8];
		dnnq_avx2_store8(tmp, DNNQ_DTYPE_U8, v);
		memcpy(dst, tmp, cnt);
	}
}

/* The same from raw sums v. */
DNNQ_AVX2_INLINE void dnnq_avx2_store_cols(const struct dnnq_avx2_cols *c, __m256i v, size_t i,
                                           __m256i xsum, const struct dnnq_gemm_job *job)
{
	dnnq_avx2_store_as(dnnq_avx2_kind_of(job->out), c, _mm256_add_epi32(v, c->col), i, xsum,
	                   job);
}

/* Row i of a panel's columns (dnnq_avx2_cols_panel: halves of c), sums v
 * with the column term: a full panel of u8 outputs as 16 bytes in one
 * store (the values are in range: the packs do not saturate). */
DNNQ_AVX2_INLINE void dnnq_avx2_store_panel(const enum dnnq_avx2_kind kind,
                                            const struct dnnq_avx2_cols c[2], size_t halves,
                                            const __m256i v[2], size_t i, __m256i xsum,
                                            const struct dnnq_gemm_job *job)
{
	if (dnnq_avx2_kind_u8(kind) && halves == 2 && c[1].cnt == 8) {
		__m256i w = _mm256_packs_epi32(dnnq_avx2_finish_as(kind, &c[0], v[0], xsum, job->out),
		                               dnnq_avx2_finish_as(kind, &c[1], v[1], xsum, job->out));
		w = _mm256_permute4x64_epi64(w, 0xD8);
		_mm_storeu_si128((__m128i *)((uint8_t *)job->c + i * job->ldc + c[0].j),
		                 _mm_packus_epi16(_mm256_castsi256_si128(w),
		                                  _mm256_extracti128_si256(w, 1)));
		return;
	}
	for (size_t h = 0; h < halves; h++)
		dnnq_avx2_store_as(kind, &c[h], v[h], i, xsum, job);
}

/* Rows i and i + 1 of a full panel (16 columns, c[0] and c[1] of 8) of u8
 * outputs (kind), sums v0 and v1 with the column term: packed together,
 * one store per row. */
DNNQ_AVX2_INLINE void dnnq_avx2_store_full2(const enum dnnq_avx2_kind kind,
                                            const struct dnnq_avx2_cols c[2], const __m256i v0[2],
                                            const __m256i v1[2], size_t i, __m256i xsum0,
                                            __m256i xsum1, const struct dnnq_gemm_job *job)
{
	const struct dnnq_gemm_output *o = job->out;
	__m256i w0 = _mm256_packs_epi32(dnnq_avx2_finish_as(kind, &c[0], v0[0], xsum0, o),
	                                dnnq_avx2_finish_as(kind, &c[1], v0[1], xsum0, o));
	__m256i w1 = _mm256_packs_epi32(dnnq_avx2_finish_as(kind, &c[0], v1[0], xsum1, o),
	                                dnnq_avx2_finish_as(kind, &c[1], v1[1], xsum1, o));
	/* dwords: row i columns 0-3, 8-11, row i + 1 0-3, 8-11, then 4-7 and
	 * 12-15 of each */
	__m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w0, w1),
	                                        _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
	uint8_t *dst = (uint8_t *)job->c + i * job->ldc + c[0].j;
	_mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(b));
	_mm_storeu_si128((__m128i *)(dst + job->ldc), _mm256_extracti128_si256(b, 1));
}

/* Rows i and i + 1 of a panel's columns, sums v0 and v1 with the column
 * term: full panels of u8 outputs packed together (dnnq_avx2_store_full2). */
DNNQ_AVX2_INLINE void dnnq_avx2_store_panel2(const enum dnnq_avx2_kind kind,
                                             const struct dnnq_avx2_cols c[2], size_t halves,
                                             const __m256i v0[2], const __m256i v1[2],
                                             size_t i, __m256i xsum0, __m256i xsum1,
                                             const struct dnnq_gemm_job *job)
{
	if (!dnnq_avx2_kind_u8(kind) || halves != 2 || c[1].cnt != 8) {
		dnnq_avx2_store_panel(kind, c, halves, v0, i, xsum0, job);
		dnnq_avx2_store_panel(kind, c, halves, v1, i + 1, xsum1, job);
		return;
	}
	dnnq_avx2_store_full2(kind, c, v0, v1, i, xsum0, xsum1, job);
}

/* Both parts for one row (callers whose columns change every store). */
DNNQ_AVX2_INLINE void dnnq_avx2_gemm_store8(__m256i v, size_t i, size_t j, size_t cnt,
                                            __m256i xsum, const struct dnnq_gemm_job *job)
{
	struct dnnq_avx2_cols c;
	dnnq_avx2_cols(job, j, cnt, &c);
	dnnq_avx2_store_cols(&c, v, i, xsum, job);
}

#endif
