/*
 * The graph adapter of the data movement kinds (engine/remap.h): index
 * tables per axis from the description, validated against the input's
 * dims at create, and the walk over output rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph-internal.h"
#include "engine/model.h"
#include "engine/quant-scalar.h"
#include "engine/remap.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ROWS_PER_TASK 64
#define MAX_ELEMS ((size_t)1 << 32)

struct remap {
	uint32_t nd;
	size_t in[DNNQ_MAX_DIMS], out[DNNQ_MAX_DIMS], istride[DNNQ_MAX_DIMS];
	int32_t *tab[DNNQ_MAX_DIMS];   /* axes 1..nd-1: the input index (< 2^24), or -1 (the fill) */
	bool contiguous;               /* the last axis reads consecutive elements */
	size_t esize, rows;
	union { uint8_t u8; float f32; } fill;
	float value;                   /* the fill's real value (the reference's) */
	const uint8_t *x;
	uint8_t *y;
};

/* Input index of output index o on an axis of n elements (-1: the fill). */
static int64_t source(const struct dnnq_remap_desc *d, uint32_t axis, int64_t o, int64_t n)
{
	int64_t i = axis == d->axis && d->index ? d->index[o] : d->start[axis] + d->step[axis] * o;
	if (i >= 0 && i < n)
		return i;
	switch (d->mode) {
	case DNNQ_PAD_EDGE:
		return i < 0 ? 0 : n - 1;
	case DNNQ_PAD_REFLECT: {
		if (n == 1)
			return 0;
		int64_t p = 2 * (n - 1), m = ((i % p) + p) % p;
		return m < n ? m : p - m;
	}
	case DNNQ_PAD_WRAP:
		return ((i % n) + n) % n;
	default:
		return -1;
	}
}

static int remap_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	const struct dnnq_remap_desc *d = &n->desc.op.remap;
	struct gtensor *x = gin(g, n, 0);
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	if (x->dtype != dt || x->const_data || x->ndim != d->ndim || !x->ndim ||
	    d->mode >= DNNQ_REMAP_MODE_COUNT)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' is %s of rank %u: want a %s "
		            "activation of rank %u", n->name, x->name, dnnq_dtype_name(x->dtype),
		            x->ndim, dnnq_dtype_name(dt), d->ndim);
	if (d->index && (d->axis < 1 || d->axis >= d->ndim || d->nindex != (size_t)d->out[d->axis]))
		return FAIL(DNNQ_E_SHAPE, "node '%s': gather axis %u with %zu indices: want 1..%u and "
		            "the output's dim", n->name, d->axis, d->nindex, d->ndim - 1);
	struct remap *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->nd = d->ndim;
	op->esize = fp32 ? sizeof(float) : 1;
	op->value = d->value;
	if (fp32)
		op->fill.f32 = d->value;
	else
		op->fill.u8 = (uint8_t)dnnq_quantize_1(d->value, x->qp.scale, (float)x->qp.zero_point,
		                                       0, 255);
	/* The index tables hold an entry per output index of each axis: a
	 * batch item's elements bound them (a few axes of 2^24 would be a GiB
	 * of tables for a tensor no arena could hold). */
	size_t elems = 1;
	for (uint32_t i = 1; i < op->nd; i++)
		if (d->out[i] < 1 || d->out[i] > (1 << 24) ||
		    !dnnq_mul_size(elems, (size_t)d->out[i], &elems) || elems > MAX_ELEMS)
			return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u: output dim %lld: want 1..2^24 and "
			            "at most 2^32 elements a batch item", n->name, i,
			            (long long)d->out[i]);
	for (uint32_t i = 1; i < op->nd; i++) {
		op->in[i] = (size_t)x->dims[i];
		op->out[i] = (size_t)d->out[i];
		if (x->dims[i] < 1)
			return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u: %lld from %lld elements: want "
			            "1..2^24", n->name, i, (long long)d->out[i], (long long)x->dims[i]);
		if (!(op->tab[i] = malloc(op->out[i] * sizeof *op->tab[i])))
			return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
		for (int64_t o = 0; o < d->out[i]; o++) {
			int64_t s = source(d, i, o, x->dims[i]);
			if (s < 0 && d->mode == DNNQ_REMAP_INSIDE)
				return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u: output index %lld reads "
				            "outside input '%s' (%lld elements)", n->name, i, (long long)o,
				            x->name, (long long)x->dims[i]);
			op->tab[i][o] = (int32_t)s;
		}
	}
	uint32_t last = op->nd - 1;
	op->contiguous = last > 0;
	for (size_t o = 0; op->contiguous && o < op->out[last]; o++)
		op->contiguous = op->tab[last][0] >= 0 && op->tab[last][o] == op->tab[last][0] + (int64_t)o;
	out->dtype = dt;
	out->qp = x->qp;
	out->ndim = x->ndim;
	out->dims[0] = x->dims[0];
	for (uint32_t i = 1; i < op->nd; i++)
		out->dims[i] = d->out[i];
	return DNNQ_OK;
}

