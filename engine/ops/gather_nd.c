/*
 * GatherND (file code 100): ONNX's GatherND by computed indices (a
 * detector's post-processing, NonZero's or TopK's positions). Input 0 the
 * data [N, B..., D1..Dk, R...], input 1 the indices [N, B..., I..., k]
 * (s32, or f32 holding integers the graph computed); axis = 1 + the count
 * of B (ONNX's batch_dims, after the engine's batch). The output [N, B...,
 * I..., R...] holds, for each tuple, the slice of the data it picks in its
 * own group. u8 (bytes move: the data's quantization kept, as
 * GatherElements') and f32; every tensor read and written in ONNX's order
 * of dims (engine/nd.h), so a 4-D one stays NHWC.
 *
 * The indices are read once a run into a private table before an element
 * is: a negative one counted from the end once, anything still outside its
 * dim (or an f32 that is no integer) fails the run with DNNQ_E_RANGE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nd.h"
#include "engine/op.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct gather_nd {
	struct dnnq_nd nd;
	size_t esz, per_task;          /* bytes an element; tuples a task */
	const void *x, *ix;
	void *y;
};

static int gn_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	struct gather_nd *op = n->op;
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1);
	int rc = dnnq_nd_shape(&op->nd, n, x, it, n->desc.op.xfmr.axis, diag);
	if (rc)
		return rc;
	out->ndim = op->nd.g.nd;
	dnnq_nd_graph_dims(&op->nd.g, out->dims);
	op->per_task = dnnq_xfmr_rows_per_task(op->nd.slice, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int gn_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1);
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	if (n->desc.ninputs != 2 || x->dtype != dt || x->const_data || it->const_data ||
	    (it->dtype != DNNQ_DTYPE_S32 && it->dtype != DNNQ_DTYPE_F32))
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu inputs, data '%s' %s %s, indices '%s' %s "
		            "%s: want a %s activation and computed s32 (or f32 integer) indices",
		            n->name, n->desc.ninputs, x->name, x->const_data ? "constant" : "computed",
		            dnnq_dtype_name(x->dtype), it->name, it->const_data ? "constant" : "computed",
		            dnnq_dtype_name(it->dtype), dnnq_dtype_name(dt));
	struct gather_nd *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->esz = fp32 ? 4 : 1;
	int rc = gn_infer(g, n, out, diag);
	return rc ? rc : dnnq_xfmr_out(n, out, x, fp32, true, diag);
}

static int gn_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct gather_nd *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	op->ix = gin(g, n, 1)->buf;
	return dnnq_xfmr_reserve((void **)&op->nd.at, &op->nd.cap, op->nd.tuples,
	                         sizeof *op->nd.at);
}

/* Tuples [t0, t1): their slices of x into y. */
static void tuples(const struct gather_nd *op, const void *x, void *y, size_t t0, size_t t1)
{
	const struct dnnq_nd *nd = &op->nd;
	size_t S = nd->slice, esz = op->esz;
	for (size_t t = t0; t < t1; t++)
		for (size_t s = 0; s < S; s++)
			memcpy((char *)y + dnnq_nd_at(&nd->g, t * S + s) * esz,
			       (const char *)x + dnnq_nd_at(&nd->x, nd->at[t] + s) * esz, esz);
}

static void gn_task(void *arg, size_t t, unsigned tid)
{
	const struct gather_nd *op = arg;
	size_t t0 = t * op->per_task, t1 = t0 + op->per_task;
	(void)tid;
	tuples(op, op->x, op->y, t0, t1 < op->nd.tuples ? t1 : op->nd.tuples);
}

static int gn_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct gather_nd *op = n->op;
	if (!op->ix)
		return DNNQ_E_INVAL;
	if (dnnq_nd_load(&op->nd, op->ix, op->nd.idx_f32) >= 0)
		return DNNQ_E_RANGE;
	return dnnq_xfmr_run(ex, op->y, op->nd.tuples, op->per_task, gn_task, op);
}

static void gn_destroy(struct gnode *n)
{
	struct gather_nd *op = n->op;
	if (op)
		free(op->nd.at);
	free(op);
}

/* On real values: the same gather of f32 (the indices come as the floats
 * of their values). */
static int gn_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct gather_nd op = *(const struct gather_nd *)n->op;
	(void)g;
	op.esz = 4;
	if (dnnq_nd_load(&op.nd, in[1], true) >= 0)
		return DNNQ_E_RANGE;
	tuples(&op, in[0], out, 0, op.nd.tuples);
	return DNNQ_OK;
}

static const struct node_ops gn_ops = { gn_create, gn_infer, gn_setup, gn_run, gn_destroy,
                                        gn_ref, false, true };

/* The data and the computed indices; the tuples after the batch. */
static int gn_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->axis < 1) {
		snprintf(why, cap, "axis 0: the tuples address the batch");
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_gather_nd = {
	.kind = 100, .name = "gather_nd", .min_inputs = 2, .max_inputs = 2,
	.attrs = DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_PRECISION),
	.check = gn_check, .build = dnnq_xfmr_build, .ops = &gn_ops, .ops_f32 = &gn_ops,
};
