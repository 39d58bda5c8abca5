/*
 * Resize: ONNX's Resize (and Upsample) over H and W of an NHWC image,
 * nearest, bilinear or bicubic (engine/resize.h). File code 60.
 *
 * Create computes, per output row and column, the source index (nearest),
 * the two neighbours and the second one's weight (linear) or the four
 * neighbours and their weights (cubic): in double, then as float (the
 * fp32 node) and Q11 (the int8 node). A task is one output row of one
 * image; each output pixel is C channels of one kernel call. The cubic
 * kernels are scalar on every ISA (a model's bicubic is a rare, small
 * resize: a position table's, an image's).
 */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/resize.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ONE (1 << DNNQ_RESIZE_Q)

/* Output index o's source coordinate, unclamped. */
static double coord(uint32_t mode, size_t o, double scale, size_t in, size_t out)
{
	double x, d = (double)o;
	switch (DNNQ_RESIZE_COORD(mode)) {
	case DNNQ_RESIZE_HALF_PIXEL:            x = (d + 0.5) / scale - 0.5; break;
	case DNNQ_RESIZE_PYTORCH_HALF_PIXEL:    x = out > 1 ? (d + 0.5) / scale - 0.5 : 0; break;
	case DNNQ_RESIZE_ALIGN_CORNERS:
		x = out > 1 ? d * (double)(in - 1) / (double)(out - 1) : 0;
		break;
	case DNNQ_RESIZE_ASYMMETRIC:            x = d / scale; break;
	default:                                x = (d + 0.5) / scale; break;
	}
	return x;
}

double dnnq_resize_source(uint32_t mode, size_t o, double scale, size_t in, size_t out)
{
	double x = coord(mode, o, scale, in, out), hi = (double)(in - 1);
	return x < 0 ? 0 : x > hi ? hi : x;
}

void dnnq_resize_cubic(uint32_t mode, size_t o, double scale, size_t in, size_t out, double a,
                       bool exclude, size_t idx[4], double w[4])
{
	double x = coord(mode, o, scale, in, out), f = floor(x), t = x - f, u = 1 - t, sum = 0;
	/* Keys' kernel at distances 1 + t, t, 1 - t, 2 - t */
	w[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
	w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
	w[2] = ((a + 2) * u - (a + 3)) * u * u + 1;
	w[3] = ((a * (u + 1) - 5 * a) * (u + 1) + 8 * a) * (u + 1) - 4 * a;
	for (int k = 0; k < 4; k++) {
		double i = f - 1 + k;
		bool out_of = i < 0 || i > (double)(in - 1);
		idx[k] = i < 0 ? 0 : out_of ? in - 1 : (size_t)i;
		if (exclude && out_of)
			w[k] = 0;
		sum += w[k];
	}
	for (int k = 0; exclude && sum != 0 && k < 4; k++)
		w[k] /= sum;
}

size_t dnnq_resize_nearest(uint32_t mode, double x, size_t in)
{
	double f = floor(x), r;
	switch (DNNQ_RESIZE_ROUND(mode)) {
	case DNNQ_RESIZE_ROUND_PREFER_FLOOR: r = x - f > 0.5 ? f + 1 : f; break;
	case DNNQ_RESIZE_ROUND_PREFER_CEIL:  r = x - f >= 0.5 ? f + 1 : f; break;
	case DNNQ_RESIZE_FLOOR:              r = f; break;
	default:                             r = ceil(x); break;
	}
	size_t i = (size_t)r;
	return i < in ? i : in - 1;
}

/* ---- kernels: one output pixel of c channels ---- */

/* Bilinear: rows a (top) and b (bottom), each with its left and right
 * neighbour (offsets l and r), x weight wx and y weight wy of the second. */
static void lerp_u8_scalar(const uint8_t *a, const uint8_t *b, size_t l, size_t r, int32_t wx,
                           int32_t wy, size_t c, uint8_t *y)
{
	for (size_t i = 0; i < c; i++) {
		int32_t t = a[l + i] * (ONE - wx) + a[r + i] * wx;
		int32_t u = b[l + i] * (ONE - wx) + b[r + i] * wx;
		y[i] = (uint8_t)((t * (ONE - wy) + u * wy + (1 << (2 * DNNQ_RESIZE_Q - 1))) >>
		                 (2 * DNNQ_RESIZE_Q));
	}
}

__attribute__((target("avx2")))
static __m256i lerp_row_avx2(const uint8_t *p, size_t l, size_t r, __m256i w0, __m256i w1)
{
	__m256i x0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + l)));
	__m256i x1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + r)));
	return _mm256_add_epi32(_mm256_mullo_epi32(x0, w0), _mm256_mullo_epi32(x1, w1));
}

