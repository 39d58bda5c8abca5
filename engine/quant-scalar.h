/*
 * engine/quant-scalar.h — one-element quantization steps, the reference that
 * every SIMD kernel reproduces bit for bit. Inline so that kernels (GEMM
 * output stages, elementwise ops) use the very same expressions.
 */
#ifndef DNNQ_ENGINE_QUANT_SCALAR_H
#define DNNQ_ENGINE_QUANT_SCALAR_H

#include <math.h>

#include "engine/quant.h"

/* round_half_even(v) + zp, saturated to [qmin, qmax], all in float (exact:
 * every operand is an integer below 2^24 once clamped). NaN saturates to
 * qmin, as the SIMD max instruction does. */
static inline int32_t dnnq_saturate_rne(float v, float zp, float qmin, float qmax)
{
	v = rintf(v) + zp;
	v = v > qmin ? v : qmin;   /* NaN compares false: qmin */
	v = v < qmax ? v : qmax;
	return (int32_t)v;
}

static inline int32_t dnnq_quantize_1(float x, float scale, float zp, float qmin,
                                      float qmax)
{
	return dnnq_saturate_rne(x / scale, zp, qmin, qmax);
}

static inline float dnnq_dequantize_1(int32_t q, int32_t zp, float scale)
{
	return (float)(int32_t)((uint32_t)q - (uint32_t)zp) * scale;
}

static inline int32_t dnnq_requant_float_1(int32_t acc, float mult, float zp,
                                           float qmin, float qmax)
{
	return dnnq_saturate_rne((float)acc * mult, zp, qmin, qmax);
}

/* gemmlowp's SaturatingRoundingDoublingHighMul for b in [2^30, 2^31): the
 * saturating case (a == b == INT32_MIN) cannot occur. */
static inline int32_t dnnq_srdhm(int32_t a, int32_t b)
{
	int64_t ab = (int64_t)a * b;
	int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
	return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp's RoundingDivideByPOT: x / 2^e, ties away from zero. */
static inline int32_t dnnq_rdbpot(int32_t x, int e)
{
	int32_t mask = (int32_t)((1u << e) - 1);
	int32_t remainder = x & mask;
	int32_t threshold = (mask >> 1) + (x < 0);
	return (x >> e) + (remainder > threshold);
}

static inline int32_t dnnq_requant_fixed_1(int32_t acc, int32_t mult, int32_t shift,
                                           int32_t zp, int32_t qmin, int32_t qmax)
{
	int32_t v = dnnq_rdbpot(dnnq_srdhm(acc, mult), shift);
	/* clamp before adding the zero point: v may be near INT32_MAX */
	int32_t lo = qmin - zp, hi = qmax - zp;
	v = v < lo ? lo : v > hi ? hi : v;
	return v + zp;
}

#endif
