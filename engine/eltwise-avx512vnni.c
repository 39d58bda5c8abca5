/*
 * The elementwise kernels of DNNQ_ISA_AVX512VNNI's table that are not the
 * AVX2 ones (engine/kernels.c).
 *
 * The byte table: on
 * CPUs that also have AVX512_VBMI (Ice Lake, Zen 4; not Cascade Lake,
 * whose VNNI comes without it), vpermi2b looks 64 bytes up in a 128-entry
 * half of the table at once, two of them and a blend on the index's top
 * bit make the 256 entries: three instructions for 64 bytes where the
 * AVX2 kernel's sixteen vpshufb steps take 46 for 32. Elsewhere the AVX2
 * kernel. The same bytes either way (the scalar loop's: test
 * lut_kernel_lengths).
 */
#include <immintrin.h>
#include <stdatomic.h>

#include "engine/eltwise.h"
#include "engine/gemm-avx512.h"

__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static void lut_vbmi(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n)
{
	const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
	const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
	for (size_t i = 0; i < n; i += 64) {
		__mmask64 m = n - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - i)) - 1;
		__m512i v = _mm512_maskz_loadu_epi8(m, x + i);
		__m512i lo = _mm512_permutex2var_epi8(t0, v, t1);
		__m512i hi = _mm512_permutex2var_epi8(t2, v, t3);
		_mm512_mask_storeu_epi8(y + i, m,
		                        _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
	}
}

/* Whether the CPU has AVX512_VBMI, asked once */
static bool has_vbmi(void)
{
	static _Atomic int vbmi = -1;   /* racing first calls store the same value */
	int v = atomic_load_explicit(&vbmi, memory_order_relaxed);
	if (v < 0)
		atomic_store_explicit(&vbmi, v = __builtin_cpu_supports("avx512vbmi") != 0,
		                      memory_order_relaxed);
	return v;
}

void dnnq_lut_avx512vnni(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n)
{
	(has_vbmi() ? lut_vbmi : dnnq_lut_avx2)(table, x, y, n);
}

/* dnnq_quantize_1 on 16 floats as 16 bytes: the AVX2 kernel's steps
 * (eltwise-avx2.c, quantize8_u8: the same quotient held below 2^20,
 * vcvtps2dq, + zp) sixteen lanes at a time, then the int32 values clamped
 * at 0 and narrowed with unsigned saturation (vpmovusdb) where the AVX2
 * packs saturate both ways, and the clamp at qmax: the same bytes. */
static inline __m128i quantize16_u8(const float *x, __m512 scale, __m512i zp, __m128i qmax)
{
	__m512 v = _mm512_min_ps(_mm512_set1_ps(1048576.0f), _mm512_div_ps(_mm512_loadu_ps(x), scale));
	__m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
	return _mm_min_epu8(_mm512_cvtusepi32_epi8(_mm512_max_epi32(i, _mm512_setzero_si512())), qmax);
}

/* Positions [p0, pv) (a multiple of 16 of them) of a 3-channel image, x
 * and y at the image: per 16, the channels' 16 bytes each, interleaved (r
 * g b, r g b, ...) by one vpermb into 48 bytes, one masked store. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))
static void quantize_rgb16(const struct dnnq_nchw_kernel *k, const float *x, uint8_t *y,
                           size_t p0, size_t pv)
{
	const size_t ns = k->spatial;
	const __m512 scale = _mm512_set1_ps(k->scale);
	const __m512i zp = _mm512_set1_epi32((int32_t)k->zp);
	const __m128i qmax = _mm_set1_epi8((char)(uint8_t)k->qmax);
	uint8_t order[64] = { 0 };
	for (int j = 0; j < 48; j++)
		order[j] = (uint8_t)(j % 3 * 16 + j / 3);
	const __m512i idx = _mm512_loadu_si512(order);
	for (size_t p = p0; p < pv; p += 16) {
		__m512i t = _mm512_castsi128_si512(quantize16_u8(x + p, scale, zp, qmax));
		t = _mm512_inserti32x4(t, quantize16_u8(x + ns + p, scale, zp, qmax), 1);
		t = _mm512_inserti32x4(t, quantize16_u8(x + 2 * ns + p, scale, zp, qmax), 2);
		_mm512_mask_storeu_epi8(y + 3 * p, ((__mmask64)1 << 48) - 1,
		                        _mm512_permutexvar_epi8(idx, t));
	}
}

/* An RGB image's rectangle (all three channels) 16 positions a step where
 * there is VBMI; the rest, and every other rectangle, the AVX2 kernel's.
 * The network input's quantize (ResNet-18's, 150528 values). */
