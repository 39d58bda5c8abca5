/*
 * Equal: y = a == b, ONNX's Equal with NumPy broadcasting
 * (engine/binary.h). A bool is carried as the float 0 or 1 (docs/onnx.md,
 * "Comparisons and selection"); NaN compares false. fp32 only: a threshold
 * constant stays exact, not a quantization level beside it. File code 33.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP_FP32(equal, "Equal", 33, a == b ? 1.0f : 0.0f,
                    _mm256_and_ps(_mm256_cmp_ps(a, b, _CMP_EQ_OQ), _mm256_set1_ps(1.0f)));
