/*
 * engine/unary.h — unary elementwise operators, each one file of
 * engine/ops/ (engine/ops/exp.c is the example):
 *
 *     DNNQ_UNARY_OP(exp, "Exp", 20, dnnq_exp1(x), dnnq_exp8(x), true)
 *
 * defines the operator `exp` with file code 20 implementing ONNX's Exp:
 * y = f(x) on real values, any shape, with an int8 node (false: fp32 only,
 * where a table of 256 samples is measured too coarse, as Log's near 0:
 * the lowering runs such a node fp32). The int8 node samples f at the 256
 * values its u8 input can hold: a table built at create from the input's
 * and output's parameters (x dequantized, f in float, quantized round half
 * to even, saturated, NaN to 0) and applied by the LUT kernels of the
 * ISA's table (engine/kernels.h: scalar oracle, AVX2), bit-exact by
 * construction. The fp32 node evaluates f on f32, AVX2 (8 at a time) or
 * scalar; the AVX2 expression does the same float operations in the same
 * order as the scalar one, so both ISAs give the same bits, and the scalar
 * expression is the fp32 reference.
 *
 * The transcendental functions below are polynomial (no FMA, so scalar and
 * AVX2 round alike) and checked against libm in double (tests/
 * test_unary.c): exp is engine/f32's (Cephes' expf) and log Cephes' logf,
 * both within 1 ulp; erf a rational function of degree 13/8 (the one Eigen
 * and XLA use) clamped to [-4, 4], where erf is +-1 in float, within 8 ulp;
 * pow exp(b log |a|), within about 2 + |b ln a| / 2 ulp; sin and cos
 * Cephes' sinf and cosf, within 1.3 units of max(ulp(y), 2^-24) for |x|
 * up to 8192 (near a zero of y the reduction's absolute error bounds it,
 * not y's ulp), past it reduced exactly (Payne and Hanek), within 1 ulp.
 */
#ifndef DNNQ_ENGINE_UNARY_H
#define DNNQ_ENGINE_UNARY_H

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "engine/binary.h"
#include "engine/f32-kernels.h"

#define DNNQ_AVX2 __attribute__((target("avx2"))) static inline
#define DNNQ_SET1 _mm256_set1_ps

/* c[0] x^(n-1) + ... + c[n-1] by Horner's rule (n >= 2), scalar and 8 at a
 * time in the same order. */
static inline float dnnq_horner1(float x, const float *c, int n)
{
	float y = c[0] * x + c[1];
	for (int i = 2; i < n; i++)
		y = y * x + c[i];
	return y;
}

DNNQ_AVX2 __m256 dnnq_horner8(__m256 x, const float *c, int n)
{
	__m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(c[0]), x), _mm256_set1_ps(c[1]));
	for (int i = 2; i < n; i++)
		y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(c[i]));
	return y;
}

/* ---- exp ------------------------------------------------------------------ */

static inline float dnnq_exp1(float x)
{
	return dnnq_f32_exp(x);
}

DNNQ_AVX2 __m256 dnnq_pow2i8(__m256i n)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)),
	                                             23));
}

