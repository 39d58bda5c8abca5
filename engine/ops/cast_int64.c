/*
 * cast_int64: ONNX's Cast of floats computed at run time to int64
 * (engine/unary.h: dnnq_cast_int1), truncated toward zero, NaN and |x| >=
 * 2^63 giving -2^63, as ONNX Runtime on x86; the integer as the float
 * holding it, which the importer marks integer (docs/onnx.md, "Token ids").
 * No ONNX name: only onnx/import-ops.c's Cast makes it. fp32 only. File code
 * 101.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(cast_int64, NULL, 101, dnnq_cast_int1(x, 64, true),
              dnnq_cast_int_avx2(x, 64, true), false);
