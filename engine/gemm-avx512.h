/*
 * engine/gemm-avx512.h — the AVX-512 output stage shared by the VNNI GEMM
 * kernel (gemm-avx512vnni.c) and the VNNI depthwise kernel
 * (conv-avx512vnni.c). Include only from translation units compiled with
 * the AVX-512 flags.
 */
#ifndef DNNQ_ENGINE_GEMM_AVX512_H
#define DNNQ_ENGINE_GEMM_AVX512_H

#include <immintrin.h>

#include "engine/gemm-kernels.h"

#define DNNQ_AVX512_INLINE static inline __attribute__((always_inline))

/* The output stage of 16 columns j.. (cnt of them) of row i from raw sums
 * v and activation sums rowsum (per column: depthwise convolution): the
 * scalar steps of gemm-kernels.h (dnnq_gemm_correct, dnnq_gemm_store_1)
 * sixteen lanes at a time, in the same float operations (roundscale to
 * nearest is rintf; the clamped values convert and narrow exactly).
 * Fixed-point requantization is not here: the caller sends it to the AVX2
 * stage (dnnq_avx2_gemm_store8). */
DNNQ_AVX512_INLINE void dnnq_avx512_gemm_store16(const struct dnnq_gemm_job *job, __m512i v,
                                                 size_t i, size_t j, size_t cnt,
                                                 __m512i rowsum)
{
	const struct dnnq_gemm_output *o = job->out;
	const __mmask16 m = (__mmask16)(cnt >= 16 ? 0xffff : (1u << cnt) - 1);
	__m512i zw = o->nwzp == 1 ? _mm512_set1_epi32(o->w_zero_points[0])
	           : o->nwzp ? _mm512_maskz_loadu_epi32(m, o->w_zero_points + j)
	                     : _mm512_setzero_si512();
	if (o->colterm) {
		v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m, o->colterm + j));
		v = _mm512_sub_epi32(v, _mm512_mullo_epi32(zw, rowsum));
	} else {
		__m512i za = _mm512_set1_epi32(o->a_zero_point);
		v = _mm512_sub_epi32(v, _mm512_mullo_epi32(za,
		                     _mm512_maskz_loadu_epi32(m, job->w->row_sums + j)));
		__m512i kz = _mm512_sub_epi32(_mm512_set1_epi32((int32_t)((uint32_t)job->w->k *
		                                                         (uint32_t)o->a_zero_point)),
		                              rowsum);
		v = _mm512_add_epi32(v, _mm512_mullo_epi32(zw, kz));
		if (o->bias)
			v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m, o->bias + j));
	}
	size_t at = i * job->ldc + j;
	if (o->dtype == DNNQ_DTYPE_S32) {
		_mm512_mask_storeu_epi32((int32_t *)job->c + at, m, v);
		return;
	}
	bool f32 = o->dtype == DNNQ_DTYPE_F32;
	size_t nch = f32 ? o->nscale : o->rq.nchan;
	const float *mult = f32 ? o->scale : o->rq.fmult;
	__m512 s = nch == 1 ? _mm512_set1_ps(mult[0]) : _mm512_maskz_loadu_ps(m, mult + j);
	__m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(v), s);
	if (f32) {
		if (o->fbias)
			y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, o->fbias + j));
		if (o->relu)
			y = _mm512_max_ps(y, _mm512_setzero_ps());
		_mm512_mask_storeu_ps((float *)job->c + at, m, y);
		return;
	}
	const struct dnnq_requant *rq = &o->rq;
	y = _mm512_add_ps(_mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
	                  _mm512_set1_ps((float)rq->zero_point));
	y = _mm512_min_ps(_mm512_max_ps(y, _mm512_set1_ps((float)rq->qmin)),
	                  _mm512_set1_ps((float)rq->qmax));
	_mm512_mask_cvtusepi32_storeu_epi8((uint8_t *)job->c + at, m, _mm512_cvtps_epi32(y));
}

#endif
