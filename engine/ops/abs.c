/*
 * Abs: y = |x|, ONNX's Abs (engine/unary.h). File code 19.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(abs, "Abs", 19, fabsf(x), _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), true);