__attribute__((target("avx2")))
static void lerp_u8_avx2(const uint8_t *a, const uint8_t *b, size_t l, size_t r, int32_t wx,
                         int32_t wy, size_t c, uint8_t *y)
{
	const __m256i x0 = _mm256_set1_epi32(ONE - wx), x1 = _mm256_set1_epi32(wx);
	const __m256i y0 = _mm256_set1_epi32(ONE - wy), y1 = _mm256_set1_epi32(wy);
	const __m256i half = _mm256_set1_epi32(1 << (2 * DNNQ_RESIZE_Q - 1));
	size_t i = 0;
	for (; i + 8 <= c; i += 8) {
		__m256i t = lerp_row_avx2(a + i, l, r, x0, x1), u = lerp_row_avx2(b + i, l, r, x0, x1);
		__m256i v = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(t, y0),
		                                              _mm256_mullo_epi32(u, y1)), half);
		v = _mm256_srli_epi32(v, 2 * DNNQ_RESIZE_Q);
		__m128i h = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
		_mm_storel_epi64((__m128i *)(y + i), _mm_packus_epi16(h, h));
	}
	lerp_u8_scalar(a + i, b + i, l, r, wx, wy, c - i, y + i);
}

static void lerp_f32_scalar(const float *a, const float *b, size_t l, size_t r, float wx,
                            float wy, size_t c, float *y)
{
	for (size_t i = 0; i < c; i++) {
		float t = a[l + i] * (1 - wx) + a[r + i] * wx;
		float u = b[l + i] * (1 - wx) + b[r + i] * wx;
		y[i] = t * (1 - wy) + u * wy;
	}
}

__attribute__((target("avx2")))
static void lerp_f32_avx2(const float *a, const float *b, size_t l, size_t r, float wx,
                          float wy, size_t c, float *y)
{
	const __m256 x0 = _mm256_set1_ps(1 - wx), x1 = _mm256_set1_ps(wx);
	const __m256 y0 = _mm256_set1_ps(1 - wy), y1 = _mm256_set1_ps(wy);
	size_t i = 0;
	for (; i + 8 <= c; i += 8) {
		__m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(a + l + i), x0),
		                         _mm256_mul_ps(_mm256_loadu_ps(a + r + i), x1));
		__m256 u = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(b + l + i), x0),
		                         _mm256_mul_ps(_mm256_loadu_ps(b + r + i), x1));
		_mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(t, y0), _mm256_mul_ps(u, y1)));
	}
	if (i == c)
		return;
	/* the last c % 8 channels masked, not one by one: with 21 channels
	 * (a segmentation head's classes) the scalar tail was most of a pixel */
	const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(c - i)),
	                                     _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
	__m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_maskload_ps(a + l + i, m), x0),
	                         _mm256_mul_ps(_mm256_maskload_ps(a + r + i, m), x1));
	__m256 u = _mm256_add_ps(_mm256_mul_ps(_mm256_maskload_ps(b + l + i, m), x0),
	                         _mm256_mul_ps(_mm256_maskload_ps(b + r + i, m), x1));
	_mm256_maskstore_ps(y + i, m, _mm256_add_ps(_mm256_mul_ps(t, y0), _mm256_mul_ps(u, y1)));
}

typedef void (*lerp_u8_fn)(const uint8_t *, const uint8_t *, size_t, size_t, int32_t, int32_t,
                           size_t, uint8_t *);
typedef void (*lerp_f32_fn)(const float *, const float *, size_t, size_t, float, float, size_t,
                            float *);
static const lerp_u8_fn lerp_u8[DNNQ_ISA_COUNT] = {
	[DNNQ_ISA_SCALAR] = lerp_u8_scalar, [DNNQ_ISA_AVX2] = lerp_u8_avx2,
	[DNNQ_ISA_AVX512VNNI] = lerp_u8_avx2,
};
static const lerp_f32_fn lerp_f32[DNNQ_ISA_COUNT] = {
	[DNNQ_ISA_SCALAR] = lerp_f32_scalar, [DNNQ_ISA_AVX2] = lerp_f32_avx2,
	[DNNQ_ISA_AVX512VNNI] = lerp_f32_avx2,
};

/* Cubic: the four rows starting at elements rows[], each its four
 * columns cols[] (elements), weighed by wy and wx; c channels. */
