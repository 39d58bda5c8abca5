/*
 * MaxPool's indices (file code 114): ONNX's second output of MaxPool, the
 * position of each window's maximum in the input flattened in ONNX's
 * order, [N, C, H, W]: ((n * C + c) * H + h) * W + w, or with op
 * DNNQ_POOL_INDICES_COLUMNS (ONNX's storage_order 1) (n * C + c) * H * W +
 * w * H + h; the batch and the channel counted in, as ONNX Runtime gives
 * them (torch's export subtracts the offsets of a second MaxPool's, kernel
 * 1). Input 0 the NHWC image the MaxPool node reads (u8 or f32), the
 * geometry its (pool, ceil_mode); the output s32 [N, Ho, Wo, C] (the
 * engine's NHWC, where ONNX has int64: docs/onnx.md). The maximum is the
 * window's first tap in row-major order, then a later larger value (a
 * later equal value does not replace it; nor does a NaN, and a NaN or
 * -inf first stays), as ONNX Runtime (onnxruntime-node 1.31.1: a window
 * of all -inf or NaN has its first tap, where this said h = w = -1, an
 * index outside the item at channel 0: review fix56); u8 compares the
 * codes, which order as the values they stand for. A window with no tap
 * in the image (only dilation makes one) gives h = w = -1 in the formula.
 * A 1-D MaxPool's [N, C, L] runs as the image [N, C, L, 1] (H = C, one
 * channel): the formula gives (n * C + c) * L + l, ONNX's 1-D index,
 * whatever the order.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

struct pool_indices {
	bool fp32, columns;
	struct dnnq_pooling_geom g;
	size_t n, h, w, c, oh, ow, per_task;   /* per_task: output rows (n, oh) */
	const void *x;
	int32_t *y;
};

static int pi_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->op & ~DNNQ_POOL_INDICES_COLUMNS) {
		snprintf(why, cap, "op %u: want 0 (storage_order 0) or 1 (storage_order 1)", n->op);
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

static int pi_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.pool_indices.geom = dnnq_model_pool_geom(n);
	d->op.pool_indices.op = n->op;
	return DNNQ_OK;
}

static int pi_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	struct pool_indices *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	op->n = (size_t)x->dims[0];
	op->h = (size_t)x->dims[1];
	op->w = (size_t)x->dims[2];
	op->c = (size_t)x->dims[3];
	int rc = dnnq_pooling_output_size(&op->g, op->h, op->w, &op->oh, &op->ow, diag);
	if (rc)
		return rc;
	/* every index of the batch an int32 */
	size_t per = op->h * op->w * op->c;
	if (per > (size_t)INT32_MAX || (op->n && (size_t)INT32_MAX / op->n < per))
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' of %zu x %zu elements: the indices "
		            "are int32 (at most 2^31 - 1 elements a batch)", n->name, x->name, op->n,
		            per);
	out->ndim = 4;
	out->dims[0] = x->dims[0];
	out->dims[1] = (int64_t)op->oh;
	out->dims[2] = (int64_t)op->ow;
	out->dims[3] = x->dims[3];
	op->per_task = dnnq_xfmr_rows_per_task(op->ow * op->c, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int pi_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	bool fp32;
	const struct gtensor *x = gin(g, n, 0);
	int rc = dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc)
		return rc;
	if (x->ndim != 4)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' has rank %u: want a 4-D image",
		            n->name, x->name, x->ndim);
	struct pool_indices *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->fp32 = fp32;
	op->g = n->desc.op.pool_indices.geom;
	op->columns = n->desc.op.pool_indices.op & DNNQ_POOL_INDICES_COLUMNS;
	out->dtype = DNNQ_DTYPE_S32;
	out->qp = (struct dnnq_qparams){ .scale = 1, .precision = 32, .is_signed = true };
	return pi_infer(g, n, out, diag);
}

static int pi_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct pool_indices *op = n->op;
	void *y;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, &op->x, &y);
	op->y = y;
	return DNNQ_OK;
}

/* Whether the element at e beats the best so far at b (b < 0: none): the
 * first tap, then a larger value (f32: a NaN is never larger, nor is
 * anything than a NaN) or code. */
