/*
 * Log: y = ln x, ONNX's Log (engine/unary.h: dnnq_log1); -inf at 0, NaN below. File code 21.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(log, "Log", 21, dnnq_log1(x), dnnq_log8(x));
