/*
 * Ceil: y = ceil(x), ONNX's Ceil (engine/unary.h). fp32 only, as Log: an
 * int8 value on an integer lands a step either side of it, and the
 * result an integer off. File code 81.
 */
#include <math.h>

#include "engine/unary.h"

DNNQ_UNARY_OP(ceil, "Ceil", 81, ceilf(x), _mm256_ceil_ps(x), false);
