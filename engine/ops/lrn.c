/*
 * LRN (LocalResponseNormalization), fp32 (file code 89): along the axis
 * (the channels; the graph's layout, so a 4-D image's innermost dim),
 * y = x * (bias + alpha / size * s)^-beta, s the sum of x^2 over the
 * channels c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2) that
 * exist, as ONNX's LRN: params[0] alpha, params[1] beta, params[2] bias,
 * k the size (1..65536; an even size takes the longer half after c, as
 * the spec's formula says), axis 1..rank-1.
 *
 * A native kernel, not an import-time decomposition: a channel window is
 * size multiply-adds an element in place, where the decomposition's
 * window sum is a 1x1 convolution by a banded C x C matrix (C times the
 * work: AlexNet's 96 and 256 channels) and its Pow and Div are two more
 * passes. No int8 form: the power of a sum of squares would need a table
 * of two inputs; between quantized neighbours the lowering runs it fp32
 * (onnx/lower.c fp32_only), as Log and LayerNormalization.
 *
 * Each window sum adds the squares in channel order from 0, the terms
 * outside the tensor left out, and the power is engine/unary.h's Pow
 * (dnnq_pow1 / dnnq_pow8, the same bits): the AVX2 kernel (eight channels
 * a vector when they are contiguous, eight positions of the inner dims
 * otherwise; the edges the scalar code) gives the scalar kernel's bits.
 */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unary.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u
#define MAX_SIZE 65536u

struct lrn;
typedef void (*lrn_block_fn)(const struct lrn *op, const float *x, float *y);

struct lrn {
	lrn_block_fn block;
	float alpha_n, nbeta, bias;    /* alpha / size, -beta, bias */
	bool b075;                     /* beta 0.75: x / (r sqrt r), r = sqrt(scale) */
	size_t lo, hi;                 /* the window: c - lo .. c + hi, each at most C - 1 */
	size_t outer, C, inner, per_task;
	const void *x;
	void *y;
	float *pad;                    /* AVX2, inner 1: per thread, C + size - 1 squares */
	unsigned npad;
};

static int lrn_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->axis == 0) {
		snprintf(why, cap, "axis 0: the batch (want 1..rank-1)");
		return DNNQ_E_FORMAT;
	}
	if (n->k < 1 || n->k > MAX_SIZE) {
		snprintf(why, cap, "k (size) %u: want 1..%u", n->k, MAX_SIZE);
		return DNNQ_E_FORMAT;
	}
	for (int i = 0; i < 3; i++)
		if (!isfinite(n->params[i])) {
			snprintf(why, cap, "params[%d] (%s) = %g: must be finite", i,
			         (const char *[]){ "alpha", "beta", "bias" }[i], n->params[i]);
			return DNNQ_E_FORMAT;
		}
	return DNNQ_OK;
}

/* x scaled by the window's sum of squares s. */
static inline float scaled1(const struct lrn *op, float x, float s)
{
	float sc = op->bias + op->alpha_n * s;
	if (!op->b075)
		return x * dnnq_pow1(sc, op->nbeta);
	float r = sqrtf(sc);
	return x / (r * sqrtf(r));
}

/* Element (c, i) of a block of C x inner: the squares of the window's
 * channels summed in order, then the power. */
static inline float lrn1(const struct lrn *op, const float *x, size_t c, size_t i)
{
	size_t k0 = c >= op->lo ? c - op->lo : 0, k1 = c + op->hi < op->C ? c + op->hi : op->C - 1;
	float s = 0.0f;
	for (size_t k = k0; k <= k1; k++) {
		float v = x[k * op->inner + i];
		s += v * v;
	}
	return scaled1(op, x[c * op->inner + i], s);
}

static void block_scalar(const struct lrn *op, const float *x, float *y)
{
	for (size_t c = 0; c < op->C; c++)
		for (size_t i = 0; i < op->inner; i++)
			y[c * op->inner + i] = lrn1(op, x, c, i);
}

/* scaled1 eight at a time: the same operations in the same order. */
__attribute__((target("avx2")))
static inline __m256 scaled8(const struct lrn *op, __m256 x, __m256 s)
{
	__m256 sc = _mm256_add_ps(_mm256_set1_ps(op->bias),
	                          _mm256_mul_ps(_mm256_set1_ps(op->alpha_n), s));
	if (!op->b075)
		return _mm256_mul_ps(x, dnnq_pow8(sc, _mm256_set1_ps(op->nbeta)));
	__m256 r = _mm256_sqrt_ps(sc);
	return _mm256_div_ps(x, _mm256_mul_ps(r, _mm256_sqrt_ps(r)));
}

