/*
 * Acos: y = acosf(x), the arccosine of x in [-1, 1] (NaN outside), ONNX's
 * Acos: libm's function on every ISA (engine/unary.h: dnnq_lanes8). int8 a
 * table as the others. File code 107.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(acos, "Acos", 107, acosf(x), dnnq_lanes8(x, acosf), true);
