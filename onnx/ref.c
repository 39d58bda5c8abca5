/*
 * onnx/ref.c — the reference executor (onnx/ir.h): the IR run node by node
 * in NCHW, straight from ONNX's definitions. It is what dnnq-convert's fp32
 * passes run (the calibration observer, the evaluation's reference), so
 * the heavy fp32 operators go through the engine's fp32 kernels:
 *   - Conv: per image and group, the group's weights times its im2col
 *     matrix (the input itself for 1x1, stride 1, no padding) through the
 *     engine's sgemm (dnnq_f32_gemm), straight into the NCHW output; a
 *     conv with one input channel per group (depthwise) has its own loop,
 *     a row of outputs per tap, which the compiler vectorizes
 *     (-ftree-vectorize for this file);
 *   - Gemm: one sgemm (transA: A copied transposed first);
 *   - Relu, LeakyRelu, Clip, and Add and Mul of two same-shape inputs: the
 *     engine's fp32 kernels, which compute exactly what the loops here do.
 * These accumulate in float (sgemm's blocked order): within 2e-7 relative
 * of a double-accumulated sum on the conformance cases, well inside the
 * 1e-5 they are held to against NumPy (docs/onnx.md, "The reference").
 * The other fp32 operators keep their plain loops (double where a sum is
 * long: pooling, softmax); they are a few percent of a CNN's time.
 *
 * With an executor (dnnq_ir_run_ex) the convolutions are split into one
 * task per (image, group), or per (image, output channel) for depthwise:
 * each output element is computed by the same code whatever the thread
 * count, so results never depend on it.
 *
 * Quantized operators are exact: integer accumulation, round half to even
 * (rintf in the default rounding mode), saturation. Where ONNX leaves a
 * corner open, this file chooses:
 *   - QuantizeLinear of NaN gives the lowest code;
 *   - DynamicQuantizeLinear of an all-zero tensor (range 0) uses scale 1 and
 *     zero point 0, as onnxruntime does, instead of dividing by zero.
 *
 * Each node's outputs are allocated before it runs and released after their
 * last reader (graph outputs are copied out at the end). A released buffer
 * is kept as a spare for the outputs of the nodes after it: glibc maps
 * every large malloc afresh, so without them a run paid a page fault and
 * a page of zeroing for every 4 KiB of every output (a fifth of a
 * ResNet-18 observer pass at batch 32), with them only for its largest
 * live set. An activation whose input dies at it writes over the input.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/f32.h"
#include "engine/grid-sample.h"
#include "engine/op.h"
#include "engine/unary.h"
#include "engine/remap.h"
#include "engine/resize.h"
#include "engine/topk.h"
#include "onnx/ir.h"

#define SPARES 8

struct spare {
	void *p;
	size_t bytes;
};

struct run {
	const struct dnnq_ir *ir;
	size_t batch;
	void **buf;
	struct spare spare[SPARES];     /* released buffers, p NULL when unused */
	const struct dnnq_executor *ex;
	enum dnnq_isa isa;
	float **scratch;                /* per thread: scratch_floats (im2col, transposes) */
};

/* A value's dims at this batch. */
static void adims(const struct run *r, int32_t id, int64_t *d)
{
	const struct dnnq_ir_value *v = &r->ir->values[id];
	for (uint32_t i = 0; i < v->ndim; i++)
		d[i] = i == 0 && v->batched ? (int64_t)r->batch : v->dims[i];
}

static size_t anumel(const struct run *r, int32_t id)
{
	return dnnq_ir_numel(&r->ir->values[id], r->batch);
}

/* A matrix product's A of rank >= 2 as rows x its last dim (MatMul
 * multiplies the last axis; the leading dims are rows). */
static void lead_rows(const struct run *r, int32_t id, int64_t d[2])
{
	const struct dnnq_ir_value *v = &r->ir->values[id];
	d[1] = v->dims[v->ndim - 1];
	d[0] = d[1] ? (int64_t)(anumel(r, id) / (size_t)d[1]) : 0;
	if (v->ndim == 2)
		adims(r, id, d);
}

#define IN(k) (r->buf[n->inputs[k]])
#define HAS(k) (n->ninputs > (uint32_t)(k) && n->inputs[k] >= 0)
#define OUT(k) (r->buf[n->outputs[k]])

/* Element i of a u8/s8/s32 value as int32. */
static int32_t geti(const struct dnnq_ir_value *v, const void *p, size_t i)
{
	switch (v->dtype) {
	case DNNQ_IR_U8: return ((const uint8_t *)p)[i];
	case DNNQ_IR_S8: return ((const int8_t *)p)[i];
	case DNNQ_IR_S32: return ((const int32_t *)p)[i];
	default: return 0;
	}
}

/* Element i, or element 0 when p holds one (a per-tensor parameter). */
static int32_t param_i(const struct run *r, const struct dnnq_ir_node *n, int k, size_t i)
{
	if (!HAS(k))
		return 0;
	const struct dnnq_ir_value *v = &r->ir->values[n->inputs[k]];
	return geti(v, IN(k), dnnq_ir_numel(v, 1) == 1 ? 0 : i);
}

static float param_f(const struct run *r, const struct dnnq_ir_node *n, int k, size_t i)
{
	const struct dnnq_ir_value *v = &r->ir->values[n->inputs[k]];
	return ((const float *)IN(k))[dnnq_ir_numel(v, 1) == 1 ? 0 : i];
}

static void put_q(enum dnnq_ir_dtype dt, void *p, size_t i, float v)
{
	float lo = dt == DNNQ_IR_U8 ? 0.0f : -128.0f, hi = dt == DNNQ_IR_U8 ? 255.0f : 127.0f;
	if (!(v >= lo))
		v = lo;
	if (v > hi)
		v = hi;
	if (dt == DNNQ_IR_U8)
		((uint8_t *)p)[i] = (uint8_t)v;
	else
		((int8_t *)p)[i] = (int8_t)v;
}

/* ---- convolution (fp32, QLinearConv, ConvInteger) ------------------------------ */

struct cgeom {
	int64_t N, C, H, W, M, Cg, KH, KW, OH, OW, G;
};

static struct cgeom cgeom(const struct run *r, const struct dnnq_ir_node *n, int xi, int wi)
{
	int64_t x[4], w[4], y[4];
	adims(r, n->inputs[xi], x);
	adims(r, n->inputs[wi], w);
	adims(r, n->outputs[0], y);
	return (struct cgeom){ x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3], y[2], y[3], n->group };
}

/* The (oh, ow) window's input offset for kernel tap (i, j); -1 if in the padding. */
static inline int64_t tap(const struct dnnq_ir_node *n, const struct cgeom *g, int64_t oh,
                          int64_t ow, int64_t i, int64_t j)
{
	int64_t ih = oh * n->strides[0] - n->pads[0] + i * n->dilations[0];
	int64_t iw = ow * n->strides[1] - n->pads[1] + j * n->dilations[1];
	return ih < 0 || ih >= g->H || iw < 0 || iw >= g->W ? -1 : ih * g->W + iw;
}

/* A 1x1 conv at stride 1 without padding reads its input as the im2col
 * matrix itself. */
static bool conv_direct(const struct dnnq_ir_node *n, const struct cgeom *g)
{
	return g->KH == 1 && g->KW == 1 && n->strides[0] == 1 && n->strides[1] == 1 &&
	       !n->pads[0] && !n->pads[1] && !n->pads[2] && !n->pads[3];
}

/* Floats of im2col matrix one fp32 Conv task needs (0: none; SIZE_MAX
 * past a size_t: the output's pixels times the weight's elements of an
 * output channel, each of which fits). */
static size_t conv_scratch(const struct run *r, const struct dnnq_ir_node *n)
{
	struct cgeom g = cgeom(r, n, 0, 1);
	size_t f;
	if (g.Cg == 1 || conv_direct(n, &g))
		return 0;
	return dnnq_mul_size((size_t)(g.OH * g.OW), (size_t)(g.Cg * g.KH * g.KW), &f) ? f
	                                                                              : SIZE_MAX;
}

/* The outputs [*lo, *hi) of a row whose tap at input column ow * sw + off
 * is inside [0, W). */
static void inside(int64_t off, int64_t sw, int64_t W, int64_t OW, int64_t *lo, int64_t *hi)
{
	*lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
	*hi = W - off <= 0 ? 0 : (W - off - 1) / sw + 1;
	*hi = *hi < OW ? *hi : OW;
	*lo = *lo < *hi ? *lo : *hi;
}

struct conv_job {
	const struct run *r;
	const struct dnnq_ir_node *n;
	struct cgeom g;
};

/* Row (c, i, j) of the im2col matrix of one image's group (x: its first
 * channel): output pixel p's tap (i, j) of channel c, 0 in the padding. */
static void im2col_row(const struct dnnq_ir_node *n, const struct cgeom *g, const float *x,
                       int64_t c, int64_t i, int64_t j, float *row)
{
	int64_t sw = n->strides[1], off = j * n->dilations[1] - n->pads[1], lo, hi;
	inside(off, sw, g->W, g->OW, &lo, &hi);
	for (int64_t oh = 0; oh < g->OH; oh++, row += g->OW) {
		int64_t ih = oh * n->strides[0] - n->pads[0] + i * n->dilations[0];
		bool in = ih >= 0 && ih < g->H;
		const float *xr = x + (c * g->H + (in ? ih : 0)) * g->W;
		for (int64_t ow = 0; ow < (in ? lo : g->OW); ow++)
			row[ow] = 0.0f;
		if (!in)
			continue;
		if (sw == 1)            /* the common case, and stride 2 below, vectorized */
			memcpy(row + lo, xr + lo + off, (size_t)(hi - lo) * sizeof *row);
		else if (sw == 2)
			for (int64_t ow = lo; ow < hi; ow++)
				row[ow] = xr[ow * 2 + off];
		else
			for (int64_t ow = lo; ow < hi; ow++)
				row[ow] = xr[ow * sw + off];
		for (int64_t ow = hi; ow < g->OW; ow++)
			row[ow] = 0.0f;
	}
}

/* Task t = image t / G, group t % G: the group's weights (Mg x K) times
 * its im2col matrix (K x P, row (c, i, j) as the weights' c x kh x kw),
 * into the image's NCHW output. */
static void conv_task(void *arg, size_t t, unsigned tid)
{
	const struct conv_job *job = arg;
	const struct run *r = job->r;
	const struct dnnq_ir_node *n = job->n;
	const struct cgeom *g = &job->g;
	int64_t b0 = (int64_t)t / g->G, grp = (int64_t)t % g->G, Mg = g->M / g->G;
	int64_t K = g->Cg * g->KH * g->KW, P = g->OH * g->OW;
	const float *x = (const float *)IN(0) + (b0 * g->C + grp * g->Cg) * g->H * g->W;
	const float *col = x;
	if (!conv_direct(n, g)) {
		float *rows = r->scratch[tid];
		for (int64_t c = 0; c < g->Cg; c++)
			for (int64_t i = 0; i < g->KH; i++)
				for (int64_t j = 0; j < g->KW; j++)
					im2col_row(n, g, x, c, i, j, rows + ((c * g->KH + i) * g->KW + j) * P);
		col = rows;
	}
	float *y = (float *)OUT(0) + (b0 * g->M + grp * Mg) * P;
	dnnq_f32_gemm(r->isa, false, (size_t)Mg, (size_t)P, (size_t)K,
	              (const float *)IN(1) + grp * Mg * K, (size_t)K, col, (size_t)P, y, (size_t)P);
	if (HAS(2))
		for (int64_t m = 0; m < Mg; m++)
			for (int64_t p = 0; p < P; p++)
				y[m * P + p] += ((const float *)IN(2))[grp * Mg + m];
}

