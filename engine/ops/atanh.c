/*
 * Atanh: y = atanhf(x), the inverse hyperbolic tangent of x in [-1, 1]
 * (+-inf at +-1, NaN outside), ONNX's Atanh: libm's function on every ISA
 * (engine/unary.h: dnnq_lanes8). int8 a table as the others. File code 113.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(atanh, "Atanh", 113, atanhf(x), dnnq_lanes8(x, atanhf), true);
