/*
 * Pow: y = a^b, ONNX's Pow with NumPy broadcasting (engine/binary.h), as
 * C's powf (engine/unary.h: dnnq_pow1). File code 25.
 */
#include "engine/unary.h"

DNNQ_BINARY_OP(pow, "Pow", 25, dnnq_pow1(a, b), dnnq_pow8(a, b));
