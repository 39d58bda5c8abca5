/*
 * where_drop: y = a != 0 ? 0 : b, the else half of ONNX's Where
 * (engine/ops/where_keep.c). No ONNX name. File code 35.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP_FP32(where_drop, NULL, 35, a != 0.0f ? 0.0f : b,
                    _mm256_andnot_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NEQ_UQ), b));
