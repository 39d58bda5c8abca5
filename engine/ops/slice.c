/*
 * Slice: ONNX's Slice (and each output of Split), on u8 (bytes move, the
 * input's quantization kept) and f32 (engine/remap.h). File code 62.
 *
 * Per axis (the engine's layout), output index o reads input index
 * starts[i] + steps[i] * o; dims are the output's; the lowering has
 * resolved ONNX's negative and clamped starts and ends, and the graph
 * refuses an index outside the input.
 */
#include <stdio.h>

#include "engine/op.h"
#include "engine/remap.h"

static int slice_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	(void)diag;
	dnnq_remap_desc_of(&b->m->nodes[b->j], DNNQ_REMAP_INSIDE, 0, true, &d->op.remap);
	return DNNQ_OK;
}

/* The remap's checks (a step of 0 repeats one element along its axis:
 * ONNX's Expand of an activation; create refuses a start outside). */
static int slice_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	return dnnq_remap_check(n, why, cap);
}

const struct dnnq_op_def dnnq_op_slice = {
	.kind = 62, .name = "slice", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS) |
	         DNNQ_A(DNNQ_A_STARTS) | DNNQ_A(DNNQ_A_STEPS),
	.check = slice_check, .build = slice_build, .ops = &dnnq_remap_ops,
	.ops_f32 = &dnnq_remap_ops,
};
