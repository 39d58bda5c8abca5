/*
 * Atan: y = atanf(x), the arctangent, in (-pi/2, pi/2), ONNX's Atan: libm's
 * function on every ISA (engine/unary.h: dnnq_lanes8). int8 a table as the
 * others. File code 105.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(atan, "Atan", 105, atanf(x), dnnq_lanes8(x, atanf), true);
