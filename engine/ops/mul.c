/*
 * Mul with NumPy broadcasting between two activations (engine/binary.h):
 * the lowering's choice for an ONNX Mul whose inputs have different shapes,
 * e.g. the squeeze-and-excitation scale [N, C, 1, 1] of MobileNetV3 and
 * EfficientNet. File code 15.
 */
#include "engine/binary.h"

DNNQ_BINARY_OP(mul, NULL, 15, a * b, _mm256_mul_ps(a, b));
