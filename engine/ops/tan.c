/*
 * Tan: y = tanf(x), ONNX's Tan: libm's function on every ISA
 * (engine/unary.h: dnnq_lanes8). fp32 only: across a pole (x near pi/2 +
 * k pi) the output's range is unbounded, and one scale for the table's
 * 256 levels gives the rest of the values a few codes (ONNX's test_tan,
 * x of about -2.5..2.5, was 22.6 dB int8). File code 108.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(tan, "Tan", 108, tanf(x), dnnq_lanes8(x, tanf), false);
