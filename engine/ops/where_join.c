/*
 * where_join: y = a + b, the sum of ONNX's Where halves, one of each pair
 * 0 (engine/ops/where_keep.c). No ONNX name. File code 38.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP_FP32(where_join, NULL, 38, a + b, _mm256_add_ps(a, b));