void dnnq_quantize_nchw_avx512vnni(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                                   size_t p1, size_t c0, size_t c1)
{
	const size_t ns = k->spatial, pv = p0 + ((p1 - p0) & ~(size_t)15);
	if (k->channels != 3 || c0 != 0 || c1 != 3 || pv == p0 || !has_vbmi()) {
		dnnq_quantize_nchw_avx2(k, img, p0, p1, c0, c1);
		return;
	}
	quantize_rgb16(k, (const float *)k->x + img * 3 * ns, (uint8_t *)k->y + img * ns * 3, p0,
	               pv);
	if (pv < p1)
		dnnq_quantize_nchw_avx2(k, img, pv, p1, c0, c1);
}

/* (float)(x[0..16) - z), exact */
static inline __m512 load16_minus(const uint8_t *x, __m512i z)
{
	__m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)x));
	return _mm512_cvtepi32_ps(_mm512_sub_epi32(v, z));
}

/* The two-input Add with both inputs full size (a residual Add, most often
 * fused into the convolution before it: graph.c), 64 elements a step: the
 * scalar's float operations in its order, m0 (x0 - z0) + m1 (x1 - z1)
 * without a fused multiply-add, then dnnq_saturate_rne as
 * dnnq_binary_q8 does it: clamped above to qmax - zy in float (NaN stays
 * NaN), rounded to nearest even by vcvtps2dq (NaN and values below -2^31
 * to INT32_MIN), zy added and clamped below as integers; the same
 * integers, since zy, qmin and qmax are and qmin >= 0 >= -zy. The packs
 * take values in [qmin, qmax] to bytes unchanged. Everything else (Mul,
 * Sum, broadcast inputs, the last < 64 elements) is the AVX2 kernel's,
 * whose Add is this loop in 256 bits (add2_32). Under half the
 * instructions an element of the AVX2 loop then (8 a step): ResNet-18's
 * layer1 conv2 with its fused Add 320 -> 299 us (docs/gemm.md). */
void dnnq_ew_avx512vnni(const struct dnnq_ew_kernel *k, size_t i0, size_t i1)
{
	if (k->mul || k->ninputs != 2 || !k->x[1] || i1 - i0 < 64) {
		dnnq_ew_avx2(k, i0, i1);
		return;
	}
	const __m512 m0 = _mm512_set1_ps(k->m[0]), m1 = _mm512_set1_ps(k->m[1]);
	const __m512i z0 = _mm512_set1_epi32(k->z[0]), z1 = _mm512_set1_epi32(k->z[1]);
	const __m512 top = _mm512_set1_ps(k->qmax - k->zy);
	const __m512i zy = _mm512_set1_epi32((int32_t)k->zy), qmin = _mm512_set1_epi32((int32_t)k->qmin);
	const uint8_t *x0 = k->x[0], *x1 = k->x[1];
	size_t i = i0;
	for (; i + 64 <= i1; i += 64) {
		__m512i q[4];
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++) {
			__m512 t = _mm512_add_ps(_mm512_mul_ps(m0, load16_minus(x0 + i + 16 * h, z0)),
			                         _mm512_mul_ps(m1, load16_minus(x1 + i + 16 * h, z1)));
			q[h] = _mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(
			                                 _mm512_min_ps(top, t)), zy), qmin);
		}
		_mm512_storeu_si512(k->y + i, dnnq_avx512_pack_u8(q));
	}
	if (i < i1)
		dnnq_ew_avx2(k, i, i1);
}
