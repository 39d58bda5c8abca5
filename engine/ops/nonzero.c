/*
 * nonzero: y = x != 0 ? 1 : 0, ONNX's Cast of a float to bool (the bool
 * carried as the float 0 or 1; NaN is true, as a C cast). No ONNX name:
 * onnx/import-ops.c's Cast places it. File code 37.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(nonzero, NULL, 37, x != 0.0f ? 1.0f : 0.0f,
              _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ),
                            _mm256_set1_ps(1.0f)), true);