/* dnnq_f32_exp, 8 at a time */
DNNQ_AVX2 __m256 dnnq_exp8(__m256 x)
{
	__m256 xc = _mm256_max_ps(x, DNNQ_SET1(DNNQ_F32_EXP_LO));
	xc = _mm256_min_ps(xc, DNNQ_SET1(DNNQ_F32_EXP_HI));
	__m256 fn = _mm256_floor_ps(_mm256_add_ps(_mm256_mul_ps(xc, DNNQ_SET1(DNNQ_F32_LOG2E)),
	                                          DNNQ_SET1(0.5f)));
	__m256 r = _mm256_sub_ps(xc, _mm256_mul_ps(fn, DNNQ_SET1(DNNQ_F32_LN2_HI)));
	r = _mm256_sub_ps(r, _mm256_mul_ps(fn, DNNQ_SET1(DNNQ_F32_LN2_LO)));
	__m256 p = _mm256_add_ps(_mm256_mul_ps(DNNQ_SET1(DNNQ_F32_EXP_P0), r),
	                         DNNQ_SET1(DNNQ_F32_EXP_P1));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), DNNQ_SET1(DNNQ_F32_EXP_P2));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), DNNQ_SET1(DNNQ_F32_EXP_P3));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), DNNQ_SET1(DNNQ_F32_EXP_P4));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), DNNQ_SET1(DNNQ_F32_EXP_P5));
	p = _mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r);
	p = _mm256_add_ps(p, DNNQ_SET1(1.0f));
	__m256i n = _mm256_cvtps_epi32(fn), n1 = _mm256_srai_epi32(n, 1);
	__m256 y = _mm256_mul_ps(_mm256_mul_ps(p, dnnq_pow2i8(n1)),
	                         dnnq_pow2i8(_mm256_sub_epi32(n, n1)));
	y = _mm256_blendv_ps(y, DNNQ_SET1(INFINITY),
	                     _mm256_cmp_ps(x, DNNQ_SET1(DNNQ_F32_EXP_HI), _CMP_GT_OQ));
	return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* ---- sigmoid: exp of -|x| (no overflow; tiny results for x << 0) ------------ */

static inline float dnnq_sigmoid1(float x)
{
	float t = dnnq_exp1(-fabsf(x));
	return x >= 0.0f ? 1.0f / (1.0f + t) : t / (1.0f + t);
}

DNNQ_AVX2 __m256 dnnq_sigmoid8(__m256 x)
{
	const __m256 one = DNNQ_SET1(1.0f);
	__m256 t = dnnq_exp8(_mm256_or_ps(x, DNNQ_SET1(-0.0f)));
	return _mm256_blendv_ps(_mm256_div_ps(t, _mm256_add_ps(one, t)),
	                        _mm256_div_ps(one, _mm256_add_ps(one, t)),
	                        _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}

/* ---- log (Cephes' logf): x = m 2^e, m in [sqrt(1/2), sqrt(2)) ---------------- */

#define DNNQ_LOG_SQRTHF 0.707106781186547524f
static const float dnnq_log_p[9] = { 7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f,
                                     -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f,
                                     2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f };

static inline float dnnq_log1(float x)
{
	if (!(x > 0.0f))                   /* 0: -inf; below 0 or NaN: NaN */
		return x == 0.0f ? -INFINITY : NAN;
	if (x == INFINITY)
		return x;
	float e0 = 0.0f, m;
	if (x < FLT_MIN) {                 /* a subnormal: scaled into the normal range */
		x = x * 8388608.0f;
		e0 = -23.0f;
	}
	uint32_t u;
	memcpy(&u, &x, 4);
	float e = (float)((int32_t)(u >> 23) - 126) + e0;
	u = (u & 0x007fffffu) | 0x3f000000u;   /* m in [0.5, 1) */
	memcpy(&m, &u, 4);
	bool lo = m < DNNQ_LOG_SQRTHF;
	e = lo ? e - 1.0f : e;
	m = (lo ? m + m : m) - 1.0f;
	float z = m * m;
	float y = dnnq_horner1(m, dnnq_log_p, 9) * m * z;
	y = y + e * DNNQ_F32_LN2_LO;
	y = y - 0.5f * z;
	m = m + y;
	return m + e * DNNQ_F32_LN2_HI;
}

DNNQ_AVX2 __m256 dnnq_log8(__m256 x)
{
	const __m256 zero = _mm256_setzero_ps(), one = DNNQ_SET1(1.0f);
	__m256 sub = _mm256_cmp_ps(x, DNNQ_SET1(FLT_MIN), _CMP_LT_OQ);
	__m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, DNNQ_SET1(8388608.0f)), sub);
	__m256 e0 = _mm256_and_ps(sub, DNNQ_SET1(-23.0f));
	__m256i u = _mm256_castps_si256(xs);
	__m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(u, 23),
	                                               _mm256_set1_epi32(126)));
	e = _mm256_add_ps(e, e0);
	u = _mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)),
	                    _mm256_set1_epi32(0x3f000000));
	__m256 m = _mm256_castsi256_ps(u);
	__m256 lo = _mm256_cmp_ps(m, DNNQ_SET1(DNNQ_LOG_SQRTHF), _CMP_LT_OQ);
	e = _mm256_blendv_ps(e, _mm256_sub_ps(e, one), lo);
	m = _mm256_sub_ps(_mm256_blendv_ps(m, _mm256_add_ps(m, m), lo), one);
	__m256 z = _mm256_mul_ps(m, m);
	__m256 y = _mm256_mul_ps(_mm256_mul_ps(dnnq_horner8(m, dnnq_log_p, 9), m), z);
	y = _mm256_add_ps(y, _mm256_mul_ps(e, DNNQ_SET1(DNNQ_F32_LN2_LO)));
	y = _mm256_sub_ps(y, _mm256_mul_ps(DNNQ_SET1(0.5f), z));
	m = _mm256_add_ps(m, y);
	__m256 r = _mm256_add_ps(m, _mm256_mul_ps(e, DNNQ_SET1(DNNQ_F32_LN2_HI)));
	r = _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, DNNQ_SET1(INFINITY), _CMP_EQ_OQ));
	r = _mm256_blendv_ps(r, DNNQ_SET1(-INFINITY), _mm256_cmp_ps(x, zero, _CMP_EQ_OQ));
	return _mm256_blendv_ps(r, DNNQ_SET1(NAN), _mm256_cmp_ps(x, zero, _CMP_NGE_UQ));
}

