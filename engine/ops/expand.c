/*
 * Expand: a graph constant broadcast to [batch, dims...], every batch row
 * the same (ONNX's Expand of a constant to a shape whose dim 0 is the
 * batch: torchvision's ViT class token, `tok.expand(n, -1, -1)`). File
 * code 48.
 *
 * ndim, dims: the output's (the engine's layout; dims[0], the batch, is
 * the graph's planned batch). Input 0 is a constant (no batch) of rank
 * 1..ndim, its dims aligned with the output's last ones, each equal or 1
 * (broadcast), the one aligned with the batch (if any) 1. int8 nodes copy
 * the constant's u8 bytes and keep its parameters; fp32 nodes copy f32.
 * Create broadcasts the constant into one batch row; a run copies that
 * row batch times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/remap.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
/* one batch row at most this many elements */
#define EXPAND_MAX_ROW ((size_t)1 << 28)

struct expand {
	size_t esize, row;             /* bytes of an element, elements of a row */
	uint32_t nd;                   /* output axes 1..nd-1 */
	size_t out[DNNQ_MAX_DIMS], xstride[DNNQ_MAX_DIMS];   /* xstride 0: broadcast */
	uint8_t *block;                /* one batch row, broadcast */
	size_t batch;
	uint8_t *y;
};

/* Output row x broadcast into y (esize bytes an element): element k of the
 * row reads x at the sum of its indices by xstride. */
static void broadcast_row(const struct expand *op, const uint8_t *x, uint8_t *y, size_t esize)
{
	for (size_t k = 0; k < op->row; k++) {
		size_t r = k, src = 0;
		for (uint32_t i = op->nd; i-- > 1;) {
			src += (r % op->out[i]) * op->xstride[i];
			r /= op->out[i];
		}
		memcpy(y + k * esize, x + src * esize, esize);
	}
}

static int expand_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	const struct dnnq_remap_desc *d = &n->desc.op.remap;
	struct gtensor *x = gin(g, n, 0);
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	if (x->dtype != dt || !x->const_data || !x->ndim || x->ndim > d->ndim)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' is %s %s of rank %u: want a %s "
		            "constant of rank 1..%u", n->name, x->name, dnnq_dtype_name(x->dtype),
		            x->const_data ? "constant" : "activation", x->ndim, dnnq_dtype_name(dt),
		            d->ndim);
	struct expand *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->nd = d->ndim;
	op->esize = fp32 ? sizeof(float) : 1;
	op->row = 1;
	uint32_t lead = d->ndim - x->ndim;     /* output axes the constant lacks */
	size_t s = 1;
	for (uint32_t i = d->ndim; i-- > 0;) {
		int64_t c = i >= lead ? x->dims[i - lead] : 1;
		if (i == 0) {
			if (c != 1)
				return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' dims[0] = %lld stands "
				            "against the batch: want 1", n->name, x->name, (long long)c);
			break;
		}
		if (d->out[i] < 1 || d->out[i] > (1 << 24) || (c != 1 && c != d->out[i]))
			return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u: %lld elements from %lld of input "
			            "'%s': want 1..2^24, from 1 or as many", n->name, i,
			            (long long)d->out[i], (long long)c, x->name);
		op->out[i] = (size_t)d->out[i];
		op->xstride[i] = c == 1 ? 0 : s;
		s *= (size_t)c;
		op->row *= op->out[i];
		if (op->row > EXPAND_MAX_ROW)
			return FAIL(DNNQ_E_SHAPE, "node '%s': more than 2^28 elements a batch item",
			            n->name);
	}
	if (!(op->block = malloc(op->row * op->esize)))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	broadcast_row(op, x->const_data, op->block, op->esize);
	out->dtype = dt;
	out->qp = x->qp;
	out->ndim = d->ndim;
	out->dims[0] = 0;
	for (uint32_t i = 1; i < d->ndim; i++)
		out->dims[i] = d->out[i];
	return DNNQ_OK;
}

/* The batch is the graph's: its inputs' dim 0 (0 until planned). */
static int expand_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	(void)n;
	(void)diag;
	out->dims[0] = g->ninputs ? g->t[g->inputs[0]].dims[0] : (int64_t)g->batch;
	return DNNQ_OK;
}

static int expand_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct expand *op = n->op;
	(void)nthreads;
	op->batch = (size_t)g->t[n->out].dims[0];
	op->y = g->t[n->out].buf;
	return DNNQ_OK;
}

static int expand_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct expand *op = n->op;
	(void)ex;
	if (!op->y)
		return DNNQ_E_INVAL;
	size_t bytes = op->row * op->esize;
	for (size_t b = 0; b < op->batch; b++)
		memcpy(op->y + b * bytes, op->block, bytes);
	return DNNQ_OK;
}

static void expand_destroy(struct gnode *n)
{
	struct expand *op = n->op;
	if (op)
		free(op->block);
	free(op);
}

/* Real values: the constant's broadcast, batch times. */
static int expand_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct expand *op = n->op;
	size_t batch = (size_t)g->t[n->out].dims[0];
	broadcast_row(op, (const uint8_t *)in[0], (uint8_t *)out, sizeof(float));
	for (size_t b = 1; b < batch; b++)
		memcpy(out + b * op->row, out, op->row * sizeof(float));
	return DNNQ_OK;
}

static const struct node_ops expand_ops = { expand_create, expand_infer, expand_setup,
                                            expand_run, expand_destroy, expand_ref, false,
                                            false };

static int expand_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	(void)diag;
	dnnq_remap_desc_of(&b->m->nodes[b->j], DNNQ_REMAP_INSIDE, 0, false, &d->op.remap);
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_expand = {
	.kind = 48, .name = "expand", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS),
	.check = dnnq_remap_check, .build = expand_build, .ops = &expand_ops,
	.ops_f32 = &expand_ops,
};
