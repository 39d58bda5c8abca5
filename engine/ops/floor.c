/*
 * Floor: y = floor(x), ONNX's Floor (engine/unary.h). fp32 only, as Log: an
 * int8 value on an integer lands a step either side of it, and the
 * result an integer off. File code 82.
 */
#include <math.h>

#include "engine/unary.h"

DNNQ_UNARY_OP(floor, "Floor", 82, floorf(x), _mm256_floor_ps(x), false);
