/*
 * GatherElements (file code 96): ONNX's GatherElements, torch.gather's
 * export. y[p] = x[p with its axis coordinate replaced by index[p]]: the
 * output has the indices' shape, each of its dims but the axis at most the
 * input's (torch's rule), so every coordinate but the axis' is one of the
 * input's. u8 (bytes move: the input's quantization kept, as TopK's
 * values) and f32. Dims are the engine's (NHWC for 4-D: the lowering
 * composes ONNX's axis with it, and indices and input share the layout).
 *
 * The indices are either input 1, computed (s32: TopK's or ArgMax's
 * indices, an int32 graph input; or f32 holding integers the graph
 * computed, as an embedding's ids), the batch the input's; or, one input,
 * the node's weight: a constant s32 tensor of one batch item's indices
 * (dims[0] 1) that every batch item reads. Constant indices are checked
 * when the graph is built; computed ones each run, before an element is
 * read: each read once into a private table, a negative one counted from
 * the end once (as ONNX does) and anything still outside the axis (or an
 * f32 that is no integer) fails the run with DNNQ_E_RANGE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct gather_el {
	bool fp32, computed, idx_f32;
	uint32_t nd, axis;
	int64_t len;                   /* the input's axis */
	int64_t yd[DNNQ_MAX_DIMS];
	size_t xst[DNNQ_MAX_DIMS];     /* the input's strides (elements) */
	size_t last, rows, per_task;   /* the output's last dim, rows of it, rows a task */
	int32_t *idx;                  /* in [0, the axis' length): a constant's one batch
	                                  item, or the run's computed ones (cap of them) */
	size_t nidx, cap;
	const void *x, *ix;
	void *y;
};

/* The k indices at src (s32, or f32 when f32) into op->idx; the first
 * outside the axis: its position, or -1. */
static ptrdiff_t load(struct gather_el *op, const void *src, bool f32, size_t k)
{
	for (size_t e = 0; e < k; e++)
		if (!dnnq_xfmr_index(dnnq_xfmr_index_at(src, f32, e), op->len, &op->idx[e]))
			return (ptrdiff_t)e;
	return -1;
}

static int ge_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	struct gather_el *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	if (op->computed)
		memcpy(op->yd, gin(g, n, 1)->dims, sizeof op->yd);
	/* the batch: the input's (computed indices must have it: a run reads
	 * theirs element for element of the output) */
	if (op->computed && op->yd[0] != x->dims[0])
		return FAIL(DNNQ_E_SHAPE, "node '%s': indices '%s' of batch %lld, input '%s' %lld: "
		            "want the same", n->name, gin(g, n, 1)->name, (long long)op->yd[0],
		            x->name, (long long)x->dims[0]);
	op->yd[0] = x->dims[0];
	for (uint32_t i = 1; i < op->nd; i++)
		if (op->yd[i] < 1 || (i != op->axis && op->yd[i] > x->dims[i]))
			return FAIL(DNNQ_E_SHAPE, "node '%s': indices dim %u is %lld, input '%s''s %lld: "
			            "want 1..the input's but on axis %u", n->name, i,
			            (long long)op->yd[i], x->name, (long long)x->dims[i], op->axis);
	out->ndim = op->nd;
	memcpy(out->dims, op->yd, sizeof op->yd);
	size_t s = 1;
	for (uint32_t i = op->nd; i-- > 0;) {
		op->xst[i] = s;
		s *= (size_t)x->dims[i];
	}
	op->len = x->dims[op->axis];
	op->last = (size_t)op->yd[op->nd - 1];
	op->rows = gnumel(out) / op->last;
	op->per_task = dnnq_xfmr_rows_per_task(op->last, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int ge_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	const struct dnnq_remap_desc *d = &n->desc.op.remap;
	const struct gtensor *x = gin(g, n, 0);
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	bool computed = n->desc.ninputs == 2;
	if (x->dtype != dt || x->const_data || x->ndim < 2 || computed == !!d->index)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' is %s %s of rank %u with %s indices: "
		            "want a %s activation of rank 2..%d and either computed or constant "
		            "indices", n->name, x->name, dnnq_dtype_name(x->dtype),
		            x->const_data ? "constant" : "activation", x->ndim,
		            computed ? "computed" : "no computed", dnnq_dtype_name(dt), DNNQ_MAX_DIMS);
	const struct gtensor *it = computed ? gin(g, n, 1) : NULL;
	if (it && ((it->dtype != DNNQ_DTYPE_S32 && it->dtype != DNNQ_DTYPE_F32) || it->const_data ||
	           it->ndim != x->ndim))
		return FAIL(DNNQ_E_DTYPE, "node '%s': indices '%s' are %s of rank %u: want computed "
		            "s32 (or f32 integers) of the input's rank %u", n->name, it->name,
		            dnnq_dtype_name(it->dtype), it->ndim, x->ndim);
	if (d->axis < 1 || d->axis >= x->ndim || (!computed && (d->ndim != x->ndim ||
	                                                        d->out[0] != 1)))
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u, constant indices of rank %u: want axis "
		            "1..%u and one batch item's indices of the input's rank", n->name, d->axis,
		            computed ? x->ndim : d->ndim, x->ndim - 1);
	struct gather_el *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->fp32 = fp32;
	op->computed = computed;
	op->nd = x->ndim;
	op->axis = d->axis;
	op->idx_f32 = it && it->dtype == DNNQ_DTYPE_F32;
	if (!computed)
		memcpy(op->yd, d->out, sizeof op->yd);
	int rc = ge_infer(g, n, out, diag);
	if (rc || computed)
		goto out;
	/* the constant: checked once, kept normalized (desc pointers are
	 * cleared after create) */
	op->nidx = 1;
	for (uint32_t i = 1; i < op->nd; i++)
		op->nidx *= (size_t)op->yd[i];
	op->cap = op->nidx;
	if (op->nidx != d->nindex)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu constant indices: want %zu", n->name,
		            d->nindex, op->nidx);
	if (!(op->idx = malloc(op->cap * sizeof *op->idx)))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	ptrdiff_t bad = load(op, d->index, false, op->nidx);
	if (bad >= 0)
		return FAIL(DNNQ_E_RANGE, "node '%s': indices[%td] = %d: axis %u has %lld elements",
		            n->name, bad, d->index[bad], op->axis, (long long)x->dims[op->axis]);
