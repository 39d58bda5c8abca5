/*
 * Pad: ONNX's Pad, modes constant (any value), reflect, edge and wrap, on u8
 * (the constant quantized with the input's parameters, the bytes moved)
 * and f32 (engine/remap.h). File code 63.
 *
 * op: the mode (enum dnnq_remap_mode, not DNNQ_REMAP_INSIDE); params[0]:
 * the constant; per axis (the engine's layout) output index o reads input
 * index starts[i] + o (starts: minus the pad before; a negative pad crops);
 * dims: the output's.
 */
#include <math.h>
#include <stdio.h>

#include "engine/op.h"
#include "engine/remap.h"

static int pad_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	dnnq_remap_desc_of(n, n->op, n->params[0], false, &d->op.remap);
	return DNNQ_OK;
}

static int pad_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->op < DNNQ_PAD_CONSTANT || n->op >= DNNQ_REMAP_MODE_COUNT || isnan(n->params[0])) {
		snprintf(why, cap, "op %u, params[0] %g: want a pad mode (%d..%d) and a constant "
		         "that is a number", n->op, (double)n->params[0], DNNQ_PAD_CONSTANT,
		         DNNQ_REMAP_MODE_COUNT - 1);
		return DNNQ_E_RANGE;
	}
	return dnnq_remap_check(n, why, cap);
}

const struct dnnq_op_def dnnq_op_pad = {
	.kind = 63, .name = "pad", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_PARAMS) |
	         DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS) | DNNQ_A(DNNQ_A_STARTS),
	.check = pad_check, .build = pad_build, .ops = &dnnq_remap_ops,
	.ops_f32 = &dnnq_remap_ops,
};
