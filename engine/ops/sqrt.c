/*
 * Sqrt: y = sqrt(x), ONNX's Sqrt (engine/unary.h); NaN below 0. File code 16.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(sqrt, "Sqrt", 16, sqrtf(x), _mm256_sqrt_ps(x), true);
