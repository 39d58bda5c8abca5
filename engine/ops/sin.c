/*
 * Sin: y = sin x, ONNX's Sin (engine/unary.h: dnnq_sincos1), every finite
 * x reduced exactly (past |x| 8192 as libm's sinf does), NaN for NaN and
 * the infinities. The rotary position embeddings of LLaMA-style decoders
 * compute it from the position ids at run time. int8 a table as the
 * others (a smooth function in [-1, 1]). File code 92.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(sin, "Sin", 92, dnnq_sincos1(x, 0.0f), dnnq_sincos8(x, 0.0f), true);