static void cubic_f32(const float *x, const size_t *rows, const size_t *cols, const float *wy,
                      const float *wx, size_t c, float *y)
{
	for (size_t i = 0; i < c; i++) {
		float s = 0;
		for (int r = 0; r < 4; r++) {
			const float *p = x + rows[r] + i;
			s += (p[cols[0]] * wx[0] + p[cols[1]] * wx[1] + p[cols[2]] * wx[2] +
			      p[cols[3]] * wx[3]) * wy[r];
		}
		y[i] = s;
	}
}

static void cubic_u8(const uint8_t *x, const size_t *rows, const size_t *cols, const int32_t *qy,
                     const int32_t *qx, size_t c, uint8_t *y)
{
	for (size_t i = 0; i < c; i++) {
		int64_t s = 0;
		for (int r = 0; r < 4; r++) {
			const uint8_t *p = x + rows[r] + i;
			s += (int64_t)(p[cols[0]] * qx[0] + p[cols[1]] * qx[1] + p[cols[2]] * qx[2] +
			               p[cols[3]] * qx[3]) * qy[r];
		}
		/* the overshoot past the codes clamped: the input's range */
		s = s <= 0 ? 0 : (s + ((int64_t)1 << (2 * DNNQ_RESIZE_Q - 1))) >> (2 * DNNQ_RESIZE_Q);
		y[i] = (uint8_t)(s > 255 ? 255 : s);
	}
}

/* ---- the node ---- */

/* One axis's map: per output index, the neighbours lo, hi (nearest: lo)
 * and hi's weight, as float and Q11; cubic: 4 neighbours an index and
 * their weights. */
struct axis_map {
	size_t *lo, *hi;
	float *w;
	int32_t *q;
};

struct resize {
	bool fp32, linear, cubic;
	size_t esize;                  /* bytes per element */
	size_t ih, iw, oh, ow, c, n;
	struct axis_map ym, xm;
	lerp_u8_fn lu8;
	lerp_f32_fn lf32;
	const uint8_t *x;
	uint8_t *y;
};

/* The largest cubic weight: Keys' are about 0.15 |A| (1.1 at most for
 * torch's -0.75), exclude_outside's renormalized ones as large as its sum
 * at an edge is near 0. At 256 (Q11: 2^19) cubic_u8's four products of a
 * row stay within int32; a larger one is refused (DNNQ_E_RANGE). */
#define CUBIC_MAX_W 256.0

static int axis_map(struct axis_map *m, uint32_t mode, double scale, size_t in, size_t out,
                    double a, bool exclude)
{
	size_t taps = DNNQ_RESIZE_INTERP(mode) == DNNQ_RESIZE_CUBIC ? 4 : 1;
	m->lo = malloc(out * taps * sizeof *m->lo);
	m->hi = malloc(out * sizeof *m->hi);
	m->w = malloc(out * taps * sizeof *m->w);
	m->q = malloc(out * taps * sizeof *m->q);
	if (!m->lo || !m->hi || !m->w || !m->q)
		return DNNQ_E_NOMEM;
	bool linear = DNNQ_RESIZE_INTERP(mode) == DNNQ_RESIZE_LINEAR;
	for (size_t o = 0; taps == 4 && o < out; o++) {
		double w[4];
		dnnq_resize_cubic(mode, o, scale, in, out, a, exclude, m->lo + 4 * o, w);
		for (int k = 0; k < 4; k++) {
			if (!(fabs(w[k]) <= CUBIC_MAX_W))
				return DNNQ_E_RANGE;
			m->w[4 * o + k] = (float)w[k];
			m->q[4 * o + k] = (int32_t)lrint(w[k] * ONE);
		}
	}
	for (size_t o = 0; taps == 1 && o < out; o++) {
		double x = dnnq_resize_source(mode, o, scale, in, out);
		size_t lo = linear ? (size_t)x : dnnq_resize_nearest(mode, x, in);
		double f = linear ? x - (double)lo : 0;
		m->lo[o] = lo;
		m->hi[o] = lo + 1 < in ? lo + 1 : lo;
		m->w[o] = (float)f;
		m->q[o] = (int32_t)lrint(f * ONE);
	}
	return DNNQ_OK;
}

static void axis_free(struct axis_map *m)
{
	free(m->lo);
	free(m->hi);
	free(m->w);
	free(m->q);
}

