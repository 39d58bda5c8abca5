/*
 * ScatterND (file code 99): ONNX's ScatterND of computed values (a
 * detector's or a tracker's masks and boxes written at computed places).
 * Input 0 the data [N, B..., D1..Dk, R...], input 1 the indices [N, B...,
 * I..., k] (s32, or f32 holding integers the graph computed), input 2 the
 * updates [N, B..., I..., R...]; axis = 1 + the count of B (ONNX's
 * ScatterND has none: the lowering's axis is 1, its data's dim 0 the
 * engine's batch of 1 when the import fixed the batch). The output is the
 * data with each tuple's slice combined with its updates by op (none:
 * replaced, add, mul, max, min), in order: duplicates reduce, and under
 * none the last one wins, as in ONNX Runtime. fp32 only (no int8 kernel:
 * the lowering runs it between quantized neighbours); every tensor read
 * and written in ONNX's order of dims (engine/nd.h).
 *
 * The indices are read once a run into a private table before anything is
 * written: a negative one counted from the end once, anything still outside
 * its dim (or an f32 that is no integer) fails the run with DNNQ_E_RANGE,
 * the output untouched. Not in place, as scatter_elements.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/nd.h"
#include "engine/op.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

struct scatter_nd {
	struct dnnq_nd nd;
	uint32_t red;
	size_t xn;                     /* the data's elements */
	const float *x, *u;
	const void *ix;
	float *y;
};

static int sn_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	struct scatter_nd *op = n->op;
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1), *ut = gin(g, n, 2);
	int rc = dnnq_nd_shape(&op->nd, n, x, it, n->desc.op.xfmr.axis, diag);
	if (rc)
		return rc;
	int64_t ud[DNNQ_MAX_DIMS];
	dnnq_nd_graph_dims(&op->nd.g, ud);
	bool ok = ut->ndim == op->nd.g.nd;
	for (uint32_t i = 0; ok && i < ut->ndim; i++)
		ok = ut->dims[i] == ud[i];
	if (!ok)
		return FAIL(DNNQ_E_SHAPE, "node '%s': updates '%s' of rank %u on indices '%s' and "
		            "data '%s': want the indices' dims (but the last), then the data's after "
		            "the tuples", n->name, ut->name, ut->ndim, it->name, x->name);
	out->ndim = x->ndim;
	memcpy(out->dims, x->dims, sizeof out->dims);
	op->xn = gnumel(x);
	return DNNQ_OK;
}

static int sn_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	const struct dnnq_xfmr_desc *d = &n->desc.op.xfmr;
	if (n->desc.ninputs != 3 || n->desc.precision != DNNQ_PRECISION_FP32)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu inputs, precision %u: want data, indices "
		            "and updates, fp32", n->name, n->desc.ninputs, n->desc.precision);
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1), *ut = gin(g, n, 2);
	if (x->dtype != DNNQ_DTYPE_F32 || x->const_data || ut->dtype != DNNQ_DTYPE_F32 ||
	    ut->const_data || it->const_data ||
	    (it->dtype != DNNQ_DTYPE_S32 && it->dtype != DNNQ_DTYPE_F32) || d->op >= DNNQ_SCATTER_OPS)
		return FAIL(DNNQ_E_DTYPE, "node '%s': data '%s' %s, indices '%s' %s, updates '%s' %s, "
		            "op %u: want them computed, f32, s32 (or f32 integers) and f32, and op "
		            "0..%d", n->name, x->name, dnnq_dtype_name(x->dtype), it->name,
		            dnnq_dtype_name(it->dtype), ut->name, dnnq_dtype_name(ut->dtype), d->op,
		            DNNQ_SCATTER_OPS - 1);
	struct scatter_nd *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->red = d->op;
	int rc = sn_infer(g, n, out, diag);
	return rc ? rc : dnnq_xfmr_out(n, out, x, true, true, diag);
}

static int sn_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct scatter_nd *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, (const void **)&op->x, (void **)&op->y);
	op->ix = gin(g, n, 1)->buf;
	op->u = gin(g, n, 2)->buf;
	return dnnq_xfmr_reserve((void **)&op->nd.at, &op->nd.cap, op->nd.tuples,
	                         sizeof *op->nd.at);
}

/* y (already the data) gets the updates u at the loaded tuples. */
static void scatter(const struct scatter_nd *op, const float *u, float *y)
{
	const struct dnnq_nd *nd = &op->nd;
	size_t S = nd->slice;
	for (size_t t = 0; t < nd->tuples; t++)
		for (size_t s = 0; s < S; s++) {
			size_t at = dnnq_nd_at(&nd->x, nd->at[t] + s);
			y[at] = dnnq_scatter_reduce(op->red, y[at], u[dnnq_nd_at(&nd->g, t * S + s)]);
		}
}

static int sn_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct scatter_nd *op = n->op;
	(void)ex;
	if (!op->x || !op->ix || !op->u || !op->y)
		return DNNQ_E_INVAL;
	if (dnnq_nd_load(&op->nd, op->ix, op->nd.idx_f32) >= 0)
		return DNNQ_E_RANGE;
	memcpy(op->y, op->x, op->xn * sizeof *op->y);
	scatter(op, op->u, op->y);
	return DNNQ_OK;
}

static void sn_destroy(struct gnode *n)
{
	struct scatter_nd *op = n->op;
	if (op)
		free(op->nd.at);
	free(op);
}

/* The node is fp32: its reference is its kernel (the indices come as the
 * floats of their values). */
static int sn_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct scatter_nd *op = n->op;
	(void)g;
	if (dnnq_nd_load(&op->nd, in[1], true) >= 0)
		return DNNQ_E_RANGE;
	memcpy(out, in[0], op->xn * sizeof *out);
	scatter(op, in[2], out);
	return DNNQ_OK;
}

/* Each updated element: its two views and one reduction. */
static uint64_t sn_work(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct scatter_nd *op = n->op;
	(void)g;
	return (uint64_t)op->nd.tuples * op->nd.slice * 2 * (op->nd.x.nd + 1);
}

static const struct node_ops sn_ops = { sn_create, sn_infer, sn_setup, sn_run, sn_destroy,
                                        sn_ref, false, true };

const struct dnnq_op_def dnnq_op_scatter_nd = {
	.kind = 99, .name = "scatter_nd", .min_inputs = 3, .max_inputs = 3,
	.attrs = DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_PRECISION),
	.check = dnnq_scatter_check, .build = dnnq_xfmr_build, .ops_f32 = &sn_ops, .work = sn_work,
};
