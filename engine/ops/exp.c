/*
 * Exp: y = e^x, ONNX's Exp (engine/unary.h: dnnq_exp1). File code 20.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(exp, "Exp", 20, dnnq_exp1(x), dnnq_exp8(x), true);