static int remap_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct remap *op = n->op;
	struct gtensor *x = gin(g, n, 0);
	(void)nthreads;
	op->in[0] = op->out[0] = (size_t)x->dims[0];
	size_t s = 1;
	for (uint32_t i = op->nd; i-- > 0;) {
		op->istride[i] = s;
		s *= op->in[i];
	}
	op->rows = 1;
	for (uint32_t i = 0; i + 1 < op->nd; i++)
		op->rows *= op->out[i];
	op->x = x->buf;
	op->y = g->t[n->out].buf;
	return DNNQ_OK;
}

/* Output row r (the last axis's elements) of x into y, filling with fill
 * (esize bytes). */
static void remap_row(const struct remap *op, size_t r, const uint8_t *x, uint8_t *y,
                      const void *fill)
{
	uint32_t last = op->nd - 1;
	size_t len = op->nd > 1 ? op->out[last] : op->out[0], src = 0, e = op->esize;
	bool filled = false;
	y += r * len * e;
	for (uint32_t i = last; i-- > 0;) {
		size_t o = r % op->out[i];
		r /= op->out[i];
		int64_t s = i ? op->tab[i][o] : (int64_t)o;
		filled |= s < 0;
		src += (size_t)s * op->istride[i];
	}
	if (op->nd == 1) {                 /* the batch alone: a copy */
		memcpy(y, x + r * len * e, len * e);
		return;
	}
	if (!filled && op->contiguous) {
		memcpy(y, x + (src + (size_t)op->tab[last][0]) * e, len * e);
		return;
	}
	for (size_t o = 0; o < len; o++) {
		int64_t s = op->tab[last][o];
		memcpy(y + o * e, filled || s < 0 ? fill : x + (src + (size_t)s) * e, e);
	}
}

static void remap_task(void *arg, size_t t, unsigned tid)
{
	const struct remap *op = arg;
	size_t end = (t + 1) * ROWS_PER_TASK < op->rows ? (t + 1) * ROWS_PER_TASK : op->rows;
	(void)tid;
	for (size_t r = t * ROWS_PER_TASK; r < end; r++)
		remap_row(op, r, op->x, op->y, &op->fill);
}

static int remap_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct remap *op = n->op;
	if (!op->x || !op->y)
		return DNNQ_E_INVAL;
	dnnq_parallel_for(ex, (op->rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, remap_task, op);
	return DNNQ_OK;
}

static void remap_destroy(struct gnode *n)
{
	struct remap *op = n->op;
	if (!op)
		return;
	for (uint32_t i = 0; i < DNNQ_MAX_DIMS; i++)
		free(op->tab[i]);
	free(op);
}

/* Real values: the same walk on floats, the fill its real value. */
static int remap_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct remap ref = *(const struct remap *)n->op;
	(void)g;
	ref.esize = sizeof(float);
	for (size_t r = 0; r < ref.rows; r++)
		remap_row(&ref, r, (const uint8_t *)in[0], (uint8_t *)out, &ref.value);
	return DNNQ_OK;
}

/* Both precisions share the adapter: create reads the node's. */
const struct node_ops dnnq_remap_ops = { remap_create, dnnq_infer_batch, remap_setup, remap_run,
                                         remap_destroy, remap_ref, false, false };

int dnnq_remap_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->ndim < 1 || n->ndim > DNNQ_MAX_DIMS) {
		snprintf(why, cap, "ndim %u: want rank 1..%d", n->ndim, DNNQ_MAX_DIMS);
		return DNNQ_E_SHAPE;
	}
	for (uint32_t i = 1; i < n->ndim; i++)
		if (n->dims[i] < 1 || n->dims[i] > (1 << 24)) {
			snprintf(why, cap, "dims[%u] = %lld: want 1..2^24", i, (long long)n->dims[i]);
			return DNNQ_E_SHAPE;
		}
	return DNNQ_OK;
}

void dnnq_remap_desc_of(const struct dnnq_model_node *n, uint32_t mode, float value, bool steps,
                        struct dnnq_remap_desc *d)
{
	*d = (struct dnnq_remap_desc){ .mode = mode, .value = value, .ndim = n->ndim };
	for (uint32_t i = 0; i < DNNQ_MAX_DIMS; i++) {
		d->out[i] = n->dims[i];
		d->start[i] = n->starts[i];
		d->step[i] = steps ? n->steps[i] : 1;
	}
}
