/*
 * Mod with fmod 1: y = C's fmodf(a, b), the sign of a, ONNX's Mod
 * (engine/binary.h; the importer picks it or mod by the attribute).
 * File code 88.
 */
#include <math.h>

#include "engine/binary.h"

DNNQ_BINARY_OP(fmod, NULL, 88, fmodf(a, b), dnnq_binary_lanes8(a, b, fmodf));
