/*
 * The adapter of Softmax and LogSoftmax along any axis (engine/softmax-axis.h).
 */
#include <math.h>
#include <stdlib.h>

#include "engine/softmax-axis.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct smax {
	enum dnnq_isa isa;
	bool log;
	size_t outer, len, inner, per_task;
	float *scratch;                /* per thread: 2 rows of len */
	size_t cap;
	const void *x;
	void *y;
};

static int smax_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	struct smax *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	uint32_t axis = n->desc.op.xfmr.axis;
	(void)diag;
	out->ndim = x->ndim;
	op->outer = op->len = op->inner = 1;
	for (uint32_t i = 0; i < x->ndim; i++) {
		out->dims[i] = x->dims[i];
		size_t d = (size_t)x->dims[i];
		*(i < axis ? &op->outer : i == axis ? &op->len : &op->inner) *= d;
	}
	op->per_task = dnnq_xfmr_rows_per_task(op->len, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int smax_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                       struct dnnq_diag *diag)
{
	bool fp32;
	const struct gtensor *x = gin(g, n, 0);
	int rc = dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc || (rc = dnnq_xfmr_out(n, out, x, fp32, false, diag)))
		return rc;
	if (!fp32)
		return FAIL(DNNQ_E_UNSUPPORTED, "node '%s': int8: only fp32 (the softmax kind takes "
		            "the innermost axis in int8)", n->name);
	if (n->desc.op.xfmr.axis < 1 || n->desc.op.xfmr.axis >= x->ndim)
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u of input '%s' (rank %u): want 1..rank-1",
		            n->name, n->desc.op.xfmr.axis, x->name, x->ndim);
	struct smax *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->isa = dnnq_xfmr_isa(n);
	op->log = *(const bool *)dnnq_op_get(n->desc.kind)->impl;
	return smax_infer(g, n, out, diag);
}

/* Lines [l0, l1) of (outer x inner) along the axis, through rows s. */
static void lines(const struct smax *op, const float *x, float *y, float *s, size_t l0,
                  size_t l1)
{
	size_t L = op->len, I = op->inner;
	for (size_t l = l0; l < l1; l++) {
		const float *xl = x + l / I * L * I + l % I;
		float *yl = y + l / I * L * I + l % I;
		for (size_t i = 0; i < L; i++)
			s[i] = xl[i * I];
		dnnq_f32_softmax_1(op->isa, op->log, s, s + L, L);
		for (size_t i = 0; i < L; i++)
			yl[i * I] = s[L + i];
	}
}

static void smax_task(void *arg, size_t t, unsigned tid)
{
	const struct smax *op = arg;
	size_t n = op->outer * op->inner, l0 = t * op->per_task, l1 = l0 + op->per_task;
	lines(op, op->x, op->y, op->scratch + 2 * op->len * tid, l0, l1 < n ? l1 : n);
}

static int smax_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct smax *op = n->op;
	size_t need = 2 * op->len * (nthreads ? nthreads : 1);
	if (op->inner > 1 && need > op->cap) {
		float *p = realloc(op->scratch, need * sizeof *p);
		if (!p)
			return DNNQ_E_NOMEM;
		op->scratch = p;
		op->cap = need;
	}
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	return DNNQ_OK;
}

static int smax_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct smax *op = n->op;
	if (!op->y)
		return DNNQ_E_INVAL;
	if (op->inner == 1) {
		(op->log ? dnnq_f32_log_softmax : dnnq_f32_softmax)(op->isa, op->outer, op->len,
		                                                     op->x, op->y, ex);
		return DNNQ_OK;
	}
	if (2 * op->len * dnnq_executor_threads(ex) > op->cap)
		return DNNQ_E_INVAL;
	return dnnq_xfmr_run(ex, op->y, op->outer * op->inner, op->per_task, smax_task, op);
}

static void smax_destroy(struct gnode *n)
{
	struct smax *op = n->op;
	if (op)
		free(op->scratch);
	free(op);
}

/* In double, straight from the definition. */
static int smax_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct smax *op = n->op;
	size_t L = op->len, I = op->inner;
	(void)g;
	for (size_t l = 0; l < op->outer * I; l++) {
		const float *x = in[0] + l / I * L * I + l % I;
		float *y = out + l / I * L * I + l % I;
		double mx = -INFINITY, s = 0;
		for (size_t i = 0; i < L; i++)
			mx = x[i * I] > mx ? x[i * I] : mx;
		for (size_t i = 0; i < L; i++)
			s += exp(x[i * I] - mx);
		for (size_t i = 0; i < L; i++)
			y[i * I] = (float)(op->log ? x[i * I] - mx - log(s) : exp(x[i * I] - mx) / s);
	}
	return DNNQ_OK;
}

const struct node_ops dnnq_softmax_axis_ops = { smax_create, smax_infer, smax_setup, smax_run,
                                                smax_destroy, smax_ref, false, false };
