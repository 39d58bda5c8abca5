/*
 * The shared part of the transformer and reduction operators
 * (engine/xfmr.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

int dnnq_xfmr_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	struct dnnq_xfmr_desc *x = &d->op.xfmr;
	(void)diag;
	x->isa = b->isa;
	x->out_qp = dnnq_op_out_qp(n);
	x->op = n->op;
	x->axis = n->axis;
	x->ndim = n->ndim;
	x->k = n->k;
	memcpy(x->dims, n->dims, sizeof x->dims);
	memcpy(x->params, n->params, sizeof x->params);
	x->w = x->b = NULL;
	x->wn = 0;
	return DNNQ_OK;
}

int dnnq_xfmr_inputs(struct dnnq_graph *g, struct gnode *n, size_t nin, bool *fp32,
                     struct dnnq_diag *diag)
{
	*fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = *fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	if (n->desc.ninputs != nin)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu inputs: want %zu", n->name,
		            n->desc.ninputs, nin);
	if (gin(g, n, 0)->const_data)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input 0 '%s' is a constant: want an activation",
		            n->name, gin(g, n, 0)->name);
	for (size_t k = 0; k < nin; k++) {
		const struct gtensor *t = gin(g, n, k);
		if (t->dtype != dt && !(*fp32 && t->const_data && t->dtype == DNNQ_DTYPE_U8))
			return FAIL(DNNQ_E_DTYPE, "node '%s': input '%s' is %s: need %s", n->name,
			            t->name, dnnq_dtype_name(t->dtype), dnnq_dtype_name(dt));
	}
	return DNNQ_OK;
}

int dnnq_xfmr_out(struct gnode *n, struct gtensor *out, const struct gtensor *x, bool fp32,
                  bool keep, struct dnnq_diag *diag)
{
	out->dtype = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	out->qp = (struct dnnq_qparams){ 0 };
	if (fp32)
		return DNNQ_OK;
	out->qp = keep ? x->qp : n->desc.op.xfmr.out_qp;
	struct dnnq_diag why = { 0 };
	int rc = dnnq_qparams_check(&out->qp, DNNQ_DTYPE_U8, &why);
	if (rc)
		return FAIL(rc, "node '%s': output qparams: %s", n->name, why.msg);
	return DNNQ_OK;
}

enum dnnq_isa dnnq_xfmr_isa(const struct gnode *n)
{
	enum dnnq_isa isa = n->desc.op.xfmr.isa;
	return (unsigned)isa < DNNQ_ISA_COUNT ? isa : DNNQ_ISA_SCALAR;
}

void dnnq_xfmr_strides(const struct gtensor *t, size_t *st)
{
	size_t s = 1;
	for (uint32_t i = t->ndim; i-- > 0;) {
		st[i] = s;
		s *= (size_t)t->dims[i];
	}
}

size_t dnnq_xfmr_rows_per_task(size_t len, size_t min_elems)
{
	size_t per = len ? (min_elems + len - 1) / len : min_elems;
	return per ? per : 1;
}

bool dnnq_xfmr_index(double v, int64_t len, int32_t *i)
{
	if (!(v >= (double)-len && v < (double)len) || v != (double)(int64_t)v)
		return false;
	*i = (int32_t)(v < 0 ? v + (double)len : v);
	return true;
}

int dnnq_xfmr_reserve(void **table, size_t *cap, size_t n, size_t esz)
{
	if (n <= *cap)
		return DNNQ_OK;
	void *p = realloc(*table, n * esz);
	if (!p)
		return DNNQ_E_NOMEM;
	*table = p;
	*cap = n;
	return DNNQ_OK;
}

int dnnq_scatter_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->axis < 1 || n->op >= DNNQ_SCATTER_OPS) {
		snprintf(why, cap, "axis %u, op %u: want an axis but the batch (0) and op 0 none, "
		         "1 add, 2 mul, 3 max or 4 min", n->axis, n->op);
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

void dnnq_xfmr_bind(struct dnnq_graph *g, const struct gnode *n, const void **x, void **y)
{
	*x = gin(g, n, 0)->buf;
	*y = g->t[n->out].buf;
}

int dnnq_xfmr_run(const struct dnnq_executor *ex, const void *y, size_t units, size_t per_task,
                  dnnq_task_fn fn, void *op)
{
	if (!y)
		return DNNQ_E_INVAL;
	dnnq_parallel_for(ex, (units + per_task - 1) / per_task, fn, op);
	return DNNQ_OK;
}
