/*
 * Or: y = (a ≠ 0) || (b ≠ 0) ? 1 : 0, ONNX's Or on bools carried as the
 * float 0 or 1 (engine/binary.h; docs/onnx.md, "Comparisons and
 * selection"), with NumPy broadcasting. fp32 only, as the comparisons
 * that produce its operands. File code 85.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP_FP32(or, "Or", 85, (a != 0.0f) || (b != 0.0f) ? 1.0f : 0.0f,
                    _mm256_and_ps(_mm256_or_ps(DNNQ_BINARY_TRUE8(a), DNNQ_BINARY_TRUE8(b)),
                                  _mm256_set1_ps(1.0f)));