/* Task t = image t / M, output channel t % M of a conv whose groups have
 * one input channel each: per output row, each tap adds w * its input row
 * over the outputs whose tap is inside the image. */
static void dwconv_task(void *arg, size_t t, unsigned tid)
{
	(void)tid;
	const struct conv_job *job = arg;
	const struct run *r = job->r;
	const struct dnnq_ir_node *n = job->n;
	const struct cgeom *g = &job->g;
	int64_t b0 = (int64_t)t / g->M, m = (int64_t)t % g->M, Mg = g->M / g->G;
	int64_t sw = n->strides[1];
	const float *x = (const float *)IN(0) + (b0 * g->C + m / Mg) * g->H * g->W;
	const float *w = (const float *)IN(1) + m * g->KH * g->KW;
	float bias = HAS(2) ? ((const float *)IN(2))[m] : 0.0f;
	float *y = (float *)OUT(0) + (b0 * g->M + m) * g->OH * g->OW;
	for (int64_t oh = 0; oh < g->OH; oh++) {
		float *yr = y + oh * g->OW;
		for (int64_t ow = 0; ow < g->OW; ow++)
			yr[ow] = 0.0f;
		for (int64_t i = 0; i < g->KH; i++) {
			int64_t ih = oh * n->strides[0] - n->pads[0] + i * n->dilations[0];
			if (ih < 0 || ih >= g->H)
				continue;
			const float *xr = x + ih * g->W;
			for (int64_t j = 0; j < g->KW; j++) {
				int64_t off = j * n->dilations[1] - n->pads[1], lo, hi;
				inside(off, sw, g->W, g->OW, &lo, &hi);
				float wv = w[i * g->KW + j];
				if (sw == 1)
					for (int64_t ow = lo; ow < hi; ow++)
						yr[ow] += wv * xr[ow + off];
				else
					for (int64_t ow = lo; ow < hi; ow++)
						yr[ow] += wv * xr[ow * sw + off];
			}
		}
		for (int64_t ow = 0; ow < g->OW; ow++)
			yr[ow] += bias;
	}
}

static void conv_f32(const struct run *r, const struct dnnq_ir_node *n)
{
	struct conv_job job = { r, n, cgeom(r, n, 0, 1) };
	bool dw = job.g.Cg == 1;
	dnnq_parallel_for(r->ex, (size_t)(job.g.N * (dw ? job.g.M : job.g.G)),
	                  dw ? dwconv_task : conv_task, &job);
}

/* QLinearConv's and QLinearMatMul's multiplier of output channel m:
 * x_scale * w_scale[m] / y_scale; 0 for ConvInteger and MatMulInteger. */
static float qlinear_mult(const struct run *r, const struct dnnq_ir_node *n, bool qlinear,
                          int64_t m)
{
	if (!qlinear)
		return 0;
	return (float)((double)param_f(r, n, 1, 0) * (double)param_f(r, n, 4, (size_t)m) /
	               (double)param_f(r, n, 6, 0));
}

/* Output element yo of an integer product, channel m: the int32 acc itself
 * (ConvInteger, MatMulInteger) or, for QLinear*, acc + bias (input 8)
 * scaled by mult onto y's zero point. */
static void put_acc(const struct run *r, const struct dnnq_ir_node *n, bool qlinear, int64_t m,
                    float mult, int64_t acc, size_t yo)
{
	if (!qlinear) {
		((int32_t *)OUT(0))[yo] = (int32_t)acc;
		return;
	}
	if (HAS(8))
		acc += ((const int32_t *)IN(8))[m];
	float v = rintf((float)(int32_t)acc * mult) + (float)param_i(r, n, 7, 0);
	put_q(r->ir->values[n->outputs[0]].dtype, OUT(0), yo, v);
}

/* QLinearConv (qlinear) and ConvInteger: x input 0, w input wi; zero points
 * at xzi, wzi (absent: 0). */
static void conv_int(const struct run *r, const struct dnnq_ir_node *n, bool qlinear)
{
	int wi = qlinear ? 3 : 1, xzi = qlinear ? 2 : 2, wzi = qlinear ? 5 : 3;
	struct cgeom g = cgeom(r, n, 0, wi);
	const struct dnnq_ir_value *xv = &r->ir->values[n->inputs[0]],
	                           *wv = &r->ir->values[n->inputs[wi]];
	const void *x = IN(0), *w = IN(wi);
	int32_t xz = param_i(r, n, xzi, 0);
	int64_t Mg = g.M / g.G;
	for (int64_t m = 0; m < g.M; m++) {
		int32_t wz = param_i(r, n, wzi, (size_t)m);
		float mult = qlinear_mult(r, n, qlinear, m);
		for (int64_t b0 = 0; b0 < g.N; b0++)
		for (int64_t oh = 0; oh < g.OH; oh++)
		for (int64_t ow = 0; ow < g.OW; ow++) {
			int64_t acc = 0, c0 = m / Mg * g.Cg;
			for (int64_t c = 0; c < g.Cg; c++) {
				size_t xo = (size_t)((b0 * g.C + c0 + c) * g.H * g.W);
				size_t wo = (size_t)((m * g.Cg + c) * g.KH * g.KW);
				for (int64_t i = 0; i < g.KH; i++)
					for (int64_t j = 0; j < g.KW; j++) {
						int64_t t = tap(n, &g, oh, ow, i, j);
						if (t >= 0)
							acc += (int64_t)(geti(xv, x, xo + (size_t)t) - xz) *
							       (geti(wv, w, wo + (size_t)(i * g.KW + j)) - wz);
					}
			}
			put_acc(r, n, qlinear, m, mult, acc,
			        (size_t)(((b0 * g.M + m) * g.OH + oh) * g.OW + ow));
		}
	}
}

/* ---- matrix products ---------------------------------------------------------- */

/* src (rows x cols) transposed into dst (cols x rows). */
static void transpose_matrix(const float *src, int64_t rows, int64_t cols, float *dst)
{
	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++)
			dst[j * rows + i] = src[i * cols + j];
}

/* Floats of the transposed copy of A a Gemm with transA needs (the
 * engine's sgemm takes A as M x K). */
static size_t gemm_scratch(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t a[2];
	lead_rows(r, n->inputs[0], a);
	return n->trans_a ? (size_t)(a[0] * a[1]) : 0;
}

static void gemm_f32(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t a[2], b[2], cd[2] = { 1, 1 };
	lead_rows(r, n->inputs[0], a);
	adims(r, n->inputs[1], b);
	int64_t M = a[n->trans_a], K = a[!n->trans_a], N = b[!n->trans_b];
	const float *A = IN(0), *B = IN(1), *C = HAS(2) ? IN(2) : NULL;
	if (n->trans_a) {
		transpose_matrix(A, K, M, r->scratch[0]);
		A = r->scratch[0];
	}
	if (C) {
		const struct dnnq_ir_value *cv = &r->ir->values[n->inputs[2]];
		if (cv->ndim == 2)
			cd[0] = cv->dims[0], cd[1] = cv->dims[1];
		else if (cv->ndim == 1)
			cd[1] = cv->dims[0];
	}
	float *Y = OUT(0);
	dnnq_f32_gemm(r->isa, n->trans_b, (size_t)M, (size_t)N, (size_t)K, A, (size_t)K, B,
	              (size_t)(n->trans_b ? K : N), Y, (size_t)N);
	for (int64_t i = 0; i < M; i++)
		for (int64_t j = 0; j < N; j++) {
			float *y = &Y[i * N + j];
			*y *= n->alpha;
			if (C)
				*y += n->beta * C[(cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j)];
		}
}

/* A matrix product's shapes: A input ia, B input ib, batch dims broadcast
 * as NumPy's (MatMul, QLinearMatMul and MatMulInteger of any rank >= 2). */
struct mm {
	int64_t M, K, N;
	size_t nb;                     /* batch items */
	uint32_t R, ra, rb;            /* ranks: output, A, B */
	int64_t ad[DNNQ_IR_MAX_DIMS], bd[DNNQ_IR_MAX_DIMS], yd[DNNQ_IR_MAX_DIMS];
};

static void mm_dims(const struct run *r, const struct dnnq_ir_node *n, int ia, int ib,
                    struct mm *d)
{
	d->ra = r->ir->values[n->inputs[ia]].ndim;
	d->rb = r->ir->values[n->inputs[ib]].ndim;
	d->R = r->ir->values[n->outputs[0]].ndim;
	adims(r, n->inputs[ia], d->ad);
	adims(r, n->inputs[ib], d->bd);
	adims(r, n->outputs[0], d->yd);
	d->M = d->yd[d->R - 2];
	d->N = d->yd[d->R - 1];
	d->K = d->ad[d->ra - 1];
	int64_t mn = d->M * d->N;
	d->nb = mn ? anumel(r, n->outputs[0]) / (size_t)mn : 0;
}

/* Batch item bi's element offsets of A's and B's matrices. */
static void mm_batch(const struct mm *d, size_t bi, size_t *oa, size_t *ob)
{
	size_t q = bi, sa = (size_t)(d->M * d->K), sb = (size_t)(d->K * d->N);
	*oa = *ob = 0;
	for (uint32_t i = d->R - 2; i-- > 0;) {         /* batch dims, right-aligned */
		size_t idx = q % (size_t)d->yd[i];
		q /= (size_t)d->yd[i];
		if (i + d->ra >= d->R) {
			int64_t da = d->ad[i + d->ra - d->R];
			*oa += da == 1 ? 0 : idx * sa;
			sa *= (size_t)da;
		}
		if (i + d->rb >= d->R) {
			int64_t db = d->bd[i + d->rb - d->R];
			*ob += db == 1 ? 0 : idx * sb;
			sb *= (size_t)db;
		}
	}
}

/* QLinearMatMul (qlinear) and MatMulInteger of any rank >= 2. */
static void matmul_int(const struct run *r, const struct dnnq_ir_node *n, bool qlinear)
{
	int bi = qlinear ? 3 : 1, azi = 2, bzi = qlinear ? 5 : 3;
	struct mm d;
	mm_dims(r, n, 0, bi, &d);
	const struct dnnq_ir_value *av = &r->ir->values[n->inputs[0]],
	                           *bv = &r->ir->values[n->inputs[bi]];
	int32_t az = param_i(r, n, azi, 0);
	int64_t M = d.M, K = d.K, N = d.N;
	for (size_t t = 0; t < d.nb; t++) {
		size_t oa, ob, oy = t * (size_t)(M * N);
		mm_batch(&d, t, &oa, &ob);
		for (int64_t j = 0; j < N; j++) {
			int32_t bz = param_i(r, n, bzi, (size_t)j);
			float mult = qlinear_mult(r, n, qlinear, j);
			for (int64_t i = 0; i < M; i++) {
				int64_t acc = 0;
				for (int64_t k = 0; k < K; k++)
					acc += (int64_t)(geti(av, IN(0), oa + (size_t)(i * K + k)) - az) *
					       (geti(bv, IN(bi), ob + (size_t)(k * N + j)) - bz);
				put_acc(r, n, qlinear, j, mult, acc, oy + (size_t)(i * N + j));
			}
		}
	}
}

