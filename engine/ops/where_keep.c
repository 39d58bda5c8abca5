/*
 * where_keep: y = a != 0 ? b : 0, and where_drop (engine/ops/where_drop.c)
 * y = a != 0 ? 0 : b: ONNX's Where(c, x, y) is imported as
 * where_keep(c, x) + where_drop(c, y) (onnx/import-ops.c), exact in fp32
 * whatever the operand not taken holds (inf, NaN). No ONNX name. File
 * code 86.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(where_keep, NULL, 86, a != 0.0f ? b : 0.0f,
               _mm256_and_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NEQ_UQ), b));
