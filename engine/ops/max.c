/*
 * Max: y = max(a, b), ONNX's Max of two inputs with NumPy broadcasting
 * (engine/binary.h; onnx/import-ops.c chains more inputs). b where either
 * is NaN, as MAXPS. File code 27.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(max, "Max", 27, a > b ? a : b, _mm256_max_ps(a, b));
