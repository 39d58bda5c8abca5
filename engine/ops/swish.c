/*
 * Swish (SiLU): y = x * sigmoid(x) (engine/unary.h), no ONNX operator of
 * its own: onnx/fuse.c makes it of x * Sigmoid(x). A closed gate gives 0,
 * even at -inf. File code 23.
 */
#include "engine/unary.h"

static inline float swish1(float x)
{
	float s = dnnq_sigmoid1(x);
	return s == 0.0f ? 0.0f : x * s;
}

DNNQ_AVX2 __m256 swish8(__m256 x)
{
	__m256 s = dnnq_sigmoid8(x);
	return _mm256_andnot_ps(_mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_EQ_OQ),
	                        _mm256_mul_ps(x, s));
}

DNNQ_UNARY_OP(swish, NULL, 23, swish1(x), swish8(x), true);
