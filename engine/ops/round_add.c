/*
 * round_add: y = round_half_even(a) + b (engine/binary.h), the step of
 * ONNX's QuantizeLinear with per-axis parameters that the per-tensor
 * convert cannot take: saturate(round(x / scale) + zero_point) is lowered
 * to fp32 div, this node (b the per-axis zero points, broadcast), then a
 * quantize with scale 1 that saturates the exact integers. No ONNX name:
 * the lowering places it. File code 80.
 */
#include <math.h>

#include "engine/binary.h"

DNNQ_BINARY_OP(round_add, NULL, 80, rintf(a) + b,
               _mm256_add_ps(_mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                             b));