/* ---- erf: x P(x^2) / Q(x^2) on x clamped to [-4, 4]; NaN propagates ------------ */

/* x^13, x^11, ..., x^1 of P; x^8, ..., x^0 of Q */
static const float dnnq_erf_p[7] = { -2.72614225801306e-10f, 2.77068142495902e-08f,
                                     -2.10102402082508e-06f, -5.69250639462346e-05f,
                                     -7.34990630326855e-04f, -2.95459980854025e-03f,
                                     -1.60960333262415e-02f };
static const float dnnq_erf_q[5] = { -1.45660718464996e-05f, -2.13374055278905e-04f,
                                     -1.68282697438203e-03f, -7.37332916720468e-03f,
                                     -1.42647390514189e-02f };

static inline float dnnq_erf1(float x)
{
	if (x != x)
		return x;
	float c = x < 4.0f ? x : 4.0f;
	c = c > -4.0f ? c : -4.0f;
	float z = c * c;
	return c * dnnq_horner1(z, dnnq_erf_p, 7) / dnnq_horner1(z, dnnq_erf_q, 5);
}

DNNQ_AVX2 __m256 dnnq_erf8(__m256 x)
{
	__m256 c = _mm256_max_ps(_mm256_min_ps(x, DNNQ_SET1(4.0f)), DNNQ_SET1(-4.0f));
	__m256 z = _mm256_mul_ps(c, c);
	__m256 p = _mm256_mul_ps(c, dnnq_horner8(z, dnnq_erf_p, 7));
	__m256 y = _mm256_div_ps(p, dnnq_horner8(z, dnnq_erf_q, 5));
	return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* ---- sin, cos (Cephes' sinf and cosf, no libm) --------------------------------
 * |x| = j pi/4 + z, j the even multiple nearest (the octant rounded up to
 * even), z in [-pi/4, pi/4], then the sine or the cosine polynomial of z
 * by the octant, cos(x) taken as sin(|x| + pi/2): the octant two on. Up to
 * DNNQ_TRIG_FAST z is a - j pi/4 by the three-part pi/4 in float (the
 * first two parts short enough that j times them is exact; within 1.3
 * units up to 8192, 8.2 at 2^16 pi/4, where j stops being exact); past it
 * (an angle of huge magnitude: a position id scaled by a frequency, a
 * phase a model accumulates) a is reduced exactly by dnnq_trig_reduce, as
 * libm's sinf does, so every finite x has its sine. NaN and the
 * infinities give NaN. */
#define DNNQ_TRIG_FAST 8192.0f
#define DNNQ_TRIG_FOPI 1.27323954473516f                 /* 4 / pi */
#define DNNQ_TRIG_DP1 0.78515625f
#define DNNQ_TRIG_DP2 2.4187564849853515625e-4f
#define DNNQ_TRIG_DP3 3.77489497744594108e-8f
static const float dnnq_sin_p[3] = { -1.9515295891e-4f, 8.3321608736e-3f, -1.6666654611e-1f };
static const float dnnq_cos_p[3] = { 2.443315711809948e-5f, -1.388731625493765e-3f,
                                     4.166664568298827e-2f };

/* The bits of 2/pi after the point, 32 a word, behind a word of zeros
 * (the bits of weight 2^0 .. 2^31, none) so that a window may start before
 * the point. */
static const uint32_t dnnq_trig_2opi[11] = {
	0, 0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0, 0xdb629599, 0x3c439041,
	0xfe5163ab, 0xdebbc561, 0xb7246e3a, 0x424dd2e0,
};

/* The 64 bits of the table from bit i on (bit 0 the first of word 0). */
static inline uint64_t dnnq_trig_bits(int i)
{
	const uint32_t *w = dnnq_trig_2opi + (i >> 5);
	unsigned __int128 v = ((unsigned __int128)w[0] << 64) | ((uint64_t)w[1] << 32) | w[2];
	return (uint64_t)(v >> (32 - (i & 31)));
}

/* a (finite, past DNNQ_TRIG_FAST) = m 2^e, m an integer of 24 bits: a 2/pi
 * = n + f, n the nearest integer mod 4 into *quadrant, f in [-1/2, 1/2]
 * returned as f pi/2 (Payne and Hanek's reduction). m times the 96 bits of
 * 2/pi from weight 2^(1-e) on gives a 2/pi mod 4 to 2^-94: the bits before
 * them make multiples of 4, those after add less than 2^-70, and a float's
 * f is never below 2^-30 or so, so the double keeps 40 bits of it. */
static inline double dnnq_trig_reduce(float a, int *quadrant)
{
	uint32_t u;
	memcpy(&u, &a, 4);
	int e = (int)(u >> 23) - 150;
	uint64_t m = (u & 0x7fffffu) | 0x800000u;
	int i = e + 30;                                      /* the bit of weight 2^(1-e) */
	unsigned __int128 p = (((unsigned __int128)(m * (dnnq_trig_bits(i) >> 32))) << 64) +
	                      (unsigned __int128)m * dnnq_trig_bits(i + 32);
	p &= ((unsigned __int128)1 << 96) - 1;               /* a 2/pi mod 4, in 2^-94 */
	uint64_t n = (uint64_t)((p + ((unsigned __int128)1 << 93)) >> 94);
	__int128 f = (__int128)p - (__int128)((unsigned __int128)n << 94);
	*quadrant = (int)(n & 3);
	return (double)(int64_t)(f >> 32) * 0x1.921fb54442d18p-62;
}

/* sin x (quarter 0) or cos x (quarter 2: the octant two on) */
static inline float dnnq_sincos1(float x, float quarter)
{
	float a = fabsf(x), j, z;
	if (!(a <= FLT_MAX))
		return NAN;
	if (a <= DNNQ_TRIG_FAST) {
		j = floorf(a * DNNQ_TRIG_FOPI);
		j = j + (j - 2.0f * floorf(j * 0.5f));       /* rounded up to even */
		z = ((a - j * DNNQ_TRIG_DP1) - j * DNNQ_TRIG_DP2) - j * DNNQ_TRIG_DP3;
	} else {
		int q;
		z = (float)dnnq_trig_reduce(a, &q);
		j = (float)(2 * q);
	}
	float k = j + quarter;
	k = k - 8.0f * floorf(k * 0.125f);                   /* 0, 2, 4 or 6 */
	bool neg = quarter == 0.0f && signbit(x);            /* sin is odd, cos even */
	if (k >= 4.0f)
		neg = !neg, k = k - 4.0f;
	float zz = z * z, y;
	if (k == 2.0f)
		y = (dnnq_horner1(zz, dnnq_cos_p, 3) * zz * zz - 0.5f * zz) + 1.0f;
	else
		y = dnnq_horner1(zz, dnnq_sin_p, 3) * zz * z + z;
	return neg ? -y : y;
}

/* 8 at a time; a lane past DNNQ_TRIG_FAST (or not finite) takes the scalar
 * function, so every lane has its bits. */
DNNQ_AVX2 __m256 dnnq_sincos8(__m256 x, float quarter)
{
	const __m256 sign = DNNQ_SET1(-0.0f), four = DNNQ_SET1(4.0f);
	__m256 a = _mm256_andnot_ps(sign, x);
	__m256 j = _mm256_floor_ps(_mm256_mul_ps(a, DNNQ_SET1(DNNQ_TRIG_FOPI)));
	__m256 h = _mm256_floor_ps(_mm256_mul_ps(j, DNNQ_SET1(0.5f)));
	j = _mm256_add_ps(j, _mm256_sub_ps(j, _mm256_mul_ps(DNNQ_SET1(2.0f), h)));
	__m256 z = _mm256_sub_ps(a, _mm256_mul_ps(j, DNNQ_SET1(DNNQ_TRIG_DP1)));
	z = _mm256_sub_ps(z, _mm256_mul_ps(j, DNNQ_SET1(DNNQ_TRIG_DP2)));
	z = _mm256_sub_ps(z, _mm256_mul_ps(j, DNNQ_SET1(DNNQ_TRIG_DP3)));
	__m256 k = _mm256_add_ps(j, DNNQ_SET1(quarter));
	k = _mm256_sub_ps(k, _mm256_mul_ps(DNNQ_SET1(8.0f),
	                                   _mm256_floor_ps(_mm256_mul_ps(k, DNNQ_SET1(0.125f)))));
	__m256 neg = quarter == 0.0f ? _mm256_and_ps(x, sign) : _mm256_setzero_ps();
	__m256 hi = _mm256_cmp_ps(k, four, _CMP_GE_OQ);
	neg = _mm256_xor_ps(neg, _mm256_and_ps(hi, sign));
	k = _mm256_blendv_ps(k, _mm256_sub_ps(k, four), hi);
	__m256 zz = _mm256_mul_ps(z, z);
	__m256 c = _mm256_mul_ps(_mm256_mul_ps(dnnq_horner8(zz, dnnq_cos_p, 3), zz), zz);
	c = _mm256_add_ps(_mm256_sub_ps(c, _mm256_mul_ps(DNNQ_SET1(0.5f), zz)), DNNQ_SET1(1.0f));
	__m256 s = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(dnnq_horner8(zz, dnnq_sin_p, 3), zz),
	                                       z), z);
	__m256 y = _mm256_xor_ps(_mm256_blendv_ps(s, c, _mm256_cmp_ps(k, DNNQ_SET1(2.0f),
	                                                                _CMP_EQ_OQ)), neg);
	int far = _mm256_movemask_ps(_mm256_cmp_ps(a, DNNQ_SET1(DNNQ_TRIG_FAST), _CMP_NLE_UQ));
	if (far) {
		float xs[8], ys[8];
		_mm256_storeu_ps(xs, x);
		_mm256_storeu_ps(ys, y);
		for (int i = 0; i < 8; i++)
			if (far & (1 << i))
				ys[i] = dnnq_sincos1(xs[i], quarter);
		y = _mm256_loadu_ps(ys);
	}
	return y;
}

