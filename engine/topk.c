/*
 * The graph adapter and kernel of TopK's two kinds (engine/topk.h).
 *
 * Each line (outer x inner, len values apart by inner) is scanned once in
 * index order, keeping the best k so far sorted in a per-thread buffer of
 * indices: a value that does not beat the k-th costs one compare, one that
 * does goes in by binary search. A later index never beats an equal
 * earlier one, so ties stay in index order. Both kinds select the same;
 * topk writes the values, topk_indices the indices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/argmax.h"
#include "engine/topk.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct topk {
	bool fp32, min, indices;
	size_t outer, len, inner, k, per_task;
	const void *x;
	void *y;
	int32_t *scratch;              /* nscratch x k */
	unsigned nscratch;
};

int dnnq_topk_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->op & ~DNNQ_TOPK_SMALLEST) {
		snprintf(why, cap, "op %u: want 0 (largest) or smallest (1)", n->op);
		return DNNQ_E_FORMAT;
	}
	if (n->axis == 0) {
		snprintf(why, cap, "axis 0: the batch (want 1..rank-1)");
		return DNNQ_E_FORMAT;
	}
	if (n->k == 0) {
		snprintf(why, cap, "k 0: want 1..the axis' length");
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

static int topk_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	struct topk *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	uint32_t axis = n->desc.op.xfmr.axis;
	(void)diag;
	out->ndim = x->ndim;
	op->outer = op->len = op->inner = 1;
	for (uint32_t i = 0; i < x->ndim; i++) {
		*(i < axis ? &op->outer : i == axis ? &op->len : &op->inner) *= (size_t)x->dims[i];
		out->dims[i] = i == axis ? (int64_t)op->k : x->dims[i];
	}
	op->per_task = dnnq_xfmr_rows_per_task(op->len, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int topk_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                       struct dnnq_diag *diag)
{
	bool fp32;
	const struct gtensor *x = gin(g, n, 0);
	const struct dnnq_xfmr_desc *d = &n->desc.op.xfmr;
	int rc = dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc)
		return rc;
	if (d->axis < 1 || d->axis >= x->ndim)
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u of input '%s' (rank %u): want 1..rank-1",
		            n->name, d->axis, x->name, x->ndim);
	if (d->k < 1 || d->k > x->dims[d->axis] || x->dims[d->axis] > INT32_MAX)
		return FAIL(DNNQ_E_SHAPE, "node '%s': k %u of axis %u of input '%s' (%lld elements): "
		            "want 1..%lld (s32 indices hold 2^31)", n->name, d->k, d->axis, x->name,
		            (long long)x->dims[d->axis], (long long)x->dims[d->axis]);
	struct topk *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->fp32 = fp32;
	op->min = d->op & DNNQ_TOPK_SMALLEST;
	op->indices = *(const bool *)dnnq_op_get(n->desc.kind)->impl;
	op->k = d->k;
	if (op->indices) {
		out->dtype = DNNQ_DTYPE_S32;
		out->qp = (struct dnnq_qparams){ .scale = 1, .precision = 32, .is_signed = true };
	} else if ((rc = dnnq_xfmr_out(n, out, x, fp32, true, diag))) {
		return rc;
	}
	return topk_infer(g, n, out, diag);
}

/* Whether index a of the line beats index b. */
static inline bool beats(const struct topk *op, const void *xl, int32_t a, int32_t b)
{
	size_t I = op->inner;
	if (op->fp32)
		return dnnq_arg_wins_f32(op->min, false, ((const float *)xl)[(size_t)a * I],
		                         ((const float *)xl)[(size_t)b * I]);
	return dnnq_arg_wins_u8(op->min, false, ((const uint8_t *)xl)[(size_t)a * I],
	                        ((const uint8_t *)xl)[(size_t)b * I]);
}

/* The best k indices of the line at xl into best, best first. */
static void select_line(const struct topk *op, const void *xl, int32_t *best)
{
	size_t n = 0, k = op->k;
	for (size_t i = 0; i < op->len; i++) {
		if (n == k && !beats(op, xl, (int32_t)i, best[k - 1]))
			continue;
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (beats(op, xl, (int32_t)i, best[mid]))
				hi = mid;
			else
				lo = mid + 1;
		}
		n += n < k;
		memmove(best + lo + 1, best + lo, (n - 1 - lo) * sizeof *best);
		best[lo] = (int32_t)i;
	}
}

/* Lines [l0, l1): the values (esz bytes each) or the indices into y. */
static void lines(const struct topk *op, const void *x, void *y, int32_t *best, size_t l0,
                  size_t l1)
{
	size_t L = op->len, I = op->inner, K = op->k, esz = op->fp32 ? 4 : 1;
	for (size_t l = l0; l < l1; l++) {
		size_t o = l / I, i = l % I;
		const char *xl = (const char *)x + (o * L * I + i) * esz;
		select_line(op, xl, best);
		for (size_t j = 0; j < K; j++) {
			size_t at = (o * K + j) * I + i;
			if (op->indices)
				((int32_t *)y)[at] = best[j];
			else
				memcpy((char *)y + at * esz, xl + (size_t)best[j] * I * esz, esz);
		}
	}
}

static void topk_task(void *arg, size_t t, unsigned tid)
{
	const struct topk *op = arg;
	size_t n = op->outer * op->inner, l0 = t * op->per_task, l1 = l0 + op->per_task;
	lines(op, op->x, op->y, op->scratch + (size_t)tid * op->k, l0, l1 < n ? l1 : n);
}

static int topk_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct topk *op = n->op;
	nthreads = nthreads ? nthreads : 1;
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	if (nthreads <= op->nscratch)
		return DNNQ_OK;
	int32_t *s = realloc(op->scratch, (size_t)nthreads * op->k * sizeof *s);
	if (!s)
		return DNNQ_E_NOMEM;
	op->scratch = s;
	op->nscratch = nthreads;
	return DNNQ_OK;
}

static int topk_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct topk *op = n->op;
	return dnnq_xfmr_run(ex, op->y, op->outer * op->inner, op->per_task, topk_task, op);
}

static void topk_destroy(struct gnode *n)
{
	struct topk *op = n->op;
	if (op)
		free(op->scratch);
	free(op);
}

/* On real values: the same selection over f32; the indices as floats
 * (the shadow run reads an s32 tensor as its integers). */
static int topk_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct topk op = *(const struct topk *)n->op;
	size_t m = op.outer * op.k * op.inner;
	int32_t *best = malloc(op.k * sizeof *best), *idx = malloc((m ? m : 1) * sizeof *idx);
	(void)g;
	if (!best || !idx) {
		free(best);
		free(idx);
		return DNNQ_E_NOMEM;
	}
	op.fp32 = true;
	if (op.indices) {
		lines(&op, in[0], idx, best, 0, op.outer * op.inner);
		for (size_t i = 0; i < m; i++)
			out[i] = (float)idx[i];
	} else {
		lines(&op, in[0], out, best, 0, op.outer * op.inner);
	}
	free(best);
	free(idx);
	return DNNQ_OK;
}

uint64_t dnnq_topk_work(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct topk *op = n->op;
	/* a line's insertions move up to k indices an element: lines x len x k,
	 * the output's elements times len (saturating) */
	uint64_t out = (uint64_t)gnumel(&g->t[n->out]), w;
	return __builtin_mul_overflow(out, (uint64_t)op->len, &w) ? UINT64_MAX : w;
}

const struct node_ops dnnq_topk_ops = { topk_create, topk_infer, topk_setup, topk_run,
                                        topk_destroy, topk_ref, false, true };