static int resize_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	const __typeof__(n->desc.op.resize) *d = &n->desc.op.resize;
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	if (x->dtype != dt || x->ndim != 4 || x->const_data)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' is %s of rank %u: a resize takes a "
		            "4-D %s activation", n->name, x->name, dnnq_dtype_name(x->dtype), x->ndim,
		            dnnq_dtype_name(dt));
	if (x->dims[1] < 1 || x->dims[2] < 1 || x->dims[3] < 1)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' is empty", n->name, x->name);
	if (!dnnq_resize_mode_ok(d->mode) || d->out_h < 1 || d->out_w < 1 || d->out_h > (1 << 24) ||
	    d->out_w > (1 << 24) || !(d->scale[0] > 0 && d->scale[0] < INFINITY) ||
	    !(d->scale[1] > 0 && d->scale[1] < INFINITY) || !isfinite(d->cubic_a))
		return FAIL(DNNQ_E_RANGE, "node '%s': mode %u, output %lld x %lld, scales %g, %g: "
		            "invalid", n->name, d->mode, (long long)d->out_h, (long long)d->out_w,
		            (double)d->scale[0], (double)d->scale[1]);
	struct resize *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	enum dnnq_isa isa = (unsigned)d->isa < DNNQ_ISA_COUNT ? d->isa : DNNQ_ISA_SCALAR;
	op->fp32 = fp32;
	op->linear = DNNQ_RESIZE_INTERP(d->mode) == DNNQ_RESIZE_LINEAR;
	op->cubic = DNNQ_RESIZE_INTERP(d->mode) == DNNQ_RESIZE_CUBIC;
	op->esize = fp32 ? sizeof(float) : 1;
	op->ih = (size_t)x->dims[1];
	op->iw = (size_t)x->dims[2];
	op->c = (size_t)x->dims[3];
	op->oh = (size_t)d->out_h;
	op->ow = (size_t)d->out_w;
	op->lu8 = lerp_u8[isa];
	op->lf32 = lerp_f32[isa];
	int rc = axis_map(&op->ym, d->mode, d->scale[0], op->ih, op->oh, d->cubic_a, d->exclude);
	if (!rc)
		rc = axis_map(&op->xm, d->mode, d->scale[1], op->iw, op->ow, d->cubic_a, d->exclude);
	if (rc == DNNQ_E_RANGE)
		return FAIL(rc, "node '%s': cubic coefficient %g%s: a cubic weight passes +-%g "
		            "(Keys' weights are about 0.15 |A|)", n->name, (double)d->cubic_a,
		            d->exclude ? " with exclude_outside" : "", CUBIC_MAX_W);
	if (rc)
		return FAIL(rc, "node '%s': out of memory", n->name);
	out->dtype = dt;
	out->qp = x->qp;
	out->ndim = 4;
	memcpy(out->dims, x->dims, sizeof out->dims);
	out->dims[1] = d->out_h;
	out->dims[2] = d->out_w;
	return DNNQ_OK;
}

static int resize_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct resize *op = n->op;
	(void)nthreads;
	op->n = (size_t)gin(g, n, 0)->dims[0];
	op->x = gin(g, n, 0)->buf;
	op->y = g->t[n->out].buf;
	return DNNQ_OK;
}

/* Cubic output row o of image img, elements of esize bytes (f32: the
 * fp32 node, or the int8 node's reference on real values). */
static void cubic_row(const struct resize *op, size_t img, size_t o, const uint8_t *x,
                      uint8_t *y, bool f32)
{
	size_t rows[4], cols[4];
	for (int r = 0; r < 4; r++)
		rows[r] = (img * op->ih + op->ym.lo[4 * o + r]) * op->iw * op->c;
	for (size_t j = 0; j < op->ow; j++) {
		for (int k = 0; k < 4; k++)
			cols[k] = op->xm.lo[4 * j + k] * op->c;
		if (f32)
			cubic_f32((const float *)x, rows, cols, op->ym.w + 4 * o, op->xm.w + 4 * j, op->c,
			          (float *)y + j * op->c);
		else
			cubic_u8(x, rows, cols, op->ym.q + 4 * o, op->xm.q + 4 * j, op->c,
			         y + j * op->c);
	}
}