static inline bool wins(const struct pool_indices *op, const void *x, size_t e, ptrdiff_t b)
{
	if (b < 0)
		return true;
	if (op->fp32)
		return ((const float *)x)[e] > ((const float *)x)[b];
	return ((const uint8_t *)x)[e] > ((const uint8_t *)x)[b];
}

/* Output rows [r0, r1) (a row: one n and oh, every ow and c) into y, or
 * (y NULL) as floats into yf. */
static void rows(const struct pool_indices *op, const void *x, int32_t *y, float *yf, size_t r0,
                 size_t r1)
{
	const struct dnnq_pooling_geom *g = &op->g;
	int64_t H = (int64_t)op->h, W = (int64_t)op->w, C = (int64_t)op->c;
	for (size_t r = r0; r < r1; r++) {
		int64_t n = (int64_t)(r / op->oh), oh = (int64_t)(r % op->oh);
		int64_t hs = oh * g->stride_h - g->pad_top;
		for (int64_t ow = 0; ow < (int64_t)op->ow; ow++) {
			int64_t ws = ow * g->stride_w - g->pad_left;
			for (int64_t c = 0; c < C; c++) {
				ptrdiff_t best = -1;
				int64_t bh = -1, bw = -1;
				for (int64_t i = 0; i < g->kernel_h; i++) {
					int64_t ih = hs + i * g->dilation_h;
					if (ih < 0 || ih >= H)
						continue;
					for (int64_t j = 0; j < g->kernel_w; j++) {
						int64_t iw = ws + j * g->dilation_w;
						if (iw < 0 || iw >= W)
							continue;
						size_t e = (size_t)(((n * H + ih) * W + iw) * C + c);
						if (wins(op, x, e, best)) {
							best = (ptrdiff_t)e;
							bh = ih;
							bw = iw;
						}
					}
				}
				int32_t i = (int32_t)((n * C + c) * H * W +
				                      (op->columns ? bw * H + bh : bh * W + bw));
				size_t at = (r * op->ow + (size_t)ow) * op->c + (size_t)c;
				if (y)
					y[at] = i;
				else
					yf[at] = (float)i;
			}
		}
	}
}

static void pi_task(void *arg, size_t t, unsigned tid)
{
	const struct pool_indices *op = arg;
	size_t nr = op->n * op->oh, r0 = t * op->per_task, r1 = r0 + op->per_task;
	(void)tid;
	rows(op, op->x, op->y, NULL, r0, r1 < nr ? r1 : nr);
}

static int pi_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct pool_indices *op = n->op;
	return dnnq_xfmr_run(ex, op->y, op->n * op->oh, op->per_task, pi_task, op);
}

/* On real values: the same scan over f32; the indices as floats (the
 * shadow run reads an s32 tensor as its integers). */
static int pi_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct pool_indices op = *(const struct pool_indices *)n->op;
	(void)g;
	op.fp32 = true;
	rows(&op, in[0], NULL, out, 0, op.n * op.oh);
	return DNNQ_OK;
}

/* The indices count the items before their own (n * C * H * W + ...): a
 * request's would change with its place in a batch, unless only MaxUnpools
 * that take them back to the item's own part read them */
static const char *pi_couples(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct gtensor *y = &g->t[n->out];
	return y->output_idx < 0 && y->reads == y->unpooled
	               ? NULL
	               : "gives indices that count the batch items before their own (n * C * H * W"
	                 " + ...) to a graph output or a reader other than a MaxUnpool of the"
	                 " item's size";
}

static const struct node_ops pi_ops = { pi_create, pi_infer, pi_setup, pi_run, NULL,
                                        pi_ref, false, true };

const struct dnnq_op_def dnnq_op_maxpool_indices = {
	.kind = 114, .name = "maxpool_indices", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_POOL) | DNNQ_A(DNNQ_A_CEIL_MODE) | DNNQ_A(DNNQ_A_OP) |
	         DNNQ_A(DNNQ_A_PRECISION),
	.check = pi_check, .build = pi_build, .ops = &pi_ops, .ops_f32 = &pi_ops,
	.couples_items = pi_couples,
};
