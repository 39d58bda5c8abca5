/*
 * cast_int8: ONNX's Cast of floats computed at run time to int8
 * (engine/unary.h: dnnq_cast_int1), truncated toward zero into int32 (NaN
 * and out of its range: -2^31), wrapped into -128..127, as ONNX Runtime on
 * x86; the integer as the float holding it, which the importer marks integer
 * (docs/onnx.md, "Token ids"). No ONNX name: only onnx/import-ops.c's Cast
 * makes it. fp32 only. File code 103.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(cast_int8, NULL, 103, dnnq_cast_int1(x, 8, true),
              dnnq_cast_int_avx2(x, 8, true), false);
