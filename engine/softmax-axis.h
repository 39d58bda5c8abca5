/*
 * engine/softmax-axis.h — Softmax and LogSoftmax along any axis, fp32
 * (the int8 softmax kind, engine/eltwise.h, takes the innermost axis only),
 * each one file of engine/ops/:
 *
 *     DNNQ_SOFTMAX_AXIS_OP(logsoftmax, "LogSoftmax", 46, true);
 *
 * The node's axis is in the graph's layout (the lowering maps ONNX's). The
 * innermost axis runs engine/f32.h's row kernels over contiguous rows;
 * another axis gathers each line into a row of per-thread scratch, runs
 * the same kernel on it, and scatters the result, so every axis gives the
 * bits of the innermost one.
 */
#ifndef DNNQ_ENGINE_SOFTMAX_AXIS_H
#define DNNQ_ENGINE_SOFTMAX_AXIS_H

#include "engine/xfmr.h"

/* The adapter both share (engine/softmax-axis.c); impl: bool, LogSoftmax. */
extern const struct node_ops dnnq_softmax_axis_ops;

#define DNNQ_SOFTMAX_AXIS_OP(NAME, ONNX, KIND, LOG)                                        \
static const bool NAME##_log = LOG;                                                        \
const struct dnnq_op_def dnnq_op_##NAME = {                                                \
	.kind = KIND, .name = #NAME, .onnx = ONNX, .min_inputs = 1, .max_inputs = 1,       \
	.attrs = DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_PRECISION), .build = dnnq_xfmr_build, \
	.ops_f32 = &dnnq_softmax_axis_ops, .impl = &NAME##_log,                            \
}

#endif
