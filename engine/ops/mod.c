/*
 * Mod with fmod 0 on floats: y = a mod b with the sign of b, as NumPy's
 * mod (a zero result takes b's sign; b = 0 gives NaN), ONNX's Mod
 * (engine/binary.h; the importer picks it or fmod by the attribute).
 * File code 87.
 */
#include <math.h>

#include "engine/binary.h"

static float floor_mod(float a, float b)
{
	float r = fmodf(a, b);
	if (r == 0.0f)
		return copysignf(0.0f, b);
	return (r < 0.0f) != (b < 0.0f) ? r + b : r;
}

DNNQ_BINARY_OP(mod, NULL, 87, floor_mod(a, b), dnnq_binary_lanes8(a, b, floor_mod));
