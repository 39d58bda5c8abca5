/*
 * Cos: y = cos x, ONNX's Cos (engine/unary.h: dnnq_sincos1, the sine a
 * quarter turn on), every finite x as Sin. File code 93.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(cos, "Cos", 93, dnnq_sincos1(x, 2.0f), dnnq_sincos8(x, 2.0f), true);
