/*
 * Neg: y = -x, ONNX's Neg (engine/unary.h). File code 18.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(neg, "Neg", 18, -x, _mm256_xor_ps(x, _mm256_set1_ps(-0.0f)), true);
