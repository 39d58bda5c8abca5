/*
 * engine/topk.h — ONNX's TopK as two kinds of one adapter, each one file
 * of engine/ops/ (a graph node has one output):
 *
 *     DNNQ_TOPK_OP(topk, 52, false);            the values
 *     DNNQ_TOPK_OP(topk_indices, 53, true);     their indices (s32)
 *
 * The node's attributes: axis (the graph's layout, 1..rank-1: never the
 * batch), k (1..the axis' length), op: bit 0 smallest (ONNX's largest 0;
 * 0: the largest, ONNX's default). The output is the input with the axis
 * cut to k: the k best along it, best first (sorted, whatever ONNX's
 * sorted says: ONNX leaves the order of sorted 0 open), a tie to the lower
 * index first (ONNX's rule), a NaN before every number both ways (as
 * ArgMax and ArgMin, engine/argmax.h, so TopK 1 is their index). int8
 * nodes compare the u8 codes (they order as the values they stand for)
 * and the values node moves the codes, keeping the input's parameters;
 * topk_indices gives s32 indices 0..len-1 (ONNX's int64: docs/onnx.md).
 */
#ifndef DNNQ_ENGINE_TOPK_H
#define DNNQ_ENGINE_TOPK_H

#include "engine/xfmr.h"

#define DNNQ_TOPK_SMALLEST 1u

/* The adapter both share (engine/topk.c); impl: bool, the indices. */
extern const struct node_ops dnnq_topk_ops;
/* op within DNNQ_TOPK_SMALLEST, axis not 0, k not 0. */
int dnnq_topk_check(const struct dnnq_model_node *n, char *why, size_t cap);
/* The node's work for the graph's compute bounds (engine/graph.c
 * node_work): the selection's worst case, len x 2 (1 + floor(log2 k))
 * compares a line (a count of the bytes it moves let fuzz-model find a
 * 708-byte model of one long line with k its length taking 14 s). */
uint64_t dnnq_topk_work(const struct dnnq_graph *g, const struct gnode *n);

#define DNNQ_TOPK_OP(NAME, KIND, INDICES)                                                  \
static const bool NAME##_indices = INDICES;                                                \
const struct dnnq_op_def dnnq_op_##NAME = {                                                \
	.kind = KIND, .name = #NAME, .min_inputs = 1, .max_inputs = 1,                     \
	.attrs = DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_K) |              \
	         DNNQ_A(DNNQ_A_PRECISION),                                                 \
	.check = dnnq_topk_check, .build = dnnq_xfmr_build, .ops = &dnnq_topk_ops,         \
	.ops_f32 = &dnnq_topk_ops, .impl = &NAME##_indices, .work = dnnq_topk_work,        \
}

#endif