/* ---- pooling ------------------------------------------------------------------ */

static void pool(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t x[4] = { 0 }, y[4] = { 0 };
	adims(r, n->inputs[0], x);
	adims(r, n->outputs[0], y);
	if (r->ir->values[n->inputs[0]].ndim == 3) {       /* 1-D: H is 1 */
		x[3] = x[2], y[3] = y[2];
		x[2] = y[2] = 1;
	}
	const float *X = IN(0);
	float *Y = OUT(0);
	int32_t *I = n->noutputs > 1 ? (int32_t *)OUT(1) : NULL;   /* MaxPool's Indices */
	int64_t H = x[2], W = x[3];
	bool gavg = n->op == DNNQ_IR_GAVGPOOL, max = n->op == DNNQ_IR_MAXPOOL;
	int64_t kh = gavg ? H : n->kernel[0], kw = gavg ? W : n->kernel[1];
	int64_t sh = gavg ? 1 : n->strides[0], sw = gavg ? 1 : n->strides[1];
	int64_t dh = gavg ? 1 : n->dilations[0], dw = gavg ? 1 : n->dilations[1];
	int64_t pt = gavg ? 0 : n->pads[0], pl = gavg ? 0 : n->pads[1];
	int64_t pb = gavg ? 0 : n->pads[2], pr = gavg ? 0 : n->pads[3];
	for (int64_t p = 0; p < x[0] * x[1]; p++)
	for (int64_t oh = 0; oh < y[2]; oh++)
	for (int64_t ow = 0; ow < y[3]; ow++) {
		const float *xp = X + p * H * W;
		int64_t hs = oh * sh - pt, ws = ow * sw - pl;
		double acc = 0;
		int64_t cnt = 0, padded = 0, bh = -1, bw = -1;
		/* the maximum and its index: the first tap, then a larger value (a
		 * NaN never larger: ONNX Runtime's MaxPool with Indices); -inf for
		 * a window of no tap (dilation) */
		float best = -INFINITY;
		for (int64_t i = 0; i < kh; i++)
			for (int64_t j = 0; j < kw; j++) {
				int64_t ih = hs + i * dh, iw = ws + j * dw;
				/* taps in the padded input, not beyond (ceil_mode) */
				padded += ih < H + pb && iw < W + pr;
				if (ih < 0 || ih >= H || iw < 0 || iw >= W)
					continue;
				acc += xp[ih * W + iw];
				cnt++;
				if (bh < 0 || xp[ih * W + iw] > best) {
					best = xp[ih * W + iw];
					bh = ih;
					bw = iw;
				}
			}
		if (!max && n->count_include_pad && !gavg)
			cnt = padded;
		Y[(p * y[2] + oh) * y[3] + ow] = max ? best : cnt ? (float)(acc / (double)cnt) : 0.0f;
		if (I)
			I[(p * y[2] + oh) * y[3] + ow] =
				(int32_t)(p * H * W + (n->mode ? bw * H + bh : bh * W + bw));
	}
}

/* ---- elementwise --------------------------------------------------------------- */

static float unary(const struct dnnq_ir_node *n, float x)
{
	switch (n->op) {
	case DNNQ_IR_RELU: return x > 0 ? x : 0.0f;
	case DNNQ_IR_LEAKYRELU: return x >= 0 ? x : n->alpha * x;
	case DNNQ_IR_CLIP: return x < n->clip_min ? n->clip_min : x > n->clip_max ? n->clip_max : x;
	case DNNQ_IR_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)x)));
	case DNNQ_IR_TANH: return (float)tanh((double)x);
	case DNNQ_IR_HARDSIGMOID: {
		float v = n->alpha * x + n->beta;
		return v < 0 ? 0.0f : v > 1 ? 1.0f : v;
	}
	case DNNQ_IR_HARDSWISH: {
		float v = x / 6.0f + 0.5f;
		return x * (v < 0 ? 0.0f : v > 1 ? 1.0f : v);
	}
	case DNNQ_IR_ELU: return x > 0 ? x : (float)(n->alpha * expm1((double)x));
	case DNNQ_IR_SELU:
		return (float)(n->beta * (x > 0 ? (double)x : n->alpha * expm1((double)x)));
	case DNNQ_IR_CELU: return x > 0 ? x : (float)(n->alpha * expm1((double)x / n->alpha));
	case DNNQ_IR_SHRINK:
		return x < -n->alpha ? x + n->beta : x > n->alpha ? x - n->beta : 0.0f;
	case DNNQ_IR_THRESHOLDEDRELU: return x > n->alpha ? x : 0.0f;
	default: return x;
	}
}

/* The unary operators the engine has an exact fp32 kernel for: *k and *p;
 * false for the others. */
static bool engine_act(const struct dnnq_ir_node *n, enum dnnq_activation_kind *k,
                       struct dnnq_act_params *p)
{
	switch (n->op) {
	case DNNQ_IR_RELU: *k = DNNQ_ACT_RELU; return true;
	case DNNQ_IR_LEAKYRELU: *k = DNNQ_ACT_LEAKY_RELU; p->alpha = n->alpha; return true;
	case DNNQ_IR_CLIP:
		*k = DNNQ_ACT_CLIP;
		p->min = n->clip_min;
		p->max = n->clip_max;
		return true;
	default: return false;
	}
}

static float add_f32(float a, float b)
{
	return a + b;
}

static float mul_f32(float a, float b)
{
	return a * b;
}

/* Add, Mul and the registry's binary operators (their f32 function):
 * numpy broadcasting through strides (0 on broadcast axes). */
/* Value id's element strides against an output of rank R (NumPy
 * broadcasting: its dims aligned with the last ones; 0 where it has 1). */
static void bcast_strides(const struct run *r, int32_t id, uint32_t R, int64_t *st)
{
	const struct dnnq_ir_value *v = &r->ir->values[id];
	int64_t vd[DNNQ_IR_MAX_DIMS], s = 1;
	adims(r, id, vd);
	for (uint32_t i = R; i-- > 0;) {
		int64_t d = i + v->ndim >= R ? vd[i + v->ndim - R] : 1;
		st[i] = d == 1 ? 0 : s;
		s *= d;
	}
}

/* The next output index idx (row-major over yd, rank R) and the nk input
 * offsets o that move with it by their strides st. */
static void bcast_next(uint32_t R, const int64_t *yd, int64_t *idx,
                       int64_t (*st)[DNNQ_IR_MAX_DIMS], int64_t *o, int nk)
{
	for (uint32_t i = R; i-- > 0;) {
		for (int k = 0; k < nk; k++)
			o[k] += st[k][i];
		if (++idx[i] < yd[i])
			return;
		for (int k = 0; k < nk; k++)
			o[k] -= st[k][i] * yd[i];
		idx[i] = 0;
	}
}

static void binary(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t yd[DNNQ_IR_MAX_DIMS], st[2][DNNQ_IR_MAX_DIMS];
	const struct dnnq_ir_value *yv = &r->ir->values[n->outputs[0]];
	uint32_t R = yv->ndim;
	adims(r, n->outputs[0], yd);
	for (int k = 0; k < 2; k++)
		bcast_strides(r, n->inputs[k], R, st[k]);
	const float *a = IN(0), *b = IN(1);
	float *y = OUT(0);
	size_t total = anumel(r, n->outputs[0]);
	if ((n->op == DNNQ_IR_ADD || n->op == DNNQ_IR_MUL) && anumel(r, n->inputs[0]) == total &&
	    anumel(r, n->inputs[1]) == total) {
		static const enum dnnq_broadcast full[2] = { DNNQ_BCAST_NONE, DNNQ_BCAST_NONE };
		dnnq_f32_eltwise(r->isa, n->op == DNNQ_IR_ADD ? DNNQ_ELTWISE_ADD : DNNQ_ELTWISE_MUL, 2,
		                 (const float *const[]){ a, b }, full, 0, total, y, r->ex);
		return;
	}
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	float (*f)(float, float) = def ? def->f32 : n->op == DNNQ_IR_ADD ? add_f32 : mul_f32;
	int64_t idx[DNNQ_IR_MAX_DIMS] = { 0 }, o[2] = { 0, 0 };
	for (size_t e = 0; e < total; e++) {
		y[e] = f(a[o[0]], b[o[1]]);
		bcast_next(R, yd, idx, st, o, 2);
	}
}

/* A registry operator: a unary one (engine/unary.h) element by element
 * with its f32 function, a binary one broadcasting. */
static void engine_op(const struct run *r, const struct dnnq_ir_node *n)
{
	float (*f)(float) = dnnq_unary_fn(dnnq_op_get(n->kind));
	if (!f) {
		binary(r, n);
		return;
	}
	size_t total = anumel(r, n->outputs[0]);
	const float *x = IN(0);
	float *y = OUT(0);
	for (size_t e = 0; e < total; e++)
		y[e] = f(x[e]);
}

/* prod(dims[0:axis]), dims[axis], prod(dims[axis+1:]) at this batch. */
static void split(const struct run *r, int32_t id, int64_t axis, size_t *outer, size_t *mid,
                  size_t *inner)
{
	int64_t d[DNNQ_IR_MAX_DIMS];
	const struct dnnq_ir_value *v = &r->ir->values[id];
	adims(r, id, d);
	*outer = *mid = *inner = 1;
	for (uint32_t i = 0; i < v->ndim; i++)
		*((int64_t)i < axis ? outer : (int64_t)i == axis ? mid : inner) *= (size_t)d[i];
}

/* Softmax, or (logsm) LogSoftmax: (x - max) - log(sum). */
static void softmax(const struct run *r, const struct dnnq_ir_node *n, bool logsm)
{
	size_t O, A, I;
	split(r, n->inputs[0], n->axis, &O, &A, &I);
	const float *x = IN(0);
	float *y = OUT(0);
	for (size_t o = 0; o < O; o++)
		for (size_t i = 0; i < I; i++) {
			const float *xp = x + o * A * I + i;
			float *yp = y + o * A * I + i;
			double mx = -INFINITY, sum = 0;
			for (size_t a = 0; a < A; a++)
				mx = xp[a * I] > mx ? xp[a * I] : mx;
			for (size_t a = 0; a < A; a++)
				sum += exp((double)xp[a * I] - mx);
			for (size_t a = 0; a < A; a++)
				yp[a * I] = (float)(logsm ? ((double)xp[a * I] - mx) - log(sum)
				                          : exp((double)xp[a * I] - mx) / sum);
		}
}

static void batchnorm(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t O, C, I;
	split(r, n->inputs[0], 1, &O, &C, &I);
	const float *x = IN(0), *s = IN(1), *b = IN(2), *mean = IN(3), *var = IN(4);
	float *y = OUT(0);
	for (size_t o = 0; o < O; o++)
		for (size_t c = 0; c < C; c++) {
			double k = (double)s[c] / sqrt((double)var[c] + (double)n->epsilon);
			for (size_t i = 0; i < I; i++) {
				size_t e = (o * C + c) * I + i;
				y[e] = (float)(((double)x[e] - mean[c]) * k + b[c]);
			}
		}
}

