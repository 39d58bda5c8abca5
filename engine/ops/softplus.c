/*
 * Softplus: y = ln(1 + e^x), ONNX's Softplus (Mish is x tanh(Softplus(x))),
 * as max(x, 0) + log1p(e^-|x|): no overflow, and log1p(t) = ln(u) t / (u - 1)
 * with u = 1 + t rounded (t itself when u is 1) keeps the small values of a
 * very negative x. File code 39.
 */
#include "engine/unary.h"

static inline float softplus1(float x)
{
	float t = dnnq_exp1(-fabsf(x)), u = 1.0f + t, d = u - 1.0f;
	float l = d == 0.0f ? t : dnnq_log1(u) * (t / d);
	return (x > 0.0f ? x : 0.0f) + l;
}

DNNQ_AVX2 __m256 softplus8(__m256 x)
{
	__m256 t = dnnq_exp8(_mm256_or_ps(x, DNNQ_SET1(-0.0f)));
	__m256 u = _mm256_add_ps(DNNQ_SET1(1.0f), t), d = _mm256_sub_ps(u, DNNQ_SET1(1.0f));
	__m256 l = _mm256_blendv_ps(_mm256_mul_ps(dnnq_log8(u), _mm256_div_ps(t, d)), t,
	                            _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ));
	return _mm256_add_ps(_mm256_max_ps(x, _mm256_setzero_ps()), l);
}

DNNQ_UNARY_OP(softplus, "Softplus", 39, softplus1(x), softplus8(x), true);
