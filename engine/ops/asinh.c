/*
 * Asinh: y = asinhf(x), the inverse hyperbolic sine, ONNX's Asinh: libm's
 * function on every ISA (engine/unary.h: dnnq_lanes8). int8 a table as the
 * others. File code 111.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(asinh, "Asinh", 111, asinhf(x), dnnq_lanes8(x, asinhf), true);