static void concat(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t es = dnnq_ir_dtype_size(r->ir->values[n->outputs[0]].dtype), O, A, I, off = 0, YA;
	split(r, n->outputs[0], n->axis, &O, &YA, &I);
	for (uint32_t k = 0; k < n->ninputs; k++) {
		split(r, n->inputs[k], n->axis, &O, &A, &I);
		for (size_t o = 0; o < O; o++)
			memcpy((char *)OUT(0) + ((o * YA + off) * I) * es,
			       (const char *)IN(k) + o * A * I * es, A * I * es);
		off += A;
	}
}

/* ---- quantization -------------------------------------------------------------- */

static void quantize(const struct run *r, const struct dnnq_ir_node *n, bool q)
{
	size_t O, A, I;
	split(r, n->inputs[0], n->axis, &O, &A, &I);
	const struct dnnq_ir_value *xv = &r->ir->values[n->inputs[0]],
	                           *yv = &r->ir->values[n->outputs[0]];
	for (size_t e = 0; e < O * A * I; e++) {
		size_t ch = e / I % A;
		float s = param_f(r, n, 1, ch);
		int32_t z = param_i(r, n, 2, ch);
		if (q)
			put_q(yv->dtype, OUT(0), e, rintf(((const float *)IN(0))[e] / s) + (float)z);
		else
			((float *)OUT(0))[e] = (float)((int64_t)geti(xv, IN(0), e) - z) * s;
	}
}

static void dynquant(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t total = anumel(r, n->inputs[0]);
	const float *x = IN(0);
	float mn = 0, mx = 0;
	for (size_t e = 0; e < total; e++) {
		mn = x[e] < mn ? x[e] : mn;
		mx = x[e] > mx ? x[e] : mx;
	}
	float scale = (mx - mn) / 255.0f, zp = 0;
	if (scale == 0 || !isfinite(scale))
		scale = 1.0f;
	else
		zp = rintf(0.0f - mn / scale);
	zp = zp < 0 ? 0 : zp > 255 ? 255 : zp;
	for (size_t e = 0; e < total; e++)
		put_q(DNNQ_IR_U8, OUT(0), e, rintf(x[e] / scale) + zp);
	*(float *)OUT(1) = scale;
	*(uint8_t *)OUT(2) = (uint8_t)zp;
}

/* ---- xfmr: transformer and reduction operators ------------------------------------ */

/* Row-major strides of dims d (rank nd). */
static void strides(const int64_t *d, uint32_t nd, int64_t *st)
{
	int64_t s = 1;
	for (uint32_t i = nd; i-- > 0;) {
		st[i] = s;
		s *= d[i];
	}
}

static void transpose(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t xd[DNNQ_IR_MAX_DIMS], xs[DNNQ_IR_MAX_DIMS], yd[DNNQ_IR_MAX_DIMS];
	uint32_t R = r->ir->values[n->inputs[0]].ndim;
	adims(r, n->inputs[0], xd);
	adims(r, n->outputs[0], yd);
	strides(xd, R, xs);
	const float *x = IN(0);
	float *y = OUT(0);
	size_t total = anumel(r, n->outputs[0]);
	for (size_t e = 0; e < total; e++) {
		size_t q = e;
		int64_t off = 0;
		for (uint32_t i = R; i-- > 0;) {
			off += (int64_t)(q % (size_t)yd[i]) * xs[n->ints[i]];
			q /= (size_t)yd[i];
		}
		y[e] = x[off];
	}
}

/* MatMul with NumPy broadcasting of the batch dims, in double. */
static void matmul_f32(const struct run *r, const struct dnnq_ir_node *n)
{
	struct mm d;
	mm_dims(r, n, 0, 1, &d);
	const float *a = IN(0), *b = IN(1);
	float *y = OUT(0);
	for (size_t bi = 0; bi < d.nb; bi++) {
		size_t oa, ob;
		mm_batch(&d, bi, &oa, &ob);
		for (int64_t m = 0; m < d.M; m++)
			for (int64_t j = 0; j < d.N; j++) {
				double s = 0;
				for (int64_t p = 0; p < d.K; p++)
					s += (double)a[oa + (size_t)(m * d.K + p)] * b[ob + (size_t)(p * d.N + j)];
				y[bi * (size_t)(d.M * d.N) + (size_t)(m * d.N + j)] = (float)s;
			}
	}
}

/* ReduceSum, ReduceMean, ReduceMax, ReduceProd over node.ints (keepdims
 * changes only the shape), in double. A max is each output's first
 * element, then a later larger one (a NaN first stays; other NaNs are
 * passed over), as the engine's. */
static void reduce(const struct run *r, const struct dnnq_ir_node *n, const char *name)
{
	int64_t xd[DNNQ_IR_MAX_DIMS], ys[DNNQ_IR_MAX_DIMS], kd[DNNQ_IR_MAX_DIMS];
	uint32_t R = r->ir->values[n->inputs[0]].ndim;
	adims(r, n->inputs[0], xd);
	bool red[DNNQ_IR_MAX_DIMS] = { false }, max = !strcmp(name, "reduce_max");
	bool prod = !strcmp(name, "reduce_prod");
	for (uint32_t k = 0; k < n->nints; k++)
		red[n->ints[k]] = true;
	size_t count = 1;
	for (uint32_t i = 0; i < R; i++) {
		kd[i] = red[i] ? 1 : xd[i];
		count *= red[i] ? (size_t)xd[i] : 1;
	}
	strides(kd, R, ys);
	size_t nout = anumel(r, n->outputs[0]), total = anumel(r, n->inputs[0]);
	double *acc = malloc((nout ? nout : 1) * sizeof *acc);
	if (!acc)
		return;
	for (size_t o = 0; o < nout; o++)
		acc[o] = max ? -INFINITY : prod ? 1 : 0;
	const float *x = IN(0);
	for (size_t e = 0; e < total; e++) {
		size_t q = e, o = 0;
		bool first = true;          /* o's first element: a NaN there stays */
		for (uint32_t i = R; i-- > 0;) {
			o += red[i] ? 0 : q % (size_t)xd[i] * (size_t)ys[i];
			first = first && (!red[i] || !(q % (size_t)xd[i]));
			q /= (size_t)xd[i];
		}
		acc[o] = max ? (first || x[e] > acc[o] ? x[e] : acc[o])
		             : prod ? acc[o] * x[e] : acc[o] + x[e];
	}
	for (size_t o = 0; o < nout; o++)
		((float *)OUT(0))[o] = (float)(strcmp(name, "reduce_mean") ? acc[o]
		                                                          : acc[o] / (double)count);
	free(acc);
}

static void layernorm(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t O, A, I;
	split(r, n->inputs[0], n->axis, &O, &A, &I);
	size_t D = A * I;
	/* no scale: a unit one (InstanceNormalization's normalization) */
	const float *x = IN(0), *w = HAS(1) ? IN(1) : NULL, *b = HAS(2) ? IN(2) : NULL;
	float *y = OUT(0);
	for (size_t o = 0; o < O; o++) {
		const float *xr = x + o * D;
		double m = 0, v = 0;
		for (size_t i = 0; i < D; i++)
			m += xr[i];
		m /= (double)D;
		for (size_t i = 0; i < D; i++)
			v += (xr[i] - m) * (xr[i] - m);
		double inv = 1.0 / sqrt(v / (double)D + n->epsilon);
		for (size_t i = 0; i < D; i++)
			y[o * D + i] = (float)((xr[i] - m) * inv * (w ? w[i] : 1) + (b ? b[i] : 0));
	}
}

/* LRN across axis 1 from ONNX's definition, in double: the window
 * c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2), clipped. */
static void lrn(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t O, C, I, lo = (size_t)(n->k - 1) / 2, hi = (size_t)n->k / 2;
	split(r, n->inputs[0], 1, &O, &C, &I);
	const float *x = IN(0);
	float *y = OUT(0);
	for (size_t o = 0; o < O; o++)
		for (size_t c = 0; c < C; c++)
			for (size_t i = 0; i < I; i++) {
				const float *xp = x + o * C * I + i;
				double s = 0;
				for (size_t k = c >= lo ? c - lo : 0; k <= c + hi && k < C; k++)
					s += (double)xp[k * I] * xp[k * I];
				double sc = n->epsilon + (double)n->alpha / (double)n->k * s;
				y[(o * C + c) * I + i] = (float)(xp[c * I] * pow(sc, -(double)n->beta));
			}
}

/* ArgMax (ArgMin: min) along n->axis, from the definition: the first
 * extreme (the last with select_last_index), a NaN beating every number
 * as in NumPy; int32 indices into y. */
static void arg_lines(const struct run *r, const struct dnnq_ir_node *n, bool min, int32_t *y)
{
	size_t O, A, I;
	split(r, n->inputs[0], n->axis, &O, &A, &I);
	const float *x = IN(0);
	bool last = n->mode & 1;
	for (size_t o = 0; o < O; o++)
		for (size_t i = 0; i < I; i++) {
			size_t best = 0;
			for (size_t k = 1; k < A; k++) {
				float v = x[(o * A + k) * I + i], b = x[(o * A + best) * I + i];
				bool better = isnan(v) ? !isnan(b) : !isnan(b) && (min ? v < b : v > b);
				bool tie = v == b || (isnan(v) && isnan(b));
				if (better || (last && tie))
					best = k;
			}
			y[o * I + i] = (int32_t)best;
		}
}

/* Hardmax: ArgMax's index (keepdims) written as a one-hot along n->axis. */
static void hardmax(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t O, A, I;
	split(r, n->inputs[0], n->axis, &O, &A, &I);
	int32_t *idx = malloc((O * I > 0 ? O * I : 1) * sizeof *idx);
	float *y = OUT(0);
	if (!idx)
		return;
	arg_lines(r, n, false, idx);       /* mode 0: the first maximum */
	for (size_t o = 0; o < O; o++)
		for (size_t a = 0; a < A; a++)
			for (size_t i = 0; i < I; i++)
				y[(o * A + a) * I + i] = idx[o * I + i] == (int32_t)a ? 1.0f : 0.0f;
	free(idx);
}

/* Whether element a of a TopK line comes before element b: a NaN first,
 * then the larger (smaller with smallest), a tie to the lower index. */
static bool topk_before(const float *x, size_t I, bool smallest, size_t a, size_t b)
{
	float va = x[a * I], vb = x[b * I];
	if (isnan(va) || isnan(vb))
		return isnan(va) && isnan(vb) ? a < b : isnan(va);
	return va == vb ? a < b : smallest ? va < vb : va > vb;
}

struct topk_line {
	const float *x;
	size_t I;
	bool smallest;
};

static int topk_order(const void *a, const void *b, void *ctx)
{
	const struct topk_line *l = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	return topk_before(l->x, l->I, l->smallest, i, j) ? -1
	       : topk_before(l->x, l->I, l->smallest, j, i) ? 1 : 0;
}

/* TopK from the definition: a line's positions sorted in its order
 * (topk_before: a total order, ties by position), the first K kept
 * (values into output 0, int32 indices into 1), the positions in the
 * scratch (alloc_scratch). Taking each output as the first in that order
 * after the one before was K x A comparisons a line: a TopK of all 2^18
 * of a line calibrated for minutes, of 2^20 for hours (a file of 108
 * bytes, which dnnqd's heap selection serves in milliseconds). */