/* Eight window sums of n terms whose first ones are at p, the next ones
 * step floats on; squared first when sq. */
__attribute__((target("avx2")))
static inline __m256 sum8(const float *p, size_t step, size_t n, bool sq)
{
	__m256 s = _mm256_setzero_ps();
	for (size_t k = 0; k < n; k++) {
		__m256 v = _mm256_loadu_ps(p + k * step);
		s = _mm256_add_ps(s, sq ? _mm256_mul_ps(v, v) : v);
	}
	return s;
}

/* Contiguous channels (inner 1): their squares into pad between lo zeros
 * and hi zeros, so every window is n loads (a zero added changes no sum:
 * the scalar kernel's bits), eight channels a vector. */
__attribute__((target("avx2")))
static void channels_avx2(const struct lrn *op, const float *x, float *y, float *pad)
{
	size_t C = op->C, n = op->lo + op->hi + 1, c = 0;
	memset(pad, 0, op->lo * sizeof *pad);
	memset(pad + op->lo + C, 0, op->hi * sizeof *pad);
	for (; c + 8 <= C; c += 8) {
		__m256 v = _mm256_loadu_ps(x + c);
		_mm256_storeu_ps(pad + op->lo + c, _mm256_mul_ps(v, v));
	}
	for (; c < C; c++)
		pad[op->lo + c] = x[c] * x[c];
	for (c = 0; c + 8 <= C; c += 8)
		_mm256_storeu_ps(y + c, scaled8(op, _mm256_loadu_ps(x + c), sum8(pad + c, 1, n, false)));
	for (; c < C; c++) {
		float s = 0.0f;
		for (size_t k = 0; k < n; k++)
			s += pad[c + k];
		y[c] = scaled1(op, x[c], s);
	}
}

/* Channels inner floats apart: eight inner positions a vector. */
__attribute__((target("avx2")))
static void block_avx2(const struct lrn *op, const float *x, float *y)
{
	size_t C = op->C, I = op->inner;
	for (size_t c = 0; c < C; c++) {
		size_t k0 = c >= op->lo ? c - op->lo : 0, k1 = c + op->hi < C ? c + op->hi : C - 1;
		size_t i = 0;
		for (; i + 8 <= I; i += 8)
			_mm256_storeu_ps(y + c * I + i, scaled8(op, _mm256_loadu_ps(x + c * I + i),
			                                        sum8(x + k0 * I + i, I, k1 - k0 + 1, true)));
		for (; i < I; i++)
			y[c * I + i] = lrn1(op, x, c, i);
	}
}

static int lrn_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	struct lrn *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	uint32_t axis = n->desc.op.xfmr.axis;
	(void)diag;
	out->ndim = x->ndim;
	op->outer = op->inner = 1;
	for (uint32_t i = 0; i < x->ndim; i++) {
		out->dims[i] = x->dims[i];
		if (i < axis)
			op->outer *= (size_t)x->dims[i];
		else if (i > axis)
			op->inner *= (size_t)x->dims[i];
	}
	op->C = (size_t)x->dims[axis];
	/* no further than the last channel: AVX2's padded row of squares is
	 * lo + C + hi, each window lo + hi + 1 loads of it (a size of 65536
	 * over 3 channels was 65536 zeros added an element) */
	uint32_t k = n->desc.op.xfmr.k;
	op->lo = (k - 1) / 2 < op->C ? (k - 1) / 2 : op->C - 1;
	op->hi = k / 2 < op->C ? k / 2 : op->C - 1;
	op->per_task = dnnq_xfmr_rows_per_task(op->C * op->inner, ELEMS_PER_TASK);
	return DNNQ_OK;
}

