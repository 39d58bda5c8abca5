/*
 * The graph adapter and kernel of TopK's two kinds (engine/topk.h).
 *
 * Each line (outer x inner, len values apart by inner) is scanned once in
 * index order. An element's place in TopK's order is one 64-bit key, the
 * larger first: its value's rank (a NaN above every number both ways, -0
 * and +0 equal, the smallest negated) over its index complemented (a tie
 * to the lower index). The best k keys so far sit in a per-thread heap
 * whose root is the smallest: a key below it costs one compare, a larger
 * one replaces it and sinks (2 compares a level, log2 k levels); the heap
 * is sorted in place at the end. Keys are unique, so the k kept and their
 * order are those of a sort, whatever the heap's shape. A line costs at
 * most len x 2 (1 + log2 k) compares (dnnq_topk_work), where keeping the k
 * sorted moved up to k indices an element. Both kinds select the same;
 * topk writes the values, topk_indices the indices.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/topk.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct topk {
	bool fp32, min, indices;
	size_t outer, len, inner, k, per_task;
	const void *x;
	void *y;
	uint64_t *scratch;             /* nscratch x k keys */
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

/* Element i of the line at xl as its key (the top comment). */
static inline uint64_t key(const struct topk *op, const void *xl, size_t i)
{
	uint32_t r;
	if (op->fp32) {
		float v = ((const float *)xl)[i * op->inner];
		uint32_t b;
		v = v == 0.0f ? 0.0f : v;
		memcpy(&b, &v, sizeof b);
		b = b & 0x80000000u ? ~b : b | 0x80000000u;     /* ascending with v */
		r = isnan(v) ? UINT32_MAX : op->min ? ~b : b;
	} else {
		uint8_t c = ((const uint8_t *)xl)[i * op->inner];
		r = op->min ? 255u - c : c;
	}
	return (uint64_t)r << 32 | (uint32_t)~i;
}

/* Sinks heap[at] in the heap of n keys whose root is the smallest. */
static void sink(uint64_t *heap, size_t n, size_t at)
{
	uint64_t v = heap[at];
	for (size_t c; (c = 2 * at + 1) < n; at = c) {
		c += c + 1 < n && heap[c + 1] < heap[c];
		if (v < heap[c])
			break;
		heap[at] = heap[c];
	}
	heap[at] = v;
}

/* The keys of the best k elements of the line at xl into best, best first. */
static void select_line(const struct topk *op, const void *xl, uint64_t *best)
{
	size_t k = op->k;
	for (size_t i = 0; i < k; i++)
		best[i] = key(op, xl, i);
	for (size_t i = k / 2; i-- > 0;)
		sink(best, k, i);
	for (size_t i = k; i < op->len; i++) {
		uint64_t y = key(op, xl, i);
		if (y > best[0]) {
			best[0] = y;
			sink(best, k, 0);
		}
	}
	for (size_t n = k - 1; n > 0; n--) {
		uint64_t last = best[0];
		best[0] = best[n];
		best[n] = last;
		sink(best, n, 0);
	}
}

/* Lines [l0, l1): the values (esz bytes each) or the indices into y. */
static void lines(const struct topk *op, const void *x, void *y, uint64_t *best, size_t l0,
                  size_t l1)
{
	size_t L = op->len, I = op->inner, K = op->k, esz = op->fp32 ? 4 : 1;
	for (size_t l = l0; l < l1; l++) {
		size_t o = l / I, i = l % I;
		const char *xl = (const char *)x + (o * L * I + i) * esz;
		select_line(op, xl, best);
		for (size_t j = 0; j < K; j++) {
			size_t at = (o * K + j) * I + i, e = (uint32_t)~best[j];
			if (op->indices)
				((int32_t *)y)[at] = (int32_t)e;
			else
				memcpy((char *)y + at * esz, xl + e * I * esz, esz);
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
	uint64_t *s = realloc(op->scratch, (size_t)nthreads * op->k * sizeof *s);
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
	uint64_t *best = malloc(op.k * sizeof *best);
	int32_t *idx = malloc((m ? m : 1) * sizeof *idx);
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
	/* a line: heapify ~2k, len - k looks at the root and sinks of
	 * 2 floor(log2 k) compares, k - 1 sinks to sort: within
	 * len x 2 (1 + floor(log2 k)) since k <= len */
	uint64_t lines = (uint64_t)gnumel(&g->t[n->out]) / op->k, w;
	uint64_t per = (uint64_t)op->len * 2 * (uint64_t)(64 - __builtin_clzll((uint64_t)op->k));
	return __builtin_mul_overflow(lines, per, &w) ? UINT64_MAX : w;
}

const struct node_ops dnnq_topk_ops = { topk_create, topk_infer, topk_setup, topk_run,
                                        topk_destroy, topk_ref, false, true };