/* ---- the rarer functions (Atan, Tan, Sinh, ...): libm's, lane by lane --------
 * Models use them seldom and on small tensors (an angle from a vector, a
 * pose's rotation), so the AVX2 kernel calls the scalar function on each
 * lane: one result on every ISA, libm's accuracy, no polynomial of ours. */
DNNQ_AVX2 __m256 dnnq_lanes8(__m256 x, float (*f)(float))
{
	float v[8];
	_mm256_storeu_ps(v, x);
	for (int i = 0; i < 8; i++)
		v[i] = f(v[i]);
	return _mm256_loadu_ps(v);
}

/* ---- a float cast to an integer type (ONNX's Cast computed at run time) ------
 * As ONNX Runtime casts on x86 (C++'s static_cast: the CPU's truncating
 * conversion): toward zero; to int64 NaN and |x| >= 2^63 give -2^63; to
 * int32 NaN and x outside [-2^31, 2^31) give -2^31; to 8 bits through
 * int32 (out of its range -2^31, whose low bits are 0), then wrapped into
 * the type (300.5 to int8: 44; to uint8 -2.7: 254). The integer is the
 * float holding it, exactly: every one is a float (a float past 2^24 is an
 * integer already), -0 made 0. bits 64, 32 or 8; sgn: int8, else uint8. */
