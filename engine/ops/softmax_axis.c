/*
 * Softmax along any axis, fp32 (engine/softmax-axis.h): the lowering's
 * choice for an ONNX Softmax whose axis is not the innermost in the
 * graph's layout (the int8 softmax kind takes that one). File code 42.
 */
#include "engine/softmax-axis.h"

DNNQ_SOFTMAX_AXIS_OP(softmax_axis, NULL, 42, false);
