/*
 * Hardmax (engine/argmax.h): file code 91, fp32 only (an int8 scan of the
 * codes would pick the first of values that only quantize alike; the
 * output is a one-hot either way, so nothing is gained): 1 at the first
 * maximum along the axis (a NaN the maximum, as NumPy's argmax), 0
 * elsewhere; axis 1..rank-1.
 */
#include "engine/argmax.h"

static const struct dnnq_arg_impl hardmax_impl = { .onehot = true };

const struct dnnq_op_def dnnq_op_hardmax = {
	.kind = 91, .name = "hardmax", .onnx = "Hardmax", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_PRECISION), .check = dnnq_arg_check,
	.build = dnnq_xfmr_build, .ops_f32 = &dnnq_arg_ops, .impl = &hardmax_impl,
};