static int lrn_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	bool fp32;                     /* always: the graph has no int8 adapter to call */
	const struct dnnq_xfmr_desc *xd = &n->desc.op.xfmr;
	const struct gtensor *x = gin(g, n, 0);
	int rc = dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc || (rc = dnnq_xfmr_out(n, out, x, fp32, false, diag)))
		return rc;
	if (xd->axis < 1 || xd->axis >= x->ndim || xd->k < 1 || xd->k > MAX_SIZE)
		return FAIL(DNNQ_E_SHAPE, "node '%s': axis %u of input '%s' (rank %u), size %u: want "
		            "axis 1..rank-1, size 1..%u", n->name, xd->axis, x->name, x->ndim, xd->k,
		            MAX_SIZE);
	for (int i = 0; i < 3; i++)
		if (!isfinite(xd->params[i]))
			return FAIL(DNNQ_E_RANGE, "node '%s': params[%d] = %g: must be finite", n->name,
			            i, xd->params[i]);
	struct lrn *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->block = dnnq_xfmr_isa(n) == DNNQ_ISA_SCALAR ? block_scalar : block_avx2;
	op->b075 = xd->params[1] == 0.75f;
	op->alpha_n = xd->params[0] / (float)xd->k;
	op->nbeta = -xd->params[1];
	op->bias = xd->params[2];
	return lrn_infer(g, n, out, diag);
}

static void lrn_task(void *arg, size_t t, unsigned tid)
{
	const struct lrn *op = arg;
	size_t len = op->C * op->inner, npad = op->C + op->lo + op->hi;
	size_t r1 = (t + 1) * op->per_task < op->outer ? (t + 1) * op->per_task : op->outer;
	for (size_t r = t * op->per_task; r < r1; r++) {
		const float *x = (const float *)op->x + r * len;
		float *y = (float *)op->y + r * len;
		if (op->pad)
			channels_avx2(op, x, y, op->pad + (size_t)tid * npad);
		else
			op->block(op, x, y);
	}
}

/* AVX2 with contiguous channels: a padded row of squares per thread. */
static int lrn_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct lrn *op = n->op;
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	nthreads = nthreads ? nthreads : 1;
	if (op->block == block_scalar || op->inner != 1 || nthreads <= op->npad)
		return DNNQ_OK;
	float *p = realloc(op->pad, (size_t)nthreads * (op->C + op->lo + op->hi) * sizeof *p);
	if (!p)
		return DNNQ_E_NOMEM;
	op->pad = p;
	op->npad = nthreads;
	return DNNQ_OK;
}

static int lrn_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct lrn *op = n->op;
	return dnnq_xfmr_run(ex, op->y, op->outer, op->per_task, lrn_task, op);
}

static void lrn_destroy(struct gnode *n)
{
	struct lrn *op = n->op;
	if (op)
		free(op->pad);
	free(op);
}

/* In double, straight from ONNX's definition. */
static int lrn_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct lrn *op = n->op;
	const struct dnnq_xfmr_desc *xd = &n->desc.op.xfmr;
	(void)g;
	for (size_t o = 0; o < op->outer; o++)
		for (size_t c = 0; c < op->C; c++)
			for (size_t i = 0; i < op->inner; i++) {
				const float *x = in[0] + o * op->C * op->inner + i;
				double s = 0;
				for (size_t k = c >= op->lo ? c - op->lo : 0; k <= c + op->hi && k < op->C; k++)
					s += (double)x[k * op->inner] * x[k * op->inner];
				double sc = xd->params[2] + (double)xd->params[0] / xd->k * s;
				out[(o * op->C + c) * op->inner + i] =
					(float)(x[c * op->inner] * pow(sc, -(double)xd->params[1]));
			}
	return DNNQ_OK;
}

/* For the compute bounds (dnnq_graph_cost): a multiply-add for each
 * channel of each element's window (lo + hi + 1, each half at most C - 1:
 * a 65536-channel window over a few channels is no 65536 operations; the
 * AVX2 padded row adds up to 2C - 1 a window, the others at most C) and
 * POW_WORK for its power. */
#define POW_WORK 32u

static uint64_t lrn_work(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct lrn *op = n->op;
	uint64_t w;
	return __builtin_mul_overflow((uint64_t)gnumel(&g->t[n->out]), op->lo + op->hi + 1 + POW_WORK,
	                              &w)
	       ? UINT64_MAX : w;
}

static const struct node_ops lrn_ops = { lrn_create, lrn_infer, lrn_setup, lrn_run,
                                         lrn_destroy, lrn_ref, false, false };

const struct dnnq_op_def dnnq_op_lrn = {
	.kind = 89, .name = "lrn", .onnx = "LRN", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_K) | DNNQ_A(DNNQ_A_PARAMS) |
	         DNNQ_A(DNNQ_A_PRECISION),
	.check = lrn_check, .build = dnnq_xfmr_build, .ops_f32 = &lrn_ops, .work = lrn_work,
};
