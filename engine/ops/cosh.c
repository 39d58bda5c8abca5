/*
 * Cosh: y = coshf(x), the hyperbolic cosine, ONNX's Cosh: libm's function on
 * every ISA (engine/unary.h: dnnq_lanes8). int8 a table as the others. File
 * code 110.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(cosh, "Cosh", 110, coshf(x), dnnq_lanes8(x, coshf), true);
