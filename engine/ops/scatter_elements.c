/*
 * ScatterElements (file code 98): ONNX's ScatterElements (torch's
 * scatter / scatter_add / scatter_reduce export). y is the data, then for
 * each position p of the updates: y[p with its axis coordinate replaced by
 * index[p]] = (or +=, *=, max=, min=: op, the reduction) updates[p]. The
 * updates and the indices share a shape, each of its dims but the axis at
 * most the data's (ONNX Runtime's rule), the batch the data's. fp32 only
 * (no int8 kernel: the lowering runs it between quantized neighbours, as
 * GridSample); dims are the engine's (NHWC for 4-D: the lowering composes
 * ONNX's axis with it, and the three share the layout).
 *
 * The indices are input 1, computed (s32, or f32 holding integers the
 * graph computed). Each run reads them once into a private table before
 * anything is written: a negative one counted from the end once, anything
 * still outside the axis (or an f32 that is no integer) fails the run with
 * DNNQ_E_RANGE, the output untouched. The updates are applied in order, on
 * one thread: duplicate indices reduce (or, op none, the last one wins, as
 * ONNX Runtime's), which a split of the updates would race on. Not in
 * place: the updates may be the data itself (x.scatter_add(2, i, x)),
 * read after the first writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

struct scatter_el {
	bool idx_f32;
	uint32_t nd, axis, red;
	int64_t ud[DNNQ_MAX_DIMS];     /* the updates' (and indices') dims */
	size_t xst[DNNQ_MAX_DIMS];     /* the data's strides (elements) */
	int64_t len;                   /* the data's axis */
	size_t xn;                     /* the data's elements */
	int32_t *idx;                  /* the run's indices, in [0, len) (cap of them) */
	size_t nidx, cap;
	const float *x, *u;
	const void *ix;
	float *y;
};

/* The nidx indices at src into op->idx; the first outside the axis: its
 * position, or -1. */
static ptrdiff_t load(struct scatter_el *op, const void *src, bool f32)
{
	for (size_t e = 0; e < op->nidx; e++)
		if (!dnnq_xfmr_index(dnnq_xfmr_index_at(src, f32, e), op->len, &op->idx[e]))
			return (ptrdiff_t)e;
	return -1;
}

/* y (already the data) gets the updates u at the loaded indices. */
static void scatter(const struct scatter_el *op, const float *u, float *y)
{
	size_t p[DNNQ_MAX_DIMS] = { 0 }, nd = op->nd, A = op->axis;
	for (size_t e = 0; e < op->nidx; e++) {
		size_t at = 0;
		for (size_t i = 0; i < nd; i++)
			at += (i == A ? (size_t)op->idx[e] : p[i]) * op->xst[i];
		y[at] = dnnq_scatter_reduce(op->red, y[at], u[e]);
		for (size_t i = nd; i-- > 0 && ++p[i] == (size_t)op->ud[i];)
			p[i] = 0;
	}
}

static int se_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	struct scatter_el *op = n->op;
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1), *ut = gin(g, n, 2);
	for (uint32_t i = 0; i < op->nd; i++)
		if (it->dims[i] != ut->dims[i] || (i == 0 ? it->dims[0] != x->dims[0] : it->dims[i] < 1) ||
		    (i != op->axis && it->dims[i] > x->dims[i]))
			return FAIL(DNNQ_E_SHAPE, "node '%s': indices '%s' and updates '%s' dim %u are "
			            "%lld and %lld, data '%s''s %lld: want the same, 1..the data's but "
			            "on axis %u, the data's batch", n->name, it->name, ut->name, i,
			            (long long)it->dims[i], (long long)ut->dims[i], x->name,
			            (long long)x->dims[i], op->axis);
	out->ndim = x->ndim;
	memcpy(out->dims, x->dims, sizeof out->dims);
	memcpy(op->ud, ut->dims, sizeof op->ud);
	dnnq_xfmr_strides(x, op->xst);
	op->len = x->dims[op->axis];
	op->xn = gnumel(x);
	op->nidx = gnumel(ut);
	return DNNQ_OK;
}

