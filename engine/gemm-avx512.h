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

/* The output stage's per-column operands of 16 columns j.. (cnt of them),
 * loaded once for every row that goes through them. add is colterm, or
 * bias - za * wsum + k * za * zw computed here: the scalar's sum in another
 * order, the same value in wrapping arithmetic. */
struct dnnq_avx512_cols {
	size_t j;
	__mmask16 m;
	__m512i zw, add;
	__m512 mult, fbias;
};

DNNQ_AVX512_INLINE struct dnnq_avx512_cols dnnq_avx512_gemm_cols(const struct dnnq_gemm_job *job,
                                                                 size_t j, size_t cnt)
{
	const struct dnnq_gemm_output *o = job->out;
	struct dnnq_avx512_cols k = { .j = j };
	k.m = (__mmask16)(cnt >= 16 ? 0xffff : (1u << cnt) - 1);
	k.zw = o->nwzp == 1 ? _mm512_set1_epi32(o->w_zero_points[0])
	     : o->nwzp ? _mm512_maskz_loadu_epi32(k.m, o->w_zero_points + j)
	               : _mm512_setzero_si512();
	if (o->colterm) {
		k.add = _mm512_maskz_loadu_epi32(k.m, o->colterm + j);
	} else {
		__m512i za = _mm512_set1_epi32(o->a_zero_point);
		__m512i kz = _mm512_set1_epi32((int32_t)((uint32_t)job->w->k *
		                                         (uint32_t)o->a_zero_point));
		k.add = _mm512_sub_epi32(_mm512_mullo_epi32(k.zw, kz), _mm512_mullo_epi32(za,
		                         _mm512_maskz_loadu_epi32(k.m, job->w->row_sums + j)));
		if (o->bias)
			k.add = _mm512_add_epi32(k.add, _mm512_maskz_loadu_epi32(k.m, o->bias + j));
	}
	bool f32 = o->dtype == DNNQ_DTYPE_F32;
	if (f32 || (o->dtype == DNNQ_DTYPE_U8 && o->rq.kind == DNNQ_REQUANT_FLOAT)) {
		size_t nch = f32 ? o->nscale : o->rq.nchan;
		const float *mult = f32 ? o->scale : o->rq.fmult;
		k.mult = nch == 1 ? _mm512_set1_ps(mult[0]) : _mm512_maskz_loadu_ps(k.m, mult + j);
	}
	k.fbias = f32 && o->fbias ? _mm512_maskz_loadu_ps(k.m, o->fbias + j) : _mm512_setzero_ps();
	return k;
}

/* The int32 or float outputs of row i's 16 columns k->j.. from raw sums v
 * and activation sums rowsum (per column: depthwise convolution): the
 * scalar steps of gemm-kernels.h (dnnq_gemm_correct, dnnq_gemm_store_1)
 * sixteen lanes at a time, in the same float operations. u8 outputs are
 * not here: float requantization is dnnq_avx512_u8_float's, fixed point
 * the AVX2 stage's (dnnq_avx2_gemm_store8). */
DNNQ_AVX512_INLINE void dnnq_avx512_gemm_store16(const struct dnnq_gemm_job *job,
                                                 const struct dnnq_avx512_cols *k, __m512i v,
                                                 size_t i, __m512i rowsum)
{
	const struct dnnq_gemm_output *o = job->out;
	v = _mm512_add_epi32(v, k->add);
	if (o->nwzp)
		v = _mm512_sub_epi32(v, _mm512_mullo_epi32(k->zw, rowsum));
	size_t at = i * job->ldc + k->j;
	if (o->dtype == DNNQ_DTYPE_S32) {
		_mm512_mask_storeu_epi32((int32_t *)job->c + at, k->m, v);
		return;
	}
	__m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(v), k->mult);
	if (o->fbias)
		y = _mm512_add_ps(y, k->fbias);
	if (o->relu)
		y = _mm512_max_ps(y, _mm512_setzero_ps());
	_mm512_mask_storeu_ps((float *)job->c + at, k->m, y);
}

/* u8 outputs by float requantization, 16 lanes at a time, and their bytes
 * packed 64 at a time (the VNNI GEMM's tile rows, the depthwise kernel's
 * 32-channel blocks). rq's clamp as [qmin - zp, qmax - zp] before
 * vcvtps2dq rounds (to nearest even, as rintf) and the zero point added
 * after: the scalar's integers, since the bounds are integers
 * (dnnq_avx2_finish_as). With qmin 0 (q0) no lower clamp: below it, out
 * of vcvtps2dq's range or NaN the sum with zp stays negative and the packs
 * take it to 0. A vpmovusdb store per 16 lanes (and vrndscaleps before the
 * zero point) was a third of a 7x7 stem's output stage (perf). */
struct dnnq_avx512_u8 {
	__m512 lo, hi;
	__m512i zp;
	bool q0;
};

DNNQ_AVX512_INLINE struct dnnq_avx512_u8 dnnq_avx512_u8_of(const struct dnnq_requant *rq)
{
	return (struct dnnq_avx512_u8){
		.lo = _mm512_set1_ps((float)(rq->qmin - rq->zero_point)),
		.hi = _mm512_set1_ps((float)(rq->qmax - rq->zero_point)),
		.zp = _mm512_set1_epi32(rq->zero_point), .q0 = rq->qmin == 0,
	};
}

/* The u8 values (in int32 lanes, or negative for 0) of sums v that include
 * the column term, times mult. vmaxps first: NaN takes the lower bound, as
 * the scalar's. */
DNNQ_AVX512_INLINE __m512i dnnq_avx512_u8_float(const struct dnnq_avx512_u8 *u, __m512i v,
                                                __m512 mult)
{
	__m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(v), mult);
	if (!u->q0)
		y = _mm512_max_ps(y, u->lo);
	return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(u->hi, y)), u->zp);
}

/* Four vectors of such values as 64 bytes in lane order: vpackssdw and
 * vpackuswb leave vector t's lanes 4L..4L+3 in dword 4L + t, one vpermd
 * puts them back. */
DNNQ_AVX512_INLINE __m512i dnnq_avx512_pack_u8(const __m512i q[4])
{
	const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
	__m512i b = _mm512_packus_epi16(_mm512_packs_epi32(q[0], q[1]), _mm512_packs_epi32(q[2], q[3]));
	return _mm512_permutexvar_epi32(order, b);
}

#endif