static void topk(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t O, A, I, K = (size_t)n->k;
	split(r, n->inputs[0], n->axis, &O, &A, &I);
	const float *x = IN(0);
	float *y = OUT(0);
	int32_t *yi = OUT(1);
	size_t *pos = (size_t *)(void *)r->scratch[0];
	for (size_t o = 0; o < O; o++)
		for (size_t i = 0; i < I; i++) {
			struct topk_line l = { x + o * A * I + i, I, n->mode & DNNQ_TOPK_SMALLEST };
			for (size_t e = 0; e < A; e++)
				pos[e] = e;
			qsort_r(pos, A, sizeof *pos, topk_order, &l);
			for (size_t j = 0; j < K; j++) {
				y[(o * K + j) * I + i] = l.x[pos[j] * I];
				yi[(o * K + j) * I + i] = (int32_t)pos[j];
			}
		}
}

/* The transformer and reduction kinds of the registry; false for the
 * others. */
static bool xfmr(const struct run *r, const struct dnnq_ir_node *n)
{
	const struct dnnq_op_def *def = dnnq_op_get(n->kind);
	const char *name = def ? def->name : "";
	if (!strcmp(name, "transpose"))
		transpose(r, n);
	else if (!strcmp(name, "matmul"))
		matmul_f32(r, n);
	else if (!strncmp(name, "reduce_", 7))
		reduce(r, n, name);
	else if (!strcmp(name, "logsoftmax"))
		softmax(r, n, true);
	else if (!strcmp(name, "layernorm"))
		layernorm(r, n);
	else if (!strcmp(name, "lrn"))
		lrn(r, n);
	else if (!strcmp(name, "argmax") || !strcmp(name, "argmin"))
		arg_lines(r, n, !strcmp(name, "argmin"), OUT(0));
	else if (!strcmp(name, "hardmax"))
		hardmax(r, n);
	else if (!strcmp(name, "topk"))
		topk(r, n);
	else
		return false;
	return true;
}

/* ---- vision: the registry kinds of engine/ops/ ---------------------------------- */

/* Cubic Resize of one NCHW plane x (ih x iw) into y (oh x ow). */
static void resize_cubic(const struct dnnq_ir_node *n, const float *x, size_t ih, size_t iw,
                         float *y, size_t oh, size_t ow)
{
	bool ex = n->beta != 0;
	for (size_t i = 0; i < oh; i++) {
		size_t ry[4], rx[4];
		double wy[4], wx[4];
		dnnq_resize_cubic(n->mode, i, n->scales[0], ih, oh, n->alpha, ex, ry, wy);
		for (size_t j = 0; j < ow; j++) {
			dnnq_resize_cubic(n->mode, j, n->scales[1], iw, ow, n->alpha, ex, rx, wx);
			double s = 0;
			for (int a = 0; a < 4; a++)
				for (int b = 0; b < 4; b++)
					s += wy[a] * wx[b] * x[ry[a] * iw + rx[b]];
			*y++ = (float)s;
		}
	}
}

/* Resize over H and W of NCHW (engine/resize.h's coordinates), in double. */
static void resize(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t xd[4], yd[4];
	adims(r, n->inputs[0], xd);
	adims(r, n->outputs[0], yd);
	const float *x = IN(0);
	float *y = OUT(0);
	size_t ih = (size_t)xd[2], iw = (size_t)xd[3], oh = (size_t)yd[2], ow = (size_t)yd[3];
	bool linear = DNNQ_RESIZE_INTERP(n->mode) == DNNQ_RESIZE_LINEAR;
	if (DNNQ_RESIZE_INTERP(n->mode) == DNNQ_RESIZE_CUBIC) {
		for (size_t p = 0; p < (size_t)(xd[0] * xd[1]); p++, x += ih * iw, y += oh * ow)
			resize_cubic(n, x, ih, iw, y, oh, ow);
		return;
	}
	for (size_t p = 0; p < (size_t)(xd[0] * xd[1]); p++, x += ih * iw)
		for (size_t i = 0; i < oh; i++) {
			double sy = dnnq_resize_source(n->mode, i, n->scales[0], ih, oh);
			size_t y0 = linear ? (size_t)sy : dnnq_resize_nearest(n->mode, sy, ih);
			size_t y1 = y0 + 1 < ih ? y0 + 1 : y0;
			double wy = linear ? sy - (double)y0 : 0;
			for (size_t j = 0; j < ow; j++) {
				double sx = dnnq_resize_source(n->mode, j, n->scales[1], iw, ow);
				size_t x0 = linear ? (size_t)sx : dnnq_resize_nearest(n->mode, sx, iw);
				size_t x1 = x0 + 1 < iw ? x0 + 1 : x0;
				double wx = linear ? sx - (double)x0 : 0;
				double t = x[y0 * iw + x0] * (1 - wx) + x[y0 * iw + x1] * wx;
				double b = x[y1 * iw + x0] * (1 - wx) + x[y1 * iw + x1] * wx;
				*y++ = (float)(t * (1 - wy) + b * wy);
			}
		}
}

/* ConvTranspose (NCHW, weight C x M / group x kh x kw): each input pixel
 * scatters its patch, in double. */
static void convtranspose(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t xd[4], yd[4], wd[4];
	adims(r, n->inputs[0], xd);
	adims(r, n->outputs[0], yd);
	adims(r, n->inputs[1], wd);
	const float *x = IN(0), *w = IN(1), *b = n->inputs[2] >= 0 ? IN(2) : NULL;
	int64_t cig = xd[1] / n->group, cog = wd[1], oplane = yd[2] * yd[3];
	size_t total = anumel(r, n->outputs[0]);
	double *acc = malloc(total * sizeof *acc);
	if (!acc)
		return;
	for (size_t e = 0; e < total; e++)
		acc[e] = b ? b[(int64_t)(e / (size_t)oplane) % yd[1]] : 0;
	for (int64_t img = 0; img < xd[0]; img++)
		for (int64_t ci = 0; ci < xd[1]; ci++)
			for (int64_t iy = 0; iy < xd[2]; iy++)
				for (int64_t ix = 0; ix < xd[3]; ix++) {
					double v = x[((img * xd[1] + ci) * xd[2] + iy) * xd[3] + ix];
					for (int64_t co = 0; co < cog; co++)
						for (int64_t ky = 0; ky < wd[2]; ky++)
							for (int64_t kx = 0; kx < wd[3]; kx++) {
								int64_t oy = iy * n->strides[0] - n->pads[0] + ky * n->dilations[0];
								int64_t ox = ix * n->strides[1] - n->pads[1] + kx * n->dilations[1];
								if (oy < 0 || oy >= yd[2] || ox < 0 || ox >= yd[3])
									continue;
								int64_t m = ci / cig * cog + co;
								acc[((img * yd[1] + m) * yd[2] + oy) * yd[3] + ox] +=
									v * w[((ci * cog + co) * wd[2] + ky) * wd[3] + kx];
							}
				}
	for (size_t e = 0; e < total; e++)
		((float *)OUT(0))[e] = (float)acc[e];
	free(acc);
}

/* Slice, Pad, one output of Split: per axis, output index o reads input
 * index start[i] + step[i] * o (engine/remap.h's rule outside the input). */
static void remap(const struct run *r, const struct dnnq_ir_node *n, int32_t out,
                  const int64_t *start, const int64_t *step)
{
	int64_t xd[DNNQ_IR_MAX_DIMS], yd[DNNQ_IR_MAX_DIMS], idx[DNNQ_IR_MAX_DIMS] = { 0 };
	uint32_t R = r->ir->values[out].ndim;
	adims(r, n->inputs[0], xd);
	adims(r, out, yd);
	size_t es = dnnq_ir_dtype_size(r->ir->values[out].dtype), total = anumel(r, out);
	const uint8_t *x = IN(0);
	uint8_t *y = r->buf[out];
	for (size_t e = 0; e < total; e++) {
		int64_t off = 0;
		bool fill = false;
		for (uint32_t i = 0; i < R; i++) {
			int64_t s = start[i] + step[i] * idx[i], m = xd[i];
			if (s < 0 || s >= m) {
				if (n->mode == DNNQ_PAD_EDGE)
					s = s < 0 ? 0 : m - 1;
				else if (n->mode == DNNQ_PAD_REFLECT)
					s = m == 1 ? 0 : (s % (2 * m - 2) + 2 * m - 2) % (2 * m - 2);
				else if (n->mode == DNNQ_PAD_WRAP)
					s = (s % m + m) % m;
				if (n->mode == DNNQ_PAD_REFLECT && s >= m)
					s = 2 * m - 2 - s;
				fill |= s < 0 || s >= m;
			}
			off = off * m + s;
		}
		if (fill)
			memcpy(y + e * es, &n->value, es);
		else
			memcpy(y + e * es, x + (size_t)off * es, es);
		for (uint32_t i = R; i-- > 0;)
			if (++idx[i] < yd[i])
				break;
			else
				idx[i] = 0;
	}
}

/* Split: output k is Slice of the k-th run along the axis. */
static void split_outputs(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t start[DNNQ_IR_MAX_DIMS] = { 0 }, step[DNNQ_IR_MAX_DIMS];
	for (uint32_t i = 0; i < DNNQ_IR_MAX_DIMS; i++)
		step[i] = 1;
	for (uint32_t k = 0; k < n->noutputs; k++) {
		remap(r, n, n->outputs[k], start, step);
		start[n->axis] += r->ir->values[n->outputs[k]].dims[n->axis];
	}
}

/* Gather: per outer index, the inner runs the indices name (negative ones
 * counted from the end). */
static void gather(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t xd[DNNQ_IR_MAX_DIMS];
	const struct dnnq_ir_value *xv = &r->ir->values[n->inputs[0]];
	const struct dnnq_ir_value *iv = &r->ir->values[n->inputs[1]];
	adims(r, n->inputs[0], xd);
	size_t es = dnnq_ir_dtype_size(xv->dtype), outer = 1, inner = es, ni = dnnq_ir_numel(iv, 1);
	for (int64_t i = 0; i < n->axis; i++)
		outer *= (size_t)xd[i];
	for (uint32_t i = (uint32_t)n->axis + 1; i < xv->ndim; i++)
		inner *= (size_t)xd[i];
	const uint8_t *x = IN(0);
	uint8_t *y = OUT(0);
	int64_t dim = xd[n->axis];
	for (size_t o = 0; o < outer; o++)
		for (size_t k = 0; k < ni; k++) {
			int64_t i = iv->dtype == DNNQ_IR_S64 ? ((const int64_t *)IN(1))[k]
			                                     : ((const int32_t *)IN(1))[k];
			memcpy(y + (o * ni + k) * inner, x + (o * (size_t)dim + (size_t)(i < 0 ? i + dim : i)) *
			       inner, inner);
		}
}

/* Where index k of the walk is in the indices: k itself, or, for
 * constant indices of one batch item (a GatherElements into an input
 * whose batch the import fixed to 1, run here at the calibration's
 * batch), k in that item: every item reads the same ones. */
static size_t id_pos(const struct run *r, const struct dnnq_ir_node *n, size_t k)
{
	return k % anumel(r, n->inputs[1]);
}

/* Id k of an embedding or index k of a GatherElements: an int32 (an
 * int64 constant), or a float holding an integer (one that is not:
 * INT64_MIN, outside every table). */
