/*
 * Sub: y = a - b, ONNX's Sub with NumPy broadcasting (engine/binary.h).
 * File code 12.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(sub, "Sub", 12, a - b, _mm256_sub_ps(a, b));
