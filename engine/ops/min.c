/*
 * Min: y = min(a, b), ONNX's Min of two inputs with NumPy broadcasting
 * (engine/binary.h; onnx/import-ops.c chains more inputs). NaN where
 * either is NaN, and b where they are equal (-0 and 0), as ONNX Runtime
 * (onnxruntime-node 1.31.1: Min(NaN, 1) NaN, where MINPS gives 1; review
 * nan56). File code 26.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(min, "Min", 26, a != a ? a : a < b ? a : b,
               _mm256_blendv_ps(_mm256_min_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