static int64_t id_at(const struct run *r, const struct dnnq_ir_node *n, size_t k)
{
	k = id_pos(r, n, k);
	if (r->ir->values[n->inputs[1]].dtype == DNNQ_IR_S32)
		return ((const int32_t *)IN(1))[k];
	if (r->ir->values[n->inputs[1]].dtype == DNNQ_IR_S64)
		return ((const int64_t *)IN(1))[k];
	float f = ((const float *)IN(1))[k];
	return f >= -2147483648.0f && f < 2147483648.0f && f == (float)(int64_t)f ? (int64_t)f
	                                                                           : INT64_MIN;
}

/* An embedding: row ids[k] of the table (negative ones counted from the
 * end) per id; the index of the first id outside the table, or -1. */
static ptrdiff_t embed(const struct run *r, const struct dnnq_ir_node *n)
{
	const struct dnnq_ir_value *tv = &r->ir->values[n->inputs[0]];
	int64_t rows = tv->dims[0];
	size_t width = (size_t)tv->dims[1] * sizeof(float), count = anumel(r, n->inputs[1]);
	for (size_t k = 0; k < count; k++) {
		int64_t i = id_at(r, n, k);
		i = i < 0 ? i + rows : i;
		if (i < 0 || i >= rows)
			return (ptrdiff_t)k;
		memcpy((uint8_t *)OUT(0) + k * width, (const uint8_t *)IN(0) + (size_t)i * width, width);
	}
	return -1;
}

/* y combined with update v by a scatter's reduction (mode: none, add,
 * mul, max, min). */
static float reduced(uint32_t mode, float y, float v)
{
	return mode == 1 ? y + v : mode == 2 ? y * v : mode == 3 ? (v > y ? v : y)
	     : mode == 4 ? (v < y ? v : y) : v;
}

/* GatherElements: output element e reads input 0 at e's coordinates, the
 * axis' replaced by index e (a negative one counted from the end once);
 * or (scatter) ScatterElements: the output is input 0, then update e
 * (input 2) goes to that place, by the node's reduction (mode). Every
 * index is checked before anything is read or written: the position of
 * the first outside the axis, or -1. */
static ptrdiff_t elements_of(const struct run *r, const struct dnnq_ir_node *n, bool scatter)
{
	int32_t walked = scatter ? n->inputs[2] : n->outputs[0];
	int64_t xd[DNNQ_IR_MAX_DIMS], wd[DNNQ_IR_MAX_DIMS], p[DNNQ_IR_MAX_DIMS] = { 0 };
	size_t st[DNNQ_IR_MAX_DIMS], s = 1, total = anumel(r, walked);
	uint32_t R = r->ir->values[n->outputs[0]].ndim, A = (uint32_t)n->axis;
	adims(r, n->inputs[0], xd);
	adims(r, walked, wd);
	for (uint32_t a = R; a-- > 0; s *= (size_t)xd[a])
		st[a] = s;
	for (size_t e = 0; e < total; e++) {
		int64_t i = id_at(r, n, e);
		if (i == INT64_MIN || i < -xd[A] || i >= xd[A])
			return (ptrdiff_t)e;
	}
	const float *x = IN(0);
	float *y = OUT(0);
	if (scatter)
		memcpy(y, x, s * sizeof *y);
	for (size_t e = 0; e < total; e++) {
		int64_t i = id_at(r, n, e);
		size_t at = 0;
		for (uint32_t a = 0; a < R; a++)
			at += (size_t)(a == A ? (i < 0 ? i + xd[A] : i) : p[a]) * st[a];
		if (scatter)
			y[at] = reduced(n->mode, y[at], ((const float *)IN(2))[e]);
		else
			y[e] = x[at];
		for (uint32_t a = R; a-- > 0 && ++p[a] == wd[a];)
			p[a] = 0;
	}
	return -1;
}

/* GatherND's or ScatterND's tuple t (batch_dims the node's axis): the
 * flat position of its slice in input 0 (*slice elements), or -1 with
 * *bad the position of its first index outside its dim. */
static ptrdiff_t tuple_at(const struct run *r, const struct dnnq_ir_node *n, size_t t,
                          size_t *slice, ptrdiff_t *bad)
{
	int64_t xd[DNNQ_IR_MAX_DIMS], id[DNNQ_IR_MAX_DIMS];
	uint32_t R = r->ir->values[n->inputs[0]].ndim, Q = r->ir->values[n->inputs[1]].ndim;
	uint32_t b = (uint32_t)n->axis;
	adims(r, n->inputs[0], xd);
	adims(r, n->inputs[1], id);
	uint32_t k = (uint32_t)id[Q - 1];
	size_t per = 1, span = 1, f = 0;
	for (uint32_t a = b; a + 1 < Q; a++)
		per *= (size_t)id[a];
	for (uint32_t a = b; a < R; a++)
		span *= (size_t)xd[a];
	*slice = 1;
	for (uint32_t a = b + k; a < R; a++)
		*slice *= (size_t)xd[a];
	for (uint32_t j = 0; j < k; j++) {
		int64_t i = id_at(r, n, t * k + j), len = xd[b + j];
		if (i == INT64_MIN || i < -len || i >= len) {
			*bad = (ptrdiff_t)(t * k + j);
			return -1;
		}
		f = f * (size_t)len + (size_t)(i < 0 ? i + len : i);
	}
	return (ptrdiff_t)(t / per * span + f * *slice);
}

/* GatherND, or (scatter) ScatterND by the node's reduction (mode), every
 * index checked before anything is read or written; the position of the
 * first outside its dim, or -1. */
static ptrdiff_t nd(const struct run *r, const struct dnnq_ir_node *n, bool scatter)
{
	size_t T = anumel(r, n->inputs[1]), S;
	ptrdiff_t bad = -1;
	T /= (size_t)r->ir->values[n->inputs[1]].dims[r->ir->values[n->inputs[1]].ndim - 1];
	for (size_t t = 0; t < T; t++)
		if (tuple_at(r, n, t, &S, &bad) < 0)
			return bad;
	const float *x = IN(0), *u = scatter ? IN(2) : NULL;
	float *y = OUT(0);
	if (scatter)
		memcpy(y, x, anumel(r, n->inputs[0]) * sizeof *y);
	for (size_t t = 0; t < T; t++) {
		size_t at = (size_t)tuple_at(r, n, t, &S, &bad);
		for (size_t s = 0; s < S; s++)
			if (scatter)
				y[at + s] = reduced(n->mode, y[at + s], u[t * S + s]);
			else
				y[t * S + s] = x[at + s];
	}
	return -1;
}

/* Expand of a constant to the batch: its broadcast, every batch row. */
static void expand(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t yd[DNNQ_IR_MAX_DIMS], st[1][DNNQ_IR_MAX_DIMS], idx[DNNQ_IR_MAX_DIMS] = { 0 }, o = 0;
	uint32_t R = r->ir->values[n->outputs[0]].ndim;
	adims(r, n->outputs[0], yd);
	bcast_strides(r, n->inputs[0], R, st[0]);
	st[0][0] = 0;
	const float *x = IN(0);
	float *y = OUT(0);
	size_t total = anumel(r, n->outputs[0]);
	for (size_t e = 0; e < total; e++) {
		y[e] = x[o];
		bcast_next(R, yd, idx, st, &o, 1);
	}
}

/* GridSample on NCHW with the grid [N, Ho, Wo, 2]: the engine's sampling
 * (engine/grid-sample.h) in these strides. */
static void grid_sample(const struct run *r, const struct dnnq_ir_node *n)
{
	int64_t xd[4], gd[4];
	adims(r, n->inputs[0], xd);
	adims(r, n->inputs[1], gd);
	size_t N = (size_t)xd[0], C = (size_t)xd[1], H = (size_t)xd[2], W = (size_t)xd[3];
	size_t ho = (size_t)gd[1], wo = (size_t)gd[2];
	struct dnnq_grid_sample op = { .n = N, .c = C, .h = H, .w = W, .ho = ho, .wo = wo,
	                               .xs = { C * H * W, W, 1, H * W },
	                               .gs = { ho * wo * 2, wo * 2, 2, 1 },
	                               .ys = { C * ho * wo, wo, 1, ho * wo } };
	dnnq_grid_sample_init(&op, n->mode);
	for (size_t p = 0; p < N * ho * wo; p++)
		dnnq_grid_sample_pixel(&op, IN(0), IN(1), OUT(0), p);
}

static bool vision(const struct run *r, const struct dnnq_ir_node *n)
{
	const struct dnnq_op_def *def = dnnq_op_get(n->kind);
	if (def && !strcmp(def->name, "expand"))
		expand(r, n);
	else if (def && !strcmp(def->name, "resize"))
		resize(r, n);
	else if (def && !strcmp(def->name, "convtranspose"))
		convtranspose(r, n);
	else if (def && !strcmp(def->name, "gather"))
		gather(r, n);
	else if (def && !strcmp(def->name, "grid_sample"))
		grid_sample(r, n);
	else if (def && !strcmp(def->name, "slice") && n->split)
		split_outputs(r, n);
	else if (def && (!strcmp(def->name, "slice") || !strcmp(def->name, "pad")))
		remap(r, n, n->outputs[0], n->starts, n->steps);
	else
		return false;
	return true;
}

/* ---- the run ----------------------------------------------------------------------- */

static void exec(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t total;
	enum dnnq_activation_kind act;
	struct dnnq_act_params ap = { 0 };
	switch (n->op) {
	case DNNQ_IR_CONV: conv_f32(r, n); break;
	case DNNQ_IR_QLINEARCONV: conv_int(r, n, true); break;
	case DNNQ_IR_CONVINTEGER: conv_int(r, n, false); break;
	case DNNQ_IR_GEMM: gemm_f32(r, n); break;
	case DNNQ_IR_QLINEARMATMUL: matmul_int(r, n, true); break;
	case DNNQ_IR_MATMULINTEGER: matmul_int(r, n, false); break;
	case DNNQ_IR_MAXPOOL: case DNNQ_IR_AVGPOOL: case DNNQ_IR_GAVGPOOL: pool(r, n); break;
	case DNNQ_IR_ADD: case DNNQ_IR_MUL: binary(r, n); break;
	case DNNQ_IR_ENGINE:
		if (!vision(r, n) && !xfmr(r, n))
			engine_op(r, n);
		break;
	case DNNQ_IR_SUM:
		total = anumel(r, n->outputs[0]);
		for (size_t e = 0; e < total; e++) {
			float s = ((const float *)IN(0))[e];
			for (uint32_t k = 1; k < n->ninputs; k++)
				s += ((const float *)IN(k))[e];
			((float *)OUT(0))[e] = s;
		}
		break;
	case DNNQ_IR_CONCAT: concat(r, n); break;
	case DNNQ_IR_RESHAPE:
		memcpy(OUT(0), IN(0), anumel(r, n->outputs[0]) *
		       dnnq_ir_dtype_size(r->ir->values[n->outputs[0]].dtype));
		break;
	case DNNQ_IR_SOFTMAX: softmax(r, n, false); break;
	case DNNQ_IR_BATCHNORM: batchnorm(r, n); break;
	case DNNQ_IR_QUANTIZE: quantize(r, n, true); break;
	case DNNQ_IR_DEQUANTIZE: quantize(r, n, false); break;
	case DNNQ_IR_DYNQUANT: dynquant(r, n); break;
	case DNNQ_IR_CAST:
		total = anumel(r, n->outputs[0]);
		for (size_t e = 0; e < total; e++)
			((float *)OUT(0))[e] = (float)geti(&r->ir->values[n->inputs[0]], IN(0), e);
		break;
	default:
		total = anumel(r, n->outputs[0]);
		if (engine_act(n, &act, &ap)) {
			dnnq_f32_activation(r->isa, act, &ap, total, IN(0), OUT(0), r->ex);
			break;
		}
		for (size_t e = 0; e < total; e++)
			((float *)OUT(0))[e] = unary(n, ((const float *)IN(0))[e]);
		break;
	}
}

