/*
 * Not: y = x == 0 ? 1 : 0, ONNX's Not on a bool carried as the float 0 or
 * 1 (engine/unary.h). File code 36.
 */
#include "engine/unary.h"

DNNQ_UNARY_OP(not, "Not", 36, x == 0.0f ? 1.0f : 0.0f,
              _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ),
                            _mm256_set1_ps(1.0f)), true);