static inline float dnnq_cast_int1(float x, int bits, bool sgn)
{
	if (bits == 64)
		return fabsf(x) < 0x1p63f ? truncf(x) + 0.0f : -0x1p63f;
	int32_t i = x >= -0x1p31f && x < 0x1p31f ? (int32_t)x : INT32_MIN;
	if (bits == 32)
		return (float)i;
	uint32_t u = (uint32_t)i << (32 - bits);
	return (float)(sgn ? (int32_t)u >> (32 - bits) : (int32_t)(u >> (32 - bits)));
}

DNNQ_AVX2 __m256 dnnq_cast_int_avx2(__m256 x, int bits, bool sgn)
{
	if (bits == 64) {
		__m256 t = _mm256_add_ps(_mm256_round_ps(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC),
		                         _mm256_setzero_ps());
		__m256 in = _mm256_cmp_ps(_mm256_andnot_ps(DNNQ_SET1(-0.0f), x), DNNQ_SET1(0x1p63f),
		                          _CMP_LT_OQ);
		return _mm256_blendv_ps(DNNQ_SET1(-0x1p63f), t, in);
	}
	__m256i i = _mm256_cvttps_epi32(x);  /* NaN, out of range: INT32_MIN, as the scalar's */
	if (bits < 32) {
		__m256i u = _mm256_slli_epi32(i, 32 - bits);
		i = sgn ? _mm256_srai_epi32(u, 32 - bits) : _mm256_srli_epi32(u, 32 - bits);
	}
	return _mm256_cvtepi32_ps(i);
}

