/*
 * Max: y = max(a, b), ONNX's Max of two inputs with NumPy broadcasting
 * (engine/binary.h; onnx/import-ops.c chains more inputs). NaN where
 * either is NaN, and b where they are equal (-0 and 0), as ONNX Runtime
 * (onnxruntime-node 1.31.1: Max(NaN, 1) NaN, where MAXPS gives 1; review
 * nan56). File code 27.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(max, "Max", 27, a != a ? a : a > b ? a : b,
               _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