static int se_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	const struct dnnq_xfmr_desc *d = &n->desc.op.xfmr;
	int rc;
	if (n->desc.ninputs != 3 || n->desc.precision != DNNQ_PRECISION_FP32)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu inputs, precision %u: want data, indices "
		            "and updates, fp32", n->name, n->desc.ninputs, n->desc.precision);
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1), *ut = gin(g, n, 2);
	if (x->dtype != DNNQ_DTYPE_F32 || x->const_data || (it->dtype != DNNQ_DTYPE_S32 && it->dtype != DNNQ_DTYPE_F32) || it->const_data ||
	    ut->dtype != DNNQ_DTYPE_F32 || ut->const_data || it->ndim != x->ndim ||
	    ut->ndim != x->ndim || x->ndim < 2)
		return FAIL(DNNQ_E_DTYPE, "node '%s': data '%s' %s of rank %u, indices '%s' %s of rank "
		            "%u, updates '%s' %s of rank %u: want computed f32 data, s32 (or f32 "
		            "integers) indices and f32 updates of one rank (2..%d)", n->name,
		            x->name, dnnq_dtype_name(x->dtype), x->ndim, it->name, dnnq_dtype_name(it->dtype), it->ndim,
		            ut->name, dnnq_dtype_name(ut->dtype), ut->ndim, DNNQ_MAX_DIMS);
	if (d->axis < 1 || d->axis >= x->ndim || d->op >= DNNQ_SCATTER_OPS)
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u, op %u: want axis 1..%u and op 0..%d",
		            n->name, d->axis, d->op, x->ndim - 1, DNNQ_SCATTER_OPS - 1);
	struct scatter_el *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->nd = x->ndim;
	op->axis = d->axis;
	op->red = d->op;
	op->idx_f32 = it->dtype == DNNQ_DTYPE_F32;
	return (rc = se_infer(g, n, out, diag)) ? rc : dnnq_xfmr_out(n, out, x, true, true, diag);
}

static int se_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct scatter_el *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, (const void **)&op->x, (void **)&op->y);
	op->ix = gin(g, n, 1)->buf;
	op->u = gin(g, n, 2)->buf;
	return dnnq_xfmr_reserve((void **)&op->idx, &op->cap, op->nidx, sizeof *op->idx);
}

static int se_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct scatter_el *op = n->op;
	(void)ex;
	if (!op->x || !op->ix || !op->u || !op->y)
		return DNNQ_E_INVAL;
	if (load(op, op->ix, op->idx_f32) >= 0)
		return DNNQ_E_RANGE;
	memcpy(op->y, op->x, op->xn * sizeof *op->y);
	scatter(op, op->u, op->y);
	return DNNQ_OK;
}

static void se_destroy(struct gnode *n)
{
	struct scatter_el *op = n->op;
	if (op)
		free(op->idx);
	free(op);
}

/* The node is fp32: its reference is its kernel (computed indices come
 * as the floats of their values). */
static int se_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct scatter_el *op = n->op;
	(void)g;
	if (load(op, in[1], true) >= 0)
		return DNNQ_E_RANGE;
	memcpy(out, in[0], op->xn * sizeof *out);
	scatter(op, in[2], out);
	return DNNQ_OK;
}

/* Each update: its coordinates and one reduction. */
static uint64_t se_work(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct scatter_el *op = n->op;
	(void)g;
	return (uint64_t)op->nidx * (op->nd + 1);
}

static const struct node_ops se_ops = { se_create, se_infer, se_setup, se_run, se_destroy,
                                        se_ref, false, true };

const struct dnnq_op_def dnnq_op_scatter_elements = {
	.kind = 98, .name = "scatter_elements", .min_inputs = 3, .max_inputs = 3,
	.attrs = DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_PRECISION),
	.check = dnnq_scatter_check, .build = dnnq_xfmr_build, .ops_f32 = &se_ops, .work = se_work,
};
