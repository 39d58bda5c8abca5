/*
 * Reciprocal: y = 1 / x, ONNX's Reciprocal (engine/unary.h). File code 17.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(reciprocal, "Reciprocal", 17, 1.0f / x,
              _mm256_div_ps(_mm256_set1_ps(1.0f), x), true);
