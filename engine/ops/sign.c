/*
 * Sign: y = 1 for x > 0, -1 for x < 0, x itself otherwise (0, -0, NaN),
 * ONNX's Sign (engine/unary.h). int8 a table as the others: sign of the
 * dequantized code, exact wherever the output's parameters hold -1, 0
 * and 1. File code 90.
 */
#include "engine/unary.h"

static inline float sign1(float x)
{
	return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;
}

DNNQ_AVX2 __m256 sign8(__m256 x)
{
	__m256 y = _mm256_blendv_ps(x, DNNQ_SET1(1.0f),
	                            _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
	return _mm256_blendv_ps(y, DNNQ_SET1(-1.0f),
	                        _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}

DNNQ_UNARY_OP(sign, "Sign", 90, sign1(x), sign8(x), true);