/* MaxUnpool: the output zeros, then value e at index e of the output
 * flattened (NCHW, batch and channel counted in). Every index is checked
 * before anything is written: the position of the first outside the
 * output (or no integer), or -1. */
static ptrdiff_t unpool(const struct run *r, const struct dnnq_ir_node *n)
{
	size_t total = anumel(r, n->inputs[0]), yn = anumel(r, n->outputs[0]);
	for (size_t e = 0; e < total; e++) {
		int64_t i = id_at(r, n, e);
		if (i < 0 || (uint64_t)i >= yn)
			return (ptrdiff_t)e;
	}
	float *y = OUT(0);
	memset(y, 0, yn * sizeof *y);
	for (size_t e = 0; e < total; e++)
		y[id_at(r, n, e)] = ((const float *)IN(0))[e];
	return -1;
}

/* Node n, whose inputs may come from the caller: an embedding's ids are
 * checked, its first outside the table is a message in diag. */
static int exec_checked(const struct run *r, const struct dnnq_ir_node *n,
                        struct dnnq_diag *diag)
{
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	const char *name = def ? def->name : "";
	bool elements = !strcmp(name, "gather_elements") || !strcmp(name, "scatter_elements");
	bool tuples = !strcmp(name, "gather_nd") || !strcmp(name, "scatter_nd");
	if (!strcmp(name, "maxunpool")) {
		ptrdiff_t k = unpool(r, n);
		return k < 0 ? 0 : dnnq_diag_set(diag, DNNQ_E_RANGE, "onnx: run: node '%s': %s[%td] "
		                                 "= %lld: outside the %zu elements of the output",
		                                 n->name, r->ir->values[n->inputs[1]].name, k,
		                                 (long long)id_at(r, n, (size_t)k),
		                                 anumel(r, n->outputs[0]));
	}
	if (!elements && !tuples && strcmp(name, "embed")) {
		exec(r, n);
		return 0;
	}
	ptrdiff_t k = elements ? elements_of(r, n, !strcmp(name, "scatter_elements"))
	            : tuples ? nd(r, n, !strcmp(name, "scatter_nd")) : embed(r, n);
	if (k < 0)
		return 0;
	const struct dnnq_ir_value *tv = &r->ir->values[n->inputs[0]];
	const struct dnnq_ir_value *iv = &r->ir->values[n->inputs[1]];
	k = (ptrdiff_t)id_pos(r, n, (size_t)k);
	double id = iv->dtype == DNNQ_IR_S32 ? ((const int32_t *)IN(1))[k]
	          : iv->dtype == DNNQ_IR_S64 ? (double)((const int64_t *)IN(1))[k]
	          : ((const float *)IN(1))[k];
	/* the dim the index addresses: the axis, a tuple's, or the table's rows */
	int64_t at = elements ? n->axis : tuples ? n->axis + k % iv->dims[iv->ndim - 1] : 0;
	return dnnq_diag_set(diag, DNNQ_E_RANGE, "onnx: run: node '%s': %s[%td] = %g: outside "
	                     "the %lld %s of '%s'", n->name, iv->name, k, id,
	                     (long long)tv->dims[at], tuples ? "elements of its dim"
	                     : elements ? "elements of the axis" : "rows", tv->name);
}

/* Which node reads each value last (-1: none); graph outputs live to the end. */
static int32_t *last_uses(const struct dnnq_ir *ir)
{
	int32_t *last = malloc((ir->nvalues + 1) * sizeof *last);
	if (!last)
		return NULL;
	for (size_t i = 0; i < ir->nvalues; i++)
		last[i] = -1;
	for (size_t i = 0; i < ir->nnodes; i++)
		for (uint32_t k = 0; k < ir->nodes[i].ninputs; k++)
			if (ir->nodes[i].inputs[k] >= 0)
				last[ir->nodes[i].inputs[k]] = (int32_t)i;
	for (size_t i = 0; i < ir->noutputs; i++)
		last[ir->outputs[i]] = INT32_MAX;
	return last;
}

/* Bytes of value id at this batch (batch_fits: no overflow). */
static size_t value_bytes(const struct run *r, int32_t id)
{
	return anumel(r, id) * dnnq_ir_dtype_size(r->ir->values[id].dtype);
}

/* The smallest spare that holds bytes, else a new buffer. */
static void *take(struct run *r, size_t bytes)
{
	struct spare *best = NULL;
	for (struct spare *sp = r->spare; sp < r->spare + SPARES; sp++)
		if (sp->p && sp->bytes >= bytes && (!best || sp->bytes < best->bytes))
			best = sp;
	if (!best)
		return malloc(bytes ? bytes : 1);
	void *p = best->p;
	best->p = NULL;
	return p;
}

/* p (bytes) becomes a spare, in place of the smallest one when all are
 * taken (or freed, when it is smaller than them all). */
static void give(struct run *r, void *p, size_t bytes)
{
	struct spare *low = r->spare;
	for (struct spare *sp = r->spare; sp < r->spare + SPARES; sp++) {
		if (!sp->p) {
			low = sp;
			break;
		}
		if (sp->bytes < low->bytes)
			low = sp;
	}
	if (low->p && low->bytes >= bytes) {
		free(p);
		return;
	}
	free(low->p);
	*low = (struct spare){ p, bytes ? bytes : 1 };
}

static int alloc_outputs(struct run *r, const struct dnnq_ir_node *n, bool *owned,
                         struct dnnq_diag *diag)
{
	for (uint32_t k = 0; k < n->noutputs; k++) {
		const struct dnnq_ir_value *v = &r->ir->values[n->outputs[k]];
		if (!(r->buf[n->outputs[k]] = take(r, value_bytes(r, n->outputs[k]))))
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: node '%s': output '%s' at batch "
			                     "%zu: out of memory", n->name, v->name, r->batch);
		owned[n->outputs[k]] = true;
	}
	return 0;
}

/* The input an activation node i (engine_act: Relu, LeakyRelu, Clip,
 * which dnnq_f32_activation runs in place) may write over: one this node
 * reads last, a node's output (owned by the run: no input or constant),
 * of the output's size and type; -1 for none. The observer has seen the
 * input already, at its producer. item_cost counts it once too. */
static int32_t in_place(const struct run *r, const struct dnnq_ir_node *n, const int32_t *last,
                        size_t i)
{
	enum dnnq_activation_kind k;
	struct dnnq_act_params p;
	int32_t v = n->ninputs ? n->inputs[0] : -1;
	if (!engine_act(n, &k, &p) || n->noutputs != 1 || v < 0 ||
	    r->ir->values[v].producer < 0 || last[v] != (int32_t)i)
		return -1;
	const struct dnnq_ir_value *a = &r->ir->values[v], *b = &r->ir->values[n->outputs[0]];
	return a->dtype == b->dtype && value_bytes(r, v) == value_bytes(r, n->outputs[0]) ? v : -1;
}

/* Whether the batch fits: every value's element count at this batch in size_t. */
static bool batch_fits(const struct dnnq_ir *ir, size_t batch)
{
	for (size_t i = 0; i < ir->nvalues; i++) {
		size_t n = 1;
		const struct dnnq_ir_value *v = &ir->values[i];
		for (uint32_t d = 0; d < v->ndim; d++)
			if (!dnnq_mul_size(n, d == 0 && v->batched ? batch : (size_t)v->dims[d], &n))
				return false;
		if (!dnnq_mul_size(n, 8, &n))
			return false;
	}
	return true;
}

/* The floats of scratch a TopK's line of positions takes; 0 for the
 * other nodes. */
static size_t topk_scratch(const struct run *r, const struct dnnq_ir_node *n)
{
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	size_t O, A, I;
	if (!def || strcmp(def->name, "topk"))
		return 0;
	split(r, n->inputs[0], n->axis, &O, &A, &I);
	return A * (sizeof(size_t) / sizeof(float));
}

/* Floats of scratch node n needs a thread (an im2col matrix, a transposed
 * copy, a TopK's line of positions), 0 for none. */
static size_t node_scratch(const struct run *r, const struct dnnq_ir_node *n)
{
	return n->op == DNNQ_IR_CONV ? conv_scratch(r, n)
	     : n->op == DNNQ_IR_GEMM ? gemm_scratch(r, n) : topk_scratch(r, n);
}

/* Each thread's scratch, sized for the node that needs the most (run_cost
 * has judged it). */
static int alloc_scratch(struct run *r, struct dnnq_diag *diag)
{
	size_t floats = 1;
	for (size_t i = 0; i < r->ir->nnodes; i++) {
		size_t need = node_scratch(r, &r->ir->nodes[i]);
		floats = need > floats ? need : floats;
	}
	unsigned nt = dnnq_executor_threads(r->ex);
	if (!(r->scratch = calloc(nt, sizeof *r->scratch)))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: run: out of memory");
	for (unsigned t = 0; t < nt; t++)
		if (!(r->scratch[t] = malloc(floats * sizeof(float))))
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: run: %zu bytes of scratch per "
			                     "thread at batch %zu: out of memory", floats * sizeof(float),
			                     r->batch);
	return 0;
}

/* The multiply-adds or taps of node n for one item where they are more
 * than a few an output element: convolutions (the weight's elements an
 * output channel), transposed ones (the weight's elements an input
 * channel, an input element: engine/ops/convtranspose.c convt_work),
 * pools (the window), LRN (its window of channels), products (K: Gemm,
 * MatMul, the registry's matmul);
 * 0 for the rest, whose work follows the bytes they read and write.
 * Saturating. */
