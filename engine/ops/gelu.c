/*
 * GELU: y = 0.5 x (1 + erf(x / sqrt 2)) (engine/unary.h), no ONNX
 * operator of its own before opset 20: onnx/fuse.c makes it of the Erf
 * form torch and transformers export. File code 24.
 */
#include "engine/unary.h"

#define GELU_SQRT1_2 0.707106781186547524f

static inline float gelu1(float x)
{
	float t = dnnq_erf1(x * GELU_SQRT1_2);
	return (0.5f * x) * (1.0f + t);
}

DNNQ_AVX2 __m256 gelu8(__m256 x)
{
	__m256 t = dnnq_erf8(_mm256_mul_ps(x, _mm256_set1_ps(GELU_SQRT1_2)));
	return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
	                     _mm256_add_ps(_mm256_set1_ps(1.0f), t));
}

DNNQ_UNARY_OP(gelu, NULL, 24, gelu1(x), gelu8(x), true);
