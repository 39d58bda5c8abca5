/*
 * Asin: y = asinf(x), the arcsine of x in [-1, 1] (NaN outside), ONNX's
 * Asin: libm's function on every ISA (engine/unary.h: dnnq_lanes8). int8 a
 * table as the others. File code 106.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(asin, "Asin", 106, asinf(x), dnnq_lanes8(x, asinf), true);
