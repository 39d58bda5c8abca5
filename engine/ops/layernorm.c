/*
 * LayerNormalization, fp32 (file code 47): over the dims from axis on (the
 * graph's layout: a suffix of the dims), y = (x - mean) / sqrt(var + eps)
 * * scale + bias, eps = params[0], scale the node's weight and bias its
 * bias (f32 tensors of the normalized size; bias optional), as ONNX's
 * LayerNormalization (opset 17) with stash_type float. The importer also
 * fuses torch's decomposition into it (onnx/fuse-norm.c). Weight -1: a
 * unit scale and no bias, the normalization alone (InstanceNormalization's
 * first step: a GroupNorm of one group normalizes C x L values, whose unit
 * scale would fill the file).
 *
 * Rows of the normalized size: the mean and the variance summed in eight
 * lanes then a fixed tree, by the scalar kernel (the oracle) and the AVX2
 * one alike, so both give the same bits.
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define BERR(rc, ...) dnnq_op_build_err(b, diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

typedef void (*ln_row_fn)(const float *x, float *y, size_t d, float eps, const float *w,
                          const float *bias);

struct layernorm {
	ln_row_fn row;
	float eps;
	float *w, *b;                  /* copies: d each (either may be NULL: 1, 0) */
	size_t d, rows, per_task;
	const void *x;
	void *y;
};

static float tree8(float *s)
{
	return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

/* sum of x (mean given: of (x - mean)^2) in eight lanes, then tree8 */
static float lanes_scalar(const float *x, size_t d, size_t i0, float *s, bool sq, float mean)
{
	for (size_t i = i0; i < d; i++) {
		float v = sq ? (x[i] - mean) * (x[i] - mean) : x[i];
		s[i % 8] += v;
	}
	return tree8(s);
}

static void finish_scalar(const float *x, float *y, size_t i0, size_t d, float mean,
                          float inv, const float *w, const float *bias)
{
	for (size_t i = i0; i < d; i++) {
		float v = (x[i] - mean) * inv * (w ? w[i] : 1.0f);
		y[i] = bias ? v + bias[i] : v;
	}
}

static void row_scalar(const float *x, float *y, size_t d, float eps, const float *w,
                       const float *bias)
{
	float s[8] = { 0 }, q[8] = { 0 };
	float mean = lanes_scalar(x, d, 0, s, false, 0) / (float)d;
	float var = lanes_scalar(x, d, 0, q, true, mean) / (float)d;
	finish_scalar(x, y, 0, d, mean, 1.0f / sqrtf(var + eps), w, bias);
}

__attribute__((target("avx2")))
static void row_avx2(const float *x, float *y, size_t d, float eps, const float *w,
                     const float *bias)
{
	__m256 acc = _mm256_setzero_ps();
	size_t i = 0, n8 = d / 8 * 8;
	for (; i < n8; i += 8)
		acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + i));
	float s[8], q[8];
	_mm256_storeu_ps(s, acc);
	float mean = lanes_scalar(x, d, n8, s, false, 0) / (float)d;
	__m256 vm = _mm256_set1_ps(mean);
	acc = _mm256_setzero_ps();
	for (i = 0; i < n8; i += 8) {
		__m256 c = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
		acc = _mm256_add_ps(acc, _mm256_mul_ps(c, c));
	}
	_mm256_storeu_ps(q, acc);
	float var = lanes_scalar(x, d, n8, q, true, mean) / (float)d;
	float inv = 1.0f / sqrtf(var + eps);
	__m256 vi = _mm256_set1_ps(inv);
	for (i = 0; i < n8; i += 8) {
		__m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi);
		if (w)
			v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
		_mm256_storeu_ps(y + i, bias ? _mm256_add_ps(v, _mm256_loadu_ps(bias + i)) : v);
	}
	finish_scalar(x, y, n8, d, mean, inv, w, bias);
}

