/*
 * PRelu: y = a < 0 ? b * a : a, ONNX's PRelu (engine/binary.h): the slope
 * b broadcasts to a (onnx/import-ops.c checks it does not widen a). File
 * code 28.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(prelu, "PRelu", 28, a < 0.0f ? b * a : a,
               _mm256_blendv_ps(a, _mm256_mul_ps(b, a),
                                _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_LT_OQ)));
