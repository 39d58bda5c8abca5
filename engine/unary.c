/*
 * The graph adapter of the unary elementwise operators (engine/unary.h):
 * the int8 node's table, the walk in chunks over threads, and the fp32
 * reference. The output has the input's shape whatever the layout, so the
 * node never looks at dims.
 */
#include <stdlib.h>

#include "engine/graph-internal.h"
#include "engine/kernels.h"
#include "engine/unary.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define CHUNK 16384u   /* elements a task */

struct unary {
	const struct dnnq_unary_impl *impl;
	dnnq_unary_row_f32 row_f32;                /* fp32 */
	const struct dnnq_kernels *kn;             /* int8: its lut */
	bool fp32;                                 /* the node's precision */
	uint8_t table[256];                        /* int8: y = table[x] */
	/* bound by setup */
	const void *x;
	void *y;
	size_t n;
};

float (*dnnq_unary_fn(const struct dnnq_op_def *d))(float)
{
	return d && d->ops_f32 == &dnnq_unary_ops ? ((const struct dnnq_unary_impl *)d->impl)->f32
	                                      : NULL;
}

static int unary_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	const struct dnnq_qparams *oq = &n->desc.op.binary.out_qp;
	const struct gtensor *x = gin(g, n, 0);
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	if (n->desc.ninputs != 1)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu inputs: want 1", n->name, n->desc.ninputs);
	if (x->dtype != dt || x->const_data)
		return FAIL(DNNQ_E_DTYPE, "node '%s': input '%s' is %s%s: need a %s activation",
		            n->name, x->name, x->const_data ? "a constant " : "",
		            dnnq_dtype_name(x->dtype), dnnq_dtype_name(dt));
	struct dnnq_diag why = { 0 };
	int rc = fp32 ? DNNQ_OK : dnnq_qparams_check(oq, DNNQ_DTYPE_U8, &why);
	if (rc)
		return FAIL(rc, "node '%s': output qparams: %s", n->name, why.msg);
	struct unary *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	enum dnnq_isa isa = n->desc.op.binary.isa;
	if ((unsigned)isa >= DNNQ_ISA_COUNT)
		isa = DNNQ_ISA_SCALAR;
	op->impl = dnnq_op_get(n->desc.kind)->impl;
	op->fp32 = fp32;
	op->row_f32 = op->impl->row_f32[isa];
	op->kn = dnnq_kernels_of(isa);
	for (int q = 0; !fp32 && q < 256; q++) {
		float f = op->impl->f32(dnnq_dequantize_1(q, x->qp.zero_point, x->qp.scale));
		op->table[q] = (uint8_t)dnnq_quantize_1(f, oq->scale, (float)oq->zero_point, 0, 255);
	}
	out->ndim = x->ndim;
	memcpy(out->dims, x->dims, sizeof out->dims);
	out->dtype = dt;
	out->qp = fp32 ? (struct dnnq_qparams){ 0 } : *oq;
	return DNNQ_OK;
}

static int unary_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                       struct dnnq_diag *diag)
{
	const struct gtensor *x = gin(g, n, 0);
	(void)diag;
	out->ndim = x->ndim;
	memcpy(out->dims, x->dims, sizeof out->dims);
	return DNNQ_OK;
}

static int unary_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct unary *op = n->op;
	(void)nthreads;
	op->x = gin(g, n, 0)->buf;
	op->y = g->t[n->out].buf;
	op->n = gnumel(gin(g, n, 0));
	return DNNQ_OK;
}

static void unary_task(void *arg, size_t t, unsigned tid)
{
	const struct unary *op = arg;
	size_t i0 = t * CHUNK, len = op->n - i0 < CHUNK ? op->n - i0 : CHUNK;
	(void)tid;
	if (op->fp32)
		op->row_f32((const float *)op->x + i0, (float *)op->y + i0, len);
	else
		op->kn->lut(op->table, (const uint8_t *)op->x + i0, (uint8_t *)op->y + i0, len);
}

static int unary_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct unary *op = n->op;
	if (!op->y)
		return DNNQ_E_INVAL;
	dnnq_parallel_for(ex, (op->n + CHUNK - 1) / CHUNK, unary_task, op);
	return DNNQ_OK;
}

static int unary_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct unary *op = n->op;
	size_t total = gnumel(gin(g, n, 0));
	for (size_t i = 0; i < total; i++)
		out[i] = op->impl->f32(in[0][i]);
	return DNNQ_OK;
}

/* Both precisions share the adapter: create reads the node's. */
const struct node_ops dnnq_unary_ops = { unary_create, unary_infer, unary_setup, unary_run,
                                         NULL, unary_ref, false, false };
