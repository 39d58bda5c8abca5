/*
 * Div: y = a / b, ONNX's Div with NumPy broadcasting (engine/binary.h).
 * A zero divisor gives +-inf (saturated to the output's range) or NaN
 * (0 / 0: the output's zero point), the same on every ISA. File code 13.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(div, "Div", 13, a / b, _mm256_div_ps(a, b));
