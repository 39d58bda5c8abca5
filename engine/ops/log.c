/*
 * Log: y = ln x, ONNX's Log (engine/unary.h: dnnq_log1); -inf at 0, NaN below.
 * fp32 only: a table of 256 samples misses the steep part near 0 (ONNX's
 * test_log: 33.6 dB int8). File code 21.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(log, "Log", 21, dnnq_log1(x), dnnq_log8(x), false);
