/*
 * Sinh: y = sinhf(x), the hyperbolic sine, ONNX's Sinh: libm's function on
 * every ISA (engine/unary.h: dnnq_lanes8). int8 a table as the others. File
 * code 109.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(sinh, "Sinh", 109, sinhf(x), dnnq_lanes8(x, sinhf), true);
