/*
 * MaxUnpool (file code 115): ONNX's MaxUnpool of a 4-D image, fp32 only
 * (SegNet's decoder: MaxPool's Indices put each pooled value back where
 * it came from, zeros elsewhere). Input 0 the values [N, H, W, C] (the
 * engine's NHWC), input 1 their indices of the same dims (computed: s32,
 * MaxPool's Indices, engine/ops/maxpool_indices.c, or f32 holding
 * integers; element for element in the values' order), each a position
 * in the output flattened in ONNX's order,
 * [N, C, Ho, Wo] (batch and channel counted in, as ONNX Runtime reads
 * them); ndim 2, dims the output's Ho and Wo; output [N, Ho, Wo, C]. The
 * indices are read once a run into a private table before anything is
 * written: one outside [0, N * C * Ho * Wo) (ONNX Runtime refuses it too;
 * no wrap of a negative one) or an f32 that is no integer fails the run
 * with DNNQ_E_RANGE. A position named twice keeps the later value in the
 * values' NHWC order (from a MaxPool's Indices both are the same input
 * element, so the same value). Unpooling a MaxPool's Indices over items
 * of the output's size (items_apart: batched beside other clients), an
 * index outside the item of its value fails the run too: a pool window
 * with no tap in the image (dilation) has h = w = -1, at channel 0 the
 * previous item's last place, where the value would land in another
 * client's output (alone, at item 0, the index is negative and fails the
 * same). A window of all -inf or NaN, which a client sends, had that
 * index too until MaxPool's Indices took its first tap as ONNX Runtime
 * does (review fix56).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

struct maxunpool {
	bool idx_f32, in_item;         /* in_item: each index in its value's item */
	size_t c, oh, ow;              /* the output's channels, height and width */
	size_t xn, yn, n;              /* the values' and the output's elements, items */
	size_t *at;                    /* the run's NHWC positions in the output (cap) */
	size_t cap;
	const float *x;
	const void *ix;
	float *y;
};

/* The xn indices at src as NHWC positions of the output into op->at; the
 * first outside it (or no integer): its position, or -1. */
static ptrdiff_t load(struct maxunpool *op, const void *src, bool f32)
{
	size_t plane = op->oh * op->ow, xi = op->n ? op->xn / op->n : 0,
	       yi = op->n ? op->yn / op->n : 0;
	for (size_t e = 0; e < op->xn; e++) {
		double v = dnnq_xfmr_index_at(src, f32, e), lo = 0, hi = (double)op->yn;
		if (op->in_item) {
			lo = (double)(e / xi * yi);
			hi = lo + (double)yi;
		}
		if (!(v >= lo && v < hi) || v != floor(v))
			return (ptrdiff_t)e;
		size_t i = (size_t)v, nc = i / plane, hw = i % plane;
		op->at[e] = ((nc / op->c) * plane + hw) * op->c + nc % op->c;
	}
	return -1;
}

static void unpool(const struct maxunpool *op, const float *x, float *y)
{
	memset(y, 0, op->yn * sizeof *y);
	for (size_t e = 0; e < op->xn; e++)
		y[op->at[e]] = x[e];
}

/* Elements of one batch item of t */
static size_t item_elems(const struct gtensor *t)
{
	size_t e = 1;
	for (uint32_t i = 1; i < t->ndim; i++)
		e *= (size_t)t->dims[i];
	return e;
}

extern const struct dnnq_op_def dnnq_op_maxpool_indices;

/* Whether n puts each batch item's values in that item's part of its
 * output y wherever the item is in the batch: its indices are a MaxPool's
 * Indices (counted from the start of the item's image) over as many
 * elements an item as y has */
static bool items_apart(const struct dnnq_graph *g, const struct gnode *n,
                        const struct gtensor *y)
{
	const struct gtensor *it = &g->t[n->desc.inputs[1]];
	if (it->producer < 0)
		return false;
	const struct gnode *p = &g->n[it->producer];
	return p->desc.kind == dnnq_op_maxpool_indices.kind &&
	       item_elems(&g->t[p->desc.inputs[0]]) == item_elems(y);
}