static uint64_t node_work(const struct dnnq_ir *ir, const struct dnnq_ir_node *n)
{
	const struct dnnq_ir_value *a = n->ninputs && n->inputs[0] >= 0
	                                ? &ir->values[n->inputs[0]] : NULL;
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	bool scatter = def && !strcmp(def->name, "convtranspose");
	uint64_t per = 0, out = 1, r;
	int32_t wi = -1;
	switch (n->op) {
	case DNNQ_IR_CONV: case DNNQ_IR_CONVINTEGER: case DNNQ_IR_QLINEARCONV:
		wi = n->inputs[n->op == DNNQ_IR_QLINEARCONV ? 3 : 1];
		break;
	case DNNQ_IR_MAXPOOL: case DNNQ_IR_AVGPOOL:
		per = (uint64_t)n->kernel[0] * (uint64_t)n->kernel[1];
		break;
	case DNNQ_IR_ENGINE:            /* ConvTranspose, Col2Im; LRN; the matmul of two activations */
		if (scatter) {
			wi = n->ninputs > 1 ? n->inputs[1] : -1;
			break;
		}
		if (def && !strcmp(def->name, "lrn")) {
			/* the window clipped to the channels, as engine/ops/lrn.c's lrn_work */
			uint64_t c = a && a->ndim > 1 && a->dims[1] > 0 ? (uint64_t)a->dims[1] : 1,
			         k = n->k > 0 ? (uint64_t)n->k : 1;
			per = ((k - 1) / 2 < c - 1 ? (k - 1) / 2 : c - 1) + (k / 2 < c - 1 ? k / 2 : c - 1) + 1;
			break;
		}
		if (!def || strcmp(def->name, "matmul"))
			return 0;
		/* fall through */
	case DNNQ_IR_GEMM: case DNNQ_IR_MATMULINTEGER: case DNNQ_IR_QLINEARMATMUL:
		per = a && a->ndim ? (uint64_t)a->dims[a->ndim - (n->trans_a && a->ndim > 1 ? 2 : 1)]
		                   : 0;
		break;
	default:
		return 0;
	}
	if (wi >= 0) {
		const struct dnnq_ir_value *w = &ir->values[wi];
		per = w->ndim && w->dims[0] > 0 ? dnnq_ir_numel(w, 1) / (uint64_t)w->dims[0] : 0;
	}
	if (scatter)
		out = a ? dnnq_ir_numel(a, 1) : 0;
	for (uint32_t k = 0; !scatter && k < n->noutputs && n->outputs[k] >= 0; k++)
		out = __builtin_add_overflow(out, dnnq_ir_numel(&ir->values[n->outputs[k]], 1), &r)
		      ? UINT64_MAX : r;
	return __builtin_mul_overflow(out, per, &r) ? UINT64_MAX : r;
}

/* Whether node n reads its input k at an earlier place too (Mul(t, t)):
 * the run frees a value once. */
static bool read_before(const struct dnnq_ir_node *n, uint32_t k)
{
	for (uint32_t j = 0; j < k; j++)
		if (n->inputs[j] == n->inputs[k])
			return true;
	return false;
}

struct item_cost {
	uint64_t peak, scratch;
	size_t at, sat, users;
};

/* What one item's run holds (c: the values live at the peak, at node at,
 * and the threads' scratch, node sat's for `users` threads), or the work
 * past a bound refused. */
static int item_cost(const struct run *r, const int32_t *last, struct item_cost *c,
                     struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = r->ir;
	const struct run one = { .ir = ir, .batch = 1, .ex = r->ex };
	uint64_t live = 0, all = 0;
	size_t nt = dnnq_executor_threads(r->ex);
	*c = (struct item_cost){ .users = 1 };
	for (size_t k = 0; k < ir->noutputs; k++)     /* the caller's copies */
		live += value_bytes(&one, ir->outputs[k]);
	for (size_t i = 0; i < ir->nnodes; i++) {
		const struct dnnq_ir_node *n = &ir->nodes[i];
		uint64_t work = node_work(ir, n);
		if (work > DNNQ_MAX_NODE_WORK)
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "onnx: run: node '%s' (%s): %llu "
			                     "operations a run of one item: more than the %llu (2^36) a "
			                     "node may take", n->name, n->op_type,
			                     (unsigned long long)work,
			                     (unsigned long long)DNNQ_MAX_NODE_WORK);
		all += work;    /* each under 2^36: no overflow */
		if (all > DNNQ_MAX_MODEL_WORK)
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "onnx: run: %llu operations a run of "
			                     "one item up to node '%s' (%s): more than the %llu (2^40) a "
			                     "model may take, " DNNQ_MAX_MODEL_WORK_HINT,
			                     (unsigned long long)all, n->name,
			                     n->op_type, (unsigned long long)DNNQ_MAX_MODEL_WORK);
		/* the threads an item's run of n gives scratch work: a Conv's
		 * groups, a Gemm's one */
		size_t u = n->op == DNNQ_IR_CONV && n->group > 1
		           ? ((size_t)n->group < nt ? (size_t)n->group : nt) : 1;
		uint64_t s;
		if (__builtin_mul_overflow((uint64_t)node_scratch(&one, n), sizeof(float) * u, &s))
			s = UINT64_MAX;
		if (s > c->scratch) {
			c->scratch = s;
			c->sat = i;
			c->users = u;
		}
		/* an activation run in place: its output is its input's bytes */
		int32_t over = in_place(&one, n, last, i);
		for (uint32_t k = 0; over < 0 && k < n->noutputs; k++)
			live += value_bytes(&one, n->outputs[k]);  /* batch_fits: no overflow */
		if (live > c->peak) {
			c->peak = live;
			c->at = i;
		}
		for (uint32_t k = 0; k < n->ninputs; k++) {
			int32_t v = n->inputs[k];
			if (v >= 0 && v != over && ir->values[v].producer >= 0 && last[v] == (int32_t)i &&
			    !read_before(n, k))
				live -= value_bytes(&one, v);
		}
	}
	return 0;
}

/* What a run would cost, judged before anything is allocated: a node
 * past DNNQ_MAX_NODE_WORK for one item, the nodes together past
 * DNNQ_MAX_MODEL_WORK, or values of one item live at once (each from its
 * producer to its last reader, as the run frees them, beside the caller's
 * buffers for the outputs and the threads' scratch: a Conv's im2col
 * matrix, a whole image's, is its output's pixels times its weight's
 * elements an output channel, 4 bytes a multiply-add of a Conv of one
 * output channel) past half of this host's memory, as dnnqd
 * judges a model's activations for one item. A batch is the caller's to
 * size (dnnq_ir_fit_batch: dnnq-convert's calibration chunks of 32
 * samples of a 1024 x 1024 segmenter, ~0.5 GB an item, went past half of
 * a 24 GB host's memory: refused at the batch, they ran before; not
 * judged at all, a file of 1/32 of that an item took it 32 times over). A
 * model file of 122 bytes, one MaxPool of 2047 x 2047 over 4096 x 4096,
 * ran for hours in dnnq-convert's calibration; a Pad of 10^6 rows on a
 * 3 x 4 x 5 input took a GiB and 40 s, and at 2^31 elements an item a
 * value, more than such a host has. dnnqd refuses both at load
 * (daemon/models.c, check_cost); this is the reference's own check,
 * naming the node. */
static int run_cost(const struct run *r, const int32_t *last, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = r->ir;
	uint64_t bound = dnnq_memory_bound();
	struct item_cost c;
	int rc = item_cost(r, last, &c, diag);
	if (rc)
		return rc;
	if (c.peak > bound)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: run: node '%s' (%s): %llu bytes of "
		                     "values live for one item (the outputs' copies included): more "
		                     "than %llu, half of this host's memory", ir->nodes[c.at].name,
		                     ir->nodes[c.at].op_type, (unsigned long long)c.peak,
		                     (unsigned long long)bound);
	if (c.scratch > bound - c.peak)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: run: node '%s' (%s): %llu bytes of "
		                     "scratch (its im2col matrix or transposed input, %zu thread%s), "
		                     "beside %llu of values live for one item: more than %llu, half "
		                     "of this host's memory", ir->nodes[c.sat].name,
		                     ir->nodes[c.sat].op_type, (unsigned long long)c.scratch, c.users,
		                     c.users > 1 ? "s" : "", (unsigned long long)c.peak,
		                     (unsigned long long)bound);
	return 0;
}

size_t dnnq_ir_fit_batch(const struct dnnq_ir *ir, size_t want, const struct dnnq_executor *ex)
{
	const struct run r = { .ir = ir, .batch = 1, .ex = ex };
	int32_t *last = ir && want > 1 && batch_fits(ir, 1) ? last_uses(ir) : NULL;
	struct item_cost c;
	size_t fit = want < 1 ? want : 1;
	if (last && !item_cost(&r, last, &c, NULL)) {
		uint64_t per = c.peak + (c.scratch < UINT64_MAX - c.peak ? c.scratch : UINT64_MAX - c.peak);
		uint64_t k = per ? dnnq_memory_bound() / per : want;
		fit = k < 1 ? 1 : k < want ? (size_t)k : want;
	} else if (last) {
		fit = want;     /* refused by the run, naming the node */
	}
	free(last);
	return fit;
}

int dnnq_ir_run_ex(const struct dnnq_ir *ir, size_t batch, const void *const *inputs,
                   void *const *outputs, dnnq_ir_observer observe, void *ctx,
                   const struct dnnq_executor *ex, struct dnnq_diag *diag)
{
	if (!ir || !batch || (ir->ninputs && !inputs) || (ir->noutputs && !outputs))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "onnx: run: no IR, batch 0 or no buffers");
	if (!batch_fits(ir, batch))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: run: batch %zu overflows a size", batch);
	struct run r = { .ir = ir, .batch = batch, .buf = calloc(ir->nvalues + 1, sizeof(void *)),
	                 .ex = ex, .isa = dnnq_isa_best() };
	bool *owned = calloc(ir->nvalues + 1, sizeof *owned);
	int32_t *last = last_uses(ir);
	int rc = 0;
	if (!r.buf || !owned || !last) {
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: run: out of memory");
		goto out;
	}
	if ((rc = run_cost(&r, last, diag)) || (rc = alloc_scratch(&r, diag)))
		goto out;
	for (size_t i = 0; i < ir->nvalues; i++)
		r.buf[i] = ir->values[i].data;
	for (size_t i = 0; i < ir->ninputs; i++)
		r.buf[ir->inputs[i]] = (void *)inputs[i];
	for (size_t i = 0; i < ir->nnodes && !rc; i++) {
		const struct dnnq_ir_node *n = &ir->nodes[i];
		int32_t over = in_place(&r, n, last, i);
		if (over >= 0) {
			r.buf[n->outputs[0]] = r.buf[over];
			owned[n->outputs[0]] = true;
			owned[over] = false;
		} else if ((rc = alloc_outputs(&r, n, owned, diag))) {
			break;
		}
		if ((rc = exec_checked(&r, n, diag)))
			break;
		for (uint32_t k = 0; k < n->noutputs && observe; k++)
			if (observe(ctx, ir, n->outputs[k], r.buf[n->outputs[k]], anumel(&r, n->outputs[k])))
				rc = dnnq_diag_set(diag, DNNQ_E_INVAL, "onnx: run: stopped by the observer "
				                   "at node '%s'", n->name);
		for (uint32_t k = 0; k < n->ninputs; k++) {
			int32_t v = n->inputs[k];
			if (v >= 0 && owned[v] && last[v] == (int32_t)i) {
				give(&r, r.buf[v], value_bytes(&r, v));
				r.buf[v] = NULL;
				owned[v] = false;
			}
		}
	}
	for (size_t i = 0; i < ir->noutputs && !rc; i++) {
		int32_t v = ir->outputs[i];
		memcpy(outputs[i], r.buf[v], value_bytes(&r, v));
	}
out:
	for (size_t i = 0; r.buf && owned && i < ir->nvalues; i++)
		if (owned[i])
			free(r.buf[i]);
	for (size_t k = 0; k < SPARES; k++)
		free(r.spare[k].p);
	for (unsigned t = 0; r.scratch && t < dnnq_executor_threads(ex); t++)
		free(r.scratch[t]);
	free(r.scratch);
	free(r.buf);
	free(owned);
	free(last);
	return rc;
}

int dnnq_ir_run(const struct dnnq_ir *ir, size_t batch, const void *const *inputs,
                void *const *outputs, dnnq_ir_observer observe, void *ctx,
                struct dnnq_diag *diag)
{
	return dnnq_ir_run_ex(ir, batch, inputs, outputs, observe, ctx, NULL, diag);
}
