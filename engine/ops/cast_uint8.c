/*
 * cast_uint8: ONNX's Cast of floats computed at run time to uint8
 * (engine/unary.h: dnnq_cast_int1), truncated toward zero into int32 (NaN
 * and out of its range: -2^31), wrapped into 0..255, as ONNX Runtime on x86;
 * the integer as the float holding it, which the importer marks integer
 * (docs/onnx.md, "Token ids"). No ONNX name: only onnx/import-ops.c's Cast
 * makes it. fp32 only. File code 104.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(cast_uint8, NULL, 104, dnnq_cast_int1(x, 8, false),
              dnnq_cast_int_avx2(x, 8, false), false);