static int mu_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	struct maxunpool *op = n->op;
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1);
	/* element for element in the values' order (an int32 input whose ONNX
	 * order is NHWC's, C 1, keeps its ONNX dims) */
	if (gnumel(it) != gnumel(x) || it->dims[0] != x->dims[0])
		return FAIL(DNNQ_E_SHAPE, "node '%s': indices '%s' of %zu elements (batch %lld), "
		            "values '%s' %zu (batch %lld): want the same", n->name, it->name,
		            gnumel(it), (long long)it->dims[0], x->name, gnumel(x),
		            (long long)x->dims[0]);
	out->ndim = 4;
	out->dims[0] = x->dims[0];
	out->dims[1] = (int64_t)op->oh;
	out->dims[2] = (int64_t)op->ow;
	out->dims[3] = x->dims[3];
	op->c = (size_t)x->dims[3];
	op->xn = gnumel(x);
	op->yn = gnumel(out);
	op->n = (size_t)x->dims[0];
	return DNNQ_OK;
}

static int mu_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	const struct dnnq_xfmr_desc *d = &n->desc.op.xfmr;
	if (n->desc.ninputs != 2 || n->desc.precision != DNNQ_PRECISION_FP32)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu inputs, precision %u: want values and "
		            "indices, fp32", n->name, n->desc.ninputs, n->desc.precision);
	const struct gtensor *x = gin(g, n, 0), *it = gin(g, n, 1);
	if (x->dtype != DNNQ_DTYPE_F32 || x->const_data || x->ndim != 4 || it->const_data ||
	    (it->dtype != DNNQ_DTYPE_S32 && it->dtype != DNNQ_DTYPE_F32) || it->ndim != 4)
		return FAIL(DNNQ_E_DTYPE, "node '%s': values '%s' %s of rank %u, indices '%s' %s of "
		            "rank %u: want computed f32 values and s32 (or f32 integer) indices, "
		            "both 4-D", n->name, x->name, dnnq_dtype_name(x->dtype), x->ndim,
		            it->name, dnnq_dtype_name(it->dtype), it->ndim);
	if (d->ndim != 2 || d->dims[0] < 1 || d->dims[1] < 1)
		return FAIL(DNNQ_E_SHAPE, "node '%s': ndim %u: want 2, the output's height and width",
		            n->name, d->ndim);
	struct maxunpool *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->idx_f32 = it->dtype == DNNQ_DTYPE_F32;
	op->oh = (size_t)d->dims[0];
	op->ow = (size_t)d->dims[1];
	int rc = mu_infer(g, n, out, diag);
	if (!rc)
		rc = dnnq_xfmr_out(n, out, x, true, true, diag);
	/* the Indices' count of readers that keep them to the item (a node that
	 * fails to add fails the graph's build) */
	op->in_item = !rc && items_apart(g, n, out);
	if (op->in_item)
		gin(g, n, 1)->unpooled++;
	return rc;
}

static int mu_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct maxunpool *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, (const void **)&op->x, (void **)&op->y);
	op->ix = gin(g, n, 1)->buf;
	return dnnq_xfmr_reserve((void **)&op->at, &op->cap, op->xn, sizeof *op->at);
}

static int mu_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct maxunpool *op = n->op;
	(void)ex;
	if (!op->x || !op->ix || !op->y)
		return DNNQ_E_INVAL;
	if (load(op, op->ix, op->idx_f32) >= 0)
		return DNNQ_E_RANGE;
	unpool(op, op->x, op->y);
	return DNNQ_OK;
}

static void mu_destroy(struct gnode *n)
{
	struct maxunpool *op = n->op;
	if (op)
		free(op->at);
	free(op);
}

/* The node is fp32: its reference is its kernel (computed indices come
 * as the floats of their values). */
static int mu_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct maxunpool *op = n->op;
	(void)g;
	if (load(op, in[1], true) >= 0)
		return DNNQ_E_RANGE;
	unpool(op, in[0], out);
	return DNNQ_OK;
}

/* An index counts the items before its own: indices a client gives (or
 * computes), or a MaxPool's over items of another size, put one item's
 * values in another's part of the output (an offender's -99 in the
 * honest client's, batched beside it: hostile_batch_coupled) */
static const char *mu_couples(const struct dnnq_graph *g, const struct gnode *n)
{
	return items_apart(g, n, &g->t[n->out])
	               ? NULL
	               : "puts values at places counted over the whole batch, by indices that are"
	                 " not a MaxPool's Indices over items of its output's size";
}

static const struct node_ops mu_ops = { mu_create, mu_infer, mu_setup, mu_run, mu_destroy,
                                        mu_ref, false, true };

const struct dnnq_op_def dnnq_op_maxunpool = {
	.kind = 115, .name = "maxunpool", .min_inputs = 2, .max_inputs = 2,
	.attrs = DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS) | DNNQ_A(DNNQ_A_PRECISION),
	.build = dnnq_xfmr_build, .ops_f32 = &mu_ops, .couples_items = mu_couples,
};
