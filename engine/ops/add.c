/*
 * Add with NumPy broadcasting between two activations (engine/binary.h):
 * the lowering's choice for an ONNX Add whose inputs have different shapes
 * (the eltwise kind takes same-shape inputs, or a scalar or per-channel
 * constant, and stays the common case). File code 14.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(add, NULL, 14, a + b, _mm256_add_ps(a, b));