/* ---- the family ------------------------------------------------------------- */

typedef void (*dnnq_unary_row_f32)(const float *x, float *y, size_t n);

struct dnnq_unary_impl {
	float (*f32)(float x);                     /* the scalar expression */
	dnnq_unary_row_f32 row_f32[DNNQ_ISA_COUNT];
};

/* The graph adapter every unary operator shares, int8 and fp32
 * (engine/unary.c). */
extern const struct node_ops dnnq_unary_ops;

/* d's scalar function when d is a unary operator, else NULL. */
float (*dnnq_unary_fn(const struct dnnq_op_def *d))(float);

#define DNNQ_UNARY_OP(NAME, ONNX, KIND, EXPR, EXPR_AVX2, INT8)                             \
static float NAME##_f32(float x)                                                           \
{                                                                                          \
	return EXPR;                                                                       \
}                                                                                          \
static void NAME##_row_scalar(const float *px, float *y, size_t n)                         \
{                                                                                          \
	for (size_t i = 0; i < n; i++)                                                     \
		y[i] = NAME##_f32(px[i]);                                                  \
}                                                                                          \
__attribute__((target("avx2")))                                                            \
static void NAME##_row_avx2(const float *px, float *y, size_t n)                           \
{                                                                                          \
	size_t i = 0;                                                                      \
	for (; i + 8 <= n; i += 8) {                                                       \
		__m256 x = _mm256_loadu_ps(px + i);                                        \
		_mm256_storeu_ps(y + i, (EXPR_AVX2));                                      \
	}                                                                                  \
	NAME##_row_scalar(px + i, y + i, n - i);                                           \
}                                                                                          \
static const struct dnnq_unary_impl NAME##_impl = {                                        \
	.f32 = NAME##_f32,                                                                 \
	.row_f32 = { [DNNQ_ISA_SCALAR] = NAME##_row_scalar, [DNNQ_ISA_AVX2] = NAME##_row_avx2, \
	             [DNNQ_ISA_AVX512VNNI] = NAME##_row_avx2 },                            \
};                                                                                         \
const struct dnnq_op_def dnnq_op_##NAME = {                                                \
	.kind = KIND, .name = #NAME, .onnx = ONNX, .min_inputs = 1, .max_inputs = 1,       \
	.attrs = DNNQ_BINARY_ATTRS, .build = dnnq_binary_build,                            \
	.ops = (INT8) ? &dnnq_unary_ops : NULL, .ops_f32 = &dnnq_unary_ops,                \
	.impl = &NAME##_impl,                                                              \
}

