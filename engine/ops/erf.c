/*
 * Erf: the error function, ONNX's Erf (engine/unary.h: dnnq_erf1). File code 22.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(erf, "Erf", 22, dnnq_erf1(x), dnnq_erf8(x), true);
