/*
 * Transpose: y = x with its dims permuted, ONNX's Transpose (file code 40).
 *
 * ndim and dims hold the permutation in the graph's layout (the lowering
 * composes ONNX's perm with NHWC for 4-D tensors): output dim i is input
 * dim dims[i]; dims[0] = 0 (the batch stays first). int8 nodes move u8
 * bytes and keep the input's parameters; fp32 nodes move f32 values (or
 * int32 ones, a graph input's ids copied to a graph output). The
 * walk goes over output rows (the innermost output dim), each a memcpy
 * when the input is contiguous along it, a strided gather otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct transpose {
	size_t esz;                    /* 1 (u8) or 4 (f32, s32) */
	/* set by infer: the output's dims, coalesced (nd; the last one the row),
	 * with the input's element stride along each */
	uint32_t nd;
	size_t dims[DNNQ_MAX_DIMS], st[DNNQ_MAX_DIMS];
	size_t rows, per_task;
	const void *x;
	void *y;
};

/* dims a permutation of 0..ndim-1 with dims[0] = 0, ndim the input's rank. */
static int perm_check(const struct gnode *n, const struct gtensor *x, struct dnnq_diag *diag)
{
	const struct dnnq_xfmr_desc *d = &n->desc.op.xfmr;
	bool seen[DNNQ_MAX_DIMS] = { false };
	if (d->ndim != x->ndim)
		return FAIL(DNNQ_E_SHAPE, "node '%s': a permutation of %u dims for input '%s' of rank "
		            "%u", n->name, d->ndim, x->name, x->ndim);
	for (uint32_t i = 0; i < d->ndim; i++) {
		if (d->dims[i] < 0 || d->dims[i] >= d->ndim || seen[d->dims[i]])
			return FAIL(DNNQ_E_SHAPE, "node '%s': dims[%u] = %lld: not a permutation of "
			            "0..%u", n->name, i, (long long)d->dims[i], d->ndim - 1);
		seen[d->dims[i]] = true;
	}
	if (d->ndim && d->dims[0] != 0)
		return FAIL(DNNQ_E_SHAPE, "node '%s': dims[0] = %lld: the batch (dim 0) stays first",
		            n->name, (long long)d->dims[0]);
	return DNNQ_OK;
}

static int transpose_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                           struct dnnq_diag *diag)
{
	struct transpose *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	const int64_t *perm = n->desc.op.xfmr.dims;
	size_t xs[DNNQ_MAX_DIMS];
	(void)diag;
	dnnq_xfmr_strides(x, xs);
	out->ndim = x->ndim;
	uint32_t nd = 0;
	for (uint32_t i = 0; i < x->ndim; i++) {
		size_t d = (size_t)x->dims[perm[i]], s = xs[perm[i]];
		out->dims[i] = (int64_t)d;
		if (d == 1)
			continue;
		if (nd && op->st[nd - 1] == s * d) {      /* contiguous with the previous dim */
			op->dims[nd - 1] *= d;
			op->st[nd - 1] = s;
			continue;
		}
		op->dims[nd] = d;
		op->st[nd++] = s;
	}
	if (!nd) {
		op->dims[0] = 1;
		op->st[0] = 1;
		nd = 1;
	}
	op->nd = nd;
	size_t len = op->dims[nd - 1];
	op->rows = len ? gnumel(out) / len : 0;
	op->per_task = dnnq_xfmr_rows_per_task(len, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int transpose_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                            struct dnnq_diag *diag)
{
	bool fp32 = false;
	const struct gtensor *x = gin(g, n, 0);
	/* int32 activations (ids a graph output copies) move as they are in
	 * an fp32 node, 4 bytes an element */
	bool s32 = x->dtype == DNNQ_DTYPE_S32 && !x->const_data &&
	           n->desc.precision == DNNQ_PRECISION_FP32;
	int rc = s32 ? DNNQ_OK : dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc || (rc = perm_check(n, x, diag)) ||
	    (!s32 && (rc = dnnq_xfmr_out(n, out, x, fp32, true, diag))))
		return rc;
	if (s32) {
		out->dtype = DNNQ_DTYPE_S32;
		out->qp = (struct dnnq_qparams){ 0 };
	}
	struct transpose *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->esz = fp32 || s32 ? 4 : 1;
	return transpose_infer(g, n, out, diag);
}

/* One output row: len elements, the input's stride s apart. */
static inline void gather(uint8_t *y, const uint8_t *x, size_t len, size_t s, size_t esz)
{
	if (s == 1) {
		memcpy(y, x, len * esz);
		return;
	}
	for (size_t i = 0; i < len; i++)
		memcpy(y + i * esz, x + i * s * esz, esz);
}

static void rows(const struct transpose *op, const uint8_t *x, uint8_t *y, size_t r0,
                 size_t r1)
{
	size_t len = op->dims[op->nd - 1], s = op->st[op->nd - 1];
	for (size_t r = r0; r < r1; r++) {
		size_t off = 0, q = r;
		for (uint32_t i = op->nd - 1; i-- > 0;) {
			off += q % op->dims[i] * op->st[i];
			q /= op->dims[i];
		}
		if (op->esz == 1)
			gather(y + r * len, x + off, len, s, 1);
		else
			gather(y + r * len * 4, x + off * 4, len, s, 4);
	}
}

static void transpose_task(void *arg, size_t t, unsigned tid)
{
	const struct transpose *op = arg;
	size_t r0 = t * op->per_task, r1 = r0 + op->per_task;
	(void)tid;
	rows(op, op->x, op->y, r0, r1 < op->rows ? r1 : op->rows);
}

static int transpose_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct transpose *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	return DNNQ_OK;
}

static int transpose_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct transpose *op = n->op;
	return dnnq_xfmr_run(ex, op->y, op->rows, op->per_task, transpose_task, op);
}

static int transpose_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                         float *out)
{
	struct transpose f = *(const struct transpose *)n->op;
	(void)g;
	f.esz = sizeof(float);
	rows(&f, (const uint8_t *)in[0], (uint8_t *)out, 0, f.rows);
	return DNNQ_OK;
}

static const struct node_ops transpose_ops = { transpose_create, transpose_infer,
                                               transpose_setup, transpose_run,
                                               NULL, transpose_ref, false, false };

const struct dnnq_op_def dnnq_op_transpose = {
	.kind = 40, .name = "transpose", .onnx = "Transpose", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS) | DNNQ_A(DNNQ_A_PRECISION),
	.build = dnnq_xfmr_build, .ops = &transpose_ops, .ops_f32 = &transpose_ops,
};