/* ---- Pow (a binary operator: engine/ops/pow.c) --------------------------------- */

/* a^b as C's powf: b 0 or a 1 give 1, b 1 gives a, b 2 a * a; otherwise
 * exp(b log |a|), negated for a < 0 and an odd integer b, NaN for a < 0
 * and a b that is no integer. */
static inline float dnnq_pow1(float a, float b)
{
	if (b == 0.0f || a == 1.0f)
		return 1.0f;
	if (b == 1.0f)
		return a;
	if (b == 2.0f)
		return a * a;
	float y = dnnq_exp1(b * dnnq_log1(fabsf(a)));
	if (!(a < 0.0f))
		return y;
	float h = b * 0.5f;
	if (b != floorf(b))
		return NAN;
	return h != floorf(h) ? -y : y;
}

DNNQ_AVX2 __m256 dnnq_pow8(__m256 a, __m256 b)
{
	const __m256 one = DNNQ_SET1(1.0f), sign = DNNQ_SET1(-0.0f);
	__m256 y = dnnq_exp8(_mm256_mul_ps(b, dnnq_log8(_mm256_andnot_ps(sign, a))));
	__m256 h = _mm256_mul_ps(b, DNNQ_SET1(0.5f));
	__m256 neg = _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_LT_OQ);
	__m256 odd = _mm256_cmp_ps(h, _mm256_floor_ps(h), _CMP_NEQ_UQ);
	__m256 frac = _mm256_cmp_ps(b, _mm256_floor_ps(b), _CMP_NEQ_UQ);
	y = _mm256_blendv_ps(y, _mm256_xor_ps(y, sign), _mm256_and_ps(neg, odd));
	y = _mm256_blendv_ps(y, DNNQ_SET1(NAN), _mm256_and_ps(neg, frac));
	y = _mm256_blendv_ps(y, _mm256_mul_ps(a, a), _mm256_cmp_ps(b, DNNQ_SET1(2.0f), _CMP_EQ_OQ));
	y = _mm256_blendv_ps(y, a, _mm256_cmp_ps(b, one, _CMP_EQ_OQ));
	return _mm256_blendv_ps(y, one, _mm256_or_ps(_mm256_cmp_ps(b, _mm256_setzero_ps(),
	                                                           _CMP_EQ_OQ),
	                                             _mm256_cmp_ps(a, one, _CMP_EQ_OQ)));
}

#endif