static int layernorm_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                           struct dnnq_diag *diag)
{
	struct layernorm *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	size_t d = 1;
	out->ndim = x->ndim;
	for (uint32_t i = 0; i < x->ndim; i++) {
		out->dims[i] = x->dims[i];
		if (i >= n->desc.op.xfmr.axis)
			d *= (size_t)x->dims[i];
	}
	if (!op->w)
		op->d = d;       /* a unit scale: any size */
	if (d != op->d)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu elements from axis %u of input '%s', the "
		            "scale has %zu", n->name, d, n->desc.op.xfmr.axis, x->name, op->d);
	op->rows = d ? gnumel(x) / d : 0;
	op->per_task = dnnq_xfmr_rows_per_task(d, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int layernorm_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                            struct dnnq_diag *diag)
{
	bool fp32;
	const struct dnnq_xfmr_desc *xd = &n->desc.op.xfmr;
	const struct gtensor *x = gin(g, n, 0);
	int rc = dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc || (rc = dnnq_xfmr_out(n, out, x, fp32, false, diag)))
		return rc;
	if (!fp32)
		return FAIL(DNNQ_E_UNSUPPORTED, "node '%s': int8: LayerNormalization runs in fp32",
		            n->name);
	if (xd->axis < 1 || xd->axis >= x->ndim || !(xd->params[0] >= 0))
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u of input '%s' (rank %u), epsilon %g: "
		            "want axis 1..rank-1, epsilon >= 0", n->name, xd->axis, x->name, x->ndim,
		            xd->params[0]);
	struct layernorm *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->d = xd->wn;
	op->eps = xd->params[0];
	op->row = dnnq_xfmr_isa(n) == DNNQ_ISA_SCALAR ? row_scalar : row_avx2;
	op->w = xd->w ? malloc((op->d ? op->d : 1) * sizeof *op->w) : NULL;
	op->b = xd->b ? malloc((op->d ? op->d : 1) * sizeof *op->b) : NULL;
	if ((xd->w && !op->w) || (xd->b && !op->b))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	if (op->w)
		memcpy(op->w, xd->w, op->d * sizeof *op->w);
	if (op->b)
		memcpy(op->b, xd->b, op->d * sizeof *op->b);
	return layernorm_infer(g, n, out, diag);
}

static void layernorm_task(void *arg, size_t t, unsigned tid)
{
	const struct layernorm *op = arg;
	size_t r1 = (t + 1) * op->per_task < op->rows ? (t + 1) * op->per_task : op->rows;
	(void)tid;
	for (size_t r = t * op->per_task; r < r1; r++)
		op->row((const float *)op->x + r * op->d, (float *)op->y + r * op->d, op->d, op->eps,
		        op->w, op->b);
}

static int layernorm_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct layernorm *op = n->op;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	return DNNQ_OK;
}

static int layernorm_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct layernorm *op = n->op;
	return dnnq_xfmr_run(ex, op->y, op->rows, op->per_task, layernorm_task, op);
}

static void layernorm_destroy(struct gnode *n)
{
	struct layernorm *op = n->op;
	if (op) {
		free(op->w);
		free(op->b);
	}
	free(op);
}

/* In double, straight from the definition. */
static int layernorm_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                         float *out)
{
	const struct layernorm *op = n->op;
	(void)g;
	for (size_t r = 0; r < op->rows; r++) {
		const float *x = in[0] + r * op->d;
		double m = 0, v = 0;
		for (size_t i = 0; i < op->d; i++)
			m += x[i];
		m /= (double)op->d;
		for (size_t i = 0; i < op->d; i++)
			v += (x[i] - m) * (x[i] - m);
		double inv = 1.0 / sqrt(v / (double)op->d + op->eps);
		for (size_t i = 0; i < op->d; i++)
			out[r * op->d + i] = (float)((x[i] - m) * inv * (op->w ? op->w[i] : 1) +
			                             (op->b ? op->b[i] : 0));
	}
	return DNNQ_OK;
}

static const struct node_ops layernorm_ops = { layernorm_create, layernorm_infer,
                                               layernorm_setup, layernorm_run,
                                               layernorm_destroy, layernorm_ref, false, false };

/* The generic attributes, then the scale and bias: the scale's element
 * count is the normalized size (wn, for create to check); no scale (weight
 * -1), no bias either. */
static int layernorm_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                           struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	int rc = dnnq_xfmr_build(b, d, diag);
	if (rc)
		return rc;
	if (n->weight == -1 && n->bias == -1)
		return DNNQ_OK;
	if (n->weight < 0 || (size_t)n->weight >= b->m->ntensors)
		return BERR(DNNQ_E_FORMAT, "weight %d: no such tensor (the scale; -1, a unit scale, "
		            "takes no bias)", n->weight);
	size_t numel = dnnq_qtensor_numel(&b->m->tensors[n->weight].t);
	if (numel > (size_t)1 << 24)
		return BERR(DNNQ_E_SHAPE, "weight %d: %zu values: at most 2^24", n->weight, numel);
	if ((rc = dnnq_op_weights_f32(b, numel, numel, &d->op.xfmr.w, &d->op.xfmr.b, diag)))
		return rc;
	d->op.xfmr.wn = numel;
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_layernorm = {
	.kind = 47, .name = "layernorm", .onnx = "LayerNormalization", .min_inputs = 1,
	.max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_WEIGHT) | DNNQ_A(DNNQ_A_BIAS) | DNNQ_A(DNNQ_A_AXIS) |
	         DNNQ_A(DNNQ_A_PARAMS) | DNNQ_A(DNNQ_A_PRECISION),
	.build = layernorm_build, .ops_f32 = &layernorm_ops,
};
