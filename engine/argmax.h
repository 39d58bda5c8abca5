/*
 * engine/argmax.h — ArgMax and ArgMin along one axis (ONNX's), each one
 * file of engine/ops/:
 *
 *     DNNQ_ARG_OP(argmax, "ArgMax", 50, false);
 *
 * The node's attributes: axis (the graph's layout, 1..rank-1: never the
 * batch), op: bit 0 keepdims (the axis stays as 1; 0: dropped), bit 1
 * select_last_index (a tie goes to the last index; 0: the first, ONNX's
 * default). The output is s32 indices, 0..dim-1 (ONNX says int64: the
 * signature declares s32, docs/onnx.md). fp32 nodes compare f32 (a NaN
 * beats every number, both ways, as NumPy's argmax and argmin); int8
 * nodes compare the u8 codes, which order as the values they stand for
 * (one scale, positive, per tensor), so the index is the fp32 one of the
 * quantized values exactly, ties included.
 *
 * Hardmax (engine/ops/hardmax.c) is the same scan, fp32 only, written as
 * the one-hot of ArgMax's index (first max, keepdims, not last): 1 there,
 * 0 elsewhere, the input's shape.
 */
#ifndef DNNQ_ENGINE_ARGMAX_H
#define DNNQ_ENGINE_ARGMAX_H

#include <math.h>

#include "engine/xfmr.h"

#define DNNQ_ARG_KEEPDIMS 1u
#define DNNQ_ARG_LAST     2u

/* What a kind of the family is (its impl). */
struct dnnq_arg_impl {
	bool min;                      /* ArgMin */
	bool onehot;                   /* Hardmax: f32 1 at the index, 0 elsewhere */
};

/* The adapter the three share (engine/argmax.c). */
extern const struct node_ops dnnq_arg_ops;
/* op within DNNQ_ARG_KEEPDIMS | DNNQ_ARG_LAST, axis not 0. */
int dnnq_arg_check(const struct dnnq_model_node *n, char *why, size_t cap);

/* Whether v takes the place of the best so far, b: a NaN beats every
 * number; a tie goes to the later one only with last (also TopK's order,
 * engine/topk.h, with last false). */
static inline bool dnnq_arg_wins_f32(bool min, bool last, float v, float b)
{
	if (isnan(v))
		return last || !isnan(b);
	if (isnan(b))
		return false;
	return min ? v < b || (last && v == b) : v > b || (last && v == b);
}

static inline bool dnnq_arg_wins_u8(bool min, bool last, uint8_t v, uint8_t b)
{
	return min ? v < b || (last && v == b) : v > b || (last && v == b);
}

#define DNNQ_ARG_OP(NAME, ONNX, KIND, MIN)                                                 \
static const struct dnnq_arg_impl NAME##_impl = { .min = MIN };                            \
const struct dnnq_op_def dnnq_op_##NAME = {                                                \
	.kind = KIND, .name = #NAME, .onnx = ONNX, .min_inputs = 1, .max_inputs = 1,       \
	.attrs = DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_PRECISION),       \
	.check = dnnq_arg_check, .build = dnnq_xfmr_build, .ops = &dnnq_arg_ops,           \
	.ops_f32 = &dnnq_arg_ops, .impl = &NAME##_impl,                                    \
}

#endif
