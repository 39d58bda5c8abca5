/*
 * where_keep: y = a != 0 ? b : 0; where_drop (engine/ops/where_drop.c)
 * y = a != 0 ? 0 : b; where_join (engine/ops/where_join.c) y = a + b.
 * ONNX's Where(c, x, y) is imported as where_join(where_keep(c, x),
 * where_drop(c, y)) (onnx/import-ops.c), each broadcasting: exact whatever
 * the operand not taken holds (inf, NaN). fp32 only, so the selection
 * keeps the values it selects, not a range calibration saw (an If's
 * branch taken by few samples). No ONNX name. File code 34.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP_FP32(where_keep, NULL, 34, a != 0.0f ? b : 0.0f,
                    _mm256_and_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NEQ_UQ), b));
