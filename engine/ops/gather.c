/*
 * Gather: ONNX's Gather with constant indices on one axis, on u8 (bytes
 * move, the input's quantization kept) and f32 (engine/remap.h). File
 * code 64.
 *
 * axis: the axis (the engine's layout, not the batch); weight: an s32
 * tensor of the indices, each in [0, the input's dim) (the lowering has
 * resolved negative ones; the graph refuses the rest); ndim, dims: the
 * output's (dims[axis]: the index count).
 */
#include <stdio.h>

#include "engine/op.h"
#include "engine/remap.h"

static int gather_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	const struct dnnq_qtensor *t = n->weight >= 0 && (size_t)n->weight < b->m->ntensors
	                               ? &b->m->tensors[n->weight].t : NULL;
	if (!t || t->dtype != DNNQ_DTYPE_S32 || t->ndim != 1 || n->axis >= n->ndim ||
	    t->dims[0] != n->dims[n->axis])
		return dnnq_op_build_err(b, diag, DNNQ_E_SHAPE, "weight %d: want an s32 tensor of "
		                         "dims[axis] indices", n->weight);
	dnnq_remap_desc_of(n, DNNQ_REMAP_INSIDE, 0, false, &d->op.remap);
	d->op.remap.axis = n->axis;
	d->op.remap.index = (const int32_t *)t->data;
	d->op.remap.nindex = (size_t)t->dims[0];
	return DNNQ_OK;
}

/* The remap's checks; the axis not the batch. */
static int gather_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->axis < 1) {
		snprintf(why, cap, "axis 0: the batch is not gathered");
		return DNNQ_E_RANGE;
	}
	return dnnq_remap_check(n, why, cap);
}

const struct dnnq_op_def dnnq_op_gather = {
	.kind = 64, .name = "gather", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_WEIGHT) |
	         DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS),
	.check = gather_check, .build = gather_build, .ops = &dnnq_remap_ops,
	.ops_f32 = &dnnq_remap_ops,
};