/* Output row t (image t / oh, row t % oh) of x into y. */
static void resize_row(const struct resize *op, size_t t, const uint8_t *x, uint8_t *y,
                       bool f32_ref)
{
	size_t img = t / op->oh, o = t % op->oh, pix = op->c * op->esize;
	if (op->cubic) {
		cubic_row(op, img, o, x, y + t * op->ow * pix, op->fp32 || f32_ref);
		return;
	}
	const uint8_t *a = x + (img * op->ih + op->ym.lo[o]) * op->iw * pix;
	const uint8_t *b = x + (img * op->ih + op->ym.hi[o]) * op->iw * pix;
	y += t * op->ow * pix;
	for (size_t j = 0; j < op->ow; j++, y += pix) {
		size_t l = op->xm.lo[j] * pix, r = op->xm.hi[j] * pix;
		if (!op->linear)
			memcpy(y, a + l, pix);
		else if (op->fp32 || f32_ref)
			(f32_ref ? lerp_f32_scalar : op->lf32)((const float *)a, (const float *)b,
			                                       l / sizeof(float), r / sizeof(float),
			                                       op->xm.w[j], op->ym.w[o], op->c, (float *)y);
		else
			op->lu8(a, b, l, r, op->xm.q[j], op->ym.q[o], op->c, y);
	}
}

static void resize_task(void *arg, size_t t, unsigned tid)
{
	const struct resize *op = arg;
	(void)tid;
	resize_row(op, t, op->x, op->y, false);
}

static int resize_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct resize *op = n->op;
	if (!op->x || !op->y)
		return DNNQ_E_INVAL;
	dnnq_parallel_for(ex, op->n * op->oh, resize_task, op);
	return DNNQ_OK;
}

static void resize_destroy(struct gnode *n)
{
	struct resize *op = n->op;
	if (!op)
		return;
	axis_free(&op->ym);
	axis_free(&op->xm);
	free(op);
}

/* Real values: the scalar fp32 kernel (with the float weights). */
static int resize_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct resize ref = *(const struct resize *)n->op;
	ref.esize = sizeof(float);
	for (size_t t = 0; t < (size_t)gin(g, n, 0)->dims[0] * ref.oh; t++)
		resize_row(&ref, t, (const uint8_t *)in[0], (uint8_t *)out, true);
	return DNNQ_OK;
}

static int resize_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                        struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.resize.isa = b->isa;
	d->op.resize.mode = n->op;
	d->op.resize.scale[0] = n->params[0];
	d->op.resize.scale[1] = n->params[1];
	d->op.resize.out_h = n->dims[0];
	d->op.resize.out_w = n->dims[1];
	d->op.resize.cubic_a = n->params[2];
	d->op.resize.exclude = n->params[3] != 0;
	return DNNQ_OK;
}

/* op: a mode (engine/resize.h); params[0..1]: the H and W scales, finite
 * and positive; cubic: params[2] the coefficient A, finite, params[3]
 * exclude_outside, 0 or 1; ndim 2, dims: the output's H and W, 1..2^24. */
static int resize_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (!dnnq_resize_mode_ok(n->op)) {
		snprintf(why, cap, "op %u: not a resize mode", n->op);
		return DNNQ_E_RANGE;
	}
	if (DNNQ_RESIZE_INTERP(n->op) == DNNQ_RESIZE_CUBIC &&
	    (!isfinite(n->params[2]) || (n->params[3] != 0 && n->params[3] != 1))) {
		snprintf(why, cap, "params[2] %g, params[3] %g: a cubic's coefficient is finite, its "
		         "exclude_outside 0 or 1", (double)n->params[2], (double)n->params[3]);
		return DNNQ_E_RANGE;
	}
	for (int i = 0; i < 2; i++)
		if (!(n->params[i] > 0 && n->params[i] < INFINITY)) {
			snprintf(why, cap, "params[%d] %g: a scale is finite and positive", i,
			         (double)n->params[i]);
			return DNNQ_E_RANGE;
		}
	if (n->ndim != 2 || n->dims[0] < 1 || n->dims[1] < 1 || n->dims[0] > (1 << 24) ||
	    n->dims[1] > (1 << 24)) {
		snprintf(why, cap, "ndim %u, dims %lld x %lld: want 2, the output's H and W in "
		         "1..2^24", n->ndim, (long long)n->dims[0], (long long)n->dims[1]);
		return DNNQ_E_SHAPE;
	}
	return DNNQ_OK;
}

/* Both precisions share the adapter: create reads the node's. */
static const struct node_ops resize_ops = { resize_create, dnnq_infer_batch, resize_setup,
                                            resize_run, resize_destroy, resize_ref, false,
                                            false };

const struct dnnq_op_def dnnq_op_resize = {
	.kind = 60, .name = "resize", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_PARAMS) |
	         DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS),
	.check = resize_check, .build = resize_build, .ops = &resize_ops, .ops_f32 = &resize_ops,
};
