/*
 * engine/reduce.h — the reductions (ReduceSum, ReduceMean, ReduceMax,
 * ReduceProd), each one file of engine/ops/:
 *
 *     DNNQ_REDUCE_OP(reduce_mean, "ReduceMean", 43, DNNQ_REDUCE_MEAN);
 *
 * The node's attributes: ndim axes in dims[0..ndim) (the graph's layout,
 * ascending, never 0: the batch), op = keepdims (1: the reduced dims stay
 * as 1; 0: they are dropped). fp32 nodes reduce f32; int8 nodes reduce u8:
 * Max keeps the input's parameters, Sum and Mean add in s32 (exact) and
 * requantize (sum - count * zx) * sx / (count * sy) once per output
 * element (dnnq_requant_float_1). Prod is fp32 only: a product of
 * quantized values is no sum of their codes, and its range is that of a
 * power of the input's. Rows along the innermost dim are the
 * unit of work: a kept innermost dim adds a row into a row of
 * accumulators, a reduced one into one accumulator; the AVX2 kernels
 * keep the scalar ones' order (eight lanes, then the same tree), so every
 * ISA gives the same bits, fp32 included.
 */
#ifndef DNNQ_ENGINE_REDUCE_H
#define DNNQ_ENGINE_REDUCE_H

#include "engine/xfmr.h"

enum dnnq_reduce_mode {
	DNNQ_REDUCE_SUM,
	DNNQ_REDUCE_MEAN,
	DNNQ_REDUCE_MAX,
	DNNQ_REDUCE_PROD,
};

/* The adapter every reduction shares, int8 and fp32 (engine/reduce.c). */
extern const struct node_ops dnnq_reduce_ops;

#define DNNQ_REDUCE_OP(NAME, ONNX, KIND, MODE)                                             \
static const enum dnnq_reduce_mode NAME##_mode = MODE;                                     \
const struct dnnq_op_def dnnq_op_##NAME = {                                                \
	.kind = KIND, .name = #NAME, .onnx = ONNX, .min_inputs = 1, .max_inputs = 1,       \
	.attrs = DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS) |           \
	         DNNQ_A_OUT_QP | DNNQ_A(DNNQ_A_PRECISION),                                 \
	.build = dnnq_xfmr_build,                                                          \
	.ops = (MODE) == DNNQ_REDUCE_PROD ? NULL : &dnnq_reduce_ops,                       \
	.ops_f32 = &dnnq_reduce_ops, .impl = &NAME##_mode,                                 \
}

#endif
