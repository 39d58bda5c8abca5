/*
 * GatherND's and ScatterND's views and index tuples (engine/nd.h).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/nd.h"
#include "engine/xfmr.h"

/* v's storage strides from its ONNX dims: the graph's layout of its rank
 * (NHWC at 4, row-major otherwise). */
static void storage(struct dnnq_nd_view *v)
{
	const int64_t *d = v->dims;
	if (v->nd == 4) {
		v->st[1] = 1;
		v->st[3] = (size_t)d[1];
		v->st[2] = (size_t)(d[3] * d[1]);
		v->st[0] = (size_t)(d[2] * d[3] * d[1]);
		return;
	}
	size_t s = 1;
	for (uint32_t i = v->nd; i-- > 0; s *= (size_t)d[i])
		v->st[i] = s;
}

void dnnq_nd_view(const struct gtensor *t, struct dnnq_nd_view *v)
{
	v->nd = t->ndim;
	memcpy(v->dims, t->dims, sizeof v->dims);
	if (t->ndim == 4) {   /* [N, H, W, C] held: N, C, H, W */
		v->dims[1] = t->dims[3];
		v->dims[2] = t->dims[1];
		v->dims[3] = t->dims[2];
	}
	storage(v);
}

void dnnq_nd_graph_dims(const struct dnnq_nd_view *g, int64_t *dims)
{
	memcpy(dims, g->dims, g->nd * sizeof *dims);
	if (g->nd == 4) {
		dims[1] = g->dims[2];
		dims[2] = g->dims[3];
		dims[3] = g->dims[1];
	}
}

size_t dnnq_nd_at(const struct dnnq_nd_view *v, size_t e)
{
	size_t off = 0;
	for (uint32_t i = v->nd; i-- > 0;) {
		size_t d = (size_t)v->dims[i];
		off += e % d * v->st[i];
		e /= d;
	}
	return off;
}

static size_t prod(const int64_t *d, uint32_t from, uint32_t to)
{
	size_t p = 1;
	for (uint32_t i = from; i < to; i++)
		p *= (size_t)d[i];
	return p;
}

int dnnq_nd_shape(struct dnnq_nd *nd, const struct gnode *n, const struct gtensor *x,
                  const struct gtensor *it, uint32_t axis, struct dnnq_diag *diag)
{
	dnnq_nd_view(x, &nd->x);
	dnnq_nd_view(it, &nd->ix);
	const struct dnnq_nd_view *xv = &nd->x, *iv = &nd->ix;
	uint32_t R = xv->nd, Q = iv->nd;
	int64_t k = Q ? iv->dims[Q - 1] : 0;
	bool ok = axis >= 1 && Q >= axis + 1 && k >= 1 && k <= (int64_t)R - axis &&
	          Q - 1 + R - axis - (uint32_t)k <= DNNQ_MAX_DIMS;
	for (uint32_t i = 0; ok && i < axis; i++)
		ok = iv->dims[i] == xv->dims[i];
	if (!ok)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "node '%s': indices '%s' (rank %u, tuples of "
		                     "%lld) on data '%s' (rank %u), axis %u: want tuples of 1..rank - "
		                     "axis indices, the dims before the axis the data's, at most rank "
		                     "%d out", n->name, it->name, Q, (long long)k, x->name, R, axis,
		                     DNNQ_MAX_DIMS);
	nd->axis = axis;
	nd->k = (uint32_t)k;
	nd->g.nd = Q - 1 + R - axis - nd->k;
	memcpy(nd->g.dims, iv->dims, (Q - 1) * sizeof *iv->dims);
	memcpy(nd->g.dims + Q - 1, xv->dims + axis + k, (R - axis - nd->k) * sizeof *xv->dims);
	storage(&nd->g);
	nd->tuples = prod(iv->dims, 0, Q - 1);
	nd->per_group = prod(iv->dims, axis, Q - 1);
	nd->span = prod(xv->dims, axis, R);
	nd->slice = prod(xv->dims, axis + nd->k, R);
	nd->idx_f32 = it->dtype == DNNQ_DTYPE_F32;
	return DNNQ_OK;
}

ptrdiff_t dnnq_nd_load(struct dnnq_nd *nd, const void *src, bool f32)
{
	for (size_t t = 0; t < nd->tuples; t++) {
		size_t f = 0;
		for (uint32_t j = 0; j < nd->k; j++) {
			size_t e = t * nd->k + j;
			int64_t len = nd->x.dims[nd->axis + j];
			int32_t i;
			if (!dnnq_xfmr_index(dnnq_xfmr_index_at(src, f32, dnnq_nd_at(&nd->ix, e)), len,
			                     &i))
				return (ptrdiff_t)e;
			f = f * (size_t)len + (size_t)i;
		}
		nd->at[t] = t / nd->per_group * nd->span + f * nd->slice;
	}
	return -1;
}
