/*
 * Min: y = min(a, b), ONNX's Min of two inputs with NumPy broadcasting
 * (engine/binary.h; onnx/import-ops.c chains more inputs). b where either
 * is NaN, as MINPS. File code 26.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(min, "Min", 26, a < b ? a : b, _mm256_min_ps(a, b));
