/*
 * The graph adapter and kernels of ArgMax, ArgMin and Hardmax
 * (engine/argmax.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/argmax.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct arg {
	bool fp32, min, last, onehot;
	size_t outer, len, inner, per_task;
	const void *x;
	void *y;                       /* s32 indices, or (onehot) f32 */
};

int dnnq_arg_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->op & ~(DNNQ_ARG_KEEPDIMS | DNNQ_ARG_LAST)) {
		snprintf(why, cap, "op %u: want keepdims (1) | select_last_index (2)", n->op);
		return DNNQ_E_FORMAT;
	}
	if (n->axis == 0) {
		snprintf(why, cap, "axis 0: the batch (want 1..rank-1)");
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

static int arg_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	struct arg *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	uint32_t axis = n->desc.op.xfmr.axis;
	bool keep = n->desc.op.xfmr.op & DNNQ_ARG_KEEPDIMS;
	(void)diag;
	out->ndim = 0;
	op->outer = op->len = op->inner = 1;
	for (uint32_t i = 0; i < x->ndim; i++) {
		size_t d = (size_t)x->dims[i];
		*(i < axis ? &op->outer : i == axis ? &op->len : &op->inner) *= d;
		if (i != axis || keep || op->onehot)
			out->dims[out->ndim++] = i == axis && !op->onehot ? 1 : x->dims[i];
	}
	op->per_task = dnnq_xfmr_rows_per_task(op->len, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int arg_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	bool fp32;
	const struct gtensor *x = gin(g, n, 0);
	int rc = dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc)
		return rc;
	uint32_t axis = n->desc.op.xfmr.axis;
	if (axis < 1 || axis >= x->ndim)
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u of input '%s' (rank %u): want 1..rank-1",
		            n->name, axis, x->name, x->ndim);
	if (x->dims[axis] > INT32_MAX)
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u of input '%s' has %lld elements: s32 "
		            "indices hold 2^31", n->name, axis, x->name, (long long)x->dims[axis]);
	struct arg *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	const struct dnnq_arg_impl *impl = dnnq_op_get(n->desc.kind)->impl;
	op->fp32 = fp32;
	op->min = impl->min;
	op->onehot = impl->onehot;
	op->last = n->desc.op.xfmr.op & DNNQ_ARG_LAST;
	out->dtype = op->onehot ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_S32;
	out->qp = op->onehot ? (struct dnnq_qparams){ 0 }
	                     : (struct dnnq_qparams){ .scale = 1, .precision = 32, .is_signed = true };
	return arg_infer(g, n, out, diag);
}

/* Lines [l0, l1) of (outer x inner), each len values apart by inner: the
 * index into y's line l, or (onehot) 1 there and 0 along the line. */
static void lines(const struct arg *op, const void *x, void *y, size_t l0, size_t l1)
{
	size_t L = op->len, I = op->inner;
	for (size_t l = l0; l < l1; l++) {
		size_t base = l / I * L * I + l % I, best = 0;
		if (op->fp32) {
			const float *xl = (const float *)x + base;
			for (size_t k = 1; k < L; k++)
				if (dnnq_arg_wins_f32(op->min, op->last, xl[k * I], xl[best * I]))
					best = k;
		} else {
			const uint8_t *xl = (const uint8_t *)x + base;
			for (size_t k = 1; k < L; k++)
				if (dnnq_arg_wins_u8(op->min, op->last, xl[k * I], xl[best * I]))
					best = k;
		}
		if (!op->onehot) {
			((int32_t *)y)[l] = (int32_t)best;
			continue;
		}
		for (size_t k = 0; k < L; k++)
			((float *)y)[base + k * I] = k == best ? 1.0f : 0.0f;
	}
}

static void arg_task(void *arg, size_t t, unsigned tid)
{
	const struct arg *op = arg;
	size_t n = op->outer * op->inner, l0 = t * op->per_task, l1 = l0 + op->per_task;
	(void)tid;
	lines(op, op->x, op->y, l0, l1 < n ? l1 : n);
}

static int arg_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct arg *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	return DNNQ_OK;
}

static int arg_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct arg *op = n->op;
	return dnnq_xfmr_run(ex, op->y, op->outer * op->inner, op->per_task, arg_task, op);
}

/* On real values: the same scan over f32, the indices as floats (the
 * shadow run reads an s32 tensor as its integers); Hardmax's one-hot as
 * it is. */
static int arg_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct arg op = *(const struct arg *)n->op;
	size_t m = op.outer * op.inner;
	(void)g;
	if (op.onehot) {
		lines(&op, in[0], out, 0, m);
		return DNNQ_OK;
	}
	int32_t *idx = malloc((m ? m : 1) * sizeof *idx);
	if (!idx)
		return DNNQ_E_NOMEM;
	op.fp32 = true;
	lines(&op, in[0], idx, 0, m);
	for (size_t i = 0; i < m; i++)
		out[i] = (float)idx[i];
	free(idx);
	return DNNQ_OK;
}

const struct node_ops dnnq_arg_ops = { arg_create, arg_infer, arg_setup, arg_run, NULL,
                                       arg_ref, false, false };
