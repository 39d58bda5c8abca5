/*
 * Acosh: y = acoshf(x), the inverse hyperbolic cosine of x >= 1 (NaN
 * below), ONNX's Acosh: libm's function on every ISA (engine/unary.h:
 * dnnq_lanes8). fp32 only, as Log: its slope is infinite at 1, where a
 * table of 256 samples lands whole steps off (ONNX's test_acosh_example,
 * acosh of 1, was 24.7 dB int8). File code 112.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(acosh, "Acosh", 112, acoshf(x), dnnq_lanes8(x, acoshf), false);
