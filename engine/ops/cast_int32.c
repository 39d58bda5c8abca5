/*
 * cast_int32: ONNX's Cast of floats computed at run time to int32
 * (engine/unary.h: dnnq_cast_int1), truncated toward zero, NaN and x outside
 * [-2^31, 2^31) giving -2^31, as ONNX Runtime on x86; the integer as the
 * float holding it, which the importer marks integer (docs/onnx.md, "Token
 * ids"). No ONNX name: only onnx/import-ops.c's Cast makes it. fp32 only.
 * File code 102.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(cast_int32, NULL, 102, dnnq_cast_int1(x, 32, true),
              dnnq_cast_int_avx2(x, 32, true), false);