out:
	return rc ? rc : dnnq_xfmr_out(n, out, x, fp32, true, diag);
}

static int ge_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct gather_el *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	if (!op->computed)
		return DNNQ_OK;
	op->ix = gin(g, n, 1)->buf;
	op->nidx = gnumel(&g->t[n->out]);
	return dnnq_xfmr_reserve((void **)&op->idx, &op->cap, op->nidx, sizeof *op->idx);
}

/* Output rows [r0, r1) of x into y (esz bytes an element). */
static void rows(const struct gather_el *op, const void *x, void *y, size_t r0, size_t r1)
{
	size_t esz = op->fp32 ? 4 : 1, L = op->last, A = op->axis, nd = op->nd;
	for (size_t r = r0; r < r1; r++) {
		size_t base = 0, q = r;
		for (size_t i = nd - 1; i-- > 0;) {
			size_t p = q % (size_t)op->yd[i];
			q /= (size_t)op->yd[i];
			base += i == A ? 0 : p * op->xst[i];
		}
		const int32_t *ix = op->idx + (r * L) % op->nidx;
		for (size_t j = 0; j < L; j++) {
			size_t at = base + (A == nd - 1 ? 0 : j * op->xst[nd - 1]) +
			            (size_t)ix[j] * op->xst[A];
			memcpy((char *)y + (r * L + j) * esz, (const char *)x + at * esz, esz);
		}
	}
}

static void ge_task(void *arg, size_t t, unsigned tid)
{
	const struct gather_el *op = arg;
	size_t r0 = t * op->per_task, r1 = r0 + op->per_task;
	(void)tid;
	rows(op, op->x, op->y, r0, r1 < op->rows ? r1 : op->rows);
}

static int ge_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct gather_el *op = n->op;
	if (op->computed && (!op->ix || load(op, op->ix, op->idx_f32, op->nidx) >= 0))
		return op->ix ? DNNQ_E_RANGE : DNNQ_E_INVAL;
	return dnnq_xfmr_run(ex, op->y, op->rows, op->per_task, ge_task, op);
}

static void ge_destroy(struct gnode *n)
{
	struct gather_el *op = n->op;
	if (op)
		free(op->idx);
	free(op);
}

/* On real values: the same gather of f32 (computed indices come as the
 * floats of their values). */
static int ge_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct gather_el op = *(const struct gather_el *)n->op;
	(void)g;
	op.fp32 = true;
	if (op.computed && load(&op, in[1], true, op.nidx) >= 0)
		return DNNQ_E_RANGE;
	rows(&op, in[0], out, 0, op.rows);
	return DNNQ_OK;
}

static const struct node_ops ge_ops = { ge_create, ge_infer, ge_setup, ge_run, ge_destroy,
                                        ge_ref, false, true };

/* The constant indices: the weight, an s32 tensor (one batch item's,
 * dims[0] 1, in the engine's layout); -1 with computed ones (input 1). */
static int ge_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	memset(&d->op.remap, 0, sizeof d->op.remap);
	d->op.remap.axis = n->axis;
	if (n->weight < 0)
		return DNNQ_OK;
	const struct dnnq_qtensor *t = (size_t)n->weight < b->m->ntensors
	                               ? &b->m->tensors[n->weight].t : NULL;
	if (!t || t->dtype != DNNQ_DTYPE_S32 || t->ndim < 2)
		return dnnq_op_build_err(b, diag, DNNQ_E_SHAPE, "weight %d: want an s32 tensor of "
		                         "the indices, rank 2..%d", n->weight, DNNQ_MAX_DIMS);
	d->op.remap.index = (const int32_t *)t->data;
	d->op.remap.nindex = dnnq_qtensor_numel(t);
	d->op.remap.ndim = t->ndim;
	memcpy(d->op.remap.out, t->dims, t->ndim * sizeof *t->dims);
	return DNNQ_OK;
}

/* Constant indices (a weight) or computed ones (input 1), not both; the
 * axis not the batch. */
static int ge_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->axis < 1) {
		snprintf(why, cap, "axis 0: the batch is not gathered");
		return DNNQ_E_FORMAT;
	}
	if ((n->weight >= 0) != (n->ninputs == 1)) {
		snprintf(why, cap, "%u inputs and weight %d: want the input and computed indices, "
		         "or the input and a weight of constant ones", n->ninputs, n->weight);
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_gather_elements = {
	.kind = 96, .name = "gather_elements", .min_inputs = 1, .max_inputs = 2,
	.attrs = DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_WEIGHT) | DNNQ_A(DNNQ_A_PRECISION),
	.check = ge_check, .build = ge_build, .ops = &ge_ops, .ops_f32 = &ge_ops,
};
