/*
 * Round: y = x rounded to the nearest integer, a half to the even one,
 * ONNX's Round (engine/unary.h; rintf in the default rounding mode).
 * fp32 only, as Log: an int8 value on a half lands a step either side
 * of it, and the result an integer off.
 * File code 83.
 */
#include <math.h>

#include "engine/unary.h"

DNNQ_UNARY_OP(round, "Round", 83, rintf(x),
              _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), false);
