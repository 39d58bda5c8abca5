/*
 * onnx/lower-wcache.c — int8 weights kept across lowerings of one IR
 * (onnx/lower.h dnnq_lower_wcache). --precision auto lowers the model
 * once per trial, each trial changing one unit's precision: without the
 * cache every Conv and Gemm copies, folds, transposes and quantizes its
 * float weights again each time, more than the trial's engine run on
 * ResNet-18. A node's fp32 weights (folded and transposed the same way)
 * are kept beside its int8 ones: the SQNR floor's trials lower models
 * that are fp32 but for one unit, where copying, folding and transposing
 * every float weight again was most of a trial (efficientnet_v2_s). An
 * entry is exact: the same IR node, precision and key give the same
 * bytes, which same_prefix (onnx/trials.c) also checks.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/lower-internal.h"

struct dnnq_lower_wcache {
	size_t n;
	struct entry {
		bool set;
		struct wkey key;
		struct dnnq_qtensor t;
	} *e;                         /* 2 per IR node: int8, fp32 */
};

int dnnq_lower_wcache_create(size_t nnodes, struct dnnq_lower_wcache **out)
{
	struct dnnq_lower_wcache *c = calloc(1, sizeof *c);
	if (c && (nnodes > SIZE_MAX / 2 / sizeof *c->e ||
	          !(c->e = calloc(nnodes ? 2 * nnodes : 1, sizeof *c->e)))) {
		free(c);
		c = NULL;
	}
	if (!c)
		return DNNQ_E_NOMEM;
	c->n = nnodes;
	*out = c;
	return DNNQ_OK;
}

void dnnq_lower_wcache_destroy(struct dnnq_lower_wcache *c)
{
	if (!c)
		return;
	for (size_t j = 0; j < 2 * c->n; j++)
		if (c->e[j].set)
			dnnq_qtensor_free(&c->e[j].t);
	free(c->e);
	free(c);
}

void dnnq_lower_wcache_drop_fp32(struct dnnq_lower_wcache *c, size_t j)
{
	struct entry *e = c && j < c->n ? &c->e[2 * j + 1] : NULL;
	if (e && e->set)
		dnnq_qtensor_free(&e->t);
	if (e)
		e->set = false;
}

static bool same_key(const struct wkey *a, const struct wkey *b)
{
	return a->bn == b->bn && a->perm == b->perm && a->per_channel == b->per_channel &&
	       a->symmetric == b->symmetric && a->pc == b->pc && a->ph == b->ph &&
	       a->pw == b->pw && a->model == b->model;
}

/* IR node j's entry for L's precision, or NULL (no cache, no such node). */
static struct entry *slot(const struct lower *L, size_t j)
{
	struct dnnq_lower_wcache *c = L->o->wcache;
	return c && j < c->n ? &c->e[2 * j + L->fp32] : NULL;
}

const struct dnnq_qtensor *wcache_find(const struct lower *L, size_t j, const struct wkey *k)
{
	const struct entry *e = slot(L, j);
	return e && e->set && same_key(&e->key, k) ? &e->t : NULL;
}

/* dst (initialized, empty) = a copy of src. */
static int copy_qtensor(struct dnnq_qtensor *dst, const struct dnnq_qtensor *src)
{
	int rc = dnnq_qtensor_set_type(dst, src->dtype, src->precision, src->is_signed);
	if (!rc)
		rc = dnnq_qtensor_resize(dst, src->ndim, src->dims);
	if (!rc && src->nqparams && src->qaxis >= 0)
		rc = dnnq_qtensor_set_qparams_axis(dst, (uint32_t)src->qaxis, src->nqparams,
		                                   src->scales, src->zero_points);
	else if (!rc && src->nqparams)
		rc = dnnq_qtensor_set_qparams(dst, &(struct dnnq_qparams){
			src->scales[0], src->zero_points[0], src->precision, src->is_signed });
	if (!rc)
		memcpy(dst->data, src->data, dnnq_qtensor_nbytes(src));
	return rc;
}

int wcache_put(struct lower *L, size_t j, const struct wkey *k, int id)
{
	struct entry *e = slot(L, j);
	if (!e || id < 0)
		return DNNQ_OK;
	if (e->set)
		dnnq_qtensor_free(&e->t);
	dnnq_qtensor_init(&e->t);
	e->key = *k;
	int rc = copy_qtensor(&e->t, &L->m->tensors[id].t);
	e->set = !rc;
	if (rc) {
		dnnq_qtensor_free(&e->t);
		return dnnq_diag_set(L->diag, rc, "lower: weights cache: out of memory");
	}
	return DNNQ_OK;
}

int add_tensor_copy(struct lower *L, const char *name, const struct dnnq_qtensor *t)
{
	struct dnnq_qtensor *d;
	int id = add_tensor(L, name, &d);
	if (id < 0)
		return id;
	int rc = copy_qtensor(d, t);
	if (rc)
		return dnnq_diag_set(L->diag, rc, "lower: tensor '%s': cannot allocate", name);
	return id;
}
